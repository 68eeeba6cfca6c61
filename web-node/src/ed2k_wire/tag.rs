//! eD2k tags (aMule `Tag.cpp`): `[type u8][name][value]`. The name is one id byte when the
//! type has bit 0x80 set ("new" tags), else a `u16`-length string (a one-byte string is an
//! id). Values: hash16 (0x01), string (0x02, `u16` length), u32 (0x03), float (0x04),
//! bool (0x05), bool array (0x06), blob (0x07, `u32` length), u16 (0x08), u8 (0x09),
//! bsob (0x0A, `u8` length), u64 (0x0B), and short strings 0x11–0x20 (length = type − 0x10).

use super::packet::Reader;
use super::WireError;

/// Most tags one list may hold (hello and login carry about ten).
pub const MAX_TAGS: u32 = 64;

/// `CT_NAME`: the client's nick.
pub const CT_NAME: u8 = 0x01;
/// `CT_PORT`: the client's TCP port.
pub const CT_PORT: u8 = 0x0F;
/// `CT_VERSION`: the eDonkey protocol version (0x3C).
pub const CT_VERSION: u8 = 0x11;
/// `CT_SERVER_FLAGS`: login capabilities.
pub const CT_SERVER_FLAGS: u8 = 0x20;
/// `CT_EMULE_MISCOPTIONS1`: eMule feature bits (not sent by Chiral: it speaks the base protocol).
pub const CT_EMULE_MISCOPTIONS1: u8 = 0xFA;
/// `CT_EMULE_VERSION`.
pub const CT_EMULE_VERSION: u8 = 0xFB;
/// `CT_EMULE_MISCOPTIONS2`: more feature bits; bit 4 is large files (64-bit offsets).
pub const CT_EMULE_MISCOPTIONS2: u8 = 0xFE;
/// [`CT_EMULE_MISCOPTIONS2`]'s large-file bit (aMule `BaseClient.cpp`).
pub const MISCOPTIONS2_LARGE_FILES: u32 = 1 << 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagName {
    Id(u8),
    Text(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TagValue {
    Hash([u8; 16]),
    Text(Vec<u8>),
    U32(u32),
    Float(f32),
    Bool(bool),
    /// Bit count and the bytes holding them.
    BoolArray(u16, Vec<u8>),
    Blob(Vec<u8>),
    U16(u16),
    U8(u8),
    U64(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    pub name: TagName,
    pub value: TagValue,
}

impl Tag {
    pub fn id(id: u8, value: TagValue) -> Self {
        Self { name: TagName::Id(id), value }
    }

    /// The value as an integer, whatever its integer width.
    pub fn as_u64(&self) -> Option<u64> {
        match self.value {
            TagValue::U8(v) => Some(v.into()),
            TagValue::U16(v) => Some(v.into()),
            TagValue::U32(v) => Some(v.into()),
            TagValue::U64(v) => Some(v),
            _ => None,
        }
    }

    pub fn is(&self, id: u8) -> bool {
        self.name == TagName::Id(id) || self.name == TagName::Text(vec![id])
    }

    fn parse(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let raw = r.u8()?;
        let (ty, name) = if raw & 0x80 != 0 {
            (raw & 0x7f, TagName::Id(r.u8()?))
        } else {
            let len = r.u16()? as usize;
            let bytes = r.take(len)?;
            (raw, if len == 1 { TagName::Id(bytes[0]) } else { TagName::Text(bytes.to_vec()) })
        };
        let value = match ty {
            0x01 => TagValue::Hash(r.hash()?),
            0x02 => {
                let len = r.u16()? as usize;
                TagValue::Text(r.take(len)?.to_vec())
            }
            0x03 => TagValue::U32(r.u32()?),
            0x04 => TagValue::Float(f32::from_le_bytes(r.take(4)?.try_into().expect("4"))),
            0x05 => TagValue::Bool(r.u8()? != 0),
            0x06 => {
                let bits = r.u16()?;
                TagValue::BoolArray(bits, r.take(bits.div_ceil(8) as usize)?.to_vec())
            }
            0x07 => {
                let len = r.u32()? as usize;
                TagValue::Blob(r.take(len)?.to_vec())
            }
            0x08 => TagValue::U16(r.u16()?),
            0x09 => TagValue::U8(r.u8()?),
            0x0A => {
                let len = r.u8()? as usize;
                TagValue::Blob(r.take(len)?.to_vec())
            }
            0x0B => TagValue::U64(r.u64()?),
            0x11..=0x20 => TagValue::Text(r.take((ty - 0x10) as usize)?.to_vec()),
            other => return Err(WireError::TagType(other)),
        };
        Ok(Tag { name, value })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let ty: u8 = match &self.value {
            TagValue::Hash(_) => 0x01,
            TagValue::Text(_) => 0x02,
            TagValue::U32(_) => 0x03,
            TagValue::Float(_) => 0x04,
            TagValue::Bool(_) => 0x05,
            TagValue::BoolArray(..) => 0x06,
            TagValue::Blob(_) => 0x07,
            TagValue::U16(_) => 0x08,
            TagValue::U8(_) => 0x09,
            TagValue::U64(_) => 0x0B,
        };
        match &self.name {
            TagName::Id(id) => {
                out.push(ty | 0x80);
                out.push(*id);
            }
            TagName::Text(name) => {
                out.push(ty);
                out.extend_from_slice(&(name.len() as u16).to_le_bytes());
                out.extend_from_slice(name);
            }
        }
        match &self.value {
            TagValue::Hash(h) => out.extend_from_slice(h),
            TagValue::Text(t) => {
                out.extend_from_slice(&(t.len() as u16).to_le_bytes());
                out.extend_from_slice(t);
            }
            TagValue::U32(v) => out.extend_from_slice(&v.to_le_bytes()),
            TagValue::Float(v) => out.extend_from_slice(&v.to_le_bytes()),
            TagValue::Bool(v) => out.push(*v as u8),
            TagValue::BoolArray(bits, bytes) => {
                out.extend_from_slice(&bits.to_le_bytes());
                out.extend_from_slice(bytes);
            }
            TagValue::Blob(b) => {
                out.extend_from_slice(&(b.len() as u32).to_le_bytes());
                out.extend_from_slice(b);
            }
            TagValue::U16(v) => out.extend_from_slice(&v.to_le_bytes()),
            TagValue::U8(v) => out.push(*v),
            TagValue::U64(v) => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
}

/// `[count u32][tag]*`, at most [`MAX_TAGS`].
pub(crate) fn parse_tags(r: &mut Reader<'_>) -> Result<Vec<Tag>, WireError> {
    let count = r.u32()?;
    if count > MAX_TAGS {
        return Err(WireError::TooManyTags(count));
    }
    (0..count).map(|_| Tag::parse(r)).collect()
}

pub(crate) fn encode_tags(tags: &[Tag], out: &mut Vec<u8>) {
    out.extend_from_slice(&(tags.len() as u32).to_le_bytes());
    for t in tags {
        t.encode(out);
    }
}
