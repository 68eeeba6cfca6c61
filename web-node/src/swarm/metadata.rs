//! The two blobs a swarm fetches from peers before (or beside) pieces, both over BEP 9's
//! messages and both assembled by [`super::blob_fetch::BlobFetch`]: the info dict
//! (`ut_metadata`, checked against the infohash) and the chunk SHA-256 list
//! (`chiral_hashes`, checked against the Merkle root from a signed DHT record, or, in a
//! relay bridge that has no root, kept only to be served on). We answer both kinds of
//! request from what we hold.

use sha1::{Digest as _, Sha1};

use super::blob_fetch::{reply, Accepted, BlobFetch};
use super::{Bitfield, Event, PeerKey, Swarm};
use crate::peer_wire::extension::{ExtendedHandshake, InfoError, MetadataMessage, TorrentInfo};
use crate::peer_wire::Message;

/// Which blob a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blob {
    Metadata,
    Hashes,
}

impl Swarm {
    fn fetch(&mut self, blob: Blob) -> &mut BlobFetch {
        match blob {
            Blob::Metadata => &mut self.metadata,
            Blob::Hashes => &mut self.hashes,
        }
    }

    pub(super) fn request_blobs_everywhere(&mut self, now: u64) {
        for key in self.keys() {
            self.request_metadata(key, now);
            self.request_hashes(key, now);
        }
    }

    pub(super) fn request_hashes_everywhere(&mut self, now: u64) {
        for key in self.keys() {
            self.request_hashes(key, now);
        }
    }

    /// Asks `peer` for the info dict pieces nobody else has been asked for.
    pub(super) fn request_metadata(&mut self, peer: PeerKey, now: u64) {
        if self.known.is_some() || self.unsupported.is_some() {
            return;
        }
        let Some(ext) = self.peers.get(&peer).and_then(|p| p.ext.as_ref()) else { return };
        let (Some(id), Some(size)) = (ext.ut_metadata_id(), ext.metadata_size) else { return };
        self.send_blob_requests(Blob::Metadata, peer, id, size, now);
    }

    /// Asks `peer` for the chunk hash list pieces nobody else has been asked for.
    pub(super) fn request_hashes(&mut self, peer: PeerKey, now: u64) {
        let forwarding = self.config.forward_chunk_hashes && self.hash_list.is_none();
        if !self.awaiting_hashes() && !forwarding {
            return;
        }
        let Some(ext) = self.peers.get(&peer).and_then(|p| p.ext.as_ref()) else { return };
        let (Some(id), Some(size)) = (ext.chiral_hashes_id(), ext.hashes_size) else { return };
        let fits_info = self.known.as_ref().is_none_or(|k| size == u64::from(k.info.pieces()) * 32);
        if size % 32 != 0 || !fits_info {
            return;
        }
        self.send_blob_requests(Blob::Hashes, peer, id, size, now);
    }

    fn send_blob_requests(&mut self, blob: Blob, peer: PeerKey, id: u8, size: u64, now: u64) {
        for piece in self.fetch(blob).requests(peer, size, now) {
            let payload = MetadataMessage::Request { piece }.encode();
            self.send(peer, &Message::Extended { id, payload: &payload }, now);
        }
    }

    /// Blob pieces past their deadline: their peers are passed over, and an assembly no
    /// remaining peer supports makes way for another peer's claimed size.
    pub(super) fn expire_blobs(&mut self, now: u64) {
        let late = self.metadata.expire(now).len() + self.hashes.expire(now).len();
        if late == 0 {
            return;
        }
        let claims = |size: fn(&ExtendedHandshake) -> Option<u64>| -> Vec<(PeerKey, u64)> {
            self.peers.iter().filter_map(|(k, p)| Some((*k, size(p.ext.as_ref()?)?))).collect()
        };
        let (m, h) = (claims(|e| e.metadata_size), claims(|e| e.hashes_size));
        self.metadata.drop_unsupported(m);
        self.hashes.drop_unsupported(h);
        self.request_blobs_everywhere(now);
    }

    pub(super) fn on_metadata(&mut self, peer: PeerKey, m: MetadataMessage<'_>, now: u64) {
        self.on_blob_message(Blob::Metadata, peer, m, now);
    }

    pub(super) fn on_hashes(&mut self, peer: PeerKey, m: MetadataMessage<'_>, now: u64) {
        self.on_blob_message(Blob::Hashes, peer, m, now);
    }

    fn on_blob_message(&mut self, blob: Blob, peer: PeerKey, m: MetadataMessage<'_>, now: u64) {
        match m {
            MetadataMessage::Request { piece } => {
                let ext = self.peers[&peer].ext.as_ref();
                let (id, ours) = match blob {
                    Blob::Metadata => (ext.and_then(ExtendedHandshake::ut_metadata_id), self.known.as_ref().map(|k| &k.info_bytes[..])),
                    Blob::Hashes => (ext.and_then(ExtendedHandshake::chiral_hashes_id), self.hash_list.as_deref()),
                };
                let Some(id) = id else { return };
                let answer = reply(ours, piece);
                self.send(peer, &Message::Extended { id, payload: &answer }, now);
            }
            MetadataMessage::Reject { piece } => {
                self.fetch(blob).on_reject(peer, piece);
                self.request_blobs_everywhere(now);
            }
            MetadataMessage::Data { piece, total_size, data } => match self.fetch(blob).on_data(peer, piece, total_size, data) {
                Accepted::Partial => {}
                Accepted::Misfit => {
                    self.drop_peer(peer, format!("{} piece {piece} does not fit what was asked", blob.name()), now);
                }
                Accepted::Complete { bytes, senders } => match blob {
                    Blob::Metadata => self.on_metadata_assembled(senders, bytes, now),
                    Blob::Hashes => self.on_hashes_assembled(senders, bytes, now),
                },
            },
        }
    }

    /// A bad blob: a sole sender is dropped (it lied); otherwise the next try asks one
    /// peer at a time. Either way the fetch goes on with the peers that remain.
    fn bad_blob(&mut self, blob: Blob, senders: &[PeerKey], reason: &str, now: u64) {
        if let Some(liar) = self.fetch(blob).bad_blob(senders) {
            self.drop_peer(liar, reason, now);
        }
        self.request_blobs_everywhere(now);
    }

    fn on_metadata_assembled(&mut self, senders: Vec<PeerKey>, bytes: Vec<u8>, now: u64) {
        let hash: [u8; 20] = Sha1::digest(&bytes).into();
        if hash != self.config.info_hash {
            self.bad_blob(Blob::Metadata, &senders, "metadata does not match the infohash", now);
            return;
        }
        let folders = self.config.folders;
        let parsed = TorrentInfo::parse(&bytes).and_then(|info| if folders || info.is_single_file() { Ok(info) } else { Err(InfoError::MultiFile) });
        let info = match parsed {
            Ok(info) => info,
            Err(e) => {
                // The infohash matches, so the torrent itself is of a kind we refuse: say so
                // at once rather than wait for pieces that will never be asked for.
                let reason = format!("cannot download this torrent: {e}");
                self.unsupported = Some(reason.clone());
                self.metadata.finish();
                self.event(Event::Unsupported { reason: reason.clone() });
                for key in self.keys() {
                    self.drop_peer(key, reason.clone(), now);
                }
                return;
            }
        };
        let pieces = info.pieces();
        self.set_known(info.clone(), bytes.clone(), Bitfield::new(pieces));
        self.event(Event::MetadataReady { info, info_bytes: bytes });
        self.resend_extended_handshakes(now);
        for key in self.keys() {
            let Some(p) = self.peers.get_mut(&key) else { continue };
            let bits = p.early_bitfield.take();
            let haves = std::mem::take(&mut p.early_haves);
            if std::mem::take(&mut p.early_have_all) {
                self.on_bitfield(key, Bitfield::full(pieces).as_bytes(), now);
            } else if let Some(bits) = bits {
                self.on_bitfield(key, &bits, now);
            }
            for index in haves {
                if self.peers.contains_key(&key) {
                    self.on_have(key, index, now);
                }
            }
        }
        self.request_hashes_everywhere(now);
    }

    fn on_hashes_assembled(&mut self, senders: Vec<PeerKey>, bytes: Vec<u8>, now: u64) {
        let hashes: Vec<[u8; 32]> = bytes.chunks_exact(32).map(|c| c.try_into().expect("32-byte chunk")).collect();
        let fits_info = self.known.as_ref().is_none_or(|k| hashes.len() == k.info.pieces() as usize);
        let Some(root) = self.expected_root else {
            if fits_info {
                // Forwarding: kept only to serve; whoever fetches it from us checks it.
                self.hash_list = Some(bytes);
                self.resend_extended_handshakes(now);
            }
            return;
        };
        if crate::merkle::merkle_root(&hashes) != root || !fits_info {
            self.bad_blob(Blob::Hashes, &senders, "chunk hash list does not match the file's Merkle root", now);
            return;
        }
        self.set_chunk_hashes(hashes.clone());
        self.event(Event::ChunkHashesReady { hashes });
        self.resend_extended_handshakes(now);
        self.fill_all(now);
    }
}

impl Blob {
    fn name(self) -> &'static str {
        match self {
            Blob::Metadata => "ut_metadata",
            Blob::Hashes => "chiral_hashes",
        }
    }
}
