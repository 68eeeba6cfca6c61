//! The files the relay serves over eD2k, found by ed2k hash through the bridge (the
//! relay's own copies and files tabs offer). Before the first byte of a file leaves, its
//! hashset is computed from the bridge's verified pieces and must hash to the ed2k hash
//! claimed for it; a wrong claim serves nothing. Hashsets are kept (16 bytes a part).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use tokio::sync::OnceCell;
use web_node::ed2k::{hashset_root, Ed2kHasher};
use web_node::ed2k_wire::upload::ServedFile;

use crate::bridge::Bridge;

/// Pieces fetched at once while hashing a file (in order).
const HASH_AHEAD: usize = 16;
/// Hashsets kept.
const MAX_HASHSETS: usize = 4096;

type Hashset = Result<Arc<Vec<[u8; 16]>>, String>;

pub struct Catalog {
    pub bridge: Bridge,
    hashsets: Mutex<HashMap<[u8; 16], Arc<OnceCell<Hashset>>>>,
}

impl Catalog {
    pub fn new(bridge: Bridge) -> Self {
        Self { bridge, hashsets: Mutex::default() }
    }

    /// The file with this ed2k hash, if the relay can serve it now.
    pub async fn lookup(&self, hash: [u8; 16]) -> Option<(ServedFile, String, u32)> {
        let cid = self.bridge.ed2k_cid(&hash)?;
        let info = tokio::time::timeout(std::time::Duration::from_secs(15), self.bridge.info(&cid)).await.ok().flatten()?;
        Some((ServedFile { hash, name: info.name, size: info.length }, cid, info.piece_length))
    }

    /// How many files are served (for a server's status).
    pub fn len(&self) -> usize {
        self.bridge.ed2k_files().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The verified hashset of `hash`: computed once from the file's verified pieces.
    pub async fn hashset(&self, hash: [u8; 16]) -> Hashset {
        let cell = {
            let mut sets = self.hashsets.lock().expect("hashsets lock");
            if sets.len() >= MAX_HASHSETS && !sets.contains_key(&hash) {
                sets.clear();
            }
            sets.entry(hash).or_default().clone()
        };
        let result = cell.get_or_init(|| self.compute(hash)).await.clone();
        if result.is_err() {
            // A failed attempt (a tab left, a lie) is not remembered forever.
            self.hashsets.lock().expect("hashsets lock").remove(&hash);
        }
        result
    }

    async fn compute(&self, hash: [u8; 16]) -> Hashset {
        let (file, cid, _) = self.lookup(hash).await.ok_or("the file is not offered any more")?;
        let info = self.bridge.info(&cid).await.ok_or("the file is not offered any more")?;
        let mut hasher = Ed2kHasher::new();
        let bridge = self.bridge.clone();
        let mut pieces = futures::stream::iter(0..info.pieces() as u64)
            .map(|i| {
                let (bridge, cid) = (bridge.clone(), cid.clone());
                async move { bridge.piece(&cid, i).await }
            })
            .buffered(HASH_AHEAD);
        let mut total = 0u64;
        while let Some(piece) = pieces.next().await {
            let piece = piece.map_err(|e| format!("reading the file for its hashset: {e:?}"))?;
            total += piece.len() as u64;
            hasher.update(&piece);
        }
        if total != file.size {
            return Err(format!("read {total} bytes of a {}-byte file", file.size));
        }
        let parts = hasher.finalize_hashset();
        if hashset_root(&parts) != hash {
            tracing::warn!(cid, "a file claimed ed2k {} but hashes to {}", hex::encode(hash), hex::encode(hashset_root(&parts)));
            return Err("the file's bytes do not hash to the ed2k hash claimed for it".into());
        }
        Ok(Arc::new(parts))
    }
}
