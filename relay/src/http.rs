//! The relay's HTTP side: `fn app(state) -> Router`, thin handlers.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::routing::get;
use axum::{Json, Router};

pub use crate::api_error::ApiError;
pub use crate::state::{AppState, BridgeState, BtTracker, NodeState, RpcState, Site};

use crate::p2p::NodeInfo;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub fn app(state: AppState) -> Router {
    let www = &state.site.www;
    // Bundle names are not content-hashed, so browsers revalidate (Last-Modified → 304)
    // instead of caching blindly; the build writes .br/.gz beside each file.
    let static_files = ServeDir::new(www)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(ServeFile::new(www.join("index.html")));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(crate::metrics::metrics_text))
        .route("/api/node", get(node_info))
        .route("/api/ice", get(crate::ice::ice_servers))
        .route("/api/ice/stats", get(crate::ice::ice_stats))
        .route("/api/channels", get(crate::paid::channels_info))
        .route("/api/ed2k", get(crate::ed2k::ed2k_info))
        .route("/api/ed2k/fetch", axum::routing::post(crate::ed2k::jobs::start))
        .route("/api/ed2k/fetch/{hash}", get(crate::ed2k::jobs::status))
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
        // Outermost, so every route (and the static app) is counted once.
        .layer(axum::middleware::from_fn(crate::metrics::track_http))
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

async fn node_info(State(node): State<NodeState>) -> Result<Json<NodeInfo>, ApiError> {
    let unavailable = || ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the p2p node is not running".into());
    let node = node.0.as_ref().ok_or_else(unavailable)?;
    Ok(Json(node.info().await.map_err(|_| unavailable())?))
}
