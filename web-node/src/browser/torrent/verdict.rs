//! The end of a download: the whole file is hashed once more and
//! [`crate::file_check::check`] gives the verdict. A verified file is announced complete
//! and seeded (or stopped); a file that is not the CID asked for is never seeded, saved or
//! paid for, and its pieces are left only for the next root's download to check and keep
//! ([`super::TorrentOptions::keep_from`]). Also who delivered what, kept across reloads.

use sha2::{Digest, Sha256};
use wasm_bindgen_futures::spawn_local;

use super::{now_ms, Torrent, TransferState, FAILED_MARK};
use crate::browser::piece_store::{delete_torrent, OpfsTorrent, PieceStore};
use crate::file_check::Verdict;

impl Torrent {
    /// The whole-file verdict, once the check is done; `None` if the torrent stops first.
    pub async fn verdict(&self) -> Option<Verdict> {
        let rx = {
            let mut inner = self.0.borrow_mut();
            if inner.verdict.is_some() || inner.stopped {
                return inner.verdict.clone();
            }
            let (tx, rx) = futures::channel::oneshot::channel();
            inner.verdict_waiters.push(tx);
            rx
        };
        rx.await.ok().flatten()
    }

    /// Every piece is stored: hash the whole file once more and ask
    /// [`crate::file_check::check`] for the verdict. Verified: tell the trackers, keep or
    /// stop seeding. Failed (not the CID asked for): no "completed" announce, every peer,
    /// tracker and the bridge closed (nothing is seeded, nothing published), no plan, no
    /// Blob; the pieces are marked failed in storage (never resumed) and kept only for the
    /// next root to check ([`TorrentOptions::keep_from`]), which deletes them.
    pub(super) fn finish(&self) {
        {
            let mut inner = self.0.borrow_mut();
            if inner.finishing || inner.sha256.is_some() {
                return;
            }
            inner.finishing = true;
            inner.state = TransferState::Verifying;
        }
        let this = self.clone();
        spawn_local(async move {
            let (store, info, have, chosen) = {
                let inner = this.0.borrow();
                (inner.store.clone(), inner.swarm.info().cloned(), inner.swarm.have().cloned(), inner.chosen.clone())
            };
            let (Some(store), Some(info), Some(have)) = (store, info, have) else { return };
            // The whole torrent's SHA-256 when every piece is here (a single file: always);
            // a folder's chosen files each get their own.
            let whole = have.is_full();
            let mut hasher = Sha256::new();
            let mut files = super::folder::FileHashes::new(&info, chosen.as_deref());
            let mut failure = None;
            for index in 0..info.pieces() {
                if !whole && !(have.get(index) && files.as_ref().is_some_and(|f| f.needs(index))) {
                    continue;
                }
                match store.read_piece(index, info.piece_len(index)).await {
                    Ok(data) => {
                        if whole {
                            hasher.update(&data);
                        }
                        if let Some(f) = files.as_mut() {
                            f.feed(index, &data);
                        }
                        this.0.borrow_mut().verified_bytes += data.len() as u64;
                    }
                    Err(e) => {
                        failure = Some(format!("piece {index} cannot be read back: {e}"));
                        break;
                    }
                }
            }
            let digest: Option<[u8; 32]> = whole.then(|| hasher.finalize().into());
            let mut inner = this.0.borrow_mut();
            if let Some(e) = failure {
                inner.state = TransferState::Error;
                inner.error = Some(e);
                return;
            }
            if !inner.swarm.is_complete() {
                // The choice of files widened while this ran: back to downloading; the next
                // completion hashes again.
                inner.state = TransferState::Downloading;
                inner.finishing = false;
                return;
            }
            inner.file_sha256 = files.map(super::folder::FileHashes::finish).unwrap_or_default();
            // Only part of a folder: its pieces were each checked against the infohash's
            // SHA-1s, and there is no whole-file CID to hold it to.
            let verdict = match &digest {
                Some(d) => crate::file_check::check(inner.options.cid.as_deref(), d),
                None => Verdict::Verified { cid: hex::encode(inner.options.info_hash) },
            };
            inner.sha256 = digest.map(hex::encode);
            inner.verdict = Some(verdict.clone());
            if let Some(reason) = verdict.failure() {
                inner.state = TransferState::Error;
                inner.error = Some(reason);
                drop(inner);
                if let PieceStore::Opfs(t) = &store {
                    if let Err(e) = t.write(FAILED_MARK, b"the whole file is not the CID asked for").await {
                        tracing::warn!("cannot mark the failed download: {e}");
                    }
                }
                this.stop();
                this.publish();
                return;
            }
            let waiters: Vec<_> = inner.verdict_waiters.drain(..).collect();
            for waiter in waiters {
                let _ = waiter.send(Some(verdict.clone()));
            }
            if inner.state == TransferState::Verifying {
                inner.state = if inner.options.auto_seed { TransferState::Seeding } else { TransferState::Complete };
            }
            // Only part of a folder: not "completed" to the trackers, and kept running so
            // the choice can still widen.
            let stop = inner.state == TransferState::Complete && whole;
            drop(inner);
            if whole {
                let stats = this.announce_stats();
                this.signal(|s, now| s.handle_completed(stats, now));
            }
            if stop {
                this.stop();
            }
            this.save_deliveries();
            this.publish();
        });
    }

    /// Offers the pieces a failed root's download left behind ([`TorrentOptions::keep_from`])
    /// to the swarm, once it knows the info dict and the chunk hash list: it keeps those
    /// that match both. Then the failed download's storage is deleted and pieces are asked
    /// of peers. Runs once.
    pub(super) fn keep_checked_pieces(&self) {
        let (from, pieces) = {
            let mut inner = self.0.borrow_mut();
            let ready = inner.swarm.chunk_hashes().is_some() && inner.swarm.info().is_some();
            if !ready {
                return;
            }
            let Some(from) = inner.options.keep_from.take() else { return };
            let pieces: Vec<(u32, u32)> = inner.swarm.info().map(|i| (0..i.pieces()).map(|p| (p, i.piece_len(p))).collect()).unwrap_or_default();
            (from, pieces)
        };
        let this = self.clone();
        spawn_local(async move {
            let old_hex = hex::encode(from);
            match OpfsTorrent::open(&old_hex).await {
                Ok(old) => {
                    for (index, len) in pieces {
                        if this.0.borrow().stopped {
                            break;
                        }
                        let Ok(data) = old.read(&format!("p{index}")).await else { continue };
                        if data.len() as u64 != u64::from(len) {
                            continue;
                        }
                        let kept = this.0.borrow_mut().swarm.offer_kept_piece(index, data, now_ms() as u64);
                        if kept {
                            this.0.borrow_mut().kept_pieces += 1;
                            this.pump();
                        }
                    }
                }
                Err(e) => tracing::warn!("cannot open the failed download's pieces: {e}"),
            }
            if let Err(e) = delete_torrent(&old_hex).await {
                tracing::warn!("cannot delete the failed download's pieces: {e}");
            }
            let kept = this.0.borrow().kept_pieces;
            tracing::info!("kept {kept} pieces from the failed root's download");
            this.0.borrow_mut().swarm.set_download(true, now_ms() as u64);
            this.pump();
            this.publish();
        });
    }

    /// Who delivered what survives a reload, so seeders are paid for pieces kept from before.
    pub(super) fn save_deliveries(&self) {
        let (store, bytes) = {
            let mut inner = self.0.borrow_mut();
            if !inner.deliveries_dirty {
                return;
            }
            inner.deliveries_dirty = false;
            (inner.store.clone(), serde_json::to_vec(&inner.deliveries).unwrap_or_default())
        };
        if let Some(PieceStore::Opfs(t)) = store {
            spawn_local(async move {
                if let Err(e) = t.write("deliveries.json", &bytes).await {
                    tracing::warn!("cannot store deliveries: {e}");
                }
            });
        }
    }
}
