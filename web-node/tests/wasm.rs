//! The same content-addressing checks, run in headless Chromium through the browser driver
//! (`wasm-bindgen-test-runner`; see scripts/test.sh).
#![cfg(target_arch = "wasm32")]

mod common;
// The swarm core's deterministic cases, here on 32-bit wasm (peer-controlled arithmetic).
mod swarm_cases;

use common::*;
use wasm_bindgen_test::*;
use web_node::browser::ingest_blob;
use web_node::encryption::FileCipher;
use web_node::ingest::{Ingest, IngestOptions};

wasm_bindgen_test_configure!(run_in_browser);

fn blob(bytes: &[u8]) -> web_sys::Blob {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    web_sys::Blob::new_with_u8_array_sequence(&parts).expect("Blob")
}

#[wasm_bindgen_test]
async fn blob_ingest_with_web_crypto_chunk_digests_gives_the_known_identities() {
    let ingest = web_node::browser::plain_ingest(IngestOptions::new(VECTOR_NAME, vector_bytes().len() as u64)).unwrap();
    assert!(ingest.expects_chunk_digests(), "the test page has Web Crypto");
    known_identities(ingest).await;
}

#[wasm_bindgen_test]
async fn blob_ingest_hashing_everything_in_wasm_gives_the_known_identities() {
    known_identities(Ingest::new(IngestOptions::new(VECTOR_NAME, vector_bytes().len() as u64)).unwrap()).await;
}

async fn known_identities(ingest: Ingest) {
    let bytes = vector_bytes();
    let mut progress = Vec::new();
    let m = ingest_blob(&blob(&bytes), ingest, |done, total| progress.push((done, total))).await.unwrap();
    assert_eq!(m.cid_hex(), VECTOR_CID);
    assert_eq!(hex::encode(m.infohash), VECTOR_INFOHASH);
    assert_eq!(hex::encode(m.ed2k), VECTOR_ED2K);
    assert_eq!(hex::encode(m.merkle_root), VECTOR_MERKLE);
    assert_eq!(progress.last(), Some(&(bytes.len() as u64, bytes.len() as u64)));
    for i in 0..m.chunks() {
        let start = i as usize * 262_144;
        let chunk = &bytes[start..(start + 262_144).min(bytes.len())];
        assert!(m.verify_chunk(i, chunk).is_ok());
    }
    let mut bad = bytes[..262_144].to_vec();
    bad[1000] ^= 4;
    assert!(m.verify_chunk(0, &bad).is_err());
}

#[wasm_bindgen_test]
async fn encrypted_blob_ingest_round_trips_in_the_browser() {
    let bytes = vector_bytes();
    let cipher = FileCipher::create("pass", 10, [3; 16], [4; 7], bytes.len() as u64).unwrap();
    let ingest = Ingest::encrypted(IngestOptions::new(VECTOR_NAME, bytes.len() as u64), cipher.clone()).unwrap();
    let m = ingest_blob(&blob(&bytes), ingest, |_, _| {}).await.unwrap();
    let info = m.encryption.clone().unwrap();
    assert!(FileCipher::open("wrong", &info).is_err());
    let reader = FileCipher::open("pass", &info).unwrap();
    let seg = web_node::encryption::SEGMENT_LEN;
    let mut back = Vec::new();
    for i in 0..m.chunks() {
        let s = (i as usize * seg).min(bytes.len());
        let sealed = cipher.encrypt_segment(i, &bytes[s..(s + seg).min(bytes.len())]).unwrap();
        assert!(m.verify_chunk(i, &sealed).is_ok());
        back.extend(reader.decrypt_chunk(i, &sealed).unwrap());
    }
    assert_eq!(back, bytes);
}

#[wasm_bindgen_test]
async fn a_blob_of_the_wrong_size_is_an_error() {
    let ingest = Ingest::new(IngestOptions::new("x", 10)).unwrap();
    assert!(ingest_blob(&blob(b"short"), ingest, |_, _| {}).await.is_err());
}

/// Stopping a torrent closes and unhooks everything it held: tracker sockets (here two that
/// refuse connections and are retried with backoff), the relay bridge socket (the test
/// server has none: it fails and is retried), pending offers, peer links and the 1 s tick.
#[wasm_bindgen_test]
async fn a_stopped_torrent_holds_no_socket_connection_listener_or_timer() {
    use web_node::browser::torrent::Torrent;
    let bytes = vector_bytes();
    let ingest = Ingest::new(IngestOptions::new(VECTOR_NAME, bytes.len() as u64)).unwrap();
    let m = ingest_blob(&blob(&bytes), ingest, |_, _| {}).await.unwrap();
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(&bytes[..]));
    let file = web_sys::File::new_with_u8_array_sequence(&parts, VECTOR_NAME).expect("File");
    let trackers = vec!["ws://127.0.0.1:9/announce".to_string(), "ws://127.0.0.1:9/again".to_string(), "http://ignored/announce".to_string()];
    let t = Torrent::seed(file, m.info_dict_bytes(), m.chunk_hashes.clone(), trackers, None, Some(m.cid_hex()), Some(m.ed2k), |_| {}).unwrap();
    // The tick and two tracker sockets (the bridge socket comes with the first tick).
    assert_eq!(t.held_resources(), 3);
    // Let the sockets fail and the backoff run for a while.
    futures_timer::Delay::new(std::time::Duration::from_millis(2_500)).await;
    assert!(t.held_resources() >= 1);
    t.stop();
    assert_eq!(t.held_resources(), 0);
    // Nothing fires into the stopped torrent afterwards (a listener left behind would
    // reconnect or panic on a borrowed state).
    futures_timer::Delay::new(std::time::Duration::from_millis(2_500)).await;
    assert_eq!(t.held_resources(), 0);
}
