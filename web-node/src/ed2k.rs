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
        let parts = self.finalize_hashset();
        hashset_root(&parts)
    }

    /// The part hashset (what `OP_HASHSETANSWER` carries): one MD4 per 9,728,000-byte part,
    /// plus the empty part's MD4 when the size is an exact non-zero multiple of the part size
    /// (aMule's `GetED2KPartHashCount`). A one-part file's hashset is its single digest.
    pub fn finalize_hashset(self) -> Vec<[u8; 16]> {
        let last_part_full = self.in_part == ED2K_PART_SIZE;
        let mut parts: Vec<[u8; 16]> = self.part_digests.chunks(16).map(|c| c.try_into().expect("16-byte digests")).collect();
        parts.push(self.part.finalize().into());
        if last_part_full {
            parts.push(Md4::digest([]).into());
        }
        parts
    }
}

/// The ed2k hash a hashset names: the single digest of a one-part file, else MD4 over the
/// concatenated part digests.
pub fn hashset_root(parts: &[[u8; 16]]) -> [u8; 16] {
    if parts.len() == 1 {
        return parts[0];
    }
    let mut outer = Md4::new();
    for p in parts {
        outer.update(p);
    }
    outer.finalize().into()
}

/// MD4 of one part's bytes (what a hashset entry must equal).
pub fn part_digest(data: &[u8]) -> [u8; 16] {
    Md4::digest(data).into()
}

/// Parts a file of `size` bytes has on the wire (the data parts; the hashset of an exact
/// multiple has one more, empty, entry). 0 for an empty file.
pub fn part_count(size: u64) -> u64 {
    size.div_ceil(ED2K_PART_SIZE)
}

/// How many entries the hashset of a file of `size` bytes has (aMule/eMule: the data parts,
/// plus one for an exact non-zero multiple of the part size); 1 for files up to one part.
pub fn hashset_len(size: u64) -> u64 {
    if size < ED2K_PART_SIZE { 1 } else { size / ED2K_PART_SIZE + 1 }
}

/// Byte range `[start, end)` of part `index` in a file of `size` bytes.
pub fn part_range(size: u64, index: u64) -> (u64, u64) {
    let start = index * ED2K_PART_SIZE;
    (start.min(size), (start + ED2K_PART_SIZE).min(size))
}

/// `ed2k://|file|NAME|SIZE|HASH|/` with the name percent-encoded where it would break the link.
pub fn ed2k_link(name: &str, size: u64, hash: &[u8; 16]) -> String {
    let name = percent_encoding::utf8_percent_encode(name, crate::torrent::URI_COMPONENT).to_string();
    format!("ed2k://|file|{name}|{size}|{}|/", hex::encode(hash))
}

/// The same link naming `sources` (`HOST:PORT`) in aMule's `|sources,…|/` suffix.
pub fn ed2k_link_with_sources(name: &str, size: u64, hash: &[u8; 16], sources: &[String]) -> String {
    let mut link = ed2k_link(name, size, hash);
    if !sources.is_empty() {
        link.push_str(&format!("|sources,{}|/", sources.join(",")));
    }
    link
}

/// A parsed `ed2k://|file|…|/` link: name, size, hash and the `sources,` it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ed2kLink {
    pub name: String,
    pub size: u64,
    pub hash: [u8; 16],
    pub sources: Vec<(String, u16)>,
}

/// Why an ed2k link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ed2kLinkError {
    #[error("not an ed2k file link (ed2k://|file|NAME|SIZE|HASH|/)")]
    NotAFileLink,
    #[error("the size is not a number of bytes")]
    Size,
    #[error("the hash is not 32 hex digits")]
    Hash,
    #[error("the link is longer than {0} bytes")]
    TooLong(usize),
}

/// Longest link accepted, and most sources kept from one.
pub const MAX_LINK_LEN: usize = 16 * 1024;
pub const MAX_LINK_SOURCES: usize = 64;

impl std::str::FromStr for Ed2kLink {
    type Err = Ed2kLinkError;

    /// Parses aMule's file link syntax (`ED2KLink.cpp`): `ed2k://|file|NAME|SIZE|HASH|`,
    /// optional `h=`/`p=` fields (ignored), `/`, and optional `|sources,HOST:PORT[,…]|/`.
    fn from_str(link: &str) -> Result<Self, Self::Err> {
        if link.len() > MAX_LINK_LEN {
            return Err(Ed2kLinkError::TooLong(MAX_LINK_LEN));
        }
        let rest = link.strip_prefix("ed2k://").or_else(|| link.strip_prefix("ED2K://")).ok_or(Ed2kLinkError::NotAFileLink)?;
        let fields: Vec<&str> = rest.split('|').collect();
        if fields.len() < 5 || !fields[0].is_empty() || !fields[1].eq_ignore_ascii_case("file") {
            return Err(Ed2kLinkError::NotAFileLink);
        }
        let name = percent_encoding::percent_decode_str(fields[2]).decode_utf8_lossy().into_owned();
        let size: u64 = fields[3].parse().map_err(|_| Ed2kLinkError::Size)?;
        let mut hash = [0u8; 16];
        hex::decode_to_slice(fields[4], &mut hash).map_err(|_| Ed2kLinkError::Hash)?;
        let mut sources = Vec::new();
        for field in &fields[5..] {
            let Some(list) = field.strip_prefix("sources,") else { continue };
            for entry in list.split(',') {
                let Some((host, port)) = entry.rsplit_once(':') else { continue };
                let Ok(port) = port.parse::<u16>() else { continue };
                if !host.is_empty() && port != 0 && sources.len() < MAX_LINK_SOURCES {
                    sources.push((host.to_string(), port));
                }
            }
        }
        Ok(Ed2kLink { name, size, hash, sources })
    }
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
    fn links_parse_with_and_without_sources() {
        let hash = [0xabu8; 16];
        let plain: Ed2kLink = ed2k_link("a b.bin", 1234, &hash).parse().unwrap();
        assert_eq!((plain.name.as_str(), plain.size, plain.hash, plain.sources.len()), ("a b.bin", 1234, hash, 0));
        let with = ed2k_link_with_sources("x", 5, &hash, &["10.0.0.1:4662".into(), "host.example:4663".into()]);
        let parsed: Ed2kLink = with.parse().unwrap();
        assert_eq!(parsed.sources, vec![("10.0.0.1".to_string(), 4662), ("host.example".to_string(), 4663)]);
        assert_eq!("ed2k://|server|1.2.3.4|4661|/".parse::<Ed2kLink>(), Err(Ed2kLinkError::NotAFileLink));
        assert_eq!("ed2k://|file|x|big|00|/".parse::<Ed2kLink>(), Err(Ed2kLinkError::Size));
    }

    #[test]
    fn hashset_of_an_exact_multiple_has_the_empty_part() {
        let data = vec![7u8; ED2K_PART_SIZE as usize];
        let mut h = Ed2kHasher::new();
        h.update(&data);
        let parts = h.clone().finalize_hashset();
        assert_eq!(parts.len() as u64, hashset_len(ED2K_PART_SIZE));
        assert_eq!(parts[0], part_digest(&data));
        assert_eq!(hashset_root(&parts), h.finalize());
        assert_eq!(part_count(ED2K_PART_SIZE), 1);
        assert_eq!(part_range(ED2K_PART_SIZE + 5, 1), (ED2K_PART_SIZE, ED2K_PART_SIZE + 5));
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
