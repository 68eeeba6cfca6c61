//! eD2k messages, client to client and client to server, as typed values: parsed from a
//! [`Packet`] (bounded: every length is checked against the payload) and encoded back.
//! Opcodes and layouts follow aMule 2.3.3 (`OPCodes.h`, `ClientTCPSocket.cpp`,
//! `ServerSocket.cpp`). Chiral speaks the base eDonkey protocol (it announces no eMule
//! extensions), and tolerates eMule's extended packets a peer may send anyway: 64-bit part
//! requests and data, compressed parts, eMule info, queue ranking; anything else is
//! [`ClientMsg::Other`], ignored by the sessions.

use super::packet::{Packet, Reader, PROTO_EDONKEY, PROTO_EMULE};
use super::tag::{encode_tags, parse_tags, Tag};
use super::WireError;

pub type FileHash = [u8; 16];

pub mod op {
    pub const HELLO: u8 = 0x01;
    pub const SENDINGPART: u8 = 0x46;
    pub const REQUESTPARTS: u8 = 0x47;
    pub const FILEREQANSNOFIL: u8 = 0x48;
    pub const END_OF_DOWNLOAD: u8 = 0x49;
    pub const HELLOANSWER: u8 = 0x4C;
    pub const SETREQFILEID: u8 = 0x4F;
    pub const FILESTATUS: u8 = 0x50;
    pub const HASHSETREQUEST: u8 = 0x51;
    pub const HASHSETANSWER: u8 = 0x52;
    pub const STARTUPLOADREQ: u8 = 0x54;
    pub const ACCEPTUPLOADREQ: u8 = 0x55;
    pub const CANCELTRANSFER: u8 = 0x56;
    pub const OUTOFPARTREQS: u8 = 0x57;
    pub const REQUESTFILENAME: u8 = 0x58;
    pub const REQFILENAMEANSWER: u8 = 0x59;
    pub const QUEUERANK: u8 = 0x5C;
    // eMule extended (protocol 0xC5).
    pub const EMULEINFO: u8 = 0x01;
    pub const EMULEINFOANSWER: u8 = 0x02;
    pub const COMPRESSEDPART: u8 = 0x40;
    pub const QUEUERANKING: u8 = 0x60;
    pub const COMPRESSEDPART_I64: u8 = 0xA1;
    pub const SENDINGPART_I64: u8 = 0xA2;
    pub const REQUESTPARTS_I64: u8 = 0xA3;
    // Client to server (protocol 0xE3).
    pub const LOGINREQUEST: u8 = 0x01;
    pub const GETSERVERLIST: u8 = 0x14;
    pub const OFFERFILES: u8 = 0x15;
    pub const GETSOURCES: u8 = 0x19;
    pub const SERVERSTATUS: u8 = 0x34;
    pub const SERVERMESSAGE: u8 = 0x38;
    pub const IDCHANGE: u8 = 0x40;
    pub const FOUNDSOURCES: u8 = 0x42;
}

/// Hello and hello answer: who a client is.
#[derive(Debug, Clone, PartialEq)]
pub struct Hello {
    pub user_hash: [u8; 16],
    /// The client's ID: its IPv4 address as `u32::from_le_bytes(octets)` (a "high ID"), or
    /// below 2^24 for a firewalled "low ID" client.
    pub client_id: u32,
    pub port: u16,
    pub tags: Vec<Tag>,
    /// The server it is logged into (IPv4 as above, port), zero if none.
    pub server: (u32, u16),
}

/// Three `[start, end)` ranges per part request; an unused slot is `(0, 0)`.
pub type PartRanges = [(u64, u64); 3];

#[derive(Debug, Clone, PartialEq)]
pub enum ClientMsg {
    Hello(Hello),
    HelloAnswer(Hello),
    /// `OP_REQUESTFILENAME`; extended-request bytes after the hash are ignored.
    RequestFileName(FileHash),
    FileName { hash: FileHash, name: Vec<u8> },
    NoFile(FileHash),
    SetReqFileId(FileHash),
    /// `parts == 0` means the sender has the whole file; otherwise one bit per part.
    FileStatus { hash: FileHash, parts: u16, bits: Vec<u8> },
    HashSetRequest(FileHash),
    HashSetAnswer { hash: FileHash, parts: Vec<[u8; 16]> },
    StartUpload(Option<FileHash>),
    AcceptUpload,
    QueueRank(u32),
    RequestParts { hash: FileHash, ranges: PartRanges },
    SendingPart { hash: FileHash, start: u64, end: u64, data: Vec<u8> },
    /// zlib-packed part data: `packed_size` bytes in total starting at `start`, arriving in
    /// several packets (eMule `OP_COMPRESSEDPART`).
    CompressedPart { hash: FileHash, start: u64, packed_size: u32, data: Vec<u8> },
    CancelTransfer,
    OutOfPartReqs,
    EndOfDownload(FileHash),
    EmuleInfo { answer: bool, version: u8, protocol: u8, tags: Vec<Tag> },
    Other { proto: u8, opcode: u8 },
}

/// The largest hashset accepted: a 4 TiB file's.
pub const MAX_HASHSET: usize = 460_000;

fn hello_parse(r: &mut Reader<'_>) -> Result<Hello, WireError> {
    let user_hash = r.hash()?;
    let client_id = r.u32()?;
    let port = r.u16()?;
    let tags = parse_tags(r)?;
    let server = if r.remaining() >= 6 { (r.u32()?, r.u16()?) } else { (0, 0) };
    Ok(Hello { user_hash, client_id, port, tags, server })
}

fn hello_encode(h: &Hello, out: &mut Vec<u8>) {
    out.extend_from_slice(&h.user_hash);
    out.extend_from_slice(&h.client_id.to_le_bytes());
    out.extend_from_slice(&h.port.to_le_bytes());
    encode_tags(&h.tags, out);
    out.extend_from_slice(&h.server.0.to_le_bytes());
    out.extend_from_slice(&h.server.1.to_le_bytes());
}

impl ClientMsg {
    /// Parses a client-to-client packet. An unknown opcode is [`ClientMsg::Other`], not an
    /// error; a known one with a malformed payload is.
    pub fn parse(p: &Packet) -> Result<Self, WireError> {
        let mut r = Reader::new(&p.payload);
        let m = match (p.proto, p.opcode) {
            (PROTO_EDONKEY, op::HELLO) => {
                if r.u8()? != 16 {
                    return Err(WireError::Malformed("hello hash size"));
                }
                ClientMsg::Hello(hello_parse(&mut r)?)
            }
            (PROTO_EDONKEY, op::HELLOANSWER) => ClientMsg::HelloAnswer(hello_parse(&mut r)?),
            (PROTO_EDONKEY, op::REQUESTFILENAME) => ClientMsg::RequestFileName(r.hash()?),
            (PROTO_EDONKEY, op::REQFILENAMEANSWER) => {
                let hash = r.hash()?;
                let len = r.u16()? as usize;
                ClientMsg::FileName { hash, name: r.take(len)?.to_vec() }
            }
            (PROTO_EDONKEY, op::FILEREQANSNOFIL) => ClientMsg::NoFile(r.hash()?),
            (PROTO_EDONKEY, op::SETREQFILEID) => ClientMsg::SetReqFileId(r.hash()?),
            (PROTO_EDONKEY, op::FILESTATUS) => {
                let hash = r.hash()?;
                let parts = r.u16()?;
                ClientMsg::FileStatus { hash, parts, bits: r.take(parts.div_ceil(8) as usize)?.to_vec() }
            }
            (PROTO_EDONKEY, op::HASHSETREQUEST) => ClientMsg::HashSetRequest(r.hash()?),
            (PROTO_EDONKEY, op::HASHSETANSWER) => {
                let hash = r.hash()?;
                let n = r.u16()? as usize;
                let parts = (0..n).map(|_| r.hash()).collect::<Result<_, _>>()?;
                ClientMsg::HashSetAnswer { hash, parts }
            }
            (PROTO_EDONKEY, op::STARTUPLOADREQ) => ClientMsg::StartUpload(if r.remaining() >= 16 { Some(r.hash()?) } else { None }),
            (PROTO_EDONKEY, op::ACCEPTUPLOADREQ) => ClientMsg::AcceptUpload,
            (PROTO_EDONKEY, op::QUEUERANK) => ClientMsg::QueueRank(r.u32()?),
            (PROTO_EMULE, op::QUEUERANKING) => ClientMsg::QueueRank(r.u16()?.into()),
            (PROTO_EDONKEY, op::REQUESTPARTS) => {
                let hash = r.hash()?;
                let s = [r.u32()?, r.u32()?, r.u32()?];
                let e = [r.u32()?, r.u32()?, r.u32()?];
                ClientMsg::RequestParts { hash, ranges: std::array::from_fn(|i| (s[i].into(), e[i].into())) }
            }
            (PROTO_EMULE, op::REQUESTPARTS_I64) => {
                let hash = r.hash()?;
                let s = [r.u64()?, r.u64()?, r.u64()?];
                let e = [r.u64()?, r.u64()?, r.u64()?];
                ClientMsg::RequestParts { hash, ranges: std::array::from_fn(|i| (s[i], e[i])) }
            }
            (PROTO_EDONKEY, op::SENDINGPART) => {
                let hash = r.hash()?;
                let (start, end) = (r.u32()?.into(), r.u32()?.into());
                ClientMsg::SendingPart { hash, start, end, data: r.rest().to_vec() }
            }
            (PROTO_EMULE, op::SENDINGPART_I64) => {
                let hash = r.hash()?;
                let (start, end) = (r.u64()?, r.u64()?);
                ClientMsg::SendingPart { hash, start, end, data: r.rest().to_vec() }
            }
            (PROTO_EMULE, op::COMPRESSEDPART) => {
                let hash = r.hash()?;
                let start = r.u32()?.into();
                let packed_size = r.u32()?;
                ClientMsg::CompressedPart { hash, start, packed_size, data: r.rest().to_vec() }
            }
            (PROTO_EMULE, op::COMPRESSEDPART_I64) => {
                let hash = r.hash()?;
                let start = r.u64()?;
                let packed_size = r.u32()?;
                ClientMsg::CompressedPart { hash, start, packed_size, data: r.rest().to_vec() }
            }
            (PROTO_EDONKEY, op::CANCELTRANSFER) => ClientMsg::CancelTransfer,
            (PROTO_EDONKEY, op::OUTOFPARTREQS) => ClientMsg::OutOfPartReqs,
            (PROTO_EDONKEY, op::END_OF_DOWNLOAD) => ClientMsg::EndOfDownload(r.hash()?),
            (PROTO_EMULE, op::EMULEINFO) | (PROTO_EMULE, op::EMULEINFOANSWER) => {
                let (version, protocol) = (r.u8()?, r.u8()?);
                ClientMsg::EmuleInfo { answer: p.opcode == op::EMULEINFOANSWER, version, protocol, tags: parse_tags(&mut r)? }
            }
            (proto, opcode) => ClientMsg::Other { proto, opcode },
        };
        Ok(m)
    }

    /// The packet for this message (base eDonkey opcodes where one exists; 64-bit variants
    /// only for offsets past 4 GiB).
    pub fn to_packet(&self) -> Packet {
        let mut out = Vec::new();
        let (proto, opcode) = match self {
            ClientMsg::Hello(h) => {
                out.push(16);
                hello_encode(h, &mut out);
                (PROTO_EDONKEY, op::HELLO)
            }
            ClientMsg::HelloAnswer(h) => {
                hello_encode(h, &mut out);
                (PROTO_EDONKEY, op::HELLOANSWER)
            }
            ClientMsg::RequestFileName(h) => {
                out.extend_from_slice(h);
                (PROTO_EDONKEY, op::REQUESTFILENAME)
            }
            ClientMsg::FileName { hash, name } => {
                out.extend_from_slice(hash);
                let name = &name[..name.len().min(u16::MAX as usize)];
                out.extend_from_slice(&(name.len() as u16).to_le_bytes());
                out.extend_from_slice(name);
                (PROTO_EDONKEY, op::REQFILENAMEANSWER)
            }
            ClientMsg::NoFile(h) => {
                out.extend_from_slice(h);
                (PROTO_EDONKEY, op::FILEREQANSNOFIL)
            }
            ClientMsg::SetReqFileId(h) => {
                out.extend_from_slice(h);
                (PROTO_EDONKEY, op::SETREQFILEID)
            }
            ClientMsg::FileStatus { hash, parts, bits } => {
                out.extend_from_slice(hash);
                out.extend_from_slice(&parts.to_le_bytes());
                out.extend_from_slice(bits);
                (PROTO_EDONKEY, op::FILESTATUS)
            }
            ClientMsg::HashSetRequest(h) => {
                out.extend_from_slice(h);
                (PROTO_EDONKEY, op::HASHSETREQUEST)
            }
            ClientMsg::HashSetAnswer { hash, parts } => {
                out.extend_from_slice(hash);
                out.extend_from_slice(&(parts.len() as u16).to_le_bytes());
                for p in parts {
                    out.extend_from_slice(p);
                }
                (PROTO_EDONKEY, op::HASHSETANSWER)
            }
            ClientMsg::StartUpload(h) => {
                if let Some(h) = h {
                    out.extend_from_slice(h);
                }
                (PROTO_EDONKEY, op::STARTUPLOADREQ)
            }
            ClientMsg::AcceptUpload => (PROTO_EDONKEY, op::ACCEPTUPLOADREQ),
            ClientMsg::QueueRank(rank) => {
                out.extend_from_slice(&rank.to_le_bytes());
                (PROTO_EDONKEY, op::QUEUERANK)
            }
            ClientMsg::RequestParts { hash, ranges } => {
                out.extend_from_slice(hash);
                if ranges.iter().all(|&(s, e)| s <= u32::MAX as u64 && e <= u32::MAX as u64) {
                    for (s, _) in ranges {
                        out.extend_from_slice(&(*s as u32).to_le_bytes());
                    }
                    for (_, e) in ranges {
                        out.extend_from_slice(&(*e as u32).to_le_bytes());
                    }
                    (PROTO_EDONKEY, op::REQUESTPARTS)
                } else {
                    for (s, _) in ranges {
                        out.extend_from_slice(&s.to_le_bytes());
                    }
                    for (_, e) in ranges {
                        out.extend_from_slice(&e.to_le_bytes());
                    }
                    (PROTO_EMULE, op::REQUESTPARTS_I64)
                }
            }
            ClientMsg::SendingPart { hash, start, end, data } => {
                out.extend_from_slice(hash);
                let opcode = if *end <= u32::MAX as u64 {
                    out.extend_from_slice(&(*start as u32).to_le_bytes());
                    out.extend_from_slice(&(*end as u32).to_le_bytes());
                    (PROTO_EDONKEY, op::SENDINGPART)
                } else {
                    out.extend_from_slice(&start.to_le_bytes());
                    out.extend_from_slice(&end.to_le_bytes());
                    (PROTO_EMULE, op::SENDINGPART_I64)
                };
                out.extend_from_slice(data);
                opcode
            }
            ClientMsg::CompressedPart { hash, start, packed_size, data } => {
                out.extend_from_slice(hash);
                let opcode = if *start <= u32::MAX as u64 {
                    out.extend_from_slice(&(*start as u32).to_le_bytes());
                    op::COMPRESSEDPART
                } else {
                    out.extend_from_slice(&start.to_le_bytes());
                    op::COMPRESSEDPART_I64
                };
                out.extend_from_slice(&packed_size.to_le_bytes());
                out.extend_from_slice(data);
                (PROTO_EMULE, opcode)
            }
            ClientMsg::CancelTransfer => (PROTO_EDONKEY, op::CANCELTRANSFER),
            ClientMsg::OutOfPartReqs => (PROTO_EDONKEY, op::OUTOFPARTREQS),
            ClientMsg::EndOfDownload(h) => {
                out.extend_from_slice(h);
                (PROTO_EDONKEY, op::END_OF_DOWNLOAD)
            }
            ClientMsg::EmuleInfo { answer, version, protocol, tags } => {
                out.push(*version);
                out.push(*protocol);
                encode_tags(tags, &mut out);
                (PROTO_EMULE, if *answer { op::EMULEINFOANSWER } else { op::EMULEINFO })
            }
            ClientMsg::Other { proto, opcode } => (*proto, *opcode),
        };
        Packet::new(proto, opcode, out)
    }
}

/// Client ↔ server messages (the relay answers logins and source requests).
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMsg {
    Login { user_hash: [u8; 16], client_id: u32, port: u16, tags: Vec<Tag> },
    /// The ID the server gives the client, and its TCP flags.
    IdChange { client_id: u32, flags: u32 },
    GetSources { hash: FileHash, size: u64 },
    /// Sources as `(client ID, port)`.
    FoundSources { hash: FileHash, sources: Vec<(u32, u16)> },
    Message(Vec<u8>),
    Status { users: u32, files: u32 },
    Other { proto: u8, opcode: u8 },
}

impl ServerMsg {
    /// Whether an opcode-0x01 eDonkey payload is a login (hash, ID, port, tags, nothing
    /// after) rather than a hello (a leading 16, and the server address after the tags):
    /// lets one port speak both the client and the server protocol.
    pub fn is_login(payload: &[u8]) -> bool {
        let mut r = Reader::new(payload);
        let parsed = (|| -> Result<(), WireError> {
            r.hash()?;
            r.u32()?;
            r.u16()?;
            parse_tags(&mut r)?;
            Ok(())
        })();
        parsed.is_ok() && r.remaining() == 0
    }

    pub fn parse(p: &Packet) -> Result<Self, WireError> {
        let mut r = Reader::new(&p.payload);
        let m = match (p.proto, p.opcode) {
            (PROTO_EDONKEY, op::LOGINREQUEST) => {
                let user_hash = r.hash()?;
                let client_id = r.u32()?;
                let port = r.u16()?;
                ServerMsg::Login { user_hash, client_id, port, tags: parse_tags(&mut r)? }
            }
            (PROTO_EDONKEY, op::IDCHANGE) => {
                let client_id = r.u32()?;
                let flags = if r.remaining() >= 4 { r.u32()? } else { 0 };
                ServerMsg::IdChange { client_id, flags }
            }
            (PROTO_EDONKEY, op::GETSOURCES) => {
                let hash = r.hash()?;
                let small = r.u32()?;
                let size = if small == 0 && r.remaining() >= 8 { r.u64()? } else { small.into() };
                ServerMsg::GetSources { hash, size }
            }
            (PROTO_EDONKEY, op::FOUNDSOURCES) => {
                let hash = r.hash()?;
                let n = r.u8()?;
                let sources = (0..n).map(|_| Ok((r.u32()?, r.u16()?))).collect::<Result<_, WireError>>()?;
                ServerMsg::FoundSources { hash, sources }
            }
            (PROTO_EDONKEY, op::SERVERMESSAGE) => {
                let len = r.u16()? as usize;
                ServerMsg::Message(r.take(len)?.to_vec())
            }
            (PROTO_EDONKEY, op::SERVERSTATUS) => ServerMsg::Status { users: r.u32()?, files: r.u32()? },
            (proto, opcode) => ServerMsg::Other { proto, opcode },
        };
        Ok(m)
    }

    pub fn to_packet(&self) -> Packet {
        let mut out = Vec::new();
        let opcode = match self {
            ServerMsg::Login { user_hash, client_id, port, tags } => {
                out.extend_from_slice(user_hash);
                out.extend_from_slice(&client_id.to_le_bytes());
                out.extend_from_slice(&port.to_le_bytes());
                encode_tags(tags, &mut out);
                op::LOGINREQUEST
            }
            ServerMsg::IdChange { client_id, flags } => {
                out.extend_from_slice(&client_id.to_le_bytes());
                out.extend_from_slice(&flags.to_le_bytes());
                op::IDCHANGE
            }
            ServerMsg::GetSources { hash, size } => {
                out.extend_from_slice(hash);
                if *size <= u32::MAX as u64 {
                    out.extend_from_slice(&(*size as u32).to_le_bytes());
                } else {
                    out.extend_from_slice(&0u32.to_le_bytes());
                    out.extend_from_slice(&size.to_le_bytes());
                }
                op::GETSOURCES
            }
            ServerMsg::FoundSources { hash, sources } => {
                out.extend_from_slice(hash);
                let n = sources.len().min(u8::MAX as usize);
                out.push(n as u8);
                for (id, port) in &sources[..n] {
                    out.extend_from_slice(&id.to_le_bytes());
                    out.extend_from_slice(&port.to_le_bytes());
                }
                op::FOUNDSOURCES
            }
            ServerMsg::Message(text) => {
                let text = &text[..text.len().min(u16::MAX as usize)];
                out.extend_from_slice(&(text.len() as u16).to_le_bytes());
                out.extend_from_slice(text);
                op::SERVERMESSAGE
            }
            ServerMsg::Status { users, files } => {
                out.extend_from_slice(&users.to_le_bytes());
                out.extend_from_slice(&files.to_le_bytes());
                op::SERVERSTATUS
            }
            ServerMsg::Other { proto, opcode } => return Packet::new(*proto, *opcode, out),
        };
        Packet::new(PROTO_EDONKEY, opcode, out)
    }
}

/// A client ID for an IPv4 address, as eD2k writes it (`u32` LE of the octets).
pub fn client_id(ip: std::net::Ipv4Addr) -> u32 {
    u32::from_le_bytes(ip.octets())
}

/// The IPv4 address a high client ID names.
pub fn id_ip(id: u32) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::from(id.to_le_bytes())
}
