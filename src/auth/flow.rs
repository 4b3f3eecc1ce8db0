//! The authorization-code flow: an authorize URL (with PKCE and a random state), a loopback
//! listener that takes exactly one callback and checks its state, the code exchange, and
//! the headless alternative where the user pastes back what the browser showed.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use tokio::sync::oneshot;

use super::{AuthError, OAuthClient, oauth_http, token_from_response};
use crate::config::token::Token;

/// rclone's redirect address: a security profile set up for rclone works unchanged.
pub const DEFAULT_REDIRECT: &str = "http://127.0.0.1:53682/";
pub const SCOPES: [&str; 2] = ["clouddrive:read_all", "clouddrive:write"];

/// Where the browser is sent back to: rclone's `http://127.0.0.1:53682/` unless
/// `ACDC_REDIRECT_URL` says otherwise (it must match the security profile's return URL).
pub fn redirect_url() -> String {
    std::env::var("ACDC_REDIRECT_URL").unwrap_or_else(|_| DEFAULT_REDIRECT.to_string())
}

/// The loopback address to listen on for `redirect`.
pub fn loopback_address(redirect: &str) -> Result<SocketAddr, AuthError> {
    let url = url::Url::parse(redirect)
        .map_err(|e| AuthError::Setup(format!("redirect URL {redirect:?}: {e}")))?;
    let port = url.port_or_known_default().unwrap_or(80);
    match url.host() {
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok((ip, port).into()),
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok((ip, port).into()),
        Some(url::Host::Domain("localhost")) => Ok(([127, 0, 0, 1], port).into()),
        _ => Err(AuthError::Setup(format!(
            "the redirect URL {redirect} must point at this machine (127.0.0.1 or localhost)"
        ))),
    }
}

/// One authorization in progress.
pub struct Authorization {
    pub url: String,
    pub redirect_uri: String,
    state: String,
    verifier: PkceCodeVerifier,
    client: OAuthClient,
}

impl Authorization {
    pub fn start(client: OAuthClient, redirect_uri: &str) -> Result<Authorization, AuthError> {
        let client =
            client
                .set_redirect_uri(RedirectUrl::new(redirect_uri.to_string()).map_err(|e| {
                    AuthError::Setup(format!("redirect URI {redirect_uri:?}: {e}"))
                })?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(SCOPES.iter().map(|s| Scope::new(s.to_string())))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Authorization {
            url: url.to_string(),
            redirect_uri: redirect_uri.to_string(),
            state: state.secret().clone(),
            verifier,
            client,
        })
    }

    /// Exchanges a code for a token.
    pub async fn exchange(self, code: &str) -> Result<Token, AuthError> {
        let resp = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(self.verifier)
            .request_async(&oauth_http())
            .await
            .map_err(|e| match e {
                oauth2::RequestTokenError::ServerResponse(r) => AuthError::Revoked {
                    remote: String::new(),
                    detail: format!("the code was refused: {r}"),
                },
                other => AuthError::Network {
                    url: String::new(),
                    detail: other.to_string(),
                },
            })?;
        Ok(token_from_response(&resp, ""))
    }

    /// What the user pasted: the redirect URL, the bare code, or a token JSON from `acdc authorize`.
    pub fn understand_paste(&self, pasted: &str) -> Result<Pasted, AuthError> {
        let text: String = pasted.split_whitespace().collect();
        if text.starts_with('{') {
            return crate::config::token::Token::parse(&text)
                .map(Pasted::Token)
                .map_err(AuthError::Setup);
        }
        if let Ok(url) = url::Url::parse(&text) {
            let q: std::collections::HashMap<String, String> =
                url.query_pairs().into_owned().collect();
            if let Some(err) = q.get("error") {
                return Err(AuthError::Setup(format!(
                    "the browser reported {err}: {}",
                    q.get("error_description").cloned().unwrap_or_default()
                )));
            }
            if q.get("state").is_some_and(|s| *s != self.state) {
                return Err(AuthError::Setup(
                    "that URL belongs to another authorization (its state differs); start again"
                        .into(),
                ));
            }
            return q.get("code").cloned().map(Pasted::Code).ok_or_else(|| {
                AuthError::Setup(
                    "that URL has no code= in it; paste the whole address the browser ended on"
                        .into(),
                )
            });
        }
        if text.is_empty() || text.contains(['/', ' ']) {
            return Err(AuthError::Setup("paste the address the browser ended on, the code from it, or the token from `acdc authorize`".into()));
        }
        Ok(Pasted::Code(text))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Pasted {
    Code(String),
    Token(Token),
}

type Slot = Arc<Mutex<Option<oneshot::Sender<Result<String, AuthError>>>>>;

#[derive(Clone)]
struct Callback {
    state: String,
    slot: Slot,
    answered: Arc<tokio::sync::Notify>,
}

/// Listens on `addr` (loopback only) for the one redirect carrying the code; answers the
/// browser with a page it can close. Returns the bound address and a receiver for the code.
pub async fn listen(
    addr: SocketAddr,
    auth: &Authorization,
    timeout: Duration,
) -> Result<(SocketAddr, oneshot::Receiver<Result<String, AuthError>>), AuthError> {
    if !addr.ip().is_loopback() {
        return Err(AuthError::Setup(format!(
            "the redirect listener must be on loopback, not {addr}"
        )));
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| AuthError::Listen {
            addr: addr.to_string(),
            detail: e.to_string(),
        })?;
    let bound = listener
        .local_addr()
        .map_err(|e| AuthError::Setup(e.to_string()))?;
    let (tx, rx) = oneshot::channel();
    let slot: Slot = Arc::new(Mutex::new(Some(tx)));
    let answered = Arc::new(tokio::sync::Notify::new());
    let state = Callback {
        state: auth.state.clone(),
        slot: slot.clone(),
        answered: answered.clone(),
    };
    let app = axum::Router::new()
        .route("/", axum::routing::get(callback))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found") })
        .with_state(state);
    tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = tokio::time::timeout(timeout, answered.notified()).await;
        });
        let _ = serve.await;
        // Still waiting: nobody called back in time.
        if let Some(tx) = slot.lock().ok().and_then(|mut s| s.take()) {
            let _ = tx.send(Err(AuthError::Setup(format!(
                "no answer from the browser within {}s; start again (or use the headless paste)",
                timeout.as_secs()
            ))));
        }
    });
    Ok((bound, rx))
}

#[derive(serde::Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>acdc: {title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p></body></html>"
    );
    (status, Html(body)).into_response()
}

async fn callback(State(cb): State<Callback>, Query(q): Query<CallbackQuery>) -> Response {
    if q.state.as_deref() != Some(cb.state.as_str()) {
        return page(
            StatusCode::BAD_REQUEST,
            "Wrong state",
            "This answer does not belong to the authorization acdc is waiting for.",
        );
    }
    let result = match (q.code, q.error) {
        (Some(code), _) => Ok(code),
        (None, Some(err)) => Err(AuthError::Setup(format!(
            "Amazon answered {err}: {}",
            q.error_description.unwrap_or_default()
        ))),
        (None, None) => {
            return page(
                StatusCode::BAD_REQUEST,
                "No code",
                "The redirect carried no code.",
            );
        }
    };
    let ok = result.is_ok();
    if let Some(tx) = cb.slot.lock().ok().and_then(|mut s| s.take()) {
        let _ = tx.send(result);
    }
    cb.answered.notify_one();
    if ok {
        page(
            StatusCode::OK,
            "Success",
            "acdc has its authorization. You can close this tab and return to the terminal.",
        )
    } else {
        page(
            StatusCode::OK,
            "Not authorized",
            "Access was not granted. Return to the terminal to try again.",
        )
    }
}

/// Tries to open `url` in a browser on this machine; false when there is none to open.
pub fn open_browser(url: &str) -> bool {
    let graphical =
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    (graphical || cfg!(target_os = "macos"))
        && std::process::Command::new(opener)
            .arg(url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .is_ok()
}

/// The SSH hint: forward the redirect port from the machine with the browser.
pub fn ssh_forward_hint(redirect_uri: &str) -> String {
    let port = url::Url::parse(redirect_uri)
        .ok()
        .and_then(|u| u.port())
        .unwrap_or(53682);
    format!("ssh -L {port}:127.0.0.1:{port} <this machine>")
}
