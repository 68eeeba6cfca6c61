//! The WebSocket tracker core: offer/answer forwarding, counts, implicit stop, bounds,
//! and hostile input (property tests: no input makes it panic).
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use serde_json::{json, Value};
use web_node::tracker::*;

fn id(b: u8) -> String {
    id_to_binary_string(&[b; 20])
}

fn announce(peer: u8, offers: usize, extra: Value) -> Vec<u8> {
    let offers: Vec<Value> = (0..offers)
        .map(|i| json!({ "offer_id": id(100 + i as u8), "offer": { "type": "offer", "sdp": format!("v=0 offer {peer}/{i}") } }))
        .collect();
    let mut v = json!({ "action": "announce", "info_hash": id(0xee), "peer_id": id(peer), "left": 1000, "event": "started", "numwant": offers.len(), "offers": offers });
    if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            m.insert(k.clone(), x.clone());
        }
    }
    serde_json::to_vec(&v).unwrap()
}

const A: ConnId = ConnId(1);
const B: ConnId = ConnId(2);

#[test]
fn offers_and_answers_are_forwarded_between_peers() {
    let mut t = Tracker::new();
    let out = t.handle_message(A, &announce(1, 3, json!({})), 0);
    assert_eq!(out.len(), 1, "alone in the swarm: only the announce response");
    assert_eq!(out[0].message["interval"], 120);
    assert_eq!(out[0].message["incomplete"], 1);

    let out = t.handle_message(B, &announce(2, 2, json!({ "left": 0 })), 1);
    assert_eq!(out[0].conn, B);
    assert_eq!((out[0].message["complete"].clone(), out[0].message["incomplete"].clone()), (json!(1), json!(1)));
    assert_eq!(out.len(), 2, "one other peer: one offer forwarded");
    assert_eq!(out[1].conn, A);
    assert_eq!(out[1].message["peer_id"], id(2).as_str());
    assert_eq!(out[1].message["info_hash"], id(0xee).as_str());
    assert_eq!(out[1].message["offer"]["sdp"], "v=0 offer 2/0");
    let offer_id = out[1].message["offer_id"].clone();

    let answer = json!({ "action": "announce", "info_hash": id(0xee), "peer_id": id(1), "to_peer_id": id(2),
        "offer_id": offer_id, "answer": { "type": "answer", "sdp": "v=0 answer" } });
    let out = t.handle_message(A, &serde_json::to_vec(&answer).unwrap(), 2);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].conn, B);
    assert_eq!(out[0].message["answer"]["sdp"], "v=0 answer");
    assert_eq!(out[0].message["peer_id"], id(1).as_str());
    assert_eq!(out[0].message["offer_id"], offer_id);

    // Closing A's socket takes it out of the swarm.
    t.handle_close(A);
    let scrape = t.handle_message(B, br#"{"action":"scrape"}"#, 3);
    assert_eq!(scrape[0].message["files"][id(0xee)], json!({ "complete": 1, "incomplete": 0, "downloaded": 0 }));
    t.handle_message(B, &announce(2, 0, json!({ "event": "stopped" })), 4);
    assert_eq!((t.swarm_count(), t.peer_count()), (0, 0));
}

#[test]
fn bad_messages_get_a_failure_reason() {
    let mut t = Tracker::new();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not json".to_vec(), "JSON"),
        (br#"[1,2]"#.to_vec(), "JSON"),
        (br#"{"action":"dance"}"#.to_vec(), "unknown action"),
        (serde_json::to_vec(&json!({ "action": "announce", "info_hash": "short", "peer_id": id(1) })).unwrap(), "info_hash"),
        (serde_json::to_vec(&json!({ "action": "announce", "info_hash": id(1), "peer_id": "€".repeat(20) })).unwrap(), "peer_id"),
        (announce(1, MAX_OFFERS_PER_ANNOUNCE + 1, json!({})), "offers"),
        (announce(1, 1, json!({ "to_peer_id": id(9), "offer_id": id(8), "answer": { "type": "answer" } })), "to_peer_id"),
        (vec![b' '; MAX_MESSAGE_BYTES + 1], "bytes"),
    ];
    for (bytes, why) in cases {
        let out = t.handle_message(A, &bytes, 0);
        let reason = out[0].message["failure reason"].as_str().unwrap_or_default().to_string();
        assert!(reason.contains(why), "{why}: {reason}");
        assert_eq!(out.len(), 1);
    }
}

#[test]
fn a_connection_cannot_join_unbounded_swarms_and_silent_peers_expire() {
    let mut t = Tracker::new();
    for i in 0..MAX_SWARMS_PER_CONNECTION {
        let ih = id_to_binary_string(&[(i % 256) as u8, (i / 256) as u8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
        let m = json!({ "action": "announce", "info_hash": ih, "peer_id": id(1), "left": 5 });
        assert!(t.handle_message(A, &serde_json::to_vec(&m).unwrap(), 0)[0].message.get("failure reason").is_none());
    }
    let out = t.handle_message(A, &announce(1, 0, json!({})), 0);
    assert!(out[0].message["failure reason"].as_str().unwrap().contains("too many swarms"));
    t.handle_message(B, &announce(2, 0, json!({})), 0);
    t.expire(PEER_TIMEOUT_SECS + 1);
    assert_eq!(t.peer_count(), 0);
}

proptest! {
    #[test]
    fn binary_string_ids_round_trip(bytes in proptest::array::uniform20(any::<u8>())) {
        prop_assert_eq!(id_from_binary_string(&id_to_binary_string(&bytes)), Some(bytes));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut t = Tracker::new();
        let out = t.handle_message(A, &bytes, 0);
        prop_assert!(out.len() == 1);
    }

    #[test]
    fn damaged_announces_never_panic(peer in any::<u8>(), offers in 0usize..4, at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut t = Tracker::new();
        t.handle_message(B, &announce(peer.wrapping_add(1), 1, json!({})), 0);
        let mut bytes = announce(peer, offers, json!({}));
        let i = at.index(bytes.len());
        bytes[i] = byte;
        let out = t.handle_message(A, &bytes, 1);
        prop_assert!(!out.is_empty());
        t.handle_close(A);
        t.handle_close(B);
        prop_assert_eq!(t.peer_count(), 0);
    }
}

proptest! {
    /// The page parses whatever a tracker sends without panicking.
    #[test]
    fn tracker_responses_never_panic_the_client(text in ".{0,300}", ih in any::<[u8; 20]>(), sdp in ".{0,50}") {
        let _ = web_node::tracker_client::parse_response(&text);
        let offer = json!({ "action": "announce", "info_hash": id_to_binary_string(&ih), "peer_id": text, "offer_id": id_to_binary_string(&ih), "offer": { "sdp": sdp } });
        let _ = web_node::tracker_client::parse_response(&offer.to_string());
        let _ = web_node::tracker_client::parse_magnet(&text);
    }

    /// What the page sends, the relay's tracker understands.
    #[test]
    fn client_announces_parse_on_the_server(ih in any::<[u8; 20]>(), pid in any::<[u8; 20]>(), left in proptest::option::of(any::<u32>()), n in 0usize..6) {
        let req = web_node::tracker_client::AnnounceRequest {
            info_hash: ih, peer_id: pid, event: Some("started"), left: left.map(u64::from), uploaded: 1, downloaded: 2,
            offers: (0..n).map(|i| ([i as u8; 20], format!("v=0 {i}"))).collect(),
        };
        match parse(req.to_json().as_bytes()) {
            Ok(Request::Announce(a)) => {
                prop_assert_eq!(a.info_hash, ih);
                prop_assert_eq!(a.peer_id, pid);
                prop_assert_eq!(a.offers.len(), n);
                prop_assert_eq!(a.left, left.map(u64::from));
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }
}

#[test]
fn a_peer_id_belongs_to_the_connection_that_announced_it_first() {
    let mut t = Tracker::new();
    t.handle_message(A, &announce(1, 0, json!({})), 0);
    t.handle_message(B, &announce(2, 0, json!({})), 0);
    // C claims A's peer id: refused, so it neither receives the offers meant for A nor
    // answers in A's name.
    const C: ConnId = ConnId(3);
    let out = t.handle_message(C, &announce(1, 0, json!({})), 1);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].conn, C);
    assert!(out[0].message["failure reason"].as_str().unwrap().contains("another connection"), "{}", out[0].message);
    let forged = json!({ "action": "announce", "info_hash": id(0xee), "peer_id": id(1), "to_peer_id": id(2),
        "offer_id": id(7), "answer": { "type": "answer", "sdp": "v=0 forged" } });
    let out = t.handle_message(C, &serde_json::to_vec(&forged).unwrap(), 2);
    assert!(out.iter().all(|o| o.conn == C && o.message.get("failure reason").is_some()), "{out:?}");
    // B's offers still go to A's connection, and C leaving does not evict A.
    t.handle_close(C);
    let out = t.handle_message(B, &announce(2, 1, json!({ "event": "" })), 3);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].conn, A);
    // Once A has left, the id is free again.
    t.handle_close(A);
    let out = t.handle_message(C, &announce(1, 0, json!({})), 4);
    assert!(out[0].message.get("failure reason").is_none(), "{}", out[0].message);
}
