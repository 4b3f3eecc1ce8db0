//! The options of an Amazon Drive remote, with rclone's names, types and defaults. Each is
//! a config key, a flag (`--acd-<key>`) and an environment variable (`RCLONE_ACD_<KEY>`);
//! a flag beats the environment, which beats the file.

use std::collections::HashMap;
use std::time::Duration;

use super::token::Token;
use super::{ACD_TYPE, ConfigError, ConfigFile};
use crate::names::Encoding;

pub const DEFAULT_ENDPOINT_URL: &str = "https://drive.amazonaws.com/drive/v1/account/endpoint";
pub const DEFAULT_AUTH_URL: &str = "https://www.amazon.com/ap/oa";
pub const DEFAULT_TOKEN_URL: &str = "https://api.amazon.com/auth/o2/token";

/// One option: its config key and default; the flag and variable names derive from the key.
pub struct OptionSpec {
    pub key: &'static str,
    pub default: &'static str,
    pub help: &'static str,
}

pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        key: "client_id",
        default: "",
        help: "OAuth client id of your Login with Amazon security profile",
    },
    OptionSpec {
        key: "client_secret",
        default: "",
        help: "OAuth client secret",
    },
    OptionSpec {
        key: "token",
        default: "",
        help: "OAuth token as JSON (written by acdc and rclone)",
    },
    OptionSpec {
        key: "auth_url",
        default: "",
        help: "authorization URL; blank for Amazon's",
    },
    OptionSpec {
        key: "token_url",
        default: "",
        help: "token URL; blank for Amazon's",
    },
    OptionSpec {
        key: "checkpoint",
        default: "",
        help: "changes-feed checkpoint (kept up to date by acdc)",
    },
    OptionSpec {
        key: "upload_wait_per_gb",
        default: "3m0s",
        help: "after a server error at the end of an upload, wait this long per GiB for the file to appear",
    },
    OptionSpec {
        key: "templink_threshold",
        default: "9Gi",
        help: "files of this size or more are downloaded through a tempLink",
    },
    OptionSpec {
        key: "encoding",
        default: "Slash,InvalidUtf8,Dot",
        help: "how names are encoded on the Drive (rclone's encoder flags)",
    },
    OptionSpec {
        key: "endpoint_url",
        default: DEFAULT_ENDPOINT_URL,
        help: "endpoint-discovery URL (point it at acd-emu to use the emulator)",
    },
];

impl OptionSpec {
    pub fn flag(&self) -> String {
        format!("acd-{}", self.key.replace('_', "-"))
    }

    pub fn env(&self) -> String {
        format!("RCLONE_ACD_{}", self.key.to_uppercase())
    }
}

/// A resolved remote, ready for the drive client.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteOptions {
    pub name: String,
    pub client_id: String,
    pub client_secret: String,
    pub token: Option<Token>,
    pub auth_url: String,
    pub token_url: String,
    pub checkpoint: Option<String>,
    pub upload_wait_per_gb: Duration,
    pub templink_threshold: u64,
    pub encoding: Encoding,
    pub endpoint_url: String,
}

impl RemoteOptions {
    /// Resolves remote `name`: `overrides` (flags, keyed by config key) over `env` over the file.
    pub fn resolve(
        file: &ConfigFile,
        name: &str,
        overrides: &HashMap<String, String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<RemoteOptions, ConfigError> {
        let section = file
            .section(name)
            .ok_or_else(|| ConfigError::NoSuchRemote(name.to_string()))?;
        let kind = section.get("type").map(String::as_str).unwrap_or_default();
        if kind != ACD_TYPE {
            return Err(ConfigError::WrongType {
                name: name.to_string(),
                kind: kind.to_string(),
            });
        }
        let value = |spec: &OptionSpec| -> String {
            overrides
                .get(spec.key)
                .cloned()
                .or_else(|| env(&spec.env()))
                .or_else(|| section.get(spec.key).cloned())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| spec.default.to_string())
        };
        let get = |key: &str| {
            let spec = OPTIONS.iter().find(|o| o.key == key).expect("known option");
            value(spec)
        };
        let bad = |key: &str, value: String, message: String| ConfigError::BadValue {
            remote: name.to_string(),
            key: key.to_string(),
            value,
            message,
        };
        let token = match get("token") {
            t if t.is_empty() => None,
            t => Some(Token::parse(&t).map_err(|e| bad("token", t.clone(), e))?),
        };
        let wait = get("upload_wait_per_gb");
        let threshold = get("templink_threshold");
        let encoding = get("encoding");
        Ok(RemoteOptions {
            name: name.to_string(),
            client_id: get("client_id"),
            client_secret: get("client_secret"),
            token,
            auth_url: Some(get("auth_url"))
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| DEFAULT_AUTH_URL.into()),
            token_url: Some(get("token_url"))
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| DEFAULT_TOKEN_URL.into()),
            checkpoint: Some(get("checkpoint")).filter(|c| !c.is_empty()),
            upload_wait_per_gb: parse_duration(&wait)
                .map_err(|e| bad("upload_wait_per_gb", wait.clone(), e))?,
            templink_threshold: parse_size(&threshold)
                .map_err(|e| bad("templink_threshold", threshold.clone(), e))?,
            encoding: Encoding::parse(&encoding)
                .map_err(|e| bad("encoding", encoding.clone(), e.to_string()))?,
            endpoint_url: get("endpoint_url"),
        })
    }
}

/// A Go/rclone duration: `3m0s`, `180s`, `1h30m`, `1.5h`, `300ms`, `2d`, `0`, `off`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" || text == "off" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return Err(format!("{text:?} is not a duration like 3m0s"));
        }
        let number: f64 = rest[..number_len]
            .parse()
            .map_err(|_| format!("bad number in {text:?}"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            "w" => 7.0 * 86400.0,
            "" => return Err(format!("{text:?} lacks a unit (s, m, h…)")),
            unit => return Err(format!("unknown unit {unit:?} in {text:?}")),
        };
        total += number * seconds;
        rest = &rest[unit_len..];
    }
    Ok(Duration::from_secs_f64(total))
}

/// Formats like Go's `time.Duration.String()`: `3m0s`, `1h30m0s`, `500ms`, `0s`.
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".into();
    }
    if d < Duration::from_secs(1) {
        return format!("{}ms", d.as_millis());
    }
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let frac = d.subsec_nanos();
    let s = if frac == 0 {
        format!("{s}s")
    } else {
        let f = format!("{:09}", frac);
        format!("{s}.{}s", f.trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => s,
        (0, m) => format!("{m}m{s}"),
        (h, m) => format!("{h}h{m}m{s}"),
    }
}

/// rclone's SizeSuffix: a number with B, K/Ki, M/Mi, G/Gi, T/Ti, P/Pi (binary); a bare
/// number is KiB, as rclone reads it.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 9G or 512M"))?;
    let shift = match suffix
        .trim_end_matches(['i', 'B'])
        .to_ascii_uppercase()
        .as_str()
    {
        "" if suffix.eq_ignore_ascii_case("b") => 0,
        "" => 10,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        "P" => 50,
        _ => return Err(format!("unknown size suffix {suffix:?} in {text:?}")),
    };
    if number < 0.0 {
        return Err(format!("{text:?} is negative"));
    }
    Ok((number * (1u64 << shift) as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn durations_as_go_writes_them() {
        assert_eq!(parse_duration("3m0s").unwrap(), Duration::from_secs(180));
        assert_eq!(parse_duration("5m0s").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("300ms").unwrap(), Duration::from_millis(300));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("3").is_err());
        assert!(parse_duration("soon").is_err());
        assert_eq!(format_duration(Duration::from_secs(180)), "3m0s");
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m0s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn sizes_as_rclone_reads_them() {
        assert_eq!(parse_size("9G").unwrap(), 9 << 30);
        assert_eq!(parse_size("9Gi").unwrap(), 9 << 30);
        assert_eq!(parse_size("8G").unwrap(), 8 << 30);
        assert_eq!(parse_size("512M").unwrap(), 512 << 20);
        assert_eq!(
            parse_size("100").unwrap(),
            100 << 10,
            "a bare number is KiB"
        );
        assert_eq!(parse_size("100B").unwrap(), 100);
        assert_eq!(parse_size("1.5k").unwrap(), 1536);
        assert!(parse_size("9X").is_err());
    }

    #[test]
    fn flag_over_env_over_file() {
        let file = ConfigFile::parse(
            Path::new("t.conf"),
            "[d]\ntype = amazon cloud drive\nclient_id = from-file\nupload_wait_per_gb = 5m0s\ntemplink_threshold = 8G\n[s]\ntype = s3\n",
        )
        .unwrap();
        let no_env = |_: &str| None;
        let o = RemoteOptions::resolve(&file, "d", &HashMap::new(), &no_env).unwrap();
        assert_eq!(o.client_id, "from-file");
        assert_eq!(o.upload_wait_per_gb, Duration::from_secs(300));
        assert_eq!(o.templink_threshold, 8 << 30);
        assert_eq!(o.endpoint_url, DEFAULT_ENDPOINT_URL);
        assert_eq!(o.token_url, DEFAULT_TOKEN_URL);
        assert_eq!(o.encoding, Encoding::DRIVE);
        let env = |k: &str| (k == "RCLONE_ACD_CLIENT_ID").then(|| "from-env".to_string());
        assert_eq!(
            RemoteOptions::resolve(&file, "d", &HashMap::new(), &env)
                .unwrap()
                .client_id,
            "from-env"
        );
        let flags = HashMap::from([("client_id".to_string(), "from-flag".to_string())]);
        assert_eq!(
            RemoteOptions::resolve(&file, "d", &flags, &env)
                .unwrap()
                .client_id,
            "from-flag"
        );
        assert!(matches!(
            RemoteOptions::resolve(&file, "s", &flags, &env),
            Err(ConfigError::WrongType { .. })
        ));
        assert!(matches!(
            RemoteOptions::resolve(&file, "x", &flags, &env),
            Err(ConfigError::NoSuchRemote(_))
        ));
        let bad = HashMap::from([("templink_threshold".to_string(), "lots".to_string())]);
        let err = RemoteOptions::resolve(&file, "d", &bad, &no_env).unwrap_err();
        assert!(err.to_string().contains("templink_threshold"), "{err}");
        assert_eq!(OPTIONS[6].flag(), "acd-upload-wait-per-gb");
        assert_eq!(OPTIONS[6].env(), "RCLONE_ACD_UPLOAD_WAIT_PER_GB");
    }
}
