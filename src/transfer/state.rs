//! The states a transfer passes through (DESIGN.md), each a value the UI can draw and a
//! sentence a person would say. While it moves, its state is the drive client's phase
//! (uploading, waiting for Amazon, fetching a tempLink, retrying…), reported as it happens.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

pub use crate::drive::observe::Phase;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TransferState {
    Queued,
    Active(Phase),
    Done,
    Failed { reason: String },
    Skipped { reason: String },
    Cancelled,
}

impl TransferState {
    /// Finished, one way or another: nothing more will happen unless the user retries.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Done | Self::Failed { .. } | Self::Skipped { .. } | Self::Cancelled
        )
    }

    /// Moving bytes or talking to the server right now.
    pub fn is_active(&self) -> bool {
        matches!(self, Self::Active(_))
    }

    /// The state as the queue panel says it, relative to `now`.
    pub fn describe(&self, now: SystemTime) -> String {
        let left = |until: &SystemTime| until.duration_since(now).map(|d| d.as_secs()).unwrap_or(0);
        match self {
            Self::Queued => "queued".into(),
            Self::Active(phase) => match phase {
                Phase::Hashing => "computing MD5".into(),
                Phase::Uploading => "uploading".into(),
                Phase::UploadWait { poll, of, until } => {
                    let s = left(until);
                    format!(
                        "waiting for Amazon to finish processing — poll {poll}/{of}, {}:{:02} left",
                        s / 60,
                        s % 60
                    )
                }
                Phase::TempLink => "fetching a temporary link".into(),
                Phase::Downloading => "downloading".into(),
                Phase::Verifying => "verifying MD5".into(),
                Phase::Retrying {
                    attempt,
                    of,
                    reason,
                    until,
                } => {
                    format!(
                        "retrying {attempt}/{of} in {} s ({})",
                        left(until),
                        plain_reason(reason)
                    )
                }
            },
            Self::Done => "done".into(),
            Self::Failed { reason } => format!("failed: {reason}"),
            Self::Skipped { reason } => format!("skipped: {reason}"),
            Self::Cancelled => "cancelled".into(),
        }
    }
}

/// `429 {"message":"Rate exceeded"}` → `429 Too Many Requests`.
fn plain_reason(reason: &str) -> String {
    let code = reason.split_whitespace().next().unwrap_or_default();
    let name = match code {
        "429" => "Too Many Requests",
        "500" => "Internal Server Error",
        "502" => "Bad Gateway",
        "503" => "Service Unavailable",
        "504" => "Gateway Timeout",
        "408" => "Request Timeout",
        _ => return reason.chars().take(60).collect(),
    };
    format!("{code} {name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn states_in_words() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let wait = TransferState::Active(Phase::UploadWait {
            poll: 3,
            of: 40,
            until: now + Duration::from_secs(161),
        });
        assert_eq!(
            wait.describe(now),
            "waiting for Amazon to finish processing — poll 3/40, 2:41 left"
        );
        let retry = TransferState::Active(Phase::Retrying {
            attempt: 2,
            of: 3,
            reason: "429 {\"message\":\"Rate exceeded\"}".into(),
            until: now + Duration::from_secs(4),
        });
        assert_eq!(
            retry.describe(now),
            "retrying 2/3 in 4 s (429 Too Many Requests)"
        );
        assert_eq!(
            TransferState::Skipped {
                reason: "over the 50 GB limit".into()
            }
            .describe(now),
            "skipped: over the 50 GB limit"
        );
        assert!(TransferState::Done.is_final());
        assert!(!TransferState::Queued.is_active());
        assert!(TransferState::Active(Phase::Verifying).is_active());
    }
}
