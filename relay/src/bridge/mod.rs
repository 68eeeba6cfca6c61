//! The bridge: files that only browser tabs hold, served by the relay over HTTP.
//!
//! A seeding page opens `ws(s)://relay/bridge/{infohash}?cid=…` and speaks the BitTorrent
//! peer wire over it (binary frames), exactly as over an RTCDataChannel. Here one task per
//! file owns a native [`web_node::swarm::Swarm`] (the page's own sans-IO core): the relay
//! is one more peer of the page's swarm. It fetches the info dict (BEP 9) and, once an HTTP
//! client asks, the pieces, wanted ones first, each verified (SHA-1 from the info dict,
//! which the infohash authenticates) and kept in a sparse file under the data dir, so the
//! next client is served from disk. When every piece is there the whole file's SHA-256 is
//! checked against the CID the page named; a mismatch drops the file. Verified pieces stay
//! servable for 10 minutes after the last page left, then are deleted.
//! Bounded ([`BridgeLimits`]): files bridged, disk for them all, pages per file, frames
//! queued per page, upload rate per connection, files one client may make it open
//! ([`crate::client_caps`]); a page or peer silent for 3 minutes (15 s before its first
//! message) is disconnected.
//!
//! | module | what it is |
//! | --- | --- |
//! | [`file_task`] | one bridged file's actor: swarm, piece file, waiting clients, CID check |
//! | [`store`] | where verified pieces live: one file, or a multi-file torrent's folder (`relay fetch`) |
//! | [`pump`] | connection pumps (WebSocket pages, TCP peers), generic over their sockets |
//! | [`limits`] | operator limits, disk budget, silence timeouts, upload pacer |
//! | [`ws`] | `GET /bridge/{infohash}`: the WebSocket handler and its query |

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::WebSocket;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::{mpsc, oneshot};
use web_node::peer_wire::extension::TorrentInfo;
use web_node::swarm::{PeerKey, Swarm, SwarmConfig};

use crate::conditional::{self, Validators};
use crate::file_response::{self, Pieces, Representation, Source};
use crate::api_error::ApiError;
use crate::peer_discovery::{self, Discovery};

const MAX_PAGES_PER_FILE: usize = 8;
/// CIDs remembered per ed2k hash (a liar's claim cannot push out an honest one).
const ED2K_CLAIMS_PER_HASH: usize = 4;
/// The relay pings each bridge WebSocket this often (at most a third of the idle timeout);
/// browsers answer by themselves, so a throttled background tab stays connected.
const PING_EVERY: Duration = Duration::from_secs(60);

mod error;
mod file_task;
mod limits;
mod pump;
mod store;
mod ws;

use file_task::{CidCheck, FileTask};
use store::PieceStore;
pub use error::BridgeError;
pub use limits::BridgeLimits;
use limits::{DiskBudget, Silence};
use pump::pump_tcp;
use ws::refuse;
pub use ws::{bridge_ws, resolve_peers, BridgeQuery};

/// Frames queued per connection. Piece data is bounded by the swarm's send window
/// ([`SEND_WINDOW`]); the rest is small control messages. A connection this far behind is
/// dropped.
const OUTBOX_PER_PAGE: usize = 1024;
/// Piece bytes given to one connection and not yet written before the swarm waits for it:
/// a slow peer is throttled, not disconnected.
const SEND_WINDOW: u64 = 1 << 20;
/// TCP peers the relay dials at once per file, and peers it tracks at once.
const MAX_DIALS_PER_FILE: usize = 16;
const MAX_PEERS_SEEN: usize = 2_000;
/// How long an HTTP client waits for one piece; the last one is held back until the whole
/// file has been fetched and hashed to its CID, so it may take longer (the client is told
/// which piece did not come in time).
const PIECE_WAIT: Duration = Duration::from_secs(30);
const LAST_PIECE_WAIT: Duration = Duration::from_secs(300);
/// How long the relay waits for a tab's signed DHT record to appear.
const RECORD_WAIT: Duration = Duration::from_secs(10);
/// Verified pieces stay on disk this long after the last page left, then are deleted.
const CACHE_TTL: Duration = Duration::from_secs(600);

enum Cmd {
    /// A page (bridge WebSocket) or a TCP BitTorrent client; `demand`: it wants the file,
    /// so the relay starts fetching it from the pages.
    /// Refused (`Err`) once the file failed for good ([`BridgeError::refuses_pages`]).
    PageOpen { outbox: mpsc::Sender<ToPage>, demand: bool, initiator: bool, reply: oneshot::Sender<Result<PeerKey, BridgeError>> },
    PageData { key: PeerKey, bytes: Vec<u8> },
    PageClosed { key: PeerKey },
    /// The connection wrote this many of the bytes the swarm gave it (backpressure).
    Flushed { key: PeerKey, bytes: u64 },
    /// The file's signed DHT record names this Merkle root: pieces are checked against the
    /// chunk SHA-256 list it anchors too.
    Anchor { root: [u8; 32] },
    /// The whole-file check against the CID finished.
    CidChecked { result: Result<(), BridgeError> },
    Want { index: u32, reply: oneshot::Sender<Result<Vec<u8>, BridgeError>> },
    Info { reply: oneshot::Sender<Option<TorrentInfo>> },
    /// Style 2, seller: the chain's answer for the channel a peer named.
    ChannelChecked { key: PeerKey, channel: [u8; 32], result: Result<web_node::pay::seller::ChannelGrant, String> },
    /// Whether every connection wrote all it was given (a paying fetch waits for its last voucher).
    AllFlushed { reply: oneshot::Sender<bool> },
    /// Style 2, buyer (`relay fetch --pay-key`): a channel for a seller's terms, or why not.
    ChannelReady { key: PeerKey, result: Result<([u8; 32], u128), String> },
}

/// What the file's actor sends one connection: bytes, or the end of it and why.
#[derive(Debug)]
enum ToPage {
    Bytes(Vec<u8>),
    /// The file failed for good: the connection ends with this reason (a page's WebSocket
    /// closes with it, see [`web_node::bridge_link`]).
    End(BridgeError),
}

struct Bridged {
    /// The CID a seeding page named (none when only leechers and TCP peers know the file).
    cid: Option<String>,
    /// Trackers already asked for this file's peers.
    trackers: Vec<String>,
    tx: mpsc::Sender<Cmd>,
    pages: Arc<std::sync::atomic::AtomicUsize>,
    /// A signed DHT record for `cid` names this torrent (checked once, then remembered).
    vouched: bool,
    /// Sold in Style 2: never offered to eD2k (which has no payment).
    sold: bool,
}

/// What [`Bridge::stats`] reports.
#[derive(Debug, Clone, Copy)]
pub struct BridgeStats {
    pub files: usize,
    /// Bytes of pieces cached on disk, all files together, and the budget (`--bridge-disk-mib`).
    pub disk_used: u64,
    pub disk_limit: u64,
}

#[derive(Clone)]
pub struct Bridge {
    files: Arc<Mutex<HashMap<[u8; 20], Bridged>>>,
    dir: PathBuf,
    peer_id: [u8; 20],
    /// Upload cap per connection, bytes per second (a community relay's bandwidth budget).
    rate: Option<u64>,
    max_files: usize,
    disk: Arc<DiskBudget>,
    /// Trackers and the DHT, once the relay's TCP BitTorrent port is known.
    discovery: Arc<std::sync::OnceLock<(Discovery, SocketAddr)>>,
    /// The relay's Kademlia node: a tab's claim that its torrent is a CID is believed only
    /// when a signed record for that CID names the same infohash.
    records: Arc<std::sync::OnceLock<crate::p2p::NodeHandle>>,
    /// Where the bridge may connect: every peer it dials was named by someone else.
    outbound: crate::outbound::OutboundPolicy,
    /// Files each client made the bridge open, counted until their tasks end.
    creators: crate::client_caps::PerClient,
    silence: Silence,
    /// ed2k hash → the CIDs pages or the relay's own copy say have it (at most
    /// [`ED2K_CLAIMS_PER_HASH`], first come first kept). A claim is believed only once the
    /// eD2k side has hashed that CID's verified bytes to the hash ([`crate::ed2k`]).
    ed2k: Arc<Mutex<HashMap<[u8; 16], Vec<String>>>>,
}

impl Bridge {
    /// `outbound`: which peers the bridge may dial (see [`crate::outbound`]).
    pub fn new(data_dir: &std::path::Path, limits: BridgeLimits, outbound: crate::outbound::OutboundPolicy) -> Self {
        let mut peer_id = [0u8; 20];
        peer_id[..8].copy_from_slice(b"-CH0001-");
        let _ = getrandom::fill(&mut peer_id[8..]);
        Self {
            files: Arc::default(),
            dir: data_dir.join("bridge"),
            peer_id,
            rate: limits.rate,
            max_files: limits.max_files,
            disk: Arc::new(DiskBudget { limit: limits.disk_bytes, used: Default::default() }),
            discovery: Arc::default(),
            records: Arc::default(),
            outbound,
            creators: crate::client_caps::PerClient::new("bridged files", crate::client_caps::BRIDGE_FILES_PER_CLIENT),
            silence: Silence { first: limits.first_message_timeout, idle: limits.idle_timeout },
            ed2k: Arc::default(),
        }
    }

    /// The rule every dialled peer passes.
    pub fn outbound(&self) -> &crate::outbound::OutboundPolicy {
        &self.outbound
    }

    /// From now on, HTTP clients get a tab's file only when the file's signed DHT record
    /// (looked up through `node`) names the torrent the tab offers.
    pub fn set_records(&self, node: crate::p2p::NodeHandle) {
        let _ = self.records.set(node);
    }

    /// The relay's BitTorrent peer id (announced to trackers and the DHT).
    pub fn peer_id(&self) -> [u8; 20] {
        self.peer_id
    }

    /// From now on, files find peers through `discovery`; `own` is the relay's TCP
    /// BitTorrent address (never dialled). Files already bridged start announcing.
    pub fn set_discovery(&self, discovery: Discovery, own: SocketAddr) {
        self.outbound.add_own(own);
        if self.discovery.set((discovery, own)).is_err() {
            return;
        }
        let files: Vec<_> = self.files.lock().expect("bridge lock").iter().map(|(h, b)| (*h, b.tx.clone(), b.cid.is_some())).collect();
        for (info_hash, tx, complete) in files {
            self.discover(tx, info_hash, &[], true, complete);
        }
    }

    /// Asks `trackers` (and the DHT when `dht`) for the file's peers and dials them.
    /// `complete`: the relay or a page holds the whole file (announced as a seeder).
    fn discover(&self, tx: mpsc::Sender<Cmd>, info_hash: [u8; 20], trackers: &[String], dht: bool, complete: bool) {
        let Some((discovery, own)) = self.discovery.get() else { return };
        if trackers.is_empty() && !(dht && discovery.dht_addr().is_some()) {
            return;
        }
        let found = discovery.find(info_hash, trackers, if complete { 0 } else { 1 }, dht);
        self.dial(tx, found, Some(*own));
    }

    /// A file on the relay's own disk joins the bridge as a complete swarm: tabs that download
    /// it get pieces from the relay beside their WebRTC peers.
    pub fn add_local(&self, path: &std::path::Path, manifest: &web_node::manifest::Manifest) -> anyhow::Result<()> {
        self.add_local_sold(path, manifest, None)
    }

    /// [`Bridge::add_local`], sold in Style 2 only when `seller` is given: peers that pay
    /// through a channel get it, others are never unchoked.
    pub fn add_local_sold(&self, path: &std::path::Path, manifest: &web_node::manifest::Manifest, seller: Option<Arc<crate::paid::seller::SellerService>>) -> anyhow::Result<()> {
        let info_bytes = manifest.info_dict_bytes();
        let pieces = manifest.chunks() as u32;
        let mut config = SwarmConfig::new(manifest.infohash, self.peer_id);
        config.send_window = Some(SEND_WINDOW);
        config.sell = seller.as_ref().map(|s| web_node::swarm::SellOffer { terms: s.terms, serve_others: false });
        let mut swarm = Swarm::with_info(config, info_bytes, Some(web_node::peer_wire::Bitfield::full(pieces)))?;
        swarm.set_chunk_hashes(manifest.chunk_hashes.clone());
        let file = std::fs::File::open(path)?;
        let (tx, rx) = mpsc::channel(256);
        let mut task = FileTask::new(Some(manifest.cid_hex()), manifest.infohash, self.peer_id, self.dir.clone());
        task.swarm = swarm;
        task.path = path.to_path_buf();
        task.store = Some(PieceStore::File(tokio::fs::File::from_std(file)));
        task.local = true;
        task.cid_check = CidCheck::Passed; // every chunk is checked against the manifest as it is read
        let task_sold = seller.is_some();
        task.pay = seller.map(crate::paid::TaskPay::Seller);
        // A sold file is never given away over eD2k (which has no payment).
        tokio::spawn(task.run(rx, tx.downgrade()));
        self.files.lock().expect("bridge lock").insert(
            manifest.infohash,
            Bridged { cid: Some(manifest.cid_hex()), trackers: Vec::new(), tx: tx.clone(), pages: Arc::new(std::sync::atomic::AtomicUsize::new(0)), vouched: true, sold: task_sold },
        );
        self.claim_ed2k(manifest.ed2k, manifest.cid_hex());
        Ok(())
    }

    /// `relay fetch`: downloads `info_hash` from BitTorrent peers (`trackers` and the DHT)
    /// into `out`, every piece verified, exactly as the bridge fetches for a page; then, if
    /// `cid` is given, checks the whole file's SHA-256. Returns the torrent's info.
    /// A multi-file torrent is written as a folder: `out/<path…>` for each of its files
    /// (see [`store`]); it has no CID yet, so `cid` must be `None` for one.
    /// `peers`: addresses to dial directly (a magnet's `x.pe`), under the same rules as
    /// every other address the bridge dials.
    pub async fn fetch(&self, info_hash: [u8; 20], trackers: &[String], peers: Vec<SocketAddr>, out: PathBuf, cid: Option<String>) -> Result<TorrentInfo, BridgeError> {
        self.fetch_paying(info_hash, trackers, peers, out, cid, None).await
    }

    /// [`Bridge::fetch`] that pays Style 2 sellers through `buyer`'s channels.
    pub async fn fetch_paying(&self, info_hash: [u8; 20], trackers: &[String], peers: Vec<SocketAddr>, out: PathBuf, cid: Option<String>, buyer: Option<Arc<crate::paid::buyer::BuyerService>>) -> Result<TorrentInfo, BridgeError> {
        let (tx, rx) = mpsc::channel(256);
        let mut config = FileTask::config(info_hash, self.peer_id);
        config.folders = true;
        config.buy = buyer.is_some();
        let paying = buyer.is_some();
        let mut task = FileTask::with_config(cid.clone(), config, self.dir.clone());
        task.pay = buyer.map(crate::paid::TaskPay::Buyer);
        task.path = out;
        task.fetching = true;
        let (done, finished) = oneshot::channel();
        task.fetch = Some(done);
        task.swarm.set_download(true, 0);
        tokio::spawn(task.run(rx, tx.downgrade()));
        self.files.lock().expect("bridge lock").insert(
            info_hash,
            Bridged { cid, trackers: trackers.to_vec(), tx: tx.clone(), pages: Arc::new(std::sync::atomic::AtomicUsize::new(0)), vouched: false, sold: false },
        );
        self.discover(tx.clone(), info_hash, trackers, true, false);
        self.dial_list(tx.clone(), peers);
        finished.await.map_err(|_| BridgeError::Stopped)??;
        if paying {
            // The vouchers for the last pieces leave after the file is complete: wait (up to
            // 5 s) until the connections have written them, or the seller is paid short.
            for _ in 0..50 {
                let (reply, flushed) = oneshot::channel();
                if tx.send(Cmd::AllFlushed { reply }).await.is_err() || flushed.await.unwrap_or(true) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let (reply, info) = oneshot::channel();
        tx.send(Cmd::Info { reply }).await.map_err(|_| BridgeError::Stopped)?;
        info.await.ok().flatten().ok_or(BridgeError::NoMetadata)
    }

    /// Some page offers the file with this infohash.
    pub fn has_info_hash(&self, info_hash: &[u8; 20]) -> bool {
        self.files.lock().expect("bridge lock").get(info_hash).is_some_and(|b| !b.tx.is_closed())
    }

    /// Dials these peers for the file bridged under `info_hash` (a magnet's `x.pe` peers,
    /// say), each only if the outbound policy allows it, as peers from trackers are.
    /// False when no file is bridged under that infohash.
    pub fn add_peers(&self, info_hash: &[u8; 20], peers: impl IntoIterator<Item = SocketAddr>) -> bool {
        let tx = self.files.lock().expect("bridge lock").get(info_hash).filter(|b| !b.tx.is_closed()).map(|b| b.tx.clone());
        let Some(tx) = tx else { return false };
        self.dial_list(tx, peers.into_iter().take(MAX_PEERS_SEEN).collect());
        true
    }

    /// A BitTorrent client for `info_hash` on any byte stream (TCP from [`crate::bt_tcp`],
    /// an in-memory pipe in tests); `first` is its handshake, already read. Returns when
    /// the connection ends.
    pub async fn attach_tcp<T>(&self, info_hash: [u8; 20], stream: T, first: Vec<u8>) -> Result<(), BridgeError>
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
    {
        let tx = {
            let files = self.files.lock().expect("bridge lock");
            files.get(&info_hash).filter(|b| !b.tx.is_closed()).map(|b| b.tx.clone())
        }
        .ok_or(BridgeError::NotOffered)?;
        pump_tcp(tx, stream, Some(first), self.rate, self.silence).await
    }

    /// Dials these addresses (BitTorrent clients our tracker knows, a magnet's `x.pe`).
    fn dial_list(&self, tx: mpsc::Sender<Cmd>, peers: Vec<SocketAddr>) {
        if peers.is_empty() {
            return;
        }
        let (found, rx) = mpsc::channel(peers.len());
        for peer in peers {
            let _ = found.try_send(peer);
        }
        self.dial(tx, rx, self.discovery.get().map(|(_, own)| *own));
    }

    /// Connects to the TCP BitTorrent peers `found` yields (never twice at once, at most
    /// `MAX_DIALS_PER_FILE` at a time) until the file's task ends.
    fn dial(&self, tx: mpsc::Sender<Cmd>, mut found: mpsc::Receiver<SocketAddr>, own: Option<SocketAddr>) {
        let rate = self.rate;
        let silence = self.silence;
        let outbound = self.outbound.clone();
        tokio::spawn(async move {
            let slots = Arc::new(tokio::sync::Semaphore::new(MAX_DIALS_PER_FILE));
            // Peers connected or being dialled; one that hangs up may be dialled again when a
            // tracker or the DHT names it next.
            let busy: Arc<Mutex<std::collections::HashSet<SocketAddr>>> = Arc::default();
            loop {
                let addr = tokio::select! {
                    addr = found.recv() => match addr { Some(a) => a, None => break },
                    _ = tx.closed() => break,
                };
                // None of these is ours to trust (trackers, the DHT, clients of our own tracker
                // and magnets name them): each passes the outbound policy first.
                if let Err(e) = outbound.check(addr) {
                    tracing::debug!(%addr, "not dialling a bittorrent peer: {e}");
                    continue;
                }
                {
                    let mut busy = busy.lock().expect("dial lock");
                    if Some(addr) == own || addr.port() == 0 || busy.len() >= MAX_PEERS_SEEN || !busy.insert(addr) {
                        continue;
                    }
                }
                let Ok(permit) = slots.clone().acquire_owned().await else { break };
                let tx = tx.clone();
                let busy = busy.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), tokio::net::TcpStream::connect(addr)).await {
                        Ok(Ok(stream)) => {
                            let _ = stream.set_nodelay(true);
                            tracing::debug!(%addr, "dialled a bittorrent peer");
                            if let Err(e) = pump_tcp(tx, stream, None, rate, silence).await {
                                tracing::debug!(%addr, "bittorrent peer: {e}");
                            }
                        }
                        _ => tracing::debug!(%addr, "cannot reach bittorrent peer"),
                    }
                    busy.lock().expect("dial lock").remove(&addr);
                    drop(permit);
                });
            }
        });
    }

    /// Someone (a seeding page, the relay's own copy) says the file `cid` has this ed2k hash.
    /// Refused for a file the relay sells. Bounded: as many hashes as twice the files
    /// bridged (claims whose CID nobody offers any more go first), [`ED2K_CLAIMS_PER_HASH`]
    /// CIDs each; a claim never replaces one whose CID is still offered.
    pub fn claim_ed2k(&self, hash: [u8; 16], cid: String) {
        let (live, sold): (std::collections::HashSet<String>, bool) = {
            let files = self.files.lock().expect("bridge lock");
            let live = files.values().filter(|b| !b.tx.is_closed()).filter_map(|b| b.cid.clone()).collect();
            (live, files.values().any(|b| b.sold && b.cid.as_deref() == Some(&cid)))
        };
        if sold {
            return;
        }
        let mut claims = self.ed2k.lock().expect("ed2k lock");
        if claims.len() >= self.max_files * 2 && !claims.contains_key(&hash) {
            for cids in claims.values_mut() {
                cids.retain(|c| live.contains(c));
            }
            claims.retain(|_, cids| !cids.is_empty());
        }
        if claims.len() >= self.max_files * 2 && !claims.contains_key(&hash) {
            return;
        }
        // One hash per CID: a tab cannot spread one file over many hashes.
        for (h, cids) in claims.iter_mut() {
            if *h != hash {
                cids.retain(|c| *c != cid);
            }
        }
        claims.retain(|h, cids| *h == hash || !cids.is_empty());
        let cids = claims.entry(hash).or_default();
        cids.retain(|c| live.contains(c) || *c == cid);
        if !cids.contains(&cid) && cids.len() < ED2K_CLAIMS_PER_HASH {
            cids.push(cid);
        }
    }

    /// The CIDs claimed for an ed2k hash that something still offers (and nobody sells).
    pub fn ed2k_cids(&self, hash: &[u8; 16]) -> Vec<String> {
        let cids = self.ed2k.lock().expect("ed2k lock").get(hash).cloned().unwrap_or_default();
        cids.into_iter().filter(|c| self.has(c) && !self.sold(c)).collect()
    }

    fn sold(&self, cid: &str) -> bool {
        self.files.lock().expect("bridge lock").values().any(|b| b.sold && b.cid.as_deref() == Some(cid))
    }

    /// How many ed2k hashes are currently offered.
    /// Files bridged now and the disk their cached pieces take (`/metrics`).
    pub fn stats(&self) -> BridgeStats {
        BridgeStats {
            files: self.files.lock().expect("bridge lock").len(),
            disk_used: self.disk.used.load(std::sync::atomic::Ordering::Relaxed),
            disk_limit: self.disk.limit,
        }
    }

    pub fn ed2k_count(&self) -> usize {
        let hashes: Vec<[u8; 16]> = self.ed2k.lock().expect("ed2k lock").keys().copied().collect();
        hashes.iter().filter(|h| !self.ed2k_cids(h).is_empty()).count()
    }

    /// Some page currently offers this CID.
    pub fn has(&self, cid: &str) -> bool {
        self.sender(cid).is_some_and(|tx| !tx.is_closed())
    }

    fn sender(&self, cid: &str) -> Option<mpsc::Sender<Cmd>> {
        self.files.lock().expect("bridge lock").values().find(|b| b.cid.as_deref() == Some(cid) && !b.tx.is_closed()).map(|b| b.tx.clone())
    }

    /// The file task for `cid` that a signed DHT record vouches for: a tab names the CID it
    /// claims to seed, and a tab may lie, so an HTTP client gets its bytes only when a
    /// record for the CID (signed by its publisher, checked by the DHT layer) names the
    /// same infohash. Several tabs may claim one CID; the one the record names wins.
    /// Without a DHT node (tests, `relay fetch`) every claim stands, and the whole-file
    /// check still holds back the last chunk.
    async fn vouched_sender(&self, cid: &str) -> Result<mpsc::Sender<Cmd>, ApiError> {
        let gone = || ApiError::new(StatusCode::NOT_FOUND, format!("no page offers {cid} any more"));
        let claims: Vec<([u8; 20], bool, mpsc::Sender<Cmd>)> = self
            .files
            .lock()
            .expect("bridge lock")
            .iter()
            .filter(|(_, b)| b.cid.as_deref() == Some(cid) && !b.tx.is_closed())
            .map(|(ih, b)| (*ih, b.vouched, b.tx.clone()))
            .collect();
        if let Some((_, _, tx)) = claims.iter().find(|(_, vouched, _)| *vouched) {
            return Ok(tx.clone());
        }
        let Some(node) = self.records.get() else { return claims.into_iter().next().map(|(_, _, tx)| tx).ok_or_else(gone) };
        if claims.is_empty() {
            return Err(gone());
        }
        // A tab publishes its record right after it offers the file: wait for it a little.
        let deadline = tokio::time::Instant::now() + RECORD_WAIT;
        loop {
            let view = node.lookup(cid, crate::p2p::now_secs()).await.ok().flatten();
            if let Some(view) = view {
                let named = hex::decode(&view.file.infohash).ok().and_then(|v| <[u8; 20]>::try_from(v).ok());
                let Some((ih, _, tx)) = claims.iter().find(|(ih, _, _)| Some(*ih) == named) else {
                    return Err(ApiError::new(
                        StatusCode::BAD_GATEWAY,
                        format!("the tabs offering {cid} offer another torrent than its signed DHT record names"),
                    ));
                };
                if let Some(b) = self.files.lock().expect("bridge lock").get_mut(ih) {
                    b.vouched = true;
                }
                if let Ok(root) = hex::decode(&view.file.merkle_root).map(<[u8; 32]>::try_from) {
                    if let Ok(root) = root {
                        let _ = tx.send(Cmd::Anchor { root }).await;
                    }
                }
                return Ok(tx.clone());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApiError::new(StatusCode::NOT_FOUND, format!("no signed DHT record vouches for {cid}, so the relay does not serve what a tab claims it is")));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The torrent info (name, length, piece length) of a vouched file `cid`.
    pub async fn info(&self, cid: &str) -> Option<TorrentInfo> {
        let tx = self.vouched_sender(cid).await.ok()?;
        let (reply, rx) = oneshot::channel();
        tx.send(Cmd::Info { reply }).await.ok()?;
        rx.await.ok().flatten()
    }

    /// One verified piece of a bridged file, fetched from a page if the relay lacks it.
    pub async fn piece(&self, cid: &str, index: u64) -> Result<Vec<u8>, ApiError> {
        let gone = || ApiError::new(StatusCode::NOT_FOUND, format!("no page offers {cid} any more"));
        let tx = self.vouched_sender(cid).await?;
        let index = u32::try_from(index).map_err(|_| ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, "no such chunk".into()))?;
        let (reply, rx) = oneshot::channel();
        tx.send(Cmd::Want { index, reply }).await.map_err(|_| gone())?;
        // The last piece waits for the whole file and its check against the CID.
        let (info_reply, info) = oneshot::channel();
        let last = tx.send(Cmd::Info { reply: info_reply }).await.is_ok()
            && tokio::time::timeout(PIECE_WAIT, info).await.ok().and_then(Result::ok).flatten().is_some_and(|i| index + 1 == i.pieces());
        let wait = if last { LAST_PIECE_WAIT } else { PIECE_WAIT };
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(Ok(bytes))) => Ok(bytes),
            Ok(Ok(Err(e))) => Err(e.into()),
            Ok(Err(_)) => Err(gone()),
            Err(_) => Err(ApiError::new(StatusCode::GATEWAY_TIMEOUT, format!("the browser seeder did not deliver chunk {index} within {wait:?}"))),
        }
    }

    /// `GET|HEAD /file/{cid}` for a bridged file: [`crate::conditional`] decides (ETag the CID,
    /// no Last-Modified); the content streams piece by piece, one piece in memory.
    pub async fn serve_whole(&self, cid: &str, method: &Method, headers: &HeaderMap) -> Option<Response> {
        let info = tokio::time::timeout(Duration::from_secs(15), self.info(cid)).await.ok().flatten()?;
        let rep = Representation {
            len: info.length,
            content_type: HeaderValue::from_static("application/octet-stream"),
            disposition: Some(file_response::disposition(&info.name)),
            validators: Validators::new(cid, None),
        };
        let decision = conditional::decide(method, headers, rep.len, &rep.validators);
        let head = method == Method::HEAD;
        let mut pieces = Pieces::new(self.clone(), cid, info.piece_length);
        // The first piece decides the status: a refusal (402, 504, …) is an honest error,
        // not a 200 that breaks off.
        if let Some(first) = decision.first_byte(rep.len).filter(|_| !head) {
            if let Err(e) = pieces.prime(first).await {
                return Some(e.into_response());
            }
        }
        Some(file_response::respond(decision, &rep, head, Source::Pieces(pieces)))
    }

    /// A page offers (or wants) `info_hash`, claimed to be `cid` when it seeds it: joins it
    /// to that file's swarm. `tcp_peers`: BitTorrent clients our own tracker knows for it;
    /// `trackers`: the magnet's HTTP/UDP trackers, asked (with the DHT) for more. `client`:
    /// who asks (a new file counts against its cap until the file's task ends).
    #[allow(clippy::too_many_arguments)]
    async fn attach(&self, client: crate::client_addr::ClientAddr, cid: Option<String>, info_hash: [u8; 20], socket: WebSocket, tcp_peers: Vec<SocketAddr>, trackers: Vec<String>, want: bool) {
        let (tx, pages, new_trackers, created) = {
            let mut files = self.files.lock().expect("bridge lock");
            files.retain(|_, b| !b.tx.is_closed());
            let full = files.len() >= self.max_files;
            match files.get_mut(&info_hash) {
                Some(b) => {
                    if b.cid.is_none() {
                        b.cid = cid.clone();
                    }
                    let new: Vec<String> = trackers.into_iter().filter(|t| !b.trackers.contains(t)).collect();
                    let room = peer_discovery::MAX_TRACKERS.saturating_sub(b.trackers.len());
                    let new: Vec<String> = new.into_iter().take(room).collect();
                    b.trackers.extend(new.iter().cloned());
                    (b.tx.clone(), b.pages.clone(), new, false)
                }
                None if full => {
                    tokio::spawn(refuse(socket, format!("the relay bridges at most {} files at once; try again later", self.max_files)));
                    return;
                }
                None => match self.creators.try_acquire(client.limit_key()) {
                    Err(e) => {
                        tokio::spawn(refuse(socket, e.to_string()));
                        return;
                    }
                    Ok(creator) => {
                        let (tx, rx) = mpsc::channel(256);
                        let pages = Arc::new(std::sync::atomic::AtomicUsize::new(0));
                        let mut task = FileTask::new(cid.clone(), info_hash, self.peer_id, self.dir.clone());
                        task.disk = Some(self.disk.clone());
                        task.creator = Some(creator);
                        tokio::spawn(task.run(rx, tx.downgrade()));
                        let trackers: Vec<String> = trackers.into_iter().take(peer_discovery::MAX_TRACKERS).collect();
                        files.insert(info_hash, Bridged { cid: cid.clone(), trackers: trackers.clone(), tx: tx.clone(), pages: pages.clone(), vouched: false, sold: false });
                        (tx, pages, trackers, true)
                    }
                },
            }
        };
        self.dial_list(tx.clone(), tcp_peers);
        // A new file is looked up in the DHT (and announced there); trackers once each.
        self.discover(tx.clone(), info_hash, &new_trackers, created, cid.is_some());
        if pages.load(std::sync::atomic::Ordering::Relaxed) >= MAX_PAGES_PER_FILE {
            return refuse(socket, format!("this file already has {MAX_PAGES_PER_FILE} pages on the bridge")).await;
        }
        let (outbox, outgoing) = mpsc::channel::<ToPage>(OUTBOX_PER_PAGE);
        let (reply, key) = oneshot::channel();
        if tx.send(Cmd::PageOpen { outbox, demand: want, initiator: false, reply }).await.is_err() {
            return;
        }
        let key = match key.await {
            Ok(Ok(key)) => key,
            Ok(Err(e)) => return refuse(socket, e.to_string()).await,
            Err(_) => return,
        };
        pages.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        pump::pump_page(socket, &tx, key, outgoing, self.rate, self.silence, info_hash).await;
        pages.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        let _ = tx.send(Cmd::PageClosed { key }).await;
    }
}
