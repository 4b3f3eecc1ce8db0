//! `POST changes` (§10): newline-separated JSON change sets, each with all four keys
//! `checkpoint`, `nodes`, `reset`, `statusCode`, ending in `{"end":true}` with no
//! trailing newline. No checkpoint (or one this store did not issue) gives a full
//! snapshot marked `reset: true` on the first set only; nothing changed gives exactly one
//! empty set. The body is streamed set by set, so a large account never sits in memory.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Emu;
use super::error::ApiError;
use super::metadata::json_body;
use super::wire::node_json;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ChangesRequest {
    checkpoint: Option<String>,
    chunk_size: Option<Value>,
    max_nodes: Option<Value>,
    include_purged: Option<Value>,
}

/// Numbers and booleans arrive as JSON values or as strings (Go's `,string` tag).
fn as_u64(v: &Option<Value>) -> Result<Option<u64>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| ApiError::bad_request("expected a positive number")),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("expected a number, got {s:?}"))),
        Some(other) => Err(ApiError::bad_request(format!(
            "expected a number, got {other}"
        ))),
    }
}

fn as_bool(v: &Option<Value>) -> Result<bool, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(ApiError::bad_request(format!(
            "includePurged must be true or false, got {other}"
        ))),
    }
}

pub fn encode_checkpoint(epoch: &str, seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{epoch}:{seq}"))
}

/// The sequence number a checkpoint stands for, if this store issued it.
fn decode_checkpoint(checkpoint: &str, epoch: &str, current: i64) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(checkpoint.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (e, seq) = text.split_once(':')?;
    let seq: i64 = seq.parse().ok()?;
    (e == epoch && (0..=current).contains(&seq)).then_some(seq)
}

struct Cursor {
    emu: Arc<Emu>,
    after: i64,
    first: bool,
    reset: bool,
    sent: u64,
    chunk_size: u64,
    max_nodes: Option<u64>,
    include_purged: bool,
    truncate: bool,
    finished: bool,
}

fn line(value: Value, newline: bool) -> Bytes {
    let mut text = value.to_string();
    if newline {
        text.push('\n');
    }
    Bytes::from(text)
}

impl Cursor {
    /// The next piece of the body, or `None` when the stream is complete.
    fn next_piece(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        if self.finished {
            return None;
        }
        let limit_reached = self.max_nodes.is_some_and(|m| self.sent >= m);
        let batch = if limit_reached {
            Vec::new()
        } else {
            match self
                .emu
                .with_store(|s| s.changes_since(self.after, self.include_purged, self.chunk_size))
            {
                Ok(nodes) => nodes,
                Err(err) => {
                    tracing::error!("changes: {err}");
                    self.finished = true;
                    return Some(Err(std::io::Error::other(err.to_string())));
                }
            }
        };
        if batch.is_empty() {
            if self.first {
                // Up to date: exactly one empty change set, then the end marker.
                self.first = false;
                let (epoch, seq) = self
                    .emu
                    .with_store(|s| Ok::<_, ApiError>((s.epoch().to_string(), s.current_seq())))
                    .unwrap_or_default();
                let set = json!({
                    "checkpoint": encode_checkpoint(&epoch, seq.max(self.after)),
                    "nodes": [],
                    "reset": self.reset,
                    "statusCode": 200,
                });
                return Some(Ok(line(set, true)));
            }
            self.finished = true;
            if self.truncate {
                return None;
            }
            return Some(Ok(line(json!({"end": true}), false)));
        }
        self.after = batch.last().map_or(self.after, |n| n.seq);
        self.sent += batch.len() as u64;
        let epoch = self
            .emu
            .with_store(|s| Ok::<_, ApiError>(s.epoch().to_string()))
            .unwrap_or_default();
        let set = json!({
            "checkpoint": encode_checkpoint(&epoch, self.after),
            "nodes": batch.iter().map(|n| node_json(n, None)).collect::<Vec<_>>(),
            "reset": self.first && self.reset,
            "statusCode": 200,
        });
        self.first = false;
        Some(Ok(line(set, true)))
    }
}

pub async fn changes(State(emu): State<Arc<Emu>>, body: Bytes) -> Result<Response, ApiError> {
    let request: ChangesRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ChangesRequest::default()
    } else {
        json_body(&body)?
    };
    let chunk_size = as_u64(&request.chunk_size)?
        .filter(|&n| n > 0)
        .unwrap_or(emu.settings().changes_chunk_size)
        .max(1);
    let max_nodes = as_u64(&request.max_nodes)?.filter(|&n| n > 0);
    let include_purged = as_bool(&request.include_purged)?;
    let (epoch, current) =
        emu.with_store(|s| Ok::<_, ApiError>((s.epoch().to_string(), s.current_seq())))?;
    let resumed = request
        .checkpoint
        .as_deref()
        .filter(|c| !c.is_empty())
        .and_then(|c| decode_checkpoint(c, &epoch, current));
    let mut cursor = Cursor {
        emu: emu.clone(),
        after: resumed.unwrap_or(0),
        first: true,
        reset: resumed.is_none(),
        sent: 0,
        chunk_size,
        max_nodes,
        include_purged,
        truncate: emu.faults().truncate_changes,
        finished: false,
    };
    let stream = futures::stream::poll_fn(move |_| std::task::Poll::Ready(cursor.next_piece()));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .map_err(|e| ApiError::app(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_from_elsewhere_do_not_resume() {
        let cp = encode_checkpoint("abc", 5);
        assert_eq!(decode_checkpoint(&cp, "abc", 9), Some(5));
        assert_eq!(decode_checkpoint(&cp, "xyz", 9), None);
        assert_eq!(decode_checkpoint(&cp, "abc", 4), None);
        assert_eq!(decode_checkpoint("CIGmnr2yKxoA", "abc", 9), None);
    }

    #[test]
    fn lenient_scalars() {
        assert!(as_bool(&Some(json!("true"))).unwrap());
        assert!(as_bool(&Some(json!(true))).unwrap());
        assert!(!as_bool(&None).unwrap());
        assert!(as_bool(&Some(json!("yes"))).is_err());
        assert_eq!(as_u64(&Some(json!("5000"))).unwrap(), Some(5000));
        assert_eq!(as_u64(&Some(json!(7))).unwrap(), Some(7));
    }
}
