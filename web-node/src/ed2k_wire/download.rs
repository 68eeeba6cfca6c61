//! Downloading from eD2k sources (aMule `DownloadClient.cpp`, seen from the downloader).
//!
//! [`DownloadSession`] is one connection to one source: hello → file name and status →
//! hashset (checked against the file hash before it is believed) → upload request →
//! (queue rank) → accepted → block requests, three at a time, whose data must arrive in
//! order inside what was asked (plain or zlib-compressed). [`PartPlan`] is the file's side:
//! which 9,728,000-byte parts are missing, which source fetches which part (one source per
//! part, so a part that fails its MD4 names exactly one liar), and the verdicts.

use std::collections::VecDeque;

use super::message::{ClientMsg, FileHash};
use super::{Identity, Packet, SessionError, BLOCK_SIZE};
use crate::ed2k::{hashset_len, hashset_root, part_count, part_range};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadOutput {
    Send(Packet),
    /// A hashset this source sent, already checked against the file hash.
    Hashset(Vec<[u8; 16]>),
    /// The source gave us an upload slot: ask for blocks with [`DownloadSession::request`].
    Ready,
    Queued(u32),
    /// File bytes at `start`, inside a range we asked for.
    Data { start: u64, data: Vec<u8> },
    /// Every asked range arrived: ask for more.
    BlocksDone,
    /// The source ended our upload session (`OP_OUTOFPARTREQS`: eMule rotates slots) and
    /// put us back in its queue: what was asked and not received is void
    /// ([`PartPlan::rewind`]); [`DownloadOutput::Ready`] follows when it accepts us again.
    Requeued,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Hello,
    File,
    Hashset,
    Slot,
    Transfer,
}

#[derive(Debug)]
pub struct DownloadSession {
    me: Identity,
    hash: FileHash,
    size: u64,
    stage: Stage,
    has_hashset: bool,
    named: bool,
    status: bool,
    /// Asked ranges: `(start, end, received so far)`, received in order.
    inflight: Vec<(u64, u64, u64)>,
    /// A compressed block being received: its start, packed size and bytes so far.
    packed: Option<(u64, u32, Vec<u8>)>,
    out: VecDeque<DownloadOutput>,
}

impl DownloadSession {
    /// `has_hashset`: the plan already holds a verified hashset (or the file is one part).
    pub fn new(me: Identity, hash: FileHash, size: u64, has_hashset: bool) -> Self {
        let mut s = Self { me, hash, size, stage: Stage::Hello, has_hashset: has_hashset || hashset_len(size) == 1, named: false, status: false, inflight: Vec::new(), packed: None, out: VecDeque::new() };
        let hello = s.me.hello();
        s.send(ClientMsg::Hello(hello));
        s
    }

    pub fn poll(&mut self) -> Option<DownloadOutput> {
        self.out.pop_front()
    }

    fn send(&mut self, m: ClientMsg) {
        self.out.push_back(DownloadOutput::Send(m.to_packet()));
    }

    /// Another source's hashset was verified first: this one need not send it.
    pub fn hashset_known(&mut self) {
        self.has_hashset = true;
        if self.stage == Stage::Hashset {
            self.ask_slot();
        }
    }

    fn ask_slot(&mut self) {
        self.stage = Stage::Slot;
        self.send(ClientMsg::StartUpload(Some(self.hash)));
    }

    pub fn on_packet(&mut self, p: &Packet) -> Result<(), SessionError> {
        let m = ClientMsg::parse(p)?;
        match m {
            ClientMsg::HelloAnswer(_) if self.stage == Stage::Hello => {
                self.stage = Stage::File;
                self.send(ClientMsg::RequestFileName(self.hash));
                self.send(ClientMsg::SetReqFileId(self.hash));
            }
            ClientMsg::Hello(_) => {
                let hello = self.me.hello();
                self.send(ClientMsg::HelloAnswer(hello));
            }
            ClientMsg::EmuleInfo { answer: false, .. } => {
                self.send(ClientMsg::EmuleInfo { answer: true, version: 0, protocol: 1, tags: vec![] });
            }
            ClientMsg::NoFile(h) if h == self.hash => return Err(SessionError::NoFile),
            ClientMsg::FileName { hash, .. } if hash == self.hash => {
                self.named = true;
                self.after_file();
            }
            ClientMsg::FileStatus { hash, parts, bits } if hash == self.hash => {
                let n = part_count(self.size);
                let complete = parts == 0 || (parts as u64 == n && (0..n).all(|i| bits.get(i as usize / 8).is_some_and(|b| b >> (i % 8) & 1 == 1)));
                if !complete {
                    // Partial sources are not used: ours fetch whole parts from one source.
                    return Err(SessionError::NoFile);
                }
                self.status = true;
                self.after_file();
            }
            ClientMsg::HashSetAnswer { hash, parts } if hash == self.hash => {
                if self.has_hashset {
                    return Ok(());
                }
                if parts.len() as u64 != hashset_len(self.size) || hashset_root(&parts) != self.hash {
                    return Err(SessionError::BadHashset);
                }
                self.has_hashset = true;
                self.out.push_back(DownloadOutput::Hashset(parts));
                if self.stage == Stage::Hashset {
                    self.ask_slot();
                }
            }
            ClientMsg::QueueRank(rank) => self.out.push_back(DownloadOutput::Queued(rank)),
            ClientMsg::AcceptUpload if self.stage == Stage::Slot || self.stage == Stage::Transfer => {
                self.stage = Stage::Transfer;
                if self.inflight.is_empty() {
                    self.out.push_back(DownloadOutput::Ready);
                }
            }
            ClientMsg::SendingPart { hash, start, end, data } if hash == self.hash => self.data(start, end, data)?,
            ClientMsg::CompressedPart { hash, start, packed_size, data } if hash == self.hash => self.compressed(start, packed_size, data)?,
            ClientMsg::OutOfPartReqs if self.stage == Stage::Transfer => {
                self.stage = Stage::Slot;
                self.inflight.clear();
                self.packed = None;
                self.out.push_back(DownloadOutput::Requeued);
            }
            ClientMsg::CancelTransfer => return Err(SessionError::Ended),
            _ => {}
        }
        Ok(())
    }

    fn after_file(&mut self) {
        if self.stage != Stage::File || !self.named || !self.status {
            return;
        }
        if self.has_hashset {
            self.ask_slot();
        } else {
            self.stage = Stage::Hashset;
            self.send(ClientMsg::HashSetRequest(self.hash));
        }
    }

    /// Asks for up to three ranges (each at most [`BLOCK_SIZE`] bytes).
    pub fn request(&mut self, ranges: &[(u64, u64)]) {
        let mut slots = [(0u64, 0u64); 3];
        for (i, &(s, e)) in ranges.iter().take(3).enumerate() {
            slots[i] = (s, e);
            self.inflight.push((s, e, 0));
        }
        if !ranges.is_empty() {
            self.send(ClientMsg::RequestParts { hash: self.hash, ranges: slots });
        }
    }

    /// Ranges asked and not yet fully received (what a failover must ask elsewhere).
    pub fn outstanding(&self) -> Vec<(u64, u64)> {
        self.inflight.iter().map(|&(s, e, got)| (s + got, e)).collect()
    }

    fn data(&mut self, start: u64, end: u64, data: Vec<u8>) -> Result<(), SessionError> {
        if end <= start || end - start != data.len() as u64 {
            return Err(SessionError::Unrequested(start, end));
        }
        let Some(i) = self.inflight.iter().position(|&(s, e, got)| s + got == start && end <= e) else {
            return Err(SessionError::Unrequested(start, end));
        };
        self.inflight[i].2 += end - start;
        self.out.push_back(DownloadOutput::Data { start, data });
        self.finish_ranges();
        Ok(())
    }

    fn compressed(&mut self, start: u64, packed_size: u32, data: Vec<u8>) -> Result<(), SessionError> {
        let Some(&(s, e, got)) = self.inflight.iter().find(|&&(s, _, got)| s == start && got == 0) else {
            return Err(SessionError::Unrequested(start, start));
        };
        let _ = got;
        let (bs, bsize, mut buf) = self.packed.take().filter(|p| p.0 == start).unwrap_or((start, packed_size, Vec::new()));
        if bsize != packed_size || buf.len() + data.len() > packed_size as usize || packed_size as u64 > 2 * (e - s) + 1024 {
            return Err(SessionError::BadCompressedBlock);
        }
        buf.extend_from_slice(&data);
        if buf.len() < packed_size as usize {
            self.packed = Some((bs, bsize, buf));
            return Ok(());
        }
        let plain = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&buf, (e - s) as usize).map_err(|_| SessionError::BadCompressedBlock)?;
        if plain.len() as u64 != e - s {
            return Err(SessionError::BadCompressedBlock);
        }
        self.data(s, e, plain)
    }

    fn finish_ranges(&mut self) {
        self.inflight.retain(|&(s, e, got)| s + got < e);
        if self.inflight.is_empty() {
            self.out.push_back(DownloadOutput::BlocksDone);
        }
    }
}

/// One part's state in a [`PartPlan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartState {
    Missing,
    /// Fetched by this source: next offset to ask for, bytes received.
    Fetching { source: u64, next: u64, received: u64 },
    /// Every byte is in; the driver is checking its MD4.
    Checking { source: u64 },
    Done,
}

/// Which parts of a file are still to fetch, from whom, and which are verified. Sources
/// are the driver's numbers. A part is fetched from one source, in [`BLOCK_SIZE`] blocks;
/// once all its bytes are in, the driver checks it against the hashset
/// ([`PartPlan::verdict`]); a failed part is fetched again elsewhere and its source is named.
#[derive(Debug, Clone)]
pub struct PartPlan {
    size: u64,
    parts: Vec<PartState>,
}

impl PartPlan {
    pub fn new(size: u64) -> Self {
        Self { size, parts: vec![PartState::Missing; part_count(size) as usize] }
    }

    pub fn done(&self) -> bool {
        self.parts.iter().all(|p| *p == PartState::Done)
    }

    pub fn parts_done(&self) -> usize {
        self.parts.iter().filter(|p| **p == PartState::Done).count()
    }

    /// Up to `max` more blocks for `source`: the rest of the part it fetches, else a new
    /// missing part (lowest first, `skip` parts it already failed).
    pub fn next_blocks(&mut self, source: u64, max: usize, skip: &[usize]) -> Vec<(u64, u64)> {
        let owned = self.parts.iter().position(|p| matches!(p, PartState::Fetching { source: s, next, .. } if *s == source && *next < u64::MAX));
        let index = match owned {
            Some(i) if self.remaining_in(i) > 0 => i,
            _ => match self.parts.iter().enumerate().position(|(i, p)| *p == PartState::Missing && !skip.contains(&i)) {
                Some(i) => {
                    let (start, _) = part_range(self.size, i as u64);
                    self.parts[i] = PartState::Fetching { source, next: start, received: 0 };
                    i
                }
                None => return Vec::new(),
            },
        };
        let (_, end) = part_range(self.size, index as u64);
        let PartState::Fetching { next, .. } = &mut self.parts[index] else { return Vec::new() };
        let mut blocks = Vec::new();
        while blocks.len() < max && *next < end {
            let e = (*next + BLOCK_SIZE).min(end);
            blocks.push((*next, e));
            *next = e;
        }
        blocks
    }

    fn remaining_in(&self, i: usize) -> u64 {
        let (_, end) = part_range(self.size, i as u64);
        match self.parts[i] {
            PartState::Fetching { next, .. } => end - next,
            _ => 0,
        }
    }

    /// `len` bytes from `source` landed; returns the part index when that part is complete
    /// (check it, then call [`PartPlan::verdict`]).
    pub fn received(&mut self, source: u64, start: u64, len: u64) -> Option<usize> {
        let i = (start / crate::ed2k::ED2K_PART_SIZE) as usize;
        let (ps, pe) = part_range(self.size, i as u64);
        match &mut self.parts.get_mut(i)? {
            PartState::Fetching { source: s, received, .. } if *s == source => {
                *received += len;
                if *received >= pe - ps {
                    self.parts[i] = PartState::Checking { source };
                    return Some(i);
                }
                None
            }
            _ => None,
        }
    }

    /// The part's MD4 matched (or not). On a mismatch the part is missing again and the
    /// source that sent it is returned: drop it and never pay it.
    pub fn verdict(&mut self, part: usize, ok: bool) -> Option<u64> {
        let PartState::Checking { source } = self.parts.get(part).copied()? else { return None };
        if ok {
            self.parts[part] = PartState::Done;
            None
        } else {
            self.parts[part] = PartState::Missing;
            Some(source)
        }
    }

    /// The source voided what it was asked ([`DownloadOutput::Requeued`]): its part is
    /// asked again from the first byte not received (blocks arrive in order).
    pub fn rewind(&mut self, source: u64) {
        for (i, p) in self.parts.iter_mut().enumerate() {
            if let PartState::Fetching { source: s, next, received } = p {
                if *s == source {
                    *next = part_range(self.size, i as u64).0 + *received;
                }
            }
        }
    }

    /// A source went away: the parts it was fetching, or whose check it left unfinished,
    /// are missing again (their bytes are fetched anew from the part's start).
    pub fn source_gone(&mut self, source: u64) {
        for p in &mut self.parts {
            if matches!(p, PartState::Fetching { source: s, .. } | PartState::Checking { source: s } if *s == source) {
                *p = PartState::Missing;
            }
        }
    }

    /// The part ranges `[start, end)` verified so far.
    pub fn verified_parts(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.parts.iter().enumerate().filter(|(_, p)| **p == PartState::Done).map(|(i, _)| part_range(self.size, i as u64))
    }

    pub fn is_done(&self, part: usize) -> bool {
        self.parts.get(part) == Some(&PartState::Done)
    }
}
