//! Login with Amazon as a client saw it (§2): `/ap/oa` (consent page, redirect with
//! `code` and `state`), `/auth/o2/token` (authorization_code and refresh_token grants,
//! client credentials as HTTP Basic or form fields, LWA error JSON), and the bearer check
//! every API call goes through. Clients and tokens live in the store's database, so a
//! `--data` folder keeps them across restarts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Form, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use md5::Digest;
use rusqlite::{OptionalExtension, params};
use serde::Deserialize;
use serde_json::json;

use super::Emu;
use super::error::ApiError;
use super::ids;
use super::store::{Store, StoreError};

/// The client registered on every emulator, used by the demo and by tests.
pub const DEFAULT_CLIENT_ID: &str = "amzn1.application-oa2-client.acd-emu-default";
pub const DEFAULT_CLIENT_SECRET: &str = "acd-emu-default-secret";

const CODE_LIFETIME: Duration = Duration::from_secs(300);

/// Who is calling: the security profile behind the bearer token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub client_id: String,
    pub app_name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ClientSpec {
    pub client_id: String,
    pub client_secret: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Redirect URIs besides loopback ones (which every client may use).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

/// A token pair set up front (flags or admin API), for clients configured by hand.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenSpec {
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

#[derive(Debug)]
pub struct AuthCode {
    client_id: String,
    redirect_uri: String,
    scope: String,
    challenge: Option<(String, String)>,
    expires: Instant,
}

#[derive(Debug)]
pub struct PendingConsent {
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: Option<String>,
    challenge: Option<(String, String)>,
    expires: Instant,
}

/// In-memory OAuth state that need not survive a restart.
#[derive(Debug, Default)]
pub struct Handshakes {
    codes: HashMap<String, AuthCode>,
    consents: HashMap<String, PendingConsent>,
}

impl Handshakes {
    fn sweep(&mut self) {
        let now = Instant::now();
        self.codes.retain(|_, c| c.expires > now);
        self.consents.retain(|_, c| c.expires > now);
    }
}

fn unix_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub fn register_client(store: &Store, spec: &ClientSpec) -> Result<(), StoreError> {
    store.connection().execute(
        "INSERT INTO clients (id, secret, name, redirect_uris) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT(id) DO UPDATE SET secret = ?2, name = ?3, redirect_uris = ?4",
        params![
            spec.client_id,
            spec.client_secret,
            spec.name.clone().unwrap_or_else(|| "acd-emu-client".into()),
            serde_json::to_string(&spec.redirect_uris).unwrap_or_else(|_| "[]".into()),
        ],
    )?;
    Ok(())
}

struct ClientRow {
    secret: String,
    name: String,
    redirect_uris: Vec<String>,
}

fn client(store: &Store, id: &str) -> Result<Option<ClientRow>, StoreError> {
    Ok(store
        .connection()
        .prepare_cached("SELECT secret, name, redirect_uris FROM clients WHERE id = ?1")?
        .query_row([id], |r| {
            Ok(ClientRow {
                secret: r.get(0)?,
                name: r.get(1)?,
                redirect_uris: serde_json::from_str(&r.get::<_, String>(2)?).unwrap_or_default(),
            })
        })
        .optional()?)
}

/// Issues an access token (and a refresh token unless one is given to reuse).
pub fn issue(
    store: &Store,
    client_id: &str,
    spec: &TokenSpec,
    default_ttl: u64,
) -> Result<serde_json::Value, StoreError> {
    let conn = store.connection();
    let refresh = spec
        .refresh_token
        .clone()
        .unwrap_or_else(|| format!("Atzr|{}", ids::opaque(345)));
    let access = spec
        .access_token
        .clone()
        .unwrap_or_else(|| format!("Atza|{}", ids::opaque(345)));
    let ttl = spec.expires_in.unwrap_or(default_ttl);
    conn.execute(
        "INSERT INTO refresh_tokens (token, client_id) VALUES (?1, ?2) \
         ON CONFLICT(token) DO UPDATE SET client_id = ?2, revoked = 0",
        params![refresh, client_id],
    )?;
    conn.execute(
        "INSERT INTO access_tokens (token, client_id, refresh_token, expires_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT(token) DO UPDATE SET client_id = ?2, refresh_token = ?3, expires_at = ?4",
        params![access, client_id, refresh, unix_ms() + (ttl as i64) * 1000],
    )?;
    // Tokens that expired a day ago will never be shown again.
    conn.execute(
        "DELETE FROM access_tokens WHERE expires_at < ?1",
        [unix_ms() - 86_400_000],
    )?;
    Ok(json!({
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "bearer",
        "expires_in": ttl,
    }))
}

/// Checks a bearer token; 401 `Token has expired` for anything but a live one.
pub fn check_bearer(store: &Store, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .ok_or_else(ApiError::token_expired)?;
    let row: Option<(String, i64, String)> = store
        .connection()
        .prepare_cached(
            "SELECT a.client_id, a.expires_at, COALESCE(c.name, a.client_id) FROM access_tokens a \
             LEFT JOIN clients c ON c.id = a.client_id WHERE a.token = ?1",
        )
        .and_then(|mut s| {
            s.query_row([token], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
        })
        .map_err(|e| ApiError::app(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), ""))?;
    match row {
        Some((client_id, expires_at, app_name)) if expires_at > unix_ms() => Ok(Caller {
            client_id,
            app_name,
        }),
        _ => Err(ApiError::token_expired()),
    }
}

/// Forces every access token to expire now (the "forced token expiry" fault).
pub fn expire_all(store: &Store) -> Result<usize, StoreError> {
    Ok(store
        .connection()
        .execute("UPDATE access_tokens SET expires_at = 0", [])?)
}

/// Revokes one refresh token (or all) and the access tokens issued from it.
pub fn revoke(store: &Store, refresh_token: Option<&str>) -> Result<usize, StoreError> {
    let conn = store.connection();
    let n = match refresh_token {
        Some(token) => {
            conn.execute(
                "DELETE FROM access_tokens WHERE refresh_token = ?1",
                [token],
            )?;
            conn.execute(
                "UPDATE refresh_tokens SET revoked = 1 WHERE token = ?1",
                [token],
            )?
        }
        None => {
            conn.execute("DELETE FROM access_tokens", [])?;
            conn.execute("UPDATE refresh_tokens SET revoked = 1", [])?
        }
    };
    Ok(n)
}

// ---- /ap/oa ----

fn is_loopback_uri(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && matches!(
                u.host(),
                Some(url::Host::Domain("localhost"))
                    | Some(url::Host::Ipv4(_))
                    | Some(url::Host::Ipv6(_))
            )
            && match u.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                _ => true,
            }
    })
}

fn with_query(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(url) => url,
        Err(_) => return redirect_uri.to_string(),
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
    }
    url.to_string()
}

fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><title>Amazon Sign-In</title></head><body>\
         <h1>We're sorry</h1><p>{}</p></body></html>",
        html_escape(message)
    );
    (status, Html(body)).into_response()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn query_map(raw: Option<String>) -> HashMap<String, String> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

pub async fn authorize_page(State(emu): State<Arc<Emu>>, RawQuery(raw): RawQuery) -> Response {
    let q = query_map(raw);
    let Some(client_id) = q.get("client_id") else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The request is missing a required parameter : client_id",
        );
    };
    let known = emu.with_store(|s| client(s, client_id));
    let Ok(Some(client)) = known else {
        return error_page(
            StatusCode::BAD_REQUEST,
            &format!("Unknown client_id {client_id}"),
        );
    };
    let Some(redirect_uri) = q.get("redirect_uri").cloned() else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The request is missing a required parameter : redirect_uri",
        );
    };
    if !is_loopback_uri(&redirect_uri) && !client.redirect_uris.contains(&redirect_uri) {
        return error_page(
            StatusCode::BAD_REQUEST,
            &format!("The redirect_uri {redirect_uri} is not registered for this application"),
        );
    }
    let state = q.get("state").cloned();
    let mut fail = vec![("error", "unsupported_response_type")];
    if let Some(s) = &state {
        fail.push(("state", s.as_str()));
    }
    if q.get("response_type").map(String::as_str) != Some("code") {
        return Redirect::to(&with_query(&redirect_uri, &fail)).into_response();
    }
    let challenge = q.get("code_challenge").map(|c| {
        let method = q
            .get("code_challenge_method")
            .cloned()
            .unwrap_or_else(|| "plain".into());
        (c.clone(), method)
    });
    let consent = PendingConsent {
        client_id: client_id.clone(),
        redirect_uri,
        scope: q
            .get("scope")
            .cloned()
            .unwrap_or_else(|| "clouddrive:read_all clouddrive:write".into()),
        state,
        challenge,
        expires: Instant::now() + CODE_LIFETIME,
    };
    if emu.settings().auto_approve {
        return approve(&emu, consent);
    }
    let id = ids::opaque(24);
    let scope = consent.scope.clone();
    {
        let mut hs = emu.handshakes.lock().unwrap_or_else(|p| p.into_inner());
        hs.sweep();
        hs.consents.insert(id.clone(), consent);
    }
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Amazon Drive: allow access</title></head>\
         <body><h1>{app} would like to access your Amazon Drive</h1>\
         <p>Requested access: <code>{scope}</code></p>\
         <form method=\"post\" action=\"/ap/oa\">\
         <input type=\"hidden\" name=\"consent\" value=\"{id}\">\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Cancel</button>\
         </form><p><small>acd-emu: an emulator of Amazon Drive.</small></p></body></html>",
        app = html_escape(&client.name),
        scope = html_escape(&scope),
    );
    Html(body).into_response()
}

#[derive(Deserialize)]
pub struct ConsentForm {
    consent: String,
    decision: String,
}

pub async fn authorize_decision(
    State(emu): State<Arc<Emu>>,
    Form(form): Form<ConsentForm>,
) -> Response {
    let pending = {
        let mut hs = emu.handshakes.lock().unwrap_or_else(|p| p.into_inner());
        hs.sweep();
        hs.consents.remove(&form.consent)
    };
    let Some(consent) = pending else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This sign-in page has expired. Start again from your application.",
        );
    };
    if form.decision != "allow" {
        let mut pairs = vec![
            ("error", "access_denied"),
            ("error_description", "The user denied the request"),
        ];
        if let Some(s) = &consent.state {
            pairs.push(("state", s.as_str()));
        }
        return Redirect::to(&with_query(&consent.redirect_uri, &pairs)).into_response();
    }
    approve(&emu, consent)
}

fn approve(emu: &Emu, consent: PendingConsent) -> Response {
    let code = ids::opaque(20);
    let mut pairs = vec![("code", code.as_str()), ("scope", consent.scope.as_str())];
    if let Some(s) = &consent.state {
        pairs.push(("state", s.as_str()));
    }
    let location = with_query(&consent.redirect_uri, &pairs);
    emu.handshakes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .codes
        .insert(
            code.clone(),
            AuthCode {
                client_id: consent.client_id,
                redirect_uri: consent.redirect_uri,
                scope: consent.scope,
                challenge: consent.challenge,
                expires: Instant::now() + CODE_LIFETIME,
            },
        );
    Redirect::to(&location).into_response()
}

// ---- /auth/o2/token ----

fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({ "error_description": description, "error": error })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    // Go's oauth2 URL-escapes both halves before joining them.
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

fn pkce_ok(challenge: &Option<(String, String)>, verifier: Option<&String>) -> bool {
    match (challenge, verifier) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some((challenge, method)), Some(verifier)) => {
            if method.eq_ignore_ascii_case("S256") {
                URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes())) == *challenge
            } else {
                verifier == challenge
            }
        }
    }
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    sha2::Sha256::digest(bytes).to_vec()
}

pub async fn token(
    State(emu): State<Arc<Emu>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let credentials = basic_credentials(&headers).or_else(|| {
        let id = form.get("client_id")?.clone();
        Some((id, form.get("client_secret").cloned().unwrap_or_default()))
    });
    let Some((client_id, client_secret)) = credentials else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request is missing a required parameter : client_id",
        );
    };
    match emu.with_store(|s| client(s, &client_id)) {
        Ok(Some(c)) if c.secret == client_secret => {}
        _ => {
            return token_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed",
            );
        }
    }
    let ttl = emu.settings().token_ttl_secs;
    let grant = form
        .get("grant_type")
        .map(String::as_str)
        .unwrap_or_default();
    let result = match grant {
        "authorization_code" => {
            let code = form.get("code").cloned().unwrap_or_default();
            let entry = emu
                .handshakes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .codes
                .remove(&code);
            let valid = entry.filter(|c| {
                c.expires > Instant::now()
                    && c.client_id == client_id
                    && form
                        .get("redirect_uri")
                        .is_some_and(|r| *r == c.redirect_uri)
                    && pkce_ok(&c.challenge, form.get("code_verifier"))
            });
            match valid {
                Some(code) => {
                    tracing::debug!("code exchanged for scope {}", code.scope);
                    emu.with_store(|s| issue(s, &client_id, &TokenSpec::default(), ttl))
                }
                None => {
                    return token_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "The request has an invalid grant parameter : code",
                    );
                }
            }
        }
        "refresh_token" => {
            let refresh = form.get("refresh_token").cloned().unwrap_or_default();
            let rotate = emu.settings().rotate_refresh_tokens;
            let outcome = emu.with_store(|s| {
                let owner: Option<(String, bool)> = s
                    .connection()
                    .prepare_cached(
                        "SELECT client_id, revoked FROM refresh_tokens WHERE token = ?1",
                    )?
                    .query_row([&refresh], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                match owner {
                    Some((owner, false)) if owner == client_id => {
                        if rotate {
                            revoke(s, Some(&refresh))?;
                            issue(s, &client_id, &TokenSpec::default(), ttl).map(Some)
                        } else {
                            let spec = TokenSpec {
                                refresh_token: Some(refresh.clone()),
                                ..Default::default()
                            };
                            issue(s, &client_id, &spec, ttl).map(Some)
                        }
                    }
                    _ => Ok(None),
                }
            });
            match outcome {
                Ok(Some(body)) => {
                    emu.count(|s| s.token_refreshes += 1);
                    Ok(body)
                }
                Ok(None) => {
                    return token_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "The request has an invalid grant parameter : refresh_token",
                    );
                }
                Err(e) => Err(e),
            }
        }
        "" => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The request is missing a required parameter : grant_type",
            );
        }
        other => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("The authorization grant type {other} is not supported"),
            );
        }
    };
    match result {
        Ok(body) => {
            emu.count(|s| s.tokens_issued += 1);
            let mut response = axum::Json(body).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => token_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            &e.to_string(),
        ),
    }
}

/// `GET /auth/o2/tokeninfo?access_token=…` (acd_cli's introspection call).
pub async fn token_info(State(emu): State<Arc<Emu>>, RawQuery(raw): RawQuery) -> Response {
    let q = query_map(raw);
    let token = q.get("access_token").cloned().unwrap_or_default();
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}")) {
        headers.insert(header::AUTHORIZATION, v);
    }
    match emu.with_store(|s| Ok::<_, StoreError>(check_bearer(s, &headers))) {
        Ok(Ok(caller)) => axum::Json(json!({
            "aud": caller.client_id,
            "app_id": caller.client_id,
            "user_id": "amzn1.account.ACDEMUUSER",
            "iss": "https://www.amazon.com",
        }))
        .into_response(),
        _ => token_error(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "The access token provided is expired, revoked, malformed, or invalid for other reasons.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_only() {
        assert!(is_loopback_uri("http://127.0.0.1:53682/"));
        assert!(is_loopback_uri("http://localhost"));
        assert!(is_loopback_uri("http://[::1]:8080/cb"));
        assert!(!is_loopback_uri("http://10.0.0.1/"));
        assert!(!is_loopback_uri("https://evil.example/"));
    }

    #[test]
    fn pkce_s256() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_string();
        let challenge = Some((
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_string(),
            "S256".to_string(),
        ));
        assert!(pkce_ok(&challenge, Some(&verifier)));
        assert!(!pkce_ok(&challenge, Some(&"wrong".to_string())));
        assert!(!pkce_ok(&challenge, None));
    }

    #[test]
    fn basic_credentials_are_url_unescaped() {
        let mut headers = HeaderMap::new();
        let raw = STANDARD.encode("amzn1.client%3Ax:s%2Fecret");
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {raw}")).unwrap(),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("amzn1.client:x".into(), "s/ecret".into()))
        );
    }
}
