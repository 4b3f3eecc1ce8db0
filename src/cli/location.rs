//! rclone's location syntax: `remote:path` names a configured remote, anything else is a
//! local path (`./a:b` or `/x/y:z` stay local, as in rclone).

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Remote { remote: String, path: String },
    Local(PathBuf),
}

impl Location {
    pub fn parse(text: &str) -> Location {
        if let Some((name, path)) = text.split_once(':') {
            // A remote name has no path separators; `C:` on Windows is a drive, not a remote.
            let plausible = !name.is_empty()
                && !is_windows_drive(name)
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || " _-.+@".contains(c));
            if plausible {
                return Location::Remote {
                    remote: name.to_string(),
                    path: path.trim_matches('/').to_string(),
                };
            }
        }
        Location::Local(PathBuf::from(text))
    }

    pub fn remote(&self) -> Option<&str> {
        match self {
            Location::Remote { remote, .. } => Some(remote),
            Location::Local(_) => None,
        }
    }
}

fn is_windows_drive(name: &str) -> bool {
    cfg!(windows) && name.len() == 1
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Remote { remote, path } => write!(f, "{remote}:{path}"),
            Location::Local(p) => write!(f, "{}", p.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_or_local() {
        assert_eq!(
            Location::parse("photos:2016/beach"),
            Location::Remote {
                remote: "photos".into(),
                path: "2016/beach".into()
            }
        );
        assert_eq!(
            Location::parse("photos:"),
            Location::Remote {
                remote: "photos".into(),
                path: String::new()
            }
        );
        assert_eq!(Location::parse("./a:b"), Location::Local("./a:b".into()));
        assert_eq!(
            Location::parse("/tmp/x:y"),
            Location::Local("/tmp/x:y".into())
        );
        assert_eq!(Location::parse("plain"), Location::Local("plain".into()));
    }
}
