//! The queue panel's model: one row per job as the engine reported it, the scans still
//! walking their trees, totals, and the panel's own cursor, size and visibility.

use std::collections::{HashMap, VecDeque};

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
    /// Rows now done, skipped or cancelled: counted as they change, since a queue of a
    /// 100,000-file tree must not be walked on every event.
    settled: usize,
    /// When files finished over the last few seconds, and when this busy spell's first
    /// did: a rate in files, which says more than bytes when the files are small.
    finished_ms: VecDeque<u64>,
    first_finished_ms: Option<u64>,
}

/// Files per second are counted over this window.
const FILES_RATE_WINDOW_MS: u64 = 5_000;

fn is_settled(state: &TransferState) -> bool {
    matches!(
        state,
        TransferState::Done | TransferState::Skipped { .. } | TransferState::Cancelled
    )
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
            settled: 0,
            finished_ms: VecDeque::new(),
            first_finished_ms: None,
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
                let Some(row) = self.row_mut(id) else {
                    return;
                };
                let was_settled = is_settled(&row.state);
                let now_settled = is_settled(&state);
                if state == TransferState::Done {
                    row.bytes = row.size;
                }
                if state.is_final() || state == TransferState::Queued {
                    row.rate = 0.0;
                    row.last_sample = None;
                }
                let done = state == TransferState::Done && row.state != TransferState::Done;
                row.state = state;
                match (was_settled, now_settled) {
                    (false, true) => self.settled += 1,
                    (true, false) => self.settled -= 1,
                    _ => {}
                }
                if done {
                    self.first_finished_ms.get_or_insert(now_ms);
                    self.finished_ms.push_back(now_ms);
                    while self
                        .finished_ms
                        .front()
                        .is_some_and(|t| now_ms.saturating_sub(*t) > FILES_RATE_WINDOW_MS)
                    {
                        self.finished_ms.pop_front();
                    }
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
            EngineEvent::Drained => {
                self.rate = 0.0;
                self.finished_ms.clear();
                self.first_finished_ms = None;
            }
        }
    }

    /// Past a bound, the oldest settled rows (done, skipped, cancelled) leave the panel,
    /// so a session of days stays small; failed ones stay until retried.
    fn forget_settled(&mut self) {
        let count = self.settled;
        if count <= self.keep_settled + self.keep_settled / 10 {
            return;
        }
        let mut drop = count - self.keep_settled;
        self.settled = self.keep_settled;
        let before = self.rows.len();
        let forgotten = &mut self.forgotten;
        self.rows.retain(|r| {
            if drop > 0 && is_settled(&r.state) {
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

    /// Files finished per second over the last few seconds; None until there is a second
    /// of them to go by.
    pub fn files_per_sec(&self, now_ms: u64) -> Option<f64> {
        let first = self.first_finished_ms?;
        let span = now_ms.saturating_sub(first).min(FILES_RATE_WINDOW_MS);
        if span < 1_000 {
            return None;
        }
        let recent = self
            .finished_ms
            .iter()
            .filter(|t| now_ms.saturating_sub(**t) <= FILES_RATE_WINDOW_MS)
            .count();
        Some(recent as f64 * 1000.0 / span as f64)
    }

    /// The later of what the bytes left at the byte rate and the files left at the file
    /// rate say: with many small files, the time goes in per-file round trips, not bytes.
    pub fn eta_secs(&self, now_ms: u64) -> Option<u64> {
        let t = self.totals();
        let by_bytes =
            (self.rate > 0.0 && t.bytes_left > 0).then(|| t.bytes_left as f64 / self.rate);
        let by_files = self
            .files_per_sec(now_ms)
            .filter(|r| *r > 0.0 && t.files_left > 0)
            .map(|r| t.files_left as f64 / r);
        let eta = match (by_bytes, by_files) {
            (Some(b), Some(f)) => b.max(f),
            (one, other) => one.or(other)?,
        };
        Some(eta as u64)
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
        // No file has finished yet: the bytes alone say.
        assert_eq!(q.eta_secs(2000), Some(1));
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

    fn state(id: JobId, state: TransferState) -> EngineEvent {
        EngineEvent::State { id, state }
    }

    #[test]
    fn small_files_are_timed_by_files_per_second() {
        let mut q = Queue::new(4);
        for id in 0..100 {
            q.apply(added(id, 50), 0);
        }
        // 20 files done in the first 2 s, at a byte rate that would finish the rest in 0 s.
        for id in 0..20 {
            q.apply(state(id, TransferState::Done), id * 100);
        }
        q.apply(
            EngineEvent::Progress {
                jobs: vec![],
                bytes_per_sec: 1000.0,
            },
            2000,
        );
        assert_eq!(q.files_per_sec(500), None, "too early to say");
        let rate = q.files_per_sec(2000).expect("a rate");
        assert!((rate - 10.0).abs() < 0.01, "{rate}");
        // 80 files left at 10 a second, though their 4,000 bytes would take 4 s.
        assert_eq!(q.eta_secs(2000), Some(8));
        // Nothing finishes for a while: the old ones leave the window.
        assert_eq!(q.files_per_sec(9000), Some(0.0));
        q.apply(EngineEvent::Drained, 9000);
        assert_eq!(q.files_per_sec(9000), None);
    }

    #[test]
    fn settled_rows_are_counted_as_they_change() {
        let mut q = Queue::new(4);
        q.keep_settled = 5;
        for id in 0..5 {
            q.apply(added(id, 1), 0);
            q.apply(state(id, TransferState::Done), 0);
        }
        // Done, then retried (back to Queued), then cancelled: still five settled.
        q.apply(state(4, TransferState::Queued), 0);
        q.apply(state(4, TransferState::Cancelled), 0);
        assert_eq!(q.settled, 5);
        assert_eq!(q.rows.len(), 5, "within the bound nothing is forgotten");
        for id in 5..7 {
            q.apply(added(id, 1), 0);
            q.apply(state(id, TransferState::Skipped { reason: "x".into() }), 0);
        }
        // 7 settled > 5 + 5/10: back to the 5 newest.
        assert_eq!((q.settled, q.rows.len()), (5, 5));
        assert_eq!(q.rows[0].id, 2);
    }
}
