//! One torrent in the page: the thin driver around [`crate::swarm::Swarm`]. It owns the
//! tracker WebSockets (signaling), the RTCPeerConnections and data channels (one peer
//! each), the piece store and a 1 s tick; it feeds the swarm bytes and time and carries
//! out what the swarm asks: send these bytes, read or store this piece, drop that peer.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use std::time::Duration;

use js_sys::{ArrayBuffer, Uint8Array};
use sha2::{Digest, Sha256};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{MessageEvent, RtcDataChannel, RtcDataChannelEvent, RtcDataChannelState, RtcDataChannelType, RtcPeerConnection, WebSocket};

use super::piece_store::{delete_torrent, OpfsTorrent, PieceStore};
use crate::file_check::Verdict;
use super::rtc;
use crate::peer_wire::Bitfield;
use crate::swarm::{Event, Output, PeerKey, Swarm, SwarmConfig};
use crate::tracker::Id20;
use crate::tracker_client::{answer_json, parse_response, AnnounceRequest, TrackerEvent, OFFERS_PER_ANNOUNCE};

/// Connections per torrent; offers beyond this are not answered.
const MAX_PEERS: usize = 24;
/// An offer nobody answered is withdrawn after this long (bittorrent-tracker: 50 s).
const OFFER_TIMEOUT_MS: f64 = 50_000.0;
/// Announce at least this often while downloading, to meet newcomers.
const LEECH_ANNOUNCE_SECS: u64 = 30;
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
    pub down_rate: f64,
    pub up_rate: f64,
    pub downloaded: u64,
    pub uploaded: u64,
    pub pieces: u32,
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
}

/// How bytes reach a peer: a WebRTC data channel (browsers, WebTorrent) or the WebSocket
/// to this page's relay (the bridge, which serves the file to HTTP clients).
enum Channel {
    Rtc { pc: RtcPeerConnection, dc: RtcDataChannel },
    Bridge(WebSocket),
}

struct PeerLink {
    channel: Channel,
    _closures: Vec<Closure<dyn FnMut(JsValueEvent)>>,
    last: (u64, u64),
    rates: (f64, f64),
}

type JsValueEvent = wasm_bindgen::JsValue;

struct PendingOffer {
    pc: RtcPeerConnection,
    dc: RtcDataChannel,
    made_ms: f64,
}

struct TrackerLink {
    url: String,
    socket: Option<WebSocket>,
    open: bool,
    next_announce_ms: f64,
    interval_secs: u64,
    failures: u32,
    _closures: Vec<Closure<dyn FnMut(JsValueEvent)>>,
}

impl Inner {
    /// Records which peer delivered piece `index`, for the chunk map.
    fn note_source(&mut self, index: u32, from: Option<PeerKey>) {
        let pieces = self.swarm.info().map_or(0, |i| i.pieces()) as usize;
        if self.chunk_map.len() != pieces {
            self.chunk_map = vec![255; pieces];
        }
        let Some(key) = from else { return };
        let protocol = match self.peers.get(&key).map(|l| &l.channel) {
            Some(Channel::Bridge(_)) => "relay bridge",
            _ => "WebTorrent",
        };
        let id = self.swarm.peer_stats().into_iter().find(|p| p.peer == key).and_then(|p| p.peer_id).map(|id| short_peer_id(&id)).unwrap_or_default();
        let label = if protocol == "relay bridge" { protocol.to_string() } else { format!("{protocol} {id}") };
        let slot = match self.sources.iter().position(|(l, _)| *l == label) {
            Some(i) => i,
            None if self.sources.len() < 254 => {
                self.sources.push((label, 0));
                self.sources.len() - 1
            }
            None => return,
        };
        self.sources[slot].1 += 1;
        if let Some(c) = self.chunk_map.get_mut(index as usize) {
            *c = slot as u8;
        }
    }
}

struct Inner {
    swarm: Swarm,
    store: Option<PieceStore>,
    options: TorrentOptions,
    peer_id: Id20,
    peers: HashMap<PeerKey, PeerLink>,
    offers: HashMap<Id20, PendingOffer>,
    trackers: Vec<TrackerLink>,
    next_key: u64,
    state: TransferState,
    error: Option<String>,
    sha256: Option<String>,
    failed_pieces: u32,
    writes_pending: usize,
    /// (ms, downloaded, uploaded) over the last few seconds, for rates.
    samples: Vec<(f64, u64, u64)>,
    on_update: Rc<dyn Fn(Snapshot)>,
    stopped: bool,
    started_event_sent: bool,
    /// The whole-file check is running or done.
    finishing: bool,
    /// The bridge link's peer key, and when to try it again after it closed.
    bridge_key: Option<PeerKey>,
    bridge_retry_ms: f64,
    bridge_failures: u32,
    verified_bytes: u64,
    deliveries: crate::settlement::Deliveries,
    deliveries_dirty: bool,
    chunk_map: Vec<u8>,
    sources: Vec<(String, u32)>,
    verdict: Option<Verdict>,
    /// Who waits for the verdict ([`Torrent::verdict`]); told `None` if the torrent stops first.
    verdict_waiters: Vec<futures::channel::oneshot::Sender<Option<Verdict>>>,
    kept_pieces: u32,
}

/// A running torrent; clones share it.
#[derive(Clone)]
pub struct Torrent(Rc<RefCell<Inner>>);

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
    /// Seeds a file the user chose (its info dict computed by ingest).
    pub fn seed(
        file: web_sys::File,
        info_bytes: Vec<u8>,
        chunk_hashes: Vec<[u8; 32]>,
        trackers: Vec<String>,
        pay_to: Option<crate::settlement::PayTo>,
        cid: Option<String>,
        on_update: impl Fn(Snapshot) + 'static,
    ) -> Result<Self, String> {
        let info = crate::peer_wire::extension::TorrentInfo::parse(&info_bytes).map_err(|e| e.to_string())?;
        let info_hash: Id20 = sha1::Sha1::digest(&info_bytes).into();
        let peer_id = our_peer_id();
        let mut config = SwarmConfig::new(info_hash, peer_id);
        config.pay_to = pay_to;
        let mut swarm = Swarm::with_info(config, info_bytes, Some(Bitfield::full(info.pieces()))).map_err(|e| e.to_string())?;
        swarm.set_chunk_hashes(chunk_hashes);
        let bridge = bridge_url(&info_hash, cid.as_deref(), &[]);
        // Our own file: its CID was computed from it.
        let verdict = cid.clone().map(|cid| Verdict::Verified { cid });
        let options = TorrentOptions {
            info_hash,
            name: Some(info.name.clone()),
            trackers,
            cid,
            auto_seed: true,
            pay_to,
            bridge,
            merkle_root: None,
            excluded_wallets: BTreeSet::new(),
            keep_from: None,
        };
        let store = PieceStore::UserFile { file, piece_length: info.piece_length };
        let t = Self::new(swarm, Some(store), options, peer_id, TransferState::Seeding, Rc::new(on_update));
        t.0.borrow_mut().verdict = verdict;
        t.start();
        Ok(t)
    }

    /// Downloads by infohash (a magnet, or a CID's DHT record), resuming what OPFS holds.
    pub async fn download(options: TorrentOptions, on_update: impl Fn(Snapshot) + 'static) -> Result<Self, String> {
        let hex_hash = hex::encode(options.info_hash);
        let opfs = OpfsTorrent::open(&hex_hash).await?;
        let excluded: Vec<String> = options.excluded_wallets.iter().map(|w| format!("0x{}", hex::encode(w))).collect();
        let meta = serde_json::json!({ "name": options.name, "trackers": options.trackers, "cid": options.cid, "auto_seed": options.auto_seed, "relay": options.bridge.is_some(), "merkle_root": options.merkle_root.map(hex::encode), "excluded_wallets": excluded });
        opfs.write("meta.json", meta.to_string().as_bytes()).await?;
        let deliveries = match opfs.read("deliveries.json").await {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            Err(_) => crate::settlement::Deliveries::default(),
        };
        let peer_id = our_peer_id();
        let mut config = SwarmConfig::new(options.info_hash, peer_id);
        config.pay_to = options.pay_to;
        // Pieces kept from a failed root go first: nothing is asked of peers until then.
        let keeping = options.keep_from.is_some() && options.merkle_root.is_some();
        config.download = !keeping;
        let (swarm, state) = match opfs.read("info").await {
            Ok(info_bytes) => {
                let info = crate::peer_wire::extension::TorrentInfo::parse(&info_bytes).map_err(|e| e.to_string())?;
                let mut have = Bitfield::new(info.pieces());
                for index in opfs.stored_pieces(|i| info.piece_len(i)).await? {
                    have.set(index);
                }
                let state = if have.is_full() { TransferState::Verifying } else { TransferState::Downloading };
                (Swarm::with_info(config, info_bytes, Some(have)).map_err(|e| e.to_string())?, state)
            }
            Err(_) => (Swarm::magnet(config), TransferState::Metadata),
        };
        let mut swarm = swarm;
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
    pub async fn resume_stored(pay_to: Option<crate::settlement::PayTo>, on_update: impl Fn(Snapshot) + Clone + 'static) -> Vec<Result<Self, String>> {
        let mut out = Vec::new();
        for hex_hash in super::piece_store::stored_torrents().await.unwrap_or_default() {
            let result = async {
                let opfs = OpfsTorrent::open(&hex_hash).await?;
                if opfs.read(FAILED_MARK).await.is_ok() {
                    // A file that failed its CID is never resumed (nor seeded): its pieces go.
                    delete_torrent(&hex_hash).await?;
                    return Err(format!("{hex_hash} failed its content check earlier; its pieces were deleted"));
                }
                let meta: serde_json::Value = serde_json::from_slice(&opfs.read("meta.json").await?).map_err(|e| e.to_string())?;
                let info_hash: Id20 = hex::decode(&hex_hash).ok().and_then(|v| v.try_into().ok()).ok_or("bad stored infohash")?;
                let strings = |v: &serde_json::Value| v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect()).unwrap_or_default();
                let options = TorrentOptions {
                    info_hash,
                    name: meta["name"].as_str().map(String::from),
                    trackers: strings(&meta["trackers"]),
                    cid: meta["cid"].as_str().map(String::from),
                    auto_seed: meta["auto_seed"].as_bool().unwrap_or(true),
                    pay_to,
                    bridge: (meta["relay"].as_bool() != Some(false)).then(|| bridge_url(&info_hash, None, &strings(&meta["trackers"]))).flatten(),
                    merkle_root: meta["merkle_root"].as_str().and_then(|r| hex::decode(r).ok()).and_then(|r| r.try_into().ok()),
                    excluded_wallets: strings(&meta["excluded_wallets"])
                        .iter()
                        .filter_map(|w: &String| hex::decode(w.trim_start_matches("0x")).ok()?.try_into().ok())
                        .collect(),
                    keep_from: None,
                };
                Self::download(options, on_update.clone()).await
            }
            .await;
            out.push(result);
        }
        out
    }

    fn new(swarm: Swarm, store: Option<PieceStore>, options: TorrentOptions, peer_id: Id20, state: TransferState, on_update: Rc<dyn Fn(Snapshot)>) -> Self {
        let trackers = options
            .trackers
            .iter()
            .filter(|u| u.starts_with("ws://") || u.starts_with("wss://"))
            .take(4)
            .map(|url| TrackerLink { url: url.clone(), socket: None, open: false, next_announce_ms: 0.0, interval_secs: 120, failures: 0, _closures: Vec::new() })
            .collect();
        Self(Rc::new(RefCell::new(Inner {
            swarm,
            store,
            options,
            peer_id,
            peers: HashMap::new(),
            offers: HashMap::new(),
            trackers,
            next_key: 1,
            state,
            error: None,
            sha256: None,
            failed_pieces: 0,
            writes_pending: 0,
            samples: Vec::new(),
            on_update,
            stopped: false,
            started_event_sent: false,
            finishing: false,
            bridge_key: None,
            bridge_retry_ms: 0.0,
            bridge_failures: 0,
            verified_bytes: 0,
            deliveries: Default::default(),
            deliveries_dirty: false,
            chunk_map: Vec::new(),
            sources: Vec::new(),
            verdict: None,
            verdict_waiters: Vec::new(),
            kept_pieces: 0,
        })))
    }

    pub fn info_hash(&self) -> Id20 {
        self.0.borrow().options.info_hash
    }

    fn start(&self) {
        let count = self.0.borrow().trackers.len();
        for i in 0..count {
            self.connect_tracker(i);
        }
        let this = self.clone();
        spawn_local(async move {
            while !this.0.borrow().stopped {
                this.tick();
                futures_timer::Delay::new(Duration::from_secs(1)).await;
            }
        });
    }

    /// Stops sharing: closes every connection and tells the trackers.
    pub fn stop(&self) {
        let mut inner = self.0.borrow_mut();
        if inner.stopped {
            return;
        }
        inner.stopped = true;
        let stopped = AnnounceRequest {
            info_hash: inner.options.info_hash,
            peer_id: inner.peer_id,
            event: Some("stopped"),
            left: None,
            uploaded: inner.swarm.uploaded_bytes,
            downloaded: inner.swarm.downloaded_bytes,
            offers: Vec::new(),
        };
        for t in &mut inner.trackers {
            if let Some(ws) = t.socket.take() {
                let _ = ws.send_with_str(&stopped.to_json());
                ws.set_onclose(None);
                ws.set_onmessage(None);
                let _ = ws.close();
            }
        }
        for (_, link) in inner.peers.drain() {
            close_link(&link);
        }
        for (_, offer) in inner.offers.drain() {
            offer.pc.close();
        }
        let verdict = inner.verdict.clone();
        for waiter in inner.verdict_waiters.drain(..) {
            let _ = waiter.send(verdict.clone());
        }
    }

    /// The whole-file verdict, once the check is done; `None` if the torrent stops first.
    pub async fn verdict(&self) -> Option<Verdict> {
        let rx = {
            let mut inner = self.0.borrow_mut();
            if inner.verdict.is_some() || inner.stopped {
                return inner.verdict.clone();
            }
            let (tx, rx) = futures::channel::oneshot::channel();
            inner.verdict_waiters.push(tx);
            rx
        };
        rx.await.ok().flatten()
    }

    /// Stops and deletes the stored pieces.
    pub async fn remove(&self) -> Result<(), String> {
        self.stop();
        let store = self.0.borrow().store.clone();
        if let Some(PieceStore::Opfs(t)) = store {
            t.remove_all().await?;
        }
        Ok(())
    }

    /// The whole file as a Blob backed by storage, for saving: only once the whole-file
    /// check passed (a file that is not the CID asked for is never handed out).
    pub async fn blob(&self) -> Result<web_sys::Blob, String> {
        let (store, pieces) = {
            let inner = self.0.borrow();
            match &inner.verdict {
                Some(v) if v.is_verified() => {}
                Some(v) => return Err(v.failure().unwrap_or_default()),
                None => return Err("the whole file has not been checked yet".into()),
            }
            (inner.store.clone(), inner.swarm.info().map_or(0, |i| i.pieces()))
        };
        store.ok_or("no storage")?.blob(pieces).await
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
                    let failed = {
                        let inner = self.0.borrow();
                        inner.peers.get(&peer).is_some_and(|l| match &l.channel {
                            Channel::Rtc { dc, .. } => dc.ready_state() == RtcDataChannelState::Open && dc.send_with_u8_array(&data).is_err(),
                            Channel::Bridge(ws) => ws.ready_state() == WebSocket::OPEN && ws.send_with_u8_array(&data).is_err(),
                        })
                    };
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
                    let (store, len) = {
                        let inner = this.0.borrow();
                        (inner.store.clone(), inner.swarm.info().map(|i| i.piece_len(index)))
                    };
                    let (Some(store), Some(len)) = (store, len) else { return };
                    let result = store.read_piece(index, len).await;
                    match result {
                        Ok(data) => this.0.borrow_mut().swarm.handle_piece_read(index, data, now_ms() as u64),
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
                        Some(store) => store.write_piece(index, &data).await,
                        None => Err("no storage".into()),
                    };
                    let done = {
                        let mut inner = this.0.borrow_mut();
                        inner.writes_pending -= 1;
                        if let Err(e) = result {
                            inner.state = TransferState::Error;
                            inner.error = Some(e);
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
                if let Some(link) = link {
                    close_link(&link);
                }
            }
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

    /// Every piece is stored: hash the whole file once more and ask
    /// [`crate::file_check::check`] for the verdict. Verified: tell the trackers, keep or
    /// stop seeding. Failed (not the CID asked for): no "completed" announce, every peer,
    /// tracker and the bridge closed (nothing is seeded, nothing published), no plan, no
    /// Blob; the pieces are marked failed in storage (never resumed) and kept only for the
    /// next root to check ([`TorrentOptions::keep_from`]), which deletes them.
    fn finish(&self) {
        {
            let mut inner = self.0.borrow_mut();
            if inner.finishing || inner.sha256.is_some() {
                return;
            }
            inner.finishing = true;
            inner.state = TransferState::Verifying;
        }
        let this = self.clone();
        spawn_local(async move {
            let (store, info) = {
                let inner = this.0.borrow();
                (inner.store.clone(), inner.swarm.info().cloned())
            };
            let (Some(store), Some(info)) = (store, info) else { return };
            let mut hasher = Sha256::new();
            let mut failure = None;
            for index in 0..info.pieces() {
                match store.read_piece(index, info.piece_len(index)).await {
                    Ok(data) => {
                        hasher.update(&data);
                        this.0.borrow_mut().verified_bytes += data.len() as u64;
                    }
                    Err(e) => {
                        failure = Some(format!("piece {index} cannot be read back: {e}"));
                        break;
                    }
                }
            }
            let digest: [u8; 32] = hasher.finalize().into();
            let mut inner = this.0.borrow_mut();
            if let Some(e) = failure {
                inner.state = TransferState::Error;
                inner.error = Some(e);
                return;
            }
            let verdict = crate::file_check::check(inner.options.cid.as_deref(), &digest);
            inner.sha256 = Some(hex::encode(digest));
            inner.verdict = Some(verdict.clone());
            if let Some(reason) = verdict.failure() {
                inner.state = TransferState::Error;
                inner.error = Some(reason);
                drop(inner);
                if let PieceStore::Opfs(t) = &store {
                    if let Err(e) = t.write(FAILED_MARK, b"the whole file is not the CID asked for").await {
                        tracing::warn!("cannot mark the failed download: {e}");
                    }
                }
                this.stop();
                this.publish();
                return;
            }
            let waiters: Vec<_> = inner.verdict_waiters.drain(..).collect();
            for waiter in waiters {
                let _ = waiter.send(Some(verdict.clone()));
            }
            if inner.state == TransferState::Verifying {
                inner.state = if inner.options.auto_seed { TransferState::Seeding } else { TransferState::Complete };
            }
            let completed = AnnounceRequest {
                info_hash: inner.options.info_hash,
                peer_id: inner.peer_id,
                event: Some("completed"),
                left: Some(0),
                uploaded: inner.swarm.uploaded_bytes,
                downloaded: inner.swarm.downloaded_bytes,
                offers: Vec::new(),
            };
            for t in inner.trackers.iter().filter(|t| t.open) {
                if let Some(ws) = &t.socket {
                    let _ = ws.send_with_str(&completed.to_json());
                }
            }
            let stop = inner.state == TransferState::Complete;
            drop(inner);
            if stop {
                this.stop();
            }
            this.save_deliveries();
            this.publish();
        });
    }

    /// Offers the pieces a failed root's download left behind ([`TorrentOptions::keep_from`])
    /// to the swarm, once it knows the info dict and the chunk hash list: it keeps those
    /// that match both. Then the failed download's storage is deleted and pieces are asked
    /// of peers. Runs once.
    fn keep_checked_pieces(&self) {
        let (from, pieces) = {
            let mut inner = self.0.borrow_mut();
            let ready = inner.swarm.chunk_hashes().is_some() && inner.swarm.info().is_some();
            if !ready {
                return;
            }
            let Some(from) = inner.options.keep_from.take() else { return };
            let pieces: Vec<(u32, u32)> = inner.swarm.info().map(|i| (0..i.pieces()).map(|p| (p, i.piece_len(p))).collect()).unwrap_or_default();
            (from, pieces)
        };
        let this = self.clone();
        spawn_local(async move {
            let old_hex = hex::encode(from);
            match OpfsTorrent::open(&old_hex).await {
                Ok(old) => {
                    for (index, len) in pieces {
                        if this.0.borrow().stopped {
                            break;
                        }
                        let Ok(data) = old.read(&format!("p{index}")).await else { continue };
                        if data.len() as u64 != u64::from(len) {
                            continue;
                        }
                        let kept = this.0.borrow_mut().swarm.offer_kept_piece(index, data, now_ms() as u64);
                        if kept {
                            this.0.borrow_mut().kept_pieces += 1;
                            this.pump();
                        }
                    }
                }
                Err(e) => tracing::warn!("cannot open the failed download's pieces: {e}"),
            }
            if let Err(e) = delete_torrent(&old_hex).await {
                tracing::warn!("cannot delete the failed download's pieces: {e}");
            }
            let kept = this.0.borrow().kept_pieces;
            tracing::info!("kept {kept} pieces from the failed root's download");
            this.0.borrow_mut().swarm.set_download(true, now_ms() as u64);
            this.pump();
            this.publish();
        });
    }

    // ---- peers -----------------------------------------------------------------------------

    fn drop_peer(&self, peer: PeerKey) {
        let link = self.0.borrow_mut().peers.remove(&peer);
        if let Some(link) = link {
            close_link(&link);
            self.0.borrow_mut().swarm.handle_disconnected(peer, now_ms() as u64);
            self.pump();
        }
    }

    /// `onmessage` for any peer channel: binary messages are bytes for the swarm.
    fn bytes_handler(&self, key: PeerKey) -> Closure<dyn FnMut(JsValueEvent)> {
        let this = self.clone();
        Closure::<dyn FnMut(JsValueEvent)>::new(move |ev: JsValueEvent| {
            let Ok(ev) = ev.dyn_into::<MessageEvent>() else { return };
            let Ok(buffer) = ev.data().dyn_into::<ArrayBuffer>() else { return };
            let bytes = Uint8Array::new(&buffer).to_vec();
            this.0.borrow_mut().swarm.handle_data(key, &bytes, now_ms() as u64);
            this.pump();
        })
    }

    /// Wires a data channel to the swarm under a new key.
    fn attach(&self, pc: RtcPeerConnection, dc: RtcDataChannel, initiator: bool) {
        let key = {
            let mut inner = self.0.borrow_mut();
            let key = PeerKey(inner.next_key);
            inner.next_key += 1;
            key
        };
        dc.set_binary_type(RtcDataChannelType::Arraybuffer);
        let this = self.clone();
        let on_open = Closure::<dyn FnMut(JsValueEvent)>::new(move |_| {
            this.0.borrow_mut().swarm.handle_connected(key, initiator, now_ms() as u64);
            this.pump();
        });
        let on_message = self.bytes_handler(key);
        let this = self.clone();
        let on_close = Closure::<dyn FnMut(JsValueEvent)>::new(move |_| this.drop_peer(key));
        dc.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        dc.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        dc.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        dc.set_onerror(Some(on_close.as_ref().unchecked_ref()));
        let this = self.clone();
        let pc_for_state = pc.clone();
        let on_state = Closure::<dyn FnMut(JsValueEvent)>::new(move |_| {
            use web_sys::RtcPeerConnectionState as S;
            if matches!(pc_for_state.connection_state(), S::Failed | S::Closed) {
                this.drop_peer(key);
            }
        });
        pc.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        let already_open = dc.ready_state() == RtcDataChannelState::Open;
        self.0.borrow_mut().peers.insert(key, PeerLink { channel: Channel::Rtc { pc, dc }, _closures: vec![on_open, on_message, on_close, on_state], last: (0, 0), rates: (0.0, 0.0) });
        if already_open {
            self.0.borrow_mut().swarm.handle_connected(key, initiator, now_ms() as u64);
            self.pump();
        }
    }

    fn has_room(&self) -> bool {
        let inner = self.0.borrow();
        !inner.stopped && inner.peers.len() < MAX_PEERS
    }

    /// Another peer's offer: answer it through the tracker it came from.
    fn on_offer(&self, tracker: usize, from: Id20, offer_id: Id20, sdp: String) {
        if !self.has_room() {
            return;
        }
        let this = self.clone();
        spawn_local(async move {
            let (pc, answer) = match rtc::answer_offer(&sdp).await {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("cannot answer an offer: {e}");
                    return;
                }
            };
            let weak = this.clone();
            let pc_for_channel = pc.clone();
            let on_channel = Closure::<dyn FnMut(RtcDataChannelEvent)>::new(move |ev: RtcDataChannelEvent| {
                weak.attach(pc_for_channel.clone(), ev.channel(), false);
            });
            pc.set_ondatachannel(Some(on_channel.as_ref().unchecked_ref()));
            // The channel event fires once; the closure lives as long as the page.
            on_channel.forget();
            let inner = this.0.borrow();
            let message = answer_json(&inner.options.info_hash, &inner.peer_id, &from, &offer_id, &answer);
            if let Some(ws) = inner.trackers.get(tracker).and_then(|t| t.socket.as_ref()) {
                let _ = ws.send_with_str(&message);
            }
        });
    }

    fn on_answer(&self, offer_id: Id20, sdp: String) {
        let Some(offer) = self.0.borrow_mut().offers.remove(&offer_id) else { return };
        let this = self.clone();
        spawn_local(async move {
            if let Err(e) = rtc::accept_answer(&offer.pc, &sdp).await {
                tracing::warn!("cannot accept an answer: {e}");
                offer.pc.close();
                return;
            }
            this.attach(offer.pc, offer.dc, true);
        });
    }

    // ---- trackers --------------------------------------------------------------------------

    fn connect_tracker(&self, index: usize) {
        let url = self.0.borrow().trackers[index].url.clone();
        let Ok(ws) = WebSocket::new(&url) else {
            self.0.borrow_mut().trackers[index].failures += 1;
            return;
        };
        let this = self.clone();
        let on_open = Closure::<dyn FnMut(JsValueEvent)>::new(move |_| {
            {
                let mut inner = this.0.borrow_mut();
                let t = &mut inner.trackers[index];
                t.open = true;
                t.failures = 0;
                t.next_announce_ms = 0.0;
            }
            this.announce(index);
        });
        let this = self.clone();
        let on_message = Closure::<dyn FnMut(JsValueEvent)>::new(move |ev: JsValueEvent| {
            let Some(text) = ev.dyn_into::<MessageEvent>().ok().and_then(|e| e.data().as_string()) else { return };
            this.on_tracker_message(index, &text);
        });
        let this = self.clone();
        let on_close = Closure::<dyn FnMut(JsValueEvent)>::new(move |_| {
            let mut inner = this.0.borrow_mut();
            let t = &mut inner.trackers[index];
            t.open = false;
            t.socket = None;
            t.failures += 1;
            // Reconnect with backoff: 2 s, 4 s, … 60 s (the tick does it).
            t.next_announce_ms = now_ms() + f64::from(2u32.saturating_pow(t.failures.min(5)) * 1000).min(60_000.0);
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let mut inner = self.0.borrow_mut();
        let t = &mut inner.trackers[index];
        t.socket = Some(ws);
        t._closures = vec![on_open, on_message, on_close];
    }

    fn on_tracker_message(&self, tracker: usize, text: &str) {
        let our_hash = self.0.borrow().options.info_hash;
        match parse_response(text) {
            Ok(TrackerEvent::Offer { info_hash, peer_id, offer_id, sdp }) if info_hash == our_hash => {
                if peer_id != self.0.borrow().peer_id {
                    self.on_offer(tracker, peer_id, offer_id, sdp);
                }
            }
            Ok(TrackerEvent::Answer { info_hash, offer_id, sdp, .. }) if info_hash == our_hash => self.on_answer(offer_id, sdp),
            Ok(TrackerEvent::Announced { info_hash, interval_secs, .. }) if info_hash == our_hash => {
                let mut inner = self.0.borrow_mut();
                if let Some(secs) = interval_secs {
                    inner.trackers[tracker].interval_secs = secs.clamp(10, 3600);
                }
            }
            Ok(TrackerEvent::Failure { reason, .. }) => tracing::warn!("tracker refused an announce: {reason}"),
            Ok(TrackerEvent::Warning { message, .. }) => tracing::info!("tracker warning: {message}"),
            Ok(_) => {}
            Err(e) => tracing::warn!("unreadable tracker message: {e}"),
        }
    }

    /// Makes fresh offers and announces them.
    fn announce(&self, tracker: usize) {
        let wants_peers = self.has_room();
        {
            let mut inner = self.0.borrow_mut();
            let leeching = !inner.swarm.is_complete();
            let t = &mut inner.trackers[tracker];
            let every = if leeching { t.interval_secs.min(LEECH_ANNOUNCE_SECS) } else { t.interval_secs };
            t.next_announce_ms = now_ms() + every as f64 * 1000.0;
        }
        let this = self.clone();
        spawn_local(async move {
            let mut offers = Vec::new();
            if wants_peers {
                for _ in 0..OFFERS_PER_ANNOUNCE {
                    match rtc::create_offer().await {
                        Ok((pc, dc, sdp)) => {
                            let offer_id = random_id(b"");
                            this.0.borrow_mut().offers.insert(offer_id, PendingOffer { pc, dc, made_ms: now_ms() });
                            offers.push((offer_id, sdp));
                        }
                        Err(e) => tracing::warn!("cannot make a WebRTC offer: {e}"),
                    }
                }
            }
            let mut inner = this.0.borrow_mut();
            let event = if inner.started_event_sent { None } else { Some("started") };
            inner.started_event_sent = true;
            let left = inner.swarm.info().map(|i| {
                let have = inner.swarm.have().map_or(0, |h| h.ones().map(|p| u64::from(i.piece_len(p))).sum::<u64>());
                i.length - have
            });
            let request = AnnounceRequest {
                info_hash: inner.options.info_hash,
                peer_id: inner.peer_id,
                event,
                left,
                uploaded: inner.swarm.uploaded_bytes,
                downloaded: inner.swarm.downloaded_bytes,
                offers,
            };
            if let Some(ws) = inner.trackers.get(tracker).filter(|t| t.open).and_then(|t| t.socket.as_ref()) {
                let _ = ws.send_with_str(&request.to_json());
            }
        });
    }

    // ---- the relay bridge --------------------------------------------------------------------

    /// Keep one WebSocket to the relay's bridge open (with backoff): seeding, it offers the
    /// file to HTTP and BitTorrent clients; downloading (`want=1`), the relay fetches for us
    /// from whoever it reaches: TCP BitTorrent peers, its own copy, tabs that offer the file.
    fn maintain_bridge(&self, now: f64) {
        let url = {
            let inner = self.0.borrow();
            match (&inner.options.bridge, inner.bridge_key) {
                (Some(url), None) if !inner.stopped && now >= inner.bridge_retry_ms => {
                    let complete = inner.swarm.have().is_some_and(Bitfield::is_full);
                    if complete {
                        url.clone()
                    } else {
                        format!("{url}{}want=1", if url.contains('?') { '&' } else { '?' })
                    }
                }
                _ => return,
            }
        };
        let Ok(ws) = WebSocket::new(&url) else { return };
        ws.set_binary_type(web_sys::BinaryType::Arraybuffer);
        let key = {
            let mut inner = self.0.borrow_mut();
            let key = PeerKey(inner.next_key);
            inner.next_key += 1;
            inner.bridge_key = Some(key);
            key
        };
        let this = self.clone();
        let on_open = Closure::<dyn FnMut(JsValueEvent)>::new(move |_| {
            this.0.borrow_mut().bridge_failures = 0;
            this.0.borrow_mut().swarm.handle_connected(key, true, now_ms() as u64);
            this.pump();
        });
        let on_message = self.bytes_handler(key);
        let this = self.clone();
        let on_close = Closure::<dyn FnMut(JsValueEvent)>::new(move |_| {
            {
                let mut inner = this.0.borrow_mut();
                inner.bridge_key = None;
                inner.bridge_failures += 1;
                let wait = f64::from(2u32.saturating_pow(inner.bridge_failures.min(5))) * 1000.0;
                inner.bridge_retry_ms = now_ms() + wait.min(60_000.0);
            }
            this.drop_peer(key);
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.0.borrow_mut().peers.insert(
            key,
            PeerLink { channel: Channel::Bridge(ws), _closures: vec![on_open, on_message, on_close], last: (0, 0), rates: (0.0, 0.0) },
        );
    }

    // ---- time ------------------------------------------------------------------------------

    fn tick(&self) {
        let now = now_ms();
        self.maintain_bridge(now);
        self.0.borrow_mut().swarm.handle_timeout(now as u64);
        self.pump();
        // Withdraw unanswered offers.
        {
            let mut inner = self.0.borrow_mut();
            inner.offers.retain(|_, o| {
                let keep = now - o.made_ms < OFFER_TIMEOUT_MS;
                if !keep {
                    o.dc.close();
                    o.pc.close();
                }
                keep
            });
        }
        let due: Vec<(usize, bool)> = {
            let inner = self.0.borrow();
            inner.trackers.iter().enumerate().filter(|(_, t)| now >= t.next_announce_ms).map(|(i, t)| (i, t.open)).collect()
        };
        for (i, open) in due {
            if open {
                self.announce(i);
            } else if self.0.borrow().trackers[i].socket.is_none() {
                self.connect_tracker(i);
            }
        }
        self.save_deliveries();
        self.publish();
    }

    /// Who delivered what survives a reload, so seeders are paid for pieces kept from before.
    fn save_deliveries(&self) {
        let (store, bytes) = {
            let mut inner = self.0.borrow_mut();
            if !inner.deliveries_dirty {
                return;
            }
            inner.deliveries_dirty = false;
            (inner.store.clone(), serde_json::to_vec(&inner.deliveries).unwrap_or_default())
        };
        if let Some(PieceStore::Opfs(t)) = store {
            spawn_local(async move {
                if let Err(e) = t.write("deliveries.json", &bytes).await {
                    tracing::warn!("cannot store deliveries: {e}");
                }
            });
        }
    }

    /// The file's name for payments: its CID when known (asked for, or hashed at the end).
    pub fn file_key(&self) -> String {
        let inner = self.0.borrow();
        inner.options.cid.clone().or_else(|| inner.sha256.clone()).unwrap_or_else(|| hex::encode(inner.options.info_hash))
    }

    fn snapshot(&self) -> Snapshot {
        let mut inner = self.0.borrow_mut();
        let now = now_ms();
        let (down, up) = (inner.swarm.downloaded_bytes, inner.swarm.uploaded_bytes);
        inner.samples.push((now, down, up));
        inner.samples.retain(|s| now - s.0 <= 5_000.0);
        let (t0, d0, u0) = inner.samples[0];
        let span = ((now - t0) / 1000.0).max(1e-3);
        let (down_rate, up_rate) = if inner.samples.len() > 1 { ((down - d0) as f64 / span, (up - u0) as f64 / span) } else { (0.0, 0.0) };
        let stats = inner.swarm.peer_stats();
        let mut peers = Vec::new();
        for s in stats {
            let Some(link) = inner.peers.get_mut(&s.peer) else { continue };
            let (ld, lu) = link.last;
            // Per-peer rates from the 1 s tick, smoothed.
            link.rates = (link.rates.0 * 0.5 + (s.downloaded - ld) as f64 * 0.5, link.rates.1 * 0.5 + (s.uploaded - lu) as f64 * 0.5);
            link.last = (s.downloaded, s.uploaded);
            peers.push(PeerRow {
                id: s.peer_id.map(|id| short_peer_id(&id)).unwrap_or_else(|| "connecting".into()),
                client: s.client.unwrap_or_default(),
                protocol: match link.channel {
                    Channel::Rtc { .. } => "WebTorrent",
                    Channel::Bridge(_) => "relay bridge",
                },
                down_rate: link.rates.0,
                up_rate: link.rates.1,
                downloaded: s.downloaded,
                uploaded: s.uploaded,
                pieces: s.pieces,
            });
        }
        let info = inner.swarm.info();
        let pieces = info.map_or(0, |i| i.pieces());
        let have = inner.swarm.have().map_or(0, Bitfield::count);
        let size = info.map(|i| i.length);
        let left = info.map(|i| {
            let have_bytes: u64 = inner.swarm.have().map_or(0, |h| h.ones().map(|p| u64::from(i.piece_len(p))).sum());
            i.length - have_bytes
        });
        let eta_secs = left.filter(|l| *l > 0 && down_rate > 0.0).map(|l| l as f64 / down_rate);
        let name = info.map(|i| i.name.clone()).or_else(|| inner.options.name.clone()).unwrap_or_else(|| hex::encode(inner.options.info_hash));
        Snapshot {
            info_hash: hex::encode(inner.options.info_hash),
            name,
            size,
            pieces,
            have,
            state: inner.state,
            down_rate,
            up_rate,
            downloaded: down,
            uploaded: up,
            eta_secs,
            peers,
            banned: inner.swarm.banned().len(),
            failed_pieces: inner.failed_pieces,
            sha256: inner.sha256.clone(),
            cid_matches: inner.options.cid.as_ref().zip(inner.sha256.as_ref()).map(|(c, s)| c.eq_ignore_ascii_case(s)),
            verdict: inner.verdict.clone(),
            kept_pieces: inner.kept_pieces,
            error: inner.error.clone(),
            trackers_connected: inner.trackers.iter().filter(|t| t.open).count(),
            verified_bytes: inner.verified_bytes,
            plan: inner
                .verdict
                .as_ref()
                .and_then(|v| crate::settlement::plan(&inner.deliveries, v, &inner.options.excluded_wallets).ok())
                .unwrap_or_default(),
            file_key: inner.options.cid.clone().or_else(|| inner.sha256.clone()).unwrap_or_else(|| hex::encode(inner.options.info_hash)),
            chunk_map: inner.chunk_map.clone(),
            sources: inner.sources.clone(),
            piece_check: match (inner.swarm.chunk_hashes().is_some(), inner.options.merkle_root.is_some()) {
                (true, _) => "sha1+sha256",
                (false, true) => "awaiting-chunk-hashes",
                (false, false) => "sha1",
            },
        }
    }

    fn publish(&self) {
        let snapshot = self.snapshot();
        let on_update = self.0.borrow().on_update.clone();
        on_update(snapshot);
    }
}

fn close_link(link: &PeerLink) {
    match &link.channel {
        Channel::Rtc { pc, dc } => {
            dc.set_onopen(None);
            dc.set_onmessage(None);
            dc.set_onclose(None);
            dc.set_onerror(None);
            pc.set_onconnectionstatechange(None);
            dc.close();
            pc.close();
        }
        Channel::Bridge(ws) => {
            ws.set_onopen(None);
            ws.set_onmessage(None);
            ws.set_onclose(None);
            ws.set_onerror(None);
            let _ = ws.close();
        }
    }
}

/// `-WW0300-…a1b2c3` for Azureus-style ids (client tag + a distinguishing tail), else hex.
fn short_peer_id(id: &Id20) -> String {
    let tail = hex::encode(&id[17..]);
    match std::str::from_utf8(&id[..8]) {
        Ok(tag) if tag.starts_with('-') && tag.ends_with('-') => format!("{tag}…{tail}"),
        _ => format!("{}…{tail}", hex::encode(&id[..3])),
    }
}

/// `ws(s)://<this page's relay>/bridge/<infohash>[?cid=<cid>][&tr=…]`: the CID when we seed
/// it; the magnet's HTTP and UDP trackers, which the relay asks for BitTorrent peers (a page
/// cannot speak to them; this relay's own tracker it knows already).
pub fn bridge_url(info_hash: &Id20, cid: Option<&str>, trackers: &[String]) -> Option<String> {
    let origin = web_sys::window()?.location().origin().ok()?;
    let ws = origin.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1);
    let mut query: Vec<String> = cid.map(|c| format!("cid={c}")).into_iter().collect();
    let enc = |t: &str| percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC).to_string();
    for t in trackers.iter().filter(|t| (t.starts_with("http://") || t.starts_with("udp://")) && !t.starts_with(&origin)) {
        query.push(format!("tr={}", enc(t)));
    }
    let query = if query.is_empty() { String::new() } else { format!("?{}", query.join("&")) };
    Some(format!("{ws}/bridge/{}{query}", hex::encode(info_hash)))
}
