//! `acdc copy SRC DST`: a file or a tree, local → Drive or Drive → local. Two phases: a scan
//! (names encoded and case-insensitive clashes refused before any byte moves, folders made
//! once), then the files, N at a time, each verified by MD5. Unchanged files (same size and
//! MD5) are skipped. Until the transfer engine lands this is the copy path; it streams.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::location::Location;
use super::session::Session;
use super::{CliError, CliResult};
use crate::config::options::RemoteOptions;
use crate::drive::content::file_md5;
use crate::drive::model::Node;
use crate::drive::{Client, DriveError};
use crate::names;
use crate::transfer::journal::Journal;
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

/// A local file to upload: its path and the Drive folder (relative) and name it goes to.
struct UploadJob {
    local: PathBuf,
    folder: Vec<String>,
    name: String,
    size: u64,
}

/// Walks `root`, encoding every name; records names that cannot be encoded or clash.
fn scan_local(
    root: &Path,
    encoding: names::Encoding,
    summary: &mut Summary,
) -> CliResult<(Vec<Vec<String>>, Vec<UploadJob>)> {
    let mut folders = vec![Vec::new()];
    let mut jobs = Vec::new();
    let mut stack: Vec<(PathBuf, Vec<String>)> = vec![(root.to_path_buf(), Vec::new())];
    while let Some((dir, drive_dir)) = stack.pop() {
        let mut entries: Vec<(OsString, std::fs::FileType, PathBuf)> = std::fs::read_dir(&dir)
            .map_err(|e| CliError::Io(format!("{}: {e}", dir.display())))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_type().ok().map(|t| (e.file_name(), t, e.path())))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut seen: HashMap<String, String> = HashMap::new();
        for (raw, kind, path) in entries {
            let shown = path.display().to_string();
            if kind.is_symlink() {
                summary
                    .failed
                    .push(format!("{shown}: skipped: symbolic links are not followed"));
                continue;
            }
            let name = match names::drive_name(&raw, encoding) {
                Ok(n) => n,
                Err(e) => {
                    summary.failed.push(format!("{shown}: {e}"));
                    continue;
                }
            };
            if let Some(other) = seen.insert(name.to_lowercase(), name.clone()) {
                summary.failed.push(format!(
                    "{shown}: name differs only in case from {other:?}, and Amazon Drive ignores case"
                ));
                continue;
            }
            let mut drive_path = drive_dir.clone();
            drive_path.push(name.clone());
            if kind.is_dir() {
                folders.push(drive_path.clone());
                stack.push((path, drive_path));
            } else if kind.is_file() {
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                jobs.push(UploadJob {
                    local: path,
                    folder: drive_dir.clone(),
                    name,
                    size,
                });
            }
        }
    }
    folders.sort_by_key(|f| f.len());
    Ok((folders, jobs))
}

async fn upload_tree(
    client: Client,
    options: &RemoteOptions,
    from: &Path,
    to: &str,
    opts: &CopyOptions,
) -> CliResult<Summary> {
    let mut summary = Summary::default();
    let meta = std::fs::metadata(from)
        .map_err(|e| CliError::NotFound(format!("{}: {e}", from.display())))?;
    let (folders, jobs) = if meta.is_dir() {
        scan_local(from, options.encoding, &mut summary)?
    } else {
        let raw = from
            .file_name()
            .ok_or_else(|| CliError::Usage(format!("{} has no file name", from.display())))?;
        let name =
            names::drive_name(raw, options.encoding).map_err(|e| CliError::Usage(e.to_string()))?;
        (
            vec![Vec::new()],
            vec![UploadJob {
                local: from.to_path_buf(),
                folder: Vec::new(),
                name,
                size: meta.len(),
            }],
        )
    };
    // The destination folder, made if missing.
    let mut base = client
        .node(&client.root_id().await.map_err(CliError::from_drive)?)
        .await
        .map_err(CliError::from_drive)?;
    for part in to.split('/').filter(|p| !p.is_empty()) {
        base = if opts.dry_run {
            match client
                .find_child(&base.id, part)
                .await
                .map_err(CliError::from_drive)?
            {
                Some(n) => n,
                None => return Ok(dry_run_all(&jobs, &mut summary)),
            }
        } else {
            client
                .ensure_folder(&base.id, part)
                .await
                .map_err(CliError::from_drive)?
        };
    }
    // Folders first, parents before children, each made once.
    let mut folder_ids: HashMap<Vec<String>, String> =
        HashMap::from([(Vec::new(), base.id.clone())]);
    for folder in folders.iter().filter(|f| !f.is_empty()) {
        let parent = &folder[..folder.len() - 1];
        let Some(parent_id) = folder_ids.get(parent).cloned() else {
            continue;
        };
        let name = &folder[folder.len() - 1];
        if opts.dry_run {
            if let Ok(Some(n)) = client.find_child(&parent_id, name).await {
                folder_ids.insert(folder.clone(), n.id);
            }
            continue;
        }
        match client.ensure_folder(&parent_id, name).await {
            Ok(node) => {
                folder_ids.insert(folder.clone(), node.id);
            }
            Err(e) => summary.failed.push(format!("{}: {e}", folder.join("/"))),
        }
    }
    // What is already there, one listing per folder.
    let mut existing: HashMap<Vec<String>, HashMap<String, Node>> = HashMap::new();
    for (folder, id) in &folder_ids {
        let children = client.list_all(id).await.map_err(CliError::from_drive)?;
        existing.insert(
            folder.clone(),
            children
                .into_iter()
                .map(|n| (n.name().to_lowercase(), n))
                .collect(),
        );
    }
    let mut specs = Vec::new();
    for job in jobs {
        let shown = job.local.display().to_string();
        let Some(folder_id) = folder_ids.get(&job.folder).cloned() else {
            summary
                .failed
                .push(format!("{shown}: its folder could not be made"));
            continue;
        };
        if let Some(node) = existing
            .get(&job.folder)
            .and_then(|m| m.get(&job.name.to_lowercase()))
        {
            if node.is_folder() {
                summary.failed.push(format!(
                    "{shown}: a folder named {:?} is in the way",
                    node.name()
                ));
                continue;
            }
            // No settable modification times on the Drive: same means same size and MD5.
            if node.size() == job.size && file_md5(&job.local).ok().as_deref() == node.md5() {
                tracing::info!("skipped {shown}: unchanged");
                summary.skipped += 1;
                continue;
            }
        }
        if opts.dry_run {
            println!(
                "would copy {shown} ({})",
                humansize::format_size(job.size, humansize::BINARY)
            );
            summary.skipped += 1;
            continue;
        }
        specs.push(JobSpec::Upload {
            local: job.local,
            parent: folder_id,
            name: job.name,
            size: job.size,
        });
    }
    run_engine(client, options, specs, opts, false, &mut summary).await?;
    Ok(summary)
}

fn dry_run_all(jobs: &[UploadJob], summary: &mut Summary) -> Summary {
    for job in jobs {
        println!(
            "would copy {} ({})",
            job.local.display(),
            humansize::format_size(job.size, humansize::BINARY)
        );
    }
    Summary {
        skipped: jobs.len() as u64,
        failed: std::mem::take(&mut summary.failed),
        ..Summary::default()
    }
}

/// Remote files under `folder` with their relative Drive paths, depth first.
async fn walk_remote(
    client: &Client,
    folder: &Node,
) -> Result<(Vec<Vec<String>>, Vec<(Vec<String>, Node)>), DriveError> {
    let mut folders = vec![Vec::new()];
    let mut files = Vec::new();
    let mut stack = vec![(folder.clone(), Vec::<String>::new())];
    while let Some((dir, rel)) = stack.pop() {
        for child in client.list_all(&dir.id).await? {
            let mut path = rel.clone();
            path.push(child.name().to_string());
            if child.is_folder() {
                folders.push(path.clone());
                stack.push((child, path));
            } else {
                files.push((rel.clone(), child));
            }
        }
    }
    folders.sort_by_key(|f| f.len());
    Ok((folders, files))
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
    let (folders, files) = if source.is_folder() {
        walk_remote(&client, &source)
            .await
            .map_err(CliError::from_drive)?
    } else {
        (vec![Vec::new()], vec![(Vec::new(), source)])
    };
    let local_dir = |rel: &[String]| -> PathBuf {
        let mut p = to.to_path_buf();
        for part in rel {
            p.push(names::local_name(part, options.encoding));
        }
        p
    };
    if !opts.dry_run {
        for folder in &folders {
            let dir = local_dir(folder);
            if let Err(e) = std::fs::create_dir_all(&dir) {
                summary.failed.push(format!("{}: {e}", dir.display()));
            }
        }
    }
    let mut specs = Vec::new();
    for (rel, node) in files {
        let target = local_dir(&rel).join(names::local_name(node.name(), options.encoding));
        let shown = target.display().to_string();
        if let Ok(meta) = std::fs::metadata(&target)
            && meta.len() == node.size()
            && file_md5(&target).ok().as_deref() == node.md5()
        {
            tracing::info!("skipped {shown}: unchanged");
            summary.skipped += 1;
            continue;
        }
        if opts.dry_run {
            println!("would copy {} to {shown}", node.name());
            summary.skipped += 1;
            continue;
        }
        specs.push(JobSpec::download(&node, target));
    }
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
                        done_bytes += size;
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
