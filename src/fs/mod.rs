//! What a pane shows and what it can do to it, the same for the local disk and the Drive.
//! Panes speak only `Fs`; the backend runs these calls, never the UI.

pub mod drive;
pub mod local;

use std::future::Future;
use std::path::PathBuf;

/// What names an entry to the side that holds it: a local path or a Drive node id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Local(PathBuf),
    Drive(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// As shown: the local name lossily decoded, or the Drive name as stored.
    pub name: String,
    pub key: Key,
    pub is_dir: bool,
    pub size: u64,
    /// Seconds since the Unix epoch.
    pub modified: Option<i64>,
    pub md5: Option<String>,
}

/// Free space and use, where the side knows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Space {
    pub free: Option<u64>,
    pub used: Option<u64>,
    pub total: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("{0}")]
    Drive(#[from] crate::drive::DriveError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Refused(String),
}

impl FsError {
    pub fn io(path: &std::path::Path, source: std::io::Error) -> FsError {
        FsError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

pub type FsResult<T> = Result<T, FsError>;

/// A folder's entries arrive in pages (a 5,000-entry Drive folder is drawn from the first).
pub type PageSink<'a> = &'a mut (dyn FnMut(Vec<Entry>) + Send);

pub trait Fs: Send + Sync {
    fn list(&self, dir: &Key, page: PageSink<'_>) -> impl Future<Output = FsResult<()>> + Send;
    fn mkdir(&self, parent: &Key, name: &str) -> impl Future<Output = FsResult<()>> + Send;
    fn rename(&self, entry: &Key, name: &str) -> impl Future<Output = FsResult<()>> + Send;
    /// To the trash: the Drive's own, or the freedesktop trash locally.
    fn trash(&self, entry: &Key) -> impl Future<Output = FsResult<()>> + Send;
    fn space(&self, dir: &Key) -> impl Future<Output = FsResult<Space>> + Send;
}

/// Seconds since the epoch from an RFC 3339 date as the Drive writes them.
pub fn parse_date(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.timestamp())
}
