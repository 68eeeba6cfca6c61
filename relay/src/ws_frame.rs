//! RFC 6455 WebSocket framing, server side, sans-IO: bytes from a client in, whole messages
//! out ([`Decoder`]); unmasked server frames out ([`encode`]).
//!
//! Why not tungstenite: its codec keeps a read buffer per socket for the socket's life
//! (128 KiB by default, zero-filled, so resident). A tracker holds thousands of mostly idle
//! sockets; this decoder holds no allocation between messages ([`Decoder::is_idle`]).
//!
//! Bounds: a data message (all its fragments) is at most `max_message` bytes, a control frame
//! at most 125 and never fragmented; the bytes buffered are at most one frame header (14),
//! one frame's payload and whatever one read brought. No extension is negotiated, so the
//! reserved bits must be 0; client frames must be masked.

/// The largest control frame payload (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;
/// The largest frame header: 2 bytes, a 64-bit length, a 4-byte mask.
pub const MAX_HEADER: usize = 14;

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("reserved bits are set, but no extension was negotiated")]
    Reserved,
    #[error("unknown opcode {0:#x}")]
    UnknownOpcode(u8),
    #[error("a client frame is not masked")]
    Unmasked,
    #[error("a control frame is fragmented or longer than {MAX_CONTROL_PAYLOAD} bytes")]
    BadControl,
    #[error("a message is longer than {max} bytes")]
    TooLarge { max: usize },
    #[error("a continuation frame with no message to continue")]
    StrayContinuation,
    #[error("a new message began before the previous one ended")]
    Interleaved,
    #[error("a text message is not UTF-8")]
    NotUtf8,
}

impl FrameError {
    /// The close code to send back (RFC 6455 §7.4.1).
    pub fn close_code(&self) -> u16 {
        match self {
            FrameError::TooLarge { .. } => 1009,
            FrameError::NotUtf8 => 1007,
            _ => 1002,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
}

impl Opcode {
    fn from_u8(op: u8) -> Result<Self, FrameError> {
        Ok(match op {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            other => return Err(FrameError::UnknownOpcode(other)),
        })
    }

    fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }
}

/// One frame's header as it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub fin: bool,
    pub opcode: Opcode,
    pub mask: Option<[u8; 4]>,
    /// Payload bytes.
    pub len: u64,
    /// Header bytes (2 to 14).
    pub header_len: usize,
}

/// Parses the frame header at the start of `buf`; `Ok(None)` until enough bytes are there.
pub fn parse_header(buf: &[u8]) -> Result<Option<Header>, FrameError> {
    let [b0, b1, rest @ ..] = buf else { return Ok(None) };
    if b0 & 0x70 != 0 {
        return Err(FrameError::Reserved);
    }
    let fin = b0 & 0x80 != 0;
    let opcode = Opcode::from_u8(b0 & 0x0F)?;
    let masked = b1 & 0x80 != 0;
    let (len, len_bytes) = match b1 & 0x7F {
        126 => match rest {
            [a, b, ..] => (u64::from(u16::from_be_bytes([*a, *b])), 2),
            _ => return Ok(None),
        },
        127 => match rest.get(..8) {
            Some(l) => (u64::from_be_bytes(l.try_into().expect("8 bytes")), 8),
            None => return Ok(None),
        },
        n => (u64::from(n), 0),
    };
    let mask = if masked {
        match rest.get(len_bytes..len_bytes + 4) {
            Some(m) => Some(m.try_into().expect("4 bytes")),
            None => return Ok(None),
        }
    } else {
        None
    };
    if opcode.is_control() && (!fin || len > MAX_CONTROL_PAYLOAD as u64) {
        return Err(FrameError::BadControl);
    }
    Ok(Some(Header { fin, opcode, mask, len, header_len: 2 + len_bytes + if masked { 4 } else { 0 } }))
}

/// Appends one unmasked, final frame (what a server sends) to `out`.
pub fn encode(opcode: Opcode, payload: &[u8], out: &mut Vec<u8>) {
    encode_frame(true, opcode, None, payload, out);
}

/// Appends one frame; `mask` is what a client would use (tests and tools).
pub fn encode_frame(fin: bool, opcode: Opcode, mask: Option<[u8; 4]>, payload: &[u8], out: &mut Vec<u8>) {
    out.reserve(MAX_HEADER + payload.len());
    out.push(if fin { 0x80 } else { 0 } | opcode as u8);
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(m | n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(mask) => {
            out.extend_from_slice(&mask);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
}

/// A close frame's payload: the status code.
pub fn close_payload(code: u16) -> [u8; 2] {
    code.to_be_bytes()
}

/// A whole message from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Text(String),
    Binary(Vec<u8>),
    /// To be answered with a pong carrying the same payload.
    Ping(Vec<u8>),
    /// The client closes; answer with a close frame and end.
    Close,
}

/// Reassembles client messages from bytes as they arrive.
#[derive(Debug)]
pub struct Decoder {
    /// Received, not yet decoded.
    buf: Vec<u8>,
    /// A fragmented data message so far: its opcode and payload.
    partial: Option<(Opcode, Vec<u8>)>,
    max_message: usize,
}

impl Decoder {
    /// `max_message`: the largest data message accepted, in bytes.
    pub fn new(max_message: usize) -> Self {
        Self { buf: Vec::new(), partial: None, max_message }
    }

    /// True when no bytes and no partial message are held (no allocation either).
    pub fn is_idle(&self) -> bool {
        self.buf.capacity() == 0 && self.partial.is_none()
    }

    /// Adds bytes read from the socket; takes `bytes`' allocation when nothing is buffered.
    pub fn push(&mut self, bytes: Vec<u8>) {
        if self.buf.is_empty() {
            self.buf = bytes;
        } else {
            self.buf.extend_from_slice(&bytes);
        }
    }

    /// The next whole message, if the bytes so far hold one. After an error the connection
    /// must be closed (with [`FrameError::close_code`]).
    pub fn next_event(&mut self) -> Result<Option<Event>, FrameError> {
        loop {
            let Some(h) = parse_header(&self.buf)? else { return Ok(None) };
            let Some(mask) = h.mask else { return Err(FrameError::Unmasked) };
            let so_far = self.partial.as_ref().map_or(0, |(_, p)| p.len());
            if !h.opcode.is_control() && h.len > (self.max_message - so_far.min(self.max_message)) as u64 {
                return Err(FrameError::TooLarge { max: self.max_message });
            }
            let end = h.header_len + h.len as usize;
            if self.buf.len() < end {
                return Ok(None);
            }
            let payload: Vec<u8> = self.buf[h.header_len..end].iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect();
            self.consume(end);
            let (opcode, payload) = match (h.opcode, self.partial.take()) {
                (Opcode::Ping, partial) => {
                    self.partial = partial;
                    return Ok(Some(Event::Ping(payload)));
                }
                (Opcode::Pong, partial) => {
                    self.partial = partial;
                    continue;
                }
                (Opcode::Close, _) => return Ok(Some(Event::Close)),
                (Opcode::Continuation, None) => return Err(FrameError::StrayContinuation),
                (Opcode::Continuation, Some((op, mut so_far))) => {
                    so_far.extend_from_slice(&payload);
                    (op, so_far)
                }
                (Opcode::Text | Opcode::Binary, Some(_)) => return Err(FrameError::Interleaved),
                (op, None) => (op, payload),
            };
            if !h.fin {
                self.partial = Some((opcode, payload));
                continue;
            }
            return Ok(Some(match opcode {
                Opcode::Text => Event::Text(String::from_utf8(payload).map_err(|_| FrameError::NotUtf8)?),
                _ => Event::Binary(payload),
            }));
        }
    }

    /// Drops the first `n` buffered bytes; frees the buffer once it is empty.
    fn consume(&mut self, n: usize) {
        if n >= self.buf.len() {
            self.buf = Vec::new();
        } else {
            self.buf.drain(..n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    fn decode_all(bytes: &[u8], splits: &[usize], max: usize) -> Result<Vec<Event>, FrameError> {
        let mut d = Decoder::new(max);
        let mut events = Vec::new();
        let mut at = 0;
        for cut in splits.iter().copied().chain([bytes.len()]) {
            let cut = cut.clamp(at, bytes.len());
            d.push(bytes[at..cut].to_vec());
            at = cut;
            while let Some(e) = d.next_event()? {
                events.push(e);
            }
        }
        assert!(d.is_idle(), "everything decoded, nothing held");
        Ok(events)
    }

    #[test]
    fn rfc_6455_examples() {
        // §5.7: a single-frame masked text message "Hello".
        let hello = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        assert_eq!(decode_all(&hello, &[], 100), Ok(vec![Event::Text("Hello".into())]));
        // The same message, unmasked, is refused from a client.
        assert_eq!(decode_all(&[0x81, 0x05, b'H', b'e', b'l', b'l', b'o'], &[], 100), Err(FrameError::Unmasked));
        let mut out = Vec::new();
        encode(Opcode::Text, b"Hello", &mut out);
        assert_eq!(out, [0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
    }

    #[test]
    fn bounds_and_protocol_errors() {
        let mut big = Vec::new();
        encode_frame(true, Opcode::Text, Some(MASK), &[b'a'; 101], &mut big);
        assert_eq!(decode_all(&big, &[], 100), Err(FrameError::TooLarge { max: 100 }));
        // Fragments add up: 60 + 60 > 100.
        let mut frags = Vec::new();
        encode_frame(false, Opcode::Text, Some(MASK), &[b'a'; 60], &mut frags);
        encode_frame(true, Opcode::Continuation, Some(MASK), &[b'a'; 60], &mut frags);
        assert_eq!(decode_all(&frags, &[], 100), Err(FrameError::TooLarge { max: 100 }));
        // A header announcing a huge frame is refused before any payload arrives.
        assert_eq!(decode_all(&[0x82, 0xFF, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4], &[], 100), Err(FrameError::TooLarge { max: 100 }));
        let mut stray = Vec::new();
        encode_frame(true, Opcode::Continuation, Some(MASK), b"x", &mut stray);
        assert_eq!(decode_all(&stray, &[], 100), Err(FrameError::StrayContinuation));
        let mut ping = Vec::new();
        encode_frame(false, Opcode::Ping, Some(MASK), b"x", &mut ping);
        assert_eq!(decode_all(&ping, &[], 100), Err(FrameError::BadControl));
        assert_eq!(decode_all(&[0xC1, 0x80, 0, 0, 0, 0], &[], 100), Err(FrameError::Reserved));
        let mut bad = Vec::new();
        encode_frame(true, Opcode::Text, Some(MASK), &[0xff, 0xfe], &mut bad);
        assert_eq!(decode_all(&bad, &[], 100), Err(FrameError::NotUtf8));
    }

    fn opcode() -> impl Strategy<Value = Opcode> {
        prop_oneof![Just(Opcode::Text), Just(Opcode::Binary), Just(Opcode::Ping), Just(Opcode::Close)]
    }

    proptest! {
        /// Messages (fragmented at random, pings interleaved) come back whole, however the
        /// bytes are split across reads.
        #[test]
        fn round_trip(
            messages in proptest::collection::vec((opcode(), proptest::collection::vec(any::<u8>(), 0..300), 1usize..4), 1..6),
            mask in any::<[u8; 4]>(),
            splits in proptest::collection::vec(0usize..2000, 0..8),
        ) {
            let mut bytes = Vec::new();
            let mut want = Vec::new();
            for (op, payload, pieces) in messages {
                let payload = if op == Opcode::Text { String::from_utf8_lossy(&payload).into_owned().into_bytes() } else { payload };
                match op {
                    Opcode::Ping | Opcode::Close => {
                        let p = &payload[..payload.len().min(MAX_CONTROL_PAYLOAD)];
                        encode_frame(true, op, Some(mask), p, &mut bytes);
                        want.push(if op == Opcode::Ping { Event::Ping(p.to_vec()) } else { Event::Close });
                    }
                    _ => {
                        let size = payload.len().div_ceil(pieces).max(1);
                        let chunks: Vec<&[u8]> = if payload.is_empty() { vec![&[][..]] } else { payload.chunks(size).collect() };
                        for (i, chunk) in chunks.iter().enumerate() {
                            let op = if i == 0 { op } else { Opcode::Continuation };
                            encode_frame(i + 1 == chunks.len(), op, Some(mask), chunk, &mut bytes);
                        }
                        want.push(if op == Opcode::Text { Event::Text(String::from_utf8(payload).unwrap()) } else { Event::Binary(payload) });
                    }
                }
            }
            let mut splits = splits;
            splits.sort_unstable();
            prop_assert_eq!(decode_all(&bytes, &splits, 1000), Ok(want));
        }

        /// Any bytes at all: an error or events, never a panic, and never more than the bound.
        #[test]
        fn arbitrary_input_is_safe(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut d = Decoder::new(64);
            d.push(bytes);
            while let Ok(Some(e)) = d.next_event() {
                if let Event::Text(t) = &e { prop_assert!(t.len() <= 64) }
                if let Event::Binary(b) = &e { prop_assert!(b.len() <= 64) }
            }
        }
    }
}
