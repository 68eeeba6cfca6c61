//! One connection's state as the swarm sees it: the handshakes, what the peer has, the
//! four choke/interest flags of BEP 3, our requests to it and its requests to us, and the
//! clocks that time it out. Plain data; the swarm's modules change it.

use std::collections::VecDeque;

use crate::peer_wire::extension::ExtendedHandshake;
use crate::peer_wire::{Bitfield, BlockRef, Handshake};

/// The peer must send its handshake within this long of the connection opening.
pub const HANDSHAKE_TIMEOUT_MS: u64 = 20_000;
/// A responder whose peer stays silent speaks first after this long.
pub const RESPONDER_WAIT_MS: u64 = 3_000;
/// We send a keep-alive when we sent nothing for this long (BEP 3 suggests 2 minutes).
pub const KEEPALIVE_MS: u64 = 60_000;
/// A peer that sends nothing at all (not even a keep-alive) for this long is dropped.
pub const IDLE_TIMEOUT_MS: u64 = 180_000;
/// Blocks that arrived before we knew the piece count, kept until the metadata is in.
pub const MAX_PENDING_HAVES: usize = 4096;

#[derive(Debug)]
pub(crate) struct Peer {
    /// Bytes received that do not yet form a whole message.
    pub recv: Vec<u8>,
    pub handshake: Option<Handshake>,
    pub ext: Option<ExtendedHandshake>,
    pub has: Option<Bitfield>,
    /// A bitfield / haves that came before we knew the piece count (magnet).
    pub early_bitfield: Option<Vec<u8>>,
    pub early_have_all: bool,
    pub early_haves: Vec<u32>,
    pub sent_handshake: bool,
    /// Our bitfield / have_all / have_none went out (it must come right after the handshake).
    pub sent_have_state: bool,
    /// Both handshakes set the BEP 6 bit.
    pub fast: bool,
    pub connected_at_ms: u64,
    pub last_recv_ms: u64,
    pub last_sent_ms: u64,
    /// Pieces it has that we lack.
    pub useful: u32,
    pub am_choking: bool,
    pub am_interested: bool,
    pub peer_choking: bool,
    pub peer_interested: bool,
    /// Our requests to it, with the time each was sent.
    pub requests: Vec<(BlockRef, u64)>,
    /// A request of ours timed out and it has delivered nothing since: one request at a
    /// time until it does (a trickling peer cannot hold many blocks hostage).
    pub snubbed: bool,
    /// Its requests to us, served in order.
    pub uploads: VecDeque<BlockRef>,
    /// Piece bytes handed to the driver that it has not yet reported written
    /// ([`super::Swarm::handle_flushed`]).
    pub unflushed: u64,
    pub downloaded: u64,
    pub uploaded: u64,
    pub unchoked_at_ms: u64,
}

impl Peer {
    pub fn new(now: u64) -> Self {
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
            last_recv_ms: now,
            last_sent_ms: now,
            useful: 0,
            am_choking: true,
            am_interested: false,
            peer_choking: true,
            peer_interested: false,
            requests: Vec::new(),
            snubbed: false,
            uploads: VecDeque::new(),
            unflushed: 0,
            downloaded: 0,
            uploaded: 0,
            unchoked_at_ms: 0,
        }
    }

    pub fn peer_id(&self) -> Option<[u8; 20]> {
        self.handshake.map(|h| h.peer_id)
    }

    /// Why this connection should end now, if it should: no handshake in time, or silence.
    pub fn expired(&self, now: u64) -> Option<&'static str> {
        if self.handshake.is_none() && now.saturating_sub(self.connected_at_ms) >= HANDSHAKE_TIMEOUT_MS {
            return Some("no handshake in time");
        }
        (now.saturating_sub(self.last_recv_ms) >= IDLE_TIMEOUT_MS).then_some("silent for too long")
    }

    /// The earliest time this connection needs a timer: our first handshake as a
    /// responder, a keep-alive, the handshake and idle limits, and its oldest request.
    pub fn next_deadline(&self, request_timeout_ms: u64) -> u64 {
        let mut at = self.last_recv_ms + IDLE_TIMEOUT_MS;
        if self.handshake.is_none() {
            at = at.min(self.connected_at_ms + HANDSHAKE_TIMEOUT_MS);
        } else {
            at = at.min(self.last_sent_ms + KEEPALIVE_MS);
        }
        if !self.sent_handshake {
            at = at.min(self.connected_at_ms + RESPONDER_WAIT_MS);
        }
        if let Some(oldest) = self.requests.iter().map(|(_, sent)| *sent).min() {
            at = at.min(oldest + request_timeout_ms + 1);
        }
        at
    }
}
