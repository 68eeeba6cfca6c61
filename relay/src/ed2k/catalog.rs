//! The files the relay serves over eD2k, found by ed2k hash through the bridge (the
//! relay's own copies and files tabs offer; several tabs may claim one hash). Before the
//! first byte of a file leaves, the hashset of the very CID it is read from is computed
//! from the bridge's verified pieces and must hash to the ed2k hash; a claim that does not
//! is remembered as false and skipped. Hashsets are kept (16 bytes a part).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use tokio::sync::OnceCell;
use web_node::ed2k::{hashset_root, Ed2kHasher};
use web_node::ed2k_wire::upload::ServedFile;

use crate::bridge::Bridge;

/// Pieces fetched at once while hashing a file (in order).
const HASH_AHEAD: usize = 16;
/// Hashsets (and false claims) kept.
const MAX_HASHSETS: usize = 4096;

type Hashset = Result<Arc<Vec<[u8; 16]>>, String>;

/// A served file: what eD2k peers see, and where its bytes come from.
#[derive(Debug, Clone)]
pub struct Found {
    pub file: ServedFile,
    pub cid: String,
    pub piece_length: u64,
}

pub struct Catalog {
    pub bridge: Bridge,
    hashsets: Mutex<HashMap<([u8; 16], String), Arc<OnceCell<Hashset>>>>,
}

impl Catalog {
    pub fn new(bridge: Bridge) -> Self {
        Self { bridge, hashsets: Mutex::default() }
    }

    fn known_false(&self, hash: [u8; 16], cid: &str) -> bool {
        let sets = self.hashsets.lock().expect("hashsets lock");
        sets.get(&(hash, cid.to_string())).and_then(|c| c.get()).is_some_and(|r| r.is_err())
    }

    /// The file with this ed2k hash, if the relay can serve it now: the first claim not
    /// already shown false.
    pub async fn lookup(&self, hash: [u8; 16]) -> Option<Found> {
        for cid in self.bridge.ed2k_cids(&hash) {
            if self.known_false(hash, &cid) {
                continue;
            }
            let info = tokio::time::timeout(std::time::Duration::from_secs(15), self.bridge.info(&cid)).await.ok().flatten();
            if let Some(info) = info {
                return Some(Found { file: ServedFile { hash, name: info.name, size: info.length }, cid, piece_length: info.piece_length.into() });
            }
        }
        None
    }

    /// How many files are served (for a server's status).
    pub fn len(&self) -> usize {
        self.bridge.ed2k_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The verified hashset of `hash` as file `cid` holds it: computed once from that
    /// file's verified pieces; an error when they do not hash to `hash` (remembered).
    pub async fn hashset(&self, hash: [u8; 16], cid: &str) -> Hashset {
        let cell = {
            let mut sets = self.hashsets.lock().expect("hashsets lock");
            let key = (hash, cid.to_string());
            if sets.len() >= MAX_HASHSETS && !sets.contains_key(&key) {
                sets.clear();
            }
            sets.entry(key).or_default().clone()
        };
        let result = cell.get_or_init(|| self.compute(hash, cid)).await.clone();
        if matches!(&result, Err(e) if !e.starts_with(FALSE_CLAIM)) {
            // A failed read (a tab left) is tried again next time; a false claim is kept.
            self.hashsets.lock().expect("hashsets lock").remove(&(hash, cid.to_string()));
        }
        result
    }

    async fn compute(&self, hash: [u8; 16], cid: &str) -> Hashset {
        let info = self.bridge.info(cid).await.ok_or("the file is not offered any more")?;
        let mut hasher = Ed2kHasher::new();
        let bridge = self.bridge.clone();
        let mut pieces = futures::stream::iter(0..info.pieces() as u64)
            .map(|i| {
                let (bridge, cid) = (bridge.clone(), cid.to_string());
                async move { bridge.piece(&cid, i).await }
            })
            .buffered(HASH_AHEAD);
        let mut total = 0u64;
        while let Some(piece) = pieces.next().await {
            let piece = piece.map_err(|e| format!("reading the file for its hashset: {e:?}"))?;
            total += piece.len() as u64;
            hasher.update(&piece);
        }
        if total != info.length {
            return Err(format!("read {total} bytes of a {}-byte file", info.length));
        }
        let parts = hasher.finalize_hashset();
        if hashset_root(&parts) != hash {
            tracing::warn!(cid, "a file claimed ed2k {} but hashes to {}", hex::encode(hash), hex::encode(hashset_root(&parts)));
            return Err(format!("{FALSE_CLAIM}: the file's bytes do not hash to the ed2k hash claimed for it"));
        }
        Ok(Arc::new(parts))
    }
}

const FALSE_CLAIM: &str = "false claim";
