//! Content addressing, end to end through the public API (native).
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use sha2::{Digest, Sha256};
use web_node::encryption::{EncryptionError, FileCipher};
use web_node::ingest::{Ingest, IngestError, IngestOptions};
use web_node::manifest::{ChunkError, Manifest, ManifestError};
use web_node::CHUNK_SIZE;

fn data(len: usize, seed: u8) -> Vec<u8> {
    let mut x = u32::from(seed) | 0x9e37_0000;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn ingest(bytes: &[u8], slice: usize) -> Manifest {
    let mut ingest = Ingest::new(IngestOptions { mime: Some("application/octet-stream".into()), created_at: 1_700_000_000, ..IngestOptions::new("file.bin", bytes.len() as u64) }).unwrap();
    for piece in bytes.chunks(slice.max(1)) {
        ingest.push(piece).unwrap();
    }
    ingest.finish().unwrap()
}

fn chunk(bytes: &[u8], i: usize) -> &[u8] {
    &bytes[i * CHUNK_SIZE..((i + 1) * CHUNK_SIZE).min(bytes.len())]
}

const K: usize = CHUNK_SIZE;

fn interesting_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0),
        Just(1),
        Just(K - 1),
        Just(K),
        Just(K + 1),
        Just(5 * K + 17),
        0usize..3 * K,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn manifest_round_trips_and_is_canonical(len in interesting_len(), seed in any::<u8>(), slice in 1usize..100_000) {
        let bytes = data(len, seed);
        let m = ingest(&bytes, slice);
        let encoded = m.to_bytes();
        let parsed = Manifest::from_bytes(&encoded).unwrap();
        prop_assert_eq!(&parsed, &m);
        prop_assert_eq!(parsed.to_bytes(), encoded);
        // How the bytes were sliced never changes the result.
        prop_assert_eq!(ingest(&bytes, usize::MAX), m.clone());
        prop_assert_eq!(m.cid, <[u8; 32]>::from(Sha256::digest(&bytes)));
        prop_assert_eq!(m.chunks() as usize, len.div_ceil(K));
    }

    #[test]
    fn every_chunk_verifies_and_any_single_bit_flip_is_caught(len in interesting_len(), seed in any::<u8>(), bit in any::<prop::sample::Index>()) {
        let bytes = data(len, seed);
        let m = ingest(&bytes, 65_536);
        for i in 0..m.chunks() as usize {
            prop_assert_eq!(m.verify_chunk(i as u64, chunk(&bytes, i)), Ok(()));
        }
        if len > 0 {
            let bit = bit.index(len * 8);
            let mut bad = bytes.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let i = bit / 8 / K;
            prop_assert_eq!(m.verify_chunk(i as u64, chunk(&bad, i)), Err(ChunkError::HashMismatch { index: i as u64 }));
            // The whole-file identities change too.
            let m2 = ingest(&bad, 1 << 20);
            prop_assert_ne!(m2.cid, m.cid);
            prop_assert_ne!(m2.merkle_root, m.merkle_root);
            prop_assert_ne!(m2.infohash, m.infohash);
            prop_assert_ne!(m2.ed2k, m.ed2k);
        }
    }

    #[test]
    fn manifest_parser_never_panics_on_damaged_bytes(len in 0usize..2 * K, at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let m = ingest(&data(len, 1), 4096);
        let mut bytes = m.to_bytes();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        if let Ok(parsed) = Manifest::from_bytes(&bytes) {
            prop_assert_eq!(parsed.to_bytes(), bytes);
        }
    }

    #[test]
    fn encrypted_ingest_round_trips(len in interesting_len(), seed in any::<u8>()) {
        let plain = data(len, seed);
        let cipher = FileCipher::create("pass", 2, [1; 16], [2; 7], len as u64).unwrap();
        let mut ingest = Ingest::encrypted(IngestOptions::new("secret.bin", len as u64), cipher.clone()).unwrap();
        for piece in plain.chunks(70_001) {
            ingest.push(piece).unwrap();
        }
        let m = ingest.finish().unwrap();
        prop_assert_eq!(Manifest::from_bytes(&m.to_bytes()).unwrap(), m.clone());
        // Rebuild the ciphertext chunk by chunk, check it against the manifest, decrypt it.
        let reader = FileCipher::open("pass", m.encryption.as_ref().unwrap()).unwrap();
        let mut back = Vec::new();
        let seg = web_node::encryption::SEGMENT_LEN;
        let mut whole = Sha256::new();
        for i in 0..m.chunks() {
            let s = (i as usize * seg).min(len);
            let sealed = cipher.encrypt_segment(i, &plain[s..(s + seg).min(len)]).unwrap();
            prop_assert_eq!(m.verify_chunk(i, &sealed), Ok(()));
            whole.update(&sealed);
            back.extend(reader.decrypt_chunk(i, &sealed).unwrap());
        }
        prop_assert_eq!(<[u8; 32]>::from(whole.finalize()), m.cid);
        prop_assert_eq!(back, plain);
        prop_assert_eq!(FileCipher::open("wrong", m.encryption.as_ref().unwrap()).err(), Some(EncryptionError::WrongPassphrase));
    }
}

#[test]
fn verify_chunk_reports_typed_errors() {
    let bytes = data(K + 10, 3);
    let m = ingest(&bytes, K);
    assert_eq!(m.verify_chunk(2, b""), Err(ChunkError::NoSuchChunk { index: 2, chunks: 2 }));
    assert_eq!(m.verify_chunk(1, &bytes[K..K + 9]), Err(ChunkError::WrongLength { index: 1, expected: 10, actual: 9 }));
    assert_eq!(m.verify_chunk(0, chunk(&bytes, 1)), Err(ChunkError::WrongLength { index: 0, expected: K, actual: 10 }));
}

#[test]
fn ingest_refuses_wrong_sizes_and_names() {
    let mut i = Ingest::new(IngestOptions::new("a", 3)).unwrap();
    assert_eq!(i.push(b"abcd"), Err(IngestError::TooMuchInput { expected: 3 }));
    let mut i = Ingest::new(IngestOptions::new("a", 3)).unwrap();
    i.push(b"ab").unwrap();
    assert_eq!(i.finish().err(), Some(IngestError::Truncated { expected: 3, got: 2 }));
    for bad in ["", "a/b", "..", "x\0y"] {
        assert!(matches!(Ingest::new(IngestOptions::new(bad, 1)).err(), Some(IngestError::Manifest(ManifestError::BadName(_)))));
    }
}

#[test]
fn forged_manifests_are_rejected() {
    let m = ingest(&data(3 * K, 9), K);
    let mut wrong_root = m.clone();
    wrong_root.merkle_root[0] ^= 1;
    assert_eq!(Manifest::from_bytes(&wrong_root.to_bytes()), Err(ManifestError::MerkleMismatch));
    let mut missing_chunk = m.clone();
    missing_chunk.chunk_hashes.pop();
    assert!(matches!(Manifest::from_bytes(&missing_chunk.to_bytes()), Err(ManifestError::ChunkCount { .. })));
    assert!(matches!(Manifest::from_bytes(&vec![b'x'; 65 << 20]), Err(ManifestError::TooLarge(_))));
}

#[test]
fn summary_matches_known_values() {
    let m = ingest(b"hello", 1);
    let s = m.summary("http://127.0.0.1:8080");
    assert_eq!(s.cid, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    assert_eq!(s.chunks, 1);
    assert!(s.magnet.starts_with(&format!("magnet:?xt=urn:btih:{}&dn=file.bin&xl=5&tr=ws%3A%2F%2F127.0.0.1%3A8080%2Fannounce", s.infohash)));
    assert_eq!(s.ed2k_link, format!("ed2k://|file|file.bin|5|{}|/", s.ed2k));
}

mod common;

#[test]
fn known_answers_natively() {
    let bytes = common::vector_bytes();
    let mut ingest = Ingest::new(IngestOptions::new(common::VECTOR_NAME, bytes.len() as u64)).unwrap();
    ingest.push(&bytes).unwrap();
    let m = ingest.finish().unwrap();
    assert_eq!(m.cid_hex(), common::VECTOR_CID);
    assert_eq!(hex::encode(m.infohash), common::VECTOR_INFOHASH);
    assert_eq!(hex::encode(m.ed2k), common::VECTOR_ED2K);
    assert_eq!(hex::encode(m.merkle_root), common::VECTOR_MERKLE);
}

#[test]
fn external_chunk_digests_give_the_same_manifest() {
    use sha1::Sha1;
    use web_node::ingest::ChunkDigests;
    for len in [1, K - 1, K, K + 1, 5 * K + 3] {
        let bytes = data(len, 4);
        let expected = ingest(&bytes, K);
        let mut i = Ingest::with_external_chunk_digests(IngestOptions { mime: Some("application/octet-stream".into()), created_at: 1_700_000_000, ..IngestOptions::new("file.bin", len as u64) }).unwrap();
        for read in bytes.chunks(3 * K) {
            i.push(read).unwrap();
            let digests: Vec<ChunkDigests> = read
                .chunks(K)
                .map(|c| ChunkDigests { sha256: Sha256::digest(c).into(), sha1: Sha1::digest(c).into() })
                .collect();
            assert_eq!(i.chunks_awaiting_digests(), digests.len() as u64);
            i.add_chunk_digests(&digests).unwrap();
        }
        assert_eq!(i.finish().unwrap(), expected);
    }
    // Missing or surplus digests are errors, never a wrong manifest.
    let mut i = Ingest::with_external_chunk_digests(IngestOptions::new("f", 10)).unwrap();
    i.push(&[0; 10]).unwrap();
    let d = ChunkDigests { sha256: [0; 32], sha1: [0; 20] };
    assert!(matches!(i.add_chunk_digests(&[d, d]), Err(IngestError::ChunkDigestCount { given: 2, expected: 1 })));
    assert!(matches!(i.finish(), Err(IngestError::ChunkDigestCount { given: 0, expected: 1 })));
    let mut plain = Ingest::new(IngestOptions::new("f", 1)).unwrap();
    assert_eq!(plain.add_chunk_digests(&[d]), Err(IngestError::ChunkDigestsNotExpected));
}
