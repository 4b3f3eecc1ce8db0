//! The service's JSON as the client reads it: tolerant of unknown fields and of optional
//! ones missing (a PENDING node may lack contentProperties; the root has no name).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub metadata_url: String,
    pub content_url: String,
    #[serde(default = "yes")]
    pub customer_exists: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContentProperties {
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub md5: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub version: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub parents: Vec<String>,
    #[serde(default)]
    pub is_root: bool,
    #[serde(default)]
    pub created_date: Option<String>,
    #[serde(default)]
    pub modified_date: Option<String>,
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub content_properties: Option<ContentProperties>,
    #[serde(default)]
    pub temp_link: Option<String>,
}

impl Node {
    pub fn is_folder(&self) -> bool {
        self.kind == "FOLDER"
    }

    pub fn is_file(&self) -> bool {
        self.kind == "FILE"
    }

    pub fn is_available(&self) -> bool {
        self.status == "AVAILABLE"
    }

    pub fn size(&self) -> u64 {
        self.content_properties.as_ref().map_or(0, |c| c.size)
    }

    pub fn md5(&self) -> Option<&str> {
        self.content_properties.as_ref()?.md5.as_deref()
    }

    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub data: Vec<Node>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    pub quota: u64,
    pub available: u64,
    #[serde(default)]
    pub last_calculated: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct UsageBytes {
    #[serde(default)]
    pub bytes: u64,
    #[serde(default)]
    pub count: u64,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct UsageCategory {
    #[serde(default)]
    pub total: UsageBytes,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Usage {
    #[serde(default)]
    pub photo: UsageCategory,
    #[serde(default)]
    pub video: UsageCategory,
    #[serde(default)]
    pub doc: UsageCategory,
    #[serde(default)]
    pub other: UsageCategory,
}

impl Usage {
    /// There is no grand total in the answer; clients sum the categories.
    pub fn total_bytes(&self) -> u64 {
        self.photo.total.bytes
            + self.video.total.bytes
            + self.doc.total.bytes
            + self.other.total.bytes
    }
}

/// An error body: `{"message", "code", "info": {"nodeId"}}`, any part may be missing.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub info: Option<ErrorInfo>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorInfo {
    #[serde(default)]
    pub node_id: Option<String>,
}

/// One change set of the changes stream.
#[derive(Debug, Clone, Deserialize)]
pub struct ChangeSet {
    #[serde(default)]
    pub checkpoint: Option<String>,
    #[serde(default)]
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub reset: bool,
    #[serde(default)]
    pub end: bool,
}
