//! `GET /metrics`: the relay in the Prometheus text exposition format (version 0.0.4, see
//! <https://prometheus.io/docs/instrumenting/exposition_formats/>), for operators to scrape.
//!
//! Counters are incremented where things happen, through the `metrics` facade (HTTP routes
//! by [`track_http`], RPC calls and refusals in [`crate::rpc_proxy`], bytes by protocol in
//! the bridge pumps, the `/file` routes and eD2k); gauges are read from the running state
//! at each scrape ([`scrape`]), so nothing is kept twice. `metrics-exporter-prometheus`
//! renders them; it is installed once per process ([`handle`]).
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `chiral_http_requests_total` | counter | `route` (the axum route, `static` for the app), `method`, `status` |
//! | `chiral_http_request_duration_seconds` | histogram | `route` |
//! | `chiral_bytes_total` | counter | `protocol` (`page`, `bittorrent`, `ed2k`, `http`), `direction` (`in`, `out`) |
//! | `chiral_tracker_swarms`, `chiral_tracker_peers` | gauge | `tracker` (`websocket`, `http`) |
//! | `chiral_bridge_files`, `chiral_bridge_disk_bytes`, `chiral_bridge_disk_limit_bytes`, `chiral_ed2k_files` | gauge | |
//! | `chiral_local_files` | gauge | |
//! | `chiral_rpc_calls_total` | counter | `method` (allowlisted JSON-RPC methods forwarded) |
//! | `chiral_rpc_refused_total` | counter | `reason` (`no_chain`, `content_type`, `too_large`, `not_allowed`, `rate_limited`, `upstream_down`) |
//! | `chiral_dht_records`, `chiral_dht_routing_table_peers`, `chiral_p2p_connected_peers` | gauge | |
//! | `chiral_turn_allocations` | gauge | |
//! | `chiral_turn_allocations_total`, `chiral_turn_allocations_refused_total`, `chiral_turn_auth_refused_total`, `chiral_turn_relayed_bytes_total` | counter | |
//! | `chiral_ed2k_connections`, `chiral_ed2k_upload_slots_used` | gauge | |
//! | `chiral_build_info` | gauge (1) | `version` |

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

/// Request duration buckets, seconds: from a cached chunk (sub-millisecond) to a slow
/// whole-file stream.
const DURATION_BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0];

/// The process's Prometheus recorder, installed on first use (one per process: the facade
/// has one global recorder). When another recorder was installed first (an embedding
/// program), ours still renders, but records nothing from the facade.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full("chiral_http_request_duration_seconds".into()), &DURATION_BUCKETS)
            .expect("non-empty buckets");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was installed before the relay's: /metrics shows gauges only");
        }
        describe();
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!("chiral_http_requests_total", "HTTP requests answered, by route, method and status.");
    describe_histogram!("chiral_http_request_duration_seconds", Unit::Seconds, "Time to the response head, by route.");
    describe_counter!("chiral_bytes_total", Unit::Bytes, "Bytes on file connections, by protocol and direction (wire bytes; response bodies for http).");
    describe_counter!("chiral_rpc_calls_total", "JSON-RPC calls forwarded to the chain node, by method.");
    describe_counter!("chiral_rpc_refused_total", "JSON-RPC requests refused, by reason.");
    describe_gauge!("chiral_tracker_swarms", "Torrents the tracker holds peers for, by tracker (websocket, http).");
    describe_gauge!("chiral_tracker_peers", "Peers the tracker holds, all torrents, by tracker.");
    describe_gauge!("chiral_bridge_files", "Files the bridge serves or fetches now (tabs' files, magnets).");
    describe_gauge!("chiral_bridge_disk_bytes", Unit::Bytes, "Bytes of bridged pieces cached on disk.");
    describe_gauge!("chiral_bridge_disk_limit_bytes", Unit::Bytes, "The bridge's disk budget (--bridge-disk-mib).");
    describe_gauge!("chiral_ed2k_files", "ed2k hashes the relay can serve from the bridge.");
    describe_gauge!("chiral_local_files", "Files on the relay's own disk (--seed).");
    describe_gauge!("chiral_dht_records", "Kademlia records stored by this relay.");
    describe_gauge!("chiral_dht_routing_table_peers", "Peers in the Kademlia routing table.");
    describe_gauge!("chiral_p2p_connected_peers", "libp2p connections open.");
    describe_gauge!("chiral_turn_allocations", "TURN allocations alive.");
    describe_counter!("chiral_turn_allocations_total", "TURN allocations made since start.");
    describe_counter!("chiral_turn_allocations_refused_total", "TURN allocations refused at the allocation cap.");
    describe_counter!("chiral_turn_auth_refused_total", "TURN requests with refused credentials.");
    describe_counter!("chiral_turn_relayed_bytes_total", Unit::Bytes, "TURN payload bytes relayed.");
    describe_gauge!("chiral_ed2k_connections", "eD2k connections open.");
    describe_gauge!("chiral_ed2k_upload_slots_used", "eD2k upload slots held.");
    describe_gauge!("chiral_build_info", "Always 1; the relay's version as a label.");
}

/// Axum middleware: counts every request by route (the matched pattern, never the raw path,
/// so label values stay bounded), method and status, and observes its duration.
pub async fn track_http(request: Request, next: Next) -> Response {
    // Ensures the recorder exists before the first count.
    let _ = handle();
    let route = request.extensions().get::<MatchedPath>().map_or("static", |p| p.as_str()).to_owned();
    let method = request.method().as_str().to_owned();
    let method = match method.as_str() {
        "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "OPTIONS" => method,
        _ => "other".to_owned(),
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("chiral_http_request_duration_seconds", "route" => route.clone()).record(started.elapsed().as_secs_f64());
    if route.starts_with("/file/") {
        if let Some(len) = response.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()) {
            bytes("http", Direction::Out, len);
        }
    }
    metrics::counter!("chiral_http_requests_total", "route" => route, "method" => method, "status" => status).increment(1);
    response
}

/// Which way file bytes moved, from the relay's side.
#[derive(Debug, Clone, Copy)]
pub enum Direction {
    In,
    Out,
}

/// Counts `n` file bytes moved over `protocol` (`page`, `bittorrent`, `ed2k`, `http`).
pub fn bytes(protocol: &'static str, direction: Direction, n: u64) {
    let direction = match direction {
        Direction::In => "in",
        Direction::Out => "out",
    };
    metrics::counter!("chiral_bytes_total", "protocol" => protocol, "direction" => direction).increment(n);
}

/// A JSON-RPC request refused before (or instead of) reaching the chain node.
pub fn rpc_refused(reason: &'static str) {
    metrics::counter!("chiral_rpc_refused_total", "reason" => reason).increment(1);
}

/// A JSON-RPC call forwarded to the chain node (`method` is from the allowlist).
pub fn rpc_call(method: &'static str) {
    metrics::counter!("chiral_rpc_calls_total", "method" => method).increment(1);
}

/// Sets every gauge from the running state. Awaits the tracker and libp2p tasks (each
/// answers from memory).
pub async fn scrape(state: &AppState) {
    use metrics::{counter, gauge};
    gauge!("chiral_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    if let Some((swarms, peers)) = state.tracker.stats().await {
        gauge!("chiral_tracker_swarms", "tracker" => "websocket").set(swarms as f64);
        gauge!("chiral_tracker_peers", "tracker" => "websocket").set(peers as f64);
    }
    {
        let http = state.bt.swarms.lock().expect("http tracker lock");
        gauge!("chiral_tracker_swarms", "tracker" => "http").set(http.swarm_count() as f64);
        gauge!("chiral_tracker_peers", "tracker" => "http").set(http.peer_count() as f64);
    }
    gauge!("chiral_local_files").set(state.files.len() as f64);
    if let Some(bridge) = &state.bridge.0 {
        let s = bridge.stats();
        gauge!("chiral_bridge_files").set(s.files as f64);
        gauge!("chiral_bridge_disk_bytes").set(s.disk_used as f64);
        gauge!("chiral_bridge_disk_limit_bytes").set(s.disk_limit as f64);
        gauge!("chiral_ed2k_files").set(bridge.ed2k_count() as f64);
    }
    if let Some(node) = &state.node.0 {
        if let Ok(info) = node.info().await {
            gauge!("chiral_dht_records").set(info.stored_records as f64);
            gauge!("chiral_dht_routing_table_peers").set(info.routing_table_size as f64);
            gauge!("chiral_p2p_connected_peers").set(info.connected_peers as f64);
        }
    }
    if let Some(ice) = &state.ice.0 {
        let t = ice.stats.counts();
        gauge!("chiral_turn_allocations").set(t.allocations as f64);
        counter!("chiral_turn_allocations_total").absolute(t.allocations_total);
        counter!("chiral_turn_allocations_refused_total").absolute(t.allocations_refused);
        counter!("chiral_turn_auth_refused_total").absolute(t.auth_refused);
        counter!("chiral_turn_relayed_bytes_total").absolute(t.relayed_bytes);
    }
    if let Some(ed2k) = &state.ed2k.0 {
        let (connections, slots) = ed2k.in_use();
        gauge!("chiral_ed2k_connections").set(connections as f64);
        gauge!("chiral_ed2k_upload_slots_used").set(slots as f64);
    }
}

/// `GET /metrics`: every metric in the text format, `text/plain; version=0.0.4`.
pub async fn metrics_text(State(state): State<AppState>) -> Response {
    let handle = handle();
    scrape(&state).await;
    handle.run_upkeep();
    let body = handle.render();
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}
