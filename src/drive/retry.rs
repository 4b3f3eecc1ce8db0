//! One retry policy for every call, modelled on rclone's pacer: 429 (honouring
//! Retry-After), 500/502/503/504, connection errors and the spurious SigV4 403 are retried
//! with exponential backoff and jitter; everything else is answered at once.

use std::time::Duration;

use rand::Rng;
use reqwest::StatusCode;

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts after the first for one call (rclone's --low-level-retries, default 10).
    pub retries: u32,
    /// The first backoff; each further one doubles, up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 10,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt` (1-based): exponential, with full jitter in its upper half.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        let factor = rand::rng().random_range(0.5..=1.0);
        capped.mul_f64(factor)
    }

    /// The wait a 429 asks for, when it says (capped, so a wild header cannot stall us).
    pub fn retry_after(&self, header: Option<&str>) -> Option<Duration> {
        let secs: u64 = header?.trim().parse().ok()?;
        Some(Duration::from_secs(secs).min(self.max_delay.max(Duration::from_secs(1))))
    }
}

/// Whether an answer with this status (and body) is worth trying again.
pub fn retryable_status(status: StatusCode, body: &str) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504 | 408)
        || (status == StatusCode::FORBIDDEN && body.contains("Authorization header requires"))
}
