//! acdc: the Amazon Cloud Drive Commander. Parses the command line and dispatches; the
//! work is done in the library (cli/, drive/, emu/).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use acdc::cli::location::Location;
use acdc::cli::session::Session;
use acdc::cli::{CliError, commands, copy};
use acdc::config::options::{DEFAULT_AUTH_URL, DEFAULT_TOKEN_URL};
use acdc::drive::retry::RetryPolicy;
use acdc::emu::seed::SeedSpec;
use acdc::launch::{Launch, LaunchError};
use clap::{CommandFactory, Parser, Subcommand};

/// A dual-pane terminal file manager for Amazon Drive, and rclone-style commands for scripts.
#[derive(Debug, Parser)]
#[command(
    name = "acdc",
    version,
    after_help = "Locations are REMOTE:PATH (a remote in the config) or local paths."
)]
struct Cli {
    /// Start on the built-in emulated Drive with sample files.
    #[arg(long)]
    demo: bool,
    /// With --demo: set the emulated Drive up through the wizard, as with a real account.
    #[arg(long, requires = "demo")]
    wizard: bool,
    /// The remote the file manager opens (default: the first Amazon Drive remote).
    #[arg(long, value_name = "NAME")]
    remote: Option<String>,
    /// The local folder the left pane opens (default: the current folder).
    #[arg(long, value_name = "DIR")]
    local: Option<PathBuf>,
    /// Files the file manager transfers at once (changeable in the queue with ←/→).
    #[arg(long, default_value_t = 4, value_name = "N")]
    transfers: usize,
    /// Config file (rclone.conf format; an existing rclone.conf works). Default: acdc.conf in the config folder.
    #[arg(long, global = true, env = "ACDC_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Write the log to this file instead of stderr (the file manager always logs to a
    /// file: acdc.log in the data folder unless this says where).
    #[arg(long, global = true, value_name = "FILE")]
    log_file: Option<PathBuf>,
    /// Retries of one failing request (429, 5xx, dropped connection), as rclone's flag.
    #[arg(long, global = true, default_value_t = 10)]
    low_level_retries: u32,
    /// Attempts at each whole transfer before it is reported failed, as rclone's flag.
    #[arg(long, global = true, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    retries: u32,
    #[arg(long = "acd-client-id", global = true, value_name = "ID")]
    client_id: Option<String>,
    #[arg(long = "acd-client-secret", global = true, value_name = "SECRET")]
    client_secret: Option<String>,
    #[arg(long = "acd-token", global = true, value_name = "JSON")]
    token: Option<String>,
    #[arg(long = "acd-auth-url", global = true, value_name = "URL")]
    auth_url: Option<String>,
    #[arg(long = "acd-token-url", global = true, value_name = "URL")]
    token_url: Option<String>,
    #[arg(long = "acd-checkpoint", global = true, value_name = "CHECKPOINT")]
    checkpoint: Option<String>,
    /// Wait this long per GiB for a file to appear after a late server error (e.g. 3m0s).
    #[arg(
        long = "acd-upload-wait-per-gb",
        global = true,
        value_name = "DURATION"
    )]
    upload_wait_per_gb: Option<String>,
    /// Download files this large or larger through a tempLink (e.g. 9G).
    #[arg(long = "acd-templink-threshold", global = true, value_name = "SIZE")]
    templink_threshold: Option<String>,
    /// Name encoding on the Drive (default Slash,InvalidUtf8,Dot).
    #[arg(long = "acd-encoding", global = true, value_name = "FLAGS")]
    encoding: Option<String>,
    /// Endpoint-discovery URL; point it at acd-emu to use the emulator.
    #[arg(long = "acd-endpoint-url", global = true, value_name = "URL")]
    endpoint_url: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the folders in a path.
    Lsd { location: String },
    /// List files with their sizes, recursively.
    Ls { location: String },
    /// List names (folders end in /).
    Lsf {
        location: String,
        #[arg(short = 'R', long)]
        recursive: bool,
    },
    /// Make a folder (and its parents).
    Mkdir { location: String },
    /// Copy a file or a tree, local to Drive or Drive to local; unchanged files are skipped.
    Copy {
        /// What to copy (omit both with --resume to only finish earlier runs).
        source: Option<String>,
        dest: Option<String>,
        /// First finish the transfers an earlier run left unfinished (crash, Ctrl-C, lost SSH).
        #[arg(long)]
        resume: bool,
        /// Files transferred at once.
        #[arg(long, default_value_t = 4)]
        transfers: usize,
        /// Compare by MD5 (acdc always does: the Drive keeps no modification times).
        #[arg(long)]
        checksum: bool,
        /// Skip files larger than this (e.g. 100M).
        #[arg(long, value_name = "SIZE")]
        max_size: Option<String>,
        /// Show what would be copied without copying.
        #[arg(short = 'n', long)]
        dry_run: bool,
        /// Show progress on stderr (default when stderr is a terminal).
        #[arg(short = 'P', long)]
        progress: bool,
    },
    /// Move or rename one file or folder within a remote.
    Moveto { source: String, dest: String },
    /// Move to the Drive's trash (Amazon Drive has no permanent delete).
    Trash { location: String },
    /// Restore from the trash what was at this path.
    Restore { location: String },
    /// Quota and usage.
    About { location: String },
    /// MD5 and path of each file, recursively.
    Md5sum { location: String },
    /// Manage remotes in the config file.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Get a token on a machine with a browser, to paste into a headless setup.
    Authorize {
        client_id: Option<String>,
        client_secret: Option<String>,
        #[arg(long, default_value = DEFAULT_AUTH_URL)]
        auth_url: String,
        #[arg(long, default_value = DEFAULT_TOKEN_URL)]
        token_url: String,
    },
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// List the remotes.
    List,
    /// Show one remote (secrets hidden).
    Show { name: String },
    /// Delete a remote.
    Delete { name: String },
    /// Create an Amazon Drive remote, asking on the terminal, and authorize it.
    Create {
        name: String,
        /// Do not try to open a browser here (over SSH).
        #[arg(long)]
        headless: bool,
    },
    /// Authorize an existing remote again (e.g. after its refresh token was revoked).
    Reconnect {
        name: String,
        #[arg(long)]
        headless: bool,
    },
}

fn init_logging(verbose: u8, log_file: Option<&PathBuf>) -> anyhow::Result<()> {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("ACDC_LOG").unwrap_or_else(|_| level.into());
    match log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .init();
        }
        None => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init(),
    }
    Ok(())
}

fn overrides(cli: &Cli) -> HashMap<String, String> {
    [
        ("client_id", &cli.client_id),
        ("client_secret", &cli.client_secret),
        ("token", &cli.token),
        ("auth_url", &cli.auth_url),
        ("token_url", &cli.token_url),
        ("checkpoint", &cli.checkpoint),
        ("upload_wait_per_gb", &cli.upload_wait_per_gb),
        ("templink_threshold", &cli.templink_threshold),
        ("encoding", &cli.encoding),
        ("endpoint_url", &cli.endpoint_url),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
    .collect()
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let session = Session {
        config_path: cli
            .config
            .clone()
            .unwrap_or_else(acdc::config::default_path),
        overrides: overrides(&cli),
        retry: RetryPolicy {
            retries: cli.low_level_retries,
            ..RetryPolicy::default()
        },
    };
    let loc = |s: &str| Location::parse(s);
    let cli_retries = cli.retries;
    let Some(command) = cli.command else {
        return file_manager(&session, &cli).await;
    };
    match command {
        Command::Lsd { location } => commands::lsd(&session, &loc(&location)).await,
        Command::Ls { location } => commands::ls(&session, &loc(&location)).await,
        Command::Lsf {
            location,
            recursive,
        } => commands::lsf(&session, &loc(&location), recursive).await,
        Command::Mkdir { location } => commands::mkdir(&session, &loc(&location)).await,
        Command::Md5sum { location } => commands::md5sum(&session, &loc(&location)).await,
        Command::About { location } => commands::about(&session, &loc(&location)).await,
        Command::Trash { location } => commands::trash(&session, &loc(&location)).await,
        Command::Restore { location } => commands::restore(&session, &loc(&location)).await,
        Command::Moveto { source, dest } => {
            commands::moveto(&session, &loc(&source), &loc(&dest)).await
        }
        Command::Copy {
            source,
            dest,
            resume,
            transfers,
            checksum: _,
            max_size,
            dry_run,
            progress,
        } => {
            let max_size = max_size
                .map(|s| acdc::config::options::parse_size(&s).map_err(CliError::Usage))
                .transpose()?;
            let opts = copy::CopyOptions {
                transfers,
                attempts: cli_retries,
                max_size,
                dry_run,
                progress: progress || std::io::stderr().is_terminal(),
            };
            let mut summary = if resume {
                copy::resume_all(&session, &opts).await?
            } else {
                copy::Summary::default()
            };
            match (source, dest) {
                (Some(source), Some(dest)) => {
                    summary.absorb(copy::copy(&session, &loc(&source), &loc(&dest), &opts).await?);
                }
                (None, None) if resume => {}
                _ => {
                    return Err(CliError::Usage(
                        "copy needs SOURCE and DEST (or --resume alone)".into(),
                    ));
                }
            }
            for failure in &summary.failed {
                eprintln!("acdc: {failure}");
            }
            eprintln!("{}", summary.line());
            if summary.failed.is_empty() {
                Ok(())
            } else {
                Err(CliError::Partial {
                    failed: summary.failed.len(),
                    total: summary.failed.len() + (summary.copied + summary.skipped) as usize,
                })
            }
        }
        Command::Config { action } => match action {
            ConfigAction::List => commands::config_list(&session),
            ConfigAction::Show { name } => {
                commands::config_show(&session, name.trim_end_matches(':'))
            }
            ConfigAction::Delete { name } => {
                commands::config_delete(&session, name.trim_end_matches(':'))
            }
            ConfigAction::Create { name, headless } => {
                commands::config_create(&session, name.trim_end_matches(':'), headless).await
            }
            ConfigAction::Reconnect { name, headless } => {
                commands::config_reconnect(&session, name.trim_end_matches(':'), headless).await
            }
        },
        Command::Authorize {
            client_id,
            client_secret,
            auth_url,
            token_url,
        } => {
            let (Some(id), secret) = (client_id, client_secret) else {
                return Err(CliError::Usage(
                    "Amazon Drive needs your own client: acdc authorize CLIENT_ID CLIENT_SECRET"
                        .into(),
                ));
            };
            commands::authorize(&id, &secret.unwrap_or_default(), &auth_url, &token_url).await
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "acdc", &mut std::io::stdout());
            Ok(())
        }
    }
}

/// No command: the file manager, on `--remote` or the config's first Drive remote; with
/// none configured, the setup wizard first.
async fn file_manager(session: &Session, cli: &Cli) -> Result<(), CliError> {
    let remote = match &cli.remote {
        Some(r) => Some(r.trim_end_matches(':').to_string()),
        None if session.config_path.exists() => {
            session.config()?.drive_remotes().into_iter().next()
        }
        None => None,
    };
    let local = match &cli.local {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().map_err(|e| CliError::Io(e.to_string()))?,
    };
    let launch = Launch {
        remote,
        local,
        transfers: cli.transfers,
        journal_dir: std::sync::Arc::new(copy::journal_dir),
        log_path: log_path(cli),
        wizard_defaults: acdc::app::wizard::amazon_defaults(),
    };
    let ended = acdc::launch::open(session.clone(), launch)
        .await
        .map_err(launch_error)?;
    if ended == acdc::launch::Ended::WithoutRemote {
        eprintln!(
            "acdc: no Amazon Drive remote is set up yet; run `acdc` again for the wizard, \
             `acdc config create NAME` to set one up from the shell, or `acdc --config \
             ~/.config/rclone/rclone.conf` to use rclone's"
        );
    }
    Ok(())
}

fn launch_error(e: LaunchError) -> CliError {
    match e {
        LaunchError::Session(s) => CliError::from(s),
        LaunchError::Config(c) => CliError::from(c),
        other => CliError::Io(other.to_string()),
    }
}

/// `acdc --demo`: the file manager on a seeded emulated Drive, authorized through the
/// emulator's own OAuth flow, in temp folders that go when it ends.
async fn demo(cli: &Cli) -> anyhow::Result<()> {
    // Seeding writes a few hundred MiB of sample content: seconds with nothing on screen
    // otherwise.
    eprintln!("acdc: starting the demo Drive (acd-emu on 127.0.0.1, sample files)…");
    let demo = acdc::launch::demo(SeedSpec::default(), !cli.wizard).await?;
    let launch = Launch {
        remote: (!cli.wizard).then(|| demo.remote.name.clone()),
        local: demo.local(),
        transfers: cli.transfers,
        journal_dir: demo.journal_dir(),
        log_path: log_path(cli),
        wizard_defaults: demo.remote.clone(),
    };
    let result = acdc::launch::open(demo.session.clone(), launch).await;
    demo.server.shutdown().await;
    result?;
    Ok(())
}

/// Where the log goes: --log-file, or for the file manager (which owns the terminal)
/// acdc.log in the data folder.
fn log_path(cli: &Cli) -> Option<PathBuf> {
    if cli.log_file.is_some() {
        return cli.log_file.clone();
    }
    if cli.command.is_some() {
        return None;
    }
    let dir = acdc::transfer::journal::Journal::default_dir()?;
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("acdc.log"))
}

#[tokio::main]
async fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    if let Err(e) = init_logging(cli.verbose, log_path(&cli).as_ref()) {
        eprintln!("acdc: cannot open the log file: {e}");
        std::process::exit(1);
    }
    if cli.demo {
        if let Err(e) = demo(&cli).await {
            eprintln!("acdc: the demo failed: {e:#}");
            std::process::exit(2);
        }
        return;
    }
    if let Err(e) = run(cli).await {
        eprintln!("acdc: {e}");
        std::process::exit(e.exit_code());
    }
}
