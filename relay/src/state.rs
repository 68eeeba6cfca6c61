//! The relay's shared state, as independent sub-states (axum `FromRef`): handlers take only
//! the parts they use, and no module depends on the router ([`crate::http`]).

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::FromRef;

use crate::p2p::NodeHandle;
use crate::tracker_ws::TrackerService;

/// The app's state: independent sub-states, each cheap to clone. A handler asks only for
/// those it uses (`State<BridgeState>`, `State<LocalFiles>`, …) through axum's `FromRef`,
/// so no module depends on the whole.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub site: Arc<Site>,
    pub node: NodeState,
    pub tracker: TrackerService,
    pub rpc: RpcState,
    /// Files on this relay's disk, by CID.
    pub files: crate::file_http::LocalFiles,
    pub bridge: BridgeState,
    pub bt: Arc<BtTracker>,
    /// Reverse proxies whose forwarding headers name the client (`--trusted-proxy`).
    pub trusted_proxies: crate::client_addr::TrustedProxies,
    /// STUN/TURN and the ICE servers pages are given (`/api/ice`).
    pub ice: crate::ice::IceState,
    /// The payment-channel contract pages use (`/api/channels`).
    pub channels: crate::paid::ChannelsInfo,
    /// The eD2k side (`/api/ed2k`), when the relay speaks eD2k.
    pub ed2k: crate::ed2k::Ed2kState,
}

/// What the relay serves the app from, and the URL it is reached at.
#[derive(Debug)]
pub struct Site {
    pub www: PathBuf,
    pub public_url: String,
}

/// The libp2p node, when running.
#[derive(Clone, Default)]
pub struct NodeState(pub Option<NodeHandle>);

/// The guarded chain proxy, when a chain node is configured.
#[derive(Clone, Default)]
pub struct RpcState(pub Option<Arc<crate::rpc_proxy::RpcProxy>>);

/// Files browser tabs offer through `/bridge`, when bridging.
#[derive(Clone, Default)]
pub struct BridgeState(pub Option<crate::bridge::Bridge>);

/// BEP 3 HTTP announces, and where TCP BitTorrent clients reach this relay (set once listening).
#[derive(Default)]
pub struct BtTracker {
    pub swarms: std::sync::Mutex<crate::http_tracker::HttpSwarms>,
    pub addr: std::sync::OnceLock<std::net::SocketAddr>,
}

impl AppState {
    pub fn new(www: PathBuf, public_url: String) -> Self {
        Self {
            site: Arc::new(Site { www, public_url }),
            node: NodeState::default(),
            tracker: TrackerService::spawn(),
            rpc: RpcState::default(),
            files: Default::default(),
            bridge: BridgeState::default(),
            bt: Arc::default(),
            trusted_proxies: Default::default(),
            ice: Default::default(),
            channels: Default::default(),
            ed2k: Default::default(),
        }
    }

    pub fn with_node(www: PathBuf, public_url: String, node: NodeHandle) -> Self {
        Self { node: NodeState(Some(node)), ..Self::new(www, public_url) }
    }

    /// Serves these local files over HTTP, keeping up to
    /// [`crate::file_http::DEFAULT_CHUNK_CACHE_BYTES`] of verified chunks in memory.
    pub fn with_files(self, files: Vec<crate::file_http::LocalFile>) -> Self {
        self.with_files_cached(files, crate::file_http::DEFAULT_CHUNK_CACHE_BYTES)
    }

    /// Serves these local files over HTTP with at most `cache_bytes` of verified chunks in
    /// memory (`--chunk-cache-mib`; 0 reads every chunk from disk).
    pub fn with_files_cached(mut self, files: Vec<crate::file_http::LocalFile>, cache_bytes: u64) -> Self {
        self.files = crate::file_http::LocalFiles::new(files, cache_bytes);
        self
    }

    /// Bridges files that browser tabs offer, keeping pieces under `data_dir/bridge` and
    /// dialling only the peers `outbound` allows.
    pub fn with_bridge(mut self, data_dir: &std::path::Path, limits: crate::bridge::BridgeLimits, outbound: crate::outbound::OutboundPolicy) -> Self {
        self.bridge = BridgeState(Some(crate::bridge::Bridge::new(data_dir, limits, outbound)));
        self
    }

    /// Believes these reverse proxies' `Forwarded`/`X-Forwarded-For`.
    pub fn with_trusted_proxies(mut self, proxies: crate::client_addr::TrustedProxies) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// Runs STUN/TURN and hands pages their ICE servers.
    pub fn with_ice(mut self, ice: crate::ice::IceService) -> Self {
        self.ice = crate::ice::IceState(Some(Arc::new(ice)));
        self
    }

    /// Adds the chain proxy.
    pub fn with_rpc(mut self, rpc: crate::rpc_proxy::RpcProxy) -> Self {
        self.rpc = RpcState(Some(Arc::new(rpc)));
        self
    }

    pub fn with_ed2k(mut self, svc: Arc<crate::ed2k::Ed2kService>) -> Self {
        self.ed2k = crate::ed2k::Ed2kState(Some(svc));
        self
    }

    /// Tells pages which `ChiralChannels` contract Style 2 runs on, on `chain_id`.
    pub fn with_channels(mut self, contract: alloy_primitives::Address, chain_id: u64) -> Self {
        self.channels = crate::paid::ChannelsInfo(Some(Arc::new(serde_json::json!({ "contract": contract.to_checksum(None), "chain_id": chain_id }))));
        self
    }
}
