//! The upload side of the wire: interest and choking (the [`super::choker`] decides, this
//! applies), the requests peers send us (bounded by [`super::OUR_REQQ`], refused with a
//! BEP 6 reject when we will not serve them), a small cache of pieces read from storage,
//! and backpressure: with a `send_window`, a peer whose connection has not written what we
//! gave it waits (its requests stay queued) instead of being disconnected for being slow.

use std::collections::{HashSet, VecDeque};

use super::{Event, Output, PeerKey, Swarm, OUR_REQQ};
use crate::peer_wire::{BlockRef, Message, BLOCK_SIZE};

/// Pieces kept in memory for serving uploads (4 MiB with 256 KiB pieces).
const PIECE_CACHE: usize = 16;

#[derive(Debug, Default)]
pub(super) struct Uploads {
    cache: VecDeque<(u32, Vec<u8>)>,
    reads_pending: HashSet<u32>,
}

impl Uploads {
    pub fn cache(&mut self, index: u32, data: Vec<u8>) {
        if self.cache.len() >= PIECE_CACHE {
            self.cache.pop_front();
        }
        self.cache.push_back((index, data));
    }
}

impl Swarm {
    pub(super) fn on_interested(&mut self, peer: PeerKey, now: u64) {
        self.peers.get_mut(&peer).expect("peer").peer_interested = true;
        let decision = self.choker.admit(peer, &self.candidates());
        self.apply(decision, now);
    }

    pub(super) fn on_not_interested(&mut self, peer: PeerKey, now: u64) {
        let p = self.peers.get_mut(&peer).expect("peer");
        p.peer_interested = false;
        if !p.am_choking {
            self.choke_peer(peer, now);
            self.fill_upload_slot(now);
        }
    }

    /// A slot may have freed up: the choker gives it to the next waiting peer.
    pub(super) fn fill_upload_slot(&mut self, now: u64) {
        let decision = self.choker.fill_slot(&self.candidates());
        self.apply(decision, now);
    }

    pub(super) fn unchoke(&mut self, peer: PeerKey, now: u64) {
        let Some(p) = self.peers.get_mut(&peer) else { return };
        if p.am_choking {
            p.am_choking = false;
            p.unchoked_at_ms = now;
            self.send(peer, &Message::Unchoke, now);
        }
    }

    pub(super) fn choke_peer(&mut self, peer: PeerKey, now: u64) {
        let Some(p) = self.peers.get_mut(&peer) else { return };
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

    /// BEP 6: a request we will not serve is refused explicitly when both speak fast.
    fn reject(&mut self, peer: PeerKey, block: BlockRef, now: u64) {
        if self.peers.get(&peer).is_some_and(|p| p.fast) {
            self.send(peer, &Message::Reject(block), now);
        }
    }

    pub(super) fn on_request(&mut self, peer: PeerKey, block: BlockRef, now: u64) {
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

    /// Answers queued requests from cached pieces, while the peer's send window has room;
    /// asks the driver for pieces not cached.
    pub(super) fn serve_uploads(&mut self, peer: PeerKey, now: u64) {
        let window = self.config.send_window;
        loop {
            let Some(p) = self.peers.get(&peer) else { return };
            if window.is_some_and(|w| p.unflushed >= w) {
                return;
            }
            let Some(block) = p.uploads.front().copied() else { return };
            if !self.pay_allows(peer, u64::from(block.length)) {
                // Style 2: past the credit window; the request waits for a voucher.
                return;
            }
            let p = self.peers.get_mut(&peer).expect("peer");
            let Some((_, piece)) = self.upload.cache.iter().find(|(i, _)| *i == block.index) else {
                if self.upload.reads_pending.insert(block.index) {
                    self.out.push_back(Output::Event(Event::ReadPiece { index: block.index }));
                }
                return;
            };
            let start = block.begin as usize;
            let Some(data) = start.checked_add(block.length as usize).and_then(|end| piece.get(start..end)) else {
                p.uploads.pop_front();
                continue;
            };
            let msg = Message::Piece { index: block.index, begin: block.begin, data }.to_vec();
            p.uploads.pop_front();
            p.uploaded += u64::from(block.length);
            p.last_sent_ms = now;
            self.uploaded_bytes += u64::from(block.length);
            self.pay_sent(peer, u64::from(block.length));
            self.transmit(peer, msg);
        }
    }

    fn serve_all(&mut self, now: u64) {
        for key in self.keys() {
            self.serve_uploads(key, now);
        }
    }

    /// A piece the driver read from storage for uploading.
    pub fn handle_piece_read(&mut self, index: u32, data: Vec<u8>, now: u64) {
        self.upload.reads_pending.remove(&index);
        self.upload.cache(index, data);
        self.serve_all(now);
    }

    /// The driver could not read a piece: the requests for it are dropped.
    pub fn handle_piece_unreadable(&mut self, index: u32) {
        self.upload.reads_pending.remove(&index);
        for p in self.peers.values_mut() {
            p.uploads.retain(|b| b.index != index);
        }
    }

    /// Every connection wrote everything we gave it (with a `send_window`, as reported by
    /// [`Swarm::handle_flushed`]): a paying download's last voucher is out.
    pub fn all_flushed(&self) -> bool {
        self.peers.values().all(|p| p.unflushed == 0)
    }

    /// The driver wrote `bytes` of what we gave it for `peer` to the connection (only
    /// needed with a `send_window`): the peer's waiting requests are served again.
    pub fn handle_flushed(&mut self, peer: PeerKey, bytes: u64, now: u64) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.unflushed = p.unflushed.saturating_sub(bytes);
            self.serve_uploads(peer, now);
        }
    }
}
