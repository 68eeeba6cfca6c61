//! What the swarm asks of its driver ([`Output`]): bytes to send on a connection, or an
//! [`Event`] to act on (store a piece, read one, drop a peer, Style 2's chain and key work).

use super::PeerKey;
use crate::peer_wire::extension::TorrentInfo;
use crate::peer_wire::Id20;

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
    /// The torrent cannot be downloaded here (its info dict matches the infohash but is of
    /// a kind we refuse: unsafe names, sizes past our limits). Final: every peer is dropped.
    Unsupported { reason: String },
    /// Style 2, buyer: `peer` sells on these terms; answer with
    /// [`Swarm::handle_channel_ready`] or [`Swarm::decline_channel`].
    ChannelNeeded { peer: PeerKey, terms: crate::pay::wire::Terms },
    /// Style 2, seller: read `channel` on chain; answer with [`Swarm::handle_channel_checked`].
    CheckChannel { peer: PeerKey, channel: [u8; 32], terms: crate::pay::wire::Terms },
    /// Style 2, buyer: persist, then sign `amount_wei` (cumulative) on `channel` and give it
    /// to [`Swarm::send_voucher`].
    VoucherDue { peer: PeerKey, channel: [u8; 32], amount_wei: u128, terms: crate::pay::wire::Terms },
    /// Style 2, seller: a valid voucher, the new highest on `channel`: keep it to close with,
    /// and `served_bytes`, the piece bytes served on the channel in all (all connections).
    VoucherReceived { peer: PeerKey, channel: [u8; 32], amount_wei: u128, signature: [u8; 65], served_bytes: u64 },
    /// Style 2, seller: the connection paying through `channel` is gone, having brought the
    /// bytes served on the channel to `served_bytes`; the channel may pay another one now.
    ChannelReleased { peer: PeerKey, channel: [u8; 32], served_bytes: u64 },
    /// Style 2: the peer refused to pay or to be paid on this connection.
    PayRefused { peer: PeerKey, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Transmit { peer: PeerKey, data: Vec<u8> },
    Event(Event),
}
