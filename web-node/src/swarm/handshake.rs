//! The opening of a connection: the BitTorrent handshake (BEP 3; who speaks first, what
//! is refused: another torrent, ourselves, a banned peer id, a second connection to the
//! same peer), our piece state right after it (bitfield, or BEP 6 have-all/have-none), and
//! the BEP 10 extended handshake, sent again whenever what we can serve changes.

use super::{Event, PeerKey, Swarm, OUR_REQQ};
use crate::peer_wire::extension::{ExtendedHandshake, CHIRAL_HASHES, OUR_CHIRAL_HASHES_ID, OUR_UT_METADATA_ID, UT_METADATA};
use crate::pay::wire::{CHIRAL_PAY, OUR_CHIRAL_PAY_ID};
use crate::peer_wire::{Handshake, Message, HANDSHAKE_LEN};

impl Swarm {
    pub(super) fn send_handshake(&mut self, peer: PeerKey, now: u64) {
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
        self.transmit(peer, data);
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

    pub(super) fn on_handshake(&mut self, peer: PeerKey, hs: Handshake, now: u64) -> bool {
        if hs.info_hash != self.config.info_hash {
            self.drop_peer(peer, "handshake names another torrent", now);
            return false;
        }
        if hs.peer_id == self.config.peer_id {
            self.drop_peer(peer, "connected to ourselves", now);
            return false;
        }
        if self.bans.is_banned(&hs.peer_id) {
            self.drop_peer(peer, "banned: sent corrupt data earlier", now);
            return false;
        }
        if self.avoided.contains(&hs.peer_id) {
            self.drop_peer(peer, "avoided: sent corrupt data earlier", now);
            return false;
        }
        let duplicate = self.peers.iter().any(|(k, p)| *k != peer && p.peer_id() == Some(hs.peer_id));
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
            self.transmit(peer, data);
        }
        if hs.supports_extensions() {
            self.send_extended_handshake(peer, now);
        }
        true
    }

    /// BEP 10 handshake; sent again when we learn the metadata, so peers that wait for it
    /// (magnet downloads behind us, as through a relay bridge) can ask us for it.
    pub(super) fn send_extended_handshake(&mut self, peer: PeerKey, now: u64) {
        let pays = self.config.sell.is_some() || self.config.buy;
        let ext = ExtendedHandshake {
            extensions: [(UT_METADATA.to_string(), OUR_UT_METADATA_ID), (CHIRAL_HASHES.to_string(), OUR_CHIRAL_HASHES_ID)]
                .into_iter()
                .chain(pays.then(|| (CHIRAL_PAY.to_string(), OUR_CHIRAL_PAY_ID)))
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

    /// Tells connected peers what we can serve now.
    pub(super) fn resend_extended_handshakes(&mut self, now: u64) {
        for key in self.keys() {
            if self.peers[&key].handshake.is_some_and(|h| h.supports_extensions()) {
                self.send_extended_handshake(key, now);
            }
        }
    }
}
