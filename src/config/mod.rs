//! The config file: rclone.conf's INI format, read and written so that rclone can keep
//! using the same file. Reading goes through rust-ini (quotes and escapes off, so JSON
//! token values stay byte for byte); writing edits only the lines that change, so comments,
//! other remotes and keys acdc does not know survive untouched. Writes are atomic (temp
//! file + rename) with mode 0600; a file that does not parse is never written.

pub mod options;
pub mod token;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The backend type rclone registered for Amazon Drive.
pub const ACD_TYPE: &str = "amazon cloud drive";

/// A remote about to be written: what `acdc config create` and the wizard asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRemote {
    pub name: String,
    pub client_id: String,
    pub client_secret: String,
    pub auth_url: String,
    pub token_url: String,
    pub endpoint_url: String,
    /// The token JSON, as rclone writes it.
    pub token: String,
}

/// Why `name` cannot name a remote (rclone's rules: no `:`, `/` or brackets).
pub fn remote_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("a remote needs a name".into())
    } else if name.contains([':', '/', '[', ']']) || name.trim() != name {
        Some(format!(
            "{name:?} cannot be a remote name (no ':', '/', brackets or outer spaces)"
        ))
    } else {
        None
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the config file {path} is broken at line {line}: {message}; fix or move it (acdc will not overwrite it)"
    )]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "the config file {0} is encrypted by rclone, which acdc does not support; decrypt it with `rclone config encryption remove` or point --config at another file"
    )]
    Encrypted(PathBuf),
    #[error("cannot write the config file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("there is no remote named {0:?} in the config file")]
    NoSuchRemote(String),
    #[error(
        "remote {name:?} is of type {kind:?}, not an Amazon Drive remote (type = amazon cloud drive)"
    )]
    WrongType { name: String, kind: String },
    #[error("{key} = {value:?} in remote {remote:?}: {message}")]
    BadValue {
        remote: String,
        key: String,
        value: String,
        message: String,
    },
}

/// One line of the file, as it was, with what it means.
#[derive(Debug, Clone)]
enum Line {
    Section(String),
    Entry { key: String },
    Other,
}

#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
    lines: Vec<(Line, String)>,
    values: BTreeMap<String, BTreeMap<String, String>>,
}

impl ConfigFile {
    /// Loads the file; a missing file is an empty config (written on the first save).
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
        if text.contains("RCLONE_ENCRYPT_V0:") {
            return Err(ConfigError::Encrypted(path.to_path_buf()));
        }
        // Our own line scan first: it names the offending line exactly.
        let mut lines = Vec::new();
        for (number, raw) in text.lines().enumerate() {
            let trimmed = raw.trim();
            let line = if trimmed.starts_with('[') && trimmed.ends_with(']') {
                Line::Section(trimmed[1..trimmed.len() - 1].trim().to_string())
            } else if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                Line::Other
            } else if let Some((key, _)) = raw.split_once('=') {
                Line::Entry {
                    key: key.trim().to_string(),
                }
            } else {
                return Err(ConfigError::Corrupt {
                    path: path.to_path_buf(),
                    line: number + 1,
                    message: format!("expected `key = value` or `[section]`, found {raw:?}"),
                });
            };
            lines.push((line, raw.to_string()));
        }
        let options = ini::ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            ..ini::ParseOption::default()
        };
        let parsed =
            ini::Ini::load_from_str_opt(text, options).map_err(|e| ConfigError::Corrupt {
                path: path.to_path_buf(),
                line: e.line + 1,
                message: e.msg.to_string(),
            })?;
        let mut values: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (section, props) in parsed.iter() {
            let Some(section) = section else { continue };
            let entry = values.entry(section.to_string()).or_default();
            for (k, v) in props.iter() {
                entry.insert(k.to_string(), v.to_string());
            }
        }
        Ok(ConfigFile {
            path: path.to_path_buf(),
            lines,
            values,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every section name, in file order.
    pub fn sections(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter_map(|(l, _)| match l {
                Line::Section(name) => Some(name.clone()),
                _ => None,
            })
            .collect()
    }

    /// The Amazon Drive remotes (sections with `type = amazon cloud drive`).
    pub fn drive_remotes(&self) -> Vec<String> {
        self.sections()
            .into_iter()
            .filter(|s| self.get(s, "type") == Some(ACD_TYPE))
            .collect()
    }

    pub fn section(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        self.values.get(name)
    }

    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.values.get(section)?.get(key).map(String::as_str)
    }

    /// Sets one key, editing its line in place or adding it at the end of the section
    /// (a new section goes at the end of the file).
    pub fn set(&mut self, section: &str, key: &str, value: &str) {
        let new_line = format!("{key} = {value}");
        let range = self.section_range(section);
        match range {
            Some((start, end)) => {
                let existing = (start + 1..end)
                    .find(|&i| matches!(&self.lines[i].0, Line::Entry { key: k } if k == key));
                match existing {
                    Some(i) => self.lines[i].1 = new_line,
                    None => {
                        // After the section's last entry, before blank lines and comments that follow it.
                        let last_entry = (start..end)
                            .rev()
                            .find(|&i| {
                                matches!(self.lines[i].0, Line::Entry { .. } | Line::Section(_))
                            })
                            .unwrap_or(start);
                        self.lines.insert(
                            last_entry + 1,
                            (
                                Line::Entry {
                                    key: key.to_string(),
                                },
                                new_line,
                            ),
                        );
                    }
                }
            }
            None => {
                if self
                    .lines
                    .last()
                    .is_some_and(|(_, raw)| !raw.trim().is_empty())
                {
                    self.lines.push((Line::Other, String::new()));
                }
                self.lines
                    .push((Line::Section(section.to_string()), format!("[{section}]")));
                self.lines.push((
                    Line::Entry {
                        key: key.to_string(),
                    },
                    new_line,
                ));
            }
        }
        self.values
            .entry(section.to_string())
            .or_default()
            .insert(key.to_string(), value.to_string());
    }

    /// Removes a key from a section, if present.
    /// Writes `remote` as a section; keys at their defaults are left out, as rclone does.
    pub fn add_remote(&mut self, remote: &NewRemote) {
        use options::{DEFAULT_AUTH_URL, DEFAULT_ENDPOINT_URL, DEFAULT_TOKEN_URL};
        let name = remote.name.as_str();
        self.set(name, "type", ACD_TYPE);
        self.set(name, "client_id", &remote.client_id);
        self.set(name, "client_secret", &remote.client_secret);
        for (key, value, default) in [
            ("auth_url", &remote.auth_url, DEFAULT_AUTH_URL),
            ("token_url", &remote.token_url, DEFAULT_TOKEN_URL),
            ("endpoint_url", &remote.endpoint_url, DEFAULT_ENDPOINT_URL),
        ] {
            if !value.is_empty() && value != default {
                self.set(name, key, value);
            }
        }
        self.set(name, "token", &remote.token);
    }

    pub fn unset(&mut self, section: &str, key: &str) {
        if let Some((start, end)) = self.section_range(section)
            && let Some(i) = (start + 1..end)
                .find(|&i| matches!(&self.lines[i].0, Line::Entry { key: k } if k == key))
        {
            self.lines.remove(i);
        }
        if let Some(s) = self.values.get_mut(section) {
            s.remove(key);
        }
    }

    /// Removes a whole section with its blank lines.
    pub fn remove_section(&mut self, section: &str) -> bool {
        let Some((start, mut end)) = self.section_range(section) else {
            return false;
        };
        while end < self.lines.len() && self.lines[end].1.trim().is_empty() {
            end += 1;
        }
        self.lines.drain(start..end);
        self.values.remove(section);
        true
    }

    /// Lines `[start, end)` of a section: its header up to the next header.
    fn section_range(&self, section: &str) -> Option<(usize, usize)> {
        let start = self
            .lines
            .iter()
            .position(|(l, _)| matches!(l, Line::Section(name) if name == section))?;
        let end = (start + 1..self.lines.len())
            .find(|&i| matches!(self.lines[i].0, Line::Section(_)))
            .unwrap_or(self.lines.len());
        Some((start, end))
    }

    /// The file's text as it would be saved. Like rclone, it ends with one blank line.
    pub fn render(&self) -> String {
        let mut text = String::new();
        for (_, raw) in &self.lines {
            text.push_str(raw);
            text.push('\n');
        }
        if !text.is_empty() && !text.ends_with("\n\n") {
            text.push('\n');
        }
        text
    }

    /// Writes atomically: a temp file beside it (mode 0600), then rename.
    pub fn save(&self) -> Result<(), ConfigError> {
        let write_err = |source| ConfigError::Write {
            path: self.path.clone(),
            source,
        };
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(write_err)?;
        let mut temp = tempfile::Builder::new()
            .prefix(".acdc-config-")
            .tempfile_in(&dir)
            .map_err(write_err)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o600))
                .map_err(write_err)?;
        }
        temp.write_all(self.render().as_bytes())
            .map_err(write_err)?;
        temp.as_file().sync_all().map_err(write_err)?;
        temp.persist(&self.path).map_err(|e| write_err(e.error))?;
        Ok(())
    }
}

/// The default config file: `acdc.conf` in the platform's config folder.
pub fn default_path() -> PathBuf {
    directories::ProjectDirs::from("", "", "acdc")
        .map(|d| d.config_dir().join("acdc.conf"))
        .unwrap_or_else(|| PathBuf::from("acdc.conf"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RCLONE: &str = "# my remotes\n[photos]\ntype = amazon cloud drive\nclient_id = id\ntoken = {\"access_token\":\"a;b#c=d\",\"expiry\":\"2001-01-01T00:00:00Z\"}\n\n[s3backup]\ntype = s3\nregion = eu-west-1\n";

    fn parse(text: &str) -> ConfigFile {
        ConfigFile::parse(Path::new("test.conf"), text).unwrap()
    }

    #[test]
    fn reads_values_byte_for_byte() {
        let c = parse(RCLONE);
        assert_eq!(c.drive_remotes(), vec!["photos"]);
        assert_eq!(
            c.get("photos", "token"),
            Some("{\"access_token\":\"a;b#c=d\",\"expiry\":\"2001-01-01T00:00:00Z\"}")
        );
        assert_eq!(c.get("s3backup", "region"), Some("eu-west-1"));
    }

    #[test]
    fn edits_touch_only_their_lines() {
        let mut c = parse(RCLONE);
        c.set("photos", "token", "{}");
        assert_eq!(
            c.render(),
            RCLONE.replace(
                "token = {\"access_token\":\"a;b#c=d\",\"expiry\":\"2001-01-01T00:00:00Z\"}",
                "token = {}"
            ) + "\n"
        );
        c.set("photos", "checkpoint", "cp1");
        assert!(
            c.render()
                .contains("token = {}\ncheckpoint = cp1\n\n[s3backup]")
        );
        c.set("new", "type", ACD_TYPE);
        assert!(
            c.render()
                .ends_with("region = eu-west-1\n\n[new]\ntype = amazon cloud drive\n\n")
        );
        assert!(c.remove_section("photos"));
        assert!(c.render().starts_with("# my remotes\n[s3backup]"));
        c.unset("new", "type");
        assert_eq!(c.get("new", "type"), None);
    }

    #[test]
    fn corrupt_and_encrypted_files_are_explained() {
        let err = ConfigFile::parse(Path::new("x.conf"), "[a]\ntype = s3\nthis is not ini\n")
            .unwrap_err();
        assert!(matches!(err, ConfigError::Corrupt { line: 3, .. }), "{err}");
        assert!(err.to_string().contains("line 3"));
        let err = ConfigFile::parse(
            Path::new("x.conf"),
            "# Encrypted rclone configuration File\n\nRCLONE_ENCRYPT_V0:\nabc\n",
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::Encrypted(_)));
    }

    #[test]
    fn rclone_fixture_read_and_refreshed_like_rclone_did() {
        let before = include_str!("../../tests/fixtures/rclone-before-refresh.conf")
            .replace("{EMU}", "http://127.0.0.1:1");
        let after = include_str!("../../tests/fixtures/rclone-after-refresh.conf")
            .replace("{EMU}", "http://127.0.0.1:1");
        let mut c = parse(&before);
        assert_eq!(c.drive_remotes(), vec!["photos"]);
        let no_env = |_: &str| None;
        let o =
            options::RemoteOptions::resolve(&c, "photos", &Default::default(), &no_env).unwrap();
        assert_eq!(o.client_id, "amzn1.application-oa2-client.0123456789abcdef");
        assert_eq!(o.token_url, "http://127.0.0.1:1/auth/o2/token");
        assert_eq!(o.upload_wait_per_gb, std::time::Duration::from_secs(300));
        assert_eq!(o.templink_threshold, 8 << 30);
        let token = o.token.unwrap();
        assert_eq!(token.refresh_token, "peers-refresh-token");
        assert!(!token.is_fresh(chrono::Utc::now()));
        // What rclone wrote after refreshing: the token line, and nothing else.
        let refreshed = after
            .lines()
            .find(|l| l.starts_with("token = "))
            .unwrap()
            .trim_start_matches("token = ");
        c.set(
            "photos",
            "token",
            &token::Token::parse(refreshed).unwrap().to_json(),
        );
        assert_eq!(c.render(), after);
    }

    #[test]
    fn saves_atomically_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/acdc.conf");
        let mut c = ConfigFile::load(&path).unwrap();
        c.set("d", "type", ACD_TYPE);
        c.save().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[d]\ntype = amazon cloud drive\n\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1,
            "no temp file left"
        );
    }
}
