//! The scheduler and the jobs. N jobs run at once (FIFO within a priority, changeable while
//! running); uploads into one Drive folder take turns (the service answered parallel writes
//! into a folder with 429s); a storm of 429s halves how many run, and successes add them
//! back (AIMD). Each job reports its phases through the drive client's observer, so the
//! queue shows "retrying", "waiting for Amazon", "verifying" as they happen.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::journal::{Journal, Record};
use super::state::TransferState;
use crate::drive::observe::{self, Observer, Phase, Watch, watched};
use crate::drive::{Client, DriveError};

pub type JobId = u64;

/// Finished jobs the scheduler remembers (see `forget_settled`).
const KEEP_SETTLED: usize = 10_000;

/// What to transfer; fixed when queued (the destination does not move afterwards).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum JobSpec {
    /// `local` into Drive folder `parent` as `name` (already encoded for the Drive).
    Upload {
        local: PathBuf,
        parent: String,
        name: String,
        size: u64,
    },
    /// Drive file `node` (its `size` as listed) to `target`.
    Download {
        node: String,
        name: String,
        size: u64,
        target: PathBuf,
    },
}

impl JobSpec {
    pub fn size(&self) -> u64 {
        match self {
            JobSpec::Upload { size, .. } | JobSpec::Download { size, .. } => *size,
        }
    }

    /// Downloading Drive file `node` to `target`.
    pub fn download(node: &crate::drive::model::Node, target: PathBuf) -> JobSpec {
        JobSpec::Download {
            node: node.id.clone(),
            name: node.name().to_string(),
            size: node.size(),
            target,
        }
    }

    pub fn label(&self) -> String {
        match self {
            JobSpec::Upload { local, .. } => local.display().to_string(),
            JobSpec::Download { name, .. } => name.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub concurrency: usize,
    /// Whole-job attempts after the first (rclone's --retries is 3 attempts in all).
    pub retries: u32,
    pub templink_threshold: u64,
    /// Uploads above this fail on Amazon after the whole body was sent. "About 50 GB"
    /// (rclone only warns, at 50,000 MiB): the lower reading, as acd-emu enforces it, since
    /// a file between the two would fail only after hours of sending.
    pub file_size_cap: u64,
    pub max_size: Option<u64>,
    /// Backoff between whole-job attempts.
    pub retry_delay: Duration,
    pub on_conflict: ConflictPolicy,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            concurrency: 4,
            retries: 2,
            templink_threshold: 9 << 30,
            file_size_cap: 50_000_000_000,
            max_size: None,
            retry_delay: Duration::from_secs(2),
            on_conflict: ConflictPolicy::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Added {
        id: JobId,
        spec: JobSpec,
    },
    State {
        id: JobId,
        state: TransferState,
    },
    /// Sampled a few times a second: bytes done of each running job, and the overall rate.
    Progress {
        jobs: Vec<(JobId, u64, u64)>,
        bytes_per_sec: f64,
    },
    /// Nothing queued or running any more.
    Drained,
}

/// How a user steers the queue (the TUI's queue keys send these as they are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Cancel(JobId),
    CancelAll,
    Pause,
    Resume,
    RetryFailed,
    SetConcurrency(usize),
    SetPriority(JobId, i32),
    /// Queue again what the journal holds unfinished from an earlier run (the TUI asks
    /// first; the CLI's `--resume` starts with it).
    ResumeUnfinished,
}

/// What reaches the scheduler: a user's command, new jobs, or a job's 429.
#[derive(Debug)]
enum Message {
    Command(Command),
    Add(Vec<JobSpec>, tokio::sync::oneshot::Sender<Vec<JobId>>),
    Throttled,
}

/// The handle callers keep.
#[derive(Clone)]
pub struct Engine {
    commands: mpsc::UnboundedSender<Message>,
}

impl Engine {
    /// Starts the scheduler. With `resume`, jobs left unfinished in `journal` are queued
    /// again first; without it they stay in the journal for a later resume.
    pub fn start(
        client: Arc<Client>,
        options: EngineOptions,
        journal: Option<Journal>,
        resume: bool,
    ) -> (Engine, mpsc::UnboundedReceiver<Event>) {
        let (commands, rx) = mpsc::unbounded_channel();
        let (events, events_rx) = mpsc::unbounded_channel();
        let scheduler = Scheduler {
            client,
            adaptive: options.concurrency.max(1),
            options,
            events,
            // Weak: when the last Engine handle is dropped the scheduler stops.
            commands: commands.downgrade(),
            journal: journal.map(|j| Arc::new(Mutex::new(j))),
            jobs: Vec::new(),
            next_id: 1,
            paused: false,
            last_cut: None,
            folder_turns: Arc::new(Mutex::new(HashMap::new())),
            done_bytes: 0,
            samples: Vec::new(),
        };
        tokio::spawn(scheduler.run(rx, resume));
        (Engine { commands }, events_rx)
    }

    pub async fn add(&self, specs: Vec<JobSpec>) -> Vec<JobId> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.commands.send(Message::Add(specs, tx)).is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    pub fn send(&self, command: Command) {
        let _ = self.commands.send(Message::Command(command));
    }
}

struct Job {
    id: JobId,
    spec: JobSpec,
    state: TransferState,
    priority: i32,
    bytes: Arc<AtomicU64>,
    cancel: CancellationToken,
}

struct Scheduler {
    client: Arc<Client>,
    options: EngineOptions,
    adaptive: usize,
    events: mpsc::UnboundedSender<Event>,
    commands: mpsc::WeakUnboundedSender<Message>,
    journal: Option<Arc<Mutex<Journal>>>,
    jobs: Vec<Job>,
    next_id: JobId,
    paused: bool,
    last_cut: Option<Instant>,
    folder_turns: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    done_bytes: u64,
    samples: Vec<(Instant, u64)>,
}

impl Scheduler {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Message>, resume: bool) {
        let (finished_tx, mut finished) =
            mpsc::unbounded_channel::<(JobId, TransferState, Record)>();
        if let Some(journal) = &self.journal {
            let unfinished = journal.lock().map(|j| j.unfinished()).unwrap_or_default();
            let next = journal.lock().map(|j| j.next_id()).unwrap_or(1);
            self.next_id = next;
            if resume {
                for (id, spec) in unfinished {
                    self.enqueue(Some(id), spec);
                }
            }
        }
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut was_busy = false;
        loop {
            self.dispatch(&finished_tx);
            tokio::select! {
                command = commands.recv() => match command {
                    Some(c) => self.handle(c),
                    None => {
                        // Nobody can steer us any more: stop what runs. The journal still
                        // lists those jobs as unfinished, so the next start resumes them.
                        for job in &self.jobs {
                            job.cancel.cancel();
                        }
                        return;
                    }
                },
                Some((id, state, record)) = finished.recv() => self.finish(id, state, &record),
                _ = tick.tick() => self.sample(),
            }
            let busy = self.jobs.iter().any(|j| !j.state.is_final());
            if was_busy && !busy {
                self.sample();
                let _ = self.events.send(Event::Drained);
            }
            was_busy = busy;
        }
    }

    fn enqueue(&mut self, id: Option<JobId>, spec: JobSpec) -> JobId {
        let id = id.unwrap_or_else(|| {
            let id = self.next_id;
            self.next_id += 1;
            id
        });
        self.next_id = self.next_id.max(id + 1);
        if let Some(j) = &self.journal
            && let Ok(mut j) = j.lock()
        {
            j.add(id, &spec);
        }
        let _ = self.events.send(Event::Added {
            id,
            spec: spec.clone(),
        });
        let _ = self.events.send(Event::State {
            id,
            state: TransferState::Queued,
        });
        self.jobs.push(Job {
            id,
            spec,
            state: TransferState::Queued,
            priority: 0,
            bytes: Arc::new(AtomicU64::new(0)),
            cancel: CancellationToken::new(),
        });
        id
    }

    fn handle(&mut self, message: Message) {
        let command = match message {
            Message::Add(specs, reply) => {
                let ids = specs.into_iter().map(|s| self.enqueue(None, s)).collect();
                let _ = reply.send(ids);
                return;
            }
            Message::Throttled => {
                // Halve at most every 2 s, so one storm is one cut.
                if self
                    .last_cut
                    .is_none_or(|t| t.elapsed() > Duration::from_secs(2))
                {
                    self.adaptive = (self.adaptive / 2).max(1);
                    self.last_cut = Some(Instant::now());
                    tracing::info!("429s: running at most {} transfers for now", self.adaptive);
                }
                return;
            }
            Message::Command(command) => command,
        };
        match command {
            Command::ResumeUnfinished => {
                let unfinished = match &self.journal {
                    Some(j) => j.lock().map(|j| j.unfinished()).unwrap_or_default(),
                    None => Vec::new(),
                };
                for (id, spec) in unfinished {
                    if !self.jobs.iter().any(|j| j.id == id) {
                        self.enqueue(Some(id), spec);
                    }
                }
            }
            Command::Cancel(id) => self.cancel(|j| j.id == id),
            Command::CancelAll => self.cancel(|_| true),
            Command::Pause => self.paused = true,
            Command::Resume => self.paused = false,
            Command::RetryFailed => {
                let failed: Vec<JobId> = self
                    .jobs
                    .iter()
                    .filter(|j| matches!(j.state, TransferState::Failed { .. }))
                    .map(|j| j.id)
                    .collect();
                for id in failed {
                    self.set_state(id, TransferState::Queued);
                }
            }
            Command::SetConcurrency(n) => {
                self.options.concurrency = n.max(1);
                self.adaptive = self.adaptive.min(self.options.concurrency).max(1);
            }
            Command::SetPriority(id, p) => {
                if let Some(j) = self.jobs.iter_mut().find(|j| j.id == id) {
                    j.priority = p;
                }
            }
        }
    }

    fn cancel(&mut self, which: impl Fn(&Job) -> bool) {
        let ids: Vec<JobId> = self
            .jobs
            .iter()
            .filter(|j| which(j) && !j.state.is_final())
            .map(|j| j.id)
            .collect();
        for id in ids {
            let Some(job) = self.jobs.iter().find(|j| j.id == id) else {
                continue;
            };
            if job.state == TransferState::Queued {
                self.set_state(id, TransferState::Cancelled);
            } else {
                // Running: its task ends with Cancelled.
                job.cancel.cancel();
            }
        }
    }

    fn set_state(&mut self, id: JobId, state: TransferState) {
        if let Some(job) = self.jobs.iter_mut().find(|j| j.id == id) {
            job.state = state.clone();
            if state == TransferState::Queued {
                job.cancel = CancellationToken::new();
                job.bytes.store(0, Ordering::Relaxed);
            }
        }
        if let Some(j) = &self.journal
            && let Ok(mut j) = j.lock()
        {
            j.set_state(id, &state);
        }
        let _ = self.events.send(Event::State { id, state });
    }

    fn finish(&mut self, id: JobId, state: TransferState, record: &Record) {
        if state == TransferState::Done {
            self.adaptive = (self.adaptive + 1).min(self.options.concurrency);
            if let Some(job) = self.jobs.iter().find(|j| j.id == id) {
                self.done_bytes += job.spec.size();
            }
        }
        if let (Some(j), Some(job)) = (&self.journal, self.jobs.iter().find(|j| j.id == id))
            && let Ok(mut j) = j.lock()
        {
            j.log_finished(id, &job.spec, &state, record);
        }
        self.set_state(id, state);
        self.forget_settled();
    }

    /// A long session must not keep every finished job: past a bound, the oldest that are
    /// Done, Skipped or Cancelled go (failed ones stay, to be retried). The journal and
    /// the transfer log keep their record.
    fn forget_settled(&mut self) {
        let settled = |j: &Job| {
            matches!(
                j.state,
                TransferState::Done | TransferState::Skipped { .. } | TransferState::Cancelled
            )
        };
        let count = self.jobs.iter().filter(|j| settled(j)).count();
        if count <= KEEP_SETTLED + KEEP_SETTLED / 10 {
            return;
        }
        let mut drop = count - KEEP_SETTLED;
        self.jobs.retain(|j| {
            if drop > 0 && settled(j) {
                drop -= 1;
                false
            } else {
                true
            }
        });
    }

    fn running(&self) -> usize {
        self.jobs.iter().filter(|j| j.state.is_active()).count()
    }

    fn dispatch(&mut self, finished: &mpsc::UnboundedSender<(JobId, TransferState, Record)>) {
        if self.paused {
            return;
        }
        let limit = self.options.concurrency.min(self.adaptive).max(1);
        while self.running() < limit {
            // Highest priority first, then the order they were queued in.
            let Some(pos) = self
                .jobs
                .iter()
                .enumerate()
                .filter(|(_, j)| j.state == TransferState::Queued)
                .max_by_key(|(i, j)| (j.priority, std::cmp::Reverse(*i)))
                .map(|(i, _)| i)
            else {
                return;
            };
            let (id, spec, bytes, cancel) = {
                let j = &self.jobs[pos];
                (j.id, j.spec.clone(), j.bytes.clone(), j.cancel.clone())
            };
            let first = TransferState::Active(match &spec {
                JobSpec::Upload { .. } => Phase::Uploading,
                JobSpec::Download { .. } => Phase::Downloading,
            });
            self.set_state(id, first);
            let ctx = JobContext {
                id,
                client: self.client.clone(),
                options: self.options.clone(),
                events: self.events.clone(),
                commands: self.commands.clone(),
                folder_turns: self.folder_turns.clone(),
                last: Mutex::new(None),
                record: Mutex::new(Record::default()),
            };
            let finished = finished.clone();
            tokio::spawn(async move {
                let ctx = Arc::new(ctx);
                let state = tokio::select! {
                    state = ctx.clone().run(spec, bytes) => state,
                    _ = cancel.cancelled() => TransferState::Cancelled,
                };
                let record = ctx.record.lock().map(|r| r.clone()).unwrap_or_default();
                let _ = finished.send((id, state, record));
            });
        }
    }

    /// One progress event for all running jobs, with the rate over the last ~5 s.
    fn sample(&mut self) {
        // An idle queue's samples would count its idle seconds into the next copy's rate
        // (5,000 small files looked 4x slower in their first seconds).
        if !self.jobs.iter().any(|j| !j.state.is_final()) {
            self.samples.clear();
            return;
        }
        let jobs: Vec<(JobId, u64, u64)> = self
            .jobs
            .iter()
            .filter(|j| j.state.is_active())
            .map(|j| (j.id, j.bytes.load(Ordering::Relaxed), j.spec.size()))
            .collect();
        let moving: u64 = jobs.iter().map(|j| j.1).sum::<u64>() + self.done_bytes;
        let now = Instant::now();
        self.samples.push((now, moving));
        self.samples
            .retain(|(t, _)| now.duration_since(*t) <= Duration::from_secs(5));
        let rate = match (self.samples.first(), self.samples.last()) {
            (Some((t0, b0)), Some((t1, b1))) if t1 > t0 => {
                b1.saturating_sub(*b0) as f64 / t1.duration_since(*t0).as_secs_f64()
            }
            _ => 0.0,
        };
        if !jobs.is_empty() {
            let _ = self.events.send(Event::Progress {
                jobs,
                bytes_per_sec: rate,
            });
        }
    }
}

/// What a running job needs; also its observer.
struct JobContext {
    id: JobId,
    client: Arc<Client>,
    options: EngineOptions,
    events: mpsc::UnboundedSender<Event>,
    commands: mpsc::WeakUnboundedSender<Message>,
    folder_turns: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    last: Mutex<Option<TransferState>>,
    record: Mutex<Record>,
}

impl Observer for JobContext {
    fn phase(&self, phase: Phase) {
        match &phase {
            Phase::UploadWait { poll: 1, .. } => self.count(|r| r.waits += 1),
            Phase::Retrying { reason, .. } => {
                self.count(|r| r.retries += 1);
                if reason.starts_with("429")
                    && let Some(commands) = self.commands.upgrade()
                {
                    let _ = commands.send(Message::Throttled);
                }
            }
            _ => {}
        }
        self.report(TransferState::Active(phase));
    }
}

impl JobContext {
    fn count(&self, f: impl FnOnce(&mut Record)) {
        f(&mut self.record.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Sends a state, once per change.
    fn report(&self, state: TransferState) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_ref() != Some(&state) {
            *last = Some(state.clone());
            let _ = self.events.send(Event::State { id: self.id, state });
        }
    }

    fn folder_turn(&self, folder: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.folder_turns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(folder.to_string())
            .or_default()
            .clone()
    }

    /// Checks that can refuse a job before any byte moves.
    fn refuse(&self, spec: &JobSpec) -> Option<TransferState> {
        let size = spec.size();
        if matches!(spec, JobSpec::Upload { .. }) && size > self.options.file_size_cap {
            return Some(TransferState::Skipped {
                reason: format!(
                    "over Amazon Drive's {} file size limit",
                    humansize::format_size(self.options.file_size_cap, humansize::DECIMAL)
                ),
            });
        }
        if self.options.max_size.is_some_and(|m| size > m) {
            return Some(TransferState::Skipped {
                reason: "larger than --max-size".into(),
            });
        }
        if let JobSpec::Download { target, .. } = spec {
            let dir = target.parent().unwrap_or(std::path::Path::new("."));
            let partial = std::fs::metadata(crate::drive::content::partial_path(target))
                .map_or(0, |m| m.len());
            if let Some(reason) =
                free_space(dir).and_then(|free| space_problem(dir, size, partial, free))
            {
                return Some(TransferState::Failed { reason });
            }
        }
        None
    }

    async fn run(self: Arc<Self>, spec: JobSpec, bytes: Arc<AtomicU64>) -> TransferState {
        if let Some(refused) = self.refuse(&spec) {
            return refused;
        }
        let ctx = self;
        let watch = Watch {
            observer: ctx.clone(),
            bytes,
        };
        let mut attempt = 0;
        loop {
            let result = watched(watch.clone(), ctx.attempt(&spec)).await;
            match result {
                Ok(Outcome::Done(md5)) => {
                    ctx.count(|r| r.md5 = Some(md5));
                    return TransferState::Done;
                }
                Ok(Outcome::Skipped(reason)) => return TransferState::Skipped { reason },
                Err(e) if attempt < ctx.options.retries && worth_retrying(&e) => {
                    attempt += 1;
                    ctx.count(|r| r.retries += 1);
                    let wait = ctx.options.retry_delay * attempt;
                    ctx.report(TransferState::Active(Phase::Retrying {
                        attempt,
                        of: ctx.options.retries,
                        reason: e.to_string(),
                        until: SystemTime::now() + wait,
                    }));
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    return TransferState::Failed {
                        reason: e.to_string(),
                    };
                }
            }
        }
    }

    /// One try at the whole job.
    async fn attempt(&self, spec: &JobSpec) -> Result<Outcome, DriveError> {
        match spec {
            JobSpec::Upload {
                local,
                parent,
                name,
                size,
            } => {
                // One mutating call at a time per Drive folder.
                let turn = self.folder_turn(parent);
                let _turn = turn.lock().await;
                let mut name = name.clone();
                let mut overwrite = None;
                if let Some(existing) = self.client.find_child(parent, &name).await? {
                    if existing.is_folder() {
                        return Err(DriveError::NameExists {
                            name,
                            existing: existing.id.clone(),
                            hint: " (a folder is in the way)".into(),
                        });
                    }
                    match self.options.on_conflict {
                        ConflictPolicy::SkipIfSame => {
                            if existing.size() == *size
                                && self.local_md5(local).await?.as_deref() == existing.md5()
                            {
                                return Ok(Outcome::Skipped(
                                    "the same file is already there".into(),
                                ));
                            }
                            overwrite = Some(existing.id.clone());
                        }
                        ConflictPolicy::Overwrite => overwrite = Some(existing.id.clone()),
                        ConflictPolicy::Rename => {
                            name = self.free_drive_name(parent, &name).await?
                        }
                    }
                }
                let node = self
                    .client
                    .upload(parent, &name, local, overwrite.as_deref())
                    .await?;
                Ok(Outcome::Done(node.md5().unwrap_or_default().to_string()))
            }
            JobSpec::Download { node, target, .. } => {
                let node = self.client.node(node).await?;
                if !node.is_available() {
                    return Err(DriveError::NotFound(format!(
                        "{} is no longer on the Drive",
                        node.name()
                    )));
                }
                let mut target = target.clone();
                if tokio::fs::metadata(&target).await.is_ok() {
                    match self.options.on_conflict {
                        ConflictPolicy::SkipIfSame => {
                            if self.local_md5(&target).await?.as_deref() == node.md5() {
                                return Ok(Outcome::Skipped(
                                    "the same file is already here".into(),
                                ));
                            }
                        }
                        ConflictPolicy::Overwrite => {}
                        ConflictPolicy::Rename => target = free_local_name(&target),
                    }
                }
                let md5 = self
                    .client
                    .download(&node, &target, self.options.templink_threshold)
                    .await?;
                Ok(Outcome::Done(md5))
            }
        }
    }

    /// The MD5 of a local file (shown as hashing), or None if it cannot be read.
    async fn local_md5(&self, path: &std::path::Path) -> Result<Option<String>, DriveError> {
        observe::phase(Phase::Hashing);
        let path = path.to_path_buf();
        let md5 = tokio::task::spawn_blocking(move || crate::drive::content::file_md5(&path).ok())
            .await
            .ok()
            .flatten();
        Ok(md5)
    }

    /// `name (1).ext`, `name (2).ext`… the first one free in `parent`.
    async fn free_drive_name(&self, parent: &str, name: &str) -> Result<String, DriveError> {
        for n in 1..1000 {
            let candidate = numbered(name, n);
            if self.client.find_child(parent, &candidate).await?.is_none() {
                return Ok(candidate);
            }
        }
        Err(DriveError::NameExists {
            name: name.to_string(),
            existing: String::new(),
            hint: " (and 999 numbered variants)".into(),
        })
    }
}

/// What a finished attempt came to.
enum Outcome {
    Done(String),
    Skipped(String),
}

/// What to do when the destination already has that name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConflictPolicy {
    /// Skip when size and MD5 match; otherwise overwrite (rclone's copy).
    #[default]
    SkipIfSame,
    Overwrite,
    /// Keep both: the new one becomes `name (1).ext`.
    Rename,
}

/// `photo.jpg` → `photo (n).jpg`; `archive` → `archive (n)`; `.bashrc` → `.bashrc (n)`.
pub fn numbered(name: &str, n: u32) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem} ({n}).{ext}"),
        _ => format!("{name} ({n})"),
    }
}

/// `name (1).ext`, `name (2).ext`… beside `target`: the first that does not exist.
pub fn free_local_name(target: &std::path::Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (1..)
        .map(|n| target.with_file_name(numbered(&name, n)))
        .find(|p| !p.exists())
        .unwrap_or_else(|| target.to_path_buf())
}

/// Free bytes for an unprivileged user on the filesystem holding `dir`.
#[cfg(unix)]
pub fn free_space(dir: &std::path::Path) -> Option<u64> {
    let st = rustix::fs::statvfs(dir).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

#[cfg(not(unix))]
pub fn free_space(_dir: &std::path::Path) -> Option<u64> {
    None
}

/// Why a download of `size` bytes (`partial` of them already on disk) cannot fit in `free`.
pub fn space_problem(dir: &std::path::Path, size: u64, partial: u64, free: u64) -> Option<String> {
    let needed = size.saturating_sub(partial);
    (needed > free).then(|| {
        format!(
            "not enough free space in {}: it needs {} more, {} are free",
            dir.display(),
            humansize::format_size(needed, humansize::BINARY),
            humansize::format_size(free, humansize::BINARY)
        )
    })
}

/// Transient failures are tried again as a whole; refusals are not.
fn worth_retrying(e: &DriveError) -> bool {
    matches!(
        e,
        DriveError::Exhausted { .. }
            | DriveError::Network(_)
            | DriveError::Checksum { .. }
            | DriveError::BadAnswer(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_that_do_not_fit_are_refused_before_they_start() {
        let dir = std::path::Path::new("/data");
        assert_eq!(space_problem(dir, 100, 0, 1000), None);
        assert_eq!(
            space_problem(dir, 1000, 900, 200),
            None,
            "the partial already holds most of it"
        );
        let why = space_problem(dir, 5 << 30, 0, 1 << 30).unwrap();
        assert_eq!(
            why,
            "not enough free space in /data: it needs 5 GiB more, 1 GiB are free"
        );
        assert!(free_space(std::path::Path::new(".")).is_some_and(|f| f > 0));
    }

    #[test]
    fn numbered_names() {
        assert_eq!(numbered("photo.jpg", 1), "photo (1).jpg");
        assert_eq!(numbered("archive", 2), "archive (2)");
        assert_eq!(numbered(".bashrc", 1), ".bashrc (1)");
        assert_eq!(numbered("a.tar.gz", 3), "a.tar (3).gz");
    }
}
