//! The swarm core driven by a hostile world: up to three peers connect, send arbitrary
//! peer-wire bytes in arbitrary cuts, disconnect, while time jumps and storage answers
//! reads. Three starting points: a seeder, a leecher that knows the info dict (with chunk
//! hashes from its manifest, as a CID download), and a magnet leecher that knows nothing.
//!
//! Invariants checked on every step: what we send is a well-formed peer-wire stream (a
//! handshake, then messages that parse); a piece reported verified is byte for byte the
//! real one, and so is an info dict reported fetched (the fuzzer cannot forge SHA-1 and
//! SHA-256, so anything else is a bug); data goes only to connected peers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use web_node::ingest::{Ingest, IngestOptions};
use web_node::manifest::Manifest;
use web_node::peer_wire::{Bitfield, Handshake, Message};
use web_node::swarm::{Event, Output, PeerKey, Swarm, SwarmConfig};
use web_node::CHUNK_SIZE;

struct File {
    bytes: Vec<u8>,
    manifest: Manifest,
}

/// Two pieces (a full chunk and a short one), made once per process.
fn file() -> &'static File {
    static FILE: OnceLock<File> = OnceLock::new();
    FILE.get_or_init(|| {
        let bytes: Vec<u8> = (0..CHUNK_SIZE + 20_000).map(|i| (i * 7 % 251) as u8).collect();
        let mut ingest = Ingest::new(IngestOptions::new("fuzz.bin", bytes.len() as u64)).expect("ingest");
        ingest.push(&bytes).expect("ingest");
        File { manifest: ingest.finish().expect("manifest"), bytes }
    })
}

/// Piece `index` of the fuzz file, as storage holds it.
pub fn piece(index: u32) -> &'static [u8] {
    let bytes = &file().bytes;
    let start = index as usize * CHUNK_SIZE;
    &bytes[start.min(bytes.len())..(start + CHUNK_SIZE).min(bytes.len())]
}

/// The fuzz file's manifest.
pub fn file_manifest() -> &'static Manifest {
    &file().manifest
}

/// Checks our outgoing stream to one peer as it grows: the handshake, then whole messages.
#[derive(Default)]
struct WireCheck {
    buf: Vec<u8>,
    handshake_seen: bool,
}

impl WireCheck {
    fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        if !self.handshake_seen {
            match Handshake::parse(&self.buf).expect("our handshake is well-formed") {
                Some((_, used)) => {
                    self.buf.drain(..used);
                    self.handshake_seen = true;
                }
                None => return,
            }
        }
        loop {
            match Message::parse(&self.buf).expect("our messages are well-formed") {
                Some((_, used)) => drop(self.buf.drain(..used)),
                None => break,
            }
        }
    }
}

/// Input: one byte choosing the starting point, then steps of `[op, len, len bytes]`.
pub fn swarm(data: &[u8]) {
    let Some((&start, mut rest)) = data.split_first() else { return };
    let f = file();
    let m = &f.manifest;
    let config = SwarmConfig::new(m.infohash, *b"-CH0001-fuzzfuzzfuzz");
    let mut swarm = match start % 3 {
        0 => Swarm::with_info(config, m.info_dict_bytes(), Some(Bitfield::full(m.chunks() as u32))).expect("our info dict"),
        1 => {
            let mut s = Swarm::with_info(config, m.info_dict_bytes(), None).expect("our info dict");
            s.set_chunk_hashes(m.chunk_hashes.clone());
            s
        }
        _ => Swarm::magnet(config),
    };
    let mut now = 1_000u64;
    let mut connected: BTreeSet<u64> = BTreeSet::new();
    let mut wire: BTreeMap<u64, WireCheck> = BTreeMap::new();
    let mut reads: BTreeSet<u32> = BTreeSet::new();
    while let [op, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (body, next) = tail.split_at(n);
        rest = next;
        let key = u64::from(op >> 4) % 3;
        let peer = PeerKey(key);
        match op % 8 {
            0 if !connected.contains(&key) => {
                connected.insert(key);
                wire.insert(key, WireCheck::default());
                swarm.handle_connected(peer, op & 8 != 0, now);
            }
            1 if connected.remove(&key) => swarm.handle_disconnected(peer, now),
            2 | 3 | 4 if connected.contains(&key) => swarm.handle_data(peer, body, now),
            5 => now += u64::from(*len) * 1_000,
            6 if connected.contains(&key) => swarm.handle_flushed(peer, u64::from(*len) << 10, now),
            7 => {
                if let Some(index) = reads.pop_first() {
                    swarm.handle_piece_read(index, piece(index).to_vec(), now);
                }
            }
            _ => {}
        }
        if swarm.poll_timeout().is_some_and(|t| t <= now) {
            swarm.handle_timeout(now);
        }
        while let Some(out) = swarm.poll_output() {
            match out {
                Output::Transmit { peer, data } => {
                    assert!(connected.contains(&peer.0), "data for a peer that is not connected");
                    wire.get_mut(&peer.0).expect("connected").push(&data);
                }
                Output::Event(Event::ReadPiece { index }) => {
                    assert!(index < m.chunks() as u32);
                    reads.insert(index);
                }
                Output::Event(Event::PieceVerified { index, data, .. }) => {
                    assert_eq!(data, piece(index), "a forged piece was accepted");
                }
                Output::Event(Event::MetadataReady { info_bytes, .. }) => {
                    assert_eq!(info_bytes, m.info_dict_bytes(), "a forged info dict was accepted");
                }
                Output::Event(Event::Disconnect { peer, .. }) => {
                    if connected.remove(&peer.0) {
                        swarm.handle_disconnected(peer, now);
                    }
                }
                Output::Event(_) => {}
            }
        }
    }
}
