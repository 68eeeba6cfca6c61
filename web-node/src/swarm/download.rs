//! The download side of the wire: what peers have (have, bitfield), our interest, the
//! requests we keep in flight (bounded by our `max_requests_per_peer` and the peer's
//! `reqq`; one at a time to a snubbed peer), the blocks that come back, and the check of
//! every finished piece (SHA-1 from the info dict, and SHA-256 from the chunk hash list
//! when known) before it is kept.

use sha1::{Digest as _, Sha1};
use sha2::Sha256;

use super::peer::Peer;
use super::{Bitfield, Event, PeerKey, Swarm, MAX_PENDING_HAVES};
use crate::peer_wire::{BlockRef, Message};
use crate::reputation::Evidence;

impl Swarm {
    pub(super) fn on_have(&mut self, peer: PeerKey, index: u32, now: u64) {
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

    pub(super) fn on_bitfield(&mut self, peer: PeerKey, bits: &[u8], now: u64) {
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

    pub(super) fn on_choke(&mut self, peer: PeerKey, now: u64) {
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

    /// BEP 6: the peer will not send a block we asked for.
    pub(super) fn on_reject(&mut self, peer: PeerKey, block: BlockRef, now: u64) {
        let p = self.peers.get_mut(&peer).expect("peer");
        if let Some(pos) = p.requests.iter().position(|(b, _)| *b == block) {
            p.requests.swap_remove(pos);
            if let Some(k) = self.known.as_mut() {
                k.picker.release(&block);
            }
            self.fill_all(now);
        }
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

    pub(super) fn update_interest(&mut self, peer: PeerKey, now: u64) {
        let Some(p) = self.peers.get_mut(&peer) else { return };
        let priced = Self::asks_price(p);
        // With a choice of files, only a peer that has a wanted piece we lack is interesting
        // (counted on demand: `useful` counts every piece).
        let useful = p.useful > 0
            && self.known.as_ref().is_none_or(|k| match (&k.picker.wanted, &p.has) {
                (Some(w), Some(theirs)) => w.ones().any(|i| theirs.get(i) && !k.have.get(i)),
                _ => true,
            });
        // A priced peer is fine for a `free_sources_only` swarm that pays it in Style 2.
        let paid_here = self.config.buy && p.ext.as_ref().is_some_and(|e| e.extensions.get(crate::pay::wire::CHIRAL_PAY).is_some_and(|id| *id != 0));
        let want = useful && self.config.download && self.unsupported.is_none() && !(self.config.free_sources_only && priced && !paid_here);
        if want != p.am_interested {
            p.am_interested = want;
            self.send(peer, if want { &Message::Interested } else { &Message::NotInterested }, now);
        }
        if want {
            self.fill_requests(peer, now);
        }
    }

    pub(super) fn on_piece(&mut self, peer: PeerKey, index: u32, begin: u32, data: &[u8], now: u64) {
        let block = BlockRef { index, begin, length: data.len() as u32 };
        let p = self.peers.get_mut(&peer).expect("peer");
        let Some(pos) = p.requests.iter().position(|(b, _)| *b == block) else {
            // Unrequested or cancelled: not kept, not counted as delivered.
            self.wasted_bytes += data.len() as u64;
            return;
        };
        p.requests.swap_remove(pos);
        p.snubbed = false;
        p.downloaded += data.len() as u64;
        self.downloaded_bytes += data.len() as u64;
        let Some(k) = self.known.as_mut() else { return };
        self.contributors.entry(index).or_default().insert(peer);
        self.pay.delivered(index, peer, data.len() as u64);
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

    /// A piece from elsewhere, not from a peer: what an earlier download of the same CID
    /// under a root that failed left in storage. Kept only once the info dict and a chunk
    /// hash list are known, and only when it matches both the piece's SHA-1 and its chunk
    /// SHA-256, exactly as a peer's piece would; then it is `PieceVerified` with no sender
    /// (nobody is paid for it). Not for a piece we have or one in progress. Returns whether
    /// it was kept.
    pub fn offer_kept_piece(&mut self, index: u32, data: Vec<u8>, now: u64) -> bool {
        let (Some(k), Some(hashes)) = (self.known.as_ref(), self.chunk_hashes.as_ref()) else { return false };
        if index >= k.info.pieces() || k.have.get(index) || k.picker.partials.contains_key(&index) || data.len() as u64 != u64::from(k.info.piece_len(index)) {
            return false;
        }
        let sha1_ok = <[u8; 20]>::from(Sha1::digest(&data)) == k.info.piece_hashes[index as usize];
        let sha256_ok = hashes.get(index as usize).is_some_and(|h| <[u8; 32]>::from(Sha256::digest(&data)) == *h);
        if !(sha1_ok && sha256_ok) {
            return false;
        }
        self.verify_piece(index, data, now);
        true
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
            self.pay.forget_piece(index);
            self.wasted_bytes += data.len() as u64;
            self.event(Event::PieceFailed { index, from: from.clone() });
            let senders: Vec<(PeerKey, [u8; 20])> = from.iter().filter_map(|k| Some((*k, self.peers.get(k)?.peer_id()?))).collect();
            let ids: Vec<[u8; 20]> = senders.iter().map(|(_, id)| *id).collect();
            for id in &ids {
                self.note_id(*id, Evidence::FailedPiece { bytes: data.len() as u64, sole: ids.len() == 1 });
            }
            for banned in self.bans.piece_failed(&ids) {
                let Some((peer, _)) = senders.iter().find(|(_, id)| *id == banned) else { continue };
                let reason = format!("piece {index} failed verification");
                self.event(Event::PeerBanned { peer: *peer, peer_id: banned, reason: reason.clone() });
                self.drop_peer(*peer, reason, now);
            }
            self.fill_all(now);
            return;
        }
        k.have.set(index);
        k.picker.deadlines.remove(&index);
        for p in self.peers.values_mut() {
            if p.has.as_ref().is_some_and(|h| h.get(index)) {
                p.useful = p.useful.saturating_sub(1);
            }
        }
        let share = data.len() as u64 / from.len().max(1) as u64;
        for key in &from {
            self.note(*key, Evidence::Delivered { bytes: share });
        }
        self.upload.cache(index, data.clone());
        self.pay_for_piece(index);
        // Style 2 sellers are paid through their channel, not again in Style 1.
        let sellers = from.iter().filter(|k| !self.pay.is_style2_seller(**k)).filter_map(|k| self.peers.get(k).and_then(|p| p.ext.as_ref()).and_then(|e| e.pay_to)).collect();
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

    /// Tops up every connection, best scored first (the first asked gets the rarest and
    /// the prioritized pieces, and the endgame's blocks).
    pub(super) fn fill_all(&mut self, now: u64) {
        for key in self.keys_by_score() {
            self.fill_requests(key, now);
        }
    }

    /// Tops up the requests in flight to `peer`, up to its `reqq` and ours (one while it
    /// is snubbed).
    pub(super) fn fill_requests(&mut self, peer: PeerKey, now: u64) {
        if self.awaiting_hashes() || self.unsupported.is_some() {
            return;
        }
        let Some(k) = self.known.as_mut() else { return };
        let Some(p) = self.peers.get_mut(&peer) else { return };
        if p.peer_choking || !p.am_interested {
            return;
        }
        let Some(theirs) = p.has.as_ref() else { return };
        let reqq = p.ext.as_ref().and_then(|e| e.reqq).map_or(usize::MAX, |q| usize::try_from(q.max(1)).unwrap_or(usize::MAX));
        let limit = if p.snubbed { 1 } else { self.config.max_requests_per_peer.min(reqq) };
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
        self.transmit(peer, data);
    }
}
