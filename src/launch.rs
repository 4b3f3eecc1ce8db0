//! Starting the file manager: connect the remote, open its queue journal, read the user's
//! keymap, start the backend and hand the terminal to the runtime. And the demo: a seeded
//! acd-emu in-process, authorized through its real OAuth flow, on temp folders.

use std::path::{Path, PathBuf};

use crate::app::App;
use crate::app::keymap::Keymap;
use crate::app::pane::Place;
use crate::auth::flow::{Authorization, DEFAULT_REDIRECT, Pasted};
use crate::backend::{self, BackendOptions, JournalDirs};
use crate::cli::session::{Session, SessionError};
use crate::config::{ConfigError, ConfigFile, NewRemote};
use crate::emu::{self, EmuConfig, seed::SeedSpec, settings::Settings};
use crate::transfer::EngineOptions;

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Setup(String),
    #[error("the terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

pub struct Launch {
    /// The remote to open; None opens the wizard to make one.
    pub remote: Option<String>,
    pub local: PathBuf,
    pub transfers: usize,
    /// Where a remote's queue is journaled.
    pub journal_dir: JournalDirs,
    pub log_path: Option<PathBuf>,
    /// What the wizard's fields start with.
    pub wizard_defaults: NewRemote,
}

/// The user's keymap.toml beside the config file, laid over the defaults.
pub fn keymap(config_path: &Path) -> Result<Keymap, LaunchError> {
    let path = config_path
        .parent()
        .map(|d| d.join("keymap.toml"))
        .filter(|p| p.exists());
    let text = match &path {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .map_err(|e| LaunchError::Setup(format!("{}: {e}", p.display())))?,
        ),
        None => None,
    };
    Keymap::with_overrides(text.as_deref()).map_err(|e| {
        LaunchError::Setup(format!(
            "{e}\n(fix or remove {}; `acdc --help` lists the key names)",
            path.map(|p| p.display().to_string()).unwrap_or_default()
        ))
    })
}

/// Colours unless NO_COLOR is set (https://no-color.org) or the terminal is monochrome.
fn wants_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map(|t| t != "dumb").unwrap_or(true)
}

fn utc_offset() -> i32 {
    chrono::Local::now().offset().local_minus_utc()
}

/// How a file manager session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Quit,
    /// It quit from the first run's wizard: no remote exists yet.
    WithoutRemote,
}

/// Runs the file manager on `launch.remote` (or the wizard first) until the user quits.
pub async fn open(session: Session, launch: Launch) -> Result<Ended, LaunchError> {
    let keymap = keymap(&session.config_path)?;
    let remotes = if session.config_path.exists() {
        session.config()?.drive_remotes()
    } else {
        Vec::new()
    };
    let mut app = App::new(
        launch.remote.as_deref().unwrap_or_default(),
        Place::Local(launch.local.clone()),
        keymap,
        launch.transfers.max(1),
    );
    app.remotes = remotes;
    app.wizard_defaults = launch.wizard_defaults;
    if launch.remote.is_none() {
        app.open_wizard();
    }
    app.color = wants_color();
    app.utc_offset = utc_offset();
    app.log_path = launch
        .log_path
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "(none: start with --log-file FILE)".into());
    let (requests, events) = backend::start(BackendOptions {
        session,
        engine: EngineOptions {
            concurrency: launch.transfers.max(1),
            ..EngineOptions::default()
        },
        journal_dir: launch.journal_dir,
    });
    let app = crate::runtime::run(app, requests, events).await?;
    Ok(if app.connected || !app.remotes.is_empty() {
        Ended::Quit
    } else {
        Ended::WithoutRemote
    })
}

/// The demo's folders and server, removed when it ends.
pub struct Demo {
    pub server: emu::EmuServer,
    pub folder: tempfile::TempDir,
    pub session: Session,
    /// The demo remote's settings (the wizard's defaults in `--demo --wizard`).
    pub remote: NewRemote,
}

/// Starts the seeded emulator, authorizes through its OAuth flow (auto-approve plays the
/// user), and writes a config with one remote, `demo`, in a temp folder with sample files.
pub async fn demo(seed: SeedSpec, authorize: bool) -> Result<Demo, LaunchError> {
    let setup = |e: &dyn std::fmt::Display| LaunchError::Setup(format!("demo: {e}"));
    let server = emu::serve(EmuConfig {
        seed: Some(seed),
        settings: Settings {
            auto_approve: true,
            ..Settings::default()
        },
        ..EmuConfig::default()
    })
    .await
    .map_err(|e| setup(&e))?;
    let folder = tempfile::Builder::new()
        .prefix("acdc-demo-")
        .tempdir()
        .map_err(|e| setup(&e))?;
    let remote = NewRemote {
        name: "demo".into(),
        client_id: emu::oauth::DEFAULT_CLIENT_ID.into(),
        client_secret: emu::oauth::DEFAULT_CLIENT_SECRET.into(),
        auth_url: format!("{}/ap/oa", server.url()),
        token_url: format!("{}/auth/o2/token", server.url()),
        endpoint_url: server.endpoint_url(),
        token: String::new(),
    };
    let config_path = folder.path().join("acdc.conf");
    let local = folder.path().join("local");
    write_samples(&local).map_err(|e| setup(&e))?;
    let session = Session {
        config_path,
        overrides: Default::default(),
        retry: Default::default(),
    };
    if !authorize {
        return Ok(Demo {
            server,
            folder,
            session,
            remote,
        });
    }
    let client = crate::auth::oauth_client(
        &remote.client_id,
        &remote.client_secret,
        &remote.auth_url,
        &remote.token_url,
    )
    .map_err(|e| setup(&e))?;
    let authorization = Authorization::start(client, DEFAULT_REDIRECT).map_err(|e| setup(&e))?;
    // The browser's part: the consent page approves at once and redirects with the code.
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| setup(&e))?
        .get(&authorization.url)
        .send()
        .await
        .map_err(|e| setup(&e))?;
    let location = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| setup(&"the emulator's consent page did not redirect"))?
        .to_string();
    let code = match authorization.understand_paste(&location) {
        Ok(Pasted::Code(code)) => code,
        Ok(Pasted::Token(_)) => return Err(setup(&"unexpected token in the redirect")),
        Err(e) => return Err(setup(&e)),
    };
    let token = authorization.exchange(&code).await.map_err(|e| setup(&e))?;
    let mut file = ConfigFile::parse(&session.config_path, "")?;
    file.add_remote(&NewRemote {
        token: token.to_json(),
        ..remote.clone()
    });
    file.save()?;
    Ok(Demo {
        server,
        folder,
        session,
        remote,
    })
}

/// A few files for the local pane, so there is something to copy up at once.
fn write_samples(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("Holiday photos"))?;
    for (path, bytes) in emu::seed::SAMPLES {
        let name = Path::new(path).file_name().unwrap_or_default();
        let target = if path.starts_with("Photos/") {
            dir.join("Holiday photos").join(name)
        } else {
            dir.join(name)
        };
        std::fs::write(target, bytes)?;
    }
    std::fs::write(
        dir.join("README-demo.txt"),
        "This folder is the demo's local side. Copy files to the Drive with F5 (or c).\n",
    )
}

impl Demo {
    pub fn local(&self) -> PathBuf {
        self.folder.path().join("local")
    }

    /// The demo's queues live in its temp folder, not in the user's data folder.
    pub fn journal_dir(&self) -> JournalDirs {
        let dir = self.folder.path().join("queues");
        std::sync::Arc::new(move |remote| Some(dir.join(remote)))
    }
}
