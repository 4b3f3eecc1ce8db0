//! Endpoint discovery answers, kept for 3 days as acd_cli and Amazon's guidance did
//! (rclone asked on every start). One small JSON file, keyed by discovery URL and remote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::model::Endpoints;

const LIFETIME_SECS: i64 = 3 * 24 * 3600;

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    metadata_url: String,
    content_url: String,
    expires: i64,
}

pub struct EndpointCache {
    path: PathBuf,
}

impl EndpointCache {
    pub fn new(path: PathBuf) -> EndpointCache {
        EndpointCache { path }
    }

    /// `endpoints.json` in the platform's cache folder.
    pub fn default_location() -> Option<EndpointCache> {
        directories::ProjectDirs::from("", "", "acdc")
            .map(|d| EndpointCache::new(d.cache_dir().join("endpoints.json")))
    }

    fn load(&self) -> BTreeMap<String, Entry> {
        std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn get(&self, key: &str) -> Option<Endpoints> {
        let now = chrono::Utc::now().timestamp();
        self.load()
            .remove(key)
            .filter(|e| e.expires > now)
            .map(|e| Endpoints {
                metadata_url: e.metadata_url,
                content_url: e.content_url,
                customer_exists: true,
            })
    }

    /// Best effort: a cache that cannot be written only costs a discovery call next time.
    pub fn put(&self, key: &str, endpoints: &Endpoints) {
        let now = chrono::Utc::now().timestamp();
        let mut all = self.load();
        all.retain(|_, e| e.expires > now);
        all.insert(
            key.to_string(),
            Entry {
                metadata_url: endpoints.metadata_url.clone(),
                content_url: endpoints.content_url.clone(),
                expires: now + LIFETIME_SECS,
            },
        );
        if let Err(e) = write_atomically(&self.path, &all) {
            tracing::debug!("endpoint cache {}: {e}", self.path.display());
        }
    }

    pub fn forget(&self, key: &str) {
        let mut all = self.load();
        if all.remove(key).is_some() {
            let _ = write_atomically(&self.path, &all);
        }
    }
}

fn write_atomically(path: &Path, all: &BTreeMap<String, Entry>) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temp = tempfile::NamedTempFile::new_in(dir)?;
    serde_json::to_writer(&temp, all)?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_for_three_days() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EndpointCache::new(dir.path().join("e.json"));
        assert!(cache.get("k").is_none());
        let e = Endpoints {
            metadata_url: "http://m/".into(),
            content_url: "http://c/".into(),
            customer_exists: true,
        };
        cache.put("k", &e);
        assert_eq!(cache.get("k"), Some(e));
        cache.forget("k");
        assert!(cache.get("k").is_none());
    }
}
