//! Signed file records: what the DHT says about a file and who seeds it, by which protocol.
//!
//! Each seeder publishes its own record under `record_key(cid, its PeerId)` and announces
//! itself as a provider of `provider_key(cid)`; a lookup finds the providers, fetches their
//! records, verifies each and [`merge`]s them into one view. A record is canonical bencode,
//! wrapped in an envelope with the publisher's libp2p public key and its signature over
//! `DOMAIN || record`. Verification bounds the size, checks the signature, that every seeder
//! entry names the signer, that the fields are consistent, and that the record is not expired.

use std::borrow::Cow;
use std::collections::BTreeMap;

use libp2p_identity::{Keypair, PeerId, PublicKey};

use crate::bencode::{self, Dict, DictExt, Value};
use crate::manifest::{chunk_count, validate_name, Manifest};
use crate::CHUNK_SIZE;

/// 2: the file's Merkle root over its chunk SHA-256s, which anchors per-chunk verification.
pub const RECORD_VERSION: i64 = 2;
/// Largest signed record accepted (Kademlia values travel in single messages).
pub const MAX_RECORD_BYTES: usize = 8 * 1024;
/// A record lives at most this long after publication; seeders republish well before.
pub const MAX_TTL_SECS: u64 = 48 * 3600;
pub const DEFAULT_TTL_SECS: u64 = 6 * 3600;
/// Clocks differ: accept records published up to this far in the future.
pub const CLOCK_SKEW_SECS: u64 = 300;
pub const MAX_SEEDER_ENTRIES: usize = 8;
pub const MAX_ENDPOINT_BYTES: usize = 512;
pub const MAX_RANGES: usize = 64;
const DOMAIN: &[u8] = b"chiral-file-record-v1";

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record is {0} bytes, more than the {MAX_RECORD_BYTES} allowed")]
    TooLarge(usize),
    #[error("record is not valid bencode: {0}")]
    Bencode(#[from] bencode::BencodeError),
    #[error("record field `{0}` is missing or malformed")]
    Field(&'static str),
    #[error("record version {0} is not supported")]
    Version(i64),
    #[error("the publisher's key cannot be decoded")]
    BadKey,
    #[error("the signature does not match the record and key")]
    BadSignature,
    #[error("a seeder entry names {claimed}, but the record is signed by {signer}")]
    SeederNotSigner { claimed: String, signer: String },
    #[error("record expired at {expires_at} (now {now})")]
    Expired { expires_at: u64, now: u64 },
    #[error("record lifetime or publication time is out of range")]
    BadLifetime,
    #[error("record is inconsistent: {0}")]
    Inconsistent(&'static str),
    #[error("record is stored under the wrong key")]
    WrongKey,
    #[error("signing failed")]
    Signing,
}

/// What every seeder of a file agrees on: the file's identities.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileInfo {
    pub cid: String,
    pub name: String,
    pub size: u64,
    pub chunk_size: u64,
    pub chunks: u64,
    pub mime: Option<String>,
    pub created_at: u64,
    pub infohash: String,
    pub ed2k: String,
    /// Hex Merkle root over the chunks' SHA-256: a downloader accepts a chunk hash list
    /// from any peer only when it hashes to this.
    pub merkle_root: String,
}

impl FileInfo {
    pub fn from_manifest(m: &Manifest) -> Self {
        Self {
            cid: m.cid_hex(),
            name: m.name.clone(),
            size: m.size,
            chunk_size: CHUNK_SIZE as u64,
            chunks: m.chunks(),
            mime: m.mime.clone(),
            created_at: m.created_at,
            infohash: hex::encode(m.infohash),
            ed2k: hex::encode(m.ed2k),
            merkle_root: hex::encode(m.merkle_root),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    WebTorrent,
    Http,
    BitTorrent,
    Ed2k,
}

impl Protocol {
    fn as_str(self) -> &'static str {
        match self {
            Protocol::WebTorrent => "webtorrent",
            Protocol::Http => "http",
            Protocol::BitTorrent => "bittorrent",
            Protocol::Ed2k => "ed2k",
        }
    }

    fn parse(s: &[u8]) -> Option<Self> {
        Some(match s {
            b"webtorrent" => Protocol::WebTorrent,
            b"http" => Protocol::Http,
            b"bittorrent" => Protocol::BitTorrent,
            b"ed2k" => Protocol::Ed2k,
            _ => return None,
        })
    }
}

/// One way to get the file from one peer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Seeder {
    pub peer_id: String,
    pub protocol: Protocol,
    /// A multiaddr, URL or tracker, depending on the protocol.
    pub endpoint: String,
    /// `0x` + 40 hex digits, where the seeder wants to be paid.
    pub wallet: Option<String>,
    /// Half-open chunk ranges `[start, end)` this seeder has.
    pub available_chunks: Vec<(u64, u64)>,
    /// Price in wei per 10^6 bytes delivered (as a decimal string in JSON).
    #[serde(with = "u128_string")]
    pub price_per_mb_wei: u128,
}

mod u128_string {
    pub fn serialize<S: serde::Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let s: String = serde::Deserialize::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileRecord {
    pub file: FileInfo,
    pub seeders: Vec<Seeder>,
    pub published_at: u64,
    pub expires_at: u64,
}

/// A record whose signature and contents have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRecord {
    pub publisher: PeerId,
    pub record: FileRecord,
}

pub fn provider_key(cid_hex: &str) -> Vec<u8> {
    format!("/chiral/file/{cid_hex}").into_bytes()
}

pub fn record_key(cid_hex: &str, publisher: &PeerId) -> Vec<u8> {
    format!("/chiral/file/{cid_hex}/{publisher}").into_bytes()
}

fn b(s: &'static str) -> Cow<'static, [u8]> {
    Cow::Borrowed(s.as_bytes())
}

fn text(s: &str) -> Value<'static> {
    Value::Bytes(Cow::Owned(s.as_bytes().to_vec()))
}

fn uint(n: u64) -> Result<Value<'static>, RecordError> {
    i64::try_from(n).map(Value::Int).map_err(|_| RecordError::Inconsistent("number too large"))
}

impl FileRecord {
    /// Canonical bytes (what is signed).
    pub fn to_bytes(&self) -> Result<Vec<u8>, RecordError> {
        let f = &self.file;
        let mut file = BTreeMap::new();
        file.insert(b("cid"), text(&f.cid));
        file.insert(b("name"), text(&f.name));
        file.insert(b("size"), uint(f.size)?);
        file.insert(b("chunk size"), uint(f.chunk_size)?);
        file.insert(b("chunks"), uint(f.chunks)?);
        if let Some(m) = &f.mime {
            file.insert(b("mime"), text(m));
        }
        file.insert(b("created"), uint(f.created_at)?);
        file.insert(b("infohash"), text(&f.infohash));
        file.insert(b("ed2k"), text(&f.ed2k));
        file.insert(b("merkle root"), text(&f.merkle_root));
        let mut seeders = Vec::new();
        for s in &self.seeders {
            let mut d = BTreeMap::new();
            d.insert(b("peer"), text(&s.peer_id));
            d.insert(b("protocol"), text(s.protocol.as_str()));
            d.insert(b("endpoint"), text(&s.endpoint));
            if let Some(w) = &s.wallet {
                d.insert(b("wallet"), text(w));
            }
            let mut ranges = Vec::new();
            for (start, end) in &s.available_chunks {
                ranges.push(Value::List(vec![uint(*start)?, uint(*end)?]));
            }
            d.insert(b("available"), Value::List(ranges));
            d.insert(b("price per mb"), text(&s.price_per_mb_wei.to_string()));
            seeders.push(Value::Dict(d));
        }
        let mut root = BTreeMap::new();
        root.insert(b("v"), Value::Int(RECORD_VERSION));
        root.insert(b("file"), Value::Dict(file));
        root.insert(b("seeders"), Value::List(seeders));
        root.insert(b("published"), uint(self.published_at)?);
        root.insert(b("expires"), uint(self.expires_at)?);
        Ok(Value::Dict(root).encode())
    }

    /// Signs with the publisher's libp2p key; the result is what goes into the DHT.
    pub fn sign(&self, keypair: &Keypair) -> Result<Vec<u8>, RecordError> {
        let record = self.to_bytes()?;
        let mut message = DOMAIN.to_vec();
        message.extend_from_slice(&record);
        let signature = keypair.sign(&message).map_err(|_| RecordError::Signing)?;
        let mut env = BTreeMap::new();
        env.insert(b("v"), Value::Int(RECORD_VERSION));
        env.insert(b("record"), Value::Bytes(Cow::Owned(record)));
        env.insert(b("key"), Value::Bytes(Cow::Owned(keypair.public().encode_protobuf())));
        env.insert(b("sig"), Value::Bytes(Cow::Owned(signature)));
        let bytes = Value::Dict(env).encode();
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(RecordError::TooLarge(bytes.len()));
        }
        Ok(bytes)
    }
}

/// Verifies a signed record found under DHT key `key` at time `now` (seconds).
pub fn verify(key: &[u8], bytes: &[u8], now: u64) -> Result<VerifiedRecord, RecordError> {
    let verified = verify_unkeyed(bytes, now)?;
    if key != record_key(&verified.record.file.cid, &verified.publisher) {
        return Err(RecordError::WrongKey);
    }
    Ok(verified)
}

/// Verifies a signed record's signature and contents, whatever key it was found under.
pub fn verify_unkeyed(bytes: &[u8], now: u64) -> Result<VerifiedRecord, RecordError> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(RecordError::TooLarge(bytes.len()));
    }
    let env = bencode::parse(bytes)?;
    let env = env.as_dict().ok_or(RecordError::Field("envelope"))?;
    let version = get_int(env, "v")?;
    if version != RECORD_VERSION {
        return Err(RecordError::Version(version));
    }
    let record_bytes = get_bytes(env, "record")?;
    let key = PublicKey::try_decode_protobuf(get_bytes(env, "key")?).map_err(|_| RecordError::BadKey)?;
    let mut message = DOMAIN.to_vec();
    message.extend_from_slice(record_bytes);
    if !key.verify(&message, get_bytes(env, "sig")?) {
        return Err(RecordError::BadSignature);
    }
    let publisher = key.to_peer_id();
    let record = parse_record(record_bytes)?;
    validate(&record, &publisher, now)?;
    Ok(VerifiedRecord { publisher, record })
}

fn get<'d, 'a>(d: &'d Dict<'a>, k: &'static str) -> Result<&'d Value<'a>, RecordError> {
    d.field(k).ok_or(RecordError::Field(k))
}
fn get_int(d: &Dict<'_>, k: &'static str) -> Result<i64, RecordError> {
    d.int_field(k).ok_or(RecordError::Field(k))
}
fn get_u64(d: &Dict<'_>, k: &'static str) -> Result<u64, RecordError> {
    d.u64_field(k).ok_or(RecordError::Field(k))
}
fn get_bytes<'d>(d: &'d Dict<'_>, k: &'static str) -> Result<&'d [u8], RecordError> {
    d.bytes_field(k).ok_or(RecordError::Field(k))
}
fn get_str(d: &Dict<'_>, k: &'static str) -> Result<String, RecordError> {
    d.str_field(k).ok_or(RecordError::Field(k))
}

fn parse_record(bytes: &[u8]) -> Result<FileRecord, RecordError> {
    let root = bencode::parse(bytes)?;
    let root = root.as_dict().ok_or(RecordError::Field("record"))?;
    let version = get_int(root, "v")?;
    if version != RECORD_VERSION {
        return Err(RecordError::Version(version));
    }
    let f = get(root, "file")?.as_dict().ok_or(RecordError::Field("file"))?;
    let file = FileInfo {
        cid: get_str(f, "cid")?,
        name: get_str(f, "name")?,
        size: get_u64(f, "size")?,
        chunk_size: get_u64(f, "chunk size")?,
        chunks: get_u64(f, "chunks")?,
        mime: if f.contains_key(&b"mime"[..]) { Some(get_str(f, "mime")?) } else { None },
        created_at: get_u64(f, "created")?,
        infohash: get_str(f, "infohash")?,
        ed2k: get_str(f, "ed2k")?,
        merkle_root: get_str(f, "merkle root")?,
    };
    let Value::List(list) = get(root, "seeders")? else {
        return Err(RecordError::Field("seeders"));
    };
    let mut seeders = Vec::new();
    for s in list {
        let s = s.as_dict().ok_or(RecordError::Field("seeders"))?;
        let Value::List(ranges) = get(s, "available")? else {
            return Err(RecordError::Field("available"));
        };
        let mut available_chunks = Vec::new();
        for r in ranges {
            match r {
                Value::List(pair) if pair.len() == 2 => {
                    let start = pair[0].as_int().and_then(|v| u64::try_from(v).ok());
                    let end = pair[1].as_int().and_then(|v| u64::try_from(v).ok());
                    match (start, end) {
                        (Some(a), Some(z)) => available_chunks.push((a, z)),
                        _ => return Err(RecordError::Field("available")),
                    }
                }
                _ => return Err(RecordError::Field("available")),
            }
        }
        seeders.push(Seeder {
            peer_id: get_str(s, "peer")?,
            protocol: Protocol::parse(get_bytes(s, "protocol")?).ok_or(RecordError::Field("protocol"))?,
            endpoint: get_str(s, "endpoint")?,
            wallet: if s.contains_key(&b"wallet"[..]) { Some(get_str(s, "wallet")?) } else { None },
            available_chunks,
            price_per_mb_wei: get_str(s, "price per mb")?.parse().map_err(|_| RecordError::Field("price per mb"))?,
        });
    }
    Ok(FileRecord { file, seeders, published_at: get_u64(root, "published")?, expires_at: get_u64(root, "expires")? })
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

fn validate(r: &FileRecord, signer: &PeerId, now: u64) -> Result<(), RecordError> {
    let f = &r.file;
    if !is_hex(&f.cid, 64) || !is_hex(&f.infohash, 40) || !is_hex(&f.ed2k, 32) || !is_hex(&f.merkle_root, 64) {
        return Err(RecordError::Inconsistent("identities must be lowercase hex of the right length"));
    }
    validate_name(&f.name).map_err(|_| RecordError::Inconsistent("file name"))?;
    if f.chunk_size != CHUNK_SIZE as u64 || f.chunks != chunk_count(f.size) || f.size == 0 {
        return Err(RecordError::Inconsistent("size, chunk size and chunk count disagree"));
    }
    if f.mime.as_ref().is_some_and(|m| m.len() > 127 || m.chars().any(char::is_control)) {
        return Err(RecordError::Inconsistent("mime type"));
    }
    if r.seeders.is_empty() || r.seeders.len() > MAX_SEEDER_ENTRIES {
        return Err(RecordError::Inconsistent("a record lists 1 to 8 seeder entries"));
    }
    for s in &r.seeders {
        if s.peer_id != signer.to_string() {
            return Err(RecordError::SeederNotSigner { claimed: s.peer_id.clone(), signer: signer.to_string() });
        }
        if s.endpoint.is_empty() || s.endpoint.len() > MAX_ENDPOINT_BYTES || s.endpoint.chars().any(char::is_control) {
            return Err(RecordError::Inconsistent("endpoint"));
        }
        if let Some(w) = &s.wallet {
            if !(w.len() == 42 && w.starts_with("0x") && w[2..].bytes().all(|c| c.is_ascii_hexdigit())) {
                return Err(RecordError::Inconsistent("wallet must be 0x + 40 hex digits"));
            }
        }
        if s.available_chunks.len() > MAX_RANGES
            || s.available_chunks.iter().any(|(a, z)| a >= z || *z > f.chunks)
            || s.available_chunks.windows(2).any(|w| w[0].1 > w[1].0)
        {
            return Err(RecordError::Inconsistent("chunk ranges must be sorted, disjoint and within the file"));
        }
    }
    if r.published_at > now.saturating_add(CLOCK_SKEW_SECS) || r.expires_at <= r.published_at || r.expires_at - r.published_at > MAX_TTL_SECS {
        return Err(RecordError::BadLifetime);
    }
    if r.expires_at <= now {
        return Err(RecordError::Expired { expires_at: r.expires_at, now });
    }
    Ok(())
}

/// Everything the DHT knows about one file: identities plus every seeder, by protocol.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileView {
    pub file: FileInfo,
    pub seeders: Vec<Seeder>,
    /// Records whose file identities disagreed with the majority (a lying or broken peer).
    pub conflicting_records: usize,
}

/// Merges verified records of one CID: the file identities most records agree on win;
/// seeders from disagreeing records are left out and counted.
pub fn merge(records: &[VerifiedRecord]) -> Option<FileView> {
    let mut votes: Vec<(&FileInfo, usize)> = Vec::new();
    for r in records {
        match votes.iter_mut().find(|(f, _)| **f == r.record.file) {
            Some((_, n)) => *n += 1,
            None => votes.push((&r.record.file, 1)),
        }
    }
    let (winner, _) = votes.iter().max_by_key(|(_, n)| *n)?;
    let mut seeders: Vec<Seeder> = records
        .iter()
        .filter(|r| &r.record.file == *winner)
        .flat_map(|r| r.record.seeders.iter().cloned())
        .collect();
    seeders.sort_by(|a, b| (a.protocol, &a.peer_id, &a.endpoint).cmp(&(b.protocol, &b.peer_id, &b.endpoint)));
    seeders.dedup();
    let conflicting_records = records.iter().filter(|r| &r.record.file != *winner).count();
    Some(FileView { file: (*winner).clone(), seeders, conflicting_records })
}
