//! Identifiers and timestamps in the shapes Amazon Drive used: 22-character URL-safe
//! node ids, opaque tokens, and ISO-8601 UTC timestamps with milliseconds.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use rand::RngCore;

/// A node id: URL-safe base64 of 16 random bytes, 22 characters (may start with `-`).
pub fn node_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An opaque token of `len` URL-safe characters (page tokens, etags, codes).
pub fn opaque(len: usize) -> String {
    let mut bytes = vec![0u8; len.div_ceil(4) * 3];
    rand::rng().fill_bytes(&mut bytes);
    let mut s = URL_SAFE_NO_PAD.encode(bytes);
    s.truncate(len);
    s
}

/// A request id / logref in UUID form, as Amazon's gateways sent them.
pub fn logref() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `2014-03-07T22:31:12.173Z`
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn now() -> String {
    timestamp(Utc::now())
}

/// Parses a client-supplied date (RFC 3339, fraction optional) into the stored form, so
/// that string comparison in SQL orders dates correctly.
pub fn normalize_date(value: &str) -> Option<String> {
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|d| timestamp(d.with_timezone(&Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_are_22_url_safe_chars() {
        for _ in 0..100 {
            let id = node_id();
            assert_eq!(id.len(), 22);
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            );
        }
    }

    #[test]
    fn dates_normalize_to_millisecond_utc() {
        assert_eq!(
            normalize_date("2014-12-31T23:59:59Z").as_deref(),
            Some("2014-12-31T23:59:59.000Z")
        );
        assert_eq!(
            normalize_date("2015-09-06T16:07:39.658438471+01:00").as_deref(),
            Some("2015-09-06T15:07:39.658Z")
        );
        assert_eq!(normalize_date("yesterday"), None);
    }
}
