//! The ed2k (eDonkey2000) file hash: MD4 over 9,728,000-byte parts.
//!
//! A file shorter than one part hashes to the MD4 of its bytes. Otherwise the hash is the
//! MD4 of the concatenated part digests. When the size is an exact (non-zero) multiple of
//! the part size, the digest of an empty trailing part is appended, as the original
//! eDonkey2000 client, RHash and most ed2k tools do (the "red" variant).

use md4::{Digest, Md4};

pub const ED2K_PART_SIZE: u64 = 9_728_000;

#[derive(Clone, Default)]
pub struct Ed2kHasher {
    part: Md4,
    in_part: u64,
    part_digests: Vec<u8>,
}

impl Ed2kHasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.in_part == ED2K_PART_SIZE {
                let digest = std::mem::take(&mut self.part).finalize();
                self.part_digests.extend_from_slice(&digest);
                self.in_part = 0;
            }
            let take = (ED2K_PART_SIZE - self.in_part).min(data.len() as u64) as usize;
            self.part.update(&data[..take]);
            self.in_part += take as u64;
            data = &data[take..];
        }
    }

    pub fn finalize(self) -> [u8; 16] {
        let last_part_full = self.in_part == ED2K_PART_SIZE;
        let last = self.part.finalize();
        if self.part_digests.is_empty() && !last_part_full {
            return last.into();
        }
        let mut outer = Md4::new();
        outer.update(&self.part_digests);
        outer.update(last);
        if last_part_full {
            outer.update(Md4::digest([]));
        }
        outer.finalize().into()
    }
}

/// `ed2k://|file|NAME|SIZE|HASH|/` with the name percent-encoded where it would break the link.
pub fn ed2k_link(name: &str, size: u64, hash: &[u8; 16]) -> String {
    let name = percent_encoding::utf8_percent_encode(name, crate::torrent::URI_COMPONENT).to_string();
    format!("ed2k://|file|{name}|{size}|{}|/", hex::encode(hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ed2k(data: &[u8]) -> String {
        let mut h = Ed2kHasher::new();
        h.update(data);
        hex::encode(h.finalize())
    }

    #[test]
    fn md4_vectors_for_single_part_files() {
        // RFC 1320 test suite.
        assert_eq!(ed2k(b""), "31d6cfe0d16ae931b73c59d7e0c089c0");
        assert_eq!(ed2k(b"abc"), "a448017aaf21d8525fc10ae87aa6729d");
        assert_eq!(ed2k(b"message digest"), "d9130a8164549fe818874806e1c7014b");
    }

    #[test]
    fn slicing_does_not_matter() {
        let data: Vec<u8> = (0..(ED2K_PART_SIZE as usize + 1000)).map(|i| (i * 7 % 251) as u8).collect();
        let whole = ed2k(&data);
        let mut h = Ed2kHasher::new();
        for piece in data.chunks(1 << 20) {
            h.update(piece);
        }
        assert_eq!(hex::encode(h.finalize()), whole);
    }
}
