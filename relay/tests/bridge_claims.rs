//! The bridge never lets a tab claim a CID it does not hold. A native "tab" (the same
//! sans-IO swarm a page runs, over a real `/bridge` WebSocket) seeds file B while naming
//! the CID of file A. HTTP clients of `/file/CID` must never receive a complete file that
//! is not the CID: the last chunk waits for the whole-file SHA-256; and with the relay's
//! DHT node, a tab is believed only when a signed record for the CID names its torrent.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use futures::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use relay::bridge::BridgeLimits;
use relay::http::{app, AppState};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tower::ServiceExt;
use web_node::manifest::Manifest;
use web_node::peer_wire::Bitfield;
use web_node::swarm::{Event, Output, PeerKey, Swarm, SwarmConfig};

const LEN: usize = 4 * 262_144 - 1_000;

fn content(seed: u32) -> Vec<u8> {
    (0..LEN as u32).map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed.wrapping_mul(0x9e37_79b9)) >> 24) as u8).collect()
}

fn manifest(dir: &std::path::Path, name: &str, bytes: &[u8]) -> Manifest {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    relay::seeding::ingest_all(&[path], "http://127.0.0.1:1").unwrap().remove(0).manifest
}

/// Serves the relay app on 127.0.0.1:0.
async fn serve(state: AppState) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    addr
}

/// A tab seeding `bytes` (described by `m`) to the relay's bridge, claiming it is `cid`.
fn tab(addr: SocketAddr, m: &Manifest, bytes: Vec<u8>, cid: &str) -> tokio::task::JoinHandle<()> {
    let url = format!("ws://{addr}/bridge/{}?cid={cid}", hex::encode(m.infohash));
    let mut peer_id = [7u8; 20];
    peer_id[..8].copy_from_slice(b"-TB0001-");
    peer_id[19] = bytes[0];
    let mut swarm = Swarm::with_info(SwarmConfig::new(m.infohash, peer_id), m.info_dict_bytes(), Some(Bitfield::full(m.chunks() as u32))).unwrap();
    swarm.set_chunk_hashes(m.chunk_hashes.clone());
    tokio::spawn(async move {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let (mut sink, mut stream) = ws.split();
        let epoch = std::time::Instant::now();
        let now = || epoch.elapsed().as_millis() as u64;
        swarm.handle_connected(PeerKey(1), true, now());
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            while let Some(out) = swarm.poll_output() {
                match out {
                    Output::Transmit { data, .. } => {
                        if sink.send(WsMessage::Binary(data.into())).await.is_err() {
                            return;
                        }
                    }
                    Output::Event(Event::ReadPiece { index }) => {
                        let at = index as usize * 262_144;
                        let piece = bytes[at..(at + 262_144).min(bytes.len())].to_vec();
                        swarm.handle_piece_read(index, piece, now());
                    }
                    Output::Event(Event::Disconnect { .. }) => return,
                    Output::Event(_) => {}
                }
            }
            tokio::select! {
                msg = stream.next() => match msg {
                    Some(Ok(WsMessage::Binary(b))) => swarm.handle_data(PeerKey(1), &b, now()),
                    Some(Ok(_)) => {}
                    _ => return,
                },
                _ = tick.tick() => swarm.handle_timeout(now()),
            }
        }
    })
}

async fn get(state: &AppState, uri: &str) -> (StatusCode, Result<Bytes, String>) {
    let res = app(state.clone()).oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let body = tokio::time::timeout(Duration::from_secs(60), res.into_body().collect()).await.expect("the body ended");
    (status, body.map(|b| b.to_bytes()).map_err(|e| e.to_string()))
}

/// Waits until the bridge has the tab's file.
async fn offered(state: &AppState, cid: &str) {
    for _ in 0..100 {
        if state.bridge.0.as_ref().unwrap().has(cid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the tab never offered {cid}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tab_claiming_a_cid_it_does_not_hold_never_completes_a_download() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (content(1), content(2));
    let (ma, mb) = (manifest(dir.path(), "a.bin", &a), manifest(dir.path(), "b.bin", &b));
    let cid = ma.cid_hex();
    let state = AppState::new(dir.path().to_path_buf(), "http://127.0.0.1:1".into()).with_bridge(&dir.path().join("relay"), BridgeLimits::default(), relay::outbound::OutboundPolicy::new(relay::outbound::Scope::Loopback));
    let addr = serve(state.clone()).await;
    let _tab = tab(addr, &mb, b.clone(), &cid);
    offered(&state, &cid).await;

    // The last chunk is held back until the whole file hashed to the CID, which it never does.
    let (status, body) = get(&state, &format!("/file/{cid}/chunk/3")).await;
    let body = String::from_utf8_lossy(&body.unwrap()).chars().take(300).collect::<String>();
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body.contains("does not match its content ID"), "{body}");
    // The whole file: whatever began, it never ends as a complete file.
    let (status, body) = get(&state, &format!("/file/{cid}")).await;
    match body {
        Ok(bytes) => assert!(status != StatusCode::OK || bytes.len() < LEN, "a complete wrong file was served"),
        Err(e) => assert!(!e.is_empty(), "the stream ended with an error"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tab_is_believed_only_when_a_signed_record_names_its_torrent() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (content(3), content(4));
    let (ma, mb) = (manifest(dir.path(), "a.bin", &a), manifest(dir.path(), "b.bin", &b));
    let cid = ma.cid_hex();
    let keypair = libp2p::identity::Keypair::generate_ed25519();
    let (node, _task) = relay::p2p::spawn(relay::p2p::NodeConfig {
        keypair: keypair.clone(),
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        bootstrap: Vec::new(),
        external: Vec::new(),
        server: true,
    })
    .await
    .unwrap();
    let state = AppState::with_node(dir.path().to_path_buf(), "http://127.0.0.1:1".into(), node.clone())
        .with_bridge(&dir.path().join("relay"), BridgeLimits::default(), relay::outbound::OutboundPolicy::new(relay::outbound::Scope::Loopback));
    state.bridge.0.as_ref().unwrap().set_records(node.clone());
    let addr = serve(state.clone()).await;

    // A liar offers B as A's CID, and no record exists yet: not believed.
    let _liar = tab(addr, &mb, b.clone(), &cid);
    offered(&state, &cid).await;
    let (status, body) = get(&state, &format!("/file/{cid}/chunk/0")).await;
    let body = String::from_utf8_lossy(&body.unwrap()).chars().take(300).collect::<String>();
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("no signed DHT record"), "{body}");

    // The honest record for A names A's torrent: the liar's offer is refused…
    let now = relay::p2p::now_secs();
    let signed = relay::seeding::record_for(&ma, &node, "http://127.0.0.1:1", now, None).sign(&keypair).unwrap();
    node.publish(&cid, signed, now).await.unwrap();
    let (status, body) = get(&state, &format!("/file/{cid}/chunk/0")).await;
    let body = String::from_utf8_lossy(&body.unwrap()).chars().take(300).collect::<String>();
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body.contains("another torrent"), "{body}");

    // …and once a tab offers the real A, that one is served, whole and exact.
    let _honest = tab(addr, &ma, a.clone(), &cid);
    let mut served = None;
    for _ in 0..100 {
        let (status, body) = get(&state, &format!("/file/{cid}")).await;
        if status == StatusCode::OK {
            served = Some(body.expect("the whole file"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served.expect("the honest tab's file was never served").as_ref() == &a[..], "the honest tab's file differs");
}
