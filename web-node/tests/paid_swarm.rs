//! Style 2 in memory: a priced seller and buyers joined by pipes, virtual time, real
//! EIP-712 signatures (no chain: the "chain" is the test's table of channels). Honest
//! exchange, and hostile buyers and sellers: bad signatures, replays, stale amounts, a
//! payer who stops, a seller who stops, a peer that does not speak `chiral_pay`.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, VecDeque};

use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use web_node::ingest::{Ingest, IngestOptions};
use web_node::manifest::Manifest;
use web_node::pay::contract::sign_voucher;
use web_node::pay::seller::ChannelGrant;
use web_node::pay::wire::Terms;
use web_node::peer_wire::Bitfield;
use web_node::settlement::amount_wei;
use web_node::swarm::{Event, Output, PeerKey, SellOffer, Swarm, SwarmConfig};

const CHAIN: u64 = 98765;
const CONTRACT: [u8; 20] = [0xcc; 20];
const PAYEE: [u8; 20] = [0xaa; 20];
const PRICE: u128 = 1_000_000_000_000; // wei per MB
const CREDIT: u64 = 512 * 1024;
const PIECE: usize = 262_144;

fn file_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn manifest(bytes: &[u8]) -> Manifest {
    let mut ingest = Ingest::new(IngestOptions::new("paid.bin", bytes.len() as u64)).unwrap();
    ingest.push(bytes).unwrap();
    ingest.finish().unwrap()
}

fn amount_wei_for(bytes: u64) -> u128 {
    amount_wei(bytes, PRICE)
}

fn terms() -> Terms {
    Terms { price_per_mb_wei: PRICE, payee: PAYEE, chain_id: CHAIN, contract: CONTRACT, credit_bytes: CREDIT }
}

/// How the test's buyer driver behaves.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Payer {
    Honest,
    /// Signs vouchers only for the first N due.
    StopsAfter(usize),
    /// Signs with a key the channel did not authorize.
    WrongKey,
    /// Sends every voucher twice.
    Replays,
    /// Declines to open a channel.
    Declines,
    /// Declines a few steps later (as a page does after failing to open one on chain).
    DeclinesLater,
    /// Tops the deposit up on the "chain" when a voucher would go over it, then signs.
    TopsUp,
    /// Says it topped up after every voucher, without doing so.
    ClaimsTopUps,
}

struct Node {
    swarm: Swarm,
    pieces: BTreeMap<u32, Vec<u8>>,
    events: Vec<Event>,
    payer: Payer,
    /// Buyer: highest amount signed per channel (the persisted book).
    signed: BTreeMap<[u8; 32], u128>,
    vouchers_due: usize,
    /// Seller: highest voucher per channel.
    received: BTreeMap<[u8; 32], (u128, [u8; 65])>,
    /// Seller: closes the channel (on chain) after this many vouchers; later ones end the connection.
    close_after: Option<usize>,
    /// Seller: bytes served per channel in all (what its book keeps across connections).
    served: BTreeMap<[u8; 32], u64>,
    /// Seller: lies in its `accept` about the voucher it holds.
    claims_paid: Option<u128>,
    /// Channel requests to decline at the next step.
    to_decline: Vec<PeerKey>,
    /// Drops every message it would send once it has uploaded this many bytes (a seller
    /// that stops mid-piece).
    mute_after: Option<u64>,
}

struct Net {
    nodes: Vec<Node>,
    links: Vec<((usize, PeerKey), (usize, PeerKey))>,
    now: u64,
    next_key: u64,
    in_flight: VecDeque<(usize, PeerKey, Vec<u8>)>,
    session: PrivateKeySigner,
    /// The "chain": channel → (signer, deposit).
    channels: BTreeMap<[u8; 32], ([u8; 20], u128)>,
}

const CHANNEL: [u8; 32] = [0x11; 32];

impl Net {
    fn new(deposit: u128) -> Self {
        let session = PrivateKeySigner::from_bytes(&B256::from([7u8; 32])).unwrap();
        let mut channels = BTreeMap::new();
        channels.insert(CHANNEL, (session.address().into_array(), deposit));
        Self { nodes: Vec::new(), links: Vec::new(), now: 1_000, next_key: 1, in_flight: VecDeque::new(), session, channels }
    }

    fn config(m: &Manifest, n: usize) -> SwarmConfig {
        let mut id = [b'-'; 20];
        id[8] = n as u8;
        id[19] = n as u8 + 1;
        SwarmConfig::new(m.infohash, id)
    }

    fn add(&mut self, swarm: Swarm, pieces: BTreeMap<u32, Vec<u8>>, payer: Payer) -> usize {
        self.nodes.push(Node {
            swarm,
            pieces,
            events: Vec::new(),
            payer,
            signed: BTreeMap::new(),
            vouchers_due: 0,
            received: BTreeMap::new(),
            mute_after: None,
            to_decline: Vec::new(),
            close_after: None,
            served: BTreeMap::new(),
            claims_paid: None,
        });
        self.nodes.len() - 1
    }

    fn add_seller(&mut self, m: &Manifest, bytes: &[u8], serve_others: bool) -> usize {
        let mut config = Self::config(m, self.nodes.len());
        config.sell = Some(SellOffer { terms: terms(), serve_others });
        let swarm = Swarm::with_info(config, m.info_dict_bytes(), Some(Bitfield::full(m.chunks() as u32))).unwrap();
        let pieces = bytes.chunks(PIECE).enumerate().map(|(i, c)| (i as u32, c.to_vec())).collect();
        self.add(swarm, pieces, Payer::Honest)
    }

    fn add_buyer(&mut self, m: &Manifest, payer: Payer, speaks_pay: bool) -> usize {
        let mut config = Self::config(m, self.nodes.len());
        config.buy = speaks_pay;
        let swarm = Swarm::with_info(config, m.info_dict_bytes(), None).unwrap();
        self.add(swarm, BTreeMap::new(), payer)
    }

    fn connect(&mut self, a: usize, b: usize) {
        let (ka, kb) = (PeerKey(self.next_key), PeerKey(self.next_key + 1));
        self.next_key += 2;
        self.links.push(((a, ka), (b, kb)));
        self.nodes[a].swarm.handle_connected(ka, true, self.now);
        self.nodes[b].swarm.handle_connected(kb, false, self.now);
    }

    fn other_end(&self, node: usize, key: PeerKey) -> Option<(usize, PeerKey)> {
        self.links.iter().find_map(|(x, y)| (*x == (node, key)).then_some(*y).or((*y == (node, key)).then_some(*x)))
    }

    fn disconnect(&mut self, node: usize, key: PeerKey) {
        if let Some((other, okey)) = self.other_end(node, key) {
            self.links.retain(|(x, y)| *x != (node, key) && *y != (node, key));
            self.nodes[other].swarm.handle_disconnected(okey, self.now);
            self.nodes[node].swarm.handle_disconnected(key, self.now);
        }
    }

    fn sign(&self, key: &PrivateKeySigner, channel: [u8; 32], amount: u128) -> [u8; 65] {
        sign_voucher(key, CHAIN, Address::from(CONTRACT), B256::from(channel), U256::from(amount))
    }

    fn on_event(&mut self, n: usize, e: &Event) {
        let now = self.now;
        match e {
            Event::ReadPiece { index } => {
                let data = self.nodes[n].pieces[index].clone();
                self.nodes[n].swarm.handle_piece_read(*index, data, now);
            }
            Event::PieceVerified { index, data, .. } => {
                self.nodes[n].pieces.insert(*index, data.clone());
            }
            Event::Disconnect { peer, .. } => self.disconnect(n, *peer),
            Event::ChannelNeeded { peer, terms } => {
                assert_eq!(*terms, self::terms());
                if self.nodes[n].payer == Payer::DeclinesLater {
                    self.nodes[n].to_decline.push(*peer);
                } else if self.nodes[n].payer == Payer::Declines {
                    self.nodes[n].swarm.decline_channel(*peer, "no wallet", now);
                } else {
                    let signed = self.nodes[n].signed.get(&CHANNEL).copied().unwrap_or(0);
                    self.nodes[n].swarm.handle_channel_ready(*peer, CHANNEL, signed, now);
                }
            }
            Event::CheckChannel { peer, channel, .. } => {
                let result = match self.channels.get(channel) {
                    Some((signer, deposit)) => {
                        let node = &self.nodes[n];
                        let paid_wei = node.claims_paid.unwrap_or_else(|| node.received.get(channel).map_or(0, |(a, _)| *a));
                        let served_bytes = node.served.get(channel).copied().unwrap_or(0);
                        Ok(ChannelGrant { channel: *channel, signer: *signer, deposit: *deposit, paid_wei, served_bytes })
                    }
                    None => Err("no such channel".to_string()),
                };
                self.nodes[n].swarm.handle_channel_checked(*peer, result, now);
            }
            Event::VoucherDue { peer, channel, amount_wei, .. } => {
                let node = &mut self.nodes[n];
                node.vouchers_due += 1;
                let previous = node.signed.insert(*channel, *amount_wei);
                assert!(previous.is_none_or(|p| p < *amount_wei), "a lower or repeated amount was asked for");
                let payer = node.payer;
                if let Payer::StopsAfter(k) = payer {
                    if node.vouchers_due > k {
                        return;
                    }
                }
                let mut topped = false;
                if payer == Payer::TopsUp {
                    // Ahead of time, as the page does: less than the window left → add 4 pieces.
                    let (_, deposit) = self.channels.get_mut(channel).expect("the channel");
                    if deposit.saturating_sub(*amount_wei) < amount_wei_for(CREDIT) {
                        *deposit += amount_wei_for(4 * PIECE as u64);
                        topped = true;
                    }
                }
                let key = if payer == Payer::WrongKey { PrivateKeySigner::from_bytes(&B256::from([9u8; 32])).unwrap() } else { self.session.clone() };
                let sig = self.sign(&key, *channel, *amount_wei);
                self.nodes[n].swarm.send_voucher(*peer, *channel, *amount_wei, sig, now);
                if topped || payer == Payer::ClaimsTopUps {
                    self.nodes[n].swarm.channel_topped_up(*peer, *channel, now);
                }
                if payer == Payer::Replays {
                    self.nodes[n].swarm.send_voucher(*peer, *channel, *amount_wei, sig, now);
                }
            }
            Event::ChannelReleased { channel, served_bytes, .. } => {
                self.nodes[n].served.insert(*channel, *served_bytes);
            }
            Event::VoucherReceived { peer, channel, amount_wei, signature, served_bytes } => {
                let node = &mut self.nodes[n];
                node.served.insert(*channel, *served_bytes);
                if node.close_after.is_some_and(|k| !node.received.is_empty() && node.vouchers_due >= k) {
                    node.swarm.end_channel(*peer, "the channel is closed", now);
                    return;
                }
                node.vouchers_due += 1; // counts vouchers received on the seller side
                assert!(node.received.get(channel).is_none_or(|(a, _)| a < amount_wei));
                node.received.insert(*channel, (*amount_wei, *signature));
            }
            _ => {}
        }
    }

    fn step(&mut self) {
        loop {
            let mut progressed = false;
            for n in 0..self.nodes.len() {
                while let Some(out) = self.nodes[n].swarm.poll_output() {
                    progressed = true;
                    match out {
                        Output::Transmit { peer, data } => {
                            let node = &self.nodes[n];
                            if node.mute_after.is_none_or(|limit| node.swarm.uploaded_bytes <= limit) {
                                if let Some((other, okey)) = self.other_end(n, peer) {
                                    self.in_flight.push_back((other, okey, data));
                                }
                            }
                        }
                        Output::Event(e) => {
                            self.on_event(n, &e);
                            self.nodes[n].events.push(e);
                        }
                    }
                }
            }
            while let Some((node, key, data)) = self.in_flight.pop_front() {
                progressed = true;
                for part in data.chunks(5_003) {
                    self.nodes[node].swarm.handle_data(key, part, self.now);
                }
            }
            if !progressed {
                break;
            }
        }
        self.now += 1_000;
        for node in &mut self.nodes {
            node.swarm.handle_timeout(self.now);
            for peer in std::mem::take(&mut node.to_decline) {
                node.swarm.decline_channel(peer, "no contract", self.now);
            }
        }
    }

    fn run(&mut self, steps: usize) {
        for _ in 0..steps {
            self.step();
        }
    }

    fn file(&self, node: usize) -> Vec<u8> {
        self.nodes[node].pieces.values().flatten().copied().collect()
    }

    fn disconnected(&self, node: usize) -> Vec<String> {
        self.nodes[node].events.iter().filter_map(|e| if let Event::Disconnect { reason, .. } = e { Some(reason.clone()) } else { None }).collect()
    }
}

fn setup(len: usize, deposit: u128, payer: Payer) -> (Vec<u8>, Net, usize, usize) {
    let bytes = file_bytes(len);
    let m = manifest(&bytes);
    let mut net = Net::new(deposit);
    let seller = net.add_seller(&m, &bytes, false);
    let buyer = net.add_buyer(&m, payer, true);
    net.connect(buyer, seller);
    (bytes, net, seller, buyer)
}

#[test]
fn an_honest_buyer_pays_exactly_price_times_bytes_in_one_voucher_per_piece() {
    let len = 10 * PIECE + 12_345;
    let (bytes, mut net, seller, buyer) = setup(len, u128::MAX / 4, Payer::Honest);
    net.run(60);
    assert!(net.nodes[buyer].swarm.is_complete(), "{:?}", net.disconnected(buyer));
    assert_eq!(net.file(buyer), bytes);
    let (paid, sig) = net.nodes[seller].received[&CHANNEL];
    assert_eq!(paid, amount_wei(len as u64, PRICE), "the seller holds a voucher for exactly price × bytes");
    assert_eq!(net.nodes[buyer].vouchers_due, 11, "one voucher per verified piece");
    // The voucher the seller keeps is one the session key signed for that amount.
    let who = web_node::pay::contract::recover_voucher_signer(CHAIN, Address::from(CONTRACT), B256::from(CHANNEL), U256::from(paid), &sig).unwrap();
    assert_eq!(who, net.session.address());
    // No Style 1 payment is planned for a Style 2 seller.
    for e in &net.nodes[buyer].events {
        if let Event::PieceVerified { sellers, .. } = e {
            assert!(sellers.is_empty());
        }
    }
}

#[test]
fn a_payer_who_stops_gets_at_most_the_credit_window_more_then_nothing() {
    let len = 20 * PIECE;
    let (_, mut net, seller, buyer) = setup(len, u128::MAX / 4, Payer::StopsAfter(3));
    net.run(120);
    assert!(!net.nodes[buyer].swarm.is_complete());
    let paid = net.nodes[seller].received[&CHANNEL].0;
    let paid_bytes = (paid * 1_000_000 / PRICE) as u64;
    let sent = net.nodes[seller].swarm.uploaded_bytes;
    assert!(sent <= paid_bytes + CREDIT, "sent {sent} with {paid_bytes} paid and a {CREDIT} window");
    assert!(sent >= paid_bytes, "the window was used");
    // Still nothing more later.
    net.run(30);
    assert_eq!(net.nodes[seller].swarm.uploaded_bytes, sent);
}

#[test]
fn the_deposit_bounds_what_is_sent_whatever_the_window() {
    let deposit = amount_wei(3 * PIECE as u64, PRICE);
    let (_, mut net, seller, buyer) = setup(10 * PIECE, deposit, Payer::Honest);
    net.run(60);
    assert!(!net.nodes[buyer].swarm.is_complete());
    assert!(net.nodes[seller].swarm.uploaded_bytes <= 3 * PIECE as u64);
    assert_eq!(net.nodes[seller].received[&CHANNEL].0, deposit);
}

#[test]
fn a_voucher_signed_by_another_key_drops_the_buyer() {
    let (_, mut net, seller, buyer) = setup(6 * PIECE, u128::MAX / 4, Payer::WrongKey);
    net.run(40);
    assert!(!net.nodes[buyer].swarm.is_complete());
    assert!(net.disconnected(seller).iter().any(|r| r.contains("not signed by the channel's session key")), "{:?}", net.disconnected(seller));
    assert!(net.nodes[seller].received.is_empty());
    assert!(net.nodes[seller].swarm.uploaded_bytes <= CREDIT);
}

#[test]
fn a_replayed_voucher_drops_the_buyer() {
    let (_, mut net, seller, _) = setup(6 * PIECE, u128::MAX / 4, Payer::Replays);
    net.run(40);
    assert!(net.disconnected(seller).iter().any(|r| r.contains("replayed or stale")), "{:?}", net.disconnected(seller));
}

#[test]
fn an_unknown_channel_or_a_declined_one_gets_nothing() {
    let bytes = file_bytes(4 * PIECE);
    let m = manifest(&bytes);
    let mut net = Net::new(u128::MAX / 4);
    net.channels.clear();
    let seller = net.add_seller(&m, &bytes, false);
    let buyer = net.add_buyer(&m, Payer::Honest, true);
    net.connect(buyer, seller);
    let decliner = net.add_buyer(&m, Payer::Declines, true);
    net.connect(decliner, seller);
    net.run(40);
    assert_eq!(net.nodes[seller].swarm.uploaded_bytes, 0);
    assert!(net.disconnected(seller).iter().any(|r| r.contains("channel refused: no such channel")));
}

#[test]
fn a_peer_without_chiral_pay_gets_nothing_from_a_style2_only_seller_and_everything_when_others_are_served() {
    let bytes = file_bytes(4 * PIECE + 1);
    let m = manifest(&bytes);
    let mut net = Net::new(u128::MAX / 4);
    let strict = net.add_seller(&m, &bytes, false);
    let plain = net.add_buyer(&m, Payer::Honest, false);
    net.connect(plain, strict);
    net.run(30);
    assert_eq!(net.nodes[strict].swarm.uploaded_bytes, 0);
    assert!(net.nodes[plain].swarm.peer_stats().iter().all(|p| p.choking_us), "never unchoked");

    let lenient = net.add_seller(&m, &bytes, true);
    net.connect(plain, lenient);
    net.run(30);
    assert_eq!(net.file(plain), bytes, "Style 1 for a peer that does not speak chiral_pay");
    assert!(net.nodes[lenient].received.is_empty());
}

#[test]
fn a_seller_who_stops_is_paid_only_for_verified_pieces() {
    let len = 12 * PIECE;
    let (_, mut net, seller, buyer) = setup(len, u128::MAX / 4, Payer::Honest);
    net.nodes[seller].mute_after = Some(5 * PIECE as u64 + 40_000);
    net.run(40);
    assert!(!net.nodes[buyer].swarm.is_complete());
    let verified = net.nodes[buyer].pieces.values().map(|p| p.len() as u64).sum::<u64>();
    let signed = net.nodes[buyer].signed.get(&CHANNEL).copied().unwrap_or(0);
    assert!(verified >= 5 * PIECE as u64, "{verified}");
    assert_eq!(signed, amount_wei(verified, PRICE), "paid for exactly the verified pieces");
}

#[test]
fn a_reconnect_resumes_the_channel_above_every_amount_signed_before() {
    let len = 8 * PIECE;
    let bytes = file_bytes(len);
    let m = manifest(&bytes);
    let mut net = Net::new(u128::MAX / 4);
    let seller = net.add_seller(&m, &bytes, false);
    let first = net.add_buyer(&m, Payer::Honest, true);
    net.connect(first, seller);
    net.run(60);
    assert!(net.nodes[first].swarm.is_complete());
    let before = net.nodes[first].signed[&CHANNEL];
    // The same wallet (its persisted book) downloads again after a "reload".
    let second = net.add_buyer(&m, Payer::Honest, true);
    net.nodes[second].signed = net.nodes[first].signed.clone();
    net.disconnect(first, PeerKey(1));
    net.connect(second, seller);
    net.run(60);
    assert!(net.nodes[second].swarm.is_complete());
    let after = net.nodes[seller].received[&CHANNEL].0;
    assert_eq!(after, before + amount_wei(len as u64, PRICE), "cumulative on the same channel");
}

#[test]
fn a_buyer_that_declines_is_served_like_a_plain_peer_by_a_seller_that_serves_those() {
    let bytes = file_bytes(3 * PIECE + 7);
    let m = manifest(&bytes);
    let mut net = Net::new(u128::MAX / 4);
    let lenient = net.add_seller(&m, &bytes, true);
    let decliner = net.add_buyer(&m, Payer::Declines, true);
    net.connect(decliner, lenient);
    let later = net.add_buyer(&m, Payer::DeclinesLater, true);
    net.connect(later, lenient);
    net.run(30);
    assert_eq!(net.file(decliner), bytes, "Style 1 after declining Style 2");
    assert_eq!(net.file(later), bytes, "Style 1 after declining Style 2 a while later");
    assert!(net.nodes[lenient].received.is_empty());
}

#[test]
fn a_voucher_on_a_channel_the_seller_closed_ends_the_connection() {
    let (_, mut net, seller, buyer) = setup(12 * PIECE, u128::MAX / 4, Payer::Honest);
    net.nodes[seller].close_after = Some(3);
    net.run(40);
    assert!(!net.nodes[buyer].swarm.is_complete(), "worthless vouchers bought the rest of the file");
    assert!(net.disconnected(seller).iter().any(|r| r.contains("the channel is closed")), "{:?}", net.disconnected(seller));
    let paid = net.nodes[seller].received[&CHANNEL].0;
    let paid_bytes = (paid * 1_000_000 / PRICE) as u64;
    assert!(net.nodes[seller].swarm.uploaded_bytes <= paid_bytes + 2 * CREDIT);
}

#[test]
fn a_reconnect_gets_no_fresh_credit_window() {
    let bytes = file_bytes(20 * PIECE);
    let m = manifest(&bytes);
    let mut net = Net::new(u128::MAX / 4);
    let seller = net.add_seller(&m, &bytes, false);
    let first = net.add_buyer(&m, Payer::StopsAfter(0), true);
    net.connect(first, seller);
    net.run(20);
    let after_first = net.nodes[seller].swarm.uploaded_bytes;
    assert!(after_first > 0 && after_first <= CREDIT, "{after_first}");
    // The same channel on a new connection (a reconnect): nothing more without payment.
    net.disconnect(first, PeerKey(1));
    let second = net.add_buyer(&m, Payer::StopsAfter(0), true);
    net.connect(second, seller);
    net.run(20);
    assert!(net.nodes[seller].swarm.uploaded_bytes <= CREDIT, "a reconnect bought a second window for nothing");
}

#[test]
fn a_seller_that_claims_a_voucher_never_signed_is_refused() {
    let (_, mut net, seller, buyer) = setup(4 * PIECE, u128::MAX / 4, Payer::Honest);
    net.nodes[seller].claims_paid = Some(amount_wei(3 * PIECE as u64, PRICE));
    net.run(20);
    assert!(net.disconnected(buyer).iter().any(|r| r.contains("claims a voucher")), "{:?}", net.disconnected(buyer));
    assert!(net.nodes[buyer].signed.is_empty(), "the buyer signed for bytes it never got");
}

#[test]
fn a_voucher_over_the_deposit_is_taken_once_the_chain_shows_a_top_up() {
    let len = 10 * PIECE;
    let (bytes, mut net, seller, buyer) = setup(len, amount_wei(3 * PIECE as u64, PRICE), Payer::TopsUp);
    net.run(80);
    assert!(net.nodes[buyer].swarm.is_complete(), "{:?}", net.disconnected(buyer));
    assert_eq!(net.file(buyer), bytes);
    assert_eq!(net.nodes[seller].received[&CHANNEL].0, amount_wei(len as u64, PRICE));
    let checks = net.nodes[seller].events.iter().filter(|e| matches!(e, Event::CheckChannel { .. })).count();
    assert!(checks >= 2, "the seller never read the channel again ({checks} checks)");
}

#[test]
fn naming_the_channel_again_without_a_top_up_gets_the_buyer_dropped_not_free_chain_reads() {
    let (_, mut net, seller, buyer) = setup(10 * PIECE, amount_wei(3 * PIECE as u64, PRICE), Payer::ClaimsTopUps);
    net.run(40);
    assert!(!net.nodes[buyer].swarm.is_complete());
    assert!(net.disconnected(seller).iter().any(|r| r.contains("did not grow")), "{:?}", net.disconnected(seller));
    let checks = net.nodes[seller].events.iter().filter(|e| matches!(e, Event::CheckChannel { .. })).count();
    assert!(checks <= 2, "{checks} chain reads");
}
