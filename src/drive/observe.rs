//! How a caller watches a transfer without the client knowing who is watching: a
//! task-local observer, set by whoever runs the call (the transfer engine), told about
//! phases, retries and bytes moved. Calls made without one report to nobody.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// What a transfer is doing now.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Phase {
    Hashing,
    Uploading,
    /// The server errored after the whole body was sent; polling for the file to appear.
    UploadWait {
        poll: u32,
        of: u32,
        until: SystemTime,
    },
    /// Fetching a temporary link for a large download.
    TempLink,
    Downloading,
    Verifying,
    /// A request failed and will be tried again.
    Retrying {
        attempt: u32,
        of: u32,
        reason: String,
        until: SystemTime,
    },
}

pub trait Observer: Send + Sync {
    fn phase(&self, phase: Phase);
}

/// The observer of the current task, with a byte counter the transfer adds to.
#[derive(Clone)]
pub struct Watch {
    pub observer: Arc<dyn Observer>,
    pub bytes: Arc<AtomicU64>,
}

tokio::task_local! {
    static WATCH: Watch;
}

/// Runs `fut` with `watch` told about what the client does inside it.
pub async fn watched<F: std::future::Future>(watch: Watch, fut: F) -> F::Output {
    WATCH.scope(watch, fut).await
}

pub(crate) fn phase(p: Phase) {
    let _ = WATCH.try_with(|w| w.observer.phase(p));
}

pub(crate) fn retrying(attempt: u32, of: u32, reason: &str, wait: Duration) {
    phase(Phase::Retrying {
        attempt,
        of,
        reason: reason.to_string(),
        until: SystemTime::now() + wait,
    });
}

/// Bytes moved (a restart is expressed by `reset_bytes`).
pub(crate) fn add_bytes(n: u64) {
    let _ = WATCH.try_with(|w| w.bytes.fetch_add(n, Ordering::Relaxed));
}

/// The current task's byte counter, for code that runs elsewhere (a request body is
/// polled by the HTTP connection's task, where the task-local is not set).
pub(crate) fn byte_counter() -> Option<Arc<AtomicU64>> {
    WATCH.try_with(|w| w.bytes.clone()).ok()
}

pub(crate) fn reset_bytes(to: u64) {
    let _ = WATCH.try_with(|w| w.bytes.store(to, Ordering::Relaxed));
}
