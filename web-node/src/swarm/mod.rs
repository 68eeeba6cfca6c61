//! One torrent's swarm, sans-IO: the BitTorrent peer wire state machine for every peer
//! connection of one file, piece picking, choking and verification. Bytes and time go in,
//! bytes and events come out; the driver (RTCDataChannel in the page, WebSocket and TCP in
//! the relay, memory pipes in tests) owns the connections, the clock and the storage.
//!
//! ```text
//! loop {
//!     swarm.handle_connected(peer, initiator, now) | handle_data(peer, bytes, now)
//!          | handle_disconnected(peer, now) | handle_piece_read(index, data, now)
//!          | handle_flushed(peer, bytes, now)            // the connection wrote our bytes
//!          | handle_timeout(now)                         // at poll_timeout()
//!     while let Some(out) = swarm.poll_output() {
//!         Transmit { peer, data } => send on that connection
//!         Event(ReadPiece { index }) => read it from storage, then handle_piece_read
//!         Event(PieceVerified { index, data }) => store it
//!         Event(Disconnect { peer, .. }) => close that connection
//!         …
//!     }
//!     sleep until swarm.poll_timeout() (or the next input)
//! }
//! ```
//! Modules, one concept each: [`peer`] (one connection's state and clocks), [`picker`]
//! (which block next), [`blob_fetch`] (the info dict and chunk hash list in 16 KiB pieces,
//! with per-peer deadlines), [`choker`] (who we upload to), [`ban`] (who sent corrupt
//! data); `handshake`, `metadata`, `download` and `upload` hold the swarm's handlers for
//! each part of the wire. The invariants are written down in `STATE.md` beside this file.
//!
//! Reputation ([`crate::reputation`]) is the driver's, node-wide and kept across reloads;
//! the swarm only reports what each peer id did ([`Swarm::take_evidence`]: verified bytes,
//! failed pieces, stalls, refused payments) and takes back the node's view
//! ([`Swarm::use_reputation`]): avoided peer ids are refused like banned ones, and better
//! scored peers are asked for blocks first.

mod ban;
mod blob_fetch;
mod choker;
mod download;
mod event;
mod handshake;
mod metadata;
mod paid;
mod peer;
mod picker;
mod upload;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use crate::peer_wire::extension::{
    ExtendedHandshake, MetadataMessage, TorrentInfo, MAX_HASH_LIST_BYTES, MAX_METADATA_BYTES, OUR_CHIRAL_HASHES_ID, OUR_UT_METADATA_ID,
};
use crate::peer_wire::{Bitfield, Handshake, Id20, Message, HANDSHAKE_LEN, MAX_MESSAGE_BYTES};
use crate::reputation::{Evidence, Reputation, Standing, Subject};
use ban::BanPolicy;
use blob_fetch::BlobFetch;
use choker::{Candidate, Choker, Decision};
pub use blob_fetch::BLOB_REQUEST_TIMEOUT_MS;
pub use choker::OPTIMISTIC_UNCHOKE_MS;
pub use event::{Event, Output};
pub use paid::{PaySession, SellOffer};
pub use peer::{HANDSHAKE_TIMEOUT_MS, IDLE_TIMEOUT_MS, KEEPALIVE_MS};
use peer::{Peer, MAX_PENDING_HAVES, RESPONDER_WAIT_MS};
use picker::Picker;

/// A connection, named by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerKey(pub u64);

/// Requests a peer may have queued with us (what we announce as `reqq`).
pub const OUR_REQQ: usize = 250;
/// Piece deadlines kept at once ([`Swarm::set_deadlines`]): a stream's read-ahead.
pub const MAX_DEADLINES: usize = 64;
/// Reputation evidence kept for [`Swarm::take_evidence`]; past it the oldest is dropped.
pub const MAX_EVIDENCE_QUEUE: usize = 1024;
/// Peer ids remembered from [`Swarm::use_reputation`] (avoided ones and scores, each).
const MAX_REPUTATION_IDS: usize = 16_384;

#[derive(Debug, Clone)]
pub struct SwarmConfig {
    pub info_hash: Id20,
    pub peer_id: Id20,
    pub client: String,
    /// Blocks in flight per peer (each 16 KiB).
    pub max_requests_per_peer: usize,
    /// Peers we upload to at once (plus one optimistic slot).
    pub upload_slots: usize,
    /// A request unanswered this long is given to someone else, ms.
    pub request_timeout_ms: u64,
    /// Seeds the tie-breaking order of the piece picker and the optimistic unchoke.
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
    /// Backpressure: piece bytes handed to the driver for one peer and not yet reported
    /// written ([`Swarm::handle_flushed`]) before we stop serving that peer until it is.
    /// `None`: the driver does its own flow control and never reports.
    pub send_window: Option<u64>,
    /// Accept multi-file (folder) torrents. Only a driver that can write a folder sets this
    /// (`relay fetch`); the others (the page, the bridge) refuse them as before, at once,
    /// with [`InfoError::MultiFile`](crate::peer_wire::extension::InfoError::MultiFile).
    pub folders: bool,
    /// Style 2: sell in-band over `chiral_pay` ([`SellOffer`]); `None`: free or Style 1 only.
    pub sell: Option<SellOffer>,
    /// Style 2: pay sellers that name `chiral_pay` terms (the driver holds the channels).
    pub buy: bool,
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
            send_window: None,
            folders: false,
            sell: None,
            buy: false,
        }
    }
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
    metadata: BlobFetch,
    hashes: BlobFetch,
    /// Set once the torrent turned out to be one we refuse: nothing more is fetched.
    unsupported: Option<String>,
    peers: BTreeMap<PeerKey, Peer>,
    bans: BanPolicy,
    /// Peer ids the node's reputation avoids (proven liars elsewhere): refused like bans.
    avoided: HashSet<Id20>,
    /// The node's score per peer id (absent: 0.5, a stranger): who is asked first.
    scores: HashMap<Id20, f64>,
    /// What peers did, for the node's reputation; drained by [`Swarm::take_evidence`].
    evidence: VecDeque<(Id20, Evidence)>,
    choker: Choker,
    upload: upload::Uploads,
    pay: paid::PayState,
    /// Who sent blocks of each piece in progress.
    contributors: HashMap<u32, BTreeSet<PeerKey>>,
    out: VecDeque<Output>,
    completed_reported: bool,
    pub downloaded_bytes: u64,
    pub uploaded_bytes: u64,
    pub wasted_bytes: u64,
}

impl Swarm {
    /// A swarm that knows the file: `have` says which pieces are already stored (all of
    /// them when seeding).
    pub fn with_info(config: SwarmConfig, info_bytes: Vec<u8>, have: Option<Bitfield>) -> Result<Self, crate::peer_wire::extension::InfoError> {
        let info = TorrentInfo::parse(&info_bytes)?;
        if !config.folders {
            info.single_file()?;
        }
        let mut swarm = Self::magnet(config);
        let have = have.filter(|h| h.len() == info.pieces()).unwrap_or_else(|| Bitfield::new(info.pieces()));
        swarm.set_known(info, info_bytes, have);
        Ok(swarm)
    }

    /// A swarm that knows only the infohash: the info dict comes from peers (BEP 9).
    pub fn magnet(config: SwarmConfig) -> Self {
        let choker = Choker::new(config.upload_slots, config.seed);
        Self {
            config,
            known: None,
            chunk_hashes: None,
            hash_list: None,
            expected_root: None,
            metadata: BlobFetch::new(MAX_METADATA_BYTES as u64),
            hashes: BlobFetch::new(MAX_HASH_LIST_BYTES as u64),
            unsupported: None,
            peers: BTreeMap::new(),
            bans: BanPolicy::default(),
            avoided: HashSet::new(),
            scores: HashMap::new(),
            evidence: VecDeque::new(),
            choker,
            upload: upload::Uploads::default(),
            pay: paid::PayState::default(),
            contributors: HashMap::new(),
            out: VecDeque::new(),
            completed_reported: false,
            downloaded_bytes: 0,
            uploaded_bytes: 0,
            wasted_bytes: 0,
        }
    }

    /// Starts (or stops) fetching pieces from peers.
    pub fn set_download(&mut self, on: bool, now: u64) {
        self.config.download = on;
        for key in self.keys() {
            self.update_interest(key, now);
        }
    }

    /// Fetch this piece before any other (a deadline of `now`, kept if one is earlier).
    pub fn prioritize(&mut self, index: u32, now: u64) {
        if let Some(k) = self.known.as_mut() {
            if index < k.info.pieces() && !k.have.get(index) {
                let at = k.picker.deadlines.entry(index).or_insert(now);
                *at = (*at).min(now);
            }
        }
        self.start_fetching(now);
    }

    /// A stream's playhead moved: these pieces are needed by these times (ms, the same
    /// clock as `now`), and every earlier deadline is dropped (an old playhead's read-ahead
    /// must not delay the new one). Pieces already held or out of range are ignored; at
    /// most [`MAX_DEADLINES`] are kept, the earliest. An empty list clears all deadlines.
    pub fn set_deadlines(&mut self, deadlines: &[(u32, u64)], now: u64) {
        if let Some(k) = self.known.as_mut() {
            k.picker.deadlines.clear();
            let mut sorted: Vec<(u32, u64)> = deadlines.iter().copied().filter(|&(i, _)| i < k.info.pieces() && !k.have.get(i)).collect();
            sorted.sort_unstable_by_key(|&(i, at)| (at, i));
            for (index, at) in sorted.into_iter().take(MAX_DEADLINES) {
                k.picker.deadlines.entry(index).or_insert(at);
            }
        }
        if !deadlines.is_empty() {
            self.start_fetching(now);
        }
    }

    /// Whether this verified piece is held (`false` before the info dict is known).
    pub fn has_piece(&self, index: u32) -> bool {
        self.known.as_ref().is_some_and(|k| k.have.get(index))
    }

    fn start_fetching(&mut self, now: u64) {
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
        self.hashes.finish();
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
        self.metadata.finish();
    }

    pub fn info_hash(&self) -> Id20 {
        self.config.info_hash
    }

    pub fn info(&self) -> Option<&TorrentInfo> {
        self.known.as_ref().map(|k| &k.info)
    }

    pub fn have(&self) -> Option<&Bitfield> {
        self.known.as_ref().map(|k| &k.have)
    }

    /// Every wanted piece is stored (every piece, unless [`Swarm::set_wanted`] chose some).
    pub fn is_complete(&self) -> bool {
        self.known.as_ref().is_some_and(|k| match &k.picker.wanted {
            None => k.have.is_full(),
            Some(w) => w.ones().all(|i| k.have.get(i)),
        })
    }

    /// Fetch only these pieces (`None`: all), as a client does for the files a user chose in
    /// a folder torrent; pieces outside it are neither started nor needed for
    /// [`Event::Complete`], which fires again once a wider choice is complete. A bitfield of
    /// the wrong length is ignored.
    pub fn set_wanted(&mut self, wanted: Option<Bitfield>, now: u64) {
        let Some(k) = self.known.as_mut() else { return };
        if wanted.as_ref().is_some_and(|w| w.len() != k.info.pieces()) {
            return;
        }
        k.picker.wanted = wanted;
        let complete = self.is_complete();
        if !complete {
            self.completed_reported = false;
        } else if !self.completed_reported {
            self.completed_reported = true;
            self.event(Event::Complete);
        }
        for key in self.keys() {
            self.update_interest(key, now);
        }
    }

    pub fn banned(&self) -> &HashSet<Id20> {
        self.bans.banned()
    }

    /// What peers did since the last call, oldest first, for the node's
    /// [`Reputation::record`]: `Delivered` (a verified piece's bytes, shared evenly among
    /// its senders), `FailedPiece` (`sole` as for a ban), `Stalled` (requests timed out),
    /// `PaymentRefused` (Style 2 refused by the peer). Subjects are [`Subject::peer_id20`].
    /// At most [`MAX_EVIDENCE_QUEUE`] are kept between calls.
    pub fn take_evidence(&mut self) -> Vec<(Subject, Evidence)> {
        self.evidence.drain(..).map(|(id, e)| (Subject::peer_id20(&id), e)).collect()
    }

    fn note(&mut self, peer: PeerKey, evidence: Evidence) {
        if let Some(id) = self.peers.get(&peer).and_then(|p| p.peer_id()) {
            self.note_id(id, evidence);
        }
    }

    fn note_id(&mut self, id: Id20, evidence: Evidence) {
        if self.evidence.len() >= MAX_EVIDENCE_QUEUE {
            self.evidence.pop_front();
        }
        self.evidence.push_back((id, evidence));
    }

    /// Takes the node's view of BitTorrent peer ids (subjects [`Subject::peer_id20`]) at
    /// `now`: avoided ones are refused at their handshake and dropped if connected; scores
    /// order who is asked for blocks first (best first, then by connection). Replaces the
    /// previous view; call again when the reputation changed.
    pub fn use_reputation(&mut self, rep: &Reputation, now: u64) {
        self.use_standings(rep.standings(now), now);
    }

    /// [`Swarm::use_reputation`] with the standings already taken on the reputation's own
    /// clock, for a node whose reputation runs on another clock than its swarm (the page:
    /// wall-clock ms kept across reloads vs `performance.now()`); `now` is the swarm's.
    pub fn use_standings<'a>(&mut self, standings: impl IntoIterator<Item = (&'a Subject, Standing)>, now: u64) {
        self.avoided.clear();
        self.scores.clear();
        for (subject, standing) in standings {
            let Subject::Peer(text) = subject else { continue };
            let Some(id) = hex::decode(text).ok().and_then(|v| Id20::try_from(v).ok()) else { continue };
            if standing.avoided && self.avoided.len() < MAX_REPUTATION_IDS {
                self.avoided.insert(id);
            }
            if self.scores.len() < MAX_REPUTATION_IDS {
                self.scores.insert(id, standing.score);
            }
        }
        let avoided: Vec<PeerKey> = self.peers.iter().filter(|(_, p)| p.peer_id().is_some_and(|id| self.avoided.contains(&id))).map(|(k, _)| *k).collect();
        for peer in avoided {
            self.drop_peer(peer, "avoided: sent corrupt data earlier", now);
        }
        self.fill_all(now);
    }

    /// Connections best scored first (ties: by key), for handing out requests.
    fn keys_by_score(&self) -> Vec<PeerKey> {
        let mut keys: Vec<(PeerKey, f64)> =
            self.peers.iter().map(|(k, p)| (*k, p.peer_id().and_then(|id| self.scores.get(&id).copied()).unwrap_or(0.5))).collect();
        keys.sort_by(|a, b| b.1.total_cmp(&a.1));
        keys.into_iter().map(|(k, _)| k).collect()
    }

    /// Why the torrent cannot be downloaded here, once that is known.
    pub fn unsupported(&self) -> Option<&str> {
        self.unsupported.as_deref()
    }

    pub fn peer_stats(&self) -> Vec<PeerStats> {
        self.peers
            .iter()
            .map(|(key, p)| PeerStats {
                peer: *key,
                peer_id: p.peer_id(),
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

    /// The earliest time (ms, the caller's clock) at which [`Swarm::handle_timeout`] has
    /// work: a handshake, keep-alive, idle or request deadline of some connection, a blob
    /// piece's deadline, or the next optimistic unchoke. `None`: nothing until more input.
    pub fn poll_timeout(&self) -> Option<u64> {
        let timeout = self.config.request_timeout_ms;
        let peers = self.peers.values().map(|p| p.next_deadline(timeout)).min();
        let waiting = self.peers.values().any(|p| p.am_choking && p.peer_interested && p.handshake.is_some());
        [peers, self.metadata.next_deadline(), self.hashes.next_deadline(), waiting.then(|| self.choker.next_rotation())]
            .into_iter()
            .flatten()
            .min()
    }

    fn keys(&self) -> Vec<PeerKey> {
        self.peers.keys().copied().collect()
    }

    fn send(&mut self, peer: PeerKey, msg: &Message<'_>, now: u64) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.last_sent_ms = now;
        }
        self.transmit(peer, msg.to_vec());
    }

    /// Every byte for a connection leaves through here, counted against its send window
    /// until the driver reports it written.
    fn transmit(&mut self, peer: PeerKey, data: Vec<u8>) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.unflushed += data.len() as u64;
        }
        self.out.push_back(Output::Transmit { peer, data });
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

    pub fn handle_disconnected(&mut self, peer: PeerKey, now: u64) {
        let Some(p) = self.peers.remove(&peer) else { return };
        if let Some((channel, served_bytes)) = self.pay.forget_peer(peer) {
            self.event(Event::ChannelReleased { peer, channel, served_bytes });
        }
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
            self.fill_upload_slot(now);
        }
        let asked_blobs = self.metadata.asked_of(peer) + self.hashes.asked_of(peer) > 0;
        self.metadata.release(peer);
        self.hashes.release(peer);
        if asked_blobs {
            self.request_blobs_everywhere(now);
        }
        self.fill_all(now);
    }

    /// Bytes from a connection, in any framing (RTCDataChannel messages are not BitTorrent
    /// messages: one may hold several, or part of one).
    pub fn handle_data(&mut self, peer: PeerKey, data: &[u8], now: u64) {
        let Some(p) = self.peers.get_mut(&peer) else { return };
        p.last_recv_ms = now;
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

    /// Runs every deadline that is due: connections without a handshake or silent for too
    /// long are dropped, stale requests and blob pieces go to other peers, keep-alives go
    /// out, the optimistic unchoke rotates. Call it at [`Swarm::poll_timeout`].
    pub fn handle_timeout(&mut self, now: u64) {
        let timeout = self.config.request_timeout_ms;
        for key in self.keys() {
            if let Some(reason) = self.peers[&key].expired(now) {
                self.drop_peer(key, reason, now);
                continue;
            }
            let p = self.peers.get_mut(&key).expect("listed");
            let (stale, fresh): (Vec<_>, Vec<_>) = p.requests.drain(..).partition(|(_, at)| now.saturating_sub(*at) > timeout);
            p.requests = fresh;
            if !stale.is_empty() {
                p.snubbed = true;
                self.note(key, Evidence::Stalled);
            }
            if let Some(k) = self.known.as_mut() {
                for (block, _) in &stale {
                    k.picker.release(block);
                }
            }
            let p = &self.peers[&key];
            if !p.sent_handshake && now.saturating_sub(p.connected_at_ms) >= RESPONDER_WAIT_MS {
                self.send_handshake(key, now);
            }
            let p = &self.peers[&key];
            if now.saturating_sub(p.last_sent_ms) >= KEEPALIVE_MS && p.handshake.is_some() {
                self.send(key, &Message::KeepAlive, now);
            }
        }
        self.expire_blobs(now);
        let decisions = self.choker.rotate(now, &self.candidates());
        self.apply(decisions, now);
        self.fill_all(now);
    }

    // ---- the protocol ------------------------------------------------------------------

    fn on_message(&mut self, peer: PeerKey, msg: Message<'_>, now: u64) {
        match msg {
            Message::KeepAlive | Message::Port(_) | Message::Unknown { .. } => {}
            Message::Choke => self.on_choke(peer, now),
            Message::Unchoke => {
                self.peers.get_mut(&peer).expect("peer").peer_choking = false;
                self.fill_requests(peer, now);
            }
            Message::Interested => self.on_interested(peer, now),
            Message::NotInterested => self.on_not_interested(peer, now),
            Message::HaveAll => match self.known.as_ref().map(|k| k.info.pieces()) {
                Some(n) => self.on_bitfield(peer, Bitfield::full(n).as_bytes(), now),
                None => self.peers.get_mut(&peer).expect("peer").early_have_all = true,
            },
            Message::HaveNone => {
                if let Some(n) = self.known.as_ref().map(|k| k.info.pieces()) {
                    self.on_bitfield(peer, Bitfield::new(n).as_bytes(), now);
                }
            }
            Message::Reject(block) => self.on_reject(peer, block, now),
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
                    self.metadata.on_handshake(peer);
                    self.hashes.on_handshake(peer);
                    self.request_metadata(peer, now);
                    self.request_hashes(peer, now);
                    self.update_interest(peer, now);
                    self.on_pay_handshake(peer, now);
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
            Message::Extended { id: crate::pay::wire::OUR_CHIRAL_PAY_ID, payload } => self.on_pay_message(peer, payload, now),
            Message::Extended { .. } => {} // extensions we did not offer (ut_pex, …)
        }
    }

    /// The choker's view of every connection.
    fn candidates(&self) -> Vec<Candidate> {
        self.peers
            .iter()
            .map(|(key, p)| Candidate {
                key: *key,
                am_choking: p.am_choking,
                interested: p.peer_interested && self.pay_allows_unchoke(*key),
                ready: p.handshake.is_some(),
                unchoked_at_ms: p.unchoked_at_ms,
            })
            .collect()
    }

    fn apply(&mut self, decisions: impl IntoIterator<Item = Decision>, now: u64) {
        for d in decisions {
            match d {
                Decision::Choke(peer) => self.choke_peer(peer, now),
                Decision::Unchoke(peer) => self.unchoke(peer, now),
            }
        }
    }
}
