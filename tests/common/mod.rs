//! Shared by the test binaries that drive acdc's client against an in-process acd-emu.

use std::time::Duration;

use acdc::config::options::RemoteOptions;
use acdc::config::token::Token;
use acdc::emu::EmuServer;
use acdc::emu::oauth::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
use acdc::names::Encoding;

/// A remote pointing at `server` with the emulator's default client and `token`.
pub fn remote_options(server: &EmuServer, token: Token) -> RemoteOptions {
    remote_options_for(server.url(), token)
}

/// The same for an emulator at `base` (one running in another process).
pub fn remote_options_for(base: &str, token: Token) -> RemoteOptions {
    RemoteOptions {
        name: "emu".into(),
        client_id: DEFAULT_CLIENT_ID.into(),
        client_secret: DEFAULT_CLIENT_SECRET.into(),
        token: Some(token),
        auth_url: format!("{base}/ap/oa"),
        token_url: format!("{base}/auth/o2/token"),
        checkpoint: None,
        upload_wait_per_gb: Duration::from_secs(180),
        templink_threshold: 9 << 30,
        encoding: Encoding::DRIVE,
        endpoint_url: format!("{base}/drive/v1/account/endpoint"),
    }
}
