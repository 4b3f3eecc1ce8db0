//! OAuth 2.0 against Login with Amazon (or acd-emu) with the oauth2 crate: keeping an
//! access token fresh, refreshing it before expiry and after a 401, and handing every new
//! token to a persistence callback (the config file) so rclone and acdc can share it.

pub mod flow;

use std::sync::Arc;

use chrono::Utc;
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RefreshToken, RequestTokenError,
    TokenResponse, TokenUrl,
};
use tokio::sync::Mutex;

use crate::config::options::RemoteOptions;
use crate::config::token::Token;

pub type OAuthClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Called with every refreshed token; returns an error text if it could not be kept.
pub type PersistToken = Arc<dyn Fn(&Token) -> Result<(), String> + Send + Sync>;

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum AuthError {
    #[error(
        "remote {remote:?} has no token yet: authorize it first (`acdc config reconnect {remote}:` or the setup wizard)"
    )]
    NoToken { remote: String },
    #[error(
        "Amazon refused the refresh token of remote {remote:?} ({detail}): it was revoked or has expired. Re-authorize with `acdc config reconnect {remote}:` (or the wizard's re-authorize step)"
    )]
    Revoked { remote: String, detail: String },
    #[error(
        "Amazon refused the client id/secret of remote {remote:?} ({detail}): check client_id and client_secret in the config against your Login with Amazon security profile"
    )]
    BadClient { remote: String, detail: String },
    #[error("cannot reach the token URL {url}: {detail}")]
    Network { url: String, detail: String },
    #[error("invalid OAuth setting: {0}")]
    Setup(String),
    #[error(
        "cannot listen on {addr} for the browser's redirect ({detail}): is another authorization (acdc or rclone) running?"
    )]
    Listen { addr: String, detail: String },
}

pub fn oauth_client(
    client_id: &str,
    client_secret: &str,
    auth_url: &str,
    token_url: &str,
) -> Result<OAuthClient, AuthError> {
    let mut client = BasicClient::new(ClientId::new(client_id.to_string()))
        .set_auth_uri(
            AuthUrl::new(auth_url.to_string())
                .map_err(|e| AuthError::Setup(format!("auth_url {auth_url:?}: {e}")))?,
        )
        .set_token_uri(
            TokenUrl::new(token_url.to_string())
                .map_err(|e| AuthError::Setup(format!("token_url {token_url:?}: {e}")))?,
        );
    if !client_secret.is_empty() {
        client = client.set_client_secret(ClientSecret::new(client_secret.to_string()));
    }
    Ok(client)
}

/// The HTTP client oauth2 wants: no redirects followed (as the crate advises).
pub fn oauth_http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap_or_default()
}

/// Turns a token endpoint answer into the stored token, keeping the old refresh token when
/// the server sends none (as x/oauth2 does).
pub fn token_from_response(
    resp: &oauth2::basic::BasicTokenResponse,
    previous_refresh: &str,
) -> Token {
    Token {
        access_token: resp.access_token().secret().clone(),
        token_type: "bearer".into(),
        refresh_token: resp
            .refresh_token()
            .map(|r| r.secret().clone())
            .unwrap_or_else(|| previous_refresh.to_string()),
        expiry: resp
            .expires_in()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| Utc::now() + d),
    }
}

/// The access token of one remote, refreshed when needed; safe to share between tasks.
pub struct TokenSource {
    remote: String,
    oauth: OAuthClient,
    token_url: String,
    http: reqwest::Client,
    token: Mutex<Option<Token>>,
    persist: PersistToken,
}

impl TokenSource {
    pub fn new(options: &RemoteOptions, persist: PersistToken) -> Result<TokenSource, AuthError> {
        Ok(TokenSource {
            remote: options.name.clone(),
            oauth: oauth_client(
                &options.client_id,
                &options.client_secret,
                &options.auth_url,
                &options.token_url,
            )?,
            token_url: options.token_url.clone(),
            http: oauth_http(),
            token: Mutex::new(options.token.clone()),
            persist,
        })
    }

    /// A usable access token, refreshed first if it expires within 10 s.
    pub async fn access_token(&self) -> Result<String, AuthError> {
        let mut guard = self.token.lock().await;
        let token = guard.as_ref().ok_or_else(|| AuthError::NoToken {
            remote: self.remote.clone(),
        })?;
        if token.is_fresh(Utc::now()) {
            return Ok(token.access_token.clone());
        }
        let fresh = self.refresh_locked(token.clone()).await?;
        let access = fresh.access_token.clone();
        *guard = Some(fresh);
        Ok(access)
    }

    /// After a 401 with `rejected`: refresh, unless another task already did.
    pub async fn refresh_after_rejection(&self, rejected: &str) -> Result<String, AuthError> {
        let mut guard = self.token.lock().await;
        let token = guard.as_ref().ok_or_else(|| AuthError::NoToken {
            remote: self.remote.clone(),
        })?;
        if token.access_token != rejected {
            return Ok(token.access_token.clone());
        }
        let fresh = self.refresh_locked(token.clone()).await?;
        let access = fresh.access_token.clone();
        *guard = Some(fresh);
        Ok(access)
    }

    async fn refresh_locked(&self, current: Token) -> Result<Token, AuthError> {
        if current.refresh_token.is_empty() {
            return Err(AuthError::Revoked {
                remote: self.remote.clone(),
                detail: "no refresh token stored".into(),
            });
        }
        let refresh = RefreshToken::new(current.refresh_token.clone());
        let mut last_network_error = String::new();
        // Transport failures are retried 5 times, 1 s apart, as rclone does.
        for attempt in 0..5 {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            match self
                .oauth
                .exchange_refresh_token(&refresh)
                .request_async(&self.http)
                .await
            {
                Ok(resp) => {
                    let token = token_from_response(&resp, &current.refresh_token);
                    if let Err(e) = (self.persist)(&token) {
                        tracing::warn!(
                            "refreshed token for {} could not be saved: {e}",
                            self.remote
                        );
                    }
                    tracing::info!("refreshed the access token of {}", self.remote);
                    return Ok(token);
                }
                Err(RequestTokenError::ServerResponse(e)) => {
                    let detail = e.to_string();
                    return Err(match e.error() {
                        BasicErrorResponseType::InvalidClient
                        | BasicErrorResponseType::UnauthorizedClient => AuthError::BadClient {
                            remote: self.remote.clone(),
                            detail,
                        },
                        _ => AuthError::Revoked {
                            remote: self.remote.clone(),
                            detail,
                        },
                    });
                }
                Err(other) => last_network_error = other.to_string(),
            }
        }
        Err(AuthError::Network {
            url: self.token_url.clone(),
            detail: last_network_error,
        })
    }
}
