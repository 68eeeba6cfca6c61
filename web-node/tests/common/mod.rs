//! Known answers shared by the native and the in-browser test runs: both must compute the
//! same identities for the same bytes. The CID and ed2k values were cross-checked with
//! `sha256sum` and `rhash --ed2k`; the infohash with `transmission-show`; the Merkle root with a 10-line Python model.

/// 3 chunks + 5 bytes: `i * 31 + 7 (mod 256)`.
pub fn vector_bytes() -> Vec<u8> {
    (0..3 * 262_144 + 5).map(|i: usize| (i.wrapping_mul(31).wrapping_add(7)) as u8).collect()
}

pub const VECTOR_NAME: &str = "vector.bin";
pub const VECTOR_CID: &str = "1514196e41df9ebbea3b387792cbd92e28ba7a7fd524da29140d0eccefe58dfd";
pub const VECTOR_INFOHASH: &str = "26595a6197626469398e235d494b8dcd6c1d2459";
pub const VECTOR_ED2K: &str = "126a61c756ae2faf0e54d8375923bc4e";
pub const VECTOR_MERKLE: &str = "a9f83831956f921577c1c80b6b191b2f38afe42a0187bea69044ce5fd667a5d5";
