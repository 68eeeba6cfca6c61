//! Tracker traffic in every direction we parse it: the WebSocket tracker's JSON (the relay's
//! server core, fed as a conversation between several connections), its replies (the page's
//! signaling session), magnet links, BEP 3 HTTP announce queries (relay as tracker) and
//! replies (relay as client), and BEP 15 UDP tracker replies.

use std::collections::BTreeSet;

use relay::http_tracker;
use relay::peer_discovery::{http_announce, udp_tracker};
use web_node::signaling::{Session, SessionConfig, Stats, TrackerId};
use web_node::tracker::{self, ConnId, Tracker};
use web_node::tracker_client;

/// Splits fuzz input into `(selector, record)` pairs: records end at `\n`, and the first
/// byte of each picks a connection or an action.
fn records(data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    data.split(|b| *b == b'\n').filter_map(|r| r.split_first().map(|(s, rest)| (*s, rest)))
}

/// The relay's WebSocket tracker core: up to four connections send messages, close and
/// reconnect while time passes. Replies only ever go to connections that are open, and the
/// swarms never hold more peers than connections that announced.
pub fn ws_tracker(data: &[u8]) {
    let mut t = Tracker::new();
    let mut open: BTreeSet<u64> = BTreeSet::new();
    let mut now = 1_000u64;
    for (sel, rec) in records(data) {
        let conn = u64::from(sel % 4);
        match sel / 4 % 8 {
            0 => {
                open.remove(&conn);
                t.handle_close(ConnId(conn));
            }
            1 => {
                now += u64::from(rec.first().copied().unwrap_or(1)) * 60;
                t.expire(now);
            }
            _ => {
                let _ = tracker::parse(rec);
                open.insert(conn);
                for out in t.handle_message(ConnId(conn), rec, now) {
                    assert!(open.contains(&out.conn.0), "a reply to a connection that is not open");
                }
            }
        }
        assert!(t.peer_count() <= open.len() * tracker::MAX_SWARMS_PER_CONNECTION);
    }
}

/// The page's signaling session reading what a tracker sends (two trackers, opened, fed,
/// closed, with time passing); and the stateless parser of the same replies.
pub fn tracker_response(data: &[u8]) {
    let urls = ["ws://a.example/announce".to_string(), "wss://b.example/announce".to_string()];
    let mut s = Session::new(SessionConfig::new([1; 20], [2; 20]), &urls, 0);
    let mut now = 0u64;
    for (sel, rec) in records(data) {
        let tracker = TrackerId(usize::from(sel % 2));
        let text = String::from_utf8_lossy(rec);
        let _ = tracker_client::parse_response(&text);
        match sel / 2 % 4 {
            0 => s.handle_open(tracker, now),
            1 => s.handle_close(tracker, now),
            2 => {
                now += u64::from(rec.first().copied().unwrap_or(0)) * 1000;
                s.handle_timeout(now);
            }
            _ => s.handle_message(tracker, &text, now),
        }
        while s.poll_output().is_some() {}
        if sel == 0xff {
            s.stop(Stats::default());
        }
    }
}

/// Magnet links (BEP 9 `xt`, `tr`, `x.pe`, `dn`; our `cid`).
pub fn magnet(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(m) = tracker_client::parse_magnet(&text) {
        assert!(m.peers.len() <= tracker_client::MAX_MAGNET_PEERS);
        for p in &m.peers {
            assert!(tracker_client::valid_peer_address(p));
        }
    }
}

/// The relay's `GET /api/ice` answer as the page reads it: only well-formed servers are
/// kept, never more than the page hands a peer connection, and what is kept reads back
/// the same when serialized again.
pub fn ice_config(data: &[u8]) {
    if let Ok(c) = web_node::ice::IceConfig::from_json(data) {
        assert!(c.ice_servers.len() <= web_node::ice::MAX_SERVERS);
        let again = serde_json::json!({ "ice_servers": c.ice_servers, "ttl": c.ttl, "expires": c.expires });
        let reread = web_node::ice::IceConfig::from_json(again.to_string().as_bytes()).expect("what was kept parses again");
        assert_eq!(reread, c);
    }
    let _ = web_node::ice::parse_user_servers(&String::from_utf8_lossy(data));
}

/// A BEP 3 announce query string sent to the relay's HTTP tracker, and the bridge's
/// WebSocket query (`?cid=…&tr=…&pe=…`).
pub fn http_announce_query(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = http_tracker::parse_query(&text);
    let _ = relay::bridge::BridgeQuery::parse(&text);
}

/// A BEP 3 / BEP 23 announce reply from an HTTP tracker the relay asked.
pub fn http_announce_reply(data: &[u8]) {
    let _ = http_announce::parse_reply(data);
}

/// A BEP 15 UDP tracker reply (connect, announce, error), for IPv4 and IPv6 sockets.
pub fn udp_tracker_reply(data: &[u8]) {
    let _ = udp_tracker::parse_response(data, false);
    let _ = udp_tracker::parse_response(data, true);
}

/// The relay's WebSocket frame decoder (RFC 6455 §5, client to server) behind `/announce`:
/// bytes cut at arbitrary points (the first byte of the input sets the cut size). Messages
/// never exceed the limit, and a masked frame we encode decodes to what we put in.
pub fn ws_frame(data: &[u8]) {
    use relay::ws_frame::{encode_frame, parse_header, Decoder, Event, Opcode};
    const MAX: usize = 4096;
    let Some((&cut, rest)) = data.split_first() else { return };
    let _ = parse_header(rest);
    let mut decoder = Decoder::new(MAX);
    'feed: for piece in rest.chunks(usize::from(cut).max(1)) {
        decoder.push(piece.to_vec());
        loop {
            match decoder.next_event() {
                Ok(Some(Event::Text(t))) => assert!(t.len() <= MAX),
                Ok(Some(Event::Binary(b))) => assert!(b.len() <= MAX),
                Ok(Some(Event::Ping(p))) => assert!(p.len() <= relay::ws_frame::MAX_CONTROL_PAYLOAD),
                Ok(Some(Event::Close)) | Err(_) => break 'feed,
                Ok(None) => break,
            }
        }
    }
    let payload = &rest[..rest.len().min(MAX)];
    let mut frame = Vec::new();
    encode_frame(true, Opcode::Binary, Some([cut, 1, 2, 3]), payload, &mut frame);
    let mut decoder = Decoder::new(MAX);
    decoder.push(frame);
    assert_eq!(decoder.next_event().expect("our own frame"), Some(Event::Binary(payload.to_vec())));
}
