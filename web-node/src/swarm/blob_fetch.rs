//! A blob fetched from peers in 16 KiB pieces with BEP 9's three messages (request, data,
//! reject): the info dict over `ut_metadata` and the chunk hash list over `chiral_hashes`.
//! Pure bookkeeping, time as input.
//!
//! The blob's size is what one peer claims in its extended handshake; only peers that claim
//! the same size help assemble it. Every piece asked for has a deadline
//! ([`BLOB_REQUEST_TIMEOUT_MS`]); a peer that misses it, sends a piece that does not fit,
//! or vouched alone for a blob that failed its check is never asked for this blob again,
//! and an assembly that no remaining peer supports is dropped so another peer's claimed
//! size can be tried. So a peer that lies about the size, stays silent or trickles costs at
//! most one deadline, never the download. After a bad blob assembled from several peers the
//! next assembly asks one peer at a time, so the next bad blob names its sender.
//! All offsets are computed in `u64` (on wasm32 `usize` is 32 bits: a request for piece
//! 262,144 must not wrap to piece 0).

use std::collections::{BTreeMap, BTreeSet};

use super::PeerKey;
use crate::peer_wire::extension::{MetadataMessage, METADATA_PIECE};

/// A piece asked for and not answered within this long goes to another peer.
pub const BLOB_REQUEST_TIMEOUT_MS: u64 = 15_000;
const PIECE: u64 = METADATA_PIECE as u64;

#[derive(Debug)]
struct Assembly {
    size: u64,
    pieces: Vec<Option<Vec<u8>>>,
    /// Piece → the peer asked and when.
    asked: BTreeMap<u32, (PeerKey, u64)>,
    senders: BTreeSet<PeerKey>,
}

impl Assembly {
    fn expected_len(&self, piece: u32) -> Option<u64> {
        let start = u64::from(piece).checked_mul(PIECE)?;
        (start < self.size).then(|| (self.size - start).min(PIECE))
    }
}

/// What one data message did to the assembly.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Accepted {
    /// Kept; pieces are still missing.
    Partial,
    /// The last piece: the whole blob, and every peer that sent part of it.
    Complete { bytes: Vec<u8>, senders: Vec<PeerKey> },
    /// Unasked, from the wrong peer, or not the size the blob needs: the sender is excluded.
    Misfit,
}

#[derive(Debug)]
pub(crate) struct BlobFetch {
    /// The largest blob accepted, bytes.
    limit: u64,
    assembly: Option<Assembly>,
    /// Peers that failed this blob: never asked again.
    failed: BTreeSet<PeerKey>,
    /// Peers that rejected a request: asked again only after their next extended handshake.
    declined: BTreeSet<PeerKey>,
    single_source: bool,
}

impl BlobFetch {
    pub fn new(limit: u64) -> Self {
        Self { limit, assembly: None, failed: BTreeSet::new(), declined: BTreeSet::new(), single_source: false }
    }

    /// Pieces to ask `peer` for now, given the size it claims: those nobody has been asked
    /// for (all of them in single-source mode, when nobody else is being asked). Marks
    /// them asked at `now`.
    pub fn requests(&mut self, peer: PeerKey, size: u64, now: u64) -> Vec<u32> {
        if size == 0 || size > self.limit || self.failed.contains(&peer) || self.declined.contains(&peer) {
            return Vec::new();
        }
        let a = self.assembly.get_or_insert_with(|| Assembly {
            size,
            pieces: vec![None; usize::try_from(size.div_ceil(PIECE)).unwrap_or(0)],
            asked: BTreeMap::new(),
            senders: BTreeSet::new(),
        });
        if a.size != size || (self.single_source && a.asked.values().any(|(p, _)| *p != peer)) {
            return Vec::new();
        }
        let wanted: Vec<u32> =
            (0..a.pieces.len() as u32).filter(|i| a.pieces[*i as usize].is_none() && !a.asked.contains_key(i)).collect();
        for piece in &wanted {
            a.asked.insert(*piece, (peer, now));
        }
        wanted
    }

    /// A data message from `peer`.
    pub fn on_data(&mut self, peer: PeerKey, piece: u32, total_size: u64, data: &[u8]) -> Accepted {
        let Some(a) = self.assembly.as_mut() else { return Accepted::Misfit };
        let fits = a.asked.get(&piece).is_some_and(|(p, _)| *p == peer)
            && total_size == a.size
            && a.expected_len(piece) == Some(data.len() as u64);
        if !fits {
            self.fail(peer);
            return Accepted::Misfit;
        }
        a.asked.remove(&piece);
        a.pieces[piece as usize] = Some(data.to_vec());
        a.senders.insert(peer);
        if a.pieces.iter().any(Option::is_none) {
            return Accepted::Partial;
        }
        let a = self.assembly.take().expect("assembling");
        Accepted::Complete { bytes: a.pieces.into_iter().flatten().flatten().collect(), senders: a.senders.into_iter().collect() }
    }

    /// `peer` does not have the blob (yet).
    pub fn on_reject(&mut self, peer: PeerKey, piece: u32) {
        if let Some(a) = self.assembly.as_mut() {
            if a.asked.get(&piece).is_some_and(|(p, _)| *p == peer) {
                a.asked.remove(&piece);
            }
        }
        self.declined.insert(peer);
    }

    /// `peer` sent a new extended handshake: it may have the blob now.
    pub fn on_handshake(&mut self, peer: PeerKey) {
        self.declined.remove(&peer);
    }

    /// The assembled blob failed its check (infohash, Merkle root). A sole sender is
    /// excluded; when several sent parts, each is suspect and the next try asks one peer.
    /// Returns the sole sender, if there was one.
    pub fn bad_blob(&mut self, senders: &[PeerKey]) -> Option<PeerKey> {
        self.assembly = None;
        match senders {
            [sole] => {
                self.failed.insert(*sole);
                Some(*sole)
            }
            _ => {
                self.single_source = true;
                None
            }
        }
    }

    /// `peer` is gone: its pieces are free for others.
    pub fn release(&mut self, peer: PeerKey) {
        if let Some(a) = self.assembly.as_mut() {
            a.asked.retain(|_, (p, _)| *p != peer);
            a.senders.remove(&peer);
        }
        self.failed.remove(&peer);
        self.declined.remove(&peer);
    }

    /// Peers whose pieces missed their deadline: excluded, their pieces freed.
    pub fn expire(&mut self, now: u64) -> Vec<PeerKey> {
        let Some(a) = self.assembly.as_mut() else { return Vec::new() };
        let late: BTreeSet<PeerKey> =
            a.asked.values().filter(|(_, at)| now.saturating_sub(*at) >= BLOB_REQUEST_TIMEOUT_MS).map(|(p, _)| *p).collect();
        for peer in &late {
            self.fail(*peer);
        }
        late.into_iter().collect()
    }

    /// Drops the assembly when no peer that could still help claims its size, so that
    /// another claimed size is tried. `claims`: connected peers and the sizes they claim.
    pub fn drop_unsupported(&mut self, claims: impl IntoIterator<Item = (PeerKey, u64)>) {
        let Some(size) = self.assembly.as_ref().map(|a| a.size) else { return };
        let supported = claims.into_iter().any(|(p, s)| s == size && !self.failed.contains(&p));
        if !supported {
            self.assembly = None;
        }
    }

    /// When a piece asked for runs out of time.
    pub fn next_deadline(&self) -> Option<u64> {
        self.assembly.as_ref()?.asked.values().map(|(_, at)| at + BLOB_REQUEST_TIMEOUT_MS).min()
    }

    /// Nothing asked of `peer` is outstanding (test and stats helper).
    pub fn asked_of(&self, peer: PeerKey) -> usize {
        self.assembly.as_ref().map_or(0, |a| a.asked.values().filter(|(p, _)| *p == peer).count())
    }

    /// The blob is known by other means: stop fetching it.
    pub fn finish(&mut self) {
        self.assembly = None;
    }

    fn fail(&mut self, peer: PeerKey) {
        self.failed.insert(peer);
        if let Some(a) = self.assembly.as_mut() {
            a.asked.retain(|_, (p, _)| *p != peer);
        }
    }
}

/// The answer to a request for `piece` of `blob` (`None`: we do not have it): its data,
/// or a reject for a piece past the end. Offsets in `u64`, so no piece number wraps.
pub(crate) fn reply(blob: Option<&[u8]>, piece: u32) -> Vec<u8> {
    let Some(b) = blob else { return MetadataMessage::Reject { piece }.encode() };
    let start = u64::from(piece) * PIECE;
    if start >= b.len() as u64 {
        return MetadataMessage::Reject { piece }.encode();
    }
    let start = start as usize; // < b.len(), so it fits
    let end = (start + METADATA_PIECE).min(b.len());
    MetadataMessage::Data { piece, total_size: b.len() as u64, data: &b[start..end] }.encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: PeerKey = PeerKey(1);
    const B: PeerKey = PeerKey(2);

    #[test]
    fn pieces_are_asked_once_and_assembled_in_order() {
        let mut f = BlobFetch::new(1 << 20);
        let size = 2 * PIECE + 10;
        assert_eq!(f.requests(A, size, 0), vec![0, 1, 2]);
        assert!(f.requests(B, size, 0).is_empty(), "all asked already");
        assert_eq!(f.on_data(A, 1, size, &[1; METADATA_PIECE]), Accepted::Partial);
        assert_eq!(f.on_data(A, 2, size, &[2; 10]), Accepted::Partial);
        let Accepted::Complete { bytes, senders } = f.on_data(A, 0, size, &[0; METADATA_PIECE]) else { panic!() };
        assert_eq!(bytes.len() as u64, size);
        assert_eq!((bytes[0], bytes[METADATA_PIECE], bytes[2 * METADATA_PIECE]), (0, 1, 2));
        assert_eq!(senders, vec![A]);
    }

    #[test]
    fn a_silent_peer_misses_its_deadline_and_a_size_liar_is_passed_over() {
        let mut f = BlobFetch::new(1 << 20);
        // A claims a size nobody else claims, then says nothing.
        assert_eq!(f.requests(A, 100, 0), vec![0]);
        assert!(f.requests(B, 5_000, 0).is_empty(), "B disagrees on the size");
        assert_eq!(f.next_deadline(), Some(BLOB_REQUEST_TIMEOUT_MS));
        assert!(f.expire(BLOB_REQUEST_TIMEOUT_MS - 1).is_empty());
        assert_eq!(f.expire(BLOB_REQUEST_TIMEOUT_MS), vec![A]);
        f.drop_unsupported([(A, 100), (B, 5_000)]);
        assert_eq!(f.requests(B, 5_000, 20_000), vec![0], "B's size is tried next");
        assert!(f.requests(A, 5_000, 20_000).is_empty(), "A is never asked again");
    }

    #[test]
    fn misfits_exclude_their_sender() {
        let mut f = BlobFetch::new(1 << 20);
        f.requests(A, 100, 0);
        assert_eq!(f.on_data(B, 0, 100, &[0; 100]), Accepted::Misfit, "not asked of B");
        assert_eq!(f.on_data(A, 0, 101, &[0; 100]), Accepted::Misfit, "wrong total size");
        assert!(f.requests(A, 100, 1).is_empty());
    }

    #[test]
    fn a_bad_blob_from_several_peers_is_refetched_from_one() {
        let mut f = BlobFetch::new(1 << 20);
        let size = 2 * PIECE;
        assert_eq!(f.requests(A, size, 0), vec![0, 1]);
        f.on_reject(A, 1);
        assert_eq!(f.requests(B, size, 0), vec![1]);
        f.on_data(A, 0, size, &[0; METADATA_PIECE]);
        let Accepted::Complete { senders, .. } = f.on_data(B, 1, size, &[1; METADATA_PIECE]) else { panic!() };
        assert_eq!(f.bad_blob(&senders), None, "nobody singled out");
        f.on_handshake(A);
        assert_eq!(f.requests(A, size, 1), vec![0, 1], "one peer gets every piece");
        assert!(f.requests(B, size, 1).is_empty());
    }

    #[test]
    fn replies_never_wrap_piece_numbers() {
        let blob = vec![7u8; 3 * METADATA_PIECE];
        // 262,144 × 16 KiB = 2^32: on a 32-bit usize this used to wrap to piece 0.
        assert_eq!(reply(Some(&blob), 262_144), MetadataMessage::Reject { piece: 262_144 }.encode());
        assert_eq!(reply(Some(&blob), u32::MAX), MetadataMessage::Reject { piece: u32::MAX }.encode());
        assert_eq!(reply(None, 0), MetadataMessage::Reject { piece: 0 }.encode());
        assert!(matches!(MetadataMessage::parse(&reply(Some(&blob), 2)), Ok(MetadataMessage::Data { piece: 2, .. })));
        let mut f = BlobFetch::new(1 << 20);
        assert!(f.requests(A, (1 << 20) + 1, 0).is_empty(), "over the limit: not fetched");
        f.requests(A, 100, 0);
        assert_eq!(f.on_data(A, u32::MAX, 100, &[]), Accepted::Misfit);
    }
}
