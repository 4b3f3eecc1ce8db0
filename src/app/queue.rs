//! The queue panel's model: one row per job as the engine reported it, the scans still
//! walking their trees, totals, and the panel's own cursor, size and visibility.

use std::collections::HashMap;

use crate::transfer::plan::ScanCounts;
use crate::transfer::{Event as EngineEvent, JobId, JobSpec, TransferState};

#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    pub id: JobId,
    pub label: String,
    pub upload: bool,
    pub size: u64,
    pub bytes: u64,
    pub state: TransferState,
    pub priority: i32,
    /// Bytes per second over the last samples; 0 until it moves.
    pub rate: f64,
    last_sample: Option<(u64, u64)>,
}

impl JobRow {
    pub fn eta_secs(&self) -> Option<u64> {
        (self.rate > 0.0 && self.state.is_active())
            .then(|| (self.size.saturating_sub(self.bytes) as f64 / self.rate) as u64)
    }
}

/// A tree copy still in its first phase.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanRow {
    pub id: u64,
    pub label: String,
    pub counts: ScanCounts,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Totals {
    pub files_done: usize,
    pub files_left: usize,
    pub bytes_done: u64,
    pub bytes_left: u64,
    pub failed: usize,
    pub active: usize,
}

#[derive(Debug, Clone)]
pub struct Queue {
    pub rows: Vec<JobRow>,
    index: HashMap<JobId, usize>,
    pub scans: Vec<ScanRow>,
    pub cursor: usize,
    pub offset: usize,
    pub paused: bool,
    pub concurrency: usize,
    /// The engine's rate over all jobs.
    pub rate: f64,
    pub collapsed: bool,
    /// Rows the panel takes (borders included); None = sized to the terminal.
    pub height: Option<u16>,
    /// Settled rows kept (see `forget_settled`).
    pub keep_settled: usize,
    /// Files and bytes done in rows no longer kept.
    forgotten: (usize, u64),
}

impl Queue {
    pub fn new(concurrency: usize) -> Queue {
        Queue {
            rows: Vec::new(),
            index: HashMap::new(),
            scans: Vec::new(),
            cursor: 0,
            offset: 0,
            paused: false,
            concurrency,
            rate: 0.0,
            collapsed: false,
            height: None,
            keep_settled: 10_000,
            forgotten: (0, 0),
        }
    }

    /// Takes one engine event in; `now_ms` dates the progress samples.
    pub fn apply(&mut self, event: EngineEvent, now_ms: u64) {
        match event {
            EngineEvent::Added { id, spec } => {
                let (label, upload) = match &spec {
                    JobSpec::Upload { local, name, .. } => (
                        local
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_else(|| name.clone()),
                        true,
                    ),
                    JobSpec::Download { name, .. } => (name.clone(), false),
                };
                self.index.insert(id, self.rows.len());
                self.rows.push(JobRow {
                    id,
                    label,
                    upload,
                    size: spec.size(),
                    bytes: 0,
                    state: TransferState::Queued,
                    priority: 0,
                    rate: 0.0,
                    last_sample: None,
                });
            }
            EngineEvent::State { id, state } => {
                if let Some(row) = self.row_mut(id) {
                    if state == TransferState::Done {
                        row.bytes = row.size;
                    }
                    if state.is_final() || state == TransferState::Queued {
                        row.rate = 0.0;
                        row.last_sample = None;
                    }
                    row.state = state;
                }
                self.forget_settled();
            }
            EngineEvent::Progress {
                jobs,
                bytes_per_sec,
            } => {
                self.rate = bytes_per_sec;
                for (id, bytes, _) in jobs {
                    if let Some(row) = self.row_mut(id) {
                        if let Some((t0, b0)) = row.last_sample
                            && now_ms > t0
                        {
                            let instant =
                                bytes.saturating_sub(b0) as f64 * 1000.0 / (now_ms - t0) as f64;
                            // Smoothed, so the ETA does not jump with every sample.
                            row.rate = if row.rate == 0.0 {
                                instant
                            } else {
                                0.7 * row.rate + 0.3 * instant
                            };
                        }
                        row.last_sample = Some((now_ms, bytes));
                        row.bytes = bytes;
                    }
                }
            }
            EngineEvent::Drained => self.rate = 0.0,
        }
    }

    /// Past a bound, the oldest settled rows (done, skipped, cancelled) leave the panel,
    /// so a session of days stays small; failed ones stay until retried.
    fn forget_settled(&mut self) {
        let settled = |r: &JobRow| {
            matches!(
                r.state,
                TransferState::Done | TransferState::Skipped { .. } | TransferState::Cancelled
            )
        };
        let count = self.rows.iter().filter(|r| settled(r)).count();
        if count <= self.keep_settled + self.keep_settled / 10 {
            return;
        }
        let mut drop = count - self.keep_settled;
        let before = self.rows.len();
        let forgotten = &mut self.forgotten;
        self.rows.retain(|r| {
            if drop > 0 && settled(r) {
                drop -= 1;
                // The totals still count what was done.
                if r.state == TransferState::Done {
                    forgotten.0 += 1;
                    forgotten.1 += r.size;
                }
                false
            } else {
                true
            }
        });
        self.cursor = self.cursor.saturating_sub(before - self.rows.len());
        self.offset = self.offset.saturating_sub(before - self.rows.len());
        self.index = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id, i))
            .collect();
    }

    fn row_mut(&mut self, id: JobId) -> Option<&mut JobRow> {
        let i = *self.index.get(&id)?;
        self.rows.get_mut(i)
    }

    pub fn cursor_row(&self) -> Option<&JobRow> {
        self.rows.get(self.cursor)
    }

    pub fn set_priority(&mut self, id: JobId, priority: i32) {
        if let Some(row) = self.row_mut(id) {
            row.priority = priority;
        }
    }

    pub fn totals(&self) -> Totals {
        let mut t = Totals {
            files_done: self.forgotten.0,
            bytes_done: self.forgotten.1,
            ..Totals::default()
        };
        for row in &self.rows {
            match &row.state {
                TransferState::Done => {
                    t.files_done += 1;
                    t.bytes_done += row.size;
                }
                TransferState::Failed { .. } => t.failed += 1,
                TransferState::Skipped { .. } | TransferState::Cancelled => {}
                other => {
                    if other.is_active() {
                        t.active += 1;
                    }
                    t.files_left += 1;
                    t.bytes_done += row.bytes;
                    t.bytes_left += row.size.saturating_sub(row.bytes);
                }
            }
        }
        t
    }

    /// Something is queued, moving or still being scanned.
    pub fn busy(&self) -> bool {
        !self.scans.is_empty() || self.rows.iter().any(|r| !r.state.is_final())
    }

    pub fn eta_secs(&self) -> Option<u64> {
        let left = self.totals().bytes_left;
        (self.rate > 0.0 && left > 0).then(|| (left as f64 / self.rate) as u64)
    }

    pub fn move_cursor(&mut self, delta: isize, rows: usize) {
        let last = self.rows.len().saturating_sub(1) as isize;
        self.cursor = (self.cursor as isize + delta).clamp(0, last.max(0)) as usize;
        let rows = rows.max(1);
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + rows {
            self.offset = self.cursor + 1 - rows;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::state::Phase;

    #[test]
    fn old_settled_rows_leave_failed_ones_stay() {
        let mut q = Queue::new(4);
        q.keep_settled = 10;
        q.apply(added(0, 1), 0);
        q.apply(
            EngineEvent::State {
                id: 0,
                state: TransferState::Failed { reason: "x".into() },
            },
            0,
        );
        for id in 1..=20 {
            q.apply(added(id, 1), 0);
            q.apply(
                EngineEvent::State {
                    id,
                    state: TransferState::Done,
                },
                0,
            );
        }
        let ids: Vec<u64> = q.rows.iter().map(|r| r.id).collect();
        assert_eq!(ids[0], 0, "the failed one stays");
        assert!(ids.len() <= 12, "{ids:?}");
        assert_eq!(*ids.last().unwrap(), 20);
        assert_eq!(
            q.totals().files_done,
            20,
            "forgotten rows still count as done"
        );
        // The index still finds the rows it kept.
        q.apply(
            EngineEvent::State {
                id: 20,
                state: TransferState::Queued,
            },
            0,
        );
        assert_eq!(q.rows.last().unwrap().state, TransferState::Queued);
    }
    use std::path::PathBuf;

    fn added(id: JobId, size: u64) -> EngineEvent {
        EngineEvent::Added {
            id,
            spec: JobSpec::Download {
                node: format!("n{id}"),
                name: format!("file{id}"),
                size,
                target: PathBuf::from("/tmp/x"),
            },
        }
    }

    #[test]
    fn totals_and_rates_follow_the_engine() {
        let mut q = Queue::new(4);
        q.apply(added(1, 1000), 0);
        q.apply(added(2, 500), 0);
        q.apply(
            EngineEvent::State {
                id: 1,
                state: TransferState::Active(Phase::Downloading),
            },
            0,
        );
        q.apply(
            EngineEvent::Progress {
                jobs: vec![(1, 100, 1000)],
                bytes_per_sec: 500.0,
            },
            1000,
        );
        q.apply(
            EngineEvent::Progress {
                jobs: vec![(1, 600, 1000)],
                bytes_per_sec: 500.0,
            },
            2000,
        );
        assert_eq!(q.rows[0].rate, 500.0);
        assert_eq!(q.rows[0].eta_secs(), Some(0));
        let t = q.totals();
        assert_eq!(
            (t.files_left, t.bytes_done, t.bytes_left, t.active),
            (2, 600, 900, 1)
        );
        assert_eq!(q.eta_secs(), Some(1));
        q.apply(
            EngineEvent::State {
                id: 1,
                state: TransferState::Done,
            },
            2100,
        );
        q.apply(
            EngineEvent::State {
                id: 2,
                state: TransferState::Failed {
                    reason: "gone".into(),
                },
            },
            2100,
        );
        let t = q.totals();
        assert_eq!(
            (t.files_done, t.bytes_done, t.failed, t.files_left),
            (1, 1000, 1, 0)
        );
        assert!(!q.busy());
    }
}
