//! The admin API under `/_emu/` (no real client calls it): faults and settings read and
//! changed at run time, counters read back, OAuth clients registered, tokens pre-issued,
//! expired or revoked. Loopback tooling only, so it takes no credentials.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Emu;
use super::metadata::json_body;
use super::oauth::{self, ClientSpec, TokenSpec};
use super::settings::merge;

fn bad(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": message.into()})),
    )
        .into_response()
}

fn parse<T: for<'de> serde::Deserialize<'de>>(body: &Bytes) -> Result<T, String> {
    json_body(body).map_err(|e| match e {
        super::error::ApiError::App { message, .. } => message,
        other => format!("{other:?}"),
    })
}

pub fn router() -> Router<Arc<Emu>> {
    Router::new()
        .route("/", get(index))
        .route("/faults", get(get_faults).put(set_faults).post(set_faults))
        .route(
            "/settings",
            get(get_settings).put(set_settings).post(set_settings),
        )
        .route("/stats", get(stats))
        .route("/stats/reset", post(reset_stats))
        .route("/clients", post(add_client))
        .route("/tokens", post(add_token))
        .route("/tokens/expire", post(expire_tokens))
        .route("/tokens/revoke", post(revoke_tokens))
}

async fn index(State(emu): State<Arc<Emu>>) -> Json<Value> {
    Json(json!({
        "endpoint": format!("{}/drive/v1/account/endpoint", emu.base_url),
        "metadataUrl": emu.metadata_url(),
        "contentUrl": emu.content_url(),
        "authUrl": format!("{}/ap/oa", emu.base_url),
        "tokenUrl": format!("{}/auth/o2/token", emu.base_url),
        "defaultClient": {"client_id": oauth::DEFAULT_CLIENT_ID, "client_secret": oauth::DEFAULT_CLIENT_SECRET},
        "admin": ["GET|PUT /_emu/faults", "GET|PUT /_emu/settings", "GET /_emu/stats", "POST /_emu/stats/reset",
                  "POST /_emu/clients", "POST /_emu/tokens", "POST /_emu/tokens/expire", "POST /_emu/tokens/revoke"],
    }))
}

async fn get_faults(State(emu): State<Arc<Emu>>) -> Json<Value> {
    Json(serde_json::to_value(emu.faults()).unwrap_or_default())
}

async fn set_faults(State(emu): State<Arc<Emu>>, body: Bytes) -> Response {
    let patch: Value = match parse(&body) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    let next = match merge(&emu.faults(), patch) {
        Ok(f) => f,
        Err(e) => return bad(e),
    };
    if let Err(e) = emu.set_faults(next.clone()) {
        return bad(e);
    }
    tracing::info!("faults now {next:?}");
    Json(serde_json::to_value(next).unwrap_or_default()).into_response()
}

async fn get_settings(State(emu): State<Arc<Emu>>) -> Json<Value> {
    Json(serde_json::to_value(emu.settings()).unwrap_or_default())
}

async fn set_settings(State(emu): State<Arc<Emu>>, body: Bytes) -> Response {
    let patch: Value = match parse(&body) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    match merge(&emu.settings(), patch) {
        Ok(next) => {
            if next.page_size == 0 {
                return bad("page_size must be at least 1");
            }
            emu.set_settings(next.clone());
            Json(serde_json::to_value(next).unwrap_or_default()).into_response()
        }
        Err(e) => bad(e),
    }
}

async fn stats(State(emu): State<Arc<Emu>>) -> Response {
    let nodes = emu.with_store(|s| s.node_count()).unwrap_or_default();
    let mut value = serde_json::to_value(emu.stats()).unwrap_or_default();
    value["nodes"] = json!(nodes);
    Json(value).into_response()
}

async fn reset_stats(State(emu): State<Arc<Emu>>) -> StatusCode {
    emu.reset_stats();
    StatusCode::NO_CONTENT
}

async fn add_client(State(emu): State<Arc<Emu>>, body: Bytes) -> Response {
    let spec: ClientSpec = match parse(&body) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    match emu.with_store(|s| oauth::register_client(s, &spec)) {
        Ok(()) => (
            StatusCode::CREATED,
            Json(json!({"client_id": spec.client_id})),
        )
            .into_response(),
        Err(e) => bad(e.to_string()),
    }
}

async fn add_token(State(emu): State<Arc<Emu>>, body: Bytes) -> Response {
    let spec: TokenSpec = match parse(&body) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    let client = spec
        .client_id
        .clone()
        .unwrap_or_else(|| oauth::DEFAULT_CLIENT_ID.into());
    let ttl = emu.settings().token_ttl_secs;
    match emu.with_store(|s| oauth::issue(s, &client, &spec, ttl)) {
        Ok(v) => (StatusCode::CREATED, Json(v)).into_response(),
        Err(e) => bad(e.to_string()),
    }
}

async fn expire_tokens(State(emu): State<Arc<Emu>>) -> Response {
    match emu.with_store(|s| oauth::expire_all(s)) {
        Ok(n) => Json(json!({"expired": n})).into_response(),
        Err(e) => bad(e.to_string()),
    }
}

async fn revoke_tokens(State(emu): State<Arc<Emu>>, body: Bytes) -> Response {
    #[derive(serde::Deserialize, Default)]
    struct Revoke {
        refresh_token: Option<String>,
    }
    let spec: Revoke = match parse(&body) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    match emu.with_store(|s| oauth::revoke(s, spec.refresh_token.as_deref())) {
        Ok(n) => Json(json!({"revoked": n})).into_response(),
        Err(e) => bad(e.to_string()),
    }
}
