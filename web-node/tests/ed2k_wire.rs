//! The eD2k codec and sessions: property tests (round trips, arbitrary bytes never panic),
//! an uploader and a downloader session talking to each other in memory, and a lying
//! source caught by the part hashset.

use proptest::prelude::*;
use web_node::ed2k::{hashset_root, part_digest, part_range, Ed2kHasher, ED2K_PART_SIZE};
use web_node::ed2k_wire::download::{DownloadOutput, DownloadSession, PartPlan};
use web_node::ed2k_wire::message::{ClientMsg, ServerMsg};
use web_node::ed2k_wire::server::{ServerAction, ServerSession};
use web_node::ed2k_wire::tag::{Tag, TagValue};
use web_node::ed2k_wire::upload::{ServedFile, UploadOutput, UploadSession};
use web_node::ed2k_wire::{Decoder, Identity, Packet, SessionError};

fn hash16() -> impl Strategy<Value = [u8; 16]> {
    any::<[u8; 16]>()
}

fn tag() -> impl Strategy<Value = Tag> {
    let value = prop_oneof![
        hash16().prop_map(TagValue::Hash),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(TagValue::Text),
        any::<u32>().prop_map(TagValue::U32),
        any::<u16>().prop_map(TagValue::U16),
        any::<u8>().prop_map(TagValue::U8),
        any::<u64>().prop_map(TagValue::U64),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(TagValue::Blob),
    ];
    (any::<u8>(), value).prop_map(|(id, value)| Tag::id(id, value))
}

fn client_msg() -> impl Strategy<Value = ClientMsg> {
    let hello = || (hash16(), any::<u32>(), any::<u16>(), proptest::collection::vec(tag(), 0..6), any::<u32>(), any::<u16>())
        .prop_map(|(user_hash, client_id, port, tags, ip, sport)| web_node::ed2k_wire::Hello { user_hash, client_id, port, tags, server: (ip, sport) });
    prop_oneof![
        hello().prop_map(ClientMsg::Hello),
        hello().prop_map(ClientMsg::HelloAnswer),
        hash16().prop_map(ClientMsg::RequestFileName),
        (hash16(), proptest::collection::vec(any::<u8>(), 0..100)).prop_map(|(hash, name)| ClientMsg::FileName { hash, name }),
        hash16().prop_map(ClientMsg::NoFile),
        hash16().prop_map(ClientMsg::SetReqFileId),
        (hash16(), 0u16..100).prop_flat_map(|(hash, parts)| proptest::collection::vec(any::<u8>(), parts.div_ceil(8) as usize).prop_map(move |bits| ClientMsg::FileStatus { hash, parts, bits })),
        hash16().prop_map(ClientMsg::HashSetRequest),
        (hash16(), proptest::collection::vec(hash16(), 0..30)).prop_map(|(hash, parts)| ClientMsg::HashSetAnswer { hash, parts }),
        proptest::option::of(hash16()).prop_map(ClientMsg::StartUpload),
        Just(ClientMsg::AcceptUpload),
        any::<u32>().prop_map(ClientMsg::QueueRank),
        (hash16(), any::<[(u64, u64); 3]>()).prop_map(|(hash, ranges)| ClientMsg::RequestParts { hash, ranges }),
        (hash16(), any::<u32>(), proptest::collection::vec(any::<u8>(), 0..300)).prop_map(|(hash, start, data)| {
            let start = start as u64;
            ClientMsg::SendingPart { hash, start, end: start + data.len() as u64, data }
        }),
        (hash16(), any::<u64>(), any::<u32>(), proptest::collection::vec(any::<u8>(), 0..300)).prop_map(|(hash, start, packed_size, data)| ClientMsg::CompressedPart { hash, start, packed_size, data }),
        Just(ClientMsg::CancelTransfer),
        Just(ClientMsg::OutOfPartReqs),
        hash16().prop_map(ClientMsg::EndOfDownload),
    ]
}

fn server_msg() -> impl Strategy<Value = ServerMsg> {
    prop_oneof![
        (hash16(), any::<u32>(), any::<u16>(), proptest::collection::vec(tag(), 0..6)).prop_map(|(user_hash, client_id, port, tags)| ServerMsg::Login { user_hash, client_id, port, tags }),
        (any::<u32>(), any::<u32>()).prop_map(|(client_id, flags)| ServerMsg::IdChange { client_id, flags }),
        (hash16(), 1u64..u64::MAX).prop_map(|(hash, size)| ServerMsg::GetSources { hash, size }),
        (hash16(), proptest::collection::vec((any::<u32>(), any::<u16>()), 0..20)).prop_map(|(hash, sources)| ServerMsg::FoundSources { hash, sources }),
        proptest::collection::vec(any::<u8>(), 0..100).prop_map(ServerMsg::Message),
        (any::<u32>(), any::<u32>()).prop_map(|(users, files)| ServerMsg::Status { users, files }),
    ]
}

fn through_wire(p: &Packet) -> Packet {
    let mut d = Decoder::new();
    d.push(&p.encode());
    d.next_packet().unwrap().unwrap()
}

proptest! {
    #[test]
    fn client_messages_round_trip(m in client_msg()) {
        // The 32-bit request form carries ranges up to 4 GiB; others go as 64-bit.
        let back = ClientMsg::parse(&through_wire(&m.to_packet())).unwrap();
        prop_assert_eq!(back, m);
    }

    #[test]
    fn server_messages_round_trip(m in server_msg()) {
        prop_assert_eq!(ServerMsg::parse(&through_wire(&m.to_packet())).unwrap(), m);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), splits in proptest::collection::vec(0usize..600, 0..4)) {
        let mut d = Decoder::new();
        let mut at = 0;
        for s in splits.into_iter().chain([bytes.len()]) {
            let s = s.min(bytes.len()).max(at);
            d.push(&bytes[at..s]);
            at = s;
            while let Ok(Some(p)) = d.next_packet() {
                let _ = ClientMsg::parse(&p);
                let _ = ServerMsg::parse(&p);
                let mut up = UploadSession::new(me(1));
                let _ = up.on_packet(&p);
                let mut server = ServerSession::new("10.0.0.9".parse().unwrap());
                let _ = server.on_packet(&p, 1, "hi");
            }
        }
    }

    #[test]
    fn arbitrary_payloads_for_every_opcode_never_panic(proto in prop_oneof![Just(0xE3u8), Just(0xC5u8)], opcode in any::<u8>(), payload in proptest::collection::vec(any::<u8>(), 0..200)) {
        let p = Packet::new(proto, opcode, payload);
        let _ = ClientMsg::parse(&p);
        let _ = ServerMsg::parse(&p);
    }
}

fn me(n: u8) -> Identity {
    Identity::new([n; 16], u32::from_le_bytes([10, 0, 0, n]), 4662, "test")
}

fn file_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| ((i * 31) as u8).wrapping_add(seed) ^ (i >> 13) as u8).collect()
}

/// Runs an uploader over `data` and a downloader for `hash` against each other in memory;
/// `lie` corrupts the byte at that offset on the uploader side. Returns what the plan made
/// of it: the bytes received, the parts verified, and the sources named as liars.
fn transfer(data: &[u8], hash: [u8; 16], name: &str, lie: Option<usize>) -> (Vec<u8>, usize, Vec<u64>) {
    let size = data.len() as u64;
    let mut h = Ed2kHasher::new();
    h.update(data);
    let hashset = h.finalize_hashset();
    let mut up = UploadSession::new(me(1));
    let mut down = DownloadSession::new(me(2), hash, size, false);
    let mut plan = PartPlan::new(size);
    let mut got = vec![0u8; data.len()];
    let mut liars = Vec::new();
    let mut verified_hashset: Option<Vec<[u8; 16]>> = None;
    for _round in 0..100_000 {
        let mut moved = false;
        while let Some(o) = down.poll() {
            moved = true;
            match o {
                DownloadOutput::Send(p) => up.on_packet(&through_wire(&p)).unwrap(),
                DownloadOutput::Hashset(parts) => verified_hashset = Some(parts),
                DownloadOutput::Ready | DownloadOutput::BlocksDone => {
                    let blocks = plan.next_blocks(7, 3, &[]);
                    down.request(&blocks);
                }
                DownloadOutput::Queued(_) => {}
                DownloadOutput::Requeued => plan.rewind(7),
                DownloadOutput::Data { start, data } => {
                    got[start as usize..start as usize + data.len()].copy_from_slice(&data);
                    if let Some(part) = plan.received(7, start, data.len() as u64) {
                        let (s, e) = part_range(size, part as u64);
                        let set = verified_hashset.as_ref().unwrap();
                        let ok = part_digest(&got[s as usize..e as usize]) == set[part];
                        if let Some(liar) = plan.verdict(part, ok) {
                            liars.push(liar);
                            return (got, plan.parts_done(), liars);
                        }
                    }
                }
            }
        }
        while let Some(o) = up.poll() {
            moved = true;
            match o {
                UploadOutput::Send(p) => {
                    if let Err(e) = down.on_packet(&through_wire(&p)) {
                        panic!("downloader refused: {e}");
                    }
                }
                UploadOutput::Lookup(h) => up.file_found(h, (h == hash).then(|| ServedFile { hash, name: name.into(), size })),
                UploadOutput::NeedHashset(h) => up.hashset_ready(h, Some(hashset.clone())),
                UploadOutput::WantSlot => up.slot_granted(),
                UploadOutput::ReleaseSlot => {}
                UploadOutput::Read { start, end, .. } => {
                    let mut bytes = data[start as usize..end as usize].to_vec();
                    if let Some(at) = lie.filter(|&at| (start as usize..end as usize).contains(&at)) {
                        bytes[at - start as usize] ^= 0xff;
                    }
                    up.on_data(start, &bytes);
                }
            }
        }
        if plan.done() || !moved {
            break;
        }
    }
    (got, plan.parts_done(), liars)
}

#[test]
fn a_multi_part_file_moves_between_sessions_and_every_part_verifies() {
    let data = file_bytes(2 * ED2K_PART_SIZE as usize + 12_345, 3);
    let mut h = Ed2kHasher::new();
    h.update(&data);
    let hash = h.finalize();
    let (got, parts, liars) = transfer(&data, hash, "three parts.bin", None);
    assert!(liars.is_empty());
    assert_eq!(parts, 3);
    assert!(got == data);
}

#[test]
fn a_lying_uploader_is_named_by_the_part_hash() {
    let data = file_bytes(ED2K_PART_SIZE as usize + 1000, 9);
    let mut h = Ed2kHasher::new();
    h.update(&data);
    let hash = h.finalize();
    let (_, parts, liars) = transfer(&data, hash, "lie.bin", Some(500_000));
    assert_eq!(liars, vec![7]);
    assert_eq!(parts, 0);
}

#[test]
fn a_hashset_that_does_not_name_the_file_is_refused() {
    let size = ED2K_PART_SIZE + 5;
    let hash = [1u8; 16];
    let mut down = DownloadSession::new(me(2), hash, size, false);
    while down.poll().is_some() {}
    down.on_packet(&ClientMsg::HelloAnswer(me(1).hello()).to_packet()).unwrap();
    down.on_packet(&ClientMsg::FileName { hash, name: b"x".to_vec() }.to_packet()).unwrap();
    down.on_packet(&ClientMsg::FileStatus { hash, parts: 0, bits: vec![] }.to_packet()).unwrap();
    let fake = vec![[2u8; 16], [3u8; 16]];
    assert_ne!(hashset_root(&fake), hash);
    assert_eq!(down.on_packet(&ClientMsg::HashSetAnswer { hash, parts: fake }.to_packet()), Err(SessionError::BadHashset));
}

#[test]
fn uploads_refuse_ranges_outside_the_file_and_data_without_a_slot() {
    let hash = [4u8; 16];
    let served = ServedFile { hash, name: "f".into(), size: 1000 };
    let mut up = UploadSession::new(me(1));
    assert!(matches!(up.on_packet(&ClientMsg::RequestFileName(hash).to_packet()), Err(SessionError::BeforeHello(_))));
    up.on_packet(&ClientMsg::Hello(me(2).hello()).to_packet()).unwrap();
    up.on_packet(&ClientMsg::RequestFileName(hash).to_packet()).unwrap();
    while let Some(o) = up.poll() {
        if let UploadOutput::Lookup(h) = o {
            up.file_found(h, Some(served.clone()));
        }
    }
    let ask = |s, e| ClientMsg::RequestParts { hash, ranges: [(s, e), (0, 0), (0, 0)] }.to_packet();
    assert_eq!(up.on_packet(&ask(0, 100)), Err(SessionError::NoSlot));
    up.on_packet(&ClientMsg::StartUpload(Some(hash)).to_packet()).unwrap();
    up.slot_granted();
    assert_eq!(up.on_packet(&ask(900, 1001)), Err(SessionError::BadRange(900, 1001)));
    assert_eq!(up.on_packet(&ask(10, 10)), Err(SessionError::BadRange(10, 10)));
}

#[test]
fn blocks_a_peer_lists_again_after_they_were_sent_are_not_sent_twice() {
    let hash = [5u8; 16];
    let served = ServedFile { hash, name: "f".into(), size: 1_000_000 };
    let mut up = UploadSession::new(me(1));
    up.on_packet(&ClientMsg::Hello(me(2).hello()).to_packet()).unwrap();
    up.on_packet(&ClientMsg::RequestFileName(hash).to_packet()).unwrap();
    up.on_packet(&ClientMsg::StartUpload(Some(hash)).to_packet()).unwrap();
    let b = |i: u64| (i * 184_320, (i + 1) * 184_320);
    let mut reads = Vec::new();
    let mut drain = |up: &mut UploadSession, reads: &mut Vec<(u64, u64)>| {
        while let Some(o) = up.poll() {
            match o {
                UploadOutput::Lookup(h) => up.file_found(h, Some(served.clone())),
                UploadOutput::WantSlot => up.slot_granted(),
                UploadOutput::Read { start, end, .. } => {
                    reads.push((start, end));
                    up.on_data(start, &vec![0; (end - start) as usize]);
                }
                _ => {}
            }
        }
    };
    drain(&mut up, &mut reads);
    // As aMule does: each request names the blocks still pending on its side plus a new one.
    for first in 0..3 {
        up.on_packet(&ClientMsg::RequestParts { hash, ranges: [b(first), b(first + 1), b(first + 2)] }.to_packet()).unwrap();
        drain(&mut up, &mut reads);
    }
    assert_eq!(reads, (0..5).map(b).collect::<Vec<_>>());
}

#[test]
fn a_requeued_source_is_asked_again_from_the_first_byte_it_did_not_send() {
    let size = 2 * ED2K_PART_SIZE;
    let mut plan = PartPlan::new(size);
    let first = plan.next_blocks(1, 3, &[]);
    assert_eq!(first.len(), 3);
    assert_eq!(plan.received(1, first[0].0, first[0].1 - first[0].0), None);
    plan.rewind(1);
    assert_eq!(plan.next_blocks(1, 1, &[]), vec![first[1]]);
    // Another source takes the other part, not this one.
    assert_eq!(plan.next_blocks(2, 1, &[])[0].0, ED2K_PART_SIZE);
}

#[test]
fn the_server_answers_a_login_with_a_high_id_and_sources_on_request() {
    let mut s = ServerSession::new("10.66.0.2".parse().unwrap());
    assert!(s.on_packet(&ServerMsg::GetSources { hash: [1; 16], size: 5 }.to_packet(), 1, "hi").is_err());
    let ServerAction::Send(packets) = s.on_packet(&ServerMsg::Login { user_hash: [1; 16], client_id: 0, port: 4662, tags: vec![] }.to_packet(), 3, "hi").unwrap() else { panic!() };
    assert!(packets.iter().any(|p| ServerMsg::parse(p).unwrap() == ServerMsg::IdChange { client_id: u32::from_le_bytes([10, 66, 0, 2]), flags: web_node::ed2k_wire::server::SERVER_TCP_FLAGS }));
    assert_eq!(s.on_packet(&ServerMsg::GetSources { hash: [1; 16], size: 5 }.to_packet(), 3, "hi").unwrap(), ServerAction::Sources([1; 16]));
}
