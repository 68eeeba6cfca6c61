//! eD2k TCP framing: `[protocol u8][size u32 LE][opcode u8][payload]`, `size` counting the
//! opcode and payload. Protocols: 0xE3 (eDonkey), 0xC5 (eMule extensions), 0xD4 (eMule
//! extensions, payload zlib-packed; aMule `Packet.cpp` `UnPackPacket`).

use super::WireError;

/// The original eDonkey protocol byte.
pub const PROTO_EDONKEY: u8 = 0xE3;
/// eMule's extended protocol byte.
pub const PROTO_EMULE: u8 = 0xC5;
/// eMule's packed (zlib) protocol byte; unpacked packets are eMule packets.
pub const PROTO_PACKED: u8 = 0xD4;

/// Largest packet (opcode + payload) accepted, packed or unpacked: eMule sends file data
/// in 10 KiB packets and a hashset of a 256 GiB file fits in 450 KiB.
pub const MAX_PACKET: usize = 512 * 1024;

/// One packet, unpacked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// [`PROTO_EDONKEY`] or [`PROTO_EMULE`] (a packed packet is unpacked to eMule).
    pub proto: u8,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl Packet {
    pub fn new(proto: u8, opcode: u8, payload: Vec<u8>) -> Self {
        Self { proto, opcode, payload }
    }

    /// The bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(6 + self.payload.len());
        out.push(self.proto);
        out.extend_from_slice(&(self.payload.len() as u32 + 1).to_le_bytes());
        out.push(self.opcode);
        out.extend_from_slice(&self.payload);
        out
    }
}

/// Splits a byte stream into packets. Bounded: a declared size over [`MAX_PACKET`], an
/// unknown protocol byte or a packed payload that inflates past [`MAX_PACKET`] is an error
/// (the connection is to be dropped); partial packets wait for more bytes.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes held that are not yet a whole packet.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole packet, if one is buffered.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, WireError> {
        if self.buf.len() < 5 {
            return Ok(None);
        }
        let proto = self.buf[0];
        if ![PROTO_EDONKEY, PROTO_EMULE, PROTO_PACKED].contains(&proto) {
            return Err(WireError::Protocol(proto));
        }
        let size = u32::from_le_bytes(self.buf[1..5].try_into().expect("4 bytes")) as usize;
        if size == 0 || size > MAX_PACKET {
            return Err(WireError::Size(size));
        }
        if self.buf.len() < 5 + size {
            return Ok(None);
        }
        let opcode = self.buf[5];
        let payload = self.buf[6..5 + size].to_vec();
        self.buf.drain(..5 + size);
        if proto == PROTO_PACKED {
            let payload = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&payload, MAX_PACKET).map_err(|_| WireError::Packed)?;
            return Ok(Some(Packet::new(PROTO_EMULE, opcode, payload)));
        }
        Ok(Some(Packet::new(proto, opcode, payload)))
    }
}

/// A little-endian reader over a payload; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len()).ok_or(WireError::Truncated)?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, WireError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2")))
    }

    pub fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4")))
    }

    pub fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }

    pub fn hash(&mut self) -> Result<[u8; 16], WireError> {
        Ok(self.take(16)?.try_into().expect("16"))
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.data[self.pos..];
        self.pos = self.data.len();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_split_anywhere_decode_the_same() {
        let a = Packet::new(PROTO_EDONKEY, 0x58, vec![1; 16]);
        let b = Packet::new(PROTO_EMULE, 0x60, vec![2; 12]);
        let mut bytes = a.encode();
        bytes.extend(b.encode());
        for cut in 0..bytes.len() {
            let mut d = Decoder::new();
            d.push(&bytes[..cut]);
            let mut got = Vec::new();
            while let Some(p) = d.next_packet().unwrap() {
                got.push(p);
            }
            d.push(&bytes[cut..]);
            while let Some(p) = d.next_packet().unwrap() {
                got.push(p);
            }
            assert_eq!(got, vec![a.clone(), b.clone()]);
        }
    }

    #[test]
    fn packed_packets_inflate_and_bombs_are_refused() {
        let inner = vec![9u8; 5000];
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(&inner, 6);
        let mut d = Decoder::new();
        d.push(&Packet::new(PROTO_PACKED, 0x40, packed).encode());
        assert_eq!(d.next_packet().unwrap(), Some(Packet::new(PROTO_EMULE, 0x40, inner)));
        let bomb = miniz_oxide::deflate::compress_to_vec_zlib(&vec![0u8; MAX_PACKET + 1], 6);
        let mut d = Decoder::new();
        d.push(&Packet::new(PROTO_PACKED, 0x40, bomb).encode());
        assert_eq!(d.next_packet(), Err(WireError::Packed));
        let mut d = Decoder::new();
        d.push(&[PROTO_EDONKEY, 0xff, 0xff, 0xff, 0x7f]);
        assert!(matches!(d.next_packet(), Err(WireError::Size(_))));
        let mut d = Decoder::new();
        d.push(&[0x47, 1, 0, 0, 0, 0]);
        assert_eq!(d.next_packet(), Err(WireError::Protocol(0x47)));
    }
}
