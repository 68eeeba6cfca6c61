//! Merkle root over chunk hashes.
//!
//! Leaves are the chunks' SHA-256 digests; an inner node is `SHA-256(0x01 || left || right)`
//! (the prefix keeps inner nodes distinct from leaves); an odd node at the end of a level is
//! carried up unchanged. One chunk: the root is its hash. No chunks: SHA-256 of nothing.

use sha2::{Digest, Sha256};

pub type Hash32 = [u8; 32];

pub fn merkle_root(leaves: &[Hash32]) -> Hash32 {
    if leaves.is_empty() {
        return Sha256::digest([]).into();
    }
    let mut level: Vec<Hash32> = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => {
                    let mut h = Sha256::new();
                    h.update([0x01]);
                    h.update(left);
                    h.update(right);
                    h.finalize().into()
                }
                [single] => *single,
                _ => unreachable!("chunks(2) yields one or two"),
            })
            .collect();
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let a = [1u8; 32];
        let b = [2u8; 32];
        let c = [3u8; 32];
        assert_eq!(merkle_root(&[a]), a);
        let ab: Hash32 = Sha256::new().chain_update([1]).chain_update(a).chain_update(b).finalize().into();
        assert_eq!(merkle_root(&[a, b]), ab);
        let abc: Hash32 = Sha256::new().chain_update([1]).chain_update(ab).chain_update(c).finalize().into();
        assert_eq!(merkle_root(&[a, b, c]), abc);
        assert_ne!(merkle_root(&[a, b]), merkle_root(&[b, a]));
    }
}
