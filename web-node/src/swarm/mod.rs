//! One torrent's swarm, sans-IO: the BitTorrent peer wire state machine for every peer
//! connection of one file, piece picking, choking and verification. Bytes and time go in,
//! bytes and events come out; the driver (RTCDataChannel in the page, memory pipes in tests)
//! owns the connections and the storage.
//!
//! ```text
//! loop {
//!     swarm.handle_connected(peer, now) | handle_data(peer, bytes, now)
//!          | handle_disconnected(peer, now) | handle_piece_read(index, data, now)
//!          | handle_timeout(now)                        // at poll_timeout()
//!     while let Some(out) = swarm.poll_output() {
//!         Transmit { peer, data } => send on that connection
//!         Event(ReadPiece { index }) => read it from storage, then handle_piece_read
//!         Event(PieceVerified { index, data }) => store it
//!         Event(Disconnect { peer, .. }) => close that connection
//!         …
//!     }
//! }
//! ```
//! Invariants: a piece is kept only after its SHA-1 (and, when the manifest is known, its
//! SHA-256) matches; a swarm told to expect a Merkle root requests no piece before a chunk
//! hash list with that root has arrived (`chiral_hashes`, from any peer); a peer that sent any block of a piece that failed verification, alone,
//! is banned by peer id and disconnected; every request we send is bounded by the peer's
//! `reqq` and ours; every request a peer sends is bounded by our queue.

mod picker;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use sha1::{Digest as _, Sha1};
use sha2::Sha256;

use crate::peer_wire::extension::{
    ExtendedHandshake, MetadataMessage, TorrentInfo, CHIRAL_HASHES, MAX_HASH_LIST_BYTES, MAX_METADATA_BYTES, METADATA_PIECE,
    OUR_CHIRAL_HASHES_ID, OUR_UT_METADATA_ID, UT_METADATA,
};
use crate::peer_wire::{Bitfield, BlockRef, Handshake, Id20, Message, BLOCK_SIZE, HANDSHAKE_LEN, MAX_MESSAGE_BYTES};
use picker::Picker;

/// A connection, named by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerKey(pub u64);

/// Requests a peer may have queued with us (what we announce as `reqq`).
pub const OUR_REQQ: usize = 250;
/// Pieces kept in memory for serving uploads (4 MiB with 256 KiB pieces).
const PIECE_CACHE: usize = 16;
const KEEPALIVE_MS: u64 = 60_000;
const OPTIMISTIC_UNCHOKE_MS: u64 = 30_000;
/// Failed metadata assemblies before a magnet gives up on that peer set.
const MAX_PENDING_HAVES: usize = 4096;
/// Shares in corrupt pieces before a peer is banned (a sole sender is banned at once).
const MAX_STRIKES: u32 = 3;

#[derive(Debug, Clone)]
pub struct SwarmConfig {
    pub info_hash: Id20,
    pub peer_id: Id20,
    pub client: String,
    /// Blocks in flight per peer (each 16 KiB).
    pub max_requests_per_peer: usize,
    /// Peers we upload to at once (plus one optimistic slot).
    pub upload_slots: usize,
    /// A request unanswered this long is given to someone else.
    pub request_timeout_ms: u64,
    /// Seeds the tie-breaking order of the piece picker.
    pub seed: u64,
    /// Our payment terms as a seeder, announced in the extended handshake.
    pub pay_to: Option<crate::settlement::PayTo>,
    /// Fetch pieces from peers (a bridge turns this on only when someone wants the file).
    pub download: bool,
    /// Fetch a peer's chunk hash list even with no Merkle root to check it against, only
    /// to serve it on (a relay bridge between a seeding tab and downloaders, who check it).
    pub forward_chunk_hashes: bool,
    /// Fetch only from peers that ask no price (a relay bridge pays no one: a paying page
    /// fetches from priced seeders itself, so the relay is never a free way around them).
    pub free_sources_only: bool,
}

impl SwarmConfig {
    pub fn new(info_hash: Id20, peer_id: Id20) -> Self {
        Self {
            info_hash,
            peer_id,
            client: concat!("Chiral ", env!("CARGO_PKG_VERSION")).to_string(),
            max_requests_per_peer: 64,
            upload_slots: 8,
            request_timeout_ms: 20_000,
            seed: u64::from_le_bytes(peer_id[12..20].try_into().expect("8 bytes")),
            pay_to: None,
            download: true,
            forward_chunk_hashes: false,
            free_sources_only: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The peer's handshake checked out.
    PeerReady { peer: PeerKey, peer_id: Id20 },
    /// The info dict arrived over `ut_metadata` and matches the infohash.
    MetadataReady { info: TorrentInfo, info_bytes: Vec<u8> },
    /// The chunk SHA-256 list arrived and hashes to the expected Merkle root; from now on
    /// every piece is checked against it too. The driver keeps it (for resume and seeding).
    ChunkHashesReady { hashes: Vec<[u8; 32]> },
    /// The driver must read piece `index` from storage and call [`Swarm::handle_piece_read`].
    ReadPiece { index: u32 },
    /// A verified piece: the driver stores it. `sellers`: the payment terms of the peers
    /// that delivered it (those that announced any), for settlement.
    PieceVerified { index: u32, data: Vec<u8>, from: Vec<PeerKey>, sellers: Vec<crate::settlement::PayTo> },
    /// A piece failed verification and will be fetched again.
    PieceFailed { index: u32, from: Vec<PeerKey> },
    PeerBanned { peer: PeerKey, peer_id: Id20, reason: String },
    /// The driver must close this connection.
    Disconnect { peer: PeerKey, reason: String },
    /// Every piece is verified.
    Complete,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Transmit { peer: PeerKey, data: Vec<u8> },
    Event(Event),
}

/// What the UI shows per peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStats {
    pub peer: PeerKey,
    pub peer_id: Option<Id20>,
    pub client: Option<String>,
    pub downloaded: u64,
    pub uploaded: u64,
    pub pieces: u32,
    pub choking_us: bool,
    pub choked_by_us: bool,
    pub in_flight: usize,
}

#[derive(Debug)]
struct Peer {
    recv: Vec<u8>,
    handshake: Option<Handshake>,
    ext: Option<ExtendedHandshake>,
    has: Option<Bitfield>,
    /// A bitfield / haves that came before we knew the piece count (magnet).
    early_bitfield: Option<Vec<u8>>,
    early_have_all: bool,
    early_haves: Vec<u32>,
    sent_handshake: bool,
    /// Our bitfield / have_all / have_none went out (it must come right after the handshake).
    sent_have_state: bool,
    /// Both handshakes set the BEP 6 bit.
    fast: bool,
    connected_at_ms: u64,
    /// Pieces it has that we lack.
    useful: u32,
    am_choking: bool,
    am_interested: bool,
    peer_choking: bool,
    peer_interested: bool,
    requests: Vec<(BlockRef, u64)>,
    uploads: VecDeque<BlockRef>,
    downloaded: u64,
    uploaded: u64,
    last_sent_ms: u64,
    unchoked_at_ms: u64,
    /// Metadata pieces we asked this peer for.
    metadata_asked: BTreeSet<u32>,
    /// Chunk hash list pieces we asked this peer for.
    hashes_asked: BTreeSet<u32>,
}

impl Peer {
    fn new(now: u64) -> Self {
        Self {
            recv: Vec::new(),
            handshake: None,
            ext: None,
            has: None,
            early_bitfield: None,
            early_have_all: false,
            early_haves: Vec::new(),
            sent_handshake: false,
            sent_have_state: false,
            fast: false,
            connected_at_ms: now,
            useful: 0,
            am_choking: true,
            am_interested: false,
            peer_choking: true,
            peer_interested: false,
            requests: Vec::new(),
            uploads: VecDeque::new(),
            downloaded: 0,
            uploaded: 0,
            last_sent_ms: now,
            unchoked_at_ms: 0,
            metadata_asked: BTreeSet::new(),
            hashes_asked: BTreeSet::new(),
        }
    }
}

/// The info dict (or chunk hash list) being assembled from 16 KiB pieces.
#[derive(Debug)]
struct MetadataFetch {
    size: usize,
    pieces: Vec<Option<Vec<u8>>>,
}

impl MetadataFetch {
    fn new(size: usize) -> Self {
        Self { size, pieces: vec![None; size.div_ceil(METADATA_PIECE)] }
    }

    /// Missing pieces that nobody has been asked for.
    fn unasked(&self, asked: &BTreeSet<u32>) -> Vec<u32> {
        (0..self.pieces.len() as u32).filter(|i| self.pieces[*i as usize].is_none() && !asked.contains(i)).collect()
    }

    /// Keeps one piece: `None` when it does not fit the blob, else whether all are in.
    fn accept(&mut self, piece: u32, total_size: u64, data: &[u8]) -> Option<bool> {
        let expected = self.size.saturating_sub(piece as usize * METADATA_PIECE).min(METADATA_PIECE);
        let slot = self.pieces.get_mut(piece as usize).filter(|_| total_size as usize == self.size && data.len() == expected)?;
        *slot = Some(data.to_vec());
        Some(self.pieces.iter().all(Option::is_some))
    }

    fn into_bytes(self) -> Vec<u8> {
        self.pieces.into_iter().flatten().flatten().collect()
    }
}

/// The answer to a request for `piece` of `blob` (the info dict or the chunk hash list).
fn blob_reply(blob: Option<&[u8]>, piece: u32) -> Vec<u8> {
    match blob {
        Some(b) if (piece as usize) * METADATA_PIECE < b.len() => {
            let start = piece as usize * METADATA_PIECE;
            let end = (start + METADATA_PIECE).min(b.len());
            MetadataMessage::Data { piece, total_size: b.len() as u64, data: &b[start..end] }.encode()
        }
        _ => MetadataMessage::Reject { piece }.encode(),
    }
}

struct Known {
    info: TorrentInfo,
    info_bytes: Vec<u8>,
    have: Bitfield,
    picker: Picker,
}

pub struct Swarm {
    config: SwarmConfig,
    known: Option<Known>,
    /// SHA-256 per chunk from the manifest, when the download started from a CID.
    chunk_hashes: Option<Vec<[u8; 32]>>,
    /// The same list as bytes, served to peers over `chiral_hashes`.
    hash_list: Option<Vec<u8>>,
    /// The Merkle root a fetched hash list must have; pieces wait until it has arrived.
    expected_root: Option<[u8; 32]>,
    hashes_fetch: Option<MetadataFetch>,
    fetch: Option<MetadataFetch>,
    peers: BTreeMap<PeerKey, Peer>,
    banned: HashSet<Id20>,
    /// Shares in pieces that failed verification, per peer id.
    strikes: HashMap<Id20, u32>,
    cache: VecDeque<(u32, Vec<u8>)>,
    /// Who sent blocks of each piece in progress.
    contributors: HashMap<u32, BTreeSet<PeerKey>>,
    reads_pending: HashSet<u32>,
    out: VecDeque<Output>,
    completed_reported: bool,
    last_optimistic_ms: u64,
    rng: u64,
    pub downloaded_bytes: u64,
    pub uploaded_bytes: u64,
    pub wasted_bytes: u64,
}

impl Swarm {
    /// A swarm that knows the file: `have` says which pieces are already stored (all of
    /// them when seeding).
    pub fn with_info(config: SwarmConfig, info_bytes: Vec<u8>, have: Option<Bitfield>) -> Result<Self, crate::peer_wire::extension::InfoError> {
        let info = TorrentInfo::parse(&info_bytes)?;
        let mut swarm = Self::magnet(config);
        let have = have.filter(|h| h.len() == info.pieces()).unwrap_or_else(|| Bitfield::new(info.pieces()));
        swarm.set_known(info, info_bytes, have);
        Ok(swarm)
    }

    /// A swarm that knows only the infohash: the info dict comes from peers (BEP 9).
    pub fn magnet(config: SwarmConfig) -> Self {
        let rng = config.seed | 1;
        Self {
            config,
            known: None,
            chunk_hashes: None,
            hash_list: None,
            expected_root: None,
            hashes_fetch: None,
            fetch: None,
            peers: BTreeMap::new(),
            banned: HashSet::new(),
            strikes: HashMap::new(),
            cache: VecDeque::new(),
            contributors: HashMap::new(),
            reads_pending: HashSet::new(),
            out: VecDeque::new(),
            completed_reported: false,
            last_optimistic_ms: 0,
            rng,
            downloaded_bytes: 0,
            uploaded_bytes: 0,
            wasted_bytes: 0,
        }
    }

    /// Starts (or stops) fetching pieces from peers.
    pub fn set_download(&mut self, on: bool, now: u64) {
        self.config.download = on;
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.update_interest(key, now);
        }
    }

    /// Fetch this piece before any other.
    pub fn prioritize(&mut self, index: u32, now: u64) {
        if let Some(k) = self.known.as_mut() {
            if index < k.info.pieces() && !k.have.get(index) {
                k.picker.priority.insert(index);
            }
        }
        if !self.config.download {
            self.set_download(true, now);
        } else {
            self.fill_all(now);
        }
    }

    /// Also check every piece against the manifest's SHA-256 chunk hashes (already trusted:
    /// from our own ingest or a list checked earlier), and serve them to peers.
    pub fn set_chunk_hashes(&mut self, hashes: Vec<[u8; 32]>) {
        self.hash_list = Some(hashes.concat());
        self.chunk_hashes = Some(hashes);
    }

    /// Download only with per-chunk SHA-256: fetch the chunk hash list from peers and
    /// accept it when its Merkle root is `root` (from a signed DHT record). Until then no
    /// piece is requested.
    pub fn expect_chunk_hashes(&mut self, root: [u8; 32], now: u64) {
        if self.chunk_hashes.is_none() {
            self.expected_root = Some(root);
            self.request_hashes_everywhere(now);
        }
    }

    pub fn chunk_hashes(&self) -> Option<&[[u8; 32]]> {
        self.chunk_hashes.as_deref()
    }

    /// Pieces wait for the chunk hash list.
    fn awaiting_hashes(&self) -> bool {
        self.expected_root.is_some() && self.chunk_hashes.is_none()
    }

    fn set_known(&mut self, info: TorrentInfo, info_bytes: Vec<u8>, have: Bitfield) {
        let picker = Picker::new(info.pieces(), info.piece_length, info.length, self.config.seed);
        self.completed_reported = have.is_full();
        self.known = Some(Known { info, info_bytes, have, picker });
    }

    pub fn info(&self) -> Option<&TorrentInfo> {
        self.known.as_ref().map(|k| &k.info)
    }

    pub fn have(&self) -> Option<&Bitfield> {
        self.known.as_ref().map(|k| &k.have)
    }

    pub fn is_complete(&self) -> bool {
        self.known.as_ref().is_some_and(|k| k.have.is_full())
    }

    pub fn banned(&self) -> &HashSet<Id20> {
        &self.banned
    }

    pub fn peer_stats(&self) -> Vec<PeerStats> {
        self.peers
            .iter()
            .map(|(key, p)| PeerStats {
                peer: *key,
                peer_id: p.handshake.map(|h| h.peer_id),
                client: p.ext.as_ref().and_then(|e| e.client.clone()),
                downloaded: p.downloaded,
                uploaded: p.uploaded,
                pieces: p.has.as_ref().map_or(0, Bitfield::count),
                choking_us: p.peer_choking,
                choked_by_us: p.am_choking,
                in_flight: p.requests.len(),
            })
            .collect()
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`Swarm::handle_timeout`] wants to run next.
    pub fn poll_timeout(&self, now: u64) -> u64 {
        now + 1_000
    }

    fn send(&mut self, peer: PeerKey, msg: &Message<'_>, now: u64) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.last_sent_ms = now;
        }
        self.out.push_back(Output::Transmit { peer, data: msg.to_vec() });
    }

    fn event(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    fn drop_peer(&mut self, peer: PeerKey, reason: impl Into<String>, now: u64) {
        if self.peers.contains_key(&peer) {
            self.event(Event::Disconnect { peer, reason: reason.into() });
            self.handle_disconnected(peer, now);
        }
    }

    // ---- inputs ------------------------------------------------------------------------

    /// A connection is open. The side that opened it (`initiator`) speaks first; the other
    /// answers the peer's handshake with its own and its piece state in one message, so a
    /// peer that decides what we have as soon as it reads our handshake (WebTorrent does)
    /// sees both at once. A responder whose peer stays silent speaks after 3 s anyway.
    pub fn handle_connected(&mut self, peer: PeerKey, initiator: bool, now: u64) {
        self.peers.insert(peer, Peer::new(now));
        if initiator {
            self.send_handshake(peer, now);
        }
    }

    fn send_handshake(&mut self, peer: PeerKey, now: u64) {
        let mut data = Vec::with_capacity(HANDSHAKE_LEN);
        Handshake::new(self.config.info_hash, self.config.peer_id).encode_into(&mut data);
        let p = self.peers.get_mut(&peer).expect("peer");
        p.sent_handshake = true;
        p.last_sent_ms = now;
        // A bitfield may always follow the handshake, fast extension or not.
        if let Some(k) = self.known.as_ref().filter(|k| k.have.count() > 0) {
            Message::Bitfield(k.have.as_bytes()).encode_into(&mut data);
            p.sent_have_state = true;
        }
        self.out.push_back(Output::Transmit { peer, data });
    }

    /// Our pieces, as the first message after the handshakes (once per connection).
    fn have_state(&mut self, peer: PeerKey) -> Option<Vec<u8>> {
        let p = self.peers.get_mut(&peer).expect("peer");
        if p.sent_have_state {
            return None;
        }
        p.sent_have_state = true;
        Some(match &self.known {
            Some(k) if p.fast && k.have.is_full() => Message::HaveAll.to_vec(),
            Some(k) if k.have.count() > 0 => Message::Bitfield(k.have.as_bytes()).to_vec(),
            _ if p.fast => Message::HaveNone.to_vec(),
            _ => return None,
        })
    }

    /// BEP 6: a request we will not serve is refused explicitly when both speak fast.
    fn reject(&mut self, peer: PeerKey, block: BlockRef, now: u64) {
        if self.peers.get(&peer).is_some_and(|p| p.fast) {
            self.send(peer, &Message::Reject(block), now);
        }
    }

    fn choke_peer(&mut self, peer: PeerKey, now: u64) {
        let p = self.peers.get_mut(&peer).expect("peer");
        if p.am_choking {
            return;
        }
        p.am_choking = true;
        let dropped: Vec<BlockRef> = p.uploads.drain(..).collect();
        self.send(peer, &Message::Choke, now);
        for block in dropped {
            self.reject(peer, block, now);
        }
    }

    pub fn handle_disconnected(&mut self, peer: PeerKey, now: u64) {
        let Some(p) = self.peers.remove(&peer) else { return };
        if let Some(k) = self.known.as_mut() {
            for (block, _) in &p.requests {
                k.picker.release(block);
            }
            if let Some(has) = &p.has {
                for i in has.ones() {
                    k.picker.availability[i as usize] -= 1;
                }
            }
        }
        if !p.am_choking {
            self.unchoke_next(now);
        }
        if !p.metadata_asked.is_empty() {
            self.request_metadata_everywhere(now);
        }
        if !p.hashes_asked.is_empty() {
            self.request_hashes_everywhere(now);
        }
        self.fill_all(now);
    }

    /// Bytes from a connection, in any framing (RTCDataChannel messages are not BitTorrent
    /// messages: one may hold several, or part of one).
    pub fn handle_data(&mut self, peer: PeerKey, data: &[u8], now: u64) {
        let Some(p) = self.peers.get_mut(&peer) else { return };
        if p.recv.len() + data.len() > MAX_MESSAGE_BYTES + HANDSHAKE_LEN + 64 * 1024 {
            // More than one maximal message buffered: the peer does not frame messages.
            self.drop_peer(peer, "sent an over-long message", now);
            return;
        }
        p.recv.extend_from_slice(data);
        let mut buf = std::mem::take(&mut p.recv);
        let mut at = 0;
        loop {
            if !self.peers.contains_key(&peer) {
                return;
            }
            let handshaken = self.peers[&peer].handshake.is_some();
            if !handshaken {
                match Handshake::parse(&buf[at..]) {
                    Ok(Some((hs, used))) => {
                        at += used;
                        if !self.on_handshake(peer, hs, now) {
                            return;
                        }
                        continue;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        self.drop_peer(peer, e.to_string(), now);
                        return;
                    }
                }
            }
            match Message::parse(&buf[at..]) {
                Ok(Some((msg, used))) => {
                    at += used;
                    // `buf` is ours (taken from the peer), so the message may borrow it
                    // while the handlers change `self`.
                    self.on_message(peer, msg, now);
                }
                Ok(None) => break,
                Err(e) => {
                    self.drop_peer(peer, e.to_string(), now);
                    return;
                }
            }
        }
        buf.drain(..at);
        if let Some(p) = self.peers.get_mut(&peer) {
            p.recv = buf;
        }
    }

    /// A piece the driver read from storage for uploading.
    pub fn handle_piece_read(&mut self, index: u32, data: Vec<u8>, now: u64) {
        self.reads_pending.remove(&index);
        if self.cache.len() >= PIECE_CACHE {
            self.cache.pop_front();
        }
        self.cache.push_back((index, data));
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.serve_uploads(key, now);
        }
    }

    /// The driver could not read a piece: the requests for it are dropped.
    pub fn handle_piece_unreadable(&mut self, index: u32) {
        self.reads_pending.remove(&index);
        for p in self.peers.values_mut() {
            p.uploads.retain(|b| b.index != index);
        }
    }

    pub fn handle_timeout(&mut self, now: u64) {
        let timeout = self.config.request_timeout_ms;
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in &keys {
            let p = self.peers.get_mut(key).expect("listed");
            let (stale, fresh): (Vec<_>, Vec<_>) = p.requests.drain(..).partition(|(_, at)| now.saturating_sub(*at) > timeout);
            p.requests = fresh;
            if let Some(k) = self.known.as_mut() {
                for (block, _) in &stale {
                    k.picker.release(block);
                }
            }
            let p = &self.peers[key];
            if !p.sent_handshake && now.saturating_sub(p.connected_at_ms) >= 3_000 {
                self.send_handshake(*key, now);
            }
            if now.saturating_sub(self.peers[key].last_sent_ms) >= KEEPALIVE_MS && self.peers[key].handshake.is_some() {
                self.send(*key, &Message::KeepAlive, now);
            }
        }
        if now.saturating_sub(self.last_optimistic_ms) >= OPTIMISTIC_UNCHOKE_MS {
            self.last_optimistic_ms = now;
            self.rotate_optimistic(now);
        }
        self.fill_all(now);
    }

    // ---- the protocol ------------------------------------------------------------------

    fn on_handshake(&mut self, peer: PeerKey, hs: Handshake, now: u64) -> bool {
        if hs.info_hash != self.config.info_hash {
            self.drop_peer(peer, "handshake names another torrent", now);
            return false;
        }
        if hs.peer_id == self.config.peer_id {
            self.drop_peer(peer, "connected to ourselves", now);
            return false;
        }
        if self.banned.contains(&hs.peer_id) {
            self.drop_peer(peer, "banned: sent corrupt data earlier", now);
            return false;
        }
        let duplicate = self.peers.iter().any(|(k, p)| *k != peer && p.handshake.is_some_and(|h| h.peer_id == hs.peer_id));
        if duplicate {
            self.drop_peer(peer, "already connected to this peer", now);
            return false;
        }
        let p = self.peers.get_mut(&peer).expect("connected");
        p.handshake = Some(hs);
        p.fast = hs.supports_fast();
        self.event(Event::PeerReady { peer, peer_id: hs.peer_id });
        let mut data = Vec::new();
        if !self.peers[&peer].sent_handshake {
            // Handshake and piece state leave together (see `handle_connected`).
            Handshake::new(self.config.info_hash, self.config.peer_id).encode_into(&mut data);
            self.peers.get_mut(&peer).expect("peer").sent_handshake = true;
        }
        if let Some(state) = self.have_state(peer) {
            data.extend_from_slice(&state);
        }
        if !data.is_empty() {
            self.peers.get_mut(&peer).expect("peer").last_sent_ms = now;
            self.out.push_back(Output::Transmit { peer, data });
        }
        if hs.supports_extensions() {
            self.send_extended_handshake(peer, now);
        }
        true
    }

    /// BEP 10 handshake; sent again when we learn the metadata, so peers that wait for it
    /// (magnet downloads behind us, as through a relay bridge) can ask us for it.
    fn send_extended_handshake(&mut self, peer: PeerKey, now: u64) {
        let ext = ExtendedHandshake {
            extensions: [(UT_METADATA.to_string(), OUR_UT_METADATA_ID), (CHIRAL_HASHES.to_string(), OUR_CHIRAL_HASHES_ID)]
                .into_iter()
                .collect(),
            metadata_size: self.known.as_ref().map(|k| k.info_bytes.len() as u64),
            hashes_size: self.hash_list.as_ref().map(|h| h.len() as u64),
            client: Some(self.config.client.clone()),
            reqq: Some(OUR_REQQ as u32),
            pay_to: self.config.pay_to,
        };
        let payload = ext.encode();
        self.send(peer, &Message::Extended { id: 0, payload: &payload }, now);
    }

    fn on_message(&mut self, peer: PeerKey, msg: Message<'_>, now: u64) {
        match msg {
            Message::KeepAlive | Message::Port(_) | Message::Unknown { .. } => {}
            Message::Choke => {
                let p = self.peers.get_mut(&peer).expect("peer");
                p.peer_choking = true;
                let requests = std::mem::take(&mut p.requests);
                if let Some(k) = self.known.as_mut() {
                    for (block, _) in &requests {
                        k.picker.release(block);
                    }
                }
                self.fill_all(now);
            }
            Message::Unchoke => {
                self.peers.get_mut(&peer).expect("peer").peer_choking = false;
                self.fill_requests(peer, now);
            }
            Message::Interested => {
                self.peers.get_mut(&peer).expect("peer").peer_interested = true;
                let unchoked = self.peers.values().filter(|p| !p.am_choking).count();
                if unchoked < self.config.upload_slots {
                    self.unchoke(peer, now);
                }
            }
            Message::NotInterested => {
                let p = self.peers.get_mut(&peer).expect("peer");
                p.peer_interested = false;
                if !p.am_choking {
                    self.choke_peer(peer, now);
                    self.unchoke_next(now);
                }
            }
            Message::HaveAll => match self.known.as_ref().map(|k| k.info.pieces()) {
                Some(n) => {
                    let bits = Bitfield::full(n);
                    self.on_bitfield(peer, &bits.as_bytes().to_vec(), now);
                }
                None => self.peers.get_mut(&peer).expect("peer").early_have_all = true,
            },
            Message::HaveNone => {
                if let Some(n) = self.known.as_ref().map(|k| k.info.pieces()) {
                    self.on_bitfield(peer, &Bitfield::new(n).as_bytes().to_vec(), now);
                }
            }
            Message::Reject(block) => {
                let p = self.peers.get_mut(&peer).expect("peer");
                if let Some(pos) = p.requests.iter().position(|(b, _)| *b == block) {
                    p.requests.swap_remove(pos);
                    if let Some(k) = self.known.as_mut() {
                        k.picker.release(&block);
                    }
                    self.fill_all(now);
                }
            }
            Message::Have(index) => self.on_have(peer, index, now),
            Message::Bitfield(bits) => self.on_bitfield(peer, bits, now),
            Message::Request(block) => self.on_request(peer, block, now),
            Message::Cancel(block) => {
                self.peers.get_mut(&peer).expect("peer").uploads.retain(|b| *b != block);
            }
            Message::Piece { index, begin, data } => self.on_piece(peer, index, begin, data, now),
            Message::Extended { id: 0, payload } => match ExtendedHandshake::parse(payload) {
                Ok(ext) => {
                    self.peers.get_mut(&peer).expect("peer").ext = Some(ext);
                    self.request_metadata(peer, now);
                    self.request_hashes(peer, now);
                    self.update_interest(peer, now);
                }
                Err(e) => self.drop_peer(peer, format!("bad extended handshake: {e}"), now),
            },
            Message::Extended { id: OUR_UT_METADATA_ID, payload } => match MetadataMessage::parse(payload) {
                Ok(m) => self.on_metadata(peer, m, now),
                Err(e) => self.drop_peer(peer, format!("bad ut_metadata message: {e}"), now),
            },
            Message::Extended { id: OUR_CHIRAL_HASHES_ID, payload } => match MetadataMessage::parse(payload) {
                Ok(m) => self.on_hashes(peer, m, now),
                Err(e) => self.drop_peer(peer, format!("bad chiral_hashes message: {e}"), now),
            },
            Message::Extended { .. } => {} // extensions we did not offer (ut_pex, …)
        }
    }

    fn on_have(&mut self, peer: PeerKey, index: u32, now: u64) {
        let Some(k) = self.known.as_mut() else {
            let p = self.peers.get_mut(&peer).expect("peer");
            if p.early_haves.len() < MAX_PENDING_HAVES {
                p.early_haves.push(index);
            }
            return;
        };
        if index >= k.info.pieces() {
            self.drop_peer(peer, "have for a piece that does not exist", now);
            return;
        }
        let p = self.peers.get_mut(&peer).expect("peer");
        let has = p.has.get_or_insert_with(|| Bitfield::new(k.info.pieces()));
        if has.set(index) {
            k.picker.availability[index as usize] += 1;
            if !k.have.get(index) {
                p.useful += 1;
            }
        }
        self.update_interest(peer, now);
    }

    fn on_bitfield(&mut self, peer: PeerKey, bits: &[u8], now: u64) {
        let Some(k) = self.known.as_mut() else {
            self.peers.get_mut(&peer).expect("peer").early_bitfield = Some(bits.to_vec());
            return;
        };
        let Some(bf) = Bitfield::from_bytes(bits, k.info.pieces()) else {
            self.drop_peer(peer, "bitfield of the wrong length", now);
            return;
        };
        let p = self.peers.get_mut(&peer).expect("peer");
        if let Some(old) = p.has.take() {
            for i in old.ones() {
                k.picker.availability[i as usize] -= 1;
            }
        }
        p.useful = 0;
        for i in bf.ones() {
            k.picker.availability[i as usize] += 1;
            if !k.have.get(i) {
                p.useful += 1;
            }
        }
        p.has = Some(bf);
        self.update_interest(peer, now);
    }

    /// A peer that speaks BEP 10 has named its price (or none) only once its extended
    /// handshake is in; until then it counts as priced.
    fn asks_price(p: &Peer) -> bool {
        p.ext.as_ref().map_or(p.handshake.is_some_and(|h| h.supports_extensions()), |e| e.pay_to.is_some_and(|t| t.price_per_mb_wei > 0))
    }

    /// Some peer has pieces, and every peer that has any asks a price: what a
    /// `free_sources_only` swarm cannot take.
    pub fn only_priced_sources(&self) -> bool {
        let mut sources = self.peers.values().filter(|p| p.early_have_all || p.has.as_ref().is_some_and(|h| h.count() > 0)).peekable();
        sources.peek().is_some() && sources.all(Self::asks_price)
    }

    fn update_interest(&mut self, peer: PeerKey, now: u64) {
        let Some(p) = self.peers.get_mut(&peer) else { return };
        let priced = Self::asks_price(p);
        let want = p.useful > 0 && self.config.download && !(self.config.free_sources_only && priced);
        if want != p.am_interested {
            p.am_interested = want;
            self.send(peer, if want { &Message::Interested } else { &Message::NotInterested }, now);
        }
        if want {
            self.fill_requests(peer, now);
        }
    }

    fn unchoke(&mut self, peer: PeerKey, now: u64) {
        let p = self.peers.get_mut(&peer).expect("peer");
        if p.am_choking {
            p.am_choking = false;
            p.unchoked_at_ms = now;
            self.send(peer, &Message::Unchoke, now);
        }
    }

    /// Gives a free upload slot to an interested, choked peer.
    fn unchoke_next(&mut self, now: u64) {
        let unchoked = self.peers.values().filter(|p| !p.am_choking).count();
        if unchoked >= self.config.upload_slots {
            return;
        }
        let next = self.peers.iter().find(|(_, p)| p.am_choking && p.peer_interested && p.handshake.is_some()).map(|(k, _)| *k);
        if let Some(k) = next {
            self.unchoke(k, now);
        }
    }

    /// Every 30 s, when peers wait, the longest-unchoked peer makes room for a random waiter.
    fn rotate_optimistic(&mut self, now: u64) {
        let waiting: Vec<PeerKey> =
            self.peers.iter().filter(|(_, p)| p.am_choking && p.peer_interested && p.handshake.is_some()).map(|(k, _)| *k).collect();
        if waiting.is_empty() {
            return;
        }
        let unchoked = self.peers.values().filter(|p| !p.am_choking).count();
        if unchoked >= self.config.upload_slots {
            let oldest = self.peers.iter().filter(|(_, p)| !p.am_choking).min_by_key(|(_, p)| p.unchoked_at_ms).map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.choke_peer(k, now);
            }
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let pick = waiting[(self.rng % waiting.len() as u64) as usize];
        self.unchoke(pick, now);
    }

    fn on_request(&mut self, peer: PeerKey, block: BlockRef, now: u64) {
        let Some(k) = &self.known else { return };
        let valid = block.index < k.info.pieces()
            && block.length > 0
            && block.length <= BLOCK_SIZE
            && u64::from(block.begin) + u64::from(block.length) <= u64::from(k.info.piece_len(block.index));
        if !valid {
            self.drop_peer(peer, "request outside the piece", now);
            return;
        }
        let have = k.have.get(block.index);
        let p = self.peers.get_mut(&peer).expect("peer");
        if p.am_choking || !have || p.uploads.len() >= OUR_REQQ {
            // BEP 3 drops such requests silently; BEP 6 peers are told.
            self.reject(peer, block, now);
            return;
        }
        p.uploads.push_back(block);
        self.serve_uploads(peer, now);
    }

    /// Answers queued requests from cached pieces; asks the driver for pieces not cached.
    fn serve_uploads(&mut self, peer: PeerKey, now: u64) {
        loop {
            let Some(p) = self.peers.get_mut(&peer) else { return };
            let Some(block) = p.uploads.front().copied() else { return };
            let Some((_, piece)) = self.cache.iter().find(|(i, _)| *i == block.index) else {
                if self.reads_pending.insert(block.index) {
                    self.event(Event::ReadPiece { index: block.index });
                }
                return;
            };
            let start = block.begin as usize;
            let end = start + block.length as usize;
            let Some(data) = piece.get(start..end) else { return };
            let msg = Message::Piece { index: block.index, begin: block.begin, data }.to_vec();
            p.uploads.pop_front();
            p.uploaded += u64::from(block.length);
            p.last_sent_ms = now;
            self.uploaded_bytes += u64::from(block.length);
            self.out.push_back(Output::Transmit { peer, data: msg });
        }
    }

    fn on_piece(&mut self, peer: PeerKey, index: u32, begin: u32, data: &[u8], now: u64) {
        let block = BlockRef { index, begin, length: data.len() as u32 };
        let p = self.peers.get_mut(&peer).expect("peer");
        let Some(pos) = p.requests.iter().position(|(b, _)| *b == block) else {
            // Unrequested or cancelled: not kept, not counted as delivered.
            self.wasted_bytes += data.len() as u64;
            return;
        };
        p.requests.swap_remove(pos);
        p.downloaded += data.len() as u64;
        self.downloaded_bytes += data.len() as u64;
        let Some(k) = self.known.as_mut() else { return };
        self.contributors.entry(index).or_default().insert(peer);
        let finished = k.picker.receive(index, begin, data);
        // Endgame: whoever else has this block in flight gets a cancel.
        let others: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(key, q)| **key != peer && q.requests.iter().any(|(b, _)| *b == block))
            .map(|(key, _)| *key)
            .collect();
        for other in others {
            let q = self.peers.get_mut(&other).expect("peer");
            q.requests.retain(|(b, _)| *b != block);
            self.send(other, &Message::Cancel(block), now);
        }
        if let Some(piece) = finished {
            self.verify_piece(index, piece, now);
        }
        self.fill_requests(peer, now);
    }

    fn verify_piece(&mut self, index: u32, data: Vec<u8>, now: u64) {
        let from: Vec<PeerKey> = self.contributors.remove(&index).unwrap_or_default().into_iter().collect();
        let k = self.known.as_mut().expect("pieces arrive only once the info is known");
        let sha1_ok = <[u8; 20]>::from(Sha1::digest(&data)) == k.info.piece_hashes[index as usize];
        let sha256_ok = match &self.chunk_hashes {
            Some(hashes) => hashes.get(index as usize).is_some_and(|h| <[u8; 32]>::from(Sha256::digest(&data)) == *h),
            None => true,
        };
        if !(sha1_ok && sha256_ok) {
            self.wasted_bytes += data.len() as u64;
            self.event(Event::PieceFailed { index, from: from.clone() });
            // A piece normally comes from one peer: that peer lied and is banned. When several
            // sent parts of it (endgame, adoption) each gets a strike; three strikes ban.
            let sole = from.len() == 1;
            for peer in from {
                let Some(peer_id) = self.peers.get(&peer).and_then(|p| p.handshake).map(|h| h.peer_id) else { continue };
                let strikes = self.strikes.entry(peer_id).or_insert(0);
                *strikes += if sole { MAX_STRIKES } else { 1 };
                if *strikes >= MAX_STRIKES {
                    self.banned.insert(peer_id);
                    let reason = format!("piece {index} failed verification");
                    self.event(Event::PeerBanned { peer, peer_id, reason: reason.clone() });
                    self.drop_peer(peer, reason, now);
                }
            }
            self.fill_all(now);
            return;
        }
        k.have.set(index);
        k.picker.priority.remove(&index);
        for p in self.peers.values_mut() {
            if p.has.as_ref().is_some_and(|h| h.get(index)) {
                p.useful = p.useful.saturating_sub(1);
            }
        }
        if self.cache.len() >= PIECE_CACHE {
            self.cache.pop_front();
        }
        self.cache.push_back((index, data.clone()));
        let sellers = from.iter().filter_map(|k| self.peers.get(k).and_then(|p| p.ext.as_ref()).and_then(|e| e.pay_to)).collect();
        self.event(Event::PieceVerified { index, data, from, sellers });
        let keys: Vec<PeerKey> = self.peers.iter().filter(|(_, p)| p.handshake.is_some()).map(|(k, _)| *k).collect();
        for key in &keys {
            self.send(*key, &Message::Have(index), now);
        }
        for key in keys {
            self.update_interest(key, now);
        }
        if self.is_complete() && !self.completed_reported {
            self.completed_reported = true;
            self.event(Event::Complete);
        }
    }

    fn fill_all(&mut self, now: u64) {
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.fill_requests(key, now);
        }
    }

    /// Tops up the requests in flight to `peer`, up to its `reqq` and ours.
    fn fill_requests(&mut self, peer: PeerKey, now: u64) {
        if self.awaiting_hashes() {
            return;
        }
        let Some(k) = self.known.as_mut() else { return };
        let Some(p) = self.peers.get_mut(&peer) else { return };
        if p.peer_choking || !p.am_interested {
            return;
        }
        let Some(theirs) = p.has.as_ref() else { return };
        let limit = self.config.max_requests_per_peer.min(p.ext.as_ref().and_then(|e| e.reqq).map_or(usize::MAX, |q| q.max(1) as usize));
        let mut batch = Vec::new();
        while p.requests.len() + batch.len() < limit {
            let in_flight = |b: &BlockRef| p.requests.iter().any(|(r, _)| r == b) || batch.contains(b);
            match k.picker.next_request(peer.0, &k.have, theirs, &in_flight) {
                Some(block) => batch.push(block),
                None => break,
            }
        }
        if batch.is_empty() {
            return;
        }
        let mut data = Vec::with_capacity(batch.len() * 17);
        for block in &batch {
            Message::Request(*block).encode_into(&mut data);
            p.requests.push((*block, now));
        }
        p.last_sent_ms = now;
        self.out.push_back(Output::Transmit { peer, data });
    }

    // ---- BEP 9: the info dict from peers -------------------------------------------------

    fn request_metadata_everywhere(&mut self, now: u64) {
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.request_metadata(key, now);
        }
    }

    /// Asks `peer` for every metadata piece nobody else has been asked for.
    fn request_metadata(&mut self, peer: PeerKey, now: u64) {
        if self.known.is_some() {
            return;
        }
        let Some(p) = self.peers.get(&peer) else { return };
        let Some(ext) = &p.ext else { return };
        let (Some(id), Some(size)) = (ext.ut_metadata_id(), ext.metadata_size) else { return };
        if size == 0 || size as usize > MAX_METADATA_BYTES {
            return;
        }
        let fetch = self.fetch.get_or_insert_with(|| MetadataFetch::new(size as usize));
        if fetch.size != size as usize {
            return; // a peer that disagrees on the size cannot help with this assembly
        }
        let asked: BTreeSet<u32> = self.peers.values().flat_map(|q| q.metadata_asked.iter().copied()).collect();
        for piece in fetch.unasked(&asked) {
            let payload = MetadataMessage::Request { piece }.encode();
            self.peers.get_mut(&peer).expect("peer").metadata_asked.insert(piece);
            self.send(peer, &Message::Extended { id, payload: &payload }, now);
        }
    }

    fn on_metadata(&mut self, peer: PeerKey, m: MetadataMessage<'_>, now: u64) {
        match m {
            MetadataMessage::Request { piece } => {
                let Some(id) = self.peers[&peer].ext.as_ref().and_then(ExtendedHandshake::ut_metadata_id) else { return };
                let reply = blob_reply(self.known.as_ref().map(|k| &k.info_bytes[..]), piece);
                self.send(peer, &Message::Extended { id, payload: &reply }, now);
            }
            MetadataMessage::Reject { piece } => {
                self.peers.get_mut(&peer).expect("peer").metadata_asked.remove(&piece);
            }
            MetadataMessage::Data { piece, total_size, data } => {
                let asked = self.peers.get_mut(&peer).expect("peer").metadata_asked.remove(&piece);
                let Some(fetch) = self.fetch.as_mut() else { return };
                match if asked { fetch.accept(piece, total_size, data) } else { None } {
                    None => self.drop_peer(peer, "ut_metadata piece does not fit the metadata", now),
                    Some(false) => {}
                    Some(true) => {
                        let bytes = self.fetch.take().expect("fetching").into_bytes();
                        self.on_metadata_assembled(peer, bytes, now);
                    }
                }
            }
        }
    }

    fn on_metadata_assembled(&mut self, last_peer: PeerKey, bytes: Vec<u8>, now: u64) {
        let hash: [u8; 20] = Sha1::digest(&bytes).into();
        let info = (hash == self.config.info_hash).then(|| TorrentInfo::parse(&bytes));
        let info = match info {
            Some(Ok(info)) => info,
            Some(Err(e)) => {
                // The infohash matches, so the torrent itself is of a kind we cannot handle.
                let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
                for key in keys {
                    self.drop_peer(key, format!("cannot download this torrent: {e}"), now);
                }
                return;
            }
            None => {
                self.drop_peer(last_peer, "metadata does not match the infohash", now);
                self.request_metadata_everywhere(now);
                return;
            }
        };
        let pieces = info.pieces();
        self.set_known(info.clone(), bytes.clone(), Bitfield::new(pieces));
        self.event(Event::MetadataReady { info, info_bytes: bytes });
        self.resend_extended_handshakes(now);
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            let p = self.peers.get_mut(&key).expect("peer");
            p.metadata_asked.clear();
            let bits = p.early_bitfield.take();
            let haves = std::mem::take(&mut p.early_haves);
            if std::mem::take(&mut p.early_have_all) {
                self.on_bitfield(key, &Bitfield::full(pieces).as_bytes().to_vec(), now);
            } else if let Some(bits) = bits {
                self.on_bitfield(key, &bits, now);
            }
            for index in haves {
                if self.peers.contains_key(&key) {
                    self.on_have(key, index, now);
                }
            }
        }
    }

    // ---- chiral_hashes: the chunk SHA-256 list from peers ---------------------------------

    fn request_hashes_everywhere(&mut self, now: u64) {
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.request_hashes(key, now);
        }
    }

    /// Asks `peer` for every piece of the hash list nobody else has been asked for.
    fn request_hashes(&mut self, peer: PeerKey, now: u64) {
        let forwarding = self.config.forward_chunk_hashes && self.hash_list.is_none();
        if !self.awaiting_hashes() && !forwarding {
            return;
        }
        let Some(ext) = self.peers.get(&peer).and_then(|p| p.ext.as_ref()) else { return };
        let (Some(id), Some(size)) = (ext.chiral_hashes_id(), ext.hashes_size) else { return };
        let size = size as usize;
        let fits_info = self.known.as_ref().is_none_or(|k| size == k.info.pieces() as usize * 32);
        if size == 0 || size % 32 != 0 || size > MAX_HASH_LIST_BYTES || !fits_info {
            return;
        }
        let fetch = self.hashes_fetch.get_or_insert_with(|| MetadataFetch::new(size));
        if fetch.size != size {
            return;
        }
        let asked: BTreeSet<u32> = self.peers.values().flat_map(|q| q.hashes_asked.iter().copied()).collect();
        for piece in fetch.unasked(&asked) {
            let payload = MetadataMessage::Request { piece }.encode();
            self.peers.get_mut(&peer).expect("peer").hashes_asked.insert(piece);
            self.send(peer, &Message::Extended { id, payload: &payload }, now);
        }
    }

    fn on_hashes(&mut self, peer: PeerKey, m: MetadataMessage<'_>, now: u64) {
        match m {
            MetadataMessage::Request { piece } => {
                let Some(id) = self.peers[&peer].ext.as_ref().and_then(ExtendedHandshake::chiral_hashes_id) else { return };
                let reply = blob_reply(self.hash_list.as_deref(), piece);
                self.send(peer, &Message::Extended { id, payload: &reply }, now);
            }
            MetadataMessage::Reject { piece } => {
                self.peers.get_mut(&peer).expect("peer").hashes_asked.remove(&piece);
            }
            MetadataMessage::Data { piece, total_size, data } => {
                let asked = self.peers.get_mut(&peer).expect("peer").hashes_asked.remove(&piece);
                let Some(fetch) = self.hashes_fetch.as_mut() else { return };
                match if asked { fetch.accept(piece, total_size, data) } else { None } {
                    None => self.drop_peer(peer, "chiral_hashes piece does not fit the list", now),
                    Some(false) => {}
                    Some(true) => {
                        let bytes = self.hashes_fetch.take().expect("fetching").into_bytes();
                        self.on_hashes_assembled(peer, bytes, now);
                    }
                }
            }
        }
    }

    fn on_hashes_assembled(&mut self, last_peer: PeerKey, bytes: Vec<u8>, now: u64) {
        let hashes: Vec<[u8; 32]> = bytes.chunks_exact(32).map(|c| c.try_into().expect("32-byte chunk")).collect();
        let fits_info = self.known.as_ref().is_none_or(|k| hashes.len() == k.info.pieces() as usize);
        if self.expected_root.is_none() && fits_info {
            // Forwarding: kept only to serve; whoever fetches it from us checks it.
            for p in self.peers.values_mut() {
                p.hashes_asked.clear();
            }
            self.hash_list = Some(bytes);
            self.resend_extended_handshakes(now);
            return;
        }
        if Some(crate::merkle::merkle_root(&hashes)) != self.expected_root || !fits_info {
            // A list is normally one peer's answer; the last sender vouched for it.
            self.drop_peer(last_peer, "chunk hash list does not match the file's Merkle root", now);
            for p in self.peers.values_mut() {
                p.hashes_asked.clear();
            }
            self.request_hashes_everywhere(now);
            return;
        }
        for p in self.peers.values_mut() {
            p.hashes_asked.clear();
        }
        self.set_chunk_hashes(hashes.clone());
        self.event(Event::ChunkHashesReady { hashes });
        self.resend_extended_handshakes(now);
        self.fill_all(now);
    }

    /// Tells connected peers what we can serve now.
    fn resend_extended_handshakes(&mut self, now: u64) {
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            if self.peers[&key].handshake.is_some_and(|h| h.supports_extensions()) {
                self.send_extended_handshake(key, now);
            }
        }
    }
}
