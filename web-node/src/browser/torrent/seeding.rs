//! Seeding what the user chose: one file (its info dict from ingest) or a folder shared as
//! one torrent ([`crate::folder_share`]), read straight from the chosen files.

use std::collections::BTreeSet;
use std::rc::Rc;

use sha1::Digest as _;

use super::{bridge_url, our_peer_id, Snapshot, Torrent, TorrentError, TorrentOptions, TransferState};
use crate::browser::piece_store::PieceStore;
use crate::file_check::Verdict;
use crate::peer_wire::Bitfield;
use crate::swarm::{Swarm, SwarmConfig};
use crate::tracker::Id20;

impl Torrent {
    /// Seeds a file the user chose (its info dict computed by ingest).
    pub fn seed(
        file: web_sys::File,
        info_bytes: Vec<u8>,
        chunk_hashes: Vec<[u8; 32]>,
        trackers: Vec<String>,
        pay_to: Option<crate::settlement::PayTo>,
        cid: Option<String>,
        ed2k: Option<[u8; 16]>,
        on_update: impl Fn(Snapshot) + 'static,
    ) -> Result<Self, TorrentError> {
        let info = crate::peer_wire::extension::TorrentInfo::parse(&info_bytes)?;
        let store = PieceStore::UserFile { file, piece_length: info.piece_length };
        Self::seed_store(store, info_bytes, Some(chunk_hashes), trackers, pay_to, cid, ed2k, Rc::new(on_update))
    }

    /// Seeds a folder the user chose as one torrent ([`crate::folder_share`]): `files` holds
    /// the chosen files in the order of the info dict's `files`, `None` for padding.
    /// `file_sha256`: each entry's SHA-256 (its CID), hex, `None` for padding.
    pub fn seed_folder(
        files: Vec<Option<web_sys::File>>,
        file_sha256: Vec<Option<String>>,
        info_bytes: Vec<u8>,
        trackers: Vec<String>,
        pay_to: Option<crate::settlement::PayTo>,
        on_update: impl Fn(Snapshot) + 'static,
    ) -> Result<Self, TorrentError> {
        let info = crate::peer_wire::extension::TorrentInfo::parse(&info_bytes)?;
        if files.len() != info.files.len() {
            return Err(TorrentError::NoStorage);
        }
        let store = PieceStore::UserFolder { files: Rc::new(files), info: Rc::new(info) };
        let t = Self::seed_store(store, info_bytes, None, trackers, pay_to, None, None, Rc::new(on_update))?;
        t.0.borrow_mut().file_sha256 = file_sha256;
        t.publish();
        Ok(t)
    }

    fn seed_store(
        store: PieceStore,
        info_bytes: Vec<u8>,
        chunk_hashes: Option<Vec<[u8; 32]>>,
        trackers: Vec<String>,
        pay_to: Option<crate::settlement::PayTo>,
        cid: Option<String>,
        ed2k: Option<[u8; 16]>,
        on_update: Rc<dyn Fn(Snapshot)>,
    ) -> Result<Self, TorrentError> {
        let info = crate::peer_wire::extension::TorrentInfo::parse(&info_bytes)?;
        let info_hash: Id20 = sha1::Sha1::digest(&info_bytes).into();
        let peer_id = our_peer_id();
        let mut config = SwarmConfig::new(info_hash, peer_id);
        config.pay_to = pay_to;
        config.sell = crate::browser::channels::sell_offer(pay_to);
        config.folders = true;
        let mut swarm = Swarm::with_info(config, info_bytes, Some(Bitfield::full(info.pieces())))?;
        if let Some(hashes) = chunk_hashes {
            swarm.set_chunk_hashes(hashes);
        }
        // eD2k has no payment: a priced file is not offered to it.
        let ed2k = ed2k.filter(|_| pay_to.is_none());
        let bridge = bridge_url(&info_hash, cid.as_deref(), ed2k.as_ref(), &[], &[]);
        // Our own file: its CID was computed from it (a folder is named by its infohash).
        let verdict = Verdict::Verified { cid: cid.clone().unwrap_or_else(|| hex::encode(info_hash)) };
        let options = TorrentOptions {
            info_hash,
            name: Some(info.name.clone()),
            trackers,
            cid,
            auto_seed: true,
            pay_to,
            bridge,
            merkle_root: None,
            excluded_wallets: BTreeSet::new(),
            keep_from: None,
            peers: Vec::new(),
            select_only: None,
        };
        let t = Self::new(swarm, Some(store), options, peer_id, TransferState::Seeding, on_update);
        t.0.borrow_mut().verdict = Some(verdict);
        t.start();
        Ok(t)
    }
}
