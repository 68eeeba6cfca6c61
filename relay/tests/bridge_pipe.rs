//! The bridge's file actor and its TCP pump over an in-memory pipe (no socket): a native
//! BitTorrent peer (the same sans-IO swarm a page runs) downloads a file the relay holds,
//! by magnet, piece by verified piece; and a peer that sends garbage is cut off while the
//! relay goes on serving.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use web_node::peer_wire::{Handshake, HANDSHAKE_LEN};
use web_node::swarm::{Event, Output, PeerKey, Swarm, SwarmConfig};

fn fixture(dir: &std::path::Path, len: usize) -> (Vec<u8>, relay::bridge::Bridge, web_node::manifest::Manifest) {
    let bytes: Vec<u8> = (0..len as u32).map(|i| (i.wrapping_mul(2_246_822_519) >> 23) as u8).collect();
    let path = dir.join("held.bin");
    std::fs::write(&path, &bytes).unwrap();
    let m = relay::seeding::ingest_all(std::slice::from_ref(&path), "http://127.0.0.1:1").unwrap().remove(0).manifest;
    let bridge = relay::bridge::Bridge::new(&dir.join("relay"), relay::bridge::BridgeLimits::default(), relay::outbound::OutboundPolicy::new(relay::outbound::Scope::Loopback));
    bridge.add_local(&path, &m).unwrap();
    (bytes, bridge, m)
}

#[tokio::test]
async fn a_peer_downloads_a_relay_held_file_over_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, bridge, m) = fixture(dir.path(), 5 * 262_144 + 123);
    let (relay_end, mut peer_end) = tokio::io::duplex(64 * 1024);
    // What bt_tcp does: the handshake is read first, then the connection joins the swarm.
    let mut swarm = Swarm::magnet(SwarmConfig::new(m.infohash, *b"-TP0001-pipepeer0001"));
    swarm.handle_connected(PeerKey(1), true, 0);
    let Some(Output::Transmit { data: opening, .. }) = swarm.poll_output() else { panic!("the handshake") };
    let first = opening[..HANDSHAKE_LEN].to_vec();
    assert_eq!(Handshake::parse(&first).unwrap().unwrap().0.info_hash, m.infohash);
    let relay_task = tokio::spawn(async move { bridge.attach_tcp(m.infohash, relay_end, first).await });
    peer_end.write_all(&opening[HANDSHAKE_LEN..]).await.unwrap();

    let mut pieces = std::collections::BTreeMap::new();
    let mut buf = vec![0u8; 32 * 1024];
    let epoch = std::time::Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !swarm.is_complete() {
        let now = epoch.elapsed().as_millis() as u64;
        while let Some(out) = swarm.poll_output() {
            match out {
                Output::Transmit { data, .. } => peer_end.write_all(&data).await.unwrap(),
                Output::Event(Event::PieceVerified { index, data, .. }) => {
                    pieces.insert(index, data);
                }
                Output::Event(Event::Disconnect { reason, .. }) => panic!("the relay was dropped: {reason}"),
                Output::Event(_) => {}
            }
        }
        tokio::select! {
            n = peer_end.read(&mut buf) => {
                let n = n.unwrap();
                assert!(n > 0, "the relay closed the pipe");
                swarm.handle_data(PeerKey(1), &buf[..n], now);
            }
            _ = tokio::time::sleep(Duration::from_millis(200)) => swarm.handle_timeout(now),
            _ = tokio::time::sleep_until(deadline) => panic!("not complete in time: {} pieces", pieces.len()),
        }
    }
    while let Some(out) = swarm.poll_output() {
        if let Output::Event(Event::PieceVerified { index, data, .. }) = out {
            pieces.insert(index, data);
        }
    }
    let got: Vec<u8> = pieces.into_values().flatten().collect();
    assert!(got == bytes, "the file differs");
    drop(peer_end);
    let ended = tokio::time::timeout(Duration::from_secs(10), relay_task).await.expect("the pump ends when the peer leaves").unwrap();
    assert!(ended.is_ok(), "{ended:?}");
}

#[tokio::test]
async fn a_peer_sending_garbage_is_cut_off_and_the_file_stays_served() {
    let dir = tempfile::tempdir().unwrap();
    let (_bytes, bridge, m) = fixture(dir.path(), 262_144);
    let (relay_end, mut peer_end) = tokio::io::duplex(64 * 1024);
    let mut first = Vec::new();
    Handshake::new(m.infohash, [9; 20]).encode_into(&mut first);
    let b = bridge.clone();
    let relay_task = tokio::spawn(async move { b.attach_tcp(m.infohash, relay_end, first).await });
    // A message longer than any the wire allows: the swarm drops the peer, the pump ends.
    peer_end.write_all(&[0xff, 0xff, 0xff, 0xff, 7]).await.unwrap();
    let mut sink = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), peer_end.read_to_end(&mut sink)).await;
    assert!(read.is_ok(), "the relay kept a peer that sent garbage");
    tokio::time::timeout(Duration::from_secs(10), relay_task).await.expect("the pump ended").unwrap().ok();
    assert!(bridge.has(&m.cid_hex()), "the file is still served");
}
