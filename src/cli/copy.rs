//! `acdc copy SRC DST`: a file or a tree, local → Drive or Drive → local. Two phases: a scan
//! (names encoded and case-insensitive clashes refused before any byte moves, folders made
//! once), then the files, N at a time, each verified by MD5. Unchanged files (same size and
//! MD5) are skipped. Until the transfer engine lands this is the copy path; it streams.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use md5::{Digest, Md5};

use super::location::Location;
use super::session::Session;
use super::{CliError, CliResult};
use crate::config::options::RemoteOptions;
use crate::drive::model::Node;
use crate::drive::{Client, DriveError};
use crate::names;

#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub transfers: usize,
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
}

/// Counters the progress line reads.
#[derive(Default)]
struct Progress {
    files: AtomicU64,
    bytes: AtomicU64,
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
            upload_tree(&client, &options, from, path, opts).await
        }
        (Location::Remote { remote, path }, Location::Local(to)) => {
            let (client, options) = session.connect(remote).await?;
            download_tree(&client, &options, path, to, opts).await
        }
        (Location::Local(_), Location::Local(_)) => Err(CliError::Usage(
            "both sides are local: acdc copies to or from a Drive remote".into(),
        )),
        (Location::Remote { .. }, Location::Remote { .. }) => Err(CliError::Usage(
            "Amazon Drive has no server-side copy; copy to a local folder first".into(),
        )),
    }
}

fn md5_of(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
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
    client: &Client,
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
    let progress = Arc::new(Progress::default());
    let total = (jobs.len() as u64, jobs.iter().map(|j| j.size).sum());
    let jobs = jobs.into_iter().map(|job| {
        let folder_id = folder_ids.get(&job.folder).cloned();
        let current = existing
            .get(&job.folder)
            .and_then(|m| m.get(&job.name.to_lowercase()))
            .cloned();
        let progress = progress.clone();
        async move {
            let shown = job.local.display().to_string();
            let Some(folder_id) = folder_id else {
                return Outcome::Failed(format!("{shown}: its folder could not be made"));
            };
            if opts.max_size.is_some_and(|m| job.size > m) {
                return Outcome::Skipped(format!("{shown}: larger than --max-size"));
            }
            if let Some(node) = &current {
                if node.is_folder() {
                    return Outcome::Failed(format!(
                        "{shown}: a folder named {:?} is in the way",
                        node.name()
                    ));
                }
                // No settable modification times on the Drive: same means same size and MD5.
                let same =
                    node.size() == job.size && md5_of(&job.local).ok().as_deref() == node.md5();
                if same {
                    return Outcome::Skipped(format!("{shown}: unchanged"));
                }
            }
            if opts.dry_run {
                println!(
                    "would copy {shown} ({})",
                    humansize::format_size(job.size, humansize::BINARY)
                );
                return Outcome::Skipped(shown);
            }
            let result = client
                .upload(
                    &folder_id,
                    &job.name,
                    &job.local,
                    current.as_ref().map(|n| n.id.as_str()),
                )
                .await;
            progress.finished(result, job.size, &shown)
        }
    });
    run_all(jobs, opts, progress.clone(), total, &mut summary).await;
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

enum Outcome {
    Copied(u64),
    Skipped(String),
    Failed(String),
}

fn tally(summary: &mut Summary, results: Vec<Outcome>) {
    for r in results {
        match r {
            Outcome::Copied(bytes) => {
                summary.copied += 1;
                summary.bytes += bytes;
            }
            Outcome::Skipped(reason) => {
                tracing::info!("skipped {reason}");
                summary.skipped += 1;
            }
            Outcome::Failed(reason) => summary.failed.push(reason),
        }
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
    client: &Client,
    options: &RemoteOptions,
    from: &str,
    to: &Path,
    opts: &CopyOptions,
) -> CliResult<Summary> {
    let mut summary = Summary::default();
    let source = client.resolve(from).await.map_err(CliError::from_drive)?;
    let (folders, files) = if source.is_folder() {
        walk_remote(client, &source)
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
    let threshold = options.templink_threshold;
    let progress = Arc::new(Progress::default());
    let total = (files.len() as u64, files.iter().map(|f| f.1.size()).sum());
    let jobs = files.into_iter().map(|(rel, node)| {
        let target = local_dir(&rel).join(names::local_name(node.name(), options.encoding));
        let progress = progress.clone();
        async move {
            let shown = target.display().to_string();
            if opts.max_size.is_some_and(|m| node.size() > m) {
                return Outcome::Skipped(format!("{shown}: larger than --max-size"));
            }
            if let Ok(meta) = std::fs::metadata(&target)
                && meta.len() == node.size()
                && md5_of(&target).ok().as_deref() == node.md5()
            {
                return Outcome::Skipped(format!("{shown}: unchanged"));
            }
            if opts.dry_run {
                println!("would copy {} to {shown}", node.name());
                return Outcome::Skipped(shown);
            }
            let result = client.download(&node, &target, threshold).await;
            progress.finished(result, node.size(), &shown)
        }
    });
    run_all(jobs, opts, progress.clone(), total, &mut summary).await;
    Ok(summary)
}

impl Progress {
    /// Counts one finished transfer and turns its result into an outcome.
    fn finished<T>(&self, result: Result<T, DriveError>, size: u64, shown: &str) -> Outcome {
        self.files.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(_) => {
                self.bytes.fetch_add(size, Ordering::Relaxed);
                Outcome::Copied(size)
            }
            Err(e) => Outcome::Failed(format!("{shown}: {e}")),
        }
    }
}

/// Runs the transfers `opts.transfers` at a time, with the progress line when asked for,
/// and adds their outcomes to `summary`. `total` is (files, bytes).
async fn run_all(
    jobs: impl Iterator<Item = impl std::future::Future<Output = Outcome>>,
    opts: &CopyOptions,
    progress: Arc<Progress>,
    total: (u64, u64),
    summary: &mut Summary,
) {
    let ticker = opts
        .progress
        .then(|| spawn_progress(progress, total.0, total.1));
    let results = futures::stream::iter(jobs)
        .buffer_unordered(opts.transfers.max(1))
        .collect::<Vec<_>>()
        .await;
    if let Some(t) = ticker {
        t.abort();
        eprint!("\r\x1b[K");
    }
    tally(summary, results);
}

/// A progress line on stderr, redrawn 4 times a second: files, bytes, rate, ETA.
fn spawn_progress(progress: Arc<Progress>, files: u64, bytes: u64) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let done = progress.bytes.load(Ordering::Relaxed);
            let secs = started.elapsed().as_secs_f64().max(0.001);
            let rate = done as f64 / secs;
            let eta = if rate > 0.0 {
                Duration::from_secs_f64(bytes.saturating_sub(done) as f64 / rate)
            } else {
                Duration::ZERO
            };
            eprint!(
                "\r\x1b[K{}/{} files, {} of {}, {}/s, ETA {}",
                progress.files.load(Ordering::Relaxed),
                files,
                humansize::format_size(done, humansize::BINARY),
                humansize::format_size(bytes, humansize::BINARY),
                humansize::format_size(rate as u64, humansize::BINARY),
                humantime::format_duration(Duration::from_secs(eta.as_secs()))
            );
        }
    })
}
