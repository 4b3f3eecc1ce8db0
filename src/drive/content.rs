//! Content transfers. Uploads stream the file as a multipart body, computing its MD5 as
//! the bytes go out (one pass, never the whole file in memory), and check the server's MD5.
//! Downloads stream into `.NAME.acdc-partial` beside the target, resume with Range after a
//! drop, use a tempLink at or above the threshold (fetching a new one when it expires), and
//! rename into place only when the MD5 matches the node's.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use md5::{Digest, Md5};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::model::Node;
use super::observe::{self, Phase};
use super::retry::retryable_status;
use super::{Client, DriveError, DriveResult, Verdict};

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> DriveError + '_ {
    move |source| DriveError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The MD5 of a local file, read in one pass (blocking: call it off the async threads).
pub fn file_md5(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// Chunks of an upload: 1 MiB, few in flight, so the file is never in memory.
const UPLOAD_CHUNK: usize = 1 << 20;
const CHUNKS_AHEAD: usize = 4;

type ChunkStream = futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>;

/// A chunk's buffer that goes back to the reader once the HTTP client has sent it. Fresh
/// megabytes cost page faults and zeroed pages on every chunk (the allocator hands freed
/// ones back to the kernel); reused ones are already mapped: measured, the client's CPU
/// per uploaded GiB drops by about a tenth.
struct Recycled {
    buf: Vec<u8>,
    home: std::sync::mpsc::Sender<Vec<u8>>,
}

impl AsRef<[u8]> for Recycled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        // If the reader is gone, the buffer is simply freed.
        let _ = self.home.send(std::mem::take(&mut self.buf));
    }
}

/// Reads `path` on a blocking thread, hashing each chunk into `hasher` before handing it to
/// the HTTP body: hashing runs beside the sending instead of in its way. If the body stops
/// being taken (the server answered early), the rest is still hashed, so the MD5 is the
/// whole file's once the handle completes.
fn read_and_hash(
    path: &Path,
    hasher: Arc<Mutex<Md5>>,
) -> DriveResult<(ChunkStream, tokio::task::JoinHandle<std::io::Result<()>>)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(io_err(path))?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(CHUNKS_AHEAD);
    let reader = tokio::task::spawn_blocking(move || {
        let mut taken = true;
        let (home, returned) = std::sync::mpsc::channel::<Vec<u8>>();
        loop {
            // read_to_end into spare capacity: a File reads straight into it, with no
            // zeroing of a megabyte first.
            let mut buf = returned
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(UPLOAD_CHUNK));
            buf.clear();
            if let Err(e) = (&mut file).take(UPLOAD_CHUNK as u64).read_to_end(&mut buf) {
                let copy = std::io::Error::new(e.kind(), e.to_string());
                let _ = tx.blocking_send(Err(copy));
                return Err(e);
            }
            if buf.is_empty() {
                return Ok(());
            }
            hasher
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .update(&buf);
            let chunk = bytes::Bytes::from_owner(Recycled {
                buf,
                home: home.clone(),
            });
            if taken && tx.blocking_send(Ok(chunk)).is_err() {
                taken = false;
            }
        }
    });
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed();
    Ok((stream, reader))
}

/// Where a download lands until it is verified.
pub fn partial_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.acdc-partial"))
}

impl Client {
    /// Uploads `local` as `name` into `parent`, or over node `overwrite`. Retries the whole
    /// body on retryable failures; a 409 after an earlier attempt whose node has our MD5 and
    /// size means that attempt landed after all (the late-upload quirk), which is success.
    pub async fn upload(
        &self,
        parent: &str,
        name: &str,
        local: &Path,
        overwrite: Option<&str>,
    ) -> DriveResult<Node> {
        let size = tokio::fs::metadata(local)
            .await
            .map_err(io_err(local))?
            .len();
        let mut attempt = 0u32;
        let mut refreshed = false;
        let mut token = self.auth.access_token().await?;
        loop {
            observe::phase(Phase::Uploading);
            observe::reset_bytes(0);
            let hasher = Arc::new(Mutex::new(Md5::new()));
            let sent_bytes = Arc::new(AtomicU64::new(0));
            let (chunks, reader) = read_and_hash(local, hasher.clone())?;
            let (count, watched) = (sent_bytes.clone(), observe::byte_counter());
            // Counted as the HTTP client takes each chunk: "the whole body was sent" must
            // mean sent, not read ahead.
            let stream = chunks.map(move |chunk| {
                if let Ok(bytes) = &chunk {
                    count.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    if let Some(w) = &watched {
                        w.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    }
                }
                chunk
            });
            let part = reqwest::multipart::Part::stream_with_length(
                reqwest::Body::wrap_stream(stream),
                size,
            )
            .file_name(name.to_string())
            .mime_str("application/octet-stream")
            .map_err(|e| DriveError::BadAnswer(e.to_string()))?;
            let (method, url, form) = match overwrite {
                Some(id) => (
                    reqwest::Method::PUT,
                    format!("{}nodes/{id}/content", self.endpoints.content_url),
                    reqwest::multipart::Form::new().part("content", part),
                ),
                None => {
                    let metadata =
                        serde_json::json!({"name": name, "kind": "FILE", "parents": [parent]})
                            .to_string();
                    (
                        reqwest::Method::POST,
                        format!("{}nodes?suppress=deduplication", self.endpoints.content_url),
                        reqwest::multipart::Form::new()
                            .text("metadata", metadata)
                            .part("content", part),
                    )
                }
            };
            let sent = self
                .http
                .request(method, &url)
                .bearer_auth(&token)
                .multipart(form)
                .send()
                .await;
            // The hash covers the whole file even when the server stopped reading early.
            match reader.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(io_err(local)(e)),
                Err(e) => return Err(DriveError::BadAnswer(format!("reading {name}: {e}"))),
            }
            let local_md5 = || {
                hex::encode(
                    hasher
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone()
                        .finalize(),
                )
            };
            let (problem, asked, failed_with) = match self.judge(sent, refreshed).await {
                Verdict::Done(resp) => {
                    observe::phase(Phase::Verifying);
                    let node: Node = resp
                        .json()
                        .await
                        .map_err(|e| DriveError::BadAnswer(e.to_string()))?;
                    let local = local_md5();
                    let remote = node.md5().unwrap_or_default().to_lowercase();
                    if remote != local || node.size() != size {
                        return Err(DriveError::Checksum {
                            path: name.to_string(),
                            local,
                            remote,
                        });
                    }
                    return Ok(node);
                }
                Verdict::Refresh => {
                    refreshed = true;
                    token = self.auth.refresh_after_rejection(&token).await?;
                    continue;
                }
                Verdict::Fail(DriveError::NameExists { existing, hint, .. }) => {
                    // After a failed attempt, a clash with our own bytes means it landed.
                    if attempt > 0 {
                        let found = self.node(&existing).await?;
                        if found.md5() == Some(local_md5().as_str()) && found.size() == size {
                            return Ok(found);
                        }
                    }
                    return Err(DriveError::NameExists {
                        name: name.to_string(),
                        existing,
                        hint,
                    });
                }
                Verdict::Fail(e) => return Err(e),
                Verdict::Retry {
                    problem,
                    wait,
                    status,
                } => (problem, wait, status),
            };
            // The whole body went out and the server still failed: Amazon was often still
            // processing, and the file appeared minutes later (rclone's upload wait, §11.4).
            // 502/503 come from gateways that never passed the request on: no wait then.
            let backend_may_have_it = matches!(failed_with, None | Some(408 | 500 | 504));
            if sent_bytes.load(Ordering::Relaxed) == size
                && backend_may_have_it
                && let Some(found) = self
                    .wait_for_upload(parent, name, overwrite, size, &local_md5())
                    .await?
            {
                return Ok(found);
            }
            attempt += 1;
            let wait = self.next_wait(attempt, problem, asked, name)?;
            let landed = match overwrite {
                None => self.find_child(parent, name).await.ok().flatten(),
                Some(_) => None,
            };
            if let Some(found) =
                landed.filter(|f| f.md5() == Some(local_md5().as_str()) && f.size() == size)
            {
                return Ok(found);
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Polls for an upload that failed after its whole body was sent, for
    /// `upload_wait_per_gb × size` (at least one poll), every `upload_wait_poll`.
    async fn wait_for_upload(
        &self,
        parent: &str,
        name: &str,
        overwrite: Option<&str>,
        size: u64,
        md5: &str,
    ) -> DriveResult<Option<Node>> {
        if self.upload_wait_per_gb.is_zero() {
            return Ok(None);
        }
        let total = self
            .upload_wait_per_gb
            .mul_f64(size as f64 / (1u64 << 30) as f64);
        let polls = (total.as_secs_f64() / self.upload_wait_poll.as_secs_f64())
            .ceil()
            .max(1.0) as u32;
        let until = std::time::SystemTime::now() + self.upload_wait_poll * polls;
        // Look at once (it may have landed already), then once per interval.
        for poll in 0..=polls {
            if poll > 0 {
                observe::phase(Phase::UploadWait {
                    poll,
                    of: polls,
                    until,
                });
                tokio::time::sleep(self.upload_wait_poll).await;
            }
            let found = match overwrite {
                None => self.find_child(parent, name).await?,
                Some(id) => Some(self.node(id).await?),
            };
            if let Some(node) = found.filter(|n| n.size() == size && n.md5() == Some(md5)) {
                observe::phase(Phase::Verifying);
                return Ok(Some(node));
            }
        }
        Ok(None)
    }

    /// Downloads file `node` to `target`. Returns the verified MD5.
    pub async fn download(
        &self,
        node: &Node,
        target: &Path,
        templink_threshold: u64,
    ) -> DriveResult<String> {
        let expected = node.md5().map(str::to_lowercase).ok_or_else(|| {
            DriveError::BadAnswer(format!("node {} has no MD5 to verify against", node.id))
        })?;
        let size = node.size();
        let partial = partial_path(target);
        let via_link = size >= templink_threshold;
        let mut link: Option<String> = None;
        let mut attempt = 0u32;
        loop {
            // Resume from what is already on disk (hashing it again: one MD5 over the whole file).
            let (mut hasher, have) = hash_existing(&partial).await?;
            if have > size {
                let _ = tokio::fs::remove_file(&partial).await;
                continue;
            }
            let outcome = if have == size {
                // Nothing (left) to fetch; an empty file still needs its partial to rename.
                if size == 0 {
                    tokio::fs::File::create(&partial)
                        .await
                        .map_err(io_err(&partial))?;
                }
                Ok(())
            } else {
                if via_link && link.is_none() {
                    observe::phase(Phase::TempLink);
                    link = Some(self.temp_link(&node.id).await?);
                }
                observe::phase(Phase::Downloading);
                observe::reset_bytes(have);
                self.fetch_into(node, &partial, have, link.as_deref(), &mut hasher)
                    .await
            };
            match outcome {
                Ok(()) => {
                    observe::phase(Phase::Verifying);
                    let got = hex::encode(hasher.finalize());
                    if got != expected {
                        let _ = tokio::fs::remove_file(&partial).await;
                        return Err(DriveError::Checksum {
                            path: target.display().to_string(),
                            local: got,
                            remote: expected,
                        });
                    }
                    tokio::fs::rename(&partial, target)
                        .await
                        .map_err(io_err(target))?;
                    return Ok(got);
                }
                Err(FetchError::LinkExpired) => link = None,
                Err(FetchError::Fatal(e)) => return Err(e),
                Err(FetchError::Retry(problem)) => {
                    attempt += 1;
                    let wait = self.next_wait(attempt, problem, None, &node.id)?;
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Appends bytes from `from` to `partial`, hashing them.
    async fn fetch_into(
        &self,
        node: &Node,
        partial: &Path,
        from: u64,
        link: Option<&str>,
        hasher: &mut Md5,
    ) -> Result<(), FetchError> {
        let range = (from > 0).then(|| format!("bytes={from}-"));
        let resp = match link {
            Some(url) => {
                // Pre-authenticated: never send the bearer token there.
                let mut req = self.http.get(url);
                if let Some(r) = &range {
                    req = req.header("Range", r);
                }
                match req.send().await {
                    Ok(r) if matches!(r.status().as_u16(), 403 | 404 | 410) => {
                        return Err(FetchError::LinkExpired);
                    }
                    Ok(r) => r,
                    Err(e) => return Err(FetchError::Retry(format!("connection: {e}"))),
                }
            }
            None => {
                let url = format!("{}nodes/{}/content", self.endpoints.content_url, node.id);
                let extra: Vec<(&str, String)> =
                    range.iter().map(|r| ("Range", r.clone())).collect();
                self.send(reqwest::Method::GET, &url, super::Payload::None, &extra)
                    .await
                    .map_err(FetchError::Fatal)?
            }
        };
        let status = resp.status();
        let append = match status.as_u16() {
            206 => true,
            200 => false,
            s if retryable_status(status, "") => return Err(FetchError::Retry(format!("{s}"))),
            s => {
                return Err(FetchError::Fatal(DriveError::Refused {
                    status: s,
                    message: "download refused".into(),
                }));
            }
        };
        if !append {
            // The whole body came back: start the file (and the hash) over.
            *hasher = Md5::new();
        }
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(partial)
            .await
            .map_err(|e| FetchError::Fatal(io_err(partial)(e)))?;
        // Network chunks are small; each tokio::fs write is a trip to the blocking pool.
        let mut file = tokio::io::BufWriter::with_capacity(1 << 20, file);
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(bytes) => {
                    hasher.update(&bytes);
                    observe::add_bytes(bytes.len() as u64);
                    file.write_all(&bytes)
                        .await
                        .map_err(|e| FetchError::Fatal(io_err(partial)(e)))?;
                }
                Err(e) => {
                    let _ = file.flush().await;
                    return Err(FetchError::Retry(format!("connection dropped: {e}")));
                }
            }
        }
        file.flush()
            .await
            .map_err(|e| FetchError::Fatal(io_err(partial)(e)))?;
        file.get_ref()
            .sync_all()
            .await
            .map_err(|e| FetchError::Fatal(io_err(partial)(e)))?;
        let len = tokio::fs::metadata(partial)
            .await
            .map_err(|e| FetchError::Fatal(io_err(partial)(e)))?
            .len();
        if len < node.size() {
            return Err(FetchError::Retry(format!(
                "short body: {len} of {} bytes",
                node.size()
            )));
        }
        Ok(())
    }
}

enum FetchError {
    LinkExpired,
    Retry(String),
    Fatal(DriveError),
}

/// The MD5 state and length of what a partial file already holds.
async fn hash_existing(path: &Path) -> DriveResult<(Md5, u64)> {
    let mut hasher = Md5::new();
    let mut file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((hasher, 0)),
        Err(e) => return Err(io_err(path)(e)),
    };
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf).await.map_err(io_err(path))?;
        if n == 0 {
            return Ok((hasher, total));
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
}
