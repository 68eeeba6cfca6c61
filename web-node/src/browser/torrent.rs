//! One torrent in the page: the thin driver around [`crate::swarm::Swarm`] and
//! [`crate::signaling::Session`]. It owns the tracker WebSockets ([`signaling`]), the
//! RTCPeerConnections and data channels, one peer each ([`links`]), the relay bridge
//! ([`bridge`]), the piece store, a 1 s tick and the end of a download ([`verdict`]); it
//! feeds the cores bytes and time and carries out what they ask: send these bytes, read or
//! store this piece, drop that peer, connect that tracker, make offers. Every socket, channel, listener and the timer is
//! owned by this torrent's state and listeners hold it weakly: stopping (or dropping the
//! last handle) closes and unhooks all of it.

mod bridge;
mod folder;
mod seeding;
mod error;
mod links;
mod paid;
pub mod reputation;
mod signaling;
mod snapshot;
pub mod stream;
mod verdict;

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::rc::{Rc, Weak};

use gloo_timers::callback::Interval;
use sha2::Digest as _;
use wasm_bindgen_futures::spawn_local;

use super::piece_store::{delete_torrent, OpfsTorrent, PieceStore, StoreError};
use crate::file_check::Verdict;
use crate::peer_wire::Bitfield;
use crate::signaling::{Session, SessionConfig};
use crate::swarm::{Event, Output, PeerKey, Swarm, SwarmConfig};
use crate::tracker::Id20;
pub use bridge::bridge_url;
pub use folder::FileRow;
pub use error::TorrentError;
use links::PeerLink;

/// Connections per torrent; offers beyond this are not answered.
const MAX_PEERS: usize = 24;
/// Written beside the pieces of a download whose whole file failed its CID.
const FAILED_MARK: &str = "failed";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferState {
    /// Fetching the info dict from peers (magnet).
    Metadata,
    Downloading,
    /// Every piece verified; hashing the whole file.
    Verifying,
    /// Done and no longer shared.
    Complete,
    Seeding,
    Error,
}

impl TransferState {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferState::Metadata => "metadata",
            TransferState::Downloading => "downloading",
            TransferState::Verifying => "verifying",
            TransferState::Complete => "complete",
            TransferState::Seeding => "seeding",
            TransferState::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PeerRow {
    pub id: String,
    pub client: String,
    pub protocol: &'static str,
    /// WebRTC peers: `"direct"` or `"TURN relay"` once the connection's path is known.
    pub path: Option<&'static str>,
    pub down_rate: f64,
    pub up_rate: f64,
    pub downloaded: u64,
    pub uploaded: u64,
    pub pieces: u32,
    /// The tab's reputation score of its peer id, in (0, 1), 0.5 for a stranger; `None`
    /// before the handshake.
    pub score: Option<f64>,
    /// A proven liar: refused and dropped.
    pub avoided: bool,
}

/// What the UI shows; plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub info_hash: String,
    pub name: String,
    pub size: Option<u64>,
    pub pieces: u32,
    pub have: u32,
    pub state: TransferState,
    pub down_rate: f64,
    pub up_rate: f64,
    pub downloaded: u64,
    pub uploaded: u64,
    pub eta_secs: Option<f64>,
    pub peers: Vec<PeerRow>,
    pub banned: usize,
    pub failed_pieces: u32,
    /// SHA-256 of the whole stored file, once complete.
    pub sha256: Option<String>,
    /// Whether that hash is the CID the download was asked for (when it was).
    pub cid_matches: Option<bool>,
    /// The whole-file check, once done: only a verified file is saved, paid for or seeded.
    pub verdict: Option<Verdict>,
    /// Pieces taken over from a download of the same CID under a root that failed.
    pub kept_pieces: u32,
    pub error: Option<String>,
    /// Why the relay refused this file on its bridge ([`crate::bridge_link::refusal`]), until
    /// a bridge link to it works again.
    pub bridge_refusal: Option<String>,
    pub trackers_connected: usize,
    /// Bytes hashed so far by the whole-file check (state `Verifying`).
    pub verified_bytes: u64,
    /// What this download owes its paid seeders for verified chunks: empty until the whole
    /// file is verified, and for good when it failed.
    pub plan: Vec<crate::settlement::PlanLine>,
    /// The file's name in payments (CID when known).
    pub file_key: String,
    /// Who delivered each verified piece: an index into `sources`, or 255 (not from a peer
    /// this session: stored earlier, or our own file).
    pub chunk_map: Vec<u8>,
    /// (source, pieces delivered): "WebTorrent -CH0001-…ab12", "relay bridge", …
    pub sources: Vec<(String, u32)>,
    /// A folder torrent's files (padding left out): progress, choice, SHA-256 once
    /// complete; empty for a single file.
    pub files: Vec<FileRow>,
    /// How pieces are checked: "sha1" (magnet: the infohash's SHA-1 piece hashes),
    /// "sha1+sha256" (also the manifest's chunk SHA-256, anchored by the signed Merkle
    /// root), "awaiting-chunk-hashes" (a CID download before a peer has sent that list).
    pub piece_check: &'static str,
}

pub struct TorrentOptions {
    pub info_hash: Id20,
    pub name: Option<String>,
    pub trackers: Vec<String>,
    /// The CID the file must hash to (downloads started from the DHT).
    pub cid: Option<String>,
    /// Keep sharing after the download completes.
    pub auto_seed: bool,
    /// Our terms when we seed it.
    pub pay_to: Option<crate::settlement::PayTo>,
    /// Offer the file to this relay's bridge (`ws://relay/bridge/{infohash}?cid=…`) while seeding.
    pub bridge: Option<String>,
    /// The file's Merkle root from its signed DHT record: the chunk SHA-256 list is fetched
    /// from peers, checked against it, and every piece is then checked against its SHA-256.
    pub merkle_root: Option<[u8; 32]>,
    /// Wallets not paid for this file (publishers of records behind a root that failed).
    pub excluded_wallets: BTreeSet<[u8; 20]>,
    /// A download of the same CID whose whole file failed: its stored pieces are offered to
    /// this one once the chunk hash list is in (each kept only if it matches), then deleted.
    /// No piece is requested from peers before that.
    pub keep_from: Option<Id20>,
    /// The magnet's `x.pe` peers (`HOST:PORT`), passed to the relay bridge to dial.
    pub peers: Vec<String>,
    /// The magnet's BEP 53 `so`: the files of a folder torrent to download (indexes into its
    /// `files`), applied once the info dict is known.
    pub select_only: Option<Vec<u32>>,
}

struct Inner {
    swarm: Swarm,
    store: Option<PieceStore>,
    options: TorrentOptions,
    peers: HashMap<PeerKey, PeerLink>,
    /// The trackers: the signaling session, their sockets, offers being negotiated.
    signal: signaling::Signal,
    /// The 1 s tick; dropped (cancelled) on stop.
    tick: Option<Interval>,
    next_key: u64,
    state: TransferState,
    error: Option<String>,
    sha256: Option<String>,
    failed_pieces: u32,
    writes_pending: usize,
    /// (ms, downloaded, uploaded) over the last few seconds, for rates.
    samples: Vec<(f64, u64, u64)>,
    /// The tab's reputation generation this swarm last took ([`reputation::exchange`]).
    reputation_seen: u64,
    on_update: Rc<dyn Fn(Snapshot)>,
    stopped: bool,
    /// The whole-file check is running or done.
    finishing: bool,
    /// The bridge link's peer key, and when to try it again after it closed.
    bridge_key: Option<PeerKey>,
    bridge_retry_ms: f64,
    bridge_failures: u32,
    bridge_refusal: Option<String>,
    verified_bytes: u64,
    deliveries: crate::settlement::Deliveries,
    deliveries_dirty: bool,
    chunk_map: Vec<u8>,
    sources: Vec<(String, u32)>,
    verdict: Option<Verdict>,
    /// Who waits for the verdict ([`Torrent::verdict`]); told `None` if the torrent stops first.
    verdict_waiters: Vec<futures::channel::oneshot::Sender<Option<Verdict>>>,
    kept_pieces: u32,
    /// A folder torrent's chosen files (one flag per entry of `files`); `None`: all.
    chosen: Option<Vec<bool>>,
    /// Each chosen file's SHA-256 (hex), once complete and hashed.
    file_sha256: Vec<Option<String>>,
    /// Style 2 ([`paid`]): sellers' terms waiting for the file's size, and the channel
    /// paying each connection we sell to.
    pay_pending: Vec<(PeerKey, crate::pay::wire::Terms)>,
    pay_channels: HashMap<PeerKey, [u8; 32]>,
    /// Vouchers over the deposit, waiting for a top-up: the latest asked for per channel.
    pay_due: HashMap<[u8; 32], (PeerKey, u128, crate::pay::wire::Terms)>,
    /// Open streams ([`stream`]) → the piece at each one's playhead, once it read one.
    streams: std::collections::BTreeMap<u64, Option<u32>>,
    next_stream: u64,
}

/// A running torrent; clones share it.
#[derive(Clone)]
pub struct Torrent(Rc<RefCell<Inner>>);

/// What listeners and timers hold: they never keep a removed torrent alive.
#[derive(Clone)]
struct WeakTorrent(Weak<RefCell<Inner>>);

impl WeakTorrent {
    fn upgrade(&self) -> Option<Torrent> {
        self.0.upgrade().map(Torrent)
    }
}

/// Monotonic milliseconds (`performance.now()`): timeouts and rates never jump with the
/// wall clock.
fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

fn random_id(prefix: &[u8]) -> Id20 {
    let mut id: Id20 = super::random_bytes().unwrap_or([7; 20]);
    id[..prefix.len()].copy_from_slice(prefix);
    id
}

/// This page's BitTorrent peer id (Azureus style, `-CH0001-` + 12 random bytes).
fn our_peer_id() -> Id20 {
    random_id(b"-CH0001-")
}

impl Torrent {
    /// Downloads by infohash (a magnet, or a CID's DHT record), resuming what OPFS holds.
    pub async fn download(options: TorrentOptions, on_update: impl Fn(Snapshot) + 'static) -> Result<Self, TorrentError> {
        let hex_hash = hex::encode(options.info_hash);
        let opfs = OpfsTorrent::open(&hex_hash).await?;
        let excluded: Vec<String> = options.excluded_wallets.iter().map(|w| format!("0x{}", hex::encode(w))).collect();
        let meta = serde_json::json!({ "name": options.name, "trackers": options.trackers, "cid": options.cid, "auto_seed": options.auto_seed, "relay": options.bridge.is_some(), "merkle_root": options.merkle_root.map(hex::encode), "excluded_wallets": excluded, "peers": options.peers, "select_only": options.select_only });
        opfs.write("meta.json", meta.to_string().as_bytes()).await?;
        let deliveries = match opfs.read("deliveries.json").await {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            Err(_) => crate::settlement::Deliveries::default(),
        };
        let peer_id = our_peer_id();
        let mut config = SwarmConfig::new(options.info_hash, peer_id);
        config.pay_to = options.pay_to;
        config.sell = super::channels::sell_offer(options.pay_to);
        config.buy = super::channels::can_buy();
        // Folder torrents: files land in OPFS as pieces, each file is saved on its own.
        config.folders = true;
        // Pieces kept from a failed root go first: nothing is asked of peers until then.
        let keeping = options.keep_from.is_some() && options.merkle_root.is_some();
        config.download = !keeping;
        let (swarm, state) = match opfs.read("info").await {
            Ok(info_bytes) => {
                let info = crate::peer_wire::extension::TorrentInfo::parse(&info_bytes)?;
                let mut have = Bitfield::new(info.pieces());
                for index in opfs.stored_pieces(|i| info.piece_len(i)).await? {
                    have.set(index);
                }
                let state = if have.is_full() { TransferState::Verifying } else { TransferState::Downloading };
                (Swarm::with_info(config, info_bytes, Some(have))?, state)
            }
            Err(_) => (Swarm::magnet(config), TransferState::Metadata),
        };
        let mut swarm = swarm;
        let mut state = state;
        // The files chosen on an earlier visit.
        let chosen: Option<Vec<bool>> = opfs.read(folder::CHOICE_FILE).await.ok().and_then(|b| serde_json::from_slice(&b).ok());
        let chosen = match (chosen, swarm.info().cloned()) {
            (Some(c), Some(info)) if !info.is_single_file() && c.len() == info.files.len() && !c.iter().all(|x| *x) => {
                swarm.set_wanted(Some(info.wanted_pieces(&c)), now_ms() as u64);
                if state == TransferState::Downloading && swarm.is_complete() {
                    state = TransferState::Verifying;
                }
                Some(c)
            }
            _ => None,
        };
        if let Some(root) = options.merkle_root {
            // A list kept by an earlier visit was checked then; check it again all the same.
            let stored = opfs.read("chunk_hashes").await.ok().filter(|b| b.len() % 32 == 0);
            let stored: Option<Vec<[u8; 32]>> = stored.map(|b| b.chunks_exact(32).map(|c| c.try_into().expect("32 bytes")).collect());
            match stored.filter(|h| crate::merkle::merkle_root(h) == root) {
                Some(hashes) => swarm.set_chunk_hashes(hashes),
                None => swarm.expect_chunk_hashes(root, now_ms() as u64),
            }
        }
        let t = Self::new(swarm, Some(PieceStore::Opfs(opfs)), options, peer_id, state, Rc::new(on_update));
        t.0.borrow_mut().deliveries = deliveries;
        t.0.borrow_mut().chosen = chosen;
        t.apply_select_only();
        if state == TransferState::Verifying {
            t.finish();
        }
        if keeping {
            t.keep_checked_pieces();
        }
        t.start();
        Ok(t)
    }

    /// Torrents a previous visit left in OPFS, restarted where they stopped.
    pub async fn resume_stored(pay_to: Option<crate::settlement::PayTo>, on_update: impl Fn(Snapshot) + Clone + 'static) -> Vec<Result<Self, TorrentError>> {
        let mut out = Vec::new();
        for hex_hash in super::piece_store::stored_torrents().await.unwrap_or_default() {
            let result = async {
                let opfs = OpfsTorrent::open(&hex_hash).await?;
                if opfs.read(FAILED_MARK).await.is_ok() {
                    // A file that failed its CID is never resumed (nor seeded): its pieces go.
                    delete_torrent(&hex_hash).await?;
                    return Err(TorrentError::FailedEarlier { info_hash: hex_hash.clone() });
                }
                let meta: serde_json::Value = serde_json::from_slice(&opfs.read("meta.json").await?).map_err(|e| TorrentError::BadMeta(e.to_string()))?;
                let info_hash: Id20 = hex::decode(&hex_hash).ok().and_then(|v| v.try_into().ok()).ok_or(TorrentError::BadStoredInfoHash)?;
                let strings = |v: &serde_json::Value| v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect()).unwrap_or_default();
                let options = TorrentOptions {
                    info_hash,
                    name: meta["name"].as_str().map(String::from),
                    trackers: strings(&meta["trackers"]),
                    cid: meta["cid"].as_str().map(String::from),
                    auto_seed: meta["auto_seed"].as_bool().unwrap_or(true),
                    pay_to,
                    bridge: (meta["relay"].as_bool() != Some(false)).then(|| bridge_url(&info_hash, None, None, &strings(&meta["trackers"]), &strings(&meta["peers"]))).flatten(),
                    merkle_root: meta["merkle_root"].as_str().and_then(|r| hex::decode(r).ok()).and_then(|r| r.try_into().ok()),
                    excluded_wallets: strings(&meta["excluded_wallets"])
                        .iter()
                        .filter_map(|w: &String| hex::decode(w.trim_start_matches("0x")).ok()?.try_into().ok())
                        .collect(),
                    keep_from: None,
                    peers: strings(&meta["peers"]),
                    select_only: meta["select_only"].as_array().map(|a| a.iter().filter_map(|i| i.as_u64().and_then(|i| u32::try_from(i).ok())).collect()),
                };
                Self::download(options, on_update.clone()).await
            }
            .await;
            out.push(result);
        }
        out
    }

    fn new(swarm: Swarm, store: Option<PieceStore>, options: TorrentOptions, peer_id: Id20, state: TransferState, on_update: Rc<dyn Fn(Snapshot)>) -> Self {
        let session = Session::new(SessionConfig::new(options.info_hash, peer_id), &options.trackers, now_ms() as u64);
        Self(Rc::new(RefCell::new(Inner {
            swarm,
            store,
            options,
            peers: HashMap::new(),
            signal: signaling::Signal::new(session),
            tick: None,
            next_key: 1,
            state,
            error: None,
            sha256: None,
            failed_pieces: 0,
            writes_pending: 0,
            samples: Vec::new(),
            reputation_seen: 0,
            on_update,
            stopped: false,
            finishing: false,
            bridge_key: None,
            bridge_retry_ms: 0.0,
            bridge_failures: 0,
            bridge_refusal: None,
            verified_bytes: 0,
            deliveries: Default::default(),
            deliveries_dirty: false,
            chunk_map: Vec::new(),
            sources: Vec::new(),
            verdict: None,
            verdict_waiters: Vec::new(),
            kept_pieces: 0,
            chosen: None,
            file_sha256: Vec::new(),
            pay_pending: Vec::new(),
            pay_channels: HashMap::new(),
            pay_due: HashMap::new(),
            streams: Default::default(),
            next_stream: 0,
        })))
    }

    pub fn info_hash(&self) -> Id20 {
        self.0.borrow().options.info_hash
    }

    fn downgrade(&self) -> WeakTorrent {
        WeakTorrent(Rc::downgrade(&self.0))
    }

    fn start(&self) {
        // The session asked for its trackers when it was made.
        self.drain_signal();
        let weak = self.downgrade();
        let tick = Interval::new(1_000, move || {
            if let Some(t) = weak.upgrade() {
                t.tick();
            }
        });
        self.0.borrow_mut().tick = Some(tick);
        // The first tick at once, but not inside the caller (it publishes a snapshot).
        let weak = self.downgrade();
        spawn_local(async move {
            if let Some(t) = weak.upgrade().filter(|t| !t.0.borrow().stopped) {
                t.tick();
            }
        });
    }

    /// Stops sharing: tells the trackers, then closes every socket, channel and pending
    /// connection, removes their listeners and cancels the tick.
    pub fn stop(&self) {
        if self.0.borrow().stopped {
            return;
        }
        let stats = self.announce_stats();
        self.0.borrow_mut().stopped = true;
        // `stopped` to the trackers, then their sockets and our pending offers are dropped.
        self.signal(|s, _| s.stop(stats));
        let (peers, tick) = {
            let mut inner = self.0.borrow_mut();
            inner.signal.clear();
            inner.bridge_key = None;
            (std::mem::take(&mut inner.peers), inner.tick.take())
        };
        drop(peers);
        drop(tick);
        let verdict = self.0.borrow().verdict.clone();
        let waiters: Vec<_> = self.0.borrow_mut().verdict_waiters.drain(..).collect();
        for waiter in waiters {
            let _ = waiter.send(verdict.clone());
        }
    }

    /// Sockets, channels, pending connections and timers this torrent holds (all 0 once
    /// stopped): for tests.
    pub fn held_resources(&self) -> usize {
        let inner = self.0.borrow();
        inner.peers.len() + inner.signal.held() + usize::from(inner.tick.is_some())
    }

    /// Stops and deletes the stored pieces.
    pub async fn remove(&self) -> Result<(), TorrentError> {
        self.stop();
        let store = self.0.borrow().store.clone();
        if let Some(PieceStore::Opfs(t)) = store {
            t.remove_all().await?;
        }
        Ok(())
    }

    /// The whole file as a Blob backed by storage, for saving: only once the whole-file
    /// check passed (a file that is not the CID asked for is never handed out).
    pub async fn blob(&self) -> Result<web_sys::Blob, TorrentError> {
        let (store, pieces) = {
            let inner = self.0.borrow();
            match &inner.verdict {
                Some(v) if v.is_verified() => {}
                Some(v) => return Err(TorrentError::FileFailed { reason: v.failure().unwrap_or_default() }),
                None => return Err(TorrentError::NotCheckedYet),
            }
            (inner.store.clone(), inner.swarm.info().map_or(0, |i| i.pieces()))
        };
        Ok(store.ok_or(TorrentError::NoStorage)?.blob(pieces).await?)
    }

    pub fn name(&self) -> String {
        let inner = self.0.borrow();
        inner.swarm.info().map(|i| i.name.clone()).or_else(|| inner.options.name.clone()).unwrap_or_else(|| hex::encode(inner.options.info_hash))
    }

    // ---- the swarm's outputs -------------------------------------------------------------

    /// Carries out everything the swarm has queued.
    fn pump(&self) {
        loop {
            let out = self.0.borrow_mut().swarm.poll_output();
            let Some(out) = out else { break };
            match out {
                Output::Transmit { peer, data } => {
                    let failed = self.0.borrow().peers.get(&peer).is_some_and(|l| l.send(&data).is_err());
                    if failed {
                        self.drop_peer(peer);
                    }
                }
                Output::Event(event) => self.on_event(event),
            }
        }
    }

    fn on_event(&self, event: Event) {
        match event {
            Event::ReadPiece { index } => {
                let this = self.clone();
                spawn_local(async move {
                    let (store, len, expected) = {
                        let inner = this.0.borrow();
                        let info = inner.swarm.info();
                        (inner.store.clone(), info.map(|i| i.piece_len(index)), info.and_then(|i| i.piece_hashes.get(index as usize).copied()))
                    };
                    let (Some(store), Some(len)) = (store, len) else { return };
                    let result = store.read_piece(index, len).await;
                    let store = store.clone();
                    // Every piece is checked against the info dict before it leaves: a shared
                    // file changed on disk (or a damaged stored piece) is never served.
                    let result = result.map_err(TorrentError::from).and_then(|data| {
                        let actual: [u8; 20] = sha1::Sha1::digest(&data).into();
                        if Some(actual) == expected { Ok(data) } else { Err(TorrentError::StoredPieceChanged { index }) }
                    });
                    match result {
                        Ok(data) => this.0.borrow_mut().swarm.handle_piece_read(index, data, now_ms() as u64),
                        // The user's own file or folder changed: stop sharing it. (A download's
                        // stored piece can be mid-write when a peer asks: just not served.)
                        Err(e @ (TorrentError::StoredPieceChanged { .. } | TorrentError::Store(StoreError::SharedFileChanged | StoreError::SharedFile { .. })))
                            if !matches!(store, PieceStore::Opfs(_)) =>
                        {
                            tracing::warn!("not serving piece {index}: {e}");
                            let mut inner = this.0.borrow_mut();
                            inner.swarm.handle_piece_unreadable(index);
                            inner.state = TransferState::Error;
                            inner.error = Some(e.to_string());
                        }
                        Err(e) => {
                            tracing::warn!("cannot read piece {index}: {e}");
                            this.0.borrow_mut().swarm.handle_piece_unreadable(index);
                        }
                    }
                    this.pump();
                });
            }
            Event::PieceVerified { index, data, sellers, from } => {
                let store = {
                    let mut inner = self.0.borrow_mut();
                    inner.writes_pending += 1;
                    inner.note_source(index, from.first().copied());
                    if !sellers.is_empty() {
                        inner.deliveries.record(index, data.len() as u32, &sellers, from.len());
                        inner.deliveries_dirty = true;
                    }
                    inner.store.clone()
                };
                let this = self.clone();
                spawn_local(async move {
                    let result = match store {
                        Some(store) => store.write_piece(index, &data).await.map_err(TorrentError::from),
                        None => Err(TorrentError::NoStorage),
                    };
                    let done = {
                        let mut inner = this.0.borrow_mut();
                        inner.writes_pending -= 1;
                        if let Err(e) = result {
                            inner.state = TransferState::Error;
                            inner.error = Some(e.to_string());
                        }
                        inner.writes_pending == 0 && inner.swarm.is_complete() && inner.state == TransferState::Downloading
                    };
                    if done {
                        this.finish();
                    }
                });
            }
            Event::MetadataReady { info_bytes, .. } => {
                let store = self.0.borrow().store.clone();
                self.0.borrow_mut().state = TransferState::Downloading;
                spawn_local(async move {
                    if let Some(PieceStore::Opfs(t)) = store {
                        if let Err(e) = t.write("info", &info_bytes).await {
                            tracing::warn!("cannot store the info dict: {e}");
                        }
                    }
                });
                self.apply_select_only();
                self.open_pending_channels();
                // The chunk hash list may have come first.
                self.keep_checked_pieces();
            }
            Event::ChunkHashesReady { hashes } => {
                let store = self.0.borrow().store.clone();
                spawn_local(async move {
                    if let Some(PieceStore::Opfs(t)) = store {
                        if let Err(e) = t.write("chunk_hashes", &hashes.concat()).await {
                            tracing::warn!("cannot store the chunk hashes: {e}");
                        }
                    }
                });
                self.keep_checked_pieces();
            }
            Event::PieceFailed { .. } => self.0.borrow_mut().failed_pieces += 1,
            Event::Disconnect { peer, reason } => {
                tracing::info!("dropping peer {}: {reason}", peer.0);
                let link = self.0.borrow_mut().peers.remove(&peer);
                drop(link);
                self.release_channel(peer);
            }
            e @ (Event::ChannelNeeded { .. }
            | Event::CheckChannel { .. }
            | Event::VoucherDue { .. }
            | Event::VoucherReceived { .. }
            | Event::ChannelReleased { .. }
            | Event::PayRefused { .. }) => self.on_pay_event(e),
            Event::Complete => {
                let ready = self.0.borrow().writes_pending == 0;
                if ready {
                    self.finish();
                }
            }
            Event::Unsupported { reason } => self.0.borrow_mut().error = Some(reason),
            Event::PeerReady { .. } | Event::PeerBanned { .. } => {}
        }
    }

    // ---- time ------------------------------------------------------------------------------

    fn tick(&self) {
        let now = now_ms();
        self.maintain_bridge(now);
        self.0.borrow_mut().swarm.handle_timeout(now as u64);
        self.pump();
        {
            let mut inner = self.0.borrow_mut();
            let seen = inner.reputation_seen;
            inner.reputation_seen = reputation::exchange(&mut inner.swarm, seen, now as u64);
        }
        // Peers dropped as avoided, requests reordered by score.
        self.pump();
        // Announces, reconnects and offer expiry (the tick is finer than any of them needs).
        self.signal(|s, now| s.handle_timeout(now));
        self.save_deliveries();
        // Every few seconds, each WebRTC peer's path again (the selected pair can change).
        if (now / 1000.0) as u64 % 3 == 0 {
            let refresh: Vec<_> = self.0.borrow().peers.values().filter_map(|l| l.refresh_path.clone()).collect();
            refresh.iter().for_each(|f| f());
        }
        self.publish();
    }

    /// The file's name for payments: its CID when known (asked for, or hashed at the end).
    pub fn file_key(&self) -> String {
        let inner = self.0.borrow();
        inner.options.cid.clone().or_else(|| inner.sha256.clone()).unwrap_or_else(|| hex::encode(inner.options.info_hash))
    }

    fn publish(&self) {
        let snapshot = self.snapshot();
        let on_update = self.0.borrow().on_update.clone();
        on_update(snapshot);
    }
}
