//! eDonkey2000 client-to-client and client-to-server protocol, sans-IO: framing, tags,
//! messages, and the sessions the relay drives (serving files to eD2k clients such as
//! aMule, fetching from them, and answering their logins as a minimal server so they start
//! asking sources). Follows aMule 2.3.3 (`src/OPCodes.h`, `ClientTCPSocket.cpp`,
//! `DownloadClient.cpp`, `UploadClient.cpp`, `ServerSocket.cpp`); no I/O, no clocks.
//!
//! | module | what it is |
//! | --- | --- |
//! | [`packet`] | framing, protocol bytes, zlib-packed packets, the bounded decoder |
//! | [`tag`] | tag lists (hello, login) |
//! | [`message`] | typed client and server messages, parse and encode |
//! | [`upload`] | one connection of a client downloading from us: hello, file, hashset, slot, blocks |
//! | [`download`] | one connection to a source we download from, and [`download::PartPlan`], the parts still missing |
//! | [`server`] | the login/source-request answers of a minimal eD2k server |

pub mod download;
pub mod message;
pub mod packet;
pub mod server;
pub mod tag;
pub mod upload;

pub use message::{ClientMsg, FileHash, Hello, ServerMsg};
pub use packet::{Decoder, Packet};

/// eMule's block: the largest range a client asks for in one request slot (180 KiB).
pub const BLOCK_SIZE: u64 = 184_320;
/// File data is sent in packets of at most this many bytes (eMule's `EMBLOCKSIZE` split).
pub const DATA_PACKET: usize = 10_240;

/// Why a packet or a peer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("unknown protocol byte 0x{0:02x}")]
    Protocol(u8),
    #[error("packet size {0} out of bounds")]
    Size(usize),
    #[error("packed packet does not inflate within bounds")]
    Packed,
    #[error("payload truncated")]
    Truncated,
    #[error("unknown tag type 0x{0:02x}")]
    TagType(u8),
    #[error("{0} tags is too many")]
    TooManyTags(u32),
    #[error("malformed {0}")]
    Malformed(&'static str),
}

/// What the peer did wrong, ending its session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("{0} before hello")]
    BeforeHello(&'static str),
    #[error("asked for a range outside the file or too large: {0}..{1}")]
    BadRange(u64, u64),
    #[error("too many block requests outstanding")]
    TooManyRequests,
    #[error("asked for data without an upload slot")]
    NoSlot,
    #[error("sent data nobody asked for: {0}..{1}")]
    Unrequested(u64, u64),
    #[error("hashset does not match the file hash")]
    BadHashset,
    #[error("the peer does not have the file")]
    NoFile,
    #[error("compressed block does not inflate to its range")]
    BadCompressedBlock,
    #[error("the peer ended the transfer")]
    Ended,
}

/// Who we are on the eD2k network: our user hash and the port we listen on. The user hash
/// follows eMule's marker bytes (byte 5 = 14, byte 14 = 111) so peers see a regular client.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user_hash: [u8; 16],
    pub client_id: u32,
    pub port: u16,
    pub nick: String,
}

impl Identity {
    /// `random` is 16 random bytes (an input, so this stays sans-IO).
    pub fn new(mut random: [u8; 16], client_id: u32, port: u16, nick: &str) -> Self {
        random[5] = 14;
        random[14] = 111;
        Self { user_hash: random, client_id, port, nick: nick.to_string() }
    }

    /// Our hello (or hello answer) values: nick, port and eDonkey version 0x3C, and no eMule
    /// extension tags: we speak the base protocol. (Announcing large-file support, bit 4 of
    /// `CT_EMULE_MISCOPTIONS2`, made aMule 2.3.3 stall after the first part it fetched from
    /// us in the tests; without it aMule does not fetch files over 4 GiB from the relay.)
    pub fn hello(&self) -> Hello {
        use tag::{Tag, TagValue, CT_NAME, CT_PORT, CT_VERSION};
        Hello {
            user_hash: self.user_hash,
            client_id: self.client_id,
            port: self.port,
            tags: vec![
                Tag::id(CT_NAME, TagValue::Text(self.nick.as_bytes().to_vec())),
                Tag::id(CT_VERSION, TagValue::U32(0x3C)),
                Tag::id(CT_PORT, TagValue::U32(self.port.into())),
            ],
            server: (0, 0),
        }
    }
}
