//! The local disk as a pane sees it. Listing runs on the blocking pool and arrives in pages;
//! delete goes to the freedesktop trash (the `trash` crate), and only where there is none,
//! after the user confirmed it, for good.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::{Entry, Fs, FsError, FsResult, Key, PageSink, Space};

/// Entries per page, so a huge local folder shows before it is fully read.
const PAGE: usize = 1_000;

#[derive(Debug, Default, Clone)]
pub struct LocalFs;

fn path_of(key: &Key) -> FsResult<&Path> {
    match key {
        Key::Local(p) => Ok(p),
        Key::Drive(_) => Err(FsError::Refused("a Drive item is not a local path".into())),
    }
}

fn entry(path: PathBuf, meta: &std::fs::Metadata) -> Entry {
    Entry {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        is_dir: meta.is_dir(),
        size: if meta.is_dir() { 0 } else { meta.len() },
        modified: meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64),
        md5: None,
        key: Key::Local(path),
    }
}

impl LocalFs {
    /// Deletes for good: only after the user confirmed it, where no trash exists.
    pub async fn delete(&self, key: &Key) -> FsResult<()> {
        let path = path_of(key)?.to_path_buf();
        let meta = tokio::fs::symlink_metadata(&path)
            .await
            .map_err(|e| FsError::io(&path, e))?;
        let result = if meta.is_dir() {
            tokio::fs::remove_dir_all(&path).await
        } else {
            tokio::fs::remove_file(&path).await
        };
        result.map_err(|e| FsError::io(&path, e))
    }
}

impl Fs for LocalFs {
    async fn list(&self, dir: &Key, page: PageSink<'_>) -> FsResult<()> {
        let dir = path_of(dir)?.to_path_buf();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<FsResult<Vec<Entry>>>(4);
        tokio::task::spawn_blocking(move || {
            let read = match std::fs::read_dir(&dir) {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.blocking_send(Err(FsError::io(&dir, e)));
                    return;
                }
            };
            let mut batch = Vec::with_capacity(PAGE);
            for item in read.flatten() {
                let path = item.path();
                // A symlink shows as what it points to; a dangling one as itself.
                let meta = std::fs::metadata(&path).or_else(|_| item.metadata());
                if let Ok(meta) = meta {
                    batch.push(entry(path, &meta));
                }
                if batch.len() == PAGE
                    && tx
                        .blocking_send(Ok(std::mem::replace(&mut batch, Vec::with_capacity(PAGE))))
                        .is_err()
                {
                    return;
                }
            }
            let _ = tx.blocking_send(Ok(batch));
        });
        while let Some(batch) = rx.recv().await {
            page(batch?);
        }
        Ok(())
    }

    async fn mkdir(&self, parent: &Key, name: &str) -> FsResult<()> {
        let path = path_of(parent)?.join(name);
        tokio::fs::create_dir(&path)
            .await
            .map_err(|e| FsError::io(&path, e))
    }

    async fn rename(&self, entry: &Key, name: &str) -> FsResult<()> {
        let from = path_of(entry)?;
        let to = from.with_file_name(name);
        if tokio::fs::try_exists(&to).await.unwrap_or(false) {
            return Err(FsError::Refused(format!("{} already exists", to.display())));
        }
        tokio::fs::rename(from, &to)
            .await
            .map_err(|e| FsError::io(from, e))
    }

    async fn trash(&self, entry: &Key) -> FsResult<()> {
        let path = path_of(entry)?.to_path_buf();
        tokio::task::spawn_blocking(move || {
            trash::delete(&path).map_err(|e| {
                FsError::Refused(format!("{}: no trash to move it to ({e})", path.display()))
            })
        })
        .await
        .map_err(|e| FsError::Refused(e.to_string()))?
    }

    async fn space(&self, dir: &Key) -> FsResult<Space> {
        Ok(Space {
            free: crate::transfer::engine::free_space(path_of(dir)?),
            ..Space::default()
        })
    }
}
