//! Downloading a CID root by root: the thin driver around
//! [`crate::root_candidates::RootCandidates`]. It starts a [`Torrent`] for the best claim,
//! waits for its whole-file verdict, and when the file is not the CID, rejects that root
//! (its records dropped, their wallets excluded from payment) and starts the next claim,
//! handing it the failed download's pieces to check and keep.

use super::piece_store::StoreError;
use super::torrent::{Torrent, TorrentError, TorrentOptions};
use crate::file_check::Verdict;
use crate::root_candidates::{Candidate, RootCandidates};
use crate::tracker::Id20;

/// Why a CID download stopped early.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidDownloadError {
    /// A claim's torrent could not start.
    #[error(transparent)]
    Torrent(#[from] TorrentError),
    /// The failed root's pieces could not be deleted.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a CID download ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidOutcome {
    /// The file under this root is the CID.
    Verified { merkle_root: [u8; 32] },
    /// Every claim the DHT offered failed (or there was none).
    NoGoodRoot { rejected: usize },
    /// A torrent stopped before its verdict (the user removed it), or was already running.
    Stopped,
}

/// Downloads `candidates.cid()` trying one claim after another. `options_for` makes a
/// claim's torrent options (trackers, sources, wallet; the CID, root, excluded wallets and
/// pieces to keep are filled in here); `started` is told of every torrent started;
/// `running` says whether a torrent for that infohash already runs in this tab (then
/// nothing is started for it).
pub async fn download_cid(
    mut candidates: RootCandidates,
    options_for: impl Fn(&Candidate) -> TorrentOptions,
    running: impl Fn(&Id20) -> bool,
    started: impl Fn(Torrent),
    on_update: impl Fn(super::torrent::Snapshot) + Clone + 'static,
) -> Result<CidOutcome, CidDownloadError> {
    let mut keep_from: Option<Id20> = None;
    let mut rejected = 0;
    while let Some(candidate) = candidates.next().cloned() {
        if running(&candidate.info_hash) {
            return Ok(CidOutcome::Stopped);
        }
        let mut options = options_for(&candidate);
        options.info_hash = candidate.info_hash;
        options.cid = Some(candidates.cid().to_string());
        options.merkle_root = Some(candidate.merkle_root);
        options.excluded_wallets = candidates.excluded_wallets().clone();
        options.keep_from = keep_from.take();
        let torrent = Torrent::download(options, on_update.clone()).await?;
        started(torrent.clone());
        match torrent.verdict().await {
            Some(Verdict::Verified { .. }) => return Ok(CidOutcome::Verified { merkle_root: candidate.merkle_root }),
            Some(Verdict::Failed { got, .. }) => {
                let r = candidates.reject(&candidate.merkle_root);
                rejected += r.candidates;
                tracing::warn!(
                    root = %hex::encode(candidate.merkle_root),
                    publishers = ?r.publishers,
                    "the file under this root hashes to {got}, not the CID: root dropped, its publishers not paid; {} claim(s) left",
                    candidates.remaining().len()
                );
                keep_from = Some(candidate.info_hash);
            }
            None => return Ok(CidOutcome::Stopped),
        }
    }
    if let Some(from) = keep_from {
        // Nobody left to check these pieces against: they go.
        super::piece_store::delete_torrent(&hex::encode(from)).await?;
    }
    Ok(CidOutcome::NoGoodRoot { rejected })
}
