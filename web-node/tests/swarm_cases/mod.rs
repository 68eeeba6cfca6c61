//! The swarm core in memory: several nodes joined by pipes, advanced by virtual time, no
//! sockets and no sleeps. Magnet downloads (metadata over BEP 9), multi-seeder downloads,
//! lying, silent and slow peers. Shared by `tests/swarm.rs` (native) and `tests/wasm.rs`
//! (compiled to wasm32 and run in headless Chromium, where `usize` is 32 bits).
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};

use sha2::{Digest, Sha256};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
use web_node::ingest::{Ingest, IngestOptions};
use web_node::manifest::Manifest;
use web_node::peer_wire::extension::{ExtendedHandshake, MetadataMessage, OUR_UT_METADATA_ID};
use web_node::peer_wire::{Bitfield, Message};
use web_node::swarm::{Event, Output, PeerKey, Swarm, SwarmConfig, BLOB_REQUEST_TIMEOUT_MS, HANDSHAKE_TIMEOUT_MS, IDLE_TIMEOUT_MS, KEEPALIVE_MS};

pub fn file_bytes(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 7) as u8
        })
        .collect()
}

pub fn manifest(bytes: &[u8]) -> Manifest {
    let mut ingest = Ingest::new(IngestOptions::new("file.bin", bytes.len() as u64)).unwrap();
    ingest.push(bytes).unwrap();
    ingest.finish().unwrap()
}

#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    Honest,
    /// Flips a byte in every block it uploads.
    Liar,
    /// Never answers a request.
    Silent,
}

struct Node {
    swarm: Swarm,
    /// Stored pieces (all of them for seeders).
    pieces: BTreeMap<u32, Vec<u8>>,
    behaviour: Behaviour,
    events: Vec<Event>,
}

struct Net {
    nodes: Vec<Node>,
    /// (node, key) ↔ (node, key)
    links: Vec<((usize, PeerKey), (usize, PeerKey))>,
    now: u64,
    next_key: u64,
    in_flight: VecDeque<(usize, PeerKey, Vec<u8>)>,
}

impl Net {
    fn new() -> Self {
        Self { nodes: Vec::new(), links: Vec::new(), now: 1_000, next_key: 1, in_flight: VecDeque::new() }
    }

    fn config(&self, m: &Manifest, n: usize) -> SwarmConfig {
        self.config_for(m.infohash, n)
    }

    fn config_for(&self, info_hash: [u8; 20], n: usize) -> SwarmConfig {
        let mut peer_id = [b'-'; 20];
        peer_id[1..8].copy_from_slice(b"CH0001-");
        peer_id[8] = n as u8;
        peer_id[19] = n as u8 + 1;
        SwarmConfig::new(info_hash, peer_id)
    }

    fn add_seeder(&mut self, m: &Manifest, bytes: &[u8], behaviour: Behaviour) -> usize {
        let n = self.nodes.len();
        let swarm = Swarm::with_info(self.config(m, n), m.info_dict_bytes(), Some(Bitfield::full(m.chunks() as u32))).unwrap();
        let pieces = bytes.chunks(web_node::CHUNK_SIZE).enumerate().map(|(i, c)| (i as u32, c.to_vec())).collect();
        self.nodes.push(Node { swarm, pieces, behaviour, events: Vec::new() });
        n
    }

    fn add_magnet_leecher(&mut self, m: &Manifest) -> usize {
        let n = self.nodes.len();
        let swarm = Swarm::magnet(self.config(m, n));
        self.nodes.push(Node { swarm, pieces: BTreeMap::new(), behaviour: Behaviour::Honest, events: Vec::new() });
        n
    }

    fn connect(&mut self, a: usize, b: usize) {
        let (ka, kb) = (PeerKey(self.next_key), PeerKey(self.next_key + 1));
        self.next_key += 2;
        self.links.push(((a, ka), (b, kb)));
        let now = self.now;
        self.nodes[a].swarm.handle_connected(ka, true, now);
        self.nodes[b].swarm.handle_connected(kb, false, now);
    }

    fn other_end(&self, node: usize, key: PeerKey) -> Option<(usize, PeerKey)> {
        self.links.iter().find_map(|(x, y)| {
            if *x == (node, key) {
                Some(*y)
            } else if *y == (node, key) {
                Some(*x)
            } else {
                None
            }
        })
    }

    fn disconnect(&mut self, node: usize, key: PeerKey) {
        if let Some((other, okey)) = self.other_end(node, key) {
            self.links.retain(|(x, y)| *x != (node, key) && *y != (node, key));
            let now = self.now;
            self.nodes[other].swarm.handle_disconnected(okey, now);
            self.nodes[node].swarm.handle_disconnected(key, now);
        }
    }

    /// Drains every node's output until nothing moves; then advances time by 1 s.
    fn step(&mut self) -> bool {
        let mut moved = false;
        loop {
            let mut progressed = false;
            for n in 0..self.nodes.len() {
                while let Some(out) = self.nodes[n].swarm.poll_output() {
                    progressed = true;
                    match out {
                        Output::Transmit { peer, mut data } => {
                            let node = &self.nodes[n];
                            if node.behaviour == Behaviour::Silent && data.get(4) == Some(&7) {
                                continue;
                            }
                            if node.behaviour == Behaviour::Liar && data.get(4) == Some(&7) && data.len() > 13 {
                                let last = data.len() - 1;
                                data[last] ^= 0xff;
                            }
                            if let Some((other, okey)) = self.other_end(n, peer) {
                                self.in_flight.push_back((other, okey, data));
                            }
                        }
                        Output::Event(e) => {
                            let now = self.now;
                            match &e {
                                Event::ReadPiece { index } => {
                                    let data = self.nodes[n].pieces[index].clone();
                                    self.nodes[n].swarm.handle_piece_read(*index, data, now);
                                }
                                Event::PieceVerified { index, data, .. } => {
                                    self.nodes[n].pieces.insert(*index, data.clone());
                                }
                                Event::Disconnect { peer, .. } => self.disconnect(n, *peer),
                                _ => {}
                            }
                            self.nodes[n].events.push(e);
                        }
                    }
                }
            }
            // Deliver in small slices: framing must not matter.
            while let Some((node, key, data)) = self.in_flight.pop_front() {
                progressed = true;
                let now = self.now;
                for part in data.chunks(7_001) {
                    self.nodes[node].swarm.handle_data(key, part, now);
                }
            }
            if !progressed {
                break;
            }
            moved = true;
        }
        self.now += 1_000;
        for node in &mut self.nodes {
            node.swarm.handle_timeout(self.now);
        }
        moved
    }

    fn run_until(&mut self, node: usize, max_steps: usize) {
        for _ in 0..max_steps {
            self.step();
            if self.nodes[node].swarm.is_complete() {
                self.step();
                return;
            }
        }
        panic!("node {node} did not complete in {max_steps} steps");
    }

    fn file(&self, node: usize) -> Vec<u8> {
        self.nodes[node].pieces.values().flatten().copied().collect()
    }
}

#[test]
fn magnet_download_fetches_metadata_then_every_piece() {
    let bytes = file_bytes(3 * 262_144 + 12_345, 1);
    let m = manifest(&bytes);
    let mut net = Net::new();
    let seeder = net.add_seeder(&m, &bytes, Behaviour::Honest);
    let leecher = net.add_magnet_leecher(&m);
    net.connect(seeder, leecher);
    net.run_until(leecher, 50);
    assert_eq!(net.file(leecher), bytes);
    let events = &net.nodes[leecher].events;
    assert!(events.iter().any(|e| matches!(e, Event::MetadataReady { info, .. } if info.length == bytes.len() as u64)));
    assert_eq!(events.iter().filter(|e| matches!(e, Event::Complete)).count(), 1);
    assert_eq!(net.nodes[leecher].swarm.downloaded_bytes, bytes.len() as u64);
}

#[test]
fn three_seeders_share_the_work_and_the_leecher_then_seeds() {
    let bytes = file_bytes(40 * 262_144 + 1, 2);
    let m = manifest(&bytes);
    let mut net = Net::new();
    let seeders: Vec<usize> = (0..3).map(|_| net.add_seeder(&m, &bytes, Behaviour::Honest)).collect();
    let leecher = net.add_magnet_leecher(&m);
    for s in &seeders {
        net.connect(*s, leecher);
    }
    net.run_until(leecher, 100);
    assert_eq!(net.file(leecher), bytes);
    let stats = net.nodes[leecher].swarm.peer_stats();
    assert!(stats.iter().filter(|p| p.downloaded > 0).count() >= 2, "work was not spread: {stats:?}");

    // The finished leecher serves a newcomer.
    let late = net.add_magnet_leecher(&m);
    net.connect(leecher, late);
    net.run_until(late, 100);
    assert_eq!(net.file(late), bytes);
}

#[test]
fn a_liar_is_banned_and_its_pieces_refetched_elsewhere() {
    let bytes = file_bytes(24 * 262_144, 3);
    let m = manifest(&bytes);
    let mut net = Net::new();
    let liar = net.add_seeder(&m, &bytes, Behaviour::Liar);
    let honest = net.add_seeder(&m, &bytes, Behaviour::Honest);
    let leecher = net.add_magnet_leecher(&m);
    net.connect(liar, leecher);
    net.connect(honest, leecher);
    net.run_until(leecher, 200);
    assert_eq!(net.file(leecher), bytes, "the file is exact");
    let events = &net.nodes[leecher].events;
    assert!(events.iter().any(|e| matches!(e, Event::PieceFailed { .. })), "the liar was never asked");
    let liar_id = net.config(&m, liar).peer_id;
    assert!(net.nodes[leecher].swarm.banned().contains(&liar_id));
    assert!(events.iter().any(|e| matches!(e, Event::PeerBanned { peer_id, .. } if *peer_id == liar_id)));
    // Every verified piece came from the honest peer.
    for e in events {
        if let Event::PieceVerified { from, .. } = e {
            assert_eq!(from.len(), 1);
        }
    }
    // A banned peer that comes back is refused at the handshake.
    net.connect(liar, leecher);
    net.step();
    assert!(net.nodes[leecher].swarm.peer_stats().iter().all(|p| p.peer_id != Some(liar_id)));
}

#[test]
fn manifest_sha256_is_checked_too() {
    let bytes = file_bytes(4 * 262_144, 4);
    let m = manifest(&bytes);
    let mut net = Net::new();
    let seeder = net.add_seeder(&m, &bytes, Behaviour::Honest);
    let leecher = net.nodes.len();
    let mut swarm = Swarm::with_info(net.config(&m, leecher), m.info_dict_bytes(), None).unwrap();
    let mut hashes = m.chunk_hashes.clone();
    hashes[2] = [0; 32]; // a manifest that disagrees with the data about chunk 2
    swarm.set_chunk_hashes(hashes);
    net.nodes.push(Node { swarm, pieces: BTreeMap::new(), behaviour: Behaviour::Honest, events: Vec::new() });
    net.connect(seeder, leecher);
    for _ in 0..20 {
        net.step();
    }
    assert!(!net.nodes[leecher].swarm.is_complete());
    assert!(!net.nodes[leecher].pieces.contains_key(&2), "a piece with the wrong SHA-256 was kept");
    assert!(net.nodes[leecher].events.iter().any(|e| matches!(e, Event::PieceFailed { index: 2, .. })));
    for (i, piece) in &net.nodes[leecher].pieces {
        assert_eq!(piece[..], bytes[*i as usize * 262_144..(*i as usize + 1) * 262_144]);
    }
}

#[test]
fn pieces_kept_from_a_failed_root_are_taken_only_where_both_hashes_match() {
    // The wanted file and an impostor sharing its first two chunks.
    let bytes = file_bytes(4 * 262_144 + 9, 6);
    let mut other = bytes.clone();
    for b in &mut other[2 * 262_144..] {
        *b ^= 0x5a;
    }
    let m = manifest(&bytes);
    let net = Net::new();
    let mut swarm = Swarm::with_info(net.config(&m, 0), m.info_dict_bytes(), None).unwrap();
    let chunk = |data: &[u8], i: usize| data[i * 262_144..((i + 1) * 262_144).min(data.len())].to_vec();
    assert!(!swarm.offer_kept_piece(0, chunk(&other, 0), 0), "nothing is kept before a chunk hash list is known");
    swarm.set_chunk_hashes(m.chunk_hashes.clone());
    let kept: Vec<bool> = (0..5).map(|i| swarm.offer_kept_piece(i as u32, chunk(&other, i), 0)).collect();
    assert_eq!(kept, [true, true, false, false, false]);
    assert!(!swarm.offer_kept_piece(0, chunk(&other, 0), 0), "a piece we have is not taken twice");
    assert!(!swarm.offer_kept_piece(9, vec![0; 262_144], 0), "an index past the end is refused");
    let verified: Vec<(u32, usize, usize)> = drain(&mut swarm)
        .into_iter()
        .filter_map(|o| match o {
            Output::Event(Event::PieceVerified { index, from, sellers, .. }) => Some((index, from.len(), sellers.len())),
            _ => None,
        })
        .collect();
    assert_eq!(verified, [(0, 0, 0), (1, 0, 0)], "kept pieces name no sender and pay nobody");
    assert_eq!(swarm.have().unwrap().count(), 2);
}

#[test]
fn verified_pieces_name_the_sellers_terms() {
    let bytes = file_bytes(3 * 262_144, 9);
    let m = manifest(&bytes);
    let mut net = Net::new();
    let terms = web_node::settlement::PayTo { wallet: [0x42; 20], price_per_mb_wei: 1_000 };
    let mut config = net.config(&m, 0);
    config.pay_to = Some(terms);
    let seeder = Swarm::with_info(config, m.info_dict_bytes(), Some(Bitfield::full(3))).unwrap();
    let pieces = bytes.chunks(web_node::CHUNK_SIZE).enumerate().map(|(i, c)| (i as u32, c.to_vec())).collect();
    net.nodes.push(Node { swarm: seeder, pieces, behaviour: Behaviour::Honest, events: Vec::new() });
    let leecher = net.add_magnet_leecher(&m);
    net.connect(0, leecher);
    net.run_until(leecher, 50);
    let sold: Vec<_> = net.nodes[leecher].events.iter().filter_map(|e| match e {
        Event::PieceVerified { sellers, .. } => Some(sellers.clone()),
        _ => None,
    }).collect();
    assert_eq!(sold.len(), 3);
    assert!(sold.iter().all(|s| s == &vec![terms]));
}

/// A CID download (signed Merkle root known) gets the chunk SHA-256 list from a Chiral peer
/// while a plain BitTorrent peer (no list) serves pieces too; no piece is requested before
/// the list is in, and the finished leecher passes the list on.
#[test]
fn chunk_hashes_come_from_peers_and_anchor_every_piece() {
    let bytes = file_bytes(6 * 262_144 + 99, 11);
    let m = manifest(&bytes);
    let mut net = Net::new();
    let plain = net.add_seeder(&m, &bytes, Behaviour::Honest);
    let leecher = net.add_magnet_leecher(&m);
    let now = net.now;
    net.nodes[leecher].swarm.expect_chunk_hashes(m.merkle_root, now);
    net.connect(plain, leecher);
    for _ in 0..10 {
        net.step();
    }
    assert_eq!(net.nodes[leecher].swarm.downloaded_bytes, 0, "pieces were fetched before the hash list");
    assert!(net.nodes[leecher].swarm.info().is_some(), "the metadata does not wait");

    let chiral = net.add_seeder(&m, &bytes, Behaviour::Honest);
    net.nodes[chiral].swarm.set_chunk_hashes(m.chunk_hashes.clone());
    net.connect(chiral, leecher);
    net.run_until(leecher, 100);
    assert_eq!(net.file(leecher), bytes);
    let got = net.nodes[leecher].events.iter().find_map(|e| match e {
        Event::ChunkHashesReady { hashes } => Some(hashes.clone()),
        _ => None,
    });
    assert_eq!(got.as_ref(), Some(&m.chunk_hashes));
    assert_eq!(net.nodes[leecher].swarm.chunk_hashes(), Some(&m.chunk_hashes[..]));

    let late = net.add_magnet_leecher(&m);
    let now = net.now;
    net.nodes[late].swarm.expect_chunk_hashes(m.merkle_root, now);
    net.connect(leecher, late);
    net.run_until(late, 100);
    assert_eq!(net.file(late), bytes);
}

/// Tab → relay bridge → page: the bridge forwards the tab's list unchecked (it has no root)
/// and the page, which has the signed root, checks it.
#[test]
fn a_bridge_forwards_the_hash_list_it_cannot_check() {
    let bytes = file_bytes(4 * 262_144 + 3, 14);
    let m = manifest(&bytes);
    let mut net = Net::new();
    let tab = net.add_seeder(&m, &bytes, Behaviour::Honest);
    net.nodes[tab].swarm.set_chunk_hashes(m.chunk_hashes.clone());
    let mut config = net.config(&m, 1);
    config.forward_chunk_hashes = true;
    net.nodes.push(Node { swarm: Swarm::magnet(config), pieces: BTreeMap::new(), behaviour: Behaviour::Honest, events: Vec::new() });
    let bridge = 1;
    let page = net.add_magnet_leecher(&m);
    let now = net.now;
    net.nodes[page].swarm.expect_chunk_hashes(m.merkle_root, now);
    net.connect(tab, bridge);
    net.connect(page, bridge);
    net.run_until(page, 100);
    assert_eq!(net.file(page), bytes);
    assert_eq!(net.nodes[page].swarm.chunk_hashes(), Some(&m.chunk_hashes[..]));
    assert!(!net.nodes[bridge].events.iter().any(|e| matches!(e, Event::ChunkHashesReady { .. })), "the bridge vouched for a list");
}

/// A peer whose list does not hash to the signed root is dropped and nothing it said is
/// used; an honest peer's list then unlocks the download.
#[test]
fn a_hash_list_with_the_wrong_root_is_refused() {
    let bytes = file_bytes(5 * 262_144, 12);
    let m = manifest(&bytes);
    let mut net = Net::new();
    let forger = net.add_seeder(&m, &bytes, Behaviour::Honest);
    let mut forged = m.chunk_hashes.clone();
    forged[3] = [0xee; 32];
    net.nodes[forger].swarm.set_chunk_hashes(forged);
    let leecher = net.add_magnet_leecher(&m);
    let now = net.now;
    net.nodes[leecher].swarm.expect_chunk_hashes(m.merkle_root, now);
    net.connect(forger, leecher);
    for _ in 0..10 {
        net.step();
    }
    let events = &net.nodes[leecher].events;
    assert!(events.iter().any(|e| matches!(e, Event::Disconnect { reason, .. } if reason.contains("Merkle root"))), "{events:?}");
    assert!(!events.iter().any(|e| matches!(e, Event::ChunkHashesReady { .. })));
    assert_eq!(net.nodes[leecher].swarm.downloaded_bytes, 0);

    let honest = net.add_seeder(&m, &bytes, Behaviour::Honest);
    net.nodes[honest].swarm.set_chunk_hashes(m.chunk_hashes.clone());
    net.connect(honest, leecher);
    net.run_until(leecher, 100);
    assert_eq!(net.file(leecher), bytes);
}

/// Lists longer than one 16 KiB message arrive in pieces.
#[test]
fn a_long_hash_list_is_assembled_from_16_kib_messages() {
    let piece = 16 * 1024;
    let bytes = file_bytes(700 * piece - 5, 13);
    let chunks: Vec<&[u8]> = bytes.chunks(piece).collect();
    let sha1: Vec<u8> = chunks.iter().flat_map(|c| <[u8; 20]>::from(sha1::Sha1::digest(c))).collect();
    let hashes: Vec<[u8; 32]> = chunks.iter().map(|c| <[u8; 32]>::from(Sha256::digest(c))).collect();
    let root = web_node::merkle::merkle_root(&hashes);
    let info_bytes = web_node::torrent::info_dict("small-pieces.bin", bytes.len() as u64, piece as u64, &sha1).encode();
    let info_hash: [u8; 20] = sha1::Sha1::digest(&info_bytes).into();
    let mut net = Net::new();
    for n in 0..2 {
        let mut swarm = Swarm::with_info(net.config_for(info_hash, n), info_bytes.clone(), Some(Bitfield::full(chunks.len() as u32))).unwrap();
        swarm.set_chunk_hashes(hashes.clone());
        let pieces = chunks.iter().enumerate().map(|(i, c)| (i as u32, c.to_vec())).collect();
        net.nodes.push(Node { swarm, pieces, behaviour: Behaviour::Honest, events: Vec::new() });
    }
    let mut swarm = Swarm::magnet(net.config_for(info_hash, 2));
    swarm.expect_chunk_hashes(root, net.now);
    net.nodes.push(Node { swarm, pieces: BTreeMap::new(), behaviour: Behaviour::Honest, events: Vec::new() });
    net.connect(0, 2);
    net.connect(1, 2);
    net.run_until(2, 200);
    assert_eq!(net.file(2), bytes);
    assert_eq!(net.nodes[2].swarm.chunk_hashes().map(<[_]>::len), Some(700));
}

/// A relay bridge (`free_sources_only`) takes nothing from a seeder that asks a price: only
/// a page that pays may fetch from it.
#[test]
fn a_bridge_never_fetches_from_a_priced_seeder() {
    let bytes = file_bytes(6 * 262_144, 15);
    let m = manifest(&bytes);
    let mut net = Net::new();
    let mut config = net.config(&m, 0);
    config.pay_to = Some(web_node::settlement::PayTo { wallet: [0x42; 20], price_per_mb_wei: 1_000 });
    let priced = Swarm::with_info(config, m.info_dict_bytes(), Some(Bitfield::full(6))).unwrap();
    let pieces = bytes.chunks(web_node::CHUNK_SIZE).enumerate().map(|(i, c)| (i as u32, c.to_vec())).collect();
    net.nodes.push(Node { swarm: priced, pieces, behaviour: Behaviour::Honest, events: Vec::new() });
    let mut config = net.config(&m, 1);
    config.free_sources_only = true;
    net.nodes.push(Node { swarm: Swarm::magnet(config), pieces: BTreeMap::new(), behaviour: Behaviour::Honest, events: Vec::new() });
    let bridge = 1;
    net.connect(0, bridge);
    for _ in 0..20 {
        net.step();
    }
    assert!(net.nodes[bridge].swarm.info().is_some(), "metadata is free");
    assert_eq!(net.nodes[bridge].swarm.downloaded_bytes, 0, "the bridge took bytes from a priced seeder");
    assert!(net.nodes[bridge].swarm.only_priced_sources());

    let free = net.add_seeder(&m, &bytes, Behaviour::Honest);
    net.connect(free, bridge);
    net.run_until(bridge, 100);
    assert_eq!(net.file(bridge), bytes);
    assert!(!net.nodes[bridge].swarm.only_priced_sources());
    let stats = net.nodes[bridge].swarm.peer_stats();
    assert_eq!(stats.iter().map(|p| p.downloaded).sum::<u64>(), bytes.len() as u64);
    assert!(stats.iter().all(|p| p.downloaded == 0 || p.peer_id == Some(net.config(&m, free).peer_id)), "{stats:?}");
}

/// A magnet leecher behind another magnet leecher (a tab behind a relay bridge): the middle
/// learns the metadata first and tells the leaf, which then fetches it from the middle.
#[test]
fn metadata_flows_down_a_chain_of_magnet_peers() {
    let bytes = file_bytes(5 * 262_144 + 7, 10);
    let m = manifest(&bytes);
    let mut net = Net::new();
    let middle = net.add_magnet_leecher(&m);
    let leaf = net.add_magnet_leecher(&m);
    net.connect(leaf, middle);
    for _ in 0..3 {
        net.step();
    }
    let seeder = net.add_seeder(&m, &bytes, Behaviour::Honest);
    net.connect(middle, seeder);
    net.run_until(leaf, 100);
    assert_eq!(net.file(leaf), bytes);
}

#[test]
fn a_silent_seeder_times_out_and_another_finishes() {
    let bytes = file_bytes(8 * 262_144, 5);
    let m = manifest(&bytes);
    let mut net = Net::new();
    let silent = net.add_seeder(&m, &bytes, Behaviour::Silent);
    let honest = net.add_seeder(&m, &bytes, Behaviour::Honest);
    let leecher = net.add_magnet_leecher(&m);
    net.connect(silent, leecher);
    net.connect(honest, leecher);
    net.run_until(leecher, 200);
    assert_eq!(net.file(leecher), bytes);
}

#[test]
fn a_disconnect_midway_releases_its_requests() {
    let bytes = file_bytes(30 * 262_144, 6);
    let m = manifest(&bytes);
    let mut net = Net::new();
    let a = net.add_seeder(&m, &bytes, Behaviour::Honest);
    let b = net.add_seeder(&m, &bytes, Behaviour::Honest);
    let leecher = net.add_magnet_leecher(&m);
    net.connect(a, leecher);
    net.connect(b, leecher);
    net.step();
    net.step();
    let key = net.links.iter().find(|(x, _)| x.0 == a).map(|(x, _)| x.1).unwrap();
    net.disconnect(a, key);
    net.run_until(leecher, 200);
    assert_eq!(net.file(leecher), bytes);
    assert_eq!(Sha256::digest(net.file(leecher)).as_slice(), m.cid);
}

#[test]
fn a_handshake_for_another_torrent_is_refused() {
    let bytes = file_bytes(262_144, 7);
    let m = manifest(&bytes);
    let mut swarm = Swarm::with_info(SwarmConfig::new(m.infohash, [1; 20]), m.info_dict_bytes(), None).unwrap();
    swarm.handle_connected(PeerKey(1), false, 0);
    let mut hs = Vec::new();
    web_node::peer_wire::Handshake::new([9; 20], [2; 20]).encode_into(&mut hs);
    swarm.handle_data(PeerKey(1), &hs, 0);
    let outputs: Vec<Output> = std::iter::from_fn(|| swarm.poll_output()).collect();
    assert!(outputs.iter().any(|o| matches!(o, Output::Event(Event::Disconnect { .. }))));
    assert!(swarm.peer_stats().is_empty());
}

// ---- hostile peers, driven by hand ------------------------------------------------------

fn drain(s: &mut Swarm) -> Vec<Output> {
    std::iter::from_fn(|| s.poll_output()).collect()
}

fn disconnected(outputs: &[Output], peer: PeerKey) -> Option<String> {
    outputs.iter().find_map(|o| match o {
        Output::Event(Event::Disconnect { peer: p, reason }) if *p == peer => Some(reason.clone()),
        _ => None,
    })
}

/// A handshake (with the BEP 10 bit) and an extended handshake claiming `metadata_size`.
fn hostile_opening(info_hash: [u8; 20], peer_id: [u8; 20], metadata_size: Option<u64>) -> Vec<u8> {
    let mut out = Vec::new();
    web_node::peer_wire::Handshake::new(info_hash, peer_id).encode_into(&mut out);
    let ext = ExtendedHandshake {
        extensions: [("ut_metadata".to_string(), 3u8)].into_iter().collect(),
        metadata_size,
        ..Default::default()
    };
    Message::Extended { id: 0, payload: &ext.encode() }.encode_into(&mut out);
    out
}

#[test]
fn a_peer_lying_about_the_metadata_size_costs_one_deadline_not_the_download() {
    let bytes = file_bytes(3 * 262_144, 11);
    let m = manifest(&bytes);
    let mut net = Net::new();
    let leecher = net.add_magnet_leecher(&m);
    // The liar comes first and claims a metadata size nobody else claims, then says nothing.
    let liar = PeerKey(999);
    let now = net.now;
    net.nodes[leecher].swarm.handle_connected(liar, false, now);
    net.nodes[leecher].swarm.handle_data(liar, &hostile_opening(m.infohash, [0xee; 20], Some(100)), now);
    let seeder = net.add_seeder(&m, &bytes, Behaviour::Honest);
    net.connect(seeder, leecher);
    net.run_until(leecher, (BLOB_REQUEST_TIMEOUT_MS / 1_000) as usize + 30);
    assert_eq!(net.file(leecher), bytes);
}

#[test]
fn connections_without_a_handshake_or_gone_silent_are_dropped_at_their_deadlines() {
    let bytes = file_bytes(262_144, 12);
    let m = manifest(&bytes);
    let mut s = Swarm::with_info(SwarmConfig::new(m.infohash, [1; 20]), m.info_dict_bytes(), Some(Bitfield::full(1))).unwrap();
    assert_eq!(s.poll_timeout(), None, "no connection, nothing to time");
    s.handle_connected(PeerKey(1), false, 0);
    assert_eq!(s.poll_timeout(), Some(3_000), "a silent initiator: we speak first after 3 s");
    s.handle_timeout(3_000);
    assert!(drain(&mut s).iter().any(|o| matches!(o, Output::Transmit { .. })), "our handshake");
    assert_eq!(s.poll_timeout(), Some(HANDSHAKE_TIMEOUT_MS));
    s.handle_timeout(HANDSHAKE_TIMEOUT_MS - 1);
    assert_eq!(disconnected(&drain(&mut s), PeerKey(1)), None);
    s.handle_timeout(HANDSHAKE_TIMEOUT_MS);
    assert_eq!(disconnected(&drain(&mut s), PeerKey(1)).as_deref(), Some("no handshake in time"));

    // A peer that handshakes, then sends nothing at all: keep-alives from us, then dropped.
    s.handle_connected(PeerKey(2), true, 100_000);
    s.handle_data(PeerKey(2), &hostile_opening(m.infohash, [2; 20], None), 100_000);
    drain(&mut s);
    assert_eq!(s.poll_timeout(), Some(100_000 + KEEPALIVE_MS));
    s.handle_timeout(100_000 + KEEPALIVE_MS);
    let out = drain(&mut s);
    assert!(out.iter().any(|o| matches!(o, Output::Transmit { data, .. } if data == &[0, 0, 0, 0])), "a keep-alive");
    assert_eq!(disconnected(&out, PeerKey(2)), None);
    s.handle_timeout(100_000 + IDLE_TIMEOUT_MS);
    assert_eq!(disconnected(&drain(&mut s), PeerKey(2)).as_deref(), Some("silent for too long"));
    assert!(s.peer_stats().is_empty());
}

#[test]
fn a_slow_reader_is_throttled_by_its_send_window_never_dropped() {
    let bytes = file_bytes(4 * 262_144, 13);
    let m = manifest(&bytes);
    let mut config = SwarmConfig::new(m.infohash, [1; 20]);
    config.send_window = Some(64 * 1024);
    let mut s = Swarm::with_info(config, m.info_dict_bytes(), Some(Bitfield::full(4))).unwrap();
    let reader = PeerKey(7);
    s.handle_connected(reader, false, 0);
    let mut input = hostile_opening(m.infohash, [7; 20], None);
    Message::Interested.encode_into(&mut input);
    for i in 0..32u32 {
        let block = web_node::peer_wire::BlockRef { index: i / 16, begin: (i % 16) * 16_384, length: 16_384 };
        Message::Request(block).encode_into(&mut input);
    }
    s.handle_data(reader, &input, 0);
    let piece_bytes = |outputs: &mut Vec<Output>, s: &mut Swarm| -> u64 {
        let mut total = 0;
        loop {
            for o in outputs.drain(..) {
                match o {
                    Output::Event(Event::ReadPiece { index }) => {
                        let at = index as usize * 262_144;
                        s.handle_piece_read(index, bytes[at..at + 262_144].to_vec(), 0);
                    }
                    Output::Transmit { data, .. } if data.get(4) == Some(&7) => total += data.len() as u64,
                    Output::Event(Event::Disconnect { reason, .. }) => panic!("dropped: {reason}"),
                    _ => {}
                }
            }
            outputs.extend(drain(s));
            if outputs.is_empty() {
                return total;
            }
        }
    };
    let mut outputs = drain(&mut s);
    let first = piece_bytes(&mut outputs, &mut s);
    assert!(first > 0 && first < 64 * 1024 + 16_384 + 13, "sent {first} bytes before any was written");
    s.handle_timeout(60_000);
    assert!(piece_bytes(&mut drain(&mut s), &mut s) == 0, "nothing more while unwritten, and still connected");
    s.handle_flushed(reader, first, 60_000);
    let more = piece_bytes(&mut drain(&mut s), &mut s);
    assert!(more > 0, "written bytes free the window");
    assert_eq!(s.peer_stats().len(), 1);
}

#[test]
fn a_metadata_request_past_the_end_is_rejected_on_every_word_size() {
    let bytes = file_bytes(262_144, 14);
    let m = manifest(&bytes);
    let mut s = Swarm::with_info(SwarmConfig::new(m.infohash, [1; 20]), m.info_dict_bytes(), Some(Bitfield::full(1))).unwrap();
    s.handle_connected(PeerKey(1), false, 0);
    let mut input = hostile_opening(m.infohash, [2; 20], None);
    // 262,144 × 16 KiB = 2^32: wraps to piece 0 in 32-bit arithmetic.
    for piece in [262_144u32, u32::MAX, 1] {
        let payload = MetadataMessage::Request { piece }.encode();
        Message::Extended { id: OUR_UT_METADATA_ID, payload: &payload }.encode_into(&mut input);
    }
    s.handle_data(PeerKey(1), &input, 0);
    let replies: Vec<MetadataMessage<'static>> = drain(&mut s)
        .into_iter()
        .filter_map(|o| match o {
            Output::Transmit { data, .. } if data.get(4) == Some(&20) && data.get(5) == Some(&3) => Some(data),
            _ => None,
        })
        .map(|data| match MetadataMessage::parse(&data[6..]).unwrap() {
            MetadataMessage::Reject { piece } => MetadataMessage::Reject { piece },
            MetadataMessage::Data { piece, total_size, .. } => panic!("piece {piece} of {total_size} bytes was sent"),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(replies, [262_144, u32::MAX, 1].map(|piece| MetadataMessage::Reject { piece }), "the info dict is one piece");
}

#[test]
fn evidence_from_one_download_keeps_a_liar_out_of_the_next() {
    use web_node::reputation::{Evidence, Reputation, Subject};
    let bytes = file_bytes(12 * 262_144, 9);
    let m = manifest(&bytes);
    let mut net = Net::new();
    let liar = net.add_seeder(&m, &bytes, Behaviour::Liar);
    let honest = net.add_seeder(&m, &bytes, Behaviour::Honest);
    let first = net.add_magnet_leecher(&m);
    net.connect(liar, first);
    net.connect(honest, first);
    net.run_until(first, 200);
    let (liar_id, honest_id) = (net.config(&m, liar).peer_id, net.config(&m, honest).peer_id);
    let evidence = net.nodes[first].swarm.take_evidence();
    assert!(net.nodes[first].swarm.take_evidence().is_empty(), "drained");
    let (liar_s, honest_s) = (Subject::peer_id20(&liar_id), Subject::peer_id20(&honest_id));
    assert!(evidence.iter().any(|(s, e)| *s == liar_s && matches!(e, Evidence::FailedPiece { sole: true, .. })));
    let delivered: u64 = evidence.iter().filter_map(|(s, e)| match e {
        Evidence::Delivered { bytes } if *s == honest_s => Some(*bytes),
        _ => None,
    }).sum();
    assert_eq!(delivered, bytes.len() as u64, "every verified piece came from the honest peer");
    let mut rep = Reputation::default();
    for (s, e) in &evidence {
        rep.record(s, *e, net.now);
    }
    assert!(rep.is_avoided(&liar_s, net.now) && rep.score(&honest_s, net.now) > 0.9);

    // Another download in the same node: the liar is refused before it sends anything.
    let second = net.add_magnet_leecher(&m);
    let now = net.now;
    net.nodes[second].swarm.use_reputation(&rep, now);
    net.connect(liar, second);
    net.connect(honest, second);
    net.run_until(second, 200);
    assert_eq!(net.file(second), bytes);
    let events = &net.nodes[second].events;
    assert!(!events.iter().any(|e| matches!(e, Event::PieceFailed { .. })));
    assert!(events.iter().any(|e| matches!(e, Event::Disconnect { reason, .. } if reason.starts_with("avoided"))));
    assert!(net.nodes[second].swarm.banned().is_empty(), "refused by reputation, not by a ban of its own");
}

#[test]
fn a_peer_whose_requests_time_out_is_reported_stalled() {
    use web_node::reputation::{Evidence, Subject};
    let bytes = file_bytes(4 * 262_144, 10);
    let m = manifest(&bytes);
    let mut net = Net::new();
    let silent = net.add_seeder(&m, &bytes, Behaviour::Silent);
    let leecher = net.add_magnet_leecher(&m);
    net.connect(silent, leecher);
    for _ in 0..30 {
        net.step();
    }
    let silent_s = Subject::peer_id20(&net.config(&m, silent).peer_id);
    let evidence = net.nodes[leecher].swarm.take_evidence();
    assert!(evidence.iter().any(|(s, e)| *s == silent_s && *e == Evidence::Stalled), "{evidence:?}");
    assert!(!evidence.iter().any(|(_, e)| matches!(e, Evidence::Delivered { .. })));
}
