//! The manifest: everything needed to verify, name and find one file.
//!
//! Canonical bytes are a bencoded dict (sorted keys, one encoding per value), so two
//! nodes that ingest the same file produce byte-identical manifests. Parsing checks every
//! derived field (chunk count, Merkle root, CID length, …) so a peer's manifest that
//! parses is self-consistent; whether it matches the data is checked chunk by chunk.

use std::borrow::Cow;
use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::bencode::{self, Dict, DictExt, Value};
use crate::ed2k::ed2k_link;
use crate::encryption::{EncryptionInfo, MAX_ITERATIONS};
use crate::merkle::{merkle_root, Hash32};
use crate::torrent::{self, Sources};
use crate::CHUNK_SIZE;

pub const MANIFEST_VERSION: i64 = 1;
/// Largest file a v1 manifest describes (1 Mi chunks = 256 GiB).
pub const MAX_CHUNKS: u64 = 1 << 20;
/// Largest manifest accepted from anywhere.
pub const MAX_MANIFEST_BYTES: usize = 64 << 20;
pub const MAX_NAME_BYTES: usize = 255;
pub const MAX_MIME_BYTES: usize = 127;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub name: String,
    /// Bytes as stored and transferred (the ciphertext when encrypted).
    pub size: u64,
    pub mime: Option<String>,
    /// Seconds since the Unix epoch, as given by the ingesting node.
    pub created_at: u64,
    /// SHA-256 of the stored bytes.
    pub cid: Hash32,
    pub chunk_hashes: Vec<Hash32>,
    /// SHA-1 of each chunk: the BitTorrent v1 `pieces`.
    pub piece_hashes: Vec<[u8; 20]>,
    pub merkle_root: Hash32,
    pub infohash: [u8; 20],
    pub ed2k: [u8; 16],
    pub encryption: Option<EncryptionInfo>,
}

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is {0} bytes, more than the {MAX_MANIFEST_BYTES} allowed")]
    TooLarge(usize),
    #[error("manifest is not valid bencode: {0}")]
    Bencode(#[from] bencode::BencodeError),
    #[error("manifest version {0} is not supported (this node reads version {MANIFEST_VERSION})")]
    UnsupportedVersion(i64),
    #[error("manifest field `{0}` is missing or has the wrong type")]
    Field(&'static str),
    #[error("manifest field `{0}` is out of range")]
    Range(&'static str),
    #[error("file name is invalid: {0}")]
    BadName(&'static str),
    #[error("manifest lists {listed} chunk hashes but the size needs {expected}")]
    ChunkCount { listed: u64, expected: u64 },
    #[error("Merkle root does not match the chunk hashes")]
    MerkleMismatch,
    #[error("manifest has unknown field `{0}`")]
    UnknownField(String),
}

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("chunk {index} does not exist: the file has {chunks} chunks")]
    NoSuchChunk { index: u64, chunks: u64 },
    #[error("chunk {index} should be {expected} bytes, got {actual}")]
    WrongLength { index: u64, expected: usize, actual: usize },
    #[error("chunk {index} does not match its hash")]
    HashMismatch { index: u64 },
}

/// Checks a file name both for our own files and for names a peer sends us.
pub fn validate_name(name: &str) -> Result<(), ManifestError> {
    if name.is_empty() {
        return Err(ManifestError::BadName("empty"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(ManifestError::BadName("longer than 255 bytes"));
    }
    if name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(ManifestError::BadName("contains a path separator or NUL, or is . or .."));
    }
    Ok(())
}

pub fn chunk_count(size: u64) -> u64 {
    size.div_ceil(CHUNK_SIZE as u64)
}

impl Manifest {
    pub fn chunks(&self) -> u64 {
        self.chunk_hashes.len() as u64
    }

    pub fn chunk_len(&self, index: u64) -> Option<usize> {
        let start = index.checked_mul(CHUNK_SIZE as u64)?;
        (index < self.chunks()).then(|| (self.size - start).min(CHUNK_SIZE as u64) as usize)
    }

    /// Accepts a chunk only if it has the right length and SHA-256.
    pub fn verify_chunk(&self, index: u64, bytes: &[u8]) -> Result<(), ChunkError> {
        let expected = self
            .chunk_len(index)
            .ok_or(ChunkError::NoSuchChunk { index, chunks: self.chunks() })?;
        if bytes.len() != expected {
            return Err(ChunkError::WrongLength { index, expected, actual: bytes.len() });
        }
        let digest: Hash32 = Sha256::digest(bytes).into();
        if digest != self.chunk_hashes[index as usize] {
            return Err(ChunkError::HashMismatch { index });
        }
        Ok(())
    }

    pub fn cid_hex(&self) -> String {
        hex::encode(self.cid)
    }

    fn pieces_concat(&self) -> Vec<u8> {
        self.piece_hashes.concat()
    }

    /// The BitTorrent info dict's canonical bytes (what `ut_metadata` serves).
    pub fn info_dict_bytes(&self) -> Vec<u8> {
        let pieces = self.pieces_concat();
        torrent::info_dict(&self.name, self.size, CHUNK_SIZE as u64, &pieces).encode()
    }

    pub fn torrent_file(&self, sources: &Sources) -> Vec<u8> {
        let pieces = self.pieces_concat();
        torrent::torrent_file(torrent::info_dict(&self.name, self.size, CHUNK_SIZE as u64, &pieces), sources)
    }

    pub fn magnet(&self, sources: &Sources) -> String {
        torrent::magnet_uri(&self.infohash, &self.name, self.size, sources)
    }

    pub fn ed2k_link(&self) -> String {
        ed2k_link(&self.name, self.size, &self.ed2k)
    }

    /// What a user (or another tool) needs to know about the file, for a relay at `relay_url`.
    pub fn summary(&self, relay_url: &str) -> ManifestSummary {
        let sources = Sources::relay(relay_url, &self.cid_hex());
        ManifestSummary {
            name: self.name.clone(),
            cid: self.cid_hex(),
            size: self.size,
            chunk_size: CHUNK_SIZE as u64,
            chunks: self.chunks(),
            merkle_root: hex::encode(self.merkle_root),
            infohash: hex::encode(self.infohash),
            magnet: self.magnet(&sources),
            ed2k: hex::encode(self.ed2k),
            ed2k_link: self.ed2k_link(),
            encrypted: self.encryption.is_some(),
            plaintext_size: self.encryption.as_ref().map_or(self.size, |e| e.plaintext_size),
        }
    }

    /// Canonical bytes: equal manifests encode identically.
    pub fn to_bytes(&self) -> Vec<u8> {
        let chunks = self.chunk_hashes.concat();
        let pieces = self.pieces_concat();
        let mut d: BTreeMap<Cow<'_, [u8]>, Value<'_>> = BTreeMap::new();
        let mut put = |k: &'static str, v: Value<'static>| {
            d.insert(Cow::Borrowed(k.as_bytes()), v);
        };
        put("v", Value::Int(MANIFEST_VERSION));
        put("size", Value::Int(self.size as i64));
        put("chunk size", Value::Int(CHUNK_SIZE as i64));
        put("created", Value::Int(self.created_at as i64));
        put("cid", Value::bytes(self.cid.to_vec()));
        put("merkle root", Value::bytes(self.merkle_root.to_vec()));
        put("ed2k", Value::bytes(self.ed2k.to_vec()));
        put("name", Value::bytes(self.name.clone().into_bytes()));
        if let Some(mime) = &self.mime {
            put("mime", Value::bytes(mime.clone().into_bytes()));
        }
        if let Some(e) = &self.encryption {
            let mut enc: BTreeMap<Cow<'static, [u8]>, Value<'static>> = BTreeMap::new();
            enc.insert(Cow::Borrowed(b"cipher"), Value::str("aes-256-gcm"));
            enc.insert(Cow::Borrowed(b"kdf"), Value::str("pbkdf2-sha256"));
            enc.insert(Cow::Borrowed(b"iterations"), Value::Int(e.iterations.into()));
            enc.insert(Cow::Borrowed(b"salt"), Value::bytes(e.salt.to_vec()));
            enc.insert(Cow::Borrowed(b"nonce prefix"), Value::bytes(e.nonce_prefix.to_vec()));
            enc.insert(Cow::Borrowed(b"plaintext size"), Value::Int(e.plaintext_size as i64));
            enc.insert(Cow::Borrowed(b"key check"), Value::bytes(e.key_check.to_vec()));
            put("encryption", Value::Dict(enc));
        }
        d.insert(Cow::Borrowed(b"chunks"), Value::bytes(&chunks[..]));
        d.insert(Cow::Borrowed(b"pieces"), Value::bytes(&pieces[..]));
        Value::Dict(d).encode()
    }

    /// Parses and checks a manifest from anywhere (disk, a peer, the DHT).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ManifestError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge(bytes.len()));
        }
        let root = bencode::parse(bytes)?;
        let d = root.as_dict().ok_or(ManifestError::Field("(top level dict)"))?;
        const KNOWN: [&str; 12] =
            ["v", "size", "chunk size", "created", "cid", "merkle root", "ed2k", "name", "mime", "encryption", "chunks", "pieces"];
        if let Some(k) = d.keys().find(|k| !KNOWN.iter().any(|n| n.as_bytes() == &k[..])) {
            return Err(ManifestError::UnknownField(String::from_utf8_lossy(k).into_owned()));
        }
        let version = int(d, "v")?;
        if version != MANIFEST_VERSION {
            return Err(ManifestError::UnsupportedVersion(version));
        }
        if int(d, "chunk size")? != CHUNK_SIZE as i64 {
            return Err(ManifestError::Range("chunk size"));
        }
        let size = u64::try_from(int(d, "size")?).map_err(|_| ManifestError::Range("size"))?;
        let expected = chunk_count(size);
        if expected > MAX_CHUNKS {
            return Err(ManifestError::Range("size"));
        }
        let created_at = u64::try_from(int(d, "created")?).map_err(|_| ManifestError::Range("created"))?;
        let name = utf8(d, "name")?;
        validate_name(&name)?;
        let mime = match d.get(&b"mime"[..]) {
            None => None,
            Some(_) => {
                let m = utf8(d, "mime")?;
                if m.len() > MAX_MIME_BYTES || m.chars().any(|c| c.is_control()) {
                    return Err(ManifestError::Range("mime"));
                }
                Some(m)
            }
        };
        let chunk_hashes: Vec<Hash32> = fixed_list(d, "chunks")?;
        let piece_hashes: Vec<[u8; 20]> = fixed_list(d, "pieces")?;
        for listed in [chunk_hashes.len() as u64, piece_hashes.len() as u64] {
            if listed != expected {
                return Err(ManifestError::ChunkCount { listed, expected });
            }
        }
        let merkle: Hash32 = fixed(d, "merkle root")?;
        if merkle_root(&chunk_hashes) != merkle {
            return Err(ManifestError::MerkleMismatch);
        }
        let encryption = match d.get(&b"encryption"[..]) {
            None => None,
            Some(v) => Some(parse_encryption(v, size)?),
        };
        let mut manifest = Manifest {
            name,
            size,
            mime,
            created_at,
            cid: fixed(d, "cid")?,
            chunk_hashes,
            piece_hashes,
            merkle_root: merkle,
            infohash: [0; 20],
            ed2k: fixed(d, "ed2k")?,
            encryption,
        };
        let pieces = manifest.pieces_concat();
        manifest.infohash =
            torrent::infohash(&torrent::info_dict(&manifest.name, size, CHUNK_SIZE as u64, &pieces));
        Ok(manifest)
    }
}

fn get<'d, 'a>(d: &'d Dict<'a>, key: &'static str) -> Result<&'d Value<'a>, ManifestError> {
    d.field(key).ok_or(ManifestError::Field(key))
}

fn int(d: &Dict<'_>, key: &'static str) -> Result<i64, ManifestError> {
    d.int_field(key).ok_or(ManifestError::Field(key))
}

fn utf8(d: &Dict<'_>, key: &'static str) -> Result<String, ManifestError> {
    d.str_field(key).ok_or(ManifestError::Field(key))
}

fn fixed<const N: usize>(d: &Dict<'_>, key: &'static str) -> Result<[u8; N], ManifestError> {
    get(d, key)?
        .as_bytes()
        .and_then(|b| b.try_into().ok())
        .ok_or(ManifestError::Field(key))
}

fn fixed_list<const N: usize>(d: &Dict<'_>, key: &'static str) -> Result<Vec<[u8; N]>, ManifestError> {
    let b = get(d, key)?.as_bytes().ok_or(ManifestError::Field(key))?;
    if b.len() % N != 0 {
        return Err(ManifestError::Field(key));
    }
    Ok(b.chunks_exact(N).map(|c| c.try_into().expect("chunks_exact gives N bytes")).collect())
}

fn parse_encryption(v: &Value<'_>, size: u64) -> Result<EncryptionInfo, ManifestError> {
    let d = v.as_dict().ok_or(ManifestError::Field("encryption"))?;
    if get(d, "cipher")?.as_bytes() != Some(b"aes-256-gcm") {
        return Err(ManifestError::Range("encryption.cipher"));
    }
    if get(d, "kdf")?.as_bytes() != Some(b"pbkdf2-sha256") {
        return Err(ManifestError::Range("encryption.kdf"));
    }
    let iterations = u32::try_from(int(d, "iterations")?)
        .ok()
        .filter(|i| (1..=MAX_ITERATIONS).contains(i))
        .ok_or(ManifestError::Range("encryption.iterations"))?;
    let plaintext_size =
        u64::try_from(int(d, "plaintext size")?).map_err(|_| ManifestError::Range("encryption.plaintext size"))?;
    let info = EncryptionInfo {
        iterations,
        salt: fixed(d, "salt")?,
        nonce_prefix: fixed(d, "nonce prefix")?,
        plaintext_size,
        key_check: fixed(d, "key check")?,
    };
    if info.ciphertext_size() != size {
        return Err(ManifestError::Range("encryption.plaintext size"));
    }
    Ok(info)
}

/// The JSON shape of `relay manifest` and of the page's results.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ManifestSummary {
    pub name: String,
    pub cid: String,
    pub size: u64,
    pub chunk_size: u64,
    pub chunks: u64,
    pub merkle_root: String,
    pub infohash: String,
    pub magnet: String,
    pub ed2k: String,
    pub ed2k_link: String,
    pub encrypted: bool,
    pub plaintext_size: u64,
}
