//! The persisted queue: every job and its latest state in SQLite, so after a crash, a
//! `kill -9` or a dropped SSH session the next start finds what was unfinished; and a
//! JSON-lines log beside it, one line per finished job.

use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use super::engine::{JobId, JobSpec};
use super::state::TransferState;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("transfer journal {path}: {message}")]
    Open { path: PathBuf, message: String },
}

/// What a finished job leaves in the log.
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub md5: Option<String>,
    pub retries: u32,
    pub waits: u32,
}

pub struct Journal {
    conn: Connection,
    log_path: PathBuf,
}

impl Journal {
    /// `queue.sqlite` and `transfers.jsonl` in the platform's data folder (or `ACDC_DATA_DIR`).
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("ACDC_DATA_DIR") {
            return Some(PathBuf::from(dir));
        }
        directories::ProjectDirs::from("", "", "acdc").map(|d| d.data_dir().to_path_buf())
    }

    pub fn open(dir: &Path) -> Result<Journal, JournalError> {
        let err = |e: &dyn std::fmt::Display| JournalError::Open {
            path: dir.to_path_buf(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| err(&e))?;
        let conn = Connection::open(dir.join("queue.sqlite")).map_err(|e| err(&e))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
             CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, spec TEXT NOT NULL, state TEXT NOT NULL, updated TEXT NOT NULL);",
        )
        .map_err(|e| err(&e))?;
        Ok(Journal {
            conn,
            log_path: dir.join("transfers.jsonl"),
        })
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    pub fn next_id(&self) -> JobId {
        self.conn
            .query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM jobs", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n.max(1) as JobId)
            .unwrap_or(1)
    }

    fn write(&self, sql: &str, id: JobId, text: &str) {
        if let Err(e) = self
            .conn
            .execute(sql, params![id as i64, text, crate::emu::ids::now()])
        {
            tracing::error!("transfer journal: {e}");
        }
    }

    pub fn add(&mut self, id: JobId, spec: &JobSpec) {
        let spec = serde_json::to_string(spec).unwrap_or_default();
        let queued = serde_json::to_string(&TransferState::Queued).unwrap_or_default();
        if let Err(e) = self.conn.execute(
            "INSERT INTO jobs (id, spec, state, updated) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(id) DO UPDATE SET state = ?3, updated = ?4",
            params![id as i64, spec, queued, crate::emu::ids::now()],
        ) {
            tracing::error!("transfer journal: {e}");
        }
    }

    pub fn set_state(&mut self, id: JobId, state: &TransferState) {
        let state = serde_json::to_string(state).unwrap_or_default();
        self.write(
            "UPDATE jobs SET state = ?2, updated = ?3 WHERE id = ?1",
            id,
            &state,
        );
    }

    /// Jobs that were queued or moving when the last run ended: to be resumed.
    pub fn unfinished(&self) -> Vec<(JobId, JobSpec)> {
        let mut stmt = match self
            .conn
            .prepare("SELECT id, spec, state FROM jobs ORDER BY id")
        {
            Ok(s) => s,
            Err(_) => return Vec::new(),
        };
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        });
        let Ok(rows) = rows else { return Vec::new() };
        rows.filter_map(Result::ok)
            .filter_map(|(id, spec, state)| {
                let state: TransferState = serde_json::from_str(&state).ok()?;
                let spec: JobSpec = serde_json::from_str(&spec).ok()?;
                (!state.is_final()).then_some((id as JobId, spec))
            })
            .collect()
    }

    pub fn state(&self, id: JobId) -> Option<TransferState> {
        self.conn
            .query_row("SELECT state FROM jobs WHERE id = ?1", [id as i64], |r| {
                r.get::<_, String>(0)
            })
            .optional()
            .ok()
            .flatten()
            .and_then(|s| serde_json::from_str(&s).ok())
    }

    /// One JSON line per finished job: what, how big, its MD5, retries, waits, outcome.
    pub fn log_finished(
        &mut self,
        id: JobId,
        spec: &JobSpec,
        state: &TransferState,
        record: &Record,
    ) {
        let (direction, path) = match spec {
            JobSpec::Upload { local, .. } => ("upload", local.display().to_string()),
            JobSpec::Download { target, .. } => ("download", target.display().to_string()),
        };
        let (outcome, reason) = match state {
            TransferState::Done => ("done", None),
            TransferState::Failed { reason } => ("failed", Some(reason.clone())),
            TransferState::Skipped { reason } => ("skipped", Some(reason.clone())),
            TransferState::Cancelled => ("cancelled", None),
            _ => ("unfinished", None),
        };
        let line = json!({
            "time": crate::emu::ids::now(), "id": id, "direction": direction, "path": path,
            "bytes": spec.size(), "md5": record.md5, "retries": record.retries, "waits": record.waits,
            "outcome": outcome, "reason": reason,
        });
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            tracing::error!("transfer log {}: {e}", self.log_path.display());
        }
    }
}
