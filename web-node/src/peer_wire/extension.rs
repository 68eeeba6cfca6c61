//! BEP 10 extension handshake and BEP 9 `ut_metadata` payloads (what follows the extended
//! message id). Bencode from peers is parsed with the bounded [`crate::bencode`] parser in its lenient mode (any key order; duplicates refused).
//!
//! ```text
//! handshake     d1:md11:ut_metadatai1ee13:metadata_sizei31235e1:v6:Chiral4:reqqi250ee
//! ut_metadata   d8:msg_typei0e5:piecei0ee                      request
//!               d8:msg_typei1e5:piecei0e10:total_sizei31235ee<16 KiB of the info dict>
//!               d8:msg_typei2e5:piecei0ee                      reject
//! chiral_hashes the same three messages for the file's chunk SHA-256 list (32 bytes a
//!               chunk, its size in `chiral_hashes_size`): Chiral peers trade it so a
//!               downloader checks every piece against the manifest's SHA-256, not only
//!               SHA-1; the list is trusted only when it hashes to the signed Merkle root.
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::bencode::{self, Dict, DictExt, Value};

/// The info dict a `ut_metadata` exchange carries (kept here, where callers look for it).
pub use super::info::{FileEntry, FileSpan, InfoError, TorrentInfo, MAX_FILES, MAX_PIECE_LENGTH};

pub const UT_METADATA: &str = "ut_metadata";
/// The id we ask peers to use when they send us `ut_metadata` messages.
pub const OUR_UT_METADATA_ID: u8 = 1;
pub const CHIRAL_HASHES: &str = "chiral_hashes";
/// The id we ask peers to use for `chiral_hashes` messages.
pub const OUR_CHIRAL_HASHES_ID: u8 = 2;
/// Largest chunk hash list we fetch: 2^20 chunks (256 GiB of file).
pub const MAX_HASH_LIST_BYTES: usize = 32 << 20;
/// BEP 9 cuts the info dict into 16 KiB pieces.
pub const METADATA_PIECE: usize = 16 * 1024;
/// Largest info dict we fetch: 2^20 pieces × 20 bytes of SHA-1, plus names.
pub const MAX_METADATA_BYTES: usize = 21 * 1024 * 1024;

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    #[error("extension payload is not bencode: {0}")]
    Bencode(#[from] bencode::BencodeError),
    #[error("extension field `{0}` is missing or malformed")]
    Field(&'static str),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtendedHandshake {
    /// Extension name → the id the sender wants to receive it under (0 = disabled).
    pub extensions: BTreeMap<String, u8>,
    pub metadata_size: Option<u64>,
    /// Size of the chunk SHA-256 list the sender can serve over `chiral_hashes`.
    pub hashes_size: Option<u64>,
    pub client: Option<String>,
    /// How many outstanding requests the sender accepts.
    pub reqq: Option<u32>,
    /// Chiral seeders' payment terms (`chiral_wallet`, 20 bytes; `chiral_price`, wei per
    /// MB): what the downloader pays for verified chunks from this peer. Other clients
    /// ignore unknown keys.
    pub pay_to: Option<crate::settlement::PayTo>,
}

impl ExtendedHandshake {
    pub fn ut_metadata_id(&self) -> Option<u8> {
        self.extensions.get(UT_METADATA).copied().filter(|id| *id != 0)
    }

    pub fn chiral_hashes_id(&self) -> Option<u8> {
        self.extensions.get(CHIRAL_HASHES).copied().filter(|id| *id != 0)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut m = BTreeMap::new();
        for (name, id) in &self.extensions {
            m.insert(Cow::Owned(name.as_bytes().to_vec()), Value::Int(i64::from(*id)));
        }
        let mut d: Dict<'_> = BTreeMap::new();
        d.insert(Cow::Borrowed(&b"m"[..]), Value::Dict(m));
        if let Some(size) = self.metadata_size {
            d.insert(Cow::Borrowed(&b"metadata_size"[..]), Value::Int(size as i64));
        }
        if let Some(size) = self.hashes_size {
            d.insert(Cow::Borrowed(&b"chiral_hashes_size"[..]), Value::Int(size as i64));
        }
        if let Some(v) = &self.client {
            d.insert(Cow::Borrowed(&b"v"[..]), Value::bytes(v.as_bytes()));
        }
        if let Some(q) = self.reqq {
            d.insert(Cow::Borrowed(&b"reqq"[..]), Value::Int(i64::from(q)));
        }
        if let Some(p) = &self.pay_to {
            d.insert(Cow::Borrowed(&b"chiral_wallet"[..]), Value::bytes(p.wallet.to_vec()));
            d.insert(Cow::Borrowed(&b"chiral_price"[..]), Value::Int(i64::try_from(p.price_per_mb_wei).unwrap_or(i64::MAX)));
        }
        Value::Dict(d).encode()
    }

    /// Unknown keys are ignored; ids outside 0..=255 or a non-dict `m` are errors.
    pub fn parse(payload: &[u8]) -> Result<Self, ExtensionError> {
        let value = bencode::parse_lenient(payload)?;
        let d = value.as_dict().ok_or(ExtensionError::Field("handshake"))?;
        let mut hs = ExtendedHandshake::default();
        if let Some(m) = d.field("m") {
            let m = m.as_dict().ok_or(ExtensionError::Field("m"))?;
            for (name, id) in m {
                let Ok(name) = std::str::from_utf8(name) else { continue };
                let id = id.as_int().and_then(|i| u8::try_from(i).ok()).ok_or(ExtensionError::Field("m"))?;
                hs.extensions.insert(name.to_string(), id);
            }
        }
        hs.metadata_size = match d.field("metadata_size") {
            None => None,
            Some(v) => Some(v.as_int().and_then(|i| u64::try_from(i).ok()).ok_or(ExtensionError::Field("metadata_size"))?),
        };
        hs.hashes_size = match d.field("chiral_hashes_size") {
            None => None,
            Some(v) => Some(v.as_int().and_then(|i| u64::try_from(i).ok()).ok_or(ExtensionError::Field("chiral_hashes_size"))?),
        };
        hs.client = d.str_field("v");
        hs.reqq = d.u64_field("reqq").and_then(|q| u32::try_from(q).ok());
        let wallet = d.bytes_field("chiral_wallet").and_then(|w| <[u8; 20]>::try_from(w).ok());
        let price = d.u64_field("chiral_price");
        hs.pay_to = wallet.zip(price).map(|(wallet, price)| crate::settlement::PayTo { wallet, price_per_mb_wei: u128::from(price) });
        Ok(hs)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataMessage<'a> {
    Request { piece: u32 },
    Data { piece: u32, total_size: u64, data: &'a [u8] },
    Reject { piece: u32 },
}

impl<'a> MetadataMessage<'a> {
    pub fn encode(&self) -> Vec<u8> {
        let (kind, piece) = match self {
            MetadataMessage::Request { piece } => (0, piece),
            MetadataMessage::Data { piece, .. } => (1, piece),
            MetadataMessage::Reject { piece } => (2, piece),
        };
        let mut d: Dict<'_> = BTreeMap::new();
        d.insert(Cow::Borrowed(&b"msg_type"[..]), Value::Int(kind));
        d.insert(Cow::Borrowed(&b"piece"[..]), Value::Int(i64::from(*piece)));
        if let MetadataMessage::Data { total_size, .. } = self {
            d.insert(Cow::Borrowed(&b"total_size"[..]), Value::Int(*total_size as i64));
        }
        let mut out = Value::Dict(d).encode();
        if let MetadataMessage::Data { data, .. } = self {
            out.extend_from_slice(data);
        }
        out
    }

    pub fn parse(payload: &'a [u8]) -> Result<Self, ExtensionError> {
        let (value, used) = bencode::parse_prefix_lenient(payload)?;
        let d = value.as_dict().ok_or(ExtensionError::Field("ut_metadata"))?;
        let piece = d.u64_field("piece").and_then(|p| u32::try_from(p).ok()).ok_or(ExtensionError::Field("piece"))?;
        let rest = &payload[used..];
        match d.int_field("msg_type") {
            Some(0) => Ok(MetadataMessage::Request { piece }),
            Some(1) => {
                let total_size = d.u64_field("total_size").ok_or(ExtensionError::Field("total_size"))?;
                if rest.len() > METADATA_PIECE {
                    return Err(ExtensionError::Field("data"));
                }
                Ok(MetadataMessage::Data { piece, total_size, data: rest })
            }
            Some(2) => Ok(MetadataMessage::Reject { piece }),
            _ => Err(ExtensionError::Field("msg_type")),
        }
    }
}
