//! The relay's HTTP side: `fn app(state) -> Router`, thin handlers.

use std::path::PathBuf;
use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::p2p::{NodeHandle, NodeInfo};
use crate::tracker_ws::TrackerService;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

#[derive(Clone)]
pub struct AppState {
    pub inner: Arc<StateInner>,
}

pub struct StateInner {
    pub www: PathBuf,
    pub public_url: String,
    pub node: Option<NodeHandle>,
    pub tracker: TrackerService,
    /// The guarded chain proxy, when a chain node is configured.
    pub rpc: Option<crate::rpc_proxy::RpcProxy>,
    /// Files on this relay's disk, by CID.
    pub files: crate::file_http::LocalFiles,
    /// Files browser tabs offer through `/bridge`.
    pub bridge: Option<crate::bridge::Bridge>,
    /// BEP 3 HTTP announces.
    pub http_swarms: std::sync::Mutex<crate::http_tracker::HttpSwarms>,
    /// Where TCP BitTorrent clients reach this relay (set once listening).
    pub bt_addr: std::sync::OnceLock<std::net::SocketAddr>,
    /// Reverse proxies whose forwarding headers name the client (`--trusted-proxy`).
    pub trusted_proxies: crate::client_addr::TrustedProxies,
}

impl AppState {
    pub fn new(www: PathBuf, public_url: String) -> Self {
        Self { inner: Arc::new(StateInner { www, public_url, node: None, tracker: TrackerService::spawn(), rpc: None, files: Default::default(), bridge: None, http_swarms: Default::default(), bt_addr: Default::default(), trusted_proxies: Default::default() }) }
    }

    pub fn with_node(www: PathBuf, public_url: String, node: NodeHandle) -> Self {
        Self { inner: Arc::new(StateInner { www, public_url, node: Some(node), tracker: TrackerService::spawn(), rpc: None, files: Default::default(), bridge: None, http_swarms: Default::default(), bt_addr: Default::default(), trusted_proxies: Default::default() }) }
    }

    /// Serves these local files over HTTP (before the state is shared).
    pub fn with_files(mut self, files: Vec<crate::file_http::LocalFile>) -> Self {
        let map = files.into_iter().map(|f| (f.manifest.cid_hex(), f)).collect();
        Arc::get_mut(&mut self.inner).expect("with_files is called before the state is cloned").files = Arc::new(map);
        self
    }

    /// Bridges files that browser tabs offer, keeping pieces under `data_dir/bridge` and
    /// dialling only the peers `outbound` allows.
    pub fn with_bridge(mut self, data_dir: &std::path::Path, limits: crate::bridge::BridgeLimits, outbound: crate::outbound::OutboundPolicy) -> Self {
        Arc::get_mut(&mut self.inner).expect("with_bridge is called before the state is cloned").bridge = Some(crate::bridge::Bridge::new(data_dir, limits, outbound));
        self
    }

    /// Believes these reverse proxies' `Forwarded`/`X-Forwarded-For` (before the state is shared).
    pub fn with_trusted_proxies(mut self, proxies: crate::client_addr::TrustedProxies) -> Self {
        Arc::get_mut(&mut self.inner).expect("with_trusted_proxies is called before the state is cloned").trusted_proxies = proxies;
        self
    }

    /// Adds the chain proxy (before the state is shared).
    pub fn with_rpc(mut self, rpc: crate::rpc_proxy::RpcProxy) -> Self {
        Arc::get_mut(&mut self.inner).expect("with_rpc is called before the state is cloned").rpc = Some(rpc);
        self
    }
}

pub fn app(state: AppState) -> Router {
    let www = &state.inner.www;
    // Bundle names are not content-hashed, so browsers revalidate (Last-Modified → 304)
    // instead of caching blindly; the build writes .br/.gz beside each file.
    let static_files = ServeDir::new(www)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(ServeFile::new(www.join("index.html")));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/node", get(node_info))
        .route("/announce", get(crate::tracker_ws::announce))
        .route("/rpc", axum::routing::post(crate::rpc_proxy::rpc))
        .route("/api/faucet", axum::routing::post(crate::rpc_proxy::faucet))
        .route("/bridge/{infohash}", get(crate::bridge::bridge_ws))
        .fallback_service(static_files)
        .layer(
            ServiceBuilder::new()
                .layer(TraceLayer::new_for_http())
                .layer(CompressionLayer::new())
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-cache"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                )),
        )
        // The HTTP protocol (and the BEP 19 web seed our magnets name): raw bytes with
        // exact lengths and ranges, so outside the compression layer.
        .merge(
            Router::new()
                .route("/file/{cid}", get(crate::file_http::whole_file))
                .route("/file/{cid}/chunk/{index}", get(crate::file_http::chunk))
                .layer(TraceLayer::new_for_http()),
        )
        .with_state(state)
}

#[derive(serde::Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
}

async fn healthz() -> Json<Health> {
    Json(Health { status: "ok", version: env!("CARGO_PKG_VERSION") })
}

/// The one error type of the HTTP API: a status and a message safe to show.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: String) -> Self {
        Self { status, message }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(serde_json::json!({ "error": self.message }))).into_response()
    }
}

async fn node_info(State(state): State<AppState>) -> Result<Json<NodeInfo>, ApiError> {
    let unavailable = || ApiError { status: StatusCode::SERVICE_UNAVAILABLE, message: "the p2p node is not running".into() };
    let node = state.inner.node.as_ref().ok_or_else(unavailable)?;
    Ok(Json(node.info().await.map_err(|_| unavailable())?))
}
