//! The content host (`/cdproxy/`): multipart uploads (streamed to a temp blob while the
//! MD5 is computed), overwrites, downloads with Range, the redirect of large downloads to
//! a presigned URL, and tempLinks. The late-upload and dropped-connection faults live here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures::StreamExt;
use md5::{Digest, Md5};
use tokio::io::AsyncSeekExt;

use super::conn::Cutter;
use super::error::ApiError;
use super::metadata::{NodeBody, presigned_url, query_map};
use super::oauth::Caller;
use super::store::{Kind, NewNode, Node, StagedBlob, Status};
use super::wire::node_json;
use super::{Emu, ids};

type ApiResult = Result<Response, ApiError>;

const METADATA_LIMIT: usize = 64 * 1024;
/// A dropped upload is cut after this many content bytes (or at its end if smaller).
const DROP_AFTER: u64 = 32 * 1024;

/// What a multipart body held.
struct Received {
    metadata: Option<Bytes>,
    blob: Option<StagedBlob>,
    too_large: bool,
}

fn unreadable() -> ApiError {
    ApiError::bad_request("Cannot read from request.")
}

/// Reads a multipart body: the `metadata` part into memory, the file part into a temp
/// blob, hashing as it goes. Parts may come in either order; extra part headers,
/// unquoted filenames and an epilogue after the closing delimiter are all accepted.
async fn receive(
    emu: &Emu,
    headers: &HeaderMap,
    body: Body,
    cutter: &Cutter,
) -> Result<Received, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(unreadable)?;
    let boundary = multer::parse_boundary(content_type).map_err(|_| unreadable())?;
    let mut multipart = multer::Multipart::new(body.into_data_stream(), boundary);
    let drop_connection = emu.roll(|f| f.drop_rate);
    let max_size = emu.settings().max_file_size;
    let mut received = Received {
        metadata: None,
        blob: None,
        too_large: false,
    };
    while let Some(mut field) = multipart.next_field().await.map_err(|_| unreadable())? {
        let is_content = field.file_name().is_some() || field.name() == Some("content");
        if field.name() == Some("metadata") && received.metadata.is_none() {
            let mut buf = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|_| unreadable())? {
                buf.extend_from_slice(&chunk);
                if buf.len() > METADATA_LIMIT {
                    return Err(ApiError::bad_request("metadata part is too large"));
                }
            }
            received.metadata = Some(Bytes::from(buf));
        } else if is_content && received.blob.is_none() {
            let path = emu.with_store(|s| Ok::<_, ApiError>(s.temp_path()))?;
            let result =
                write_blob(emu, &mut field, &path, max_size, drop_connection, cutter).await;
            match result {
                Ok(Some(blob)) => received.blob = Some(blob),
                Ok(None) => received.too_large = true,
                Err(err) => {
                    let _ = tokio::fs::remove_file(&path).await;
                    return Err(err);
                }
            }
        } else {
            while field.chunk().await.map_err(|_| unreadable())?.is_some() {}
        }
    }
    Ok(received)
}

/// Streams one part into `path`. `Ok(None)` when it exceeded the size cap (drained, not kept).
async fn write_blob(
    emu: &Emu,
    field: &mut multer::Field<'_>,
    path: &std::path::Path,
    max_size: u64,
    drop_connection: bool,
    cutter: &Cutter,
) -> Result<Option<StagedBlob>, ApiError> {
    let io_error = |e: std::io::Error| {
        tracing::error!("writing upload: {e}");
        ApiError::app(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Cannot complete upload",
            "",
        )
    };
    // A writer thread hashes and writes while this task reads the next network chunks;
    // those are small, so they are gathered into 1 MiB blocks first.
    let durable = emu.with_store(|s| Ok::<_, ApiError>(s.durable))?;
    let file = std::fs::File::create(path).map_err(io_error)?;
    let (blocks, mut incoming) = tokio::sync::mpsc::channel::<Vec<Bytes>>(4);
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        use std::io::Write;
        let mut file = file;
        let mut hasher = Md5::new();
        while let Some(block) = incoming.blocking_recv() {
            for chunk in &block {
                hasher.update(chunk);
            }
            let mut slices: Vec<std::io::IoSlice> =
                block.iter().map(|c| std::io::IoSlice::new(c)).collect();
            let mut slices = slices.as_mut_slice();
            // (An empty slice left at the end would make write_vectored answer 0.)
            while slices.iter().any(|s| !s.is_empty()) {
                let n = file.write_vectored(slices)?;
                if n == 0 {
                    return Err(std::io::ErrorKind::WriteZero.into());
                }
                std::io::IoSlice::advance_slices(&mut slices, n);
            }
        }
        if durable {
            file.sync_all()?;
        }
        Ok(hex::encode(hasher.finalize()))
    });
    // The network's chunks, gathered (not copied) until they add up to a block.
    let mut block: Vec<Bytes> = Vec::new();
    let mut gathered = 0;
    let mut size: u64 = 0;
    let mut keep = true;
    let mut writer_gone = false;
    while let Some(chunk) = field.chunk().await.map_err(|_| unreadable())? {
        size += chunk.len() as u64;
        if drop_connection && size >= DROP_AFTER {
            break;
        }
        if size > max_size {
            keep = false;
        }
        if keep && !chunk.is_empty() {
            gathered += chunk.len();
            block.push(chunk);
            if gathered >= BLOCK {
                gathered = 0;
                writer_gone |= blocks.send(std::mem::take(&mut block)).await.is_err();
            }
        }
    }
    if keep && !block.is_empty() && !drop_connection {
        writer_gone |= blocks.send(block).await.is_err();
    }
    drop(blocks);
    let written = writer.await.map_err(|e| io_error(std::io::Error::other(e)));
    if drop_connection {
        let _ = tokio::fs::remove_file(path).await;
        emu.count(|s| s.dropped_connections += 1);
        cutter.cut();
        return Err(unreadable());
    }
    let md5 = written?.map_err(io_error)?;
    if writer_gone {
        return Err(io_error(std::io::Error::other("the blob writer stopped")));
    }
    if !keep {
        let _ = tokio::fs::remove_file(path).await;
        return Ok(None);
    }
    Ok(Some(StagedBlob {
        path: path.to_path_buf(),
        size,
        md5,
    }))
}

/// Uploads are hashed and written in blocks of this size.
const BLOCK: usize = 1 << 20;

fn discard(blob: Option<StagedBlob>) {
    if let Some(blob) = blob {
        let _ = std::fs::remove_file(blob.path);
    }
}

fn too_large(emu: &Emu) -> ApiError {
    ApiError::bad_request(format!(
        "Cannot complete upload: the file exceeds the maximum file size of {} bytes",
        emu.settings().max_file_size
    ))
}

pub async fn upload(
    State(emu): State<Arc<Emu>>,
    Extension(caller): Extension<Caller>,
    ConnectInfo(cutter): ConnectInfo<Cutter>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let query = query_map(raw);
    let received = receive(&emu, &headers, body, &cutter).await?;
    if received.too_large {
        discard(received.blob);
        return Err(too_large(&emu));
    }
    let (Some(metadata), Some(blob)) = (received.metadata, received.blob) else {
        return Err(ApiError::bad_request(
            "An upload needs a metadata part and a content part",
        ));
    };
    let metadata: NodeBody = match super::metadata::json_body(&metadata) {
        Ok(m) => m,
        Err(e) => {
            discard(Some(blob));
            return Err(e);
        }
    };
    if metadata.kind.as_deref().is_some_and(|k| k != "FILE") {
        discard(Some(blob));
        return Err(ApiError::bad_request("uploads must have kind FILE"));
    }
    let Some(name) = metadata.name else {
        discard(Some(blob));
        return Err(ApiError::bad_request("name is required"));
    };
    let suppress_dedup = query
        .get("suppress")
        .is_some_and(|s| s.split(',').any(|v| v.trim() == "deduplication"));
    if !suppress_dedup && let Some(existing) = emu.with_store(|s| s.find_by_md5(&blob.md5))? {
        let md5 = blob.md5.clone();
        discard(Some(blob));
        return Err(ApiError::App {
            status: StatusCode::CONFLICT,
            message: format!(
                "Attempted to upload a duplicate File. md5: {md5}, conflicting NodeId: {existing}"
            ),
            code: "DUPLICATE_CONTENT".into(),
            info: Some(serde_json::json!({ "nodeId": existing })),
        });
    }
    let spec = NewNode {
        name,
        parents: metadata.parents,
        labels: metadata.labels,
        description: metadata.description,
        created_by: caller.app_name,
    };
    let size = blob.size;
    emu.count(|s| {
        s.uploads += 1;
        s.upload_bytes += size;
    });
    if let Some(late) = emu.faults().late_upload.filter(|l| size >= l.min_size) {
        // The body was read in full; answer with an error and let the node appear later.
        emu.count(|s| s.late_uploads += 1);
        emu.defer_upload(
            Instant::now() + Duration::from_millis(late.delay_ms),
            spec,
            blob,
        );
        let status = StatusCode::from_u16(late.status).unwrap_or(StatusCode::GATEWAY_TIMEOUT);
        return Err(ApiError::Empty(status));
    }
    let node = emu.with_store(|s| s.create_file(&spec, blob))?;
    emu.count(|s| s.nodes_created += 1);
    Ok((StatusCode::CREATED, Json(node_json(&node, None))).into_response())
}

pub async fn overwrite(
    State(emu): State<Arc<Emu>>,
    ConnectInfo(cutter): ConnectInfo<Cutter>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let received = receive(&emu, &headers, body, &cutter).await?;
    if received.too_large {
        discard(received.blob);
        return Err(too_large(&emu));
    }
    let Some(blob) = received.blob else {
        return Err(ApiError::bad_request("An overwrite needs a content part"));
    };
    let size = blob.size;
    let node = emu.with_store(|s| s.overwrite(&id, blob))?;
    emu.count(|s| {
        s.uploads += 1;
        s.upload_bytes += size;
    });
    Ok(Json(node_json(&node, None)).into_response())
}

/// The answer to a Range header for a body of `size` bytes.
#[derive(Debug, PartialEq)]
enum Span {
    Whole,
    Part(u64, u64),
    Unsatisfiable,
}

fn span(range: Option<&str>, size: u64) -> Span {
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else {
        return Span::Whole;
    };
    if spec.contains(',') {
        return Span::Whole; // Multiple ranges: allowed to answer with the whole body.
    }
    let Some((start, end)) = spec.split_once('-') else {
        return Span::Whole;
    };
    let (start, end) = (start.trim(), end.trim());
    if start.is_empty() {
        // Suffix: the last N bytes.
        return match end.parse::<u64>() {
            Ok(0) | Err(_) => Span::Unsatisfiable,
            Ok(_) if size == 0 => Span::Unsatisfiable,
            Ok(n) => Span::Part(size.saturating_sub(n), size - 1),
        };
    }
    let Ok(start) = start.parse::<u64>() else {
        return Span::Whole;
    };
    if start >= size {
        return Span::Unsatisfiable;
    }
    let last = if end.is_empty() {
        size - 1
    } else {
        match end.parse::<u64>() {
            Ok(e) if e >= start => e.min(size - 1),
            _ => return Span::Whole,
        }
    };
    Span::Part(start, last)
}

/// Serves a file's bytes with Range support; may drop the connection mid-body (fault).
async fn serve_blob(emu: &Emu, node: &Node, headers: &HeaderMap, cutter: Cutter) -> ApiResult {
    let Some(content) = node.content.clone() else {
        return Err(ApiError::bad_request(format!(
            "Node {} is a folder and has no content",
            node.id
        )));
    };
    let size = content.size;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, len) = match span(range, size) {
        Span::Whole => (StatusCode::OK, 0, size),
        Span::Part(a, b) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        Span::Unsatisfiable => {
            let mut r = ApiError::app(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "Requested range not satisfiable",
                "",
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(r);
        }
    };
    let path = emu.with_store(|s| Ok::<_, ApiError>(s.blob_path(&content.blob)))?;
    let mut file = tokio::fs::File::open(&path).await.map_err(|e| {
        tracing::error!("opening blob {}: {e}", path.display());
        ApiError::app(StatusCode::INTERNAL_SERVER_ERROR, "Internal failure", "")
    })?;
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|e| {
                tracing::error!("seeking blob {}: {e}", path.display());
                ApiError::app(StatusCode::INTERNAL_SERVER_ERROR, "Internal failure", "")
            })?;
    }
    use tokio::io::AsyncReadExt;
    let reader = tokio_util::io::ReaderStream::with_capacity(file.take(len), 256 * 1024);
    emu.count(|s| {
        s.downloads += 1;
        s.download_bytes += len;
    });
    let body = if emu.roll(|f| f.drop_rate) && len > 0 {
        // Send the first half, then cut the connection: the client got fewer bytes than
        // Content-Length promised, exactly what a dropped connection looks like.
        emu.count(|s| s.dropped_connections += 1);
        let stream = reader
            .scan(len / 2, |left, chunk| {
                futures::future::ready(match chunk {
                    Ok(_) if *left == 0 => None,
                    Ok(mut bytes) => {
                        bytes.truncate((*left).min(bytes.len() as u64) as usize);
                        *left -= bytes.len() as u64;
                        Some(Ok(bytes))
                    }
                    Err(e) => Some(Err(e)),
                })
            })
            .chain(futures::stream::once(async move {
                // Let what was sent reach the client first: a drop mid-body, not before it.
                tokio::time::sleep(Duration::from_millis(100)).await;
                cutter.cut();
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "dropped",
                ))
            }));
        Body::from_stream(stream)
    } else {
        Body::from_stream(reader)
    };
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content.content_type.as_str())
        .header(header::CONTENT_LENGTH, len)
        .header(header::ACCEPT_RANGES, "bytes");
    if status == StatusCode::PARTIAL_CONTENT {
        response = response.header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{size}", start + len - 1),
        );
    }
    response
        .body(body)
        .map_err(|e| ApiError::app(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), ""))
}

fn live_file(emu: &Emu, id: &str) -> Result<Node, ApiError> {
    let node = emu.with_store(|s| s.require(id))?;
    if node.status == Status::Purged {
        return Err(ApiError::not_found(id));
    }
    if node.kind != Kind::File {
        return Err(ApiError::bad_request(format!(
            "Node {id} is a folder and has no content"
        )));
    }
    Ok(node)
}

pub async fn download(
    State(emu): State<Arc<Emu>>,
    ConnectInfo(cutter): ConnectInfo<Cutter>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let node = live_file(&emu, &id)?;
    let size = node.content.as_ref().map_or(0, |c| c.size);
    let settings = emu.settings();
    if size > settings.direct_download_limit {
        // Above ~10 GiB Amazon sent clients to a presigned S3 URL, which refuses bearer tokens.
        let token = emu.templink_token(&node.id);
        let location = presigned_url(&emu.base_url, &token, settings.templink_ttl_secs);
        return Response::builder()
            .status(StatusCode::TEMPORARY_REDIRECT)
            .header(header::LOCATION, location)
            .body(Body::empty())
            .map_err(|e| ApiError::app(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), ""));
    }
    serve_blob(&emu, &node, &headers, cutter).await
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>\
         <RequestId>{}</RequestId><HostId>{}</HostId></Error>",
        ids::opaque(16),
        ids::opaque(40)
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

fn double_auth() -> Response {
    s3_error(
        StatusCode::BAD_REQUEST,
        "InvalidArgument",
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
    )
}

/// `GET /cdproxy/templink/{token}`: pre-authenticated, so a bearer token is refused.
pub async fn templink(
    State(emu): State<Arc<Emu>>,
    ConnectInfo(cutter): ConnectInfo<Cutter>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        return double_auth();
    }
    let node_id = match emu.templink_node(&token) {
        Ok(id) => id,
        Err(true) => {
            return ApiError::app(StatusCode::GONE, "The temporary link has expired", "")
                .into_response();
        }
        Err(false) => {
            return ApiError::app(
                StatusCode::NOT_FOUND,
                "The temporary link does not exist",
                "",
            )
            .into_response();
        }
    };
    let result = match live_file(&emu, &node_id) {
        Ok(node) => serve_blob(&emu, &node, &headers, cutter).await,
        Err(e) => Err(e),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /s3/{bucket}/{token}?X-Amz-…`: a presigned URL as S3 answered it.
pub async fn presigned(
    State(emu): State<Arc<Emu>>,
    ConnectInfo(cutter): ConnectInfo<Cutter>,
    Path((_bucket, token)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        return double_auth();
    }
    if !query_map(raw).contains_key("X-Amz-Algorithm") {
        return s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Query-string authentication requires the X-Amz-Algorithm parameter",
        );
    }
    let node_id = match emu.templink_node(&token) {
        Ok(id) => id,
        Err(true) => return s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired"),
        Err(false) => {
            return s3_error(
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            );
        }
    };
    let result = match live_file(&emu, &node_id) {
        Ok(node) => serve_blob(&emu, &node, &headers, cutter).await,
        Err(e) => Err(e),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(span(None, 10), Span::Whole);
        assert_eq!(span(Some("bytes=0-4"), 10), Span::Part(0, 4));
        assert_eq!(span(Some("bytes=5-"), 10), Span::Part(5, 9));
        assert_eq!(span(Some("bytes=5-100"), 10), Span::Part(5, 9));
        assert_eq!(span(Some("bytes=-3"), 10), Span::Part(7, 9));
        assert_eq!(span(Some("bytes=10-"), 10), Span::Unsatisfiable);
        assert_eq!(span(Some("bytes=0-"), 0), Span::Unsatisfiable);
        assert_eq!(span(Some("bytes=4-2"), 10), Span::Whole);
        assert_eq!(span(Some("bytes=0-1,4-5"), 10), Span::Whole);
        assert_eq!(span(Some("items=0-1"), 10), Span::Whole);
    }
}
