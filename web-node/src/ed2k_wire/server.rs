//! The relay as a minimal eD2k server (aMule `ServerSocket.cpp`, seen from the server):
//! it answers a login with an ID (the client's address: a "high ID"; no callback check),
//! says how many files it indexes, and answers source requests for the files the relay
//! itself serves with the relay's own client address. aMule only asks the sources it
//! knows (from links, too) while it is connected to a server or to Kad
//! (`CPartFile::Process`), so a relay that is its server makes links with the relay as
//! source work without any public server.

use std::net::Ipv4Addr;

use super::message::{client_id, FileHash, ServerMsg};
use super::{Packet, SessionError};

/// TCP flags of our `OP_IDCHANGE`: new tags, Unicode, large files (aMule `SRV_TCPFLG_*`).
pub const SERVER_TCP_FLAGS: u32 = 0x08 | 0x10 | 0x100;

#[derive(Debug)]
pub struct ServerSession {
    peer: Ipv4Addr,
    logged_in: bool,
}

/// What to do with one packet from a client.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerAction {
    Send(Vec<Packet>),
    /// The client asks who has this file: answer with [`ServerSession::sources`].
    Sources(FileHash),
    Nothing,
}

impl ServerSession {
    pub fn new(peer: Ipv4Addr) -> Self {
        Self { peer, logged_in: false }
    }

    pub fn logged_in(&self) -> bool {
        self.logged_in
    }

    /// `files` is how many files the server indexes (shown in the client's server list).
    pub fn on_packet(&mut self, p: &Packet, files: u32, motd: &str) -> Result<ServerAction, SessionError> {
        match ServerMsg::parse(p)? {
            ServerMsg::Login { .. } => {
                self.logged_in = true;
                Ok(ServerAction::Send(vec![
                    ServerMsg::Message(motd.as_bytes().to_vec()).to_packet(),
                    ServerMsg::IdChange { client_id: client_id(self.peer), flags: SERVER_TCP_FLAGS }.to_packet(),
                    ServerMsg::Status { users: 1, files }.to_packet(),
                ]))
            }
            _ if !self.logged_in => Err(SessionError::BeforeHello("server request")),
            ServerMsg::GetSources { hash, .. } => Ok(ServerAction::Sources(hash)),
            _ => Ok(ServerAction::Nothing),
        }
    }

    /// The answer to [`ServerAction::Sources`]: nothing when no source is known.
    pub fn sources(hash: FileHash, sources: &[(Ipv4Addr, u16)]) -> Option<Packet> {
        if sources.is_empty() {
            return None;
        }
        Some(ServerMsg::FoundSources { hash, sources: sources.iter().map(|(ip, port)| (client_id(*ip), *port)).collect() }.to_packet())
    }
}
