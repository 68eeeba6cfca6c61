//! Where the bridge finds BitTorrent peers for a torrent beyond its own tracker: the HTTP
//! and UDP trackers a magnet names, and the mainline DHT (BEP 5, librqbit's node). Every
//! source feeds one channel of addresses until its receiver is dropped, so a file's task
//! owns its discovery and ends it by going away. Announces carry the relay's TCP port:
//! real clients find the relay for the files it bridges, too.

pub mod http_announce;
pub mod udp_tracker;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc;

use crate::outbound::{OutboundPolicy, Refused};

/// Why one announce to one tracker failed (the loop retries later).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    #[error("bad tracker URL: {0}")]
    BadUrl(String),
    #[error("cannot resolve {host}: {reason}")]
    Resolve { host: String, reason: String },
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Udp(#[from] udp_tracker::UdpTrackerError),
    #[error("no answer within {TRACKER_TIMEOUT:?}")]
    Timeout,
    #[error("HTTP: {0}")]
    Http(String),
    #[error(transparent)]
    Reply(#[from] http_announce::HttpAnnounceError),
}

/// Trackers a page may name per torrent (each costs the relay a socket and a timer).
pub const MAX_TRACKERS: usize = 8;
const MIN_INTERVAL: Duration = Duration::from_secs(30);
const MAX_INTERVAL: Duration = Duration::from_secs(30 * 60);
const TRACKER_TIMEOUT: Duration = Duration::from_secs(15);
const NUMWANT: u32 = 50;
/// The usual bootstrap routers of the mainline DHT.
pub const DEFAULT_DHT_BOOTSTRAP: &[&str] = &["router.bittorrent.com:6881", "dht.transmissionbt.com:6881", "dht.libtorrent.org:25401"];

/// Trackers the relay announces to (the page speaks WebSocket ones itself).
pub fn speaks(tracker: &str) -> bool {
    tracker.starts_with("http://") || tracker.starts_with("udp://")
}

/// `--dht-bootstrap` as given, or the public routers when none is.
pub fn bootstrap_or_default(given: &[String]) -> Vec<String> {
    if given.is_empty() {
        DEFAULT_DHT_BOOTSTRAP.iter().map(|s| s.to_string()).collect()
    } else {
        given.to_vec()
    }
}

#[derive(Debug, Clone)]
pub struct DiscoveryConfig {
    /// The relay's own peer id and TCP BitTorrent port, as announced.
    pub peer_id: [u8; 20],
    pub announce_port: u16,
    /// Source address for tracker traffic (the relay's listen IP; unspecified = any).
    pub bind_ip: IpAddr,
    /// Where the DHT node listens (UDP); none: no DHT.
    pub dht_listen: Option<SocketAddr>,
    pub dht_bootstrap: Vec<String>,
    /// A fixed DHT node id (random when none).
    pub dht_node_id: Option<[u8; 20]>,
    /// Where trackers may be (the bridge's policy: trackers, like the peers they name, are
    /// untrusted input). The DHT's socket is added to its own addresses once bound.
    pub outbound: OutboundPolicy,
}

#[derive(Clone)]
pub struct Discovery {
    inner: Arc<Inner>,
}

struct Inner {
    config: DiscoveryConfig,
    dht: Option<librqbit_dht::Dht>,
    http: Client<HttpConnector, Empty<Bytes>>,
}

impl Discovery {
    /// Starts the DHT node (when configured). A DHT that cannot start is logged and left out:
    /// trackers still work.
    pub async fn start(config: DiscoveryConfig) -> Self {
        let dht = match config.dht_listen {
            None => None,
            Some(listen) => {
                let dht_config = librqbit_dht::DhtConfig {
                    listen_addr: Some(listen),
                    bootstrap_addrs: Some(config.dht_bootstrap.clone()),
                    peer_id: config.dht_node_id.map(librqbit_dht::Id20::new),
                    ..Default::default()
                };
                match librqbit_dht::DhtBuilder::with_config(dht_config).await {
                    Ok(dht) => {
                        config.outbound.add_own(dht.listen_addr());
                        Some(dht)
                    }
                    Err(e) => {
                        tracing::warn!(%listen, "no mainline DHT: {e}");
                        None
                    }
                }
            }
        };
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(TRACKER_TIMEOUT));
        if !config.bind_ip.is_unspecified() {
            connector.set_local_address(Some(config.bind_ip));
        }
        let http = Client::builder(TokioExecutor::new()).build(connector);
        Self { inner: Arc::new(Inner { config, dht, http }) }
    }

    /// The DHT node's UDP address, when it runs.
    pub fn dht_addr(&self) -> Option<SocketAddr> {
        self.inner.dht.as_ref().map(|d| d.listen_addr())
    }

    /// Peers for `info_hash` from `trackers` (http:// and udp://; others are skipped) and the
    /// DHT, as they arrive, re-announcing at each tracker's interval, until the receiver is
    /// dropped. `left`: bytes we still need (0 when the relay holds the file).
    /// `dht`: also ask the DHT.
    pub fn find(&self, info_hash: [u8; 20], trackers: &[String], left: u64, dht: bool) -> mpsc::Receiver<SocketAddr> {
        let (tx, rx) = mpsc::channel(256);
        for tracker in trackers.iter().take(MAX_TRACKERS) {
            let (tracker, tx, this) = (tracker.clone(), tx.clone(), self.clone());
            if speaks(&tracker) {
                tokio::spawn(async move { this.announce_loop(&tracker, info_hash, left, tx).await });
            } else {
                tracing::debug!(%tracker, "tracker scheme not spoken by the bridge");
            }
        }
        if let Some(dht) = self.inner.dht.clone().filter(|_| dht) {
            let port = self.inner.config.announce_port;
            tokio::spawn(async move {
                let mut peers = dht.get_peers(librqbit_dht::Id20::new(info_hash), Some(port));
                loop {
                    tokio::select! {
                        peer = peers.next() => match peer {
                            Some(peer) => if tx.send(peer).await.is_err() { break },
                            None => break,
                        },
                        _ = tx.closed() => break,
                    }
                }
            });
        }
        rx
    }

    /// Announces to one tracker at its interval (every 5 minutes after an error), sending
    /// the peers it names, until the receiver is dropped.
    async fn announce_loop(&self, tracker: &str, info_hash: [u8; 20], left: u64, tx: mpsc::Sender<SocketAddr>) {
        let mut first = true;
        loop {
            let reply = if tracker.starts_with("udp://") {
                self.udp_once(tracker, info_hash, left, first).await.map(|r| (r.interval, r.peers))
            } else {
                let url = http_announce::announce_url(tracker, &info_hash, &self.inner.config.peer_id, self.inner.config.announce_port, left, first, NUMWANT);
                self.http_once(&url).await.map(|r| (r.interval, r.peers))
            };
            let interval = match reply {
                Ok((interval, peers)) => {
                    tracing::debug!(%tracker, peers = peers.len(), "tracker answered");
                    for peer in peers {
                        if tx.send(peer).await.is_err() {
                            return;
                        }
                    }
                    interval
                }
                Err(e) => {
                    tracing::info!(%tracker, "tracker: {e}");
                    MAX_INTERVAL / 6
                }
            };
            first = false;
            if wait_or_closed(&tx, interval).await {
                return;
            }
        }
    }

    async fn udp_once(&self, tracker: &str, info_hash: [u8; 20], left: u64, started: bool) -> Result<udp_tracker::Peers, AnnounceError> {
        let authority = tracker.trim_start_matches("udp://").split('/').next().unwrap_or_default();
        let addr = resolve(authority, tokio::net::lookup_host(authority).await)?;
        // Trackers are untrusted input: the address checked is the one connected to.
        self.inner.config.outbound.check(addr)?;
        let bind: IpAddr = match (self.inner.config.bind_ip, addr.ip()) {
            (ip @ IpAddr::V4(_), IpAddr::V4(_)) | (ip @ IpAddr::V6(_), IpAddr::V6(_)) => ip,
            (_, IpAddr::V4(_)) => Ipv4Addr::UNSPECIFIED.into(),
            (_, IpAddr::V6(_)) => std::net::Ipv6Addr::UNSPECIFIED.into(),
        };
        let socket = tokio::net::UdpSocket::bind((bind, 0)).await?;
        socket.connect(addr).await?;
        let mut key = [0u8; 4];
        let _ = getrandom::fill(&mut key);
        let announce = udp_tracker::Announce {
            info_hash,
            peer_id: self.inner.config.peer_id,
            downloaded: 0,
            left,
            uploaded: 0,
            event: if started { udp_tracker::Event::Started } else { udp_tracker::Event::None },
            key: u32::from_be_bytes(key),
            numwant: NUMWANT,
            port: self.inner.config.announce_port,
        };
        Ok(udp_tracker::announce(&socket, &announce, 3).await?)
    }

    async fn http_once(&self, url: &str) -> Result<http_announce::Reply, AnnounceError> {
        let uri: hyper::Uri = url.parse().map_err(|e: hyper::http::uri::InvalidUri| AnnounceError::BadUrl(e.to_string()))?;
        let authority = uri.authority().ok_or_else(|| AnnounceError::BadUrl("no host".into()))?.clone();
        let port = authority.port_u16().unwrap_or(80);
        let host = authority.host().trim_start_matches('[').trim_end_matches(']');
        let addr = resolve(host, tokio::net::lookup_host((host, port)).await)?;
        // Trackers are untrusted input (pages name them): see [`crate::outbound`].
        self.inner.config.outbound.check(addr)?;
        // Connect to the address just checked (a second lookup could answer otherwise), and
        // name the host in the Host header.
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let request = hyper::Request::get(format!("http://{addr}{path}"))
            .header(hyper::header::HOST, authority.as_str())
            .body(Empty::new())
            .map_err(|e| AnnounceError::BadUrl(e.to_string()))?;
        let response =
            tokio::time::timeout(TRACKER_TIMEOUT, self.inner.http.request(request)).await.map_err(|_| AnnounceError::Timeout)?.map_err(|e| AnnounceError::Http(e.to_string()))?;
        if !response.status().is_success() {
            return Err(AnnounceError::Http(response.status().to_string()));
        }
        let body = tokio::time::timeout(TRACKER_TIMEOUT, Limited::new(response.into_body(), http_announce::MAX_REPLY_BYTES).collect())
            .await
            .map_err(|_| AnnounceError::Timeout)?
            .map_err(|e| AnnounceError::Http(e.to_string()))?
            .to_bytes();
        Ok(http_announce::parse_reply(&body)?)
    }
}

/// The first address a lookup gave.
fn resolve(host: &str, lookup: std::io::Result<impl Iterator<Item = SocketAddr>>) -> Result<SocketAddr, AnnounceError> {
    let unresolved = |reason: String| AnnounceError::Resolve { host: host.to_string(), reason };
    lookup.map_err(|e| unresolved(e.to_string()))?.next().ok_or_else(|| unresolved("no address".into()))
}

/// Sleeps for the tracker's interval (clamped); true when the receiver went away meanwhile.
async fn wait_or_closed(tx: &mpsc::Sender<SocketAddr>, interval: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(interval.clamp(MIN_INTERVAL, MAX_INTERVAL)) => false,
        _ = tx.closed() => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::Scope;

    fn discovery(scope: Scope) -> Discovery {
        let outbound = OutboundPolicy::new(scope);
        outbound.add_own("127.0.0.1:8080".parse().unwrap());
        let config = DiscoveryConfig { peer_id: [0; 20], announce_port: 6881, bind_ip: "0.0.0.0".parse().unwrap(), dht_listen: None, dht_bootstrap: Vec::new(), dht_node_id: None, outbound };
        let http = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        Discovery { inner: Arc::new(Inner { config, dht: None, http }) }
    }

    #[tokio::test]
    async fn a_public_relay_sends_no_tracker_traffic_inside() {
        let public = discovery(Scope::Public);
        let err = public.http_once("http://127.0.0.1:9/announce?x=1").await.unwrap_err().to_string();
        assert!(err.contains("loopback address"), "{err}");
        let err = public.http_once("http://169.254.169.254/latest/meta-data/").await.unwrap_err().to_string();
        assert!(err.contains("link-local address"), "{err}");
        let err = public.http_once("http://[::ffff:10.0.0.1]:80/announce").await.unwrap_err().to_string();
        assert!(err.contains("private address"), "{err}");
        let err = public.udp_once("udp://10.0.0.1:6969/announce", [0; 20], 1, true).await.unwrap_err().to_string();
        assert!(err.contains("private address"), "{err}");
        // Bound to loopback (development, the tests), loopback is fine, but never its own ports.
        let dev = discovery(Scope::Loopback);
        let err = dev.http_once("http://127.0.0.1:8080/announce").await.unwrap_err().to_string();
        assert!(err.contains("own address"), "{err}");
        let err = dev.http_once("http://127.0.0.1:9/announce").await.unwrap_err().to_string();
        assert!(!err.contains("refused:"), "{err}");
    }
}
