//! Why a torrent could not start, be removed or be handed out.

use crate::browser::piece_store::StoreError;

/// Why a torrent could not start, be removed or be handed out.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TorrentError {
    /// The info dict does not parse.
    #[error(transparent)]
    Info(#[from] crate::peer_wire::extension::InfoError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{info_hash} failed its content check earlier; its pieces were deleted")]
    FailedEarlier { info_hash: String },
    #[error("the stored metadata is damaged: {0}")]
    BadMeta(String),
    #[error("bad stored infohash")]
    BadStoredInfoHash,
    /// The whole-file check failed, for this reason.
    #[error("{reason}")]
    FileFailed { reason: String },
    #[error("the whole file has not been checked yet")]
    NotCheckedYet,
    #[error("no storage")]
    NoStorage,
    /// A piece read for a peer does not hash to the info dict's SHA-1: the file changed on
    /// disk (or a stored piece was damaged); it is not served.
    #[error("piece {index} no longer matches the file that was shared: the file changed on disk")]
    StoredPieceChanged { index: u32 },
    /// The torrent was stopped or removed while a stream read from it.
    #[error("the download was stopped")]
    Stopped,
    #[error("the torrent has no file {index} to stream")]
    NoSuchFile { index: usize },
    /// A stream waited too long for `what` (a piece, the metadata): no peer delivered it.
    #[error("{what} did not arrive in time for playback")]
    StreamStalled { what: String },
}
