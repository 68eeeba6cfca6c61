//! eD2k on the relay: aMule and other eDonkey2000 clients download the files the relay
//! serves (its own and those only a browser tab holds, through the bridge), and the relay
//! downloads from them for `relay fetch ed2k://…` and for pages. The protocol is
//! [`web_node::ed2k_wire`] (sans-IO); this module drives it over TCP.
//!
//! One port (`--ed2k-listen`, default 4662) speaks both the client protocol and a minimal
//! server: a connection whose first packet is a login (not a hello) is a client using the
//! relay as its eD2k server, which lets aMule ask the link sources it knows (it asks none
//! while unconnected) and answers source requests with the relay for the files it serves.
//!
//! | module | what it is |
//! | --- | --- |
//! | [`catalog`] | the files served: ed2k hash → CID, name, size; hashsets computed from verified bytes |
//! | [`conn`] | one inbound connection: server login or an uploading session |
//! | [`fetch`] | downloading a file from eD2k sources, every part checked against the hashset |
//! | [`jobs`] | fetches pages ask for (`/api/ed2k/fetch`), then served like the relay's own files |

pub mod catalog;
pub mod conn;
pub mod fetch;
pub mod jobs;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;

use tokio::net::TcpListener;
use web_node::ed2k_wire::message::client_id;
use web_node::ed2k_wire::Identity;

pub use catalog::Catalog;

/// Connections served at once (and from one address), and upload slots among them (the
/// rest get a queue rank).
pub const MAX_CONNECTIONS: usize = 256;
pub const CONNECTIONS_PER_CLIENT: usize = 8;
pub const UPLOAD_SLOTS: usize = 16;

/// The eD2k service as router state.
#[derive(Clone, Default)]
pub struct Ed2kState(pub Option<Arc<Ed2kService>>);

/// `GET /api/ed2k`: `{"source": "IP:PORT"}`, where eD2k clients reach this relay (pages put
/// it in their ed2k links and DHT records); 404 when the relay does not speak eD2k.
pub async fn ed2k_info(axum::extract::State(state): axum::extract::State<Ed2kState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match state.0.as_ref().and_then(|s| s.advertised) {
        Some(a) => axum::Json(serde_json::json!({ "source": a.to_string() })).into_response(),
        None => crate::api_error::ApiError::new(axum::http::StatusCode::NOT_FOUND, "this relay does not speak eD2k".into()).into_response(),
    }
}

/// The eD2k side of a relay.
pub struct Ed2kService {
    pub catalog: Catalog,
    pub me: Identity,
    /// The address eD2k clients reach us at (what links and source answers name).
    pub advertised: Option<SocketAddrV4>,
    pub jobs: jobs::Jobs,
    /// The relay's DHT node and key: files fetched for pages are published (CID → the
    /// relay over HTTP and eD2k), so other pages find them by CID.
    publisher: std::sync::OnceLock<(crate::p2p::NodeHandle, libp2p::identity::Keypair)>,
    slots: Arc<tokio::sync::Semaphore>,
    connections: Arc<tokio::sync::Semaphore>,
}

/// The address to put in links: the listen address, or `public` when listening on all
/// interfaces (an IPv4 literal), else none (links then name no source).
pub fn advertised(listen: SocketAddr, public: Option<Ipv4Addr>) -> Option<SocketAddrV4> {
    match listen {
        SocketAddr::V4(a) if !a.ip().is_unspecified() => Some(a),
        SocketAddr::V4(a) => public.map(|ip| SocketAddrV4::new(ip, a.port())),
        SocketAddr::V6(_) => None,
    }
}

impl Ed2kService {
    /// `data_dir`: where fetches for pages are kept; `public_url`: what their magnets name.
    pub fn new(bridge: crate::bridge::Bridge, advertised: Option<SocketAddrV4>, data_dir: &std::path::Path, public_url: &str) -> Arc<Self> {
        let mut random = [0u8; 16];
        let _ = getrandom::fill(&mut random);
        let (id, port) = advertised.map(|a| (client_id(*a.ip()), a.port())).unwrap_or((0, 0));
        Arc::new(Self {
            catalog: Catalog::new(bridge),
            me: Identity::new(random, id, port, "Chiral relay"),
            advertised,
            jobs: jobs::Jobs::new(data_dir.join("ed2k"), public_url.to_string()),
            publisher: std::sync::OnceLock::new(),
            slots: Arc::new(tokio::sync::Semaphore::new(UPLOAD_SLOTS)),
            connections: Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS)),
        })
    }

    /// Files fetched for pages are published in the DHT through `node`, signed with `keypair`.
    /// Connections open and upload slots held now (`/metrics`).
    pub fn in_use(&self) -> (usize, usize) {
        (MAX_CONNECTIONS - self.connections.available_permits(), UPLOAD_SLOTS - self.slots.available_permits())
    }

    pub fn set_publisher(&self, node: crate::p2p::NodeHandle, keypair: libp2p::identity::Keypair) {
        let _ = self.publisher.set((node, keypair));
    }

    /// The ed2k link for a file with this relay as its source (`|sources,IP:PORT|/`).
    pub fn link(&self, name: &str, size: u64, hash: &[u8; 16]) -> String {
        let sources: Vec<String> = self.advertised.iter().map(|a| a.to_string()).collect();
        web_node::ed2k::ed2k_link_with_sources(name, size, hash, &sources)
    }

    /// Accepts eD2k connections until the listener fails.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        let mut backoff = crate::bt_tcp::AcceptBackoff::new();
        let per_client = crate::client_caps::PerClient::new("eD2k connections", CONNECTIONS_PER_CLIENT);
        loop {
            let (stream, from) = match listener.accept().await {
                Ok(a) => {
                    backoff.succeeded();
                    a
                }
                Err(e) => {
                    tracing::debug!("ed2k accept: {e}");
                    tokio::time::sleep(backoff.failed()).await;
                    continue;
                }
            };
            let Ok(permit) = self.connections.clone().try_acquire_owned() else {
                tracing::debug!(%from, "ed2k: too many connections");
                continue;
            };
            let Ok(mine) = per_client.try_acquire(crate::client_addr::limit_key(from.ip())) else {
                tracing::debug!(%from, "ed2k: too many connections from one address");
                continue;
            };
            let svc = self.clone();
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                if let Err(e) = conn::handle(svc, stream, from).await {
                    tracing::debug!(%from, "ed2k connection ended: {e}");
                }
                drop((permit, mine));
            });
        }
    }
}
