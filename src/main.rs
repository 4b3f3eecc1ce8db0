//! acdc: the Amazon Cloud Drive Commander. Until the TUI lands, `--demo` starts the
//! emulated Drive with the demo tree and says where it listens.

use std::io::Write;

use acdc::emu::{self, EmuConfig, seed::SeedSpec, settings::Settings};
use anyhow::Context;
use clap::Parser;

/// A dual-pane terminal file manager for Amazon Drive.
#[derive(Debug, Parser)]
#[command(name = "acdc", version)]
struct Args {
    /// Start on the built-in emulated Drive with sample files.
    #[arg(long)]
    demo: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.demo {
        eprintln!("acdc: the file manager is not built yet; try `acdc --demo` (see README.md)");
        std::process::exit(2);
    }
    let server = emu::serve(EmuConfig {
        seed: Some(SeedSpec::default()),
        settings: Settings {
            auto_approve: true,
            ..Settings::default()
        },
        ..EmuConfig::default()
    })
    .await
    .context("starting the demo Drive")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "demo Drive (acd-emu) listening on {}", server.url())?;
    writeln!(out, "endpoint discovery: {}", server.endpoint_url())?;
    writeln!(
        out,
        "OAuth client: {} / {} (auto-approve is on)",
        emu::oauth::DEFAULT_CLIENT_ID,
        emu::oauth::DEFAULT_CLIENT_SECRET
    )?;
    writeln!(out, "press Ctrl-C to stop; the demo Drive is deleted then")?;
    out.flush()?;
    drop(out);
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    server.shutdown().await;
    Ok(())
}
