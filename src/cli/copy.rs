//! `acdc copy SRC DST`: a file or a tree, local → Drive or Drive → local. Two phases: a scan
//! (names encoded and case-insensitive clashes refused before any byte moves, folders made
//! once), then the files, N at a time, each verified by MD5. Unchanged files (same size and
//! MD5) are skipped. The scan is transfer::plan's; the files go through the engine.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::location::Location;
use super::session::Session;
use super::{CliError, CliResult};
use crate::config::options::RemoteOptions;
use crate::drive::Client;
use crate::transfer::journal::Journal;
use crate::transfer::plan::{Plan, PlanError, Scan, ScanCounts, plan_download, plan_upload};
use crate::transfer::state::Phase;
use crate::transfer::{Engine, EngineOptions, Event, JobId, JobSpec, TransferState};

#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub transfers: usize,
    /// Attempts at each whole transfer (rclone's --retries).
    pub attempts: u32,
    pub max_size: Option<u64>,
    pub dry_run: bool,
    pub progress: bool,
}

#[derive(Debug, Default)]
pub struct Summary {
    pub copied: u64,
    pub bytes: u64,
    pub skipped: u64,
    pub failed: Vec<String>,
    pub retries: u64,
    pub waits: u64,
    /// Copied files whose MD5 the engine compared with the server's (it was seen Verifying).
    pub verified: u64,
}

impl Summary {
    pub fn absorb(&mut self, more: Summary) {
        self.copied += more.copied;
        self.bytes += more.bytes;
        self.skipped += more.skipped;
        self.retries += more.retries;
        self.waits += more.waits;
        self.verified += more.verified;
        self.failed.extend(more.failed);
    }

    /// The line printed at the end of a copy.
    pub fn line(&self) -> String {
        format!(
            "Transferred: {} files, {}; verified: {}; unchanged or skipped: {}; failed: {}; \
             retries: {}; upload waits: {}",
            self.copied,
            humansize::format_size(self.bytes, humansize::BINARY),
            self.verified,
            self.skipped,
            self.failed.len(),
            self.retries,
            self.waits
        )
    }
}

/// The scan's counts on stderr while it runs (where progress is shown), a few times a
/// second, on one line that the transfer progress then replaces.
struct ScanProgress {
    show: bool,
    last: std::sync::Mutex<Option<Instant>>,
}

impl ScanProgress {
    const EVERY: Duration = Duration::from_millis(200);

    fn new(opts: &CopyOptions) -> ScanProgress {
        ScanProgress {
            show: opts.progress,
            last: std::sync::Mutex::new(None),
        }
    }

    fn report(&self, c: ScanCounts) {
        if !self.show {
            return;
        }
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| t.elapsed() < Self::EVERY) {
            return;
        }
        *last = Some(Instant::now());
        eprint!(
            "\r\x1b[Kscanning: {} folders, {} files, {}",
            c.folders,
            c.files,
            humansize::format_size(c.bytes, humansize::BINARY)
        );
    }

    fn finish(&self) {
        let shown = self.last.lock().map(|l| l.is_some()).unwrap_or(false);
        if self.show && shown {
            eprint!("\r\x1b[K");
        }
    }
}

pub async fn copy(
    session: &Session,
    src: &Location,
    dst: &Location,
    opts: &CopyOptions,
) -> CliResult<Summary> {
    match (src, dst) {
        (Location::Local(from), Location::Remote { remote, path }) => {
            let (client, options) = session.connect(remote).await?;
            upload_tree(client, &options, from, path, opts).await
        }
        (Location::Remote { remote, path }, Location::Local(to)) => {
            let (client, options) = session.connect(remote).await?;
            download_tree(client, &options, path, to, opts).await
        }
        (Location::Local(_), Location::Local(_)) => Err(CliError::Usage(
            "both sides are local: acdc copies to or from a Drive remote".into(),
        )),
        (Location::Remote { .. }, Location::Remote { .. }) => Err(CliError::Usage(
            "Amazon Drive has no server-side copy; copy to a local folder first".into(),
        )),
    }
}

fn scan<'a>(
    options: &RemoteOptions,
    opts: &CopyOptions,
    progress: &'a (dyn Fn(ScanCounts) + Send + Sync),
) -> Scan<'a> {
    Scan {
        encoding: options.encoding,
        dry_run: opts.dry_run,
        ask_conflicts: false,
        cancel: CancellationToken::new(),
        progress,
    }
}

/// Takes a plan's problems and unchanged files into the summary; in a dry run, prints
/// what would be copied instead of returning it.
fn take_plan(plan: Plan, opts: &CopyOptions, summary: &mut Summary) -> Vec<JobSpec> {
    for spec in &plan.unchanged {
        tracing::info!("skipped {}: unchanged", spec.label());
    }
    summary.skipped += plan.unchanged.len() as u64;
    summary.failed.extend(plan.problems);
    if !opts.dry_run {
        return plan.specs;
    }
    for spec in &plan.specs {
        let target = match spec {
            JobSpec::Upload { .. } => String::new(),
            JobSpec::Download { target, .. } => format!(" to {}", target.display()),
        };
        println!(
            "would copy {}{target} ({})",
            spec.label(),
            humansize::format_size(spec.size(), humansize::BINARY)
        );
    }
    summary.skipped += plan.specs.len() as u64;
    Vec::new()
}

async fn upload_tree(
    client: Client,
    options: &RemoteOptions,
    from: &Path,
    to: &str,
    opts: &CopyOptions,
) -> CliResult<Summary> {
    let mut summary = Summary::default();
    if let Err(e) = std::fs::metadata(from) {
        return Err(CliError::NotFound(format!("{}: {e}", from.display())));
    }
    // The destination folder, made if missing (in a dry run, only looked up).
    let mut base = Some(
        client
            .node(&client.root_id().await.map_err(CliError::from_drive)?)
            .await
            .map_err(CliError::from_drive)?,
    );
    for part in to.split('/').filter(|p| !p.is_empty()) {
        let Some(parent) = base.take() else { break };
        base = if opts.dry_run {
            client
                .find_child(&parent.id, part)
                .await
                .map_err(CliError::from_drive)?
        } else {
            Some(
                client
                    .ensure_folder(&parent.id, part)
                    .await
                    .map_err(CliError::from_drive)?,
            )
        };
    }
    let progress = ScanProgress::new(opts);
    let report = |c| progress.report(c);
    let plan = plan_upload(
        &client,
        from,
        base.as_ref().map(|b| b.id.as_str()),
        &scan(options, opts, &report),
    )
    .await;
    progress.finish();
    let plan = plan.map_err(plan_error)?;
    let specs = take_plan(plan, opts, &mut summary);
    run_engine(client, options, specs, opts, false, &mut summary).await?;
    Ok(summary)
}

fn plan_error(e: PlanError) -> CliError {
    match e {
        PlanError::Drive(d) => CliError::from_drive(d),
        other => CliError::Io(other.to_string()),
    }
}

async fn download_tree(
    client: Client,
    options: &RemoteOptions,
    from: &str,
    to: &Path,
    opts: &CopyOptions,
) -> CliResult<Summary> {
    let mut summary = Summary::default();
    let source = client.resolve(from).await.map_err(CliError::from_drive)?;
    let progress = ScanProgress::new(opts);
    let report = |c| progress.report(c);
    let plan = plan_download(&client, &source, to, &scan(options, opts, &report)).await;
    progress.finish();
    let plan = plan.map_err(plan_error)?;
    let specs = take_plan(plan, opts, &mut summary);
    run_engine(client, options, specs, opts, false, &mut summary).await?;
    Ok(summary)
}

/// Where a remote's queue is journaled: one folder per remote.
pub fn journal_dir(remote: &str) -> Option<std::path::PathBuf> {
    Journal::default_dir().map(|d| d.join("queues").join(remote))
}

/// Runs `specs` on the transfer engine (journaled, so a crash loses nothing) and adds the
/// outcome to `summary`. With `resume`, what an earlier run left unfinished runs too.
async fn run_engine(
    client: Client,
    options: &RemoteOptions,
    specs: Vec<JobSpec>,
    opts: &CopyOptions,
    resume: bool,
    summary: &mut Summary,
) -> CliResult<()> {
    let journal = match journal_dir(&options.name) {
        Some(dir) => Some(Journal::open(&dir).map_err(|e| CliError::Io(e.to_string()))?),
        None => None,
    };
    if !resume && let Some(j) = &journal {
        let left = j.unfinished().len();
        if left > 0 {
            eprintln!(
                "acdc: {left} transfers of an earlier run are unfinished; `acdc copy --resume` finishes them"
            );
        }
    }
    if specs.is_empty() && !resume {
        return Ok(());
    }
    let engine_options = EngineOptions {
        concurrency: opts.transfers.max(1),
        retries: opts.attempts.saturating_sub(1),
        templink_threshold: options.templink_threshold,
        max_size: opts.max_size,
        ..EngineOptions::default()
    };
    let (engine, mut events) = Engine::start(Arc::new(client), engine_options, journal, resume);
    engine.add(specs).await;
    let mut sizes: HashMap<JobId, (u64, String)> = HashMap::new();
    let mut done_bytes = 0u64;
    let mut shown_progress = false;
    let mut verifying: std::collections::HashSet<JobId> = Default::default();
    while let Some(event) = events.recv().await {
        match event {
            Event::Added { id, spec } => {
                sizes.insert(id, (spec.size(), spec.label()));
            }
            Event::State { id, state } => {
                let (size, label) = sizes.get(&id).cloned().unwrap_or_default();
                match state {
                    TransferState::Done => {
                        summary.copied += 1;
                        summary.bytes += size;
                        summary.verified += u64::from(verifying.remove(&id));
                        done_bytes += size;
                    }
                    TransferState::Active(Phase::Verifying) => {
                        verifying.insert(id);
                    }
                    TransferState::Skipped { reason } => {
                        tracing::info!("skipped {label}: {reason}");
                        summary.skipped += 1;
                    }
                    TransferState::Failed { reason } => {
                        summary.failed.push(format!("{label}: {reason}"))
                    }
                    TransferState::Cancelled => summary.failed.push(format!("{label}: cancelled")),
                    TransferState::Active(Phase::Retrying { .. }) => summary.retries += 1,
                    TransferState::Active(Phase::UploadWait { poll: 1, .. }) => summary.waits += 1,
                    _ => {}
                }
            }
            Event::Progress {
                jobs,
                bytes_per_sec,
            } if opts.progress => {
                let moving: u64 = jobs.iter().map(|j| j.1).sum();
                let total: u64 = sizes.values().map(|s| s.0).sum();
                let done = done_bytes + moving;
                let eta = if bytes_per_sec > 0.0 {
                    Duration::from_secs_f64(total.saturating_sub(done) as f64 / bytes_per_sec)
                } else {
                    Duration::ZERO
                };
                eprint!(
                    "\r\x1b[K{}/{} files, {} of {}, {}/s, ETA {}",
                    summary.copied,
                    sizes.len(),
                    humansize::format_size(done, humansize::BINARY),
                    humansize::format_size(total, humansize::BINARY),
                    humansize::format_size(bytes_per_sec as u64, humansize::BINARY),
                    humantime::format_duration(Duration::from_secs(eta.as_secs()))
                );
                shown_progress = true;
            }
            Event::Drained => break,
            Event::Progress { .. } => {}
        }
    }
    if shown_progress {
        eprint!("\r\x1b[K");
    }
    Ok(())
}

/// `acdc copy --resume`: finishes what earlier runs left in every remote's journal.
pub async fn resume_all(session: &Session, opts: &CopyOptions) -> CliResult<Summary> {
    let mut summary = Summary::default();
    let file = session.config()?;
    for remote in file.drive_remotes() {
        let Some(dir) = journal_dir(&remote).filter(|d| d.exists()) else {
            continue;
        };
        let left = Journal::open(&dir)
            .map_err(|e| CliError::Io(e.to_string()))?
            .unfinished()
            .len();
        if left == 0 {
            continue;
        }
        eprintln!("acdc: resuming {left} transfers on {remote}:");
        let (client, options) = session.connect(&remote).await?;
        run_engine(client, &options, Vec::new(), opts, true, &mut summary).await?;
    }
    Ok(summary)
}
