//! Moves (F6): which queued jobs belong to which move, and when a move is over, so that
//! the folders it emptied go too. Files go one by one, each once its copy is verified;
//! a folder goes only when nothing is left in it, so a file that was not copied (refused,
//! failed, skipped) keeps its folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::drive::Client;
use crate::fs::Key;
use crate::transfer::{JobId, JobSpec, TransferState};

/// A move under way: what still has to end before its folders are looked at.
#[derive(Debug)]
struct Move {
    /// The planning, queued jobs not yet settled, held conflicts, removals in flight.
    outstanding: usize,
    /// The folders the user moved (files moved on their own leave no folder behind).
    folders: Vec<Key>,
}

/// The move of the jobs restored from an earlier session: never open, so never tidied
/// (which folders it emptied is not known any more).
const EARLIER_SESSION: u64 = 0;

/// One remote's moves (one engine's job ids: another remote's journal numbers its own).
#[derive(Debug, Default)]
pub struct Moves {
    /// Specs handed to the engine whose ids are not known yet: bound when the engine says
    /// it added them, which it does before any of them can run (so none finishes unseen).
    expected: Vec<(u64, JobSpec)>,
    jobs: HashMap<JobId, (u64, JobSpec)>,
    open: HashMap<u64, Move>,
    /// Where the jobs are kept for the next session (None: nowhere).
    log: Option<MoveLog>,
}

impl Moves {
    /// The moves an earlier session left in `log`, by what the queue's journal says of
    /// each job (`state_of`): one still to run waits again; one Done before its original
    /// went is returned, for its original to go now; the rest are forgotten.
    pub fn restore(
        mut log: Option<MoveLog>,
        state_of: impl Fn(JobId) -> Option<TransferState>,
    ) -> (Moves, Vec<(JobId, JobSpec)>) {
        let mut moves = Moves::default();
        let mut due = Vec::new();
        if let Some(log) = &mut log {
            for (id, spec) in log.all() {
                match state_of(id) {
                    Some(TransferState::Done) => due.push((id, spec)),
                    Some(state) if !state.is_final() => {
                        moves.jobs.insert(id, (EARLIER_SESSION, spec));
                    }
                    _ => log.remove(id),
                }
            }
        }
        moves.log = log;
        (moves, due)
    }

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

    /// Jobs about to be queued for this move.
    pub fn expect(&mut self, scan: u64, specs: impl IntoIterator<Item = JobSpec>) {
        for spec in specs {
            self.expected.push((scan, spec));
            if let Some(m) = self.open.get_mut(&scan) {
                m.outstanding += 1;
            }
        }
    }

    /// The engine added a job: whether it is one a move expected.
    pub fn added(&mut self, id: JobId, spec: &JobSpec) -> bool {
        let Some(i) = self.expected.iter().position(|(_, s)| s == spec) else {
            return false;
        };
        let (scan, spec) = self.expected.swap_remove(i);
        if let Some(log) = &mut self.log {
            log.add(&[(id, spec.clone())]);
        }
        self.jobs.insert(id, (scan, spec));
        true
    }

    /// A job's original went, or will not: the log forgets it.
    pub fn original_handled(&mut self, id: JobId) {
        if let Some(log) = &mut self.log {
            log.remove(id);
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

/// The jobs of moves whose originals are still to go, kept beside the queue's journal
/// (`moves.sqlite`), so that a move resumed after a crash or a lost SSH session still
/// removes them instead of leaving two copies.
#[derive(Debug)]
pub struct MoveLog {
    conn: rusqlite::Connection,
}

impl MoveLog {
    pub fn open(dir: &Path) -> Result<MoveLog, String> {
        let failed = |e: &dyn std::fmt::Display| format!("{}: {e}", dir.display());
        std::fs::create_dir_all(dir).map_err(|e| failed(&e))?;
        let conn = rusqlite::Connection::open(dir.join("moves.sqlite")).map_err(|e| failed(&e))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
             CREATE TABLE IF NOT EXISTS moves (id INTEGER PRIMARY KEY, spec TEXT NOT NULL);",
        )
        .map_err(|e| failed(&e))?;
        Ok(MoveLog { conn })
    }

    pub fn add(&mut self, jobs: &[(JobId, JobSpec)]) {
        let written = self.conn.transaction().and_then(|t| {
            for (id, spec) in jobs {
                let spec = serde_json::to_string(spec).unwrap_or_default();
                t.execute(
                    "INSERT OR REPLACE INTO moves (id, spec) VALUES (?1, ?2)",
                    rusqlite::params![*id as i64, spec],
                )?;
            }
            t.commit()
        });
        if let Err(e) = written {
            tracing::error!("move log: {e}");
        }
    }

    pub fn remove(&mut self, id: JobId) {
        if let Err(e) = self
            .conn
            .execute("DELETE FROM moves WHERE id = ?1", [id as i64])
        {
            tracing::error!("move log: {e}");
        }
    }

    pub fn all(&self) -> Vec<(JobId, JobSpec)> {
        let Ok(mut stmt) = self.conn.prepare("SELECT id, spec FROM moves ORDER BY id") else {
            return Vec::new();
        };
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)));
        rows.map(|rows| {
            rows.filter_map(|r| r.ok())
                .filter_map(|(id, spec)| Some((id as JobId, serde_json::from_str(&spec).ok()?)))
                .collect()
        })
        .unwrap_or_default()
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
        m.expect(7, [spec(1), spec(2)]);
        assert!(m.added(1, &spec(1)) && m.added(2, &spec(2)));
        assert!(!m.added(5, &spec(5)), "a plain copy's job");
        m.hold(7); // conflicts held for the user
        assert_eq!(m.release(7), None, "planning over, jobs still running");
        assert_eq!(m.settled(1, true), Some((7, Some(spec(1)))));
        assert_eq!(m.release(7), None, "its original went; job 2 still runs");
        assert_eq!(m.settled(2, false), Some((7, None)));
        assert_eq!(m.release(7), None, "the conflicts are not answered yet");
        // The answer queues one more.
        m.expect(7, [spec(3)]);
        assert!(m.added(3, &spec(3)));
        assert_eq!(m.release(7), None);
        assert_eq!(m.settled(3, true), Some((7, Some(spec(3)))));
        assert_eq!(m.release(7), Some(vec![folder]));
        assert_eq!(m.release(7), None, "over once");
        assert_eq!(m.settled(99, true), None, "not a move's job");
    }

    #[test]
    fn moves_are_restored_by_what_the_journal_says() {
        let dir = tempfile::tempdir().unwrap();
        let log = || Some(MoveLog::open(dir.path()).unwrap());
        let (mut m, due) = Moves::restore(log(), |_| None);
        assert!(due.is_empty());
        m.begin(7, vec![]);
        m.expect(7, (1..=4).map(spec));
        for id in 1..=4 {
            assert!(m.added(id, &spec(id)));
        }
        // Job 4's original went before the session ended.
        m.settled(4, true);
        m.original_handled(4);
        drop(m);
        let (mut m, due) = Moves::restore(log(), |id| match id {
            1 => Some(TransferState::Queued),
            2 => Some(TransferState::Done),
            _ => Some(TransferState::Cancelled),
        });
        assert_eq!(due, vec![(2, spec(2))], "Done, its original not gone yet");
        assert_eq!(m.settled(1, true), Some((EARLIER_SESSION, Some(spec(1)))));
        assert_eq!(m.settled(3, true), None, "cancelled: forgotten");
        assert_eq!(m.release(EARLIER_SESSION), None, "nothing to tidy");
        // What was forgotten is gone from the log too.
        m.original_handled(1);
        m.original_handled(2);
        assert!(MoveLog::open(dir.path()).unwrap().all().is_empty());
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
