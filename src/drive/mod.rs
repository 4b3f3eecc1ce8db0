//! The Amazon Drive REST client (reqwest, rustls): endpoint discovery, nodes, paged
//! listings, lookups by name, folders, rename, move, trash, restore, account, tempLinks,
//! uploads and downloads (content.rs). Every call goes through one retry policy and
//! refreshes the token once on a 401. Knows nothing of terminals or queues.

pub mod changes;
pub mod content;
pub mod endpoint_cache;
pub mod model;
pub mod observe;
pub mod retry;

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::json;
use tokio::sync::OnceCell;

use self::model::{Endpoints, ErrorBody, Node, Page, Quota, Usage};
use self::retry::{RetryPolicy, retryable_status};
use crate::auth::{AuthError, TokenSource};

#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{name:?} already exists there (as node {existing}){hint}")]
    NameExists {
        name: String,
        existing: String,
        hint: String,
    },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("{0} is not a folder")]
    NotAFolder(String),
    #[error("Amazon Drive answered {status}: {message}")]
    Refused { status: u16, message: String },
    #[error("gave up after {attempts} attempts: {last}")]
    Exhausted { attempts: u32, last: String },
    #[error("network: {0}")]
    Network(String),
    #[error("unexpected answer from Amazon Drive: {0}")]
    BadAnswer(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("MD5 mismatch for {path}: local {local}, Drive {remote}; the copy was not kept")]
    Checksum {
        path: String,
        local: String,
        remote: String,
    },
    #[error("this account has no Amazon Drive (customerExists is false)")]
    NoDrive,
}

pub type DriveResult<T> = Result<T, DriveError>;

/// What to do after one answer (see `Client::judge`).
enum Verdict {
    Done(reqwest::Response),
    Refresh,
    Retry {
        problem: String,
        wait: Option<Duration>,
        /// The status that failed, if an answer came at all.
        status: Option<u16>,
    },
    Fail(DriveError),
}

/// A request body that can be sent again on a retry.
#[derive(Clone)]
enum Payload {
    None,
    Json(String),
}

pub struct Client {
    http: reqwest::Client,
    auth: Arc<TokenSource>,
    endpoints: Endpoints,
    pub retry: RetryPolicy,
    root: OnceCell<String>,
    /// Folder ids by lower-cased path (names match case-insensitively on the Drive).
    folders: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// After a server error at the end of an upload, poll this long per GiB (rclone's
    /// upload_wait_per_gb; zero turns it off) …
    pub upload_wait_per_gb: Duration,
    /// … every this often (rclone: 5 s).
    pub upload_wait_poll: Duration,
}

/// Escapes a value for the filter language and quotes it, as go-acd did: the special
/// characters and the space get a backslash even inside the quotes.
pub fn filter_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    out.push('"');
    for c in value.chars() {
        if " +-&|!(){}[]^'\"~*?:\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl Client {
    /// Endpoint discovery, then a client bound to the metadata and content URLs it returned.
    pub async fn connect(
        endpoint_url: &str,
        auth: Arc<TokenSource>,
        retry: RetryPolicy,
    ) -> DriveResult<Client> {
        Self::connect_cached(endpoint_url, auth, retry, None).await
    }

    /// Like `connect`, using and filling a cache of discovery answers under `key`.
    pub async fn connect_cached(
        endpoint_url: &str,
        auth: Arc<TokenSource>,
        retry: RetryPolicy,
        cache: Option<(&endpoint_cache::EndpointCache, &str)>,
    ) -> DriveResult<Client> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| DriveError::Network(e.to_string()))?;
        let mut client = Client {
            http,
            auth,
            endpoints: Endpoints {
                metadata_url: String::new(),
                content_url: String::new(),
                customer_exists: true,
            },
            retry,
            root: OnceCell::new(),
            folders: Default::default(),
            upload_wait_per_gb: Duration::from_secs(180),
            upload_wait_poll: Duration::from_secs(5),
        };
        if let Some((c, key)) = cache
            && let Some(cached) = c.get(key)
        {
            // Probe the cached URLs once, without retries: the root lookup is needed anyway.
            client.endpoints = cached;
            let patience = std::mem::replace(&mut client.retry.retries, 0);
            let probe = client.root_id().await;
            client.retry.retries = patience;
            match probe {
                Ok(_) => return Ok(client),
                Err(DriveError::Auth(e)) => return Err(e.into()),
                Err(e) => {
                    tracing::info!("cached endpoints did not answer ({e}); discovering again");
                    c.forget(key);
                    client.root = OnceCell::new();
                }
            }
        }
        let endpoints: Endpoints = client
            .json(Method::GET, endpoint_url, Payload::None)
            .await?;
        if !endpoints.customer_exists {
            return Err(DriveError::NoDrive);
        }
        let with_slash = |u: String| if u.ends_with('/') { u } else { format!("{u}/") };
        client.endpoints = Endpoints {
            metadata_url: with_slash(endpoints.metadata_url),
            content_url: with_slash(endpoints.content_url),
            customer_exists: true,
        };
        if let Some((c, key)) = cache {
            c.put(key, &client.endpoints);
        }
        Ok(client)
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    fn meta(&self, path: &str) -> String {
        format!("{}{path}", self.endpoints.metadata_url)
    }

    /// Sends with retries; returns the first successful answer, or the error that ends it.
    async fn send(
        &self,
        method: Method,
        url: &str,
        payload: Payload,
        extra: &[(&str, String)],
    ) -> DriveResult<reqwest::Response> {
        let mut token = self.auth.access_token().await?;
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            let mut req = self.http.request(method.clone(), url).bearer_auth(&token);
            for (k, v) in extra {
                req = req.header(*k, v);
            }
            if let Payload::Json(body) = &payload {
                req = req.body(body.clone());
            }
            match self.judge(req.send().await, refreshed).await {
                Verdict::Done(resp) => return Ok(resp),
                Verdict::Refresh => {
                    refreshed = true;
                    token = self.auth.refresh_after_rejection(&token).await?;
                }
                Verdict::Fail(e) => return Err(e),
                Verdict::Retry { problem, wait, .. } => {
                    attempt += 1;
                    let wait = self.next_wait(attempt, problem, wait, url)?;
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// What one answer means for the call that got it. A 401 asks for one refresh and a
    /// replay (not counted as a retry); throttling, server errors and broken connections
    /// are retried; any other error ends the call.
    async fn judge(&self, sent: reqwest::Result<reqwest::Response>, refreshed: bool) -> Verdict {
        let resp = match sent {
            Ok(resp) => resp,
            Err(e) => {
                return Verdict::Retry {
                    problem: format!("connection: {e}"),
                    wait: None,
                    status: None,
                };
            }
        };
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED && !refreshed {
            return Verdict::Refresh;
        }
        if !(status.is_client_error() || status.is_server_error()) {
            return Verdict::Done(resp);
        }
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.text().await.unwrap_or_default();
        if !retryable_status(status, &body) {
            return Verdict::Fail(self.refusal(status, &body));
        }
        Verdict::Retry {
            problem: format!("{status} {}", short(&body)),
            wait: self.retry.retry_after(retry_after.as_deref()),
            status: Some(status.as_u16()),
        }
    }

    /// The wait before retry `attempt`, or the error that gives up.
    fn next_wait(
        &self,
        attempt: u32,
        problem: String,
        asked: Option<Duration>,
        what: &str,
    ) -> DriveResult<Duration> {
        if attempt > self.retry.retries {
            return Err(DriveError::Exhausted {
                attempts: attempt,
                last: problem,
            });
        }
        let wait = asked.unwrap_or_else(|| self.retry.backoff(attempt));
        tracing::debug!(
            "{what}: {problem}; retry {attempt}/{} in {wait:?}",
            self.retry.retries
        );
        observe::retrying(attempt, self.retry.retries, &problem, wait);
        Ok(wait)
    }

    fn refusal(&self, status: StatusCode, body: &str) -> DriveError {
        let parsed: ErrorBody = serde_json::from_str(body).unwrap_or_default();
        let message = parsed.message.clone().unwrap_or_else(|| short(body));
        match (status.as_u16(), parsed.info.and_then(|i| i.node_id)) {
            (409, Some(existing)) => DriveError::NameExists {
                name: String::new(),
                existing,
                hint: format!(" ({message})"),
            },
            (404, _) => DriveError::NotFound(message),
            _ => DriveError::Refused {
                status: status.as_u16(),
                message,
            },
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        payload: Payload,
    ) -> DriveResult<T> {
        let resp = self.send(method, url, payload, &[]).await?;
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| DriveError::Network(e.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            DriveError::BadAnswer(format!(
                "{e} in {}",
                short(&String::from_utf8_lossy(&bytes))
            ))
        })
    }

    pub async fn root_id(&self) -> DriveResult<String> {
        self.root
            .get_or_try_init(|| async {
                let page: Page = self
                    .json(
                        Method::GET,
                        &self.meta("nodes?filters=kind:FOLDER+AND+isRoot:true"),
                        Payload::None,
                    )
                    .await?;
                page.data
                    .into_iter()
                    .next()
                    .map(|n| n.id)
                    .ok_or_else(|| DriveError::BadAnswer("no root folder".into()))
            })
            .await
            .cloned()
    }

    pub async fn node(&self, id: &str) -> DriveResult<Node> {
        self.json(
            Method::GET,
            &self.meta(&format!("nodes/{id}")),
            Payload::None,
        )
        .await
    }

    /// The live child of `parent` called `name` (matched as the service matches: ignoring case).
    pub async fn find_child(&self, parent: &str, name: &str) -> DriveResult<Option<Node>> {
        let filter = format!(
            "parents:{} AND name:{}",
            filter_value(parent),
            filter_value(name)
        );
        let url = format!("{}?filters={}", self.meta("nodes"), urlencode(&filter));
        let page: Page = self.json(Method::GET, &url, Payload::None).await?;
        // Listings were eventually consistent: keep only live nodes that really are children.
        Ok(page
            .data
            .into_iter()
            .find(|n| n.is_available() && n.parents.iter().any(|p| p == parent)))
    }

    /// Children of a folder, one page at a time (page 1 can be shown before page 50 arrives).
    pub fn children(&self, folder: &str) -> Pages<'_> {
        Pages {
            client: self,
            base: format!(
                "{}?filters={}",
                self.meta("nodes"),
                urlencode(&format!("parents:{folder}"))
            ),
            folder: Some(folder.to_string()),
            next: None,
            done: false,
        }
    }

    /// The trash, one page at a time.
    pub fn trash_pages(&self) -> Pages<'_> {
        Pages {
            client: self,
            base: self.meta("trash?limit=200"),
            folder: None,
            next: None,
            done: false,
        }
    }

    /// Every live child of a folder. A page token that expired midway restarts the listing.
    pub async fn list_all(&self, folder: &str) -> DriveResult<Vec<Node>> {
        'restart: for _ in 0..3 {
            let mut pages = self.children(folder);
            let mut all = Vec::new();
            loop {
                match pages.next_page().await {
                    Ok(Some(page)) => all.extend(page),
                    Ok(None) => return Ok(all),
                    Err(DriveError::Refused {
                        status: 400,
                        message,
                    }) if message.contains("Next token is expired") => {
                        continue 'restart;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Err(DriveError::BadAnswer(
            "the listing kept expiring; try again".into(),
        ))
    }

    pub async fn mkdir(&self, parent: &str, name: &str) -> DriveResult<Node> {
        let body = json!({"name": name, "kind": "FOLDER", "parents": [parent]}).to_string();
        match self
            .json(Method::POST, &self.meta("nodes"), Payload::Json(body))
            .await
        {
            Err(DriveError::NameExists { existing, hint, .. }) => Err(DriveError::NameExists {
                name: name.to_string(),
                existing,
                hint,
            }),
            other => other,
        }
    }

    /// A folder child of `parent` named `name`, made if missing.
    pub async fn ensure_folder(&self, parent: &str, name: &str) -> DriveResult<Node> {
        match self.find_child(parent, name).await? {
            Some(n) if n.is_folder() => Ok(n),
            Some(_) => Err(DriveError::NotAFolder(name.to_string())),
            None => match self.mkdir(parent, name).await {
                // Made meanwhile by someone else (or a retried request that had succeeded).
                Err(DriveError::NameExists { existing, .. }) => self.node(&existing).await,
                other => other,
            },
        }
    }

    pub async fn rename(&self, id: &str, name: &str) -> DriveResult<Node> {
        self.forget_paths();
        let body = json!({"name": name}).to_string();
        self.json(
            Method::PATCH,
            &self.meta(&format!("nodes/{id}")),
            Payload::Json(body),
        )
        .await
    }

    pub async fn move_node(&self, id: &str, from: &str, to: &str) -> DriveResult<Node> {
        self.forget_paths();
        let body = json!({"fromParent": from, "childId": id}).to_string();
        self.json(
            Method::POST,
            &self.meta(&format!("nodes/{to}/children")),
            Payload::Json(body),
        )
        .await
    }

    pub async fn trash(&self, id: &str) -> DriveResult<Node> {
        self.forget_paths();
        self.json(
            Method::PUT,
            &self.meta(&format!("trash/{id}")),
            Payload::None,
        )
        .await
    }

    pub async fn restore(&self, id: &str) -> DriveResult<Node> {
        self.forget_paths();
        self.json(
            Method::POST,
            &self.meta(&format!("trash/{id}/restore")),
            Payload::None,
        )
        .await
    }

    /// `{"termsOfUse", "status"}`: whether the account is active.
    pub async fn account_info(&self) -> DriveResult<serde_json::Value> {
        self.json(Method::GET, &self.meta("account/info"), Payload::None)
            .await
    }

    pub async fn quota(&self) -> DriveResult<Quota> {
        self.json(Method::GET, &self.meta("account/quota"), Payload::None)
            .await
    }

    pub async fn usage(&self) -> DriveResult<Usage> {
        self.json(Method::GET, &self.meta("account/usage"), Payload::None)
            .await
    }

    /// A fresh tempLink for a file (fetched without a bearer token).
    pub async fn temp_link(&self, id: &str) -> DriveResult<String> {
        let node: Node = self
            .json(
                Method::GET,
                &self.meta(&format!("nodes/{id}?tempLink=true")),
                Payload::None,
            )
            .await?;
        node.temp_link
            .ok_or_else(|| DriveError::BadAnswer(format!("no tempLink for node {id}")))
    }

    /// Resolves a `/`-separated path of Drive names from the root. Folder ids met on the
    /// way are remembered, so the next path under them costs one lookup per new component.
    pub async fn resolve(&self, path: &str) -> DriveResult<Node> {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let mut id = self.root_id().await?;
        let mut walked = String::new();
        for (i, part) in parts.iter().enumerate() {
            walked.push('/');
            walked.push_str(part);
            let key = walked.to_lowercase();
            let last = i + 1 == parts.len();
            if !last && let Some(known) = self.cached_folder(&key) {
                id = known;
                continue;
            }
            let node = self
                .find_child(&id, part)
                .await?
                .ok_or_else(|| DriveError::NotFound(walked.clone()))?;
            if last {
                return Ok(node);
            }
            if !node.is_folder() {
                return Err(DriveError::NotAFolder(walked));
            }
            self.folders
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, node.id.clone());
            id = node.id;
        }
        self.node(&id).await
    }

    fn cached_folder(&self, key: &str) -> Option<String> {
        self.folders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// Paths may have changed: forget them all (cheap to learn again).
    fn forget_paths(&self) {
        self.folders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// A listing, fetched page by page.
pub struct Pages<'a> {
    client: &'a Client,
    base: String,
    folder: Option<String>,
    next: Option<String>,
    done: bool,
}

impl Pages<'_> {
    pub async fn next_page(&mut self) -> DriveResult<Option<Vec<Node>>> {
        if self.done {
            return Ok(None);
        }
        let url = match &self.next {
            Some(t) => format!("{}&startToken={}", self.base, urlencode(t)),
            None => self.base.clone(),
        };
        let page: Page = self.client.json(Method::GET, &url, Payload::None).await?;
        self.next = page.next_token.filter(|t| !t.is_empty());
        self.done = self.next.is_none();
        let folder = self.folder.clone();
        Ok(Some(
            page.data
                .into_iter()
                .filter(|n| match &folder {
                    Some(f) => {
                        n.is_available()
                            && n.parents.iter().any(|p| p == f)
                            && (n.is_file() || n.is_folder())
                    }
                    None => true,
                })
                .collect(),
        ))
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn short(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_values_escape_like_go_acd() {
        assert_eq!(filter_value("foo bar"), r#""foo\ bar""#);
        assert_eq!(filter_value("a(1)+b:c*"), r#""a\(1\)\+b\:c\*""#);
        assert_eq!(filter_value("東京"), "\"東京\"");
    }
}
