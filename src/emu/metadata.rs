//! The metadata host (`/drive/v1/`): endpoint discovery, account, node listings and
//! lookups with filters and pages, folder creation, PATCH, parent/child operations, trash.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rusqlite::types::Value as SqlValue;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::filter;
use super::oauth::Caller;
use super::store::{NewNode, Patch};
use super::wire::{node_json, page_json};
use super::{Emu, ids};

type ApiResult = Result<Response, ApiError>;

/// Query parameters, decoded from `+`, `%20` and raw forms alike.
pub fn query_map(raw: Option<String>) -> HashMap<String, String> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// JSON bodies arrive with or without a Content-Type, sometimes with a trailing newline.
pub fn json_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("Cannot read from request."))?;
    let text = text.trim();
    let text = if text.is_empty() { "{}" } else { text };
    serde_json::from_str(text).map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))
}

fn wants_templink(q: &HashMap<String, String>) -> bool {
    q.get("tempLink")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

impl Emu {
    pub fn templink_url(&self, node: &super::store::Node) -> String {
        let token = self.templink_token(&node.id);
        let size = node.content.as_ref().map_or(0, |c| c.size);
        if size > self.settings().direct_download_limit {
            presigned_url(&self.base_url, &token, self.settings().templink_ttl_secs)
        } else {
            format!("{}/cdproxy/templink/{token}", self.base_url)
        }
    }
}

/// A URL in the shape of a presigned S3 URL (rclone strips `Authorization` from any URL
/// carrying `X-Amz-Algorithm`; clients that do not are refused, as S3 refused them).
pub fn presigned_url(base: &str, token: &str, ttl_secs: u64) -> String {
    let date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let day = chrono::Utc::now().format("%Y%m%d");
    format!(
        "{base}/s3/cd-emu-prod-content/{token}?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=ACDEMU%2F{day}%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date={date}\
         &X-Amz-Expires={ttl_secs}&X-Amz-SignedHeaders=host&X-Amz-Signature={}",
        hex::encode(ids::opaque(32))
    )
}

pub async fn endpoint(State(emu): State<Arc<Emu>>) -> Json<Value> {
    Json(json!({
        "contentUrl": emu.content_url(),
        "customerExists": true,
        "metadataUrl": emu.metadata_url(),
    }))
}

pub async fn account_info() -> Json<Value> {
    Json(json!({"termsOfUse": "1.0.0", "status": "ACTIVE"}))
}

pub async fn account_quota(State(emu): State<Arc<Emu>>) -> ApiResult {
    let usage = emu.with_store(|s| s.usage())?;
    let used = usage.photo.bytes + usage.video.bytes + usage.doc.bytes + usage.other.bytes;
    let quota = emu.settings().quota;
    Ok(Json(json!({
        "quota": quota,
        "lastCalculated": ids::now(),
        "available": quota.saturating_sub(used),
    }))
    .into_response())
}

pub async fn account_usage(State(emu): State<Arc<Emu>>) -> ApiResult {
    let usage = emu.with_store(|s| s.usage())?;
    let category = |c: super::store::CategoryUsage| json!({"total": {"bytes": c.bytes, "count": c.count}, "billable": {"bytes": c.bytes, "count": c.count}});
    Ok(Json(json!({
        "lastCalculated": ids::now(),
        "other": category(usage.other),
        "doc": category(usage.doc),
        "photo": category(usage.photo),
        "video": category(usage.video),
    }))
    .into_response())
}

/// What a listing is over, before the client's filters.
enum Scope {
    Everything,
    Children(String),
    Trash,
}

fn list(emu: &Emu, scope: Scope, q: &HashMap<String, String>) -> ApiResult {
    let mut compiled = match q.get("filters").map(|f| f.trim()).filter(|f| !f.is_empty()) {
        Some(filters) => {
            filter::compile(filters).map_err(|e| ApiError::bad_request(e.to_string()))?
        }
        None => filter::Compiled::default(),
    };
    let order = filter::compile_sort(q.get("sort").map(String::as_str))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let fingerprint = format!(
        "{}|{}|{}",
        match &scope {
            Scope::Everything => "all".to_string(),
            Scope::Children(id) => format!("children:{id}"),
            Scope::Trash => "trash".to_string(),
        },
        q.get("filters").map(String::as_str).unwrap_or_default(),
        order
    );
    match &scope {
        Scope::Everything => {}
        Scope::Children(id) => {
            emu.with_store(|s| s.require(id))?;
            match compiled.scope_parent.replace(id.clone()) {
                Some(other) if other != *id => compiled.and(
                    "n.id IN (SELECT child FROM parents WHERE parent = ?1)",
                    [SqlValue::Text(other)],
                ),
                _ => {}
            }
        }
        Scope::Trash => compiled.and("n.status = 'TRASH'", []),
    }
    // Without an explicit status only live nodes are listed; purged ones never are.
    if !compiled.has_status && !matches!(scope, Scope::Trash) {
        compiled.and("n.status IN ('AVAILABLE', 'PENDING')", []);
    }
    compiled.and("n.status != 'PURGED'", []);

    let settings = emu.settings();
    let limit = match q.get("limit") {
        Some(l) => l
            .parse::<u64>()
            .map_err(|_| ApiError::bad_request(format!("Invalid limit {l}")))?
            .clamp(1, settings.page_size),
        None => settings.page_size,
    };
    let offset = match q.get("startToken").filter(|t| !t.is_empty()) {
        Some(token) => emu
            .cursor(token, &fingerprint)
            .ok_or_else(|| ApiError::bad_request("Next token is expired"))?,
        None => 0,
    };
    let (nodes, total) = emu.with_store(|s| {
        s.list(
            compiled.scope_parent.as_deref(),
            &compiled.where_sql,
            &compiled.params,
            &order,
            offset,
            limit,
        )
    })?;
    let next = offset + nodes.len() as u64;
    let next_token =
        (next < total && !nodes.is_empty()).then(|| emu.save_cursor(fingerprint, next));
    let with_links = wants_templink(q);
    let data = nodes
        .iter()
        .map(|n| node_json(n, with_links.then(|| emu.templink_url(n))))
        .collect();
    Ok(Json(page_json(data, total, next_token)).into_response())
}

pub async fn list_nodes(State(emu): State<Arc<Emu>>, RawQuery(raw): RawQuery) -> ApiResult {
    list(&emu, Scope::Everything, &query_map(raw))
}

pub async fn list_children(
    State(emu): State<Arc<Emu>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    list(&emu, Scope::Children(id), &query_map(raw))
}

pub async fn list_trash(State(emu): State<Arc<Emu>>, RawQuery(raw): RawQuery) -> ApiResult {
    list(&emu, Scope::Trash, &query_map(raw))
}

pub async fn get_node(
    State(emu): State<Arc<Emu>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let node = emu.with_store(|s| s.require(&id))?;
    if node.status == super::store::Status::Purged {
        return Err(ApiError::not_found(&id));
    }
    let link = wants_templink(&query_map(raw)).then(|| emu.templink_url(&node));
    Ok(Json(node_json(&node, link)).into_response())
}

/// A new node as clients describe it: the folder-create body and the upload's metadata part.
#[derive(Deserialize)]
pub struct NodeBody {
    pub name: Option<String>,
    pub kind: Option<String>,
    #[serde(default)]
    pub parents: Vec<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    pub description: Option<String>,
}

pub async fn create_folder(
    State(emu): State<Arc<Emu>>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult {
    let body: NodeBody = json_body(&body)?;
    let name = body
        .name
        .ok_or_else(|| ApiError::bad_request("name is required"))?;
    match body.kind.as_deref() {
        Some("FOLDER") => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "kind {other} cannot be created here: folders only (files are uploaded to the content URL)"
            )));
        }
        None => return Err(ApiError::bad_request("kind is required")),
    }
    let spec = NewNode {
        name,
        parents: body.parents,
        labels: body.labels,
        description: body.description,
        created_by: caller.app_name,
    };
    let node = emu.with_store(|s| s.create_folder(&spec))?;
    emu.count(|s| s.nodes_created += 1);
    Ok((StatusCode::CREATED, Json(node_json(&node, None))).into_response())
}

#[derive(Deserialize)]
struct PatchBody {
    name: Option<String>,
    description: Option<String>,
    labels: Option<Vec<String>>,
    status: Option<String>,
    parents: Option<Vec<String>>,
}

pub async fn patch_node(
    State(emu): State<Arc<Emu>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body: PatchBody = json_body(&body)?;
    let promote = match body.status.as_deref() {
        None => false,
        Some("AVAILABLE") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "status {other} cannot be set by PATCH; use the trash endpoints"
            )));
        }
    };
    let patch = Patch {
        name: body.name,
        description: body.description,
        labels: body.labels,
        promote_to_available: promote,
        parents: body.parents,
    };
    let node = emu.with_store(|s| s.patch(&id, patch))?;
    Ok(Json(node_json(&node, None)).into_response())
}

/// Third-party apps were never granted purge (§7.6).
pub async fn purge_node() -> ApiError {
    ApiError::Gateway {
        status: StatusCode::FORBIDDEN,
        message: "Insufficient permissions granted for operation: purgeNode".into(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MoveBody {
    from_parent: String,
    child_id: String,
}

pub async fn move_child(
    State(emu): State<Arc<Emu>>,
    Path(new_parent): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body: MoveBody = json_body(&body)?;
    let node = emu.with_store(|s| s.move_child(&new_parent, &body.from_parent, &body.child_id))?;
    Ok(Json(node_json(&node, None)).into_response())
}

pub async fn add_child(
    State(emu): State<Arc<Emu>>,
    Path((parent, child)): Path<(String, String)>,
) -> ApiResult {
    let node = emu.with_store(|s| s.add_parent(&parent, &child))?;
    Ok(Json(node_json(&node, None)).into_response())
}

pub async fn remove_child(
    State(emu): State<Arc<Emu>>,
    Path((parent, child)): Path<(String, String)>,
) -> ApiResult {
    let node = emu.with_store(|s| s.remove_parent(&parent, &child))?;
    Ok(Json(node_json(&node, None)).into_response())
}

pub async fn trash_node(State(emu): State<Arc<Emu>>, Path(id): Path<String>) -> ApiResult {
    let node = emu.with_store(|s| s.trash(&id))?;
    Ok(Json(node_json(&node, None)).into_response())
}

pub async fn restore_node(State(emu): State<Arc<Emu>>, Path(id): Path<String>) -> ApiResult {
    let node = emu.with_store(|s| s.restore(&id))?;
    Ok(Json(node_json(&node, None)).into_response())
}
