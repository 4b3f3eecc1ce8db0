//! The OAuth token as rclone stores it in the config: x/oauth2's JSON with exactly the keys
//! `access_token`, `token_type`, `refresh_token`, `expiry` (RFC 3339, nanoseconds, trailing
//! zeros trimmed as Go prints them); legacy capitalised keys are read too.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub refresh_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "go_time")]
    pub expiry: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct LegacyToken {
    #[serde(rename = "AccessToken")]
    access_token: String,
    #[serde(rename = "RefreshToken", default)]
    refresh_token: String,
    #[serde(rename = "Expiry", default, with = "go_time")]
    expiry: Option<DateTime<Utc>>,
}

impl Token {
    pub fn parse(text: &str) -> Result<Token, String> {
        if let Ok(t) = serde_json::from_str::<Token>(text) {
            return Ok(t);
        }
        match serde_json::from_str::<LegacyToken>(text) {
            Ok(l) => Ok(Token {
                access_token: l.access_token,
                token_type: "bearer".into(),
                refresh_token: l.refresh_token,
                expiry: l.expiry,
            }),
            Err(e) => Err(format!(
                "not an OAuth token in JSON ({e}); re-authorize the remote"
            )),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Valid while `now < expiry − 10 s`, as x/oauth2 judges it.
    pub fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        match self.expiry {
            None => !self.access_token.is_empty(),
            Some(expiry) => {
                !self.access_token.is_empty() && now < expiry - chrono::Duration::seconds(10)
            }
        }
    }
}

/// Go's RFC3339Nano: nanoseconds with trailing zeros trimmed.
pub fn go_rfc3339(at: DateTime<Utc>) -> String {
    let full = at.to_rfc3339_opts(SecondsFormat::Nanos, true);
    match full.split_once('.') {
        Some((head, frac)) => {
            let digits = frac.trim_end_matches('Z').trim_end_matches('0');
            if digits.is_empty() {
                format!("{head}Z")
            } else {
                format!("{head}.{digits}Z")
            }
        }
        None => full,
    }
}

mod go_time {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(t) => s.serialize_str(&super::go_rfc3339(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        match text.as_deref() {
            None | Some("") | Some("0001-01-01T00:00:00Z") => Ok(None),
            Some(t) => DateTime::parse_from_rfc3339(t)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rclone_token_round_trips_exactly() {
        let line = r#"{"access_token":"fake-access-2","token_type":"bearer","refresh_token":"peers-refresh-token","expiry":"2026-12-03T16:58:43.766861027Z"}"#;
        let t = Token::parse(line).unwrap();
        assert_eq!(t.to_json(), line);
        let trimmed = r#"{"access_token":"a","token_type":"bearer","refresh_token":"r","expiry":"2026-12-03T17:34:52.03466358Z"}"#;
        assert_eq!(Token::parse(trimmed).unwrap().to_json(), trimmed);
        let offset =
            Token::parse(r#"{"access_token":"a","expiry":"2015-09-06T16:07:39.658438471+01:00"}"#)
                .unwrap();
        assert_eq!(
            go_rfc3339(offset.expiry.unwrap()),
            "2015-09-06T15:07:39.658438471Z"
        );
    }

    #[test]
    fn legacy_and_broken_tokens() {
        let t = Token::parse(
            r#"{"AccessToken":"a","RefreshToken":"r","Expiry":"2016-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(t.refresh_token, "r");
        assert!(
            Token::parse("{not json")
                .unwrap_err()
                .contains("re-authorize")
        );
    }

    #[test]
    fn freshness_has_a_ten_second_margin() {
        let now = Utc::now();
        let mut t = Token::parse(r#"{"access_token":"a"}"#).unwrap();
        t.expiry = Some(now + chrono::Duration::seconds(11));
        assert!(t.is_fresh(now));
        t.expiry = Some(now + chrono::Duration::seconds(9));
        assert!(!t.is_fresh(now));
    }
}
