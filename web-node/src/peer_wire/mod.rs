//! The BitTorrent peer wire protocol (BEP 3, with the BEP 10 extension bit), as pure codecs:
//! `parse(&[u8]) -> Result<Option<(Message, used)>, WireError>` (None: need more bytes) and
//! `encode_into(&mut Vec<u8>)`. Zero-copy: `Message<'a>` borrows payloads from the input.
//! Every length is bounded before anything is buffered, so a peer cannot make us hold more
//! than [`MAX_MESSAGE_BYTES`] for one message.
//!
//! ```text
//! handshake  <19>"BitTorrent protocol"<reserved 8><info_hash 20><peer_id 20>
//! message    <len u32 BE><id u8><payload>      (len 0 = keep-alive)
//! ```
//! [`extension`] holds the BEP 10 handshake and BEP 9 `ut_metadata` payloads; [`info`] the
//! info dict they carry (single file or folder).

pub mod extension;
pub mod info;

pub const PROTOCOL: &[u8; 19] = b"BitTorrent protocol";
pub const HANDSHAKE_LEN: usize = 68;
/// Blocks are requested in 16 KiB units; larger requests are refused (as every client does).
pub const BLOCK_SIZE: u32 = 16 * 1024;
/// Largest message accepted: a bitfield for 2^20 pieces is 128 KiB; a piece message
/// carries one block. Anything longer is an error, not a buffer.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

pub type Id20 = [u8; 20];

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("not a BitTorrent handshake")]
    BadHandshake,
    #[error("message of {0} bytes is larger than the {MAX_MESSAGE_BYTES} allowed")]
    TooLarge(usize),
    #[error("message id {id} has a payload of {len} bytes, which is malformed")]
    BadLength { id: u8, len: usize },
}

/// The 68-byte opening of every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake {
    pub reserved: [u8; 8],
    pub info_hash: Id20,
    pub peer_id: Id20,
}

impl Handshake {
    /// A handshake announcing BEP 10 extension support.
    /// A handshake announcing BEP 10 extensions and the BEP 6 fast extension.
    pub fn new(info_hash: Id20, peer_id: Id20) -> Self {
        let mut reserved = [0u8; 8];
        reserved[5] |= 0x10;
        reserved[7] |= 0x04;
        Self { reserved, info_hash, peer_id }
    }

    pub fn supports_extensions(&self) -> bool {
        self.reserved[5] & 0x10 != 0
    }

    pub fn supports_fast(&self) -> bool {
        self.reserved[7] & 0x04 != 0
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(PROTOCOL.len() as u8);
        out.extend_from_slice(PROTOCOL);
        out.extend_from_slice(&self.reserved);
        out.extend_from_slice(&self.info_hash);
        out.extend_from_slice(&self.peer_id);
    }

    /// `Ok(None)` until 68 bytes are there; an error as soon as the prefix is wrong.
    pub fn parse(input: &[u8]) -> Result<Option<(Self, usize)>, WireError> {
        let known = input.len().min(20);
        let mut expected = [0u8; 20];
        expected[0] = 19;
        expected[1..].copy_from_slice(PROTOCOL);
        if input[..known] != expected[..known] {
            return Err(WireError::BadHandshake);
        }
        if input.len() < HANDSHAKE_LEN {
            return Ok(None);
        }
        let mut hs = Handshake { reserved: [0; 8], info_hash: [0; 20], peer_id: [0; 20] };
        hs.reserved.copy_from_slice(&input[20..28]);
        hs.info_hash.copy_from_slice(&input[28..48]);
        hs.peer_id.copy_from_slice(&input[48..68]);
        Ok(Some((hs, HANDSHAKE_LEN)))
    }
}

/// A block of a piece: `length` bytes at `begin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockRef {
    pub index: u32,
    pub begin: u32,
    pub length: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    KeepAlive,
    Choke,
    Unchoke,
    Interested,
    NotInterested,
    Have(u32),
    Bitfield(&'a [u8]),
    Request(BlockRef),
    Piece { index: u32, begin: u32, data: &'a [u8] },
    Cancel(BlockRef),
    /// BEP 5: the sender's DHT port (tolerated, unused in the browser).
    Port(u16),
    /// BEP 6 (fast extension, when both handshakes set it): the sender has every piece,
    /// no piece, or refuses a request.
    HaveAll,
    HaveNone,
    Reject(BlockRef),
    /// BEP 10: `id` 0 is the extended handshake, others are the ids the receiver assigned.
    Extended { id: u8, payload: &'a [u8] },
    /// Ids this node does not speak (BEP 6 fast extension, …): skipped, never an error.
    Unknown { id: u8, payload: &'a [u8] },
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

impl<'a> Message<'a> {
    /// Parses one length-prefixed message from the start of `input`.
    pub fn parse(input: &'a [u8]) -> Result<Option<(Self, usize)>, WireError> {
        if input.len() < 4 {
            return Ok(None);
        }
        let len = be32(input) as usize;
        if len > MAX_MESSAGE_BYTES {
            return Err(WireError::TooLarge(len));
        }
        if input.len() < 4 + len {
            return Ok(None);
        }
        let used = 4 + len;
        if len == 0 {
            return Ok(Some((Message::KeepAlive, used)));
        }
        let id = input[4];
        let p = &input[5..used];
        let bad = || WireError::BadLength { id, len: p.len() };
        let block = |p: &[u8]| BlockRef { index: be32(p), begin: be32(&p[4..]), length: be32(&p[8..]) };
        let message = match id {
            0..=3 if !p.is_empty() => return Err(bad()),
            0 => Message::Choke,
            1 => Message::Unchoke,
            2 => Message::Interested,
            3 => Message::NotInterested,
            4 if p.len() != 4 => return Err(bad()),
            4 => Message::Have(be32(p)),
            5 => Message::Bitfield(p),
            6 | 8 if p.len() != 12 => return Err(bad()),
            6 => Message::Request(block(p)),
            8 => Message::Cancel(block(p)),
            7 if p.len() < 8 => return Err(bad()),
            7 => Message::Piece { index: be32(p), begin: be32(&p[4..]), data: &p[8..] },
            9 if p.len() != 2 => return Err(bad()),
            9 => Message::Port(u16::from_be_bytes([p[0], p[1]])),
            0x0e | 0x0f if !p.is_empty() => return Err(bad()),
            0x0e => Message::HaveAll,
            0x0f => Message::HaveNone,
            0x10 if p.len() != 12 => return Err(bad()),
            0x10 => Message::Reject(block(p)),
            20 if p.is_empty() => return Err(bad()),
            20 => Message::Extended { id: p[0], payload: &p[1..] },
            _ => Message::Unknown { id, payload: p },
        };
        Ok(Some((message, used)))
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let header = |out: &mut Vec<u8>, id: u8, payload_len: usize| {
            out.extend_from_slice(&((1 + payload_len) as u32).to_be_bytes());
            out.push(id);
        };
        let block = |out: &mut Vec<u8>, id: u8, b: &BlockRef| {
            header(out, id, 12);
            out.extend_from_slice(&b.index.to_be_bytes());
            out.extend_from_slice(&b.begin.to_be_bytes());
            out.extend_from_slice(&b.length.to_be_bytes());
        };
        match self {
            Message::KeepAlive => out.extend_from_slice(&[0; 4]),
            Message::Choke => header(out, 0, 0),
            Message::Unchoke => header(out, 1, 0),
            Message::Interested => header(out, 2, 0),
            Message::NotInterested => header(out, 3, 0),
            Message::Have(i) => {
                header(out, 4, 4);
                out.extend_from_slice(&i.to_be_bytes());
            }
            Message::Bitfield(bits) => {
                header(out, 5, bits.len());
                out.extend_from_slice(bits);
            }
            Message::Request(b) => block(out, 6, b),
            Message::Piece { index, begin, data } => {
                header(out, 7, 8 + data.len());
                out.extend_from_slice(&index.to_be_bytes());
                out.extend_from_slice(&begin.to_be_bytes());
                out.extend_from_slice(data);
            }
            Message::Cancel(b) => block(out, 8, b),
            Message::Port(p) => {
                header(out, 9, 2);
                out.extend_from_slice(&p.to_be_bytes());
            }
            Message::HaveAll => header(out, 0x0e, 0),
            Message::HaveNone => header(out, 0x0f, 0),
            Message::Reject(b) => block(out, 0x10, b),
            Message::Extended { id, payload } => {
                header(out, 20, 1 + payload.len());
                out.push(*id);
                out.extend_from_slice(payload);
            }
            Message::Unknown { id, payload } => {
                header(out, *id, payload.len());
                out.extend_from_slice(payload);
            }
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }
}

/// Which pieces a peer has, most significant bit first (BEP 3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bitfield {
    bits: Vec<u8>,
    len: u32,
    ones: u32,
}

impl Bitfield {
    pub fn new(len: u32) -> Self {
        Self { bits: vec![0; (len as usize).div_ceil(8)], len, ones: 0 }
    }

    pub fn full(len: u32) -> Self {
        let mut b = Self::new(len);
        for i in 0..len {
            b.set(i);
        }
        b
    }

    /// A peer's bitfield: the right byte length and no spare bits set.
    pub fn from_bytes(bytes: &[u8], len: u32) -> Option<Self> {
        if bytes.len() != (len as usize).div_ceil(8) {
            return None;
        }
        let spare = (8 - len % 8) % 8;
        if spare > 0 && bytes.last().is_some_and(|b| b & ((1u8 << spare) - 1) != 0) {
            return None;
        }
        let ones = bytes.iter().map(|b| b.count_ones()).sum();
        Some(Self { bits: bytes.to_vec(), len, ones })
    }

    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn count(&self) -> u32 {
        self.ones
    }

    pub fn is_full(&self) -> bool {
        self.ones == self.len
    }

    pub fn get(&self, i: u32) -> bool {
        i < self.len && self.bits[(i / 8) as usize] & (0x80 >> (i % 8)) != 0
    }

    /// Sets bit `i`; returns whether it was newly set.
    pub fn set(&mut self, i: u32) -> bool {
        if i >= self.len || self.get(i) {
            return false;
        }
        self.bits[(i / 8) as usize] |= 0x80 >> (i % 8);
        self.ones += 1;
        true
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bits
    }

    pub fn ones(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.len).filter(|i| self.get(*i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_round_trip_and_early_rejection() {
        let hs = Handshake::new([1; 20], [2; 20]);
        let mut buf = Vec::new();
        hs.encode_into(&mut buf);
        assert_eq!(buf.len(), HANDSHAKE_LEN);
        assert_eq!(Handshake::parse(&buf[..30]), Ok(None));
        assert_eq!(Handshake::parse(&buf), Ok(Some((hs, 68))));
        assert!(hs.supports_extensions());
        assert_eq!(Handshake::parse(b"GET / HTTP/1.1"), Err(WireError::BadHandshake));
    }

    #[test]
    fn bitfield_rejects_spare_bits() {
        assert!(Bitfield::from_bytes(&[0xff, 0x80], 9).is_some());
        assert!(Bitfield::from_bytes(&[0xff, 0xc0], 9).is_none());
        assert!(Bitfield::from_bytes(&[0xff], 9).is_none());
        assert!(Bitfield::full(9).is_full());
    }

    #[test]
    fn oversized_length_is_refused_before_buffering() {
        let mut buf = ((MAX_MESSAGE_BYTES + 1) as u32).to_be_bytes().to_vec();
        buf.push(7);
        assert_eq!(Message::parse(&buf), Err(WireError::TooLarge(MAX_MESSAGE_BYTES + 1)));
    }
}
