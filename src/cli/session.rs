//! What every command starts from: the config file, flag overrides, and for a remote a
//! connected drive client whose refreshed tokens are written back to the config (re-read
//! first, since rclone or another acdc may have written it meanwhile).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::auth::{PersistToken, TokenSource};
use crate::config::options::RemoteOptions;
use crate::config::{ConfigError, ConfigFile};
use crate::drive::retry::RetryPolicy;
use crate::drive::{Client, DriveError};

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Drive(#[from] DriveError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
}

#[derive(Debug, Clone)]
pub struct Session {
    pub config_path: PathBuf,
    /// `--acd-*` flags, keyed by config key.
    pub overrides: HashMap<String, String>,
    pub retry: RetryPolicy,
}

impl Session {
    pub fn config(&self) -> Result<ConfigFile, ConfigError> {
        ConfigFile::load(&self.config_path)
    }

    pub fn options(&self, remote: &str) -> Result<RemoteOptions, ConfigError> {
        let file = self.config()?;
        RemoteOptions::resolve(&file, remote, &self.overrides, &|k| std::env::var(k).ok())
    }

    /// `remote`'s settings with its token left out: what re-authorizing a remote whose
    /// token cannot be read starts from (the file itself is not touched).
    pub fn options_without_token(&self, remote: &str) -> Result<RemoteOptions, ConfigError> {
        let mut file = self.config()?;
        file.set(remote, "token", "");
        RemoteOptions::resolve(&file, remote, &self.overrides, &|k| std::env::var(k).ok())
    }

    /// A client for `remote`, connected (endpoint discovery done).
    pub async fn connect(&self, remote: &str) -> Result<(Client, RemoteOptions), SessionError> {
        let options = self.options(remote)?;
        let auth = Arc::new(TokenSource::new(&options, self.token_writer(remote))?);
        let cache = crate::drive::endpoint_cache::EndpointCache::default_location();
        let key = format!("{}|{}", options.endpoint_url, options.client_id);
        let client = Client::connect_cached(
            &options.endpoint_url,
            auth,
            self.retry.clone(),
            cache.as_ref().map(|c| (c, key.as_str())),
        )
        .await?;
        let mut client = client;
        client.upload_wait_per_gb = options.upload_wait_per_gb;
        Ok((client, options))
    }

    /// Persists a refreshed token into this remote's section, touching only that line.
    pub fn token_writer(&self, remote: &str) -> PersistToken {
        let path = self.config_path.clone();
        let remote = remote.to_string();
        Arc::new(move |token| {
            let mut file = ConfigFile::load(&path).map_err(|e| e.to_string())?;
            file.set(&remote, "token", &token.to_json());
            file.save().map_err(|e| e.to_string())
        })
    }
}
