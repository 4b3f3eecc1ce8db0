//! The emulator's knobs: service behaviour (`Settings`) and fault injection (`Faults`).
//! Both are set by flags at start and changed at run time through `/_emu/settings` and
//! `/_emu/faults` with a partial JSON object (only the keys given change).

use serde::{Deserialize, Serialize};

pub const GIB: u64 = 1 << 30;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `/ap/oa` redirects at once instead of showing the consent page.
    pub auto_approve: bool,
    /// Lifetime of access tokens, in seconds (Amazon: 3600).
    pub token_ttl_secs: u64,
    /// Each refresh hands out a new refresh token and revokes the old one. Off by default:
    /// the service's behaviour is unconfirmed and rclone's fixture kept its refresh token.
    pub rotate_refresh_tokens: bool,
    /// Lifetime of tempLinks, in seconds (Amazon documented 48 h).
    pub templink_ttl_secs: u64,
    /// Files above this many bytes are not served directly: the content host redirects to
    /// a presigned URL that refuses a bearer token, so clients must use tempLink.
    pub direct_download_limit: u64,
    /// Uploads above this many bytes fail after the whole body was sent (Amazon: ~50 GB).
    pub max_file_size: u64,
    /// Account quota in bytes, reported by `account/quota`.
    pub quota: u64,
    /// Lifetime of listing page tokens, in seconds (Amazon: about 10 minutes).
    pub page_token_ttl_secs: u64,
    /// Largest and default page size of listings.
    pub page_size: u64,
    /// Nodes per change set in the changes stream when the client sends no chunkSize.
    pub changes_chunk_size: u64,
    /// Trashed nodes are purged after this many days (Amazon: 30).
    pub trash_retention_days: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            auto_approve: false,
            token_ttl_secs: 3600,
            rotate_refresh_tokens: false,
            templink_ttl_secs: 48 * 3600,
            direct_download_limit: 10 * GIB,
            max_file_size: 50_000_000_000,
            quota: 100 * GIB,
            page_token_ttl_secs: 600,
            page_size: 200,
            changes_chunk_size: 500,
            trash_retention_days: 30,
        }
    }
}

/// Uploads of at least `min_size` bytes are answered with `status` (no body) after the
/// whole body was read, and the node appears `delay_ms` later: the "upload failed but the
/// file shows up" quirk of §11.4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LateUpload {
    pub min_size: u64,
    pub status: u16,
    pub delay_ms: u64,
}

impl Default for LateUpload {
    fn default() -> Self {
        LateUpload {
            min_size: GIB,
            status: 504,
            delay_ms: 2000,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Share of API requests answered `429 {"message":"Rate exceeded"}` (0.0–1.0).
    pub rate_429: f64,
    /// `Retry-After` seconds sent with injected 429s.
    pub retry_after_secs: u64,
    /// Share of API requests answered 500/502/503/504.
    pub rate_5xx: f64,
    /// Share of API requests answered with the spurious SigV4 403 of §2.4.
    pub rate_403: f64,
    /// Share of uploads and downloads whose connection is dropped mid-body.
    pub drop_rate: f64,
    /// Added latency for every API request, in milliseconds.
    pub latency_ms: u64,
    /// The late-upload quirk; off when absent.
    pub late_upload: Option<LateUpload>,
    /// Cut the changes stream before `{"end":true}`.
    pub truncate_changes: bool,
}

impl Faults {
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("rate_429", self.rate_429),
            ("rate_5xx", self.rate_5xx),
            ("rate_403", self.rate_403),
            ("drop_rate", self.drop_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1, got {rate}"));
            }
        }
        Ok(())
    }
}

/// Applies a partial JSON object to a value: only the keys present change.
pub fn merge<T: Serialize + for<'de> Deserialize<'de>>(
    current: &T,
    patch: serde_json::Value,
) -> Result<T, String> {
    let mut value = serde_json::to_value(current).map_err(|e| e.to_string())?;
    let (Some(target), serde_json::Value::Object(changes)) = (value.as_object_mut(), patch) else {
        return Err("expected a JSON object".into());
    };
    for (key, change) in changes {
        target.insert(key, change);
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn partial_updates_touch_only_given_keys() {
        let base = Faults::default();
        let next = merge(
            &base,
            json!({"rate_429": 0.2, "late_upload": {"min_size": 1}}),
        )
        .unwrap();
        assert_eq!(next.rate_429, 0.2);
        assert_eq!(next.late_upload.unwrap().status, 504);
        assert_eq!(next.rate_5xx, 0.0);
        assert!(merge(&base, json!({"rate_428": 1})).is_err());
        assert!(merge(&base, json!([1])).is_err());
    }
}
