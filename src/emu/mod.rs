//! acd-emu: an emulator of the Amazon Drive REST API as real clients saw it
//! (shared/amazon-drive-api.md). Used by every test, the benchmarks and `acdc --demo`.

pub mod admin;
pub mod changes;
pub mod conn;
pub mod content;
pub mod error;
pub mod filter;
pub mod ids;
pub mod metadata;
pub mod oauth;
pub mod seed;
pub mod settings;
pub mod store;
pub mod wire;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::ServiceExt;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tower::Layer;
use tower_http::compression::CompressionLayer;

use self::error::ApiError;
use self::oauth::{ClientSpec, Handshakes, TokenSpec};
use self::settings::{Faults, Settings};
use self::store::{NewNode, StagedBlob, Store, StoreError};

/// Everything the emulator starts from; flags of `acd-emu` map onto it one to one.
#[derive(Debug, Clone)]
pub struct EmuConfig {
    pub listen: SocketAddr,
    /// Persistent data folder; a temp folder (deleted at shutdown) when absent.
    pub data_dir: Option<PathBuf>,
    /// Base URL put into endpoint discovery and tempLinks; `http://<listen address>` when absent.
    pub public_url: Option<String>,
    pub settings: Settings,
    pub faults: Faults,
    /// Seed for the fault dice, so a failing run can be replayed.
    pub fault_seed: Option<u64>,
    pub clients: Vec<ClientSpec>,
    pub tokens: Vec<TokenSpec>,
    pub seed: Option<seed::SeedSpec>,
}

impl Default for EmuConfig {
    fn default() -> Self {
        EmuConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: None,
            public_url: None,
            settings: Settings::default(),
            faults: Faults::default(),
            fault_seed: None,
            clients: vec![],
            tokens: vec![],
            seed: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EmuError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot create a temporary data folder: {0}")]
    TempDir(std::io::Error),
    #[error("data folder {path}: {source}")]
    Store { path: PathBuf, source: StoreError },
    #[error("seeding the demo tree: {0}")]
    Seed(String),
    #[error("invalid fault settings: {0}")]
    Faults(String),
}

/// Counters that tests and the admin API read back.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Stats {
    pub requests: u64,
    pub by_status: BTreeMap<u16, u64>,
    pub nodes_created: u64,
    pub uploads: u64,
    pub upload_bytes: u64,
    pub downloads: u64,
    pub download_bytes: u64,
    pub late_uploads: u64,
    pub dropped_connections: u64,
    pub injected_429: u64,
    pub injected_5xx: u64,
    pub injected_403: u64,
    pub tokens_issued: u64,
    pub token_refreshes: u64,
    pub templinks_issued: u64,
}

struct PageCursor {
    fingerprint: String,
    offset: u64,
    expires: Instant,
}

pub struct TempLink {
    pub node_id: String,
    pub expires: Instant,
}

/// An upload answered with an error whose node appears later (the late-upload fault).
struct LateCommit {
    due: Instant,
    spec: NewNode,
    blob: StagedBlob,
}

/// The emulator's shared state, behind an `Arc` in every handler.
pub struct Emu {
    store: Mutex<Store>,
    settings: RwLock<Settings>,
    faults: Mutex<(Faults, StdRng)>,
    stats: Mutex<Stats>,
    pub base_url: String,
    handshakes: Mutex<Handshakes>,
    pages: Mutex<HashMap<String, PageCursor>>,
    templinks: Mutex<HashMap<String, TempLink>>,
    late: Mutex<Vec<LateCommit>>,
    _temp_dir: Option<tempfile::TempDir>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking handler must not take the whole emulator down with a poisoned lock.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Emu {
    pub fn with_store<T, E>(&self, f: impl FnOnce(&mut Store) -> Result<T, E>) -> Result<T, E> {
        f(&mut lock(&self.store))
    }

    pub fn settings(&self) -> Settings {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_settings(&self, settings: Settings) {
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = settings;
    }

    pub fn faults(&self) -> Faults {
        lock(&self.faults).0.clone()
    }

    pub fn set_faults(&self, faults: Faults) -> Result<(), String> {
        faults.validate()?;
        lock(&self.faults).0 = faults;
        Ok(())
    }

    /// Rolls the fault dice: true with probability `pick(faults)`.
    pub fn roll(&self, pick: impl FnOnce(&Faults) -> f64) -> bool {
        let mut guard = lock(&self.faults);
        let (faults, rng) = &mut *guard;
        let rate = pick(faults);
        rate > 0.0 && rng.random_bool(rate.min(1.0))
    }

    pub fn pick_5xx(&self) -> StatusCode {
        let mut guard = lock(&self.faults);
        let choices = [500, 502, 503, 504];
        let code = choices[guard.1.random_range(0..choices.len())];
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn count(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut lock(&self.stats));
    }

    pub fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    pub fn reset_stats(&self) {
        *lock(&self.stats) = Stats::default();
    }

    pub fn metadata_url(&self) -> String {
        format!("{}/drive/v1/", self.base_url)
    }

    pub fn content_url(&self) -> String {
        format!("{}/cdproxy/", self.base_url)
    }

    /// Remembers where a listing stopped; the token is what `nextToken` carries.
    fn save_cursor(&self, fingerprint: String, offset: u64) -> String {
        let ttl = Duration::from_secs(self.settings().page_token_ttl_secs);
        let token = ids::opaque(10);
        let mut pages = lock(&self.pages);
        let now = Instant::now();
        if pages.len() > 10_000 {
            pages.retain(|_, c| c.expires > now);
        }
        pages.insert(
            token.clone(),
            PageCursor {
                fingerprint,
                offset,
                expires: now + ttl,
            },
        );
        token
    }

    /// The offset a page token stands for; `None` when unknown, expired or from another query.
    fn cursor(&self, token: &str, fingerprint: &str) -> Option<u64> {
        let pages = lock(&self.pages);
        let cursor = pages.get(token)?;
        (cursor.expires > Instant::now() && cursor.fingerprint == fingerprint)
            .then_some(cursor.offset)
    }

    /// A tempLink token for a node: the current one while it has more than half its
    /// life left, else a new one, which invalidates the old (Amazon rotated links).
    pub fn templink_token(&self, node_id: &str) -> String {
        let ttl = Duration::from_secs(self.settings().templink_ttl_secs.max(1));
        let now = Instant::now();
        let mut links = lock(&self.templinks);
        // Forget links that expired long ago (they answer 404 instead of 410 then).
        links.retain(|_, l| l.expires + Duration::from_secs(3600) > now);
        if let Some((token, _)) = links
            .iter()
            .find(|(_, l)| l.node_id == node_id && l.expires > now + ttl / 2)
        {
            return token.clone();
        }
        links.retain(|_, l| l.node_id != node_id || l.expires <= now);
        let token = ids::opaque(32);
        links.insert(
            token.clone(),
            TempLink {
                node_id: node_id.to_string(),
                expires: now + ttl,
            },
        );
        drop(links);
        self.count(|s| s.templinks_issued += 1);
        token
    }

    /// Looks a tempLink token up: `Ok(node id)`, or `Err(true)` if it expired, `Err(false)` if unknown.
    pub fn templink_node(&self, token: &str) -> Result<String, bool> {
        let links = lock(&self.templinks);
        match links.get(token) {
            Some(link) if link.expires > Instant::now() => Ok(link.node_id.clone()),
            Some(_) => Err(true),
            None => Err(false),
        }
    }

    fn defer_upload(&self, due: Instant, spec: NewNode, blob: StagedBlob) {
        lock(&self.late).push(LateCommit { due, spec, blob });
    }

    /// Commits late uploads that are due (all of them when `everything`).
    fn commit_due_uploads(&self, everything: bool) {
        let now = Instant::now();
        let due: Vec<LateCommit> = {
            let mut late = lock(&self.late);
            let (due, waiting) = late.drain(..).partition(|c| everything || c.due <= now);
            *late = waiting;
            due
        };
        for commit in due {
            match self.with_store(|s| s.create_file(&commit.spec, commit.blob)) {
                Ok(node) => {
                    tracing::info!("late upload {} appeared as {}", commit.spec.name, node.id);
                    self.count(|s| s.nodes_created += 1);
                }
                // The client retried and won the name meanwhile: no duplicate, as on Amazon.
                Err(err) => tracing::info!("late upload {} dropped: {err}", commit.spec.name),
            }
        }
    }

    fn purge_old_trash(&self) {
        let days = self.settings().trash_retention_days as i64;
        let cutoff = ids::timestamp(chrono::Utc::now() - chrono::Duration::days(days));
        match self.with_store(|s| s.purge_trashed_before(&cutoff)) {
            Ok(0) => {}
            Ok(n) => tracing::info!("purged {n} nodes trashed before {cutoff}"),
            Err(err) => tracing::error!("purging the trash: {err}"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(id) => ApiError::not_found(&id),
            StoreError::NameExists {
                name,
                parent,
                existing,
            } => ApiError::name_exists(&name, &parent, &existing),
            StoreError::Invalid(message) => ApiError::bad_request(message),
            StoreError::Sql(e) => {
                tracing::error!("database: {e}");
                ApiError::app(StatusCode::INTERNAL_SERVER_ERROR, "Internal failure", "")
            }
            StoreError::Io(e) => {
                tracing::error!("blob storage: {e}");
                ApiError::app(StatusCode::INTERNAL_SERVER_ERROR, "Internal failure", "")
            }
        }
    }
}

/// A running emulator.
pub struct EmuServer {
    pub addr: SocketAddr,
    pub emu: Arc<Emu>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    ticker: tokio::task::JoinHandle<()>,
}

impl EmuServer {
    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> &str {
        &self.emu.base_url
    }

    /// The endpoint-discovery URL clients start from.
    pub fn endpoint_url(&self) -> String {
        format!("{}/drive/v1/account/endpoint", self.emu.base_url)
    }

    /// Stops accepting, lets requests in flight finish, commits late uploads still
    /// waiting, and closes the store.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        self.ticker.abort();
        self.emu.commit_due_uploads(true);
    }
}

pub async fn serve(config: EmuConfig) -> Result<EmuServer, EmuError> {
    config.faults.validate().map_err(EmuError::Faults)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| EmuError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| EmuError::Bind {
        addr: config.listen,
        source,
    })?;
    if !addr.ip().is_loopback() {
        tracing::warn!(
            "listening on {addr}, which is not loopback: anyone who reaches it can use the emulated Drive"
        );
    }
    let (data_dir, temp_dir) = match &config.data_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let temp = tempfile::Builder::new()
                .prefix("acd-emu-")
                .tempdir()
                .map_err(EmuError::TempDir)?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    let mut store = Store::open(&data_dir).map_err(|source| EmuError::Store {
        path: data_dir.clone(),
        source,
    })?;
    store.durable = config.data_dir.is_some();
    let store_err = |source| EmuError::Store {
        path: data_dir.clone(),
        source,
    };
    oauth::register_client(
        &store,
        &ClientSpec {
            client_id: oauth::DEFAULT_CLIENT_ID.into(),
            client_secret: oauth::DEFAULT_CLIENT_SECRET.into(),
            name: Some("acd-emu".into()),
            redirect_uris: vec![],
        },
    )
    .map_err(store_err)?;
    for client in &config.clients {
        oauth::register_client(&store, client).map_err(store_err)?;
    }
    for token in &config.tokens {
        let client = token.client_id.clone().unwrap_or_else(|| {
            config
                .clients
                .first()
                .map(|c| c.client_id.clone())
                .unwrap_or_else(|| oauth::DEFAULT_CLIENT_ID.into())
        });
        oauth::issue(&store, &client, token, config.settings.token_ttl_secs).map_err(store_err)?;
    }
    let base_url = config
        .public_url
        .clone()
        .map(|u| u.trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("http://{addr}"));
    let rng = match config.fault_seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_os_rng(),
    };
    let emu = Arc::new(Emu {
        store: Mutex::new(store),
        settings: RwLock::new(config.settings.clone()),
        faults: Mutex::new((config.faults.clone(), rng)),
        stats: Mutex::new(Stats::default()),
        base_url,
        handshakes: Mutex::new(Handshakes::default()),
        pages: Mutex::new(HashMap::new()),
        templinks: Mutex::new(HashMap::new()),
        late: Mutex::new(Vec::new()),
        _temp_dir: temp_dir,
    });
    if let Some(spec) = &config.seed {
        seed::seed(&emu, spec).map_err(EmuError::Seed)?;
    }

    let app = router(emu.clone());
    // Collapse `//` before routing: some clients built `…/drive/v1//nodes` and it worked.
    let app = tower::util::MapRequestLayer::new(collapse_slashes).layer(app);
    let make = app.into_make_service_with_connect_info::<conn::Cutter>();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let server =
            axum::serve(conn::CuttableListener(listener), make).with_graceful_shutdown(async {
                let _ = rx.await;
            });
        if let Err(err) = server.await {
            tracing::error!("server stopped: {err}");
        }
    });
    let ticking = emu.clone();
    let ticker = tokio::spawn(async move {
        let mut last_purge = Instant::now() - Duration::from_secs(3600);
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            ticking.commit_due_uploads(false);
            if last_purge.elapsed() > Duration::from_secs(60) {
                last_purge = Instant::now();
                ticking.purge_old_trash();
            }
        }
    });
    Ok(EmuServer {
        addr,
        emu,
        shutdown: Some(tx),
        task,
        ticker,
    })
}

fn collapse_slashes(mut req: Request) -> Request {
    let uri = req.uri();
    if uri.path().contains("//") {
        let mut path = String::with_capacity(uri.path().len());
        for c in uri.path().chars() {
            if !(c == '/' && path.ends_with('/')) {
                path.push(c);
            }
        }
        let rebuilt = match uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        if let Ok(new) = rebuilt.parse::<Uri>() {
            *req.uri_mut() = new;
        }
    }
    req
}

fn router(emu: Arc<Emu>) -> Router {
    let metadata = Router::new()
        .route("/account/endpoint", get(metadata::endpoint))
        .route("/account/info", get(metadata::account_info))
        .route("/account/quota", get(metadata::account_quota))
        .route("/account/usage", get(metadata::account_usage))
        .route(
            "/nodes",
            get(metadata::list_nodes).post(metadata::create_folder),
        )
        .route(
            "/nodes/{id}",
            get(metadata::get_node)
                .patch(metadata::patch_node)
                .delete(metadata::purge_node),
        )
        .route(
            "/nodes/{id}/children",
            get(metadata::list_children).post(metadata::move_child),
        )
        .route(
            "/nodes/{parent}/children/{child}",
            put(metadata::add_child).delete(metadata::remove_child),
        )
        .route("/trash", get(metadata::list_trash))
        .route("/trash/{id}", put(metadata::trash_node))
        .route("/trash/{id}/restore", post(metadata::restore_node))
        .route("/changes", post(changes::changes))
        .layer(CompressionLayer::new().gzip(true));
    let content_api = Router::new().route("/nodes", post(content::upload)).route(
        "/nodes/{id}/content",
        get(content::download).put(content::overwrite),
    );
    let api = Router::new()
        .nest("/drive/v1", metadata)
        .nest("/cdproxy", content_api)
        .layer(middleware::from_fn_with_state(emu.clone(), require_bearer));
    // Pre-authenticated links: no bearer token wanted (and one is refused).
    let links = Router::new()
        .route("/cdproxy/templink/{token}", get(content::templink))
        .route("/s3/{bucket}/{token}", get(content::presigned));
    let faulty = api
        .merge(links)
        .layer(middleware::from_fn_with_state(emu.clone(), inject_faults));
    Router::new()
        .merge(faulty)
        .route(
            "/ap/oa",
            get(oauth::authorize_page).post(oauth::authorize_decision),
        )
        .route("/auth/o2/token", post(oauth::token))
        .route("/auth/o2/tokeninfo", get(oauth::token_info))
        .nest("/_emu", admin::router())
        .fallback(|| async { ApiError::app(StatusCode::NOT_FOUND, "Unknown operation", "") })
        .layer(middleware::from_fn_with_state(emu.clone(), request_log))
        .with_state(emu)
}

/// Every answer gets an `x-amzn-RequestId`; every request is counted and logged.
async fn request_log(State(emu): State<Arc<Emu>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let mut response = next.run(req).await;
    let status = response.status();
    if let Ok(value) = HeaderValue::from_str(&ids::logref()) {
        response.headers_mut().insert("x-amzn-RequestId", value);
    }
    if !path.starts_with("/_emu") {
        emu.count(|s| {
            s.requests += 1;
            *s.by_status.entry(status.as_u16()).or_default() += 1;
        });
    }
    tracing::info!(
        target: "acd_emu::requests",
        "{method} {path} {} {}ms",
        status.as_u16(),
        started.elapsed().as_millis()
    );
    response
}

/// Latency, throttling and server errors, as the gateway in front of the API produced them.
async fn inject_faults(State(emu): State<Arc<Emu>>, req: Request, next: Next) -> Response {
    let faults = emu.faults();
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    if emu.roll(|f| f.rate_429) {
        emu.count(|s| s.injected_429 += 1);
        let mut response = ApiError::rate_exceeded().into_response();
        if let Ok(v) = HeaderValue::from_str(&faults.retry_after_secs.to_string()) {
            response.headers_mut().insert("Retry-After", v);
        }
        return response;
    }
    if emu.roll(|f| f.rate_5xx) {
        emu.count(|s| s.injected_5xx += 1);
        let status = emu.pick_5xx();
        return if status == StatusCode::GATEWAY_TIMEOUT {
            ApiError::Empty(status).into_response()
        } else {
            ApiError::app(status, "Internal failure", "").into_response()
        };
    }
    if emu.roll(|f| f.rate_403) {
        emu.count(|s| s.injected_403 += 1);
        return ApiError::Gateway {
            status: StatusCode::FORBIDDEN,
            message: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Bearer".into(),
        }
        .into_response();
    }
    next.run(req).await
}

async fn require_bearer(State(emu): State<Arc<Emu>>, mut req: Request, next: Next) -> Response {
    match emu.with_store(|s| Ok::<_, ApiError>(oauth::check_bearer(s, req.headers()))) {
        Ok(Ok(caller)) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Ok(Err(e)) | Err(e) => e.into_response(),
    }
}
