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

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use web_node::peer_wire::extension::TorrentInfo;
use web_node::swarm::{Event, Output, PeerKey, Swarm, SwarmConfig};

use crate::conditional::{self, Validators};
use crate::file_response::{self, Pieces, Representation, Source};
use crate::http::{ApiError, AppState};
use crate::peer_discovery::{self, Discovery};

const MAX_PAGES_PER_FILE: usize = 8;
/// The relay pings each bridge WebSocket this often (at most a third of the idle timeout);
/// browsers answer by themselves, so a throttled background tab stays connected.
const PING_EVERY: Duration = Duration::from_secs(60);

/// What a community relay gives the bridge (flags `--bridge-*`).
#[derive(Debug, Clone, Copy)]
pub struct BridgeLimits {
    /// Upload cap per connection, bytes per second.
    pub rate: Option<u64>,
    /// Files bridged at once.
    pub max_files: usize,
    /// Disk for the pieces of bridged files, all together (a file bigger than what is left
    /// is refused with a clear error).
    pub disk_bytes: u64,
    /// A page or TCP peer that sends nothing this long is dropped (3 minutes: honest peers
    /// send BitTorrent keep-alives, every minute from our swarm core, every two from most
    /// clients; browsers also answer the relay's WebSocket pings).
    pub idle_timeout: Duration,
    /// A page's first message (its handshake), or the first bytes of a peer the relay
    /// dialled, must come this soon (15 s).
    pub first_message_timeout: Duration,
}

impl Default for BridgeLimits {
    fn default() -> Self {
        Self { rate: None, max_files: 64, disk_bytes: 16 << 30, idle_timeout: Duration::from_secs(180), first_message_timeout: Duration::from_secs(15) }
    }
}

/// How long a bridge connection may stay silent (from [`BridgeLimits`]).
#[derive(Debug, Clone, Copy)]
struct Silence {
    first: Duration,
    idle: Duration,
}

/// The bridge's disk budget, shared by its files' tasks.
#[derive(Debug)]
struct DiskBudget {
    limit: u64,
    used: std::sync::atomic::AtomicU64,
}

impl DiskBudget {
    fn try_reserve(&self, bytes: u64) -> Result<(), String> {
        use std::sync::atomic::Ordering;
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| used.checked_add(bytes).filter(|total| *total <= self.limit))
            .map(|_| ())
            .map_err(|used| format!("the relay's bridge has {} of its {} bytes of disk free; this file needs {bytes}", self.limit.saturating_sub(used), self.limit))
    }

    fn release(&self, bytes: u64) {
        self.used.fetch_sub(bytes, std::sync::atomic::Ordering::SeqCst);
    }
}
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
/// Why a bridged chunk is refused when only priced tabs have it: the relay pays no one.
const PRICED_ONLY: &str = "every seeder of this file asks a price per MB, and the relay pays no one: download it in the Chiral app, which pays the seeders";
/// Verified pieces stay on disk this long after the last page left, then are deleted.
const CACHE_TTL: Duration = Duration::from_secs(600);

enum Cmd {
    /// A page (bridge WebSocket) or a TCP BitTorrent client; `demand`: it wants the file,
    /// so the relay starts fetching it from the pages.
    PageOpen { outbox: mpsc::Sender<Vec<u8>>, demand: bool, initiator: bool, reply: oneshot::Sender<Option<PeerKey>> },
    PageData { key: PeerKey, bytes: Vec<u8> },
    PageClosed { key: PeerKey },
    /// The connection wrote this many of the bytes the swarm gave it (backpressure).
    Flushed { key: PeerKey, bytes: u64 },
    /// The file's signed DHT record names this Merkle root: pieces are checked against the
    /// chunk SHA-256 list it anchors too.
    Anchor { root: [u8; 32] },
    /// The whole-file check against the CID finished.
    CidChecked { result: Result<(), String> },
    Want { index: u32, reply: oneshot::Sender<Result<Vec<u8>, String>> },
    Info { reply: oneshot::Sender<Option<TorrentInfo>> },
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
}

/// Paces one connection's outgoing bytes to `rate` bytes per second (token bucket, 1 s burst).
struct Pacer {
    rate: Option<u64>,
    tokens: f64,
    last: Instant,
}

impl Pacer {
    fn new(rate: Option<u64>) -> Self {
        Self { rate, tokens: rate.unwrap_or(0) as f64, last: Instant::now() }
    }

    async fn take(&mut self, bytes: usize) {
        let Some(rate) = self.rate.filter(|r| *r > 0) else { return };
        let rate = rate as f64;
        self.tokens = (self.tokens + self.last.elapsed().as_secs_f64() * rate).min(rate);
        self.last = Instant::now();
        self.tokens -= bytes as f64;
        if self.tokens < 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(-self.tokens / rate)).await;
        }
    }
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
        let info_bytes = manifest.info_dict_bytes();
        let pieces = manifest.chunks() as u32;
        let mut config = SwarmConfig::new(manifest.infohash, self.peer_id);
        config.send_window = Some(SEND_WINDOW);
        let mut swarm = Swarm::with_info(config, info_bytes, Some(web_node::peer_wire::Bitfield::full(pieces)))?;
        swarm.set_chunk_hashes(manifest.chunk_hashes.clone());
        let file = std::fs::File::open(path)?;
        let (tx, rx) = mpsc::channel(256);
        let mut task = FileTask::new(Some(manifest.cid_hex()), manifest.infohash, self.peer_id, self.dir.clone());
        task.swarm = swarm;
        task.path = path.to_path_buf();
        task.file = Some(tokio::fs::File::from_std(file));
        task.local = true;
        task.cid_check = CidCheck::Passed; // every chunk is checked against the manifest as it is read
        tokio::spawn(task.run(rx, tx.downgrade()));
        self.files.lock().expect("bridge lock").insert(
            manifest.infohash,
            Bridged { cid: Some(manifest.cid_hex()), trackers: Vec::new(), tx: tx.clone(), pages: Arc::new(std::sync::atomic::AtomicUsize::new(0)), vouched: true },
        );
        Ok(())
    }

    /// `relay fetch`: downloads `info_hash` from BitTorrent peers (`trackers` and the DHT)
    /// into `out`, every piece verified, exactly as the bridge fetches for a page; then, if
    /// `cid` is given, checks the whole file's SHA-256. Returns the torrent's info.
    /// `peers`: addresses to dial directly (a magnet's `x.pe`), under the same rules as
    /// every other address the bridge dials.
    pub async fn fetch(&self, info_hash: [u8; 20], trackers: &[String], peers: Vec<SocketAddr>, out: PathBuf, cid: Option<String>) -> Result<TorrentInfo, String> {
        let (tx, rx) = mpsc::channel(256);
        let mut task = FileTask::new(cid.clone(), info_hash, self.peer_id, self.dir.clone());
        task.path = out;
        task.fetching = true;
        let (done, finished) = oneshot::channel();
        task.fetch = Some(done);
        task.swarm.set_download(true, 0);
        tokio::spawn(task.run(rx, tx.downgrade()));
        self.files.lock().expect("bridge lock").insert(
            info_hash,
            Bridged { cid, trackers: trackers.to_vec(), tx: tx.clone(), pages: Arc::new(std::sync::atomic::AtomicUsize::new(0)), vouched: false },
        );
        self.discover(tx.clone(), info_hash, trackers, true, false);
        self.dial_list(tx.clone(), peers);
        finished.await.map_err(|_| "the download stopped".to_string())??;
        let (reply, info) = oneshot::channel();
        tx.send(Cmd::Info { reply }).await.map_err(|_| "the download stopped")?;
        info.await.ok().flatten().ok_or_else(|| "no metadata".to_string())
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

    /// A TCP BitTorrent client for `info_hash`; `first` is its handshake, already read.
    pub async fn attach_tcp(&self, info_hash: [u8; 20], stream: tokio::net::TcpStream, first: Vec<u8>) -> Result<(), String> {
        let tx = {
            let files = self.files.lock().expect("bridge lock");
            files.get(&info_hash).filter(|b| !b.tx.is_closed()).map(|b| b.tx.clone())
        }
        .ok_or("no browser tab offers this torrent")?;
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

    async fn info(&self, cid: &str) -> Option<TorrentInfo> {
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
            Ok(Ok(Err(e))) if e.starts_with("no chunk") => Err(ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, e)),
            Ok(Ok(Err(e))) if e == PRICED_ONLY => Err(ApiError::new(StatusCode::PAYMENT_REQUIRED, e)),
            Ok(Ok(Err(e))) => Err(ApiError::new(StatusCode::BAD_GATEWAY, e)),
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
                        files.insert(info_hash, Bridged { cid: cid.clone(), trackers: trackers.clone(), tx: tx.clone(), pages: pages.clone(), vouched: false });
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
        let (outbox, mut outgoing) = mpsc::channel::<Vec<u8>>(OUTBOX_PER_PAGE);
        let (reply, key) = oneshot::channel();
        if tx.send(Cmd::PageOpen { outbox, demand: want, initiator: false, reply }).await.is_err() {
            return;
        }
        let Ok(Some(key)) = key.await else { return };
        pages.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (mut sink, mut stream) = socket.split();
        let mut pacer = Pacer::new(self.rate);
        // Until the page's first message (its handshake), then between any two frames
        // (pongs count then, so a throttled background tab stays).
        let idle = self.silence.idle;
        let mut heard = false;
        let silence = tokio::time::sleep(self.silence.first);
        tokio::pin!(silence);
        let ping_every = PING_EVERY.min(idle / 3).max(Duration::from_millis(10));
        let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
        loop {
            tokio::select! {
                incoming = stream.next() => match incoming {
                    Some(Ok(Message::Binary(bytes))) => {
                        heard = true;
                        silence.as_mut().reset(tokio::time::Instant::now() + idle);
                        if tx.send(Cmd::PageData { key, bytes: bytes.to_vec() }).await.is_err() {
                            break;
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) if heard => silence.as_mut().reset(tokio::time::Instant::now() + idle),
                    Some(Ok(_)) => {}
                },
                _ = &mut silence => {
                    tracing::debug!(info_hash = %hex::encode(info_hash), "bridge page silent too long; closing");
                    break;
                }
                _ = ping.tick() => {
                    if !send_within(&mut sink, Message::Ping(Default::default()), idle).await {
                        break;
                    }
                }
                out = outgoing.recv() => match out {
                    Some(bytes) => {
                        let n = bytes.len() as u64;
                        pacer.take(bytes.len()).await;
                        if !send_within(&mut sink, Message::Binary(bytes.into()), idle).await {
                            break;
                        }
                        if tx.send(Cmd::Flushed { key, bytes: n }).await.is_err() {
                            break;
                        }
                    }
                    None => break, // the swarm dropped this page
                },
            }
        }
        pages.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        let _ = tx.send(Cmd::PageClosed { key }).await;
    }
}

/// Sends one frame unless the page has stopped reading for `limit` (a page that reads
/// nothing must not hold its task, its slot and its socket forever).
async fn send_within<S: futures::Sink<Message> + Unpin>(sink: &mut S, message: Message, limit: Duration) -> bool {
    matches!(tokio::time::timeout(limit, sink.send(message)).await, Ok(Ok(())))
}

/// Writes all of `bytes` unless the peer has stopped reading for `limit`.
async fn write_within(write: &mut tokio::net::tcp::OwnedWriteHalf, bytes: &[u8], limit: Duration) -> std::io::Result<()> {
    tokio::time::timeout(limit, write.write_all(bytes)).await.unwrap_or_else(|_| Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the peer stopped reading")))
}

/// One TCP BitTorrent connection in the file's swarm, until either side ends it.
/// `first`: the handshake already read from an incoming connection (none when we dialled).
async fn pump_tcp(tx: mpsc::Sender<Cmd>, stream: tokio::net::TcpStream, first: Option<Vec<u8>>, rate: Option<u64>, silence: Silence) -> Result<(), String> {
    let mut pacer = Pacer::new(rate);
    let dialled = first.is_none();
    let (outbox, mut outgoing) = mpsc::channel::<Vec<u8>>(OUTBOX_PER_PAGE);
    let (reply, key) = oneshot::channel();
    tx.send(Cmd::PageOpen { outbox, demand: true, initiator: dialled, reply }).await.map_err(|_| "bridge gone")?;
    let key = key.await.ok().flatten().ok_or("bridge full")?;
    if let Some(first) = first {
        tx.send(Cmd::PageData { key, bytes: first }).await.map_err(|_| "bridge gone")?;
    }
    let (mut read, mut write) = stream.into_split();
    let mut buf = vec![0u8; 64 * 1024];
    // A peer we dialled must answer soon; after that, any silence ends at the idle timeout.
    let Silence { first: first_timeout, idle } = silence;
    let silence = tokio::time::sleep(if dialled { first_timeout } else { idle });
    tokio::pin!(silence);
    let result = loop {
        tokio::select! {
            n = read.read(&mut buf) => match n {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    silence.as_mut().reset(tokio::time::Instant::now() + idle);
                    if tx.send(Cmd::PageData { key, bytes: buf[..n].to_vec() }).await.is_err() {
                        break Ok(());
                    }
                }
                Err(e) => break Err(e.to_string()),
            },
            out = outgoing.recv() => match out {
                Some(bytes) => {
                    pacer.take(bytes.len()).await;
                    if let Err(e) = write_within(&mut write, &bytes, idle).await {
                        break Err(e.to_string());
                    }
                    if tx.send(Cmd::Flushed { key, bytes: bytes.len() as u64 }).await.is_err() {
                        break Ok(());
                    }
                }
                None => break Ok(()),
            },
            _ = &mut silence => break Err("silent too long".to_string()),
        }
    };
    let _ = tx.send(Cmd::PageClosed { key }).await;
    result
}

struct FileTask {
    cid: Option<String>,
    swarm: Swarm,
    path: PathBuf,
    file: Option<tokio::fs::File>,
    outboxes: HashMap<PeerKey, mpsc::Sender<Vec<u8>>>,
    waiting: BTreeMap<u32, Vec<oneshot::Sender<Result<Vec<u8>, String>>>>,
    info_waiting: Vec<oneshot::Sender<Option<TorrentInfo>>>,
    next_key: u64,
    epoch: Instant,
    last_page: Instant,
    failed: Option<String>,
    /// The relay's own file (read-only, never deleted, never expires).
    local: bool,
    /// `relay fetch`: the file is the command's output (kept, never expires); told when
    /// complete or failed, and progress goes to stderr.
    fetch: Option<oneshot::Sender<Result<(), String>>>,
    fetching: bool,
    /// The bridge's disk budget (files from pages; none for the relay's own and `fetch`),
    /// and what this file holds of it.
    disk: Option<Arc<DiskBudget>>,
    reserved: u64,
    /// The whole file against the CID: the last piece leaves only once this passed.
    cid_check: CidCheck,
    /// Clients waiting for the last piece until the check has passed.
    held: Vec<oneshot::Sender<Result<Vec<u8>, String>>>,
    /// This task's own command queue (weak, so the task still ends when the bridge drops it).
    me: Option<mpsc::WeakSender<Cmd>>,
    /// The slot of the client that made the bridge open this file, given back when the task ends.
    creator: Option<crate::client_caps::ClientPermit>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum CidCheck {
    NotYet,
    Running,
    Passed,
    Failed(String),
}

impl FileTask {
    fn new(cid: Option<String>, info_hash: [u8; 20], peer_id: [u8; 20], dir: PathBuf) -> Self {
        let mut config = SwarmConfig::new(info_hash, peer_id);
        config.download = false; // only once someone asks
        // A seeding tab's chunk hash list is passed on to pages downloading by CID.
        config.forward_chunk_hashes = true;
        config.free_sources_only = true;
        config.send_window = Some(SEND_WINDOW);
        let path = dir.join(format!("{}.part", hex::encode(info_hash)));
        Self {
            cid,
            swarm: Swarm::magnet(config),
            path,
            file: None,
            outboxes: HashMap::new(),
            waiting: BTreeMap::new(),
            info_waiting: Vec::new(),
            next_key: 1,
            epoch: Instant::now(),
            last_page: Instant::now(),
            failed: None,
            local: false,
            fetch: None,
            fetching: false,
            disk: None,
            reserved: 0,
            cid_check: CidCheck::NotYet,
            held: Vec::new(),
            me: None,
            creator: None,
        }
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Cmd>, me: mpsc::WeakSender<Cmd>) {
        self.me = Some(me);
        // Housekeeping (progress lines, cache expiry) once a second; the swarm's own
        // deadlines exactly when `poll_timeout` says.
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            let deadline = self.swarm.poll_timeout().map_or(tokio::time::Instant::now() + Duration::from_secs(3600), |at| {
                tokio::time::Instant::from_std(self.epoch) + Duration::from_millis(at)
            });
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.on_cmd(cmd).await,
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline) => {
                    let now = self.now();
                    self.swarm.handle_timeout(now);
                }
                _ = tick.tick() => {
                    if self.fetching {
                        self.report_progress();
                    }
                    if self.outboxes.is_empty() && self.waiting.is_empty() && !rx.is_empty() {
                        continue;
                    }
                }
            }
            self.drain().await;
            if self.outboxes.is_empty() {
                // Nobody offers it now: clients waiting for missing pieces get an answer; what
                // is verified stays servable until the cache expires.
                for (_, waiters) in std::mem::take(&mut self.waiting) {
                    for w in waiters {
                        let _ = w.send(Err("the browser seeder went away".into()));
                    }
                }
                if !self.local && !self.fetching && self.last_page.elapsed() > CACHE_TTL {
                    break;
                }
            } else {
                self.last_page = Instant::now();
                if !self.waiting.is_empty() && self.swarm.only_priced_sources() {
                    // Learnt since they asked: only priced tabs have it.
                    for (_, waiters) in std::mem::take(&mut self.waiting) {
                        for w in waiters {
                            let _ = w.send(Err(PRICED_ONLY.into()));
                        }
                    }
                }
            }
        }
        if !self.local && !self.fetching {
            let _ = tokio::fs::remove_file(&self.path).await;
        }
        if let Some(disk) = &self.disk {
            disk.release(self.reserved);
        }
    }

    async fn on_cmd(&mut self, cmd: Cmd) {
        let now = self.now();
        match cmd {
            Cmd::PageOpen { outbox, demand, initiator, reply } => {
                let key = PeerKey(self.next_key);
                self.next_key += 1;
                self.outboxes.insert(key, outbox);
                self.swarm.handle_connected(key, initiator, now);
                if demand {
                    self.swarm.set_download(true, now);
                }
                let _ = reply.send(Some(key));
            }
            Cmd::PageData { key, bytes } => self.swarm.handle_data(key, &bytes, now),
            Cmd::Flushed { key, bytes } => self.swarm.handle_flushed(key, bytes, now),
            Cmd::Anchor { root } => self.swarm.expect_chunk_hashes(root, now),
            Cmd::CidChecked { result } => self.cid_checked(result).await,
            Cmd::PageClosed { key } => {
                self.outboxes.remove(&key);
                self.swarm.handle_disconnected(key, now);
            }
            Cmd::Info { reply } => match self.swarm.info() {
                Some(info) => {
                    let _ = reply.send(Some(info.clone()));
                }
                None => self.info_waiting.push(reply),
            },
            Cmd::Want { index, reply } => {
                if let Some(e) = &self.failed {
                    let _ = reply.send(Err(e.clone()));
                    return;
                }
                if let Some(info) = self.swarm.info() {
                    if index >= info.pieces() {
                        let _ = reply.send(Err(format!("no chunk {index}: the file has {} chunks", info.pieces())));
                        return;
                    }
                    if self.holds_back(index) {
                        if let CidCheck::Failed(e) = &self.cid_check {
                            let _ = reply.send(Err(e.clone()));
                            return;
                        }
                        // The last piece leaves only once the whole file is the CID.
                        self.held.push(reply);
                        self.swarm.set_download(true, now);
                        self.start_cid_check();
                        return;
                    }
                    if self.swarm.have().is_some_and(|h| h.get(index)) {
                        let _ = reply.send(self.read(index).await);
                        return;
                    }
                }
                if self.swarm.only_priced_sources() {
                    let _ = reply.send(Err(PRICED_ONLY.to_string()));
                    return;
                }
                self.waiting.entry(index).or_default().push(reply);
                self.swarm.prioritize(index, now);
            }
        }
    }

    async fn drain(&mut self) {
        while let Some(out) = self.swarm.poll_output() {
            let now = self.now();
            match out {
                Output::Transmit { peer, data } => {
                    if let Some(outbox) = self.outboxes.get(&peer) {
                        if outbox.try_send(data).is_err() {
                            self.outboxes.remove(&peer);
                            self.swarm.handle_disconnected(peer, now);
                        }
                    }
                }
                Output::Event(Event::MetadataReady { info, .. }) => {
                    let budget = match &self.disk {
                        Some(disk) => disk.try_reserve(info.length).map(|()| info.length),
                        None => Ok(0),
                    };
                    match budget {
                        Err(e) => self.failed = Some(e),
                        Ok(reserved) => {
                            self.reserved = reserved;
                            if let Err(e) = self.open_file(info.length).await {
                                self.failed = Some(e);
                            }
                        }
                    }
                    for w in self.info_waiting.drain(..) {
                        let _ = w.send(Some(info.clone()));
                    }
                    let pending: Vec<u32> = self.waiting.keys().copied().collect();
                    for index in pending {
                        self.swarm.prioritize(index, now);
                    }
                    if let Some(e) = self.failed.clone() {
                        if let Some(done) = self.fetch.take() {
                            let _ = done.send(Err(e));
                        }
                    }
                    if let Some(e) = self.failed.clone() {
                        for (_, ws) in std::mem::take(&mut self.waiting) {
                            for w in ws {
                                let _ = w.send(Err(e.clone()));
                            }
                        }
                    }
                }
                Output::Event(Event::ReadPiece { index }) => match self.read(index).await {
                    Ok(data) => self.swarm.handle_piece_read(index, data, now),
                    Err(_) => self.swarm.handle_piece_unreadable(index),
                },
                Output::Event(Event::PieceVerified { index, data, .. }) => {
                    if let Err(e) = self.write(index, &data).await {
                        tracing::warn!(cid = ?self.cid, "bridge cannot store piece {index}: {e}");
                    }
                    let waiters = self.waiting.remove(&index).unwrap_or_default();
                    if self.holds_back(index) {
                        self.held.extend(waiters);
                        self.swarm.set_download(true, now);
                    } else {
                        for w in waiters {
                            let _ = w.send(Ok(data.clone()));
                        }
                    }
                }
                Output::Event(Event::Complete) => {
                    if self.cid.is_some() {
                        self.start_cid_check();
                    } else if let Some(done) = self.fetch.take() {
                        self.report_progress();
                        let _ = done.send(self.failed.clone().map_or(Ok(()), Err));
                    }
                }
                Output::Event(Event::Unsupported { reason }) => {
                    // Final: `relay fetch` says why at once instead of waiting out its timeout.
                    self.failed = Some(reason.clone());
                    if let Some(done) = self.fetch.take() {
                        let _ = done.send(Err(reason.clone()));
                    }
                    for (_, ws) in std::mem::take(&mut self.waiting) {
                        for w in ws {
                            let _ = w.send(Err(reason.clone()));
                        }
                    }
                }
                Output::Event(Event::Disconnect { peer, reason }) => {
                    tracing::info!(cid = ?self.cid, "bridge drops a peer: {reason}");
                    self.outboxes.remove(&peer);
                }
                Output::Event(_) => {}
            }
        }
    }

    /// One line on stderr: pieces, bytes, rate, peers.
    fn report_progress(&self) {
        let (Some(info), Some(have)) = (self.swarm.info(), self.swarm.have()) else {
            eprintln!("fetch: fetching the torrent's metadata from {} peers", self.outboxes.len());
            return;
        };
        let secs = self.epoch.elapsed().as_secs_f64().max(0.001);
        let bytes = u64::from(have.count()) * u64::from(info.piece_length);
        let bytes = bytes.min(info.length);
        eprintln!(
            "fetch: {}/{} pieces  {:.1}/{:.1} MiB  {:.1} MiB/s  {} peers",
            have.count(),
            info.pieces(),
            bytes as f64 / 1048576.0,
            info.length as f64 / 1048576.0,
            bytes as f64 / 1048576.0 / secs,
            self.outboxes.len()
        );
    }

    async fn open_file(&mut self, length: u64) -> Result<(), String> {
        if let Some(dir) = self.path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(|e| e.to_string())?;
        }
        let file = tokio::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&self.path).await.map_err(|e| e.to_string())?;
        file.set_len(length).await.map_err(|e| e.to_string())?;
        self.file = Some(file);
        Ok(())
    }

    fn offset(&self, index: u32) -> u64 {
        u64::from(index) * u64::from(self.swarm.info().map_or(0, |i| i.piece_length))
    }

    async fn read(&mut self, index: u32) -> Result<Vec<u8>, String> {
        let len = self.swarm.info().map(|i| i.piece_len(index)).ok_or("no metadata yet")? as usize;
        let offset = self.offset(index);
        let file = self.file.as_mut().ok_or("no storage")?;
        file.seek(std::io::SeekFrom::Start(offset)).await.map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; len];
        file.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        Ok(buf)
    }

    async fn write(&mut self, index: u32, data: &[u8]) -> Result<(), String> {
        if self.local {
            return Err("the relay's own files are read-only".into());
        }
        let offset = self.offset(index);
        let file = self.file.as_mut().ok_or("no storage")?;
        file.seek(std::io::SeekFrom::Start(offset)).await.map_err(|e| e.to_string())?;
        file.write_all(data).await.map_err(|e| e.to_string())
    }

    /// Whether piece `index` must wait for the whole-file check: the last piece of a file
    /// named by a CID, until the file has hashed to it. So a client never receives a
    /// complete file that is not the CID it asked for.
    fn holds_back(&self, index: u32) -> bool {
        self.cid.is_some() && self.cid_check != CidCheck::Passed && self.swarm.info().is_some_and(|i| index + 1 == i.pieces())
    }

    /// Every piece is here: hash the whole file against the CID the page named, in a task
    /// of its own (a multi-GiB file takes a while; the file's other requests go on).
    fn start_cid_check(&mut self) {
        if self.cid_check != CidCheck::NotYet || !self.swarm.is_complete() {
            return;
        }
        let (Some(cid), Some(me)) = (self.cid.clone(), self.me.as_ref().and_then(mpsc::WeakSender::upgrade)) else { return };
        self.cid_check = CidCheck::Running;
        let path = self.path.clone();
        tokio::spawn(async move {
            let result = match hash_file(&path).await {
                Ok(digest) if digest == cid => Ok(()),
                Ok(_) => Err(format!("the bridged file does not match its content ID {cid}")),
                Err(e) => Err(format!("cannot read the bridged file to check it: {e}")),
            };
            let _ = me.send(Cmd::CidChecked { result }).await;
        });
    }

    async fn cid_checked(&mut self, result: Result<(), String>) {
        let held = std::mem::take(&mut self.held);
        match result {
            Ok(()) => {
                self.cid_check = CidCheck::Passed;
                let last = self.swarm.info().map_or(0, |i| i.pieces().saturating_sub(1));
                let data = self.read(last).await;
                for w in held {
                    let _ = w.send(data.clone());
                }
            }
            Err(e) => {
                tracing::warn!(cid = ?self.cid, "a page bridged a torrent that is not this CID; dropping it");
                self.cid_check = CidCheck::Failed(e.clone());
                self.failed = Some(e.clone());
                for w in held {
                    let _ = w.send(Err(e.clone()));
                }
            }
        }
        if let Some(done) = self.fetch.take() {
            self.report_progress();
            let _ = done.send(self.failed.clone().map_or(Ok(()), Err));
        }
    }
}

/// SHA-256 of a file, hex, read 1 MiB at a time.
async fn hash_file(path: &std::path::Path) -> std::io::Result<String> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// Resolves `HOST:PORT` peers (a magnet's `x.pe`): at most 5 s in all, the first address
/// of each name. Unresolvable ones are skipped.
pub async fn resolve_peers(peers: &[String]) -> Vec<SocketAddr> {
    let lookups = peers.iter().take(web_node::tracker_client::MAX_MAGNET_PEERS).map(|p| async move {
        tokio::net::lookup_host(p.as_str()).await.ok().and_then(|mut addrs| addrs.next())
    });
    tokio::time::timeout(Duration::from_secs(5), futures::future::join_all(lookups)).await.unwrap_or_default().into_iter().flatten().collect()
}

/// `?cid=…&tr=…&tr=…&pe=…` (`tr` and `pe` repeat, as in a magnet).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BridgeQuery {
    cid: Option<String>,
    tr: Vec<String>,
    /// The magnet's `x.pe` peers, `HOST:PORT`.
    pe: Vec<String>,
    /// The page is downloading: the relay fetches the file for it from every source it has.
    want: bool,
}

impl BridgeQuery {
    fn parse(raw: &str) -> Self {
        let mut q = Self::default();
        for pair in raw.split('&').take(32) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned();
            match k {
                "cid" => q.cid = Some(v),
                "tr" => q.tr.push(v),
                "pe" if q.pe.len() < web_node::tracker_client::MAX_MAGNET_PEERS && web_node::tracker_client::valid_peer_address(&v) => q.pe.push(v),
                "want" => q.want = v == "1",
                _ => {}
            }
        }
        q
    }
}

/// Closes a bridge WebSocket with code 1013, "try again later" (RFC 6455 §7.4.2 registry),
/// and why (a close reason holds at most 123 bytes).
async fn refuse(mut socket: WebSocket, reason: String) {
    tracing::debug!("bridge refused a page: {reason}");
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let frame = axum::extract::ws::CloseFrame { code: axum::extract::ws::close_code::AGAIN, reason: reason[..end].into() };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// `GET /bridge/{infohash}?cid=…` (WebSocket): a page offers a file it seeds, or with
/// `want=1` asks the relay to fetch it for the page (from TCP peers, its own copy, other tabs).
/// `client` (behind a trusted proxy, the address it forwarded) is counted per-client.
pub async fn bridge_ws(State(state): State<AppState>, client: crate::client_addr::ClientAddr, Path(info_hash): Path<String>, axum::extract::RawQuery(raw): axum::extract::RawQuery, ws: WebSocketUpgrade) -> Response {
    let q = BridgeQuery::parse(raw.as_deref().unwrap_or(""));
    let Some(bridge) = state.inner.bridge.clone() else {
        return ApiError::new(StatusCode::NOT_FOUND, "this relay does not bridge".into()).into_response();
    };
    let cid = q.cid.map(|c| c.to_ascii_lowercase());
    let info_hash: Option<[u8; 20]> = hex::decode(&info_hash).ok().and_then(|v| v.try_into().ok());
    let cid_ok = cid.as_ref().is_none_or(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()));
    let (Some(info_hash), true) = (info_hash, cid_ok) else {
        return ApiError::new(StatusCode::BAD_REQUEST, "a 40-hex infohash (and optionally a 64-hex cid) are needed".into()).into_response();
    };
    // TCP BitTorrent clients that announced this torrent: the relay fetches from them too.
    let own = state.inner.bt_addr.get().copied();
    let probe = crate::http_tracker::HttpAnnounce { info_hash, peer_id: [0; 20], port: 1, left: None, stopped: false, numwant: 8 };
    let mut tcp_peers: Vec<_> = state.inner.http_swarms.lock().expect("tracker lock").peers(&probe).into_iter().filter(|a| Some(*a) != own).collect();
    // The magnet's `x.pe` peers, resolved (bounded in count and time).
    tcp_peers.extend(resolve_peers(&q.pe).await);
    // The magnet's other trackers (the page speaks WebSocket ones itself).
    let trackers: Vec<String> = q.tr.into_iter().filter(|t| t.len() <= 512 && peer_discovery::speaks(t)).take(peer_discovery::MAX_TRACKERS).collect();
    let want = q.want;
    ws.max_message_size(web_node::peer_wire::MAX_MESSAGE_BYTES + 1024)
        .on_upgrade(move |socket| async move { bridge.attach(client, cid, info_hash, socket, tcp_peers, trackers, want).await })
}

#[cfg(test)]
mod tests {
    use super::{BridgeQuery, DiskBudget};

    #[test]
    fn the_disk_budget_refuses_what_does_not_fit_and_frees_on_release() {
        let disk = DiskBudget { limit: 100, used: Default::default() };
        assert!(disk.try_reserve(60).is_ok());
        let e = disk.try_reserve(50).unwrap_err();
        assert!(e.contains("40 of its 100 bytes"), "{e}");
        disk.release(60);
        assert!(disk.try_reserve(100).is_ok());
        assert!(disk.try_reserve(u64::MAX).is_err(), "no overflow");
    }

    #[test]
    fn bridge_query_repeats_trackers() {
        let q = BridgeQuery::parse("cid=ab&tr=udp%3A%2F%2F127.0.0.1%3A6969&tr=http://t/announce&x=1&want=1&pe=127.0.0.1%3A6881&pe=bad");
        assert_eq!(
            q,
            BridgeQuery { cid: Some("ab".into()), tr: vec!["udp://127.0.0.1:6969".into(), "http://t/announce".into()], pe: vec!["127.0.0.1:6881".into()], want: true }
        );
        assert_eq!(BridgeQuery::parse(""), BridgeQuery::default());
    }
}
