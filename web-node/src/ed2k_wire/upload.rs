//! One connection of an eD2k client downloading from us (aMule `UploadClient.cpp`, seen
//! from the uploader): hello → file name and status → hashset → upload slot (or a queue
//! rank) → block requests answered with data in [`DATA_PACKET`]-byte packets.
//!
//! Sans-IO: packets go in through [`UploadSession::on_packet`]; what to do comes out of
//! [`UploadSession::poll`] ([`UploadOutput`]): packets to send, files to look up, hashsets
//! to compute, ranges to read, slots to take or give back. The driver answers with
//! [`UploadSession::file_found`], [`UploadSession::hashset_ready`], [`UploadSession::slot_granted`],
//! [`UploadSession::on_data`]. Requests are bounded ([`MAX_PENDING`] ranges, each at most
//! [`MAX_RANGE`] bytes and inside the file); data is only served while the peer holds a slot.

use std::collections::VecDeque;

use super::message::{ClientMsg, FileHash, PartRanges};
use super::{Identity, Packet, SessionError, DATA_PACKET};
use crate::ed2k::hashset_len;

/// Ranges a peer may have asked for and not yet received.
pub const MAX_PENDING: usize = 12;
/// Ranges already sent that are remembered: eMule lists its pending blocks again in every
/// request, including ones whose data is already on the wire (aMule `UploadClient.cpp`
/// keeps its done blocks for the same reason); they are not sent twice.
pub const REMEMBER_DONE: usize = 32;
/// The largest single range served (eMule asks for at most one 180 KiB block per slot).
pub const MAX_RANGE: u64 = 2 * super::BLOCK_SIZE;

/// What the driver knows about a file it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedFile {
    pub hash: FileHash,
    pub name: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadOutput {
    Send(Packet),
    /// Is this file served? Answer with [`UploadSession::file_found`].
    Lookup(FileHash),
    /// The part hashset of a served multi-part file is wanted; answer with
    /// [`UploadSession::hashset_ready`].
    NeedHashset(FileHash),
    /// The peer wants an upload slot: answer with [`UploadSession::slot_granted`] or
    /// [`UploadSession::slot_queued`].
    WantSlot,
    /// The peer no longer needs its slot.
    ReleaseSlot,
    /// Read `[start, end)` of the file and hand it to [`UploadSession::on_data`].
    Read { hash: FileHash, start: u64, end: u64 },
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Slot {
    None,
    Asked,
    Held,
}

#[derive(Debug)]
pub struct UploadSession {
    me: Identity,
    hello: bool,
    file: Option<ServedFile>,
    /// A lookup in flight for this hash, and whether the peer also asked for the hashset.
    looking_up: Option<FileHash>,
    hashset_wanted: bool,
    /// The peer asked for a slot before its file was found: asked for once it is.
    slot_wanted: bool,
    slot: Slot,
    pending: VecDeque<(u64, u64)>,
    done: VecDeque<(u64, u64)>,
    reading: bool,
    out: VecDeque<UploadOutput>,
    /// Bytes of file data sent.
    pub sent: u64,
}

impl UploadSession {
    pub fn new(me: Identity) -> Self {
        Self { me, hello: false, file: None, looking_up: None, hashset_wanted: false, slot_wanted: false, slot: Slot::None, pending: VecDeque::new(), done: VecDeque::new(), reading: false, out: VecDeque::new(), sent: 0 }
    }

    pub fn poll(&mut self) -> Option<UploadOutput> {
        self.out.pop_front()
    }

    /// The file this peer asked for, once found.
    pub fn file(&self) -> Option<&ServedFile> {
        self.file.as_ref()
    }

    pub fn holds_slot(&self) -> bool {
        self.slot == Slot::Held
    }

    fn send(&mut self, m: ClientMsg) {
        self.out.push_back(UploadOutput::Send(m.to_packet()));
    }

    fn ask(&mut self, hash: FileHash) {
        if self.file.as_ref().is_some_and(|f| f.hash == hash) || self.looking_up == Some(hash) {
            return;
        }
        self.looking_up = Some(hash);
        self.out.push_back(UploadOutput::Lookup(hash));
    }

    pub fn on_packet(&mut self, p: &Packet) -> Result<(), SessionError> {
        let m = ClientMsg::parse(p)?;
        if !self.hello && !matches!(m, ClientMsg::Hello(_) | ClientMsg::Other { .. } | ClientMsg::EmuleInfo { .. }) {
            return Err(SessionError::BeforeHello("request"));
        }
        match m {
            ClientMsg::Hello(_) => {
                self.hello = true;
                self.send(ClientMsg::HelloAnswer(self.me.hello()));
            }
            ClientMsg::EmuleInfo { answer: false, .. } => {
                // We speak the base protocol: an empty eMule info answer says so.
                self.send(ClientMsg::EmuleInfo { answer: true, version: 0, protocol: 1, tags: vec![] });
            }
            ClientMsg::RequestFileName(hash) | ClientMsg::SetReqFileId(hash) => {
                if let Some(f) = self.file.clone().filter(|f| f.hash == hash) {
                    self.answer_file(&f, matches!(m, ClientMsg::RequestFileName(_)));
                } else {
                    self.ask(hash);
                }
            }
            ClientMsg::HashSetRequest(hash) => {
                match &self.file {
                    Some(f) if f.hash == hash => self.want_hashset(),
                    _ if self.looking_up == Some(hash) => self.hashset_wanted = true,
                    _ => self.send(ClientMsg::NoFile(hash)),
                }
            }
            ClientMsg::StartUpload(hash) => {
                if let Some(h) = hash {
                    if self.file.as_ref().is_none_or(|f| f.hash != h) {
                        self.ask(h);
                    }
                }
                // A slot only for a file we serve.
                if self.file.is_none() || self.looking_up.is_some() {
                    self.slot_wanted = self.looking_up.is_some();
                    return Ok(());
                }
                self.want_slot();
            }
            ClientMsg::RequestParts { hash, ranges } => self.request(hash, ranges)?,
            ClientMsg::CancelTransfer | ClientMsg::EndOfDownload(_) => self.release(),
            _ => {}
        }
        Ok(())
    }

    fn want_slot(&mut self) {
        match self.slot {
            Slot::Held => self.send(ClientMsg::AcceptUpload),
            Slot::Asked => {}
            Slot::None => {
                self.slot = Slot::Asked;
                self.out.push_back(UploadOutput::WantSlot);
            }
        }
    }

    fn answer_file(&mut self, f: &ServedFile, name: bool) {
        if name {
            self.send(ClientMsg::FileName { hash: f.hash, name: f.name.as_bytes().to_vec() });
        }
        // A complete file: zero parts in the status means "all of them".
        self.send(ClientMsg::FileStatus { hash: f.hash, parts: 0, bits: vec![] });
    }

    fn want_hashset(&mut self) {
        let Some(f) = &self.file else { return };
        if hashset_len(f.size) == 1 {
            // One part: the hashset is the file hash itself.
            let hash = f.hash;
            self.send(ClientMsg::HashSetAnswer { hash, parts: vec![hash] });
        } else {
            self.out.push_back(UploadOutput::NeedHashset(f.hash));
        }
    }

    /// The driver's answer to [`UploadOutput::Lookup`]: the file, or `None` if not served.
    pub fn file_found(&mut self, hash: FileHash, file: Option<ServedFile>) {
        if self.looking_up != Some(hash) {
            return;
        }
        self.looking_up = None;
        match file {
            Some(f) => {
                if self.file.as_ref().is_some_and(|old| old.hash != f.hash) {
                    // Another file on the same connection: nothing asked for the old one stands.
                    self.pending.clear();
                    self.done.clear();
                }
                self.file = Some(f.clone());
                self.answer_file(&f, true);
                if std::mem::take(&mut self.hashset_wanted) {
                    self.want_hashset();
                }
                if std::mem::take(&mut self.slot_wanted) {
                    self.want_slot();
                }
            }
            None => {
                self.hashset_wanted = false;
                self.slot_wanted = false;
                self.send(ClientMsg::NoFile(hash));
            }
        }
    }

    /// The driver's answer to [`UploadOutput::NeedHashset`]; `None` when it cannot be had
    /// (the peer is told we do not have the file).
    pub fn hashset_ready(&mut self, hash: FileHash, parts: Option<Vec<[u8; 16]>>) {
        match parts {
            Some(parts) => self.send(ClientMsg::HashSetAnswer { hash, parts }),
            None => self.send(ClientMsg::NoFile(hash)),
        }
    }

    pub fn slot_granted(&mut self) {
        if self.slot == Slot::Asked {
            self.slot = Slot::Held;
            self.send(ClientMsg::AcceptUpload);
        } else {
            // Granted after the peer gave up: give it back.
            self.out.push_back(UploadOutput::ReleaseSlot);
        }
    }

    pub fn slot_queued(&mut self, rank: u32) {
        if self.slot == Slot::Asked {
            self.send(ClientMsg::QueueRank(rank));
        }
    }

    fn release(&mut self) {
        self.pending.clear();
        self.done.clear();
        if self.slot == Slot::Held || self.slot == Slot::Asked {
            self.out.push_back(UploadOutput::ReleaseSlot);
        }
        self.slot = Slot::None;
    }

    fn request(&mut self, hash: FileHash, ranges: PartRanges) -> Result<(), SessionError> {
        let Some(f) = self.file.clone().filter(|f| f.hash == hash) else {
            self.send(ClientMsg::NoFile(hash));
            return Ok(());
        };
        if self.slot != Slot::Held {
            return Err(SessionError::NoSlot);
        }
        for (start, end) in ranges {
            if start == 0 && end == 0 {
                continue;
            }
            if start >= end || end > f.size || end - start > MAX_RANGE {
                return Err(SessionError::BadRange(start, end));
            }
            if self.pending.contains(&(start, end)) || self.done.contains(&(start, end)) {
                continue;
            }
            if self.pending.len() >= MAX_PENDING {
                return Err(SessionError::TooManyRequests);
            }
            self.pending.push_back((start, end));
        }
        self.next_read();
        Ok(())
    }

    fn next_read(&mut self) {
        if self.reading || self.slot != Slot::Held {
            return;
        }
        if let (Some(&(start, end)), Some(f)) = (self.pending.front(), &self.file) {
            self.reading = true;
            self.out.push_back(UploadOutput::Read { hash: f.hash, start, end });
        }
    }

    /// The bytes of the front [`UploadOutput::Read`]; they go out in data packets.
    pub fn on_data(&mut self, start: u64, data: &[u8]) {
        self.reading = false;
        let Some(hash) = self.file.as_ref().map(|f| f.hash) else { return };
        if self.pending.front().map(|r| r.0) != Some(start) || self.slot != Slot::Held {
            return;
        }
        if let Some(range) = self.pending.pop_front() {
            if self.done.len() == REMEMBER_DONE {
                self.done.pop_front();
            }
            self.done.push_back(range);
        }
        let mut at = start;
        for chunk in data.chunks(DATA_PACKET) {
            let end = at + chunk.len() as u64;
            self.send(ClientMsg::SendingPart { hash, start: at, end, data: chunk.to_vec() });
            at = end;
        }
        self.sent += data.len() as u64;
        self.next_read();
    }

    /// The driver could not read a range (the file went away): the peer is told.
    pub fn read_failed(&mut self) {
        self.reading = false;
        if let Some(f) = self.file.take() {
            self.send(ClientMsg::NoFile(f.hash));
        }
        self.release();
    }

    /// The peer holds a slot, has been sent everything it asked for, and has asked for
    /// nothing since: a repeated accept (which aMule ignores while downloading) gives its
    /// socket a read event. aMule 2.3.3 can leave received data unread in its socket buffer
    /// until more arrives (`EMSocket.cpp`'s `pendingOnReceive` under its download limit),
    /// and then never asks for more.
    pub fn nudge(&mut self) {
        if self.slot == Slot::Held && self.pending.is_empty() && !self.reading {
            self.send(ClientMsg::AcceptUpload);
        }
    }

    /// The connection closed: whatever slot it held goes back.
    pub fn closed(&mut self) {
        self.release();
    }
}
