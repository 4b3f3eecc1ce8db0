//! The first phase of a tree copy: walk the source (cancellable, counting as it goes), make
//! the destination folders once, parents first, and turn every file that differs into a
//! job whose destination is fixed. Names that cannot be encoded and case-insensitive
//! clashes are refused here, before any byte moves. The CLI and the TUI both plan with it.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use super::JobSpec;
use super::engine::{free_local_name, numbered};
use crate::drive::content::file_md5;
use crate::drive::model::Node;
use crate::drive::{Client, DriveError};
use crate::names;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    Drive(#[from] DriveError),
    #[error("{path}: {message}")]
    Local { path: String, message: String },
    #[error("scan cancelled")]
    Cancelled,
}

/// What the scan has found so far; reported as it walks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanCounts {
    pub folders: u64,
    pub files: u64,
    pub bytes: u64,
}

/// A file whose destination exists and differs, when the user is to be asked: the job that
/// overwrites it, and the one that keeps both (`name (1).ext`).
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub overwrite: JobSpec,
    pub keep_both: JobSpec,
}

#[derive(Debug, Default)]
pub struct Plan {
    /// In a dry run, an upload into a folder that does not exist yet has an empty parent.
    pub specs: Vec<JobSpec>,
    /// Files already at the destination with the same size and MD5: the job that would
    /// have copied each (a move still removes their originals).
    pub unchanged: Vec<JobSpec>,
    /// Items that will not be copied, each with its reason.
    pub problems: Vec<String>,
    /// With `Scan::ask_conflicts`: files that would replace a different one.
    pub conflicts: Vec<Conflict>,
    pub counts: ScanCounts,
}

/// How a plan is made: the name encoding, dry run (nothing made), cancel and progress.
pub struct Scan<'a> {
    pub encoding: names::Encoding,
    pub dry_run: bool,
    /// Set files whose destination exists and differs apart (the TUI asks); otherwise
    /// they are queued and the engine's conflict policy decides.
    pub ask_conflicts: bool,
    pub cancel: CancellationToken,
    pub progress: &'a (dyn Fn(ScanCounts) + Send + Sync),
}

impl Scan<'_> {
    fn check(&self, counts: ScanCounts) -> Result<(), PlanError> {
        if self.cancel.is_cancelled() {
            return Err(PlanError::Cancelled);
        }
        (self.progress)(counts);
        Ok(())
    }
}

/// A local file to upload: its path, the Drive folder (relative) and the name it goes to.
struct LocalFile {
    local: PathBuf,
    folder: Vec<String>,
    name: String,
    size: u64,
}

/// Walks `root`, encoding every name; records names that cannot be encoded or clash.
fn scan_local(
    root: &Path,
    scan: &Scan<'_>,
    plan: &mut Plan,
) -> Result<(Vec<Vec<String>>, Vec<LocalFile>), PlanError> {
    let mut folders = vec![Vec::new()];
    let mut files = Vec::new();
    let mut stack: Vec<(PathBuf, Vec<String>)> = vec![(root.to_path_buf(), Vec::new())];
    while let Some((dir, drive_dir)) = stack.pop() {
        let mut entries: Vec<(OsString, std::fs::FileType, PathBuf)> = std::fs::read_dir(&dir)
            .map_err(|e| PlanError::Local {
                path: dir.display().to_string(),
                message: e.to_string(),
            })?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_type().ok().map(|t| (e.file_name(), t, e.path())))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut seen: HashMap<String, String> = HashMap::new();
        for (raw, kind, path) in entries {
            let shown = path.display().to_string();
            if kind.is_symlink() {
                plan.problems
                    .push(format!("{shown}: skipped: symbolic links are not followed"));
                continue;
            }
            let name = match names::drive_name(&raw, scan.encoding) {
                Ok(n) => n,
                Err(e) => {
                    plan.problems.push(format!("{shown}: {e}"));
                    continue;
                }
            };
            if let Some(other) = seen.insert(name.to_lowercase(), name.clone()) {
                plan.problems.push(format!(
                    "{shown}: name differs only in case from {other:?}, and Amazon Drive ignores case"
                ));
                continue;
            }
            let mut drive_path = drive_dir.clone();
            drive_path.push(name.clone());
            if kind.is_dir() {
                plan.counts.folders += 1;
                folders.push(drive_path.clone());
                stack.push((path, drive_path));
            } else if kind.is_file() {
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                plan.counts.files += 1;
                plan.counts.bytes += size;
                files.push(LocalFile {
                    local: path,
                    folder: drive_dir.clone(),
                    name,
                    size,
                });
            }
        }
        scan.check(plan.counts)?;
    }
    folders.sort_by_key(|f| f.len());
    Ok((folders, files))
}

/// Plans copying local `from` (a file or a folder's contents) into Drive folder `base`.
/// `base` is None only in a dry run whose destination does not exist yet.
pub async fn plan_upload(
    client: &Client,
    from: &Path,
    base: Option<&str>,
    scan: &Scan<'_>,
) -> Result<Plan, PlanError> {
    let mut plan = Plan::default();
    let meta = std::fs::metadata(from).map_err(|e| PlanError::Local {
        path: from.display().to_string(),
        message: e.to_string(),
    })?;
    let (folders, files) = if meta.is_dir() {
        scan_local(from, scan, &mut plan)?
    } else {
        let raw = from.file_name().ok_or_else(|| PlanError::Local {
            path: from.display().to_string(),
            message: "has no file name".into(),
        })?;
        let name = names::drive_name(raw, scan.encoding).map_err(|e| PlanError::Local {
            path: from.display().to_string(),
            message: e.to_string(),
        })?;
        plan.counts.files = 1;
        plan.counts.bytes = meta.len();
        let file = LocalFile {
            local: from.to_path_buf(),
            folder: Vec::new(),
            name,
            size: meta.len(),
        };
        (vec![Vec::new()], vec![file])
    };
    let mut folder_ids: HashMap<Vec<String>, String> = HashMap::new();
    if let Some(base) = base {
        folder_ids.insert(Vec::new(), base.to_string());
    }
    // Folders first, parents before children, each made once.
    for folder in folders.iter().filter(|f| !f.is_empty()) {
        if scan.cancel.is_cancelled() {
            return Err(PlanError::Cancelled);
        }
        let parent = &folder[..folder.len() - 1];
        let Some(parent_id) = folder_ids.get(parent).cloned() else {
            continue;
        };
        let name = &folder[folder.len() - 1];
        if scan.dry_run {
            if let Ok(Some(n)) = client.find_child(&parent_id, name).await {
                folder_ids.insert(folder.clone(), n.id);
            }
            continue;
        }
        match client.ensure_folder(&parent_id, name).await {
            Ok(node) => {
                folder_ids.insert(folder.clone(), node.id);
            }
            Err(e) => plan.problems.push(format!("{}: {e}", folder.join("/"))),
        }
    }
    // What is already there, one listing per folder.
    let mut existing: HashMap<Vec<String>, HashMap<String, Node>> = HashMap::new();
    for (folder, id) in &folder_ids {
        if scan.cancel.is_cancelled() {
            return Err(PlanError::Cancelled);
        }
        let children = client.list_all(id).await?;
        existing.insert(
            folder.clone(),
            children
                .into_iter()
                .map(|n| (n.name().to_lowercase(), n))
                .collect(),
        );
    }
    for file in files {
        let shown = file.local.display().to_string();
        let parent = match folder_ids.get(&file.folder) {
            Some(id) => id.clone(),
            None if scan.dry_run => String::new(),
            None => {
                plan.problems
                    .push(format!("{shown}: its folder could not be made"));
                continue;
            }
        };
        if let Some(node) = existing
            .get(&file.folder)
            .and_then(|m| m.get(&file.name.to_lowercase()))
        {
            if node.is_folder() {
                plan.problems.push(format!(
                    "{shown}: a folder named {:?} is in the way",
                    node.name()
                ));
                continue;
            }
            // No settable modification times on the Drive: same means same size and MD5.
            if node.size() == file.size && file_md5(&file.local).ok().as_deref() == node.md5() {
                plan.unchanged.push(JobSpec::Upload {
                    local: file.local.clone(),
                    parent: parent.clone(),
                    name: file.name.clone(),
                    size: file.size,
                });
                continue;
            }
            if scan.ask_conflicts {
                let taken = existing.get(&file.folder);
                let free = (1..)
                    .map(|n| numbered(&file.name, n))
                    .find(|c| taken.is_none_or(|t| !t.contains_key(&c.to_lowercase())))
                    .unwrap_or_else(|| file.name.clone());
                let spec = |name: String| JobSpec::Upload {
                    local: file.local.clone(),
                    parent: parent.clone(),
                    name,
                    size: file.size,
                };
                plan.conflicts.push(Conflict {
                    overwrite: spec(file.name.clone()),
                    keep_both: spec(free),
                });
                continue;
            }
        }
        plan.specs.push(JobSpec::Upload {
            local: file.local,
            parent,
            name: file.name,
            size: file.size,
        });
    }
    Ok(plan)
}

/// Remote files under `folder` with their relative Drive paths, depth first.
async fn walk_remote(
    client: &Client,
    folder: &Node,
    scan: &Scan<'_>,
    counts: &mut ScanCounts,
) -> Result<(Vec<Vec<String>>, Vec<(Vec<String>, Node)>), PlanError> {
    let mut folders = vec![Vec::new()];
    let mut files = Vec::new();
    let mut stack = vec![(folder.clone(), Vec::<String>::new())];
    while let Some((dir, rel)) = stack.pop() {
        for child in client.list_all(&dir.id).await? {
            let mut path = rel.clone();
            path.push(child.name().to_string());
            if child.is_folder() {
                counts.folders += 1;
                folders.push(path.clone());
                stack.push((child, path));
            } else {
                counts.files += 1;
                counts.bytes += child.size();
                files.push((rel.clone(), child));
            }
        }
        scan.check(*counts)?;
    }
    folders.sort_by_key(|f| f.len());
    Ok((folders, files))
}

/// Plans copying Drive `source` (a file, or a folder's contents) into local folder `to`.
pub async fn plan_download(
    client: &Client,
    source: &Node,
    to: &Path,
    scan: &Scan<'_>,
) -> Result<Plan, PlanError> {
    let mut plan = Plan::default();
    let (folders, files) = if source.is_folder() {
        walk_remote(client, source, scan, &mut plan.counts).await?
    } else {
        plan.counts.files = 1;
        plan.counts.bytes = source.size();
        (vec![Vec::new()], vec![(Vec::new(), source.clone())])
    };
    let local_dir = |rel: &[String]| -> PathBuf {
        let mut p = to.to_path_buf();
        for part in rel {
            p.push(names::local_name(part, scan.encoding));
        }
        p
    };
    if !scan.dry_run {
        for folder in &folders {
            let dir = local_dir(folder);
            if let Err(e) = std::fs::create_dir_all(&dir) {
                plan.problems.push(format!("{}: {e}", dir.display()));
            }
        }
    }
    for (rel, node) in files {
        let target = local_dir(&rel).join(names::local_name(node.name(), scan.encoding));
        if let Ok(meta) = std::fs::metadata(&target)
            && meta.len() == node.size()
            && file_md5(&target).ok().as_deref() == node.md5()
        {
            plan.unchanged.push(JobSpec::download(&node, target));
            continue;
        }
        if scan.ask_conflicts && std::fs::symlink_metadata(&target).is_ok() {
            let free = free_local_name(&target);
            plan.conflicts.push(Conflict {
                overwrite: JobSpec::download(&node, target),
                keep_both: JobSpec::download(&node, free),
            });
            continue;
        }
        plan.specs.push(JobSpec::download(&node, target));
    }
    Ok(plan)
}
