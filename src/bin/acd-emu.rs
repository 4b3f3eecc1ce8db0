//! acd-emu: the Amazon Drive emulator as a standalone server. Parses flags, starts
//! `acdc::emu::serve`, prints where it listens, and stops cleanly on SIGINT/SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use acdc::emu::oauth::{ClientSpec, TokenSpec};
use acdc::emu::settings::{Faults, LateUpload, Settings};
use acdc::emu::{self, EmuConfig, seed::SeedSpec};
use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Seed {
    /// Photos, documents, music, CJK and emoji names, 5,000 logs, a large video, trash.
    Demo,
}

fn size(s: &str) -> Result<u64, String> {
    parse_size::Config::new()
        .with_binary()
        .parse_size(s)
        .map_err(|e| format!("{s:?} is not a size (like 512, 10M, 9Gi): {e}"))
}

fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("{s:?} is not a duration (like 500ms, 5s, 1h): {e}"))
}

fn rate(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not between 0 and 1"))
    }
}

/// An emulator of the Amazon Drive REST API (Amazon Cloud Drive, shut down in 2023), for
/// testing and demonstrating acdc and other clients written against the real service.
#[derive(Debug, Parser)]
#[command(name = "acd-emu", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Keep the Drive in this folder across restarts (default: a temp folder, deleted on exit).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Base URL announced by endpoint discovery and in tempLinks (default: http://LISTEN).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Fill an empty Drive with a sample tree.
    #[arg(long, value_enum)]
    seed: Option<Seed>,
    /// Size of the large file the demo seed makes.
    #[arg(long, value_parser = size, default_value = "300M", value_name = "SIZE")]
    seed_big_file_size: u64,

    // ---- OAuth ----
    /// The consent page approves at once (tests, demos).
    #[arg(long)]
    auto_approve: bool,
    /// Register an OAuth client (repeatable): ID:SECRET or ID:SECRET:NAME.
    #[arg(long = "client", value_name = "ID:SECRET[:NAME]")]
    clients: Vec<String>,
    /// Accept this refresh token (repeatable), for the first --client (or the default client).
    #[arg(long = "refresh-token", value_name = "TOKEN")]
    refresh_tokens: Vec<String>,
    /// Accept this access token (repeatable) for one --token-ttl from start.
    #[arg(long = "access-token", value_name = "TOKEN")]
    access_tokens: Vec<String>,
    /// Lifetime of access tokens.
    #[arg(long, value_parser = duration, default_value = "1h")]
    token_ttl: Duration,
    /// Every refresh returns a new refresh token and revokes the old one.
    #[arg(long)]
    rotate_refresh_tokens: bool,

    // ---- service behaviour ----
    /// Lifetime of tempLinks.
    #[arg(long, value_parser = duration, default_value = "48h")]
    templink_ttl: Duration,
    /// Larger files are not served directly (redirect to a presigned URL; use tempLink).
    #[arg(long, value_parser = size, default_value = "10Gi", value_name = "SIZE")]
    direct_download_limit: u64,
    /// Larger uploads fail after the body was sent.
    #[arg(long, value_parser = size, default_value = "50G", value_name = "SIZE")]
    max_file_size: u64,
    /// Account quota reported by account/quota.
    #[arg(long, value_parser = size, default_value = "100Gi", value_name = "SIZE")]
    quota: u64,
    /// Lifetime of listing page tokens.
    #[arg(long, value_parser = duration, default_value = "10m")]
    page_token_ttl: Duration,
    /// Largest (and default) listing page.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    page_size: u64,
    /// Trashed items are purged after this many days.
    #[arg(long, default_value_t = 30)]
    trash_retention_days: u64,

    // ---- faults ----
    /// Share of API requests answered 429 Rate exceeded (0–1).
    #[arg(long, value_parser = rate, default_value = "0")]
    rate_429: f64,
    /// Retry-After seconds on injected 429s.
    #[arg(long, default_value_t = 1)]
    retry_after: u64,
    /// Share of API requests answered 500/502/503/504 (0–1).
    #[arg(long, value_parser = rate, default_value = "0")]
    rate_5xx: f64,
    /// Share of API requests answered with the spurious SigV4 403 (0–1).
    #[arg(long, value_parser = rate, default_value = "0")]
    rate_403: f64,
    /// Share of uploads and downloads whose connection is dropped mid-body (0–1).
    #[arg(long, value_parser = rate, default_value = "0")]
    drop_rate: f64,
    /// Latency added to every API request.
    #[arg(long, value_parser = duration, default_value = "0s")]
    latency: Duration,
    /// Uploads at least this large get an error after the body, and appear later.
    #[arg(long, value_parser = size, value_name = "SIZE")]
    late_upload_min_size: Option<u64>,
    /// How long after the error a late upload appears.
    #[arg(long, value_parser = duration, default_value = "2s")]
    late_upload_delay: Duration,
    /// The status a late upload is answered with (408, 500 or 504 on the real service).
    #[arg(long, default_value_t = 504)]
    late_upload_status: u16,
    /// Cut every changes stream before {"end":true}.
    #[arg(long)]
    truncate_changes: bool,
    /// Seed for the fault dice, to replay a run.
    #[arg(long)]
    fault_seed: Option<u64>,
}

fn client_spec(text: &str) -> anyhow::Result<ClientSpec> {
    let mut parts = text.splitn(3, ':');
    let (Some(id), Some(secret)) = (parts.next(), parts.next()) else {
        bail!("--client {text:?}: expected ID:SECRET or ID:SECRET:NAME");
    };
    if id.is_empty() || secret.is_empty() {
        bail!("--client {text:?}: the id and the secret must not be empty");
    }
    Ok(ClientSpec {
        client_id: id.into(),
        client_secret: secret.into(),
        name: parts.next().map(str::to_string),
        redirect_uris: vec![],
    })
}

fn config(args: &Args) -> anyhow::Result<EmuConfig> {
    let clients = args
        .clients
        .iter()
        .map(|c| client_spec(c))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut tokens: Vec<TokenSpec> = args
        .refresh_tokens
        .iter()
        .map(|r| TokenSpec {
            refresh_token: Some(r.clone()),
            ..Default::default()
        })
        .collect();
    tokens.extend(args.access_tokens.iter().map(|a| TokenSpec {
        access_token: Some(a.clone()),
        ..Default::default()
    }));
    Ok(EmuConfig {
        listen: args.listen,
        data_dir: args.data.clone(),
        public_url: args.public_url.clone(),
        settings: Settings {
            auto_approve: args.auto_approve,
            token_ttl_secs: args.token_ttl.as_secs().max(1),
            rotate_refresh_tokens: args.rotate_refresh_tokens,
            templink_ttl_secs: args.templink_ttl.as_secs().max(1),
            direct_download_limit: args.direct_download_limit,
            max_file_size: args.max_file_size,
            quota: args.quota,
            page_token_ttl_secs: args.page_token_ttl.as_secs().max(1),
            page_size: args.page_size,
            trash_retention_days: args.trash_retention_days,
            ..Settings::default()
        },
        faults: Faults {
            rate_429: args.rate_429,
            retry_after_secs: args.retry_after,
            rate_5xx: args.rate_5xx,
            rate_403: args.rate_403,
            drop_rate: args.drop_rate,
            latency_ms: args.latency.as_millis() as u64,
            late_upload: args.late_upload_min_size.map(|min_size| LateUpload {
                min_size,
                status: args.late_upload_status,
                delay_ms: args.late_upload_delay.as_millis() as u64,
            }),
            truncate_changes: args.truncate_changes,
        },
        fault_seed: args.fault_seed,
        clients,
        tokens,
        seed: args.seed.map(|Seed::Demo| SeedSpec {
            big_file_size: args.seed_big_file_size,
            ..SeedSpec::default()
        }),
    })
}

async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn announce(server: &emu::EmuServer) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", server.url())?;
    writeln!(out, "endpoint discovery: {}", server.endpoint_url())?;
    writeln!(
        out,
        "default OAuth client: {} / {}",
        emu::oauth::DEFAULT_CLIENT_ID,
        emu::oauth::DEFAULT_CLIENT_SECRET
    )?;
    writeln!(out, "admin API: {}/_emu/", server.url())?;
    out.flush()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The request log goes to stderr; stdout carries only what scripts read.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = config(&args)?;
    let server = emu::serve(config).await.context("starting acd-emu")?;
    // stdout is for whoever started us; if they stop reading, keep serving regardless.
    let announced = announce(&server);
    if let Err(err) = announced {
        tracing::warn!("could not write to stdout ({err}); serving anyway");
    }
    stop_signal().await;
    tracing::info!("stopping");
    server.shutdown().await;
    Ok(())
}
