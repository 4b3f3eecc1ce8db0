//! Moves (F6): which queued jobs belong to which move, and when a move is over, so that
//! the folders it emptied go too. Files go one by one, each once its copy is verified;
//! a folder goes only when nothing is left in it, so a file that was not copied (refused,
//! failed, skipped) keeps its folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::drive::Client;
use crate::fs::Key;
use crate::transfer::{JobId, JobSpec};

/// A move under way: what still has to end before its folders are looked at.
#[derive(Debug)]
struct Move {
    /// The planning, queued jobs not yet settled, held conflicts, removals in flight.
    outstanding: usize,
    /// The folders the user moved (files moved on their own leave no folder behind).
    folders: Vec<Key>,
}

#[derive(Debug, Default)]
pub struct Moves {
    jobs: HashMap<JobId, (u64, JobSpec)>,
    open: HashMap<u64, Move>,
}

impl Moves {
    /// A move starts planning; it is not over before `release` says so once for this.
    pub fn begin(&mut self, scan: u64, folders: Vec<Key>) {
        self.open.insert(
            scan,
            Move {
                outstanding: 1,
                folders,
            },
        );
    }

    /// Something more of this move must end first (held conflicts, removals).
    pub fn hold(&mut self, scan: u64) {
        if let Some(m) = self.open.get_mut(&scan) {
            m.outstanding += 1;
        }
    }

    /// Jobs queued for this move.
    pub fn add_jobs(&mut self, scan: u64, jobs: impl IntoIterator<Item = (JobId, JobSpec)>) {
        for (id, spec) in jobs {
            self.jobs.insert(id, (scan, spec));
            if let Some(m) = self.open.get_mut(&scan) {
                m.outstanding += 1;
            }
        }
    }

    /// A job settled: its move, and with `copied` the job whose original is to go (then
    /// `release` once it went). A failed job is not settled: it may be retried.
    pub fn settled(&mut self, id: JobId, copied: bool) -> Option<(u64, Option<JobSpec>)> {
        let (scan, spec) = self.jobs.remove(&id)?;
        Some((scan, copied.then_some(spec)))
    }

    /// One thing this move waited for ended; when none is left, the folders to tidy.
    pub fn release(&mut self, scan: u64) -> Option<Vec<Key>> {
        let m = self.open.get_mut(&scan)?;
        m.outstanding = m.outstanding.saturating_sub(1);
        if m.outstanding > 0 {
            return None;
        }
        self.open.remove(&scan).map(|m| m.folders)
    }

    /// The move failed before anything was queued: nothing to tidy.
    pub fn forget(&mut self, scan: u64) {
        self.open.remove(&scan);
    }
}

/// Removes `dir` and the folders under it that are empty, deepest first. Only empty
/// folders: `remove_dir` refuses any other, so nothing that was not moved can go.
/// Whether `dir` itself went.
pub fn remove_empty_dirs(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let subdirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    for sub in subdirs {
        remove_empty_dirs(&sub);
    }
    std::fs::remove_dir(dir).is_ok()
}

/// Moves `folder` and the folders under it to the Drive's trash where nothing available
/// is left in them, deepest first. Whether `folder` itself went.
pub async fn trash_empty_folders(client: &Client, folder: &str) -> bool {
    // Every folder below, parents before children; then looked at in reverse.
    let mut order = vec![folder.to_string()];
    let mut i = 0;
    while i < order.len() {
        if let Ok(children) = client.list_all(&order[i]).await {
            order.extend(
                children
                    .iter()
                    .filter(|n| n.is_folder() && n.is_available())
                    .map(|n| n.id.clone()),
            );
        }
        i += 1;
    }
    let mut root_went = false;
    for id in order.iter().rev() {
        let empty = client
            .list_all(id)
            .await
            .is_ok_and(|children| !children.iter().any(|n| n.is_available()));
        if empty && client.trash(id).await.is_ok() && id == folder {
            root_went = true;
        }
    }
    root_went
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(n: u64) -> JobSpec {
        JobSpec::Download {
            node: format!("n{n}"),
            name: format!("f{n}"),
            size: 1,
            target: PathBuf::from(format!("/tmp/f{n}")),
        }
    }

    #[test]
    fn a_move_is_over_when_its_planning_jobs_and_holds_are() {
        let mut m = Moves::default();
        let folder = Key::Drive("folder".into());
        m.begin(7, vec![folder.clone()]);
        m.add_jobs(7, [(1, spec(1)), (2, spec(2))]);
        m.hold(7); // conflicts held for the user
        assert_eq!(m.release(7), None, "planning over, jobs still running");
        assert_eq!(m.settled(1, true), Some((7, Some(spec(1)))));
        assert_eq!(m.release(7), None, "its original went; job 2 still runs");
        assert_eq!(m.settled(2, false), Some((7, None)));
        assert_eq!(m.release(7), None, "the conflicts are not answered yet");
        // The answer queues one more.
        m.add_jobs(7, [(3, spec(3))]);
        assert_eq!(m.release(7), None);
        assert_eq!(m.settled(3, true), Some((7, Some(spec(3)))));
        assert_eq!(m.release(7), Some(vec![folder]));
        assert_eq!(m.release(7), None, "over once");
        assert_eq!(m.settled(99, true), None, "not a move's job");
    }

    #[test]
    fn only_empty_folders_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let moved = dir.path().join("moved");
        std::fs::create_dir_all(moved.join("a/b")).unwrap();
        std::fs::create_dir_all(moved.join("kept")).unwrap();
        std::fs::write(moved.join("kept/not copied.txt"), "x").unwrap();
        assert!(!remove_empty_dirs(&moved));
        assert!(!moved.join("a").exists(), "empty, so gone");
        assert!(moved.join("kept/not copied.txt").exists());
        std::fs::remove_file(moved.join("kept/not copied.txt")).unwrap();
        assert!(remove_empty_dirs(&moved));
        assert!(!moved.exists());
    }
}
