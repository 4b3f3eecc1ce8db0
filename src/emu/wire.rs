//! The node JSON of §5 as the service sent it: every node has id, kind, status, parents,
//! createdDate and modifiedDate; every node but the root has a name; the root has none.

use serde_json::{Map, Value, json};

use super::store::{Kind, Node};

pub fn node_json(node: &Node, temp_link: Option<String>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(node.id));
    if let Some(name) = &node.name {
        m.insert("name".into(), json!(name));
    }
    m.insert("kind".into(), json!(node.kind.as_str()));
    m.insert("status".into(), json!(node.status.as_str()));
    m.insert("parents".into(), json!(node.parents));
    if node.is_root {
        m.insert("isRoot".into(), json!(true));
    }
    m.insert("createdDate".into(), json!(node.created));
    m.insert("modifiedDate".into(), json!(node.modified));
    m.insert("version".into(), json!(node.version));
    m.insert("labels".into(), json!(node.labels));
    if !node.is_root {
        m.insert(
            "description".into(),
            json!(node.description.clone().unwrap_or_default()),
        );
    }
    m.insert("createdBy".into(), json!(node.created_by));
    m.insert("restricted".into(), json!(false));
    m.insert("isShared".into(), json!(false));
    m.insert("eTagResponse".into(), json!(node.etag));
    if let Some(c) = &node.content {
        m.insert(
            "contentProperties".into(),
            json!({
                "size": c.size,
                "md5": c.md5,
                "contentType": c.content_type,
                "extension": c.extension,
                "version": c.version,
                "contentDate": c.content_date,
            }),
        );
    }
    if node.kind == Kind::File
        && let Some(link) = temp_link
    {
        m.insert("tempLink".into(), json!(link));
    }
    Value::Object(m)
}

/// A listing page: `nextToken` only when more follows (an empty string makes rclone loop).
pub fn page_json(data: Vec<Value>, count: u64, next_token: Option<String>) -> Value {
    let mut m = Map::new();
    m.insert("count".into(), json!(count));
    if let Some(token) = next_token {
        m.insert("nextToken".into(), json!(token));
    }
    m.insert("data".into(), Value::Array(data));
    Value::Object(m)
}
