//! Signed file records: forged, oversized, expired and malformed records are rejected.
#![cfg(not(target_arch = "wasm32"))]

use libp2p_identity::Keypair;
use proptest::prelude::*;
use web_node::file_record::*;

const NOW: u64 = 1_800_000_000;

fn key(n: u8) -> Keypair {
    Keypair::ed25519_from_bytes([n; 32]).unwrap()
}

fn file() -> FileInfo {
    FileInfo {
        cid: "ab".repeat(32),
        name: "movie.mkv".into(),
        size: 700_000,
        chunk_size: 262_144,
        chunks: 3,
        mime: Some("video/x-matroska".into()),
        created_at: NOW - 100,
        infohash: "cd".repeat(20),
        ed2k: "ef".repeat(16),
        merkle_root: "12".repeat(32),
    }
}

fn record(k: &Keypair) -> FileRecord {
    let peer = k.public().to_peer_id().to_string();
    FileRecord {
        file: file(),
        seeders: vec![
            Seeder {
                peer_id: peer.clone(),
                protocol: Protocol::Http,
                endpoint: "http://127.0.0.1:8080/file/abab".into(),
                wallet: Some(format!("0x{}", "12".repeat(20))),
                available_chunks: vec![(0, 3)],
                price_per_mb_wei: 1_000_000_000_000_000,
            },
            Seeder {
                peer_id: peer,
                protocol: Protocol::WebTorrent,
                endpoint: "ws://127.0.0.1:8080/announce".into(),
                wallet: None,
                available_chunks: vec![(0, 1), (2, 3)],
                price_per_mb_wei: 0,
            },
        ],
        published_at: NOW,
        expires_at: NOW + DEFAULT_TTL_SECS,
    }
}

fn dht_key(k: &Keypair) -> Vec<u8> {
    record_key(&file().cid, &k.public().to_peer_id())
}

#[test]
fn signed_records_verify_and_round_trip() {
    let k = key(1);
    let signed = record(&k).sign(&k).unwrap();
    assert!(signed.len() < MAX_RECORD_BYTES);
    let v = verify(&dht_key(&k), &signed, NOW + 10).unwrap();
    assert_eq!(v.publisher, k.public().to_peer_id());
    assert_eq!(v.record, record(&k));
}

#[test]
fn forged_records_are_rejected() {
    let (k, other) = (key(1), key(2));
    // A record naming another peer as seeder, signed by someone else.
    let stolen = record(&other).sign(&k).unwrap();
    assert!(matches!(verify_unkeyed(&stolen, NOW), Err(RecordError::SeederNotSigner { .. })));
    // A valid record stored under somebody else's key.
    let signed = record(&k).sign(&k).unwrap();
    assert_eq!(verify(&dht_key(&other), &signed, NOW), Err(RecordError::WrongKey));
    // Any change to the signed bytes breaks the signature (or the parse).
    let mut tampered = signed.clone();
    let at = tampered.windows(9).position(|w| w == b"movie.mkv").unwrap();
    tampered[at] = b'M';
    assert_eq!(verify(&dht_key(&k), &tampered, NOW), Err(RecordError::BadSignature));
}

#[test]
fn oversized_expired_and_inconsistent_records_are_rejected() {
    let k = key(3);
    assert!(matches!(verify_unkeyed(&vec![b'd'; MAX_RECORD_BYTES + 1], NOW), Err(RecordError::TooLarge(_))));
    let mut big = record(&k);
    big.seeders[0].available_chunks = (0..3).map(|i| (i, i + 1)).collect();
    big.seeders[0].endpoint = "x".repeat(MAX_ENDPOINT_BYTES);
    for _ in 0..6 {
        big.seeders.push(big.seeders[0].clone());
    }
    big.seeders.iter_mut().for_each(|s| s.endpoint = "y".repeat(1100));
    assert!(matches!(big.sign(&k), Err(RecordError::TooLarge(_))));

    let signed = record(&k).sign(&k).unwrap();
    assert!(matches!(verify(&dht_key(&k), &signed, NOW + DEFAULT_TTL_SECS), Err(RecordError::Expired { .. })));
    let mut r = record(&k);
    r.expires_at = r.published_at + MAX_TTL_SECS + 1;
    assert_eq!(verify_unkeyed(&r.sign(&k).unwrap(), NOW), Err(RecordError::BadLifetime));
    let mut r = record(&k);
    r.published_at = NOW + 3600;
    r.expires_at = NOW + 7200;
    assert_eq!(verify_unkeyed(&r.sign(&k).unwrap(), NOW), Err(RecordError::BadLifetime));
    let mut r = record(&k);
    r.file.chunks = 4;
    assert!(matches!(verify_unkeyed(&r.sign(&k).unwrap(), NOW), Err(RecordError::Inconsistent(_))));
    let mut r = record(&k);
    r.seeders[1].available_chunks = vec![(2, 3), (0, 1)];
    assert!(matches!(verify_unkeyed(&r.sign(&k).unwrap(), NOW), Err(RecordError::Inconsistent(_))));
    let mut r = record(&k);
    r.seeders[0].wallet = Some("0x1234".into());
    assert!(matches!(verify_unkeyed(&r.sign(&k).unwrap(), NOW), Err(RecordError::Inconsistent(_))));
    let mut r = record(&k);
    r.file.merkle_root = "12".repeat(31);
    assert!(matches!(verify_unkeyed(&r.sign(&k).unwrap(), NOW), Err(RecordError::Inconsistent(_))));
}

#[test]
fn seeders_of_one_file_merge_and_liars_are_set_apart() {
    let ks: Vec<Keypair> = (10..14).map(key).collect();
    let mut verified: Vec<VerifiedRecord> =
        ks[..3].iter().map(|k| verify_unkeyed(&record(k).sign(k).unwrap(), NOW).unwrap()).collect();
    let mut lie = record(&ks[3]);
    lie.file.infohash = "00".repeat(20);
    verified.push(verify_unkeyed(&lie.sign(&ks[3]).unwrap(), NOW).unwrap());
    let view = merge(&verified).unwrap();
    assert_eq!(view.file, file());
    assert_eq!(view.seeders.len(), 6, "two protocols from each of three honest seeders");
    assert_eq!(view.conflicting_records, 1);
    assert!(merge(&[]).is_none());
}

proptest! {
    #[test]
    fn damaged_records_never_verify_and_never_panic(at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let k = key(7);
        let mut signed = record(&k).sign(&k).unwrap();
        let i = at.index(signed.len());
        prop_assume!(signed[i] != byte);
        signed[i] = byte;
        prop_assert!(verify(&dht_key(&k), &signed, NOW).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = verify_unkeyed(&bytes, NOW);
    }
}
