//! The whole-file check, pure: once every piece of a download is stored, the driver hashes
//! the whole file (SHA-256, 32 bytes) and asks [`check`] for the [`Verdict`].
//!
//! - `Verified`: the digest is the content ID the download was asked for (a CID download),
//!   or there was no CID to contradict it (a magnet, which names the file by its infohash).
//! - `Failed`: the digest is not the CID asked for. Whatever the pieces' own checks said
//!   (SHA-1 against the info dict, SHA-256 against a chunk list under a signed Merkle root),
//!   the records that led there named another file.
//!
//! Everything a page does with a finished file hangs on `Verdict::is_verified`: a failed
//! file is never paid for ([`crate::settlement::plan`] refuses it), never saved (the driver
//! hands out no Blob and the Save button stays disabled), never seeded (no "completed"
//! announce, every peer and the bridge closed, no DHT record), and its stored pieces are
//! kept only as unverified material for the next root the DHT offered
//! ([`crate::root_candidates`]), which re-checks each one against its own chunk list, and
//! then deleted.

/// What the whole-file check concluded. Hex strings are lowercase, 64 digits.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// `cid`: the file's SHA-256, which is the CID asked for when there was one.
    Verified { cid: String },
    /// The file's SHA-256 `got` is not the CID `asked`.
    Failed { asked: String, got: String },
}

impl Verdict {
    /// Pay, save, seed, publish: only a verified file.
    pub fn is_verified(&self) -> bool {
        matches!(self, Verdict::Verified { .. })
    }

    /// Why a failed file is refused, for the UI; `None` when verified.
    pub fn failure(&self) -> Option<String> {
        match self {
            Verdict::Verified { .. } => None,
            Verdict::Failed { asked, got } => Some(format!("the file's SHA-256 is {got}, not the content ID {asked}")),
        }
    }
}

/// The verdict on a finished file whose SHA-256 is `digest`, asked for as `asked` (a CID
/// in hex, any case; `None` for a magnet download).
pub fn check(asked: Option<&str>, digest: &[u8; 32]) -> Verdict {
    let got = hex::encode(digest);
    match asked {
        Some(cid) if !cid.trim().eq_ignore_ascii_case(&got) => Verdict::Failed { asked: cid.trim().to_ascii_lowercase(), got },
        _ => Verdict::Verified { cid: got },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn the_cid_asked_for_must_be_the_files_sha256() {
        let digest: [u8; 32] = Sha256::digest(b"the file").into();
        let cid = hex::encode(digest);
        assert_eq!(check(Some(&cid), &digest), Verdict::Verified { cid: cid.clone() });
        assert!(check(Some(&cid.to_ascii_uppercase()), &digest).is_verified(), "hex case does not matter");
        let other = hex::encode(Sha256::digest(b"another file"));
        let v = check(Some(&other), &digest);
        assert_eq!(v, Verdict::Failed { asked: other.clone(), got: cid.clone() });
        assert!(!v.is_verified());
        assert!(v.failure().is_some_and(|m| m.contains(&other) && m.contains(&cid)));
    }

    #[test]
    fn a_magnet_without_a_cid_is_named_by_its_hash() {
        let digest = [7u8; 32];
        assert_eq!(check(None, &digest), Verdict::Verified { cid: hex::encode(digest) });
    }

    #[test]
    fn garbage_in_the_asked_cid_fails_instead_of_panicking() {
        assert!(!check(Some("not hex at all"), &[0; 32]).is_verified());
        assert!(!check(Some(""), &[0; 32]).is_verified());
    }
}
