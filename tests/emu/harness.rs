//! Starts an emulator on 127.0.0.1:0 and speaks raw HTTP to it.

use acdc::emu::{self, EmuConfig, EmuServer, oauth::TokenSpec};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};

pub const TOKEN: &str = "Atza|test-access-token";

pub struct Env {
    pub server: EmuServer,
    pub http: reqwest::Client,
    pub meta: String,
    pub content: String,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client")
}

impl Env {
    pub async fn start() -> Env {
        Env::with(EmuConfig::default()).await
    }

    pub async fn with(mut config: EmuConfig) -> Env {
        config.tokens.push(TokenSpec {
            access_token: Some(TOKEN.into()),
            refresh_token: Some("Atzr|test-refresh-token".into()),
            expires_in: Some(86_400),
            ..Default::default()
        });
        let server = emu::serve(config).await.expect("emulator starts");
        let http = client();
        let discovery: Value = http
            .get(server.endpoint_url())
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("discovery")
            .json()
            .await
            .expect("discovery JSON");
        Env {
            meta: discovery["metadataUrl"]
                .as_str()
                .expect("metadataUrl")
                .to_string(),
            content: discovery["contentUrl"]
                .as_str()
                .expect("contentUrl")
                .to_string(),
            server,
            http,
        }
    }

    pub fn base(&self) -> &str {
        self.server.url()
    }

    /// Any request with the bearer token; `body` is sent with no Content-Type, as go-acd did.
    pub async fn call(&self, method: Method, url: &str, body: Option<&str>) -> Answer {
        let mut req = self.http.request(method, url).bearer_auth(TOKEN);
        if let Some(body) = body {
            req = req.body(body.to_string());
        }
        answer(req.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, &format!("{}{path}", self.meta), None)
            .await
    }

    pub async fn root(&self) -> String {
        let a = self.get("nodes?filters=kind:FOLDER+AND+isRoot:true").await;
        a.json()["data"][0]["id"]
            .as_str()
            .expect("root id")
            .to_string()
    }

    pub async fn mkdir(&self, parent: &str, name: &str) -> Value {
        let body = json!({"name": name, "kind": "FOLDER", "parents": [parent]}).to_string() + "\n";
        let a = self
            .call(Method::POST, &format!("{}nodes", self.meta), Some(&body))
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "mkdir {name}: {}", a.text);
        a.json()
    }

    /// Uploads as go-acd/rclone did: metadata part first, chunked body, suppress=deduplication.
    pub async fn upload(&self, parent: &str, name: &str, bytes: &[u8]) -> Answer {
        let metadata = json!({"name": name, "kind": "FILE", "parents": [parent]});
        self.upload_meta(&metadata, name, bytes, true).await
    }

    /// The same with any metadata part, chunked or with a Content-Length.
    pub async fn upload_meta(
        &self,
        metadata: &Value,
        filename: &str,
        bytes: &[u8],
        chunked: bool,
    ) -> Answer {
        let (content_type, body) = go_acd_multipart(metadata, filename, bytes);
        let url = format!("{}nodes?suppress=deduplication", self.content);
        self.upload_raw(&url, &content_type, body, chunked).await
    }

    pub async fn upload_raw(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
        chunked: bool,
    ) -> Answer {
        let req = self
            .http
            .post(url)
            .bearer_auth(TOKEN)
            .header("Content-Type", content_type);
        let req = if chunked {
            let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
                body.chunks(7 * 1024).map(|c| Ok(c.to_vec())).collect();
            req.body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        } else {
            req.body(body)
        };
        answer(req.send().await.expect("upload sent")).await
    }

    /// PUT to the admin API (changing faults or settings).
    pub async fn admin(&self, path: &str, body: Value) -> Value {
        self.admin_call(reqwest::Method::PUT, path, body).await
    }

    /// POST to the admin API (tokens, clients).
    pub async fn admin_post(&self, path: &str, body: Value) -> Value {
        self.admin_call(reqwest::Method::POST, path, body).await
    }

    async fn admin_call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let r = self
            .http
            .request(method, format!("{}/_emu/{path}", self.base()))
            .body(body.to_string())
            .send()
            .await
            .expect("admin call");
        assert!(r.status().is_success(), "admin {path}: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    pub async fn stats(&self) -> Value {
        self.http
            .get(format!("{}/_emu/stats", self.base()))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats JSON")
    }

    /// Names of the live children of a folder (all pages).
    pub async fn children(&self, folder: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut path = format!("nodes?filters=parents:{folder}");
            if let Some(t) = &token {
                path.push_str(&format!("&startToken={t}"));
            }
            let page = self.get(&path).await.json();
            out.extend(page["data"].as_array().expect("data").iter().cloned());
            match page.get("nextToken").and_then(Value::as_str) {
                Some(t) => token = Some(t.to_string()),
                None => return out,
            }
        }
    }
}

pub async fn answer(r: reqwest::Response) -> Answer {
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    Answer {
        status,
        headers,
        text,
    }
}

/// The exact multipart body Go's mime/multipart wrote for go-acd (60-hex boundary).
pub fn go_acd_multipart(metadata: &Value, filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "4b1d0c6a0e5f3b2a9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{metadata}\r\n").as_bytes(),
    );
    let quoted = filename.replace('\\', "\\\\").replace('"', "\\\"");
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"{quoted}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(bytes))
}

pub fn assert_timestamp(value: &Value) {
    let s = value
        .as_str()
        .unwrap_or_else(|| panic!("timestamp expected, got {value}"));
    let ok = s.len() == 24
        && s.ends_with('Z')
        && s.as_bytes()[10] == b'T'
        && s.as_bytes()[19] == b'.'
        && chrono::DateTime::parse_from_rfc3339(s).is_ok();
    assert!(ok, "not an ISO-8601 ms timestamp: {s}");
}

/// The fields §5.3 says every node must carry.
pub fn assert_node_shape(node: &Value) {
    let id = node["id"].as_str().expect("id");
    assert_eq!(id.len(), 22, "id {id}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert!(node["kind"].is_string() && node["status"].is_string() && node["parents"].is_array());
    assert_timestamp(&node["createdDate"]);
    assert_timestamp(&node["modifiedDate"]);
    if node.get("isRoot") == Some(&Value::Bool(true)) {
        assert!(node.get("name").is_none(), "the root has no name: {node}");
    } else {
        assert!(node["name"].is_string(), "name missing: {node}");
    }
}
