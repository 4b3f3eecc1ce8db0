//! The TUI's hands: takes `Request`s off a channel and runs them on the two `Fs` sides and
//! the transfer engine, each in its own task, and sends `Event`s back. The UI never waits
//! on any of it. It also follows the Drive's changes feed, so the Drive pane sees what
//! other clients do.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

mod moves;

use crate::app::pane::{Place, Side};
use crate::app::wizard::WizardRequest;
use crate::app::{Event, Request, Resolution};
use crate::auth::AuthError;
use crate::auth::flow::{self, Authorization, Pasted};
use crate::cli::session::{Session, SessionError};
use crate::config::{ConfigError, ConfigFile, NewRemote};
use crate::drive::content::file_md5;
use crate::drive::{Client, DriveError};
use crate::fs::drive::DriveFs;
use crate::fs::local::LocalFs;
use crate::fs::{Entry, Fs, FsError, FsResult, Key};
use crate::names;
use crate::transfer::journal::Journal;
use crate::transfer::plan::{
    Conflict, Plan, PlanError, Scan, ScanCounts, plan_download, plan_upload,
};
use crate::transfer::{Engine, EngineOptions, Event as TransferEvent, JobSpec, TransferState};
use crate::ui::text::count;

/// Where checkpoints of the changes feed are kept between runs (rclone's `checkpoint` key).
type SaveCheckpoint = Arc<dyn Fn(&str) + Send + Sync>;

/// How often the changes feed is asked for news.
const CHANGES_EVERY: Duration = Duration::from_secs(4);
/// Scan counts sent at most this often.
const SCAN_REPORT_EVERY: Duration = Duration::from_millis(150);

/// Where a remote's queue is journaled (None: not at all).
pub type JournalDirs = Arc<dyn Fn(&str) -> Option<PathBuf> + Send + Sync>;

pub struct BackendOptions {
    pub session: Session,
    pub engine: EngineOptions,
    pub journal_dir: JournalDirs,
}

/// What exists once a remote answered: its Drive, its transfer engine, its names' encoding.
struct Connected {
    remote: String,
    drive: DriveFs,
    engine: Engine,
    encoding: names::Encoding,
    changes: tokio::task::AbortHandle,
    moves: MoveScope,
}

/// One connection's moves and the Drive their originals are on. Per connection, since
/// job ids are its engine's: after a switch of remote, the old engine's last events must
/// not reach the new remote's moves.
#[derive(Clone)]
struct MoveScope {
    moves: Arc<std::sync::Mutex<moves::Moves>>,
    drive: DriveFs,
}

impl MoveScope {
    fn with<T>(&self, f: impl FnOnce(&mut moves::Moves) -> T) -> Option<T> {
        self.moves.lock().ok().map(|mut m| f(&mut m))
    }
}

impl Connected {
    /// A name the user typed, as the Drive stores it: read like a local file's name and
    /// encoded as rclone would (so `．` or `‛` land as rclone writes them).
    fn drive_name(&self, typed: &str) -> FsResult<String> {
        names::drive_name(std::ffi::OsStr::new(typed), self.encoding)
            .map_err(|e| FsError::Refused(e.to_string()))
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        self.changes.abort();
    }
}

/// The wizard's authorization in progress.
struct AuthInProgress {
    authorization: Authorization,
    cancel: CancellationToken,
}

/// A scan's conflicting files, and whether that copy was a move.
type HeldConflicts = (Vec<Conflict>, bool);

#[derive(Clone)]
struct Backend {
    local: LocalFs,
    session: Arc<Session>,
    engine_options: EngineOptions,
    journal_dir: JournalDirs,
    connected: Arc<std::sync::RwLock<Option<Arc<Connected>>>>,
    auth: Arc<tokio::sync::Mutex<Option<AuthInProgress>>>,
    events: mpsc::UnboundedSender<Event>,
    scans: Arc<std::sync::Mutex<Vec<(u64, CancellationToken)>>>,
    /// Conflicting files of finished scans, until the user says what to do with them.
    conflicts: Arc<std::sync::Mutex<HashMap<u64, HeldConflicts>>>,
}

/// Starts the backend; requests go in on the sender, events come out of the receiver.
/// It connects a remote when asked (`Request::Connect`), so the wizard can run first.
pub fn start(
    options: BackendOptions,
) -> (
    mpsc::UnboundedSender<Request>,
    mpsc::UnboundedReceiver<Event>,
) {
    let (requests, mut incoming) = mpsc::unbounded_channel::<Request>();
    let (events, out) = mpsc::unbounded_channel();
    let backend = Backend {
        local: LocalFs,
        session: Arc::new(options.session),
        engine_options: options.engine,
        journal_dir: options.journal_dir,
        connected: Arc::default(),
        auth: Arc::default(),
        events,
        scans: Arc::default(),
        conflicts: Arc::default(),
    };
    tokio::spawn(async move {
        while let Some(request) = incoming.recv().await {
            if request == Request::Quit {
                break;
            }
            let b = backend.clone();
            tokio::spawn(async move { b.run(request).await });
        }
        // Quitting: the engine stops (its journal keeps what was unfinished).
        if let Ok(mut c) = backend.connected.write() {
            c.take();
        }
    });
    (requests, out)
}

/// Problems that re-authorizing solves: a revoked or missing token, or one the config
/// file holds but that cannot be read.
fn is_auth_problem(e: &SessionError) -> bool {
    matches!(
        e,
        SessionError::Auth(AuthError::Revoked { .. } | AuthError::NoToken { .. })
            | SessionError::Drive(DriveError::Auth(
                AuthError::Revoked { .. } | AuthError::NoToken { .. }
            ))
    ) || matches!(e, SessionError::Config(ConfigError::BadValue { key, .. }) if key == "token")
}

fn side_of(key: &Key) -> Side {
    match key {
        Key::Local(_) => Side::Local,
        Key::Drive(_) => Side::Drive,
    }
}

impl Backend {
    fn send(&self, event: Event) {
        let _ = self.events.send(event);
    }

    fn conn(&self) -> FsResult<Arc<Connected>> {
        self.connected
            .read()
            .ok()
            .and_then(|c| c.clone())
            .ok_or_else(|| FsError::Refused("no Drive connected yet".into()))
    }

    /// The remote's token is refused: the wizard re-authorizes it, with its settings.
    fn needs_auth(&self, remote: String, message: String) {
        let options = self
            .session
            .options(&remote)
            .or_else(|_| self.session.options_without_token(&remote));
        let remote = match options {
            Ok(o) => NewRemote {
                name: remote,
                client_id: o.client_id,
                client_secret: o.client_secret,
                auth_url: o.auth_url,
                token_url: o.token_url,
                endpoint_url: o.endpoint_url,
                token: String::new(),
            },
            Err(_) => NewRemote {
                name: remote,
                ..crate::app::wizard::amazon_defaults()
            },
        };
        self.send(Event::NeedsAuth { remote, message });
    }

    /// A Drive call failed because the token was revoked mid-session: re-authorize.
    fn check_auth(&self, e: &FsError) {
        if let FsError::Drive(DriveError::Auth(
            AuthError::Revoked { .. } | AuthError::NoToken { .. },
        )) = e
            && let Ok(c) = self.conn()
        {
            self.needs_auth(c.remote.clone(), e.to_string());
        }
    }

    async fn connect(&self, remote: String) {
        let (client, options) = match self.session.connect(&remote).await {
            Ok(c) => c,
            Err(e) if is_auth_problem(&e) => {
                self.needs_auth(remote, e.to_string());
                return;
            }
            Err(e) => {
                self.send(Event::Failed {
                    sides: Vec::new(),
                    message: format!("{remote}: {e}"),
                });
                return;
            }
        };
        let client = Arc::new(client);
        let journal = match (self.journal_dir)(&remote).map(|dir| Journal::open(&dir)) {
            Some(Ok(j)) => Some(j),
            Some(Err(e)) => {
                self.send(Event::Failed {
                    sides: Vec::new(),
                    message: format!("the queue will not survive a crash: {e}"),
                });
                None
            }
            None => None,
        };
        let unfinished = journal.as_ref().map(|j| j.unfinished().len()).unwrap_or(0);
        let move_log = match (self.journal_dir)(&remote).map(|dir| moves::MoveLog::open(&dir)) {
            Some(Ok(log)) => Some(log),
            Some(Err(e)) => {
                self.send(Event::Failed {
                    sides: Vec::new(),
                    message: format!(
                        "a move cut off by a crash would keep its originals (remove them by hand): {e}"
                    ),
                });
                None
            }
            None => None,
        };
        let (restored, originals_due) =
            moves::Moves::restore(move_log, |id| journal.as_ref().and_then(|j| j.state(id)));
        let scope = MoveScope {
            moves: Arc::new(std::sync::Mutex::new(restored)),
            drive: DriveFs {
                client: client.clone(),
            },
        };
        let engine_options = EngineOptions {
            templink_threshold: options.templink_threshold,
            ..self.engine_options.clone()
        };
        let (engine, mut engine_events) =
            Engine::start(client.clone(), engine_options, journal, false);
        let (backend, moves) = (self.clone(), scope.clone());
        tokio::spawn(async move {
            while let Some(e) = engine_events.recv().await {
                backend.follow_move(&moves, &e);
                if backend.events.send(Event::Transfer(e)).is_err() {
                    break;
                }
            }
        });
        // rclone keeps the changes feed's checkpoint in the remote's section; so do we.
        let config_path = self.session.config_path.clone();
        let name = remote.clone();
        let save: SaveCheckpoint = Arc::new(move |checkpoint: &str| {
            let saved = ConfigFile::load(&config_path).and_then(|mut file| {
                file.set(&name, "checkpoint", checkpoint);
                file.save()
            });
            if let Err(e) = saved {
                tracing::warn!("could not keep the changes checkpoint: {e}");
            }
        });
        let changes = tokio::spawn(follow_changes(
            client.clone(),
            options.checkpoint.clone(),
            save,
            self.events.clone(),
        ))
        .abort_handle();
        let connected = Arc::new(Connected {
            remote: remote.clone(),
            drive: DriveFs { client },
            engine,
            encoding: options.encoding,
            changes,
            moves: scope.clone(),
        });
        if let Ok(mut slot) = self.connected.write() {
            *slot = Some(connected);
        }
        self.send(Event::Connected { remote });
        // Moves an earlier session began whose copies ended Done before the originals went.
        for (id, spec) in originals_due {
            let (b, scope) = (self.clone(), scope.clone());
            tokio::spawn(async move {
                b.remove_original(&scope.drive, spec).await;
                scope.with(|m| m.original_handled(id));
            });
        }
        if unfinished > 0 {
            self.send(Event::Unfinished(unfinished));
        }
    }

    async fn wizard(&self, request: WizardRequest) {
        match request {
            WizardRequest::Start {
                remote,
                open_browser,
            } => {
                if let Err(e) = self.start_auth(&remote, open_browser).await {
                    self.send(Event::Authorized(Err(e.to_string())));
                }
            }
            WizardRequest::Paste(text) => {
                let understood = match self.auth.lock().await.as_ref() {
                    Some(a) => a.authorization.understand_paste(&text),
                    None => return,
                };
                match understood {
                    Ok(pasted) => self.finish_auth(pasted).await,
                    Err(e) => self.send(Event::WizardProblem(e.to_string())),
                }
            }
            WizardRequest::Cancel => {
                if let Some(a) = self.auth.lock().await.take() {
                    a.cancel.cancel();
                }
            }
            WizardRequest::Save { remote, token_only } => {
                let path = &self.session.config_path;
                let loaded = if path.exists() {
                    ConfigFile::load(path)
                } else {
                    ConfigFile::parse(path, "")
                };
                let saved = loaded.and_then(|mut file| {
                    if token_only {
                        file.set(&remote.name, "token", &remote.token);
                    } else {
                        file.add_remote(&remote);
                    }
                    file.save()
                });
                match saved {
                    Ok(()) => self.send(Event::RemoteSaved { name: remote.name }),
                    Err(e) => self.send(Event::WizardProblem(format!(
                        "could not write {}: {e}",
                        path.display()
                    ))),
                }
            }
        }
    }

    /// The authorize URL, a loopback listener for the redirect, a browser if asked.
    async fn start_auth(&self, remote: &NewRemote, open_browser: bool) -> Result<(), AuthError> {
        let client = crate::auth::oauth_client(
            &remote.client_id,
            &remote.client_secret,
            &remote.auth_url,
            &remote.token_url,
        )?;
        let redirect = flow::redirect_url();
        let authorization = Authorization::start(client, &redirect)?;
        let listener = match flow::loopback_address(&redirect) {
            Ok(addr) => flow::listen(addr, &authorization, Duration::from_secs(600)).await,
            Err(e) => Err(e),
        };
        let (listening, code) = match listener {
            Ok((bound, rx)) => (
                format!("listening on {bound} for Amazon's answer"),
                Some(rx),
            ),
            Err(e) => (
                format!("{e} Paste where the browser ends instead, below."),
                None,
            ),
        };
        tracing::info!("authorize at {}", authorization.url);
        let opened = open_browser && flow::open_browser(&authorization.url);
        self.send(Event::AuthUrl {
            url: authorization.url.clone(),
            redirect: redirect.clone(),
            listening,
            browser_opened: opened,
        });
        let cancel = CancellationToken::new();
        if let Some(previous) = self.auth.lock().await.replace(AuthInProgress {
            authorization,
            cancel: cancel.clone(),
        }) {
            previous.cancel.cancel();
        }
        if let Some(rx) = code {
            let backend = self.clone();
            tokio::spawn(async move {
                tokio::select! {
                    got = rx => match got {
                        Ok(Ok(code)) => backend.finish_auth(Pasted::Code(code)).await,
                        Ok(Err(e)) => backend.send(Event::WizardProblem(e.to_string())),
                        Err(_) => {}
                    },
                    _ = cancel.cancelled() => {}
                }
            });
        }
        Ok(())
    }

    async fn finish_auth(&self, pasted: Pasted) {
        let Some(auth) = self.auth.lock().await.take() else {
            return;
        };
        auth.cancel.cancel();
        let result = match pasted {
            Pasted::Token(token) => Ok(token.to_json()),
            Pasted::Code(code) => auth
                .authorization
                .exchange(&code)
                .await
                .map(|t| t.to_json())
                .map_err(|e| e.to_string()),
        };
        self.send(Event::Authorized(result));
    }

    /// A place as the key of its folder (the Drive's root is looked up).
    async fn folder(&self, place: &Place) -> FsResult<Key> {
        match place {
            Place::Local(path) => Ok(Key::Local(path.clone())),
            Place::Drive(crumbs) => match crumbs.last() {
                Some(c) => Ok(Key::Drive(c.id.clone())),
                None => self.conn()?.drive.root().await,
            },
            Place::Trash => Err(FsError::Refused(
                "nothing can be put in the trash view".into(),
            )),
        }
    }

    async fn run(self, request: Request) {
        match request {
            Request::List {
                side,
                listing,
                place,
            } => self.list(side, listing, place).await,
            Request::Space { side, place } => {
                let space = match self.folder(&place).await {
                    Ok(key) => match side {
                        Side::Local => self.local.space(&key).await,
                        Side::Drive => async { self.conn()?.drive.space(&key).await }.await,
                    },
                    Err(e) => Err(e),
                };
                match space {
                    Ok(space) => self.send(Event::Space { side, space }),
                    Err(e) => tracing::info!("free space unknown: {e}"),
                }
            }
            Request::Copy {
                scan,
                sources,
                to,
                and_remove,
            } => self.copy(scan, sources, to, and_remove).await,
            Request::Resolve { scan, resolution } => {
                let (held, and_remove) = self
                    .conflicts
                    .lock()
                    .ok()
                    .and_then(|mut p| p.remove(&scan))
                    .unwrap_or_default();
                let specs: Vec<_> = held
                    .into_iter()
                    .filter_map(|c| match resolution {
                        Resolution::Overwrite => Some(c.overwrite),
                        Resolution::KeepBoth => Some(c.keep_both),
                        Resolution::Skip => None,
                    })
                    .collect();
                if let Ok(c) = self.conn() {
                    if !specs.is_empty() {
                        self.enqueue(&c, scan, specs, and_remove).await;
                    }
                    if and_remove {
                        self.release_move(&c.moves, scan);
                    }
                }
            }
            Request::CancelScan(id) => {
                if let Ok(scans) = self.scans.lock() {
                    for (_, token) in scans.iter().filter(|(s, _)| *s == id) {
                        token.cancel();
                    }
                }
            }
            Request::Mkdir { side, parent, name } => {
                let result = match self.folder(&parent).await {
                    Ok(key) => match side {
                        Side::Local => self.local.mkdir(&key, &name).await,
                        Side::Drive => {
                            async {
                                let c = self.conn()?;
                                c.drive.mkdir(&key, &c.drive_name(&name)?).await
                            }
                            .await
                        }
                    },
                    Err(e) => Err(e),
                };
                self.outcome(vec![side], result, format!("made folder {name:?}"));
            }
            Request::Rename { side, key, name } => {
                let result = match side {
                    Side::Local => self.local.rename(&key, &name).await,
                    Side::Drive => {
                        async {
                            let c = self.conn()?;
                            c.drive.rename(&key, &c.drive_name(&name)?).await
                        }
                        .await
                    }
                };
                self.outcome(vec![side], result, format!("renamed to {name:?}"));
            }
            Request::Trash { side, entries } => self.trash(side, entries).await,
            Request::DeleteForGood { entries } => {
                let mut failed = Vec::new();
                for entry in &entries {
                    if let Err(e) = self.local.delete(&entry.key).await {
                        failed.push(e.to_string());
                    }
                }
                let n = entries.len() - failed.len();
                self.report_many(
                    Side::Local,
                    failed,
                    format!("deleted {} for good", count(n, "item")),
                );
            }
            Request::Restore { entries } => {
                let mut failed = Vec::new();
                for entry in &entries {
                    if let Err(e) = async { self.conn()?.drive.restore(&entry.key).await }.await {
                        failed.push(format!("{}: {e}", entry.name));
                    }
                }
                let n = entries.len() - failed.len();
                self.report_many(
                    Side::Drive,
                    failed,
                    format!("restored {}", count(n, "item")),
                );
            }
            Request::Info { entry } => self.info(entry).await,
            Request::Queue(command) => match self.conn() {
                Ok(c) => c.engine.send(command),
                Err(e) => self.send(Event::Failed {
                    sides: Vec::new(),
                    message: e.to_string(),
                }),
            },
            Request::Connect { remote } => self.connect(remote).await,
            Request::Wizard(w) => self.wizard(w).await,
            Request::Quit => {}
        }
    }

    fn outcome(&self, sides: Vec<Side>, result: FsResult<()>, done: String) {
        self.send(match result {
            Ok(()) => Event::Done {
                sides,
                message: done,
            },
            Err(e) => Event::Failed {
                sides,
                message: e.to_string(),
            },
        });
    }

    fn report_many(&self, side: Side, failed: Vec<String>, done: String) {
        if failed.is_empty() {
            self.send(Event::Done {
                sides: vec![side],
                message: done,
            });
            return;
        }
        for message in &failed[..failed.len() - 1] {
            tracing::warn!("{message}");
        }
        self.send(Event::Failed {
            sides: vec![side],
            message: format!(
                "{done}; {} failed: {}",
                failed.len(),
                failed[failed.len() - 1]
            ),
        });
    }

    async fn list(&self, side: Side, listing: u64, place: Place) {
        let events = self.events.clone();
        let mut sink = move |entries: Vec<Entry>| {
            let _ = events.send(Event::Listing {
                listing,
                entries,
                done: false,
            });
        };
        let result = match (&place, side) {
            (Place::Trash, _) => async { self.conn()?.drive.list_trash(&mut sink).await }.await,
            (_, Side::Local) => match self.folder(&place).await {
                Ok(key) => self.local.list(&key, &mut sink).await,
                Err(e) => Err(e),
            },
            (_, Side::Drive) => match self.folder(&place).await {
                Ok(key) => async { self.conn()?.drive.list(&key, &mut sink).await }.await,
                Err(e) => Err(e),
            },
        };
        self.send(match result {
            Ok(()) => Event::Listing {
                listing,
                entries: Vec::new(),
                done: true,
            },
            Err(e) => {
                self.check_auth(&e);
                Event::ListingFailed {
                    listing,
                    message: e.to_string(),
                }
            }
        });
    }

    async fn trash(&self, side: Side, entries: Vec<Entry>) {
        let mut failed = Vec::new();
        let mut no_trash = Vec::new();
        let mut reason = String::new();
        for entry in &entries {
            let result = match side {
                Side::Local => self.local.trash(&entry.key).await,
                Side::Drive => async { self.conn()?.drive.trash(&entry.key).await }.await,
            };
            match result {
                Ok(()) => {}
                Err(FsError::Refused(why)) if side == Side::Local => {
                    reason = why;
                    no_trash.push(entry.clone());
                }
                Err(e) => failed.push(format!("{}: {e}", entry.name)),
            }
        }
        let n = entries.len() - failed.len() - no_trash.len();
        self.report_many(
            side,
            failed,
            format!("moved {} to the trash", count(n, "item")),
        );
        if !no_trash.is_empty() {
            self.send(Event::NoTrash {
                entries: no_trash,
                reason,
            });
        }
    }

    /// Queues `specs`; for a move, remembers them so each original goes to the trash
    /// once its copy is verified.
    async fn enqueue(&self, c: &Connected, scan: u64, specs: Vec<JobSpec>, and_remove: bool) {
        // A move's jobs are expected before the engine has them: a small file may be
        // Done before `add` returns.
        if and_remove {
            c.moves.with(|m| m.expect(scan, specs.iter().cloned()));
        }
        c.engine.add(specs).await;
    }

    /// What an engine event means for the moves: a job bound to its move when added; once
    /// Done its original goes. Skipped or cancelled, the original stays and is no longer
    /// waited for; a failed job is still waited for, as it may be retried.
    fn follow_move(&self, scope: &MoveScope, event: &TransferEvent) {
        match event {
            TransferEvent::Added { id, spec } => {
                scope.with(|m| m.added(*id, spec));
            }
            TransferEvent::State { id, state } => {
                let copied = match state {
                    TransferState::Done => true,
                    TransferState::Skipped { .. } | TransferState::Cancelled => false,
                    _ => return,
                };
                let Some((scan, original)) = scope.with(|m| m.settled(*id, copied)).flatten()
                else {
                    return;
                };
                let (b, scope, id) = (self.clone(), scope.clone(), *id);
                tokio::spawn(async move {
                    if let Some(spec) = original {
                        b.remove_original(&scope.drive, spec).await;
                    }
                    scope.with(|m| m.original_handled(id));
                    b.release_move(&scope, scan);
                });
            }
            _ => {}
        }
    }

    /// One thing a move waited for ended; once nothing is left, the folders it emptied go.
    fn release_move(&self, scope: &MoveScope, scan: u64) {
        let folders = scope.with(|m| m.release(scan)).flatten();
        if let Some(folders) = folders.filter(|f| !f.is_empty()) {
            let (b, scope) = (self.clone(), scope.clone());
            tokio::spawn(async move { b.tidy(&scope.drive, folders).await });
        }
    }

    /// The moved folders, where nothing is left in them.
    async fn tidy(&self, drive: &DriveFs, folders: Vec<Key>) {
        let mut went = Vec::new();
        for folder in folders {
            let gone = match &folder {
                Key::Local(path) => {
                    let path = path.clone();
                    tokio::task::spawn_blocking(move || moves::remove_empty_dirs(&path))
                        .await
                        .unwrap_or(false)
                }
                Key::Drive(id) => moves::trash_empty_folders(&drive.client, id).await,
            };
            if gone {
                went.push(side_of(&folder));
            }
        }
        if let Some(side) = went.first() {
            self.send(Event::Done {
                sides: vec![*side],
                message: format!("moved {}", count(went.len(), "folder")),
            });
        }
    }

    /// The originals of a move whose copies were already at the destination, then one
    /// word and a refresh of their side.
    async fn remove_originals(&self, drive: &DriveFs, specs: Vec<JobSpec>) {
        let mut removed = 0;
        let side = match specs.first() {
            Some(JobSpec::Upload { .. }) => Side::Local,
            _ => Side::Drive,
        };
        for spec in specs {
            removed += usize::from(self.remove_original(drive, spec).await);
        }
        self.send(Event::Done {
            sides: vec![side],
            message: format!(
                "{} already at the destination, the same: moved to the trash",
                count(removed, "original")
            ),
        });
    }

    /// A moved file's copy is verified: its original goes to the trash (never for good).
    /// Whether it went.
    async fn remove_original(&self, drive: &DriveFs, spec: JobSpec) -> bool {
        let (side, key, label) = match &spec {
            JobSpec::Upload { local, .. } => (Side::Local, Key::Local(local.clone()), spec.label()),
            JobSpec::Download { node, .. } => (Side::Drive, Key::Drive(node.clone()), spec.label()),
        };
        let result = match side {
            Side::Local => self.local.trash(&key).await,
            Side::Drive => drive.trash(&key).await,
        };
        if let Err(e) = &result {
            self.send(Event::Failed {
                sides: Vec::new(),
                message: format!("{label} was copied and verified, but the original stays: {e}"),
            });
        }
        result.is_ok()
    }

    async fn copy(&self, scan: u64, sources: Vec<Entry>, to: Place, and_remove: bool) {
        let label = match sources.as_slice() {
            [one] => one.name.clone(),
            many => count(many.len(), "item"),
        };
        let c = match self.conn() {
            Ok(c) => c,
            Err(e) => {
                self.send(Event::ScanFailed {
                    scan,
                    message: e.to_string(),
                });
                return;
            }
        };
        let cancel = CancellationToken::new();
        if let Ok(mut scans) = self.scans.lock() {
            scans.push((scan, cancel.clone()));
        }
        self.send(Event::ScanStarted { scan, label });
        if and_remove {
            let folders = sources.iter().filter(|e| e.is_dir).map(|e| e.key.clone());
            c.moves.with(|m| m.begin(scan, folders.collect()));
        }
        let result = self.plan_all(scan, &sources, &to, &cancel).await;
        if let Ok(mut scans) = self.scans.lock() {
            scans.retain(|(s, _)| *s != scan);
        }
        let plan = match result {
            Ok(plan) => plan,
            Err(e) => {
                c.moves.with(|m| m.forget(scan));
                self.send(Event::ScanFailed {
                    scan,
                    message: e.to_string(),
                });
                return;
            }
        };
        let queued = plan.specs.len();
        if and_remove && !plan.unchanged.is_empty() {
            // Already at the destination, the same by size and MD5: moved, in effect.
            c.moves.with(|m| m.hold(scan));
            let (b, scope, unchanged) = (self.clone(), c.moves.clone(), plan.unchanged.clone());
            tokio::spawn(async move {
                b.remove_originals(&scope.drive, unchanged).await;
                b.release_move(&scope, scan);
            });
        }
        self.enqueue(&c, scan, plan.specs, and_remove).await;
        let conflicts: Vec<String> = plan.conflicts.iter().map(|c| c.overwrite.label()).collect();
        if !plan.conflicts.is_empty()
            && let Ok(mut pending) = self.conflicts.lock()
        {
            pending.insert(scan, (plan.conflicts, and_remove));
            // The move waits for the answer too.
            if and_remove {
                c.moves.with(|m| m.hold(scan));
            }
        }
        self.send(Event::ScanDone {
            scan,
            queued,
            unchanged: plan.unchanged.len(),
            problems: plan.problems,
            conflicts,
        });
        // The planning's own hold on the move.
        if and_remove {
            self.release_move(&c.moves, scan);
        }
    }

    /// One plan for all the sources: a folder is copied as a folder of that name.
    async fn plan_all(
        &self,
        scan_id: u64,
        sources: &[Entry],
        to: &Place,
        cancel: &CancellationToken,
    ) -> Result<Plan, PlanError> {
        let dest = self.folder(to).await.map_err(|e| PlanError::Local {
            path: format!("{to:?}"),
            message: e.to_string(),
        })?;
        let c = self.conn().map_err(|e| PlanError::Local {
            path: String::new(),
            message: e.to_string(),
        })?;
        let client = &c.drive.client;
        let mut total = Plan::default();
        let mut done = ScanCounts::default();
        for source in sources {
            let events = self.events.clone();
            let last = std::sync::Mutex::new(Instant::now() - SCAN_REPORT_EVERY);
            let before = done;
            let progress = move |c: ScanCounts| {
                let Ok(mut last) = last.lock() else { return };
                if last.elapsed() >= SCAN_REPORT_EVERY {
                    *last = Instant::now();
                    let counts = ScanCounts {
                        folders: before.folders + c.folders,
                        files: before.files + c.files,
                        bytes: before.bytes + c.bytes,
                    };
                    let _ = events.send(Event::Scanning {
                        scan: scan_id,
                        counts,
                    });
                }
            };
            let scan = Scan {
                encoding: c.encoding,
                dry_run: false,
                ask_conflicts: true,
                cancel: cancel.clone(),
                progress: &progress,
            };
            let plan = match (&source.key, &dest) {
                (Key::Local(path), Key::Drive(parent)) => {
                    let base = if source.is_dir {
                        let name =
                            names::drive_name(path.file_name().unwrap_or_default(), c.encoding)
                                .map_err(|e| PlanError::Local {
                                    path: path.display().to_string(),
                                    message: e.to_string(),
                                })?;
                        client.ensure_folder(parent, &name).await?.id
                    } else {
                        parent.clone()
                    };
                    plan_upload(client, path, Some(&base), &scan).await?
                }
                (Key::Drive(id), Key::Local(dir)) => {
                    let node = client.node(id).await?;
                    let target: PathBuf = if node.is_folder() {
                        dir.join(names::local_name(node.name(), c.encoding))
                    } else {
                        dir.clone()
                    };
                    plan_download(client, &node, &target, &scan).await?
                }
                (from, to) => {
                    return Err(PlanError::Local {
                        path: source.name.clone(),
                        message: format!(
                            "copies go between local and Drive ({:?} to {:?})",
                            side_of(from),
                            side_of(to)
                        ),
                    });
                }
            };
            done.folders += plan.counts.folders;
            done.files += plan.counts.files;
            done.bytes += plan.counts.bytes;
            total.specs.extend(plan.specs);
            total.unchanged.extend(plan.unchanged);
            total.problems.extend(plan.problems);
            total.conflicts.extend(plan.conflicts);
        }
        total.counts = done;
        Ok(total)
    }

    async fn info(&self, entry: Entry) {
        let mut lines = Vec::new();
        match &entry.key {
            Key::Drive(_) => match async {
                Ok::<_, FsError>((self.conn()?.drive.node(&entry.key).await?, self.conn()?))
            }
            .await
            {
                Ok((node, c)) => {
                    lines.push(format!("name      {}", node.name()));
                    lines.push(format!("node id   {}", node.id));
                    lines.push(format!("kind      {} ({})", node.kind, node.status));
                    if node.is_file() {
                        lines.push(format!(
                            "size      {} ({} bytes)",
                            humansize::format_size(node.size(), humansize::BINARY),
                            node.size()
                        ));
                        lines.push(format!("MD5       {}", node.md5().unwrap_or("-")));
                    }
                    lines.push(format!(
                        "created   {}",
                        node.created_date.as_deref().unwrap_or("-")
                    ));
                    lines.push(format!(
                        "modified  {}",
                        node.modified_date.as_deref().unwrap_or("-")
                    ));
                    lines.push(format!("version   {}", node.version));
                    if node.is_file() {
                        lines.push(match c.drive.client.temp_link(&node.id).await {
                            Ok(_) => "tempLink  available (downloads of large files use it)".into(),
                            Err(e) => format!("tempLink  not available: {e}"),
                        });
                    }
                }
                Err(e) => lines.push(e.to_string()),
            },
            Key::Local(path) => {
                lines.push(format!("path      {}", path.display()));
                if !entry.is_dir {
                    lines.push(format!(
                        "size      {} ({} bytes)",
                        humansize::format_size(entry.size, humansize::BINARY),
                        entry.size
                    ));
                    let p = path.clone();
                    let md5 = tokio::task::spawn_blocking(move || file_md5(&p)).await;
                    lines.push(match md5 {
                        Ok(Ok(m)) => format!("MD5       {m}"),
                        Ok(Err(e)) => format!("MD5       unreadable: {e}"),
                        Err(e) => format!("MD5       {e}"),
                    });
                }
            }
        }
        self.send(Event::Info {
            title: entry.name,
            lines,
        });
    }
}

/// Polls the changes feed; any news about a node becomes `DriveChanged` with the folders it
/// touched. Without a stored checkpoint the first pass only finds the current one.
async fn follow_changes(
    client: Arc<Client>,
    mut checkpoint: Option<String>,
    save: SaveCheckpoint,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut first = checkpoint.is_none();
    match client.root_id().await {
        Ok(root) => {
            let _ = events.send(Event::DriveRoot(root));
        }
        Err(e) => tracing::info!("root folder: {e}"),
    }
    let mut saved = checkpoint.clone();
    loop {
        let mut touched: Vec<String> = Vec::new();
        match client.changes(checkpoint.as_deref(), false).await {
            Ok(mut stream) => loop {
                match stream.next_set().await {
                    Ok(Some(set)) => {
                        if !first {
                            for node in &set.nodes {
                                touched.push(node.id.clone());
                                touched.extend(node.parents.iter().cloned());
                            }
                        }
                        if let Some(cp) = set.checkpoint.filter(|c| !c.is_empty()) {
                            checkpoint = Some(cp);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::info!("changes feed: {e}");
                        break;
                    }
                }
            },
            Err(e) => tracing::info!("changes feed: {e}"),
        }
        first = false;
        if let Some(cp) = &checkpoint
            && saved.as_ref() != Some(cp)
        {
            save(cp);
            saved = Some(cp.clone());
        }
        if !touched.is_empty() {
            touched.sort();
            touched.dedup();
            if events.send(Event::DriveChanged(touched)).is_err() {
                return;
            }
        }
        if events.is_closed() {
            return;
        }
        tokio::time::sleep(CHANGES_EVERY).await;
    }
}
