//! The session in memory with virtual time: no sockets, no sleeps.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::tracker::id_to_binary_string;

const HASH: Id20 = [1; 20];
const ME: Id20 = [2; 20];
const OTHER: Id20 = [3; 20];

fn urls(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("ws://tracker{i}/announce")).collect()
}

fn session(trackers: usize) -> Session {
    Session::new(SessionConfig::new(HASH, ME), &urls(trackers), 0)
}

fn drain(s: &mut Session) -> Vec<Output> {
    std::iter::from_fn(|| s.poll_output()).collect()
}

fn sent(out: &[Output]) -> Vec<(TrackerId, Value)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { tracker, text } => Some((*tracker, serde_json::from_str(text).expect("we send JSON"))),
            _ => None,
        })
        .collect()
}

fn offer_id(n: u8) -> Id20 {
    [n; 20]
}

fn stats(left: Option<u64>) -> Stats {
    Stats { left, uploaded: 5, downloaded: 7 }
}

/// Opens tracker 0 at `now` and answers its MakeOffers with `n` offers.
fn open_and_announce(s: &mut Session, now: u64, n: u8, first_id: u8) -> Vec<Output> {
    s.handle_open(TrackerId(0), now);
    let out = drain(s);
    let max = out.iter().find_map(|o| if let Output::MakeOffers { tracker: TrackerId(0), max } = o { Some(*max) } else { None }).expect("MakeOffers on open");
    let offers: Vec<(Id20, String)> = (0..n.min(max as u8)).map(|i| (offer_id(first_id + i), format!("sdp{i}"))).collect();
    s.offers_made(TrackerId(0), offers, stats(None), now);
    drain(s)
}

fn tracker_msg(v: Value) -> String {
    v.to_string()
}

fn offer_msg(info_hash: &Id20, from: &Id20, offer: &Id20) -> String {
    tracker_msg(json!({ "action": "announce", "info_hash": id_to_binary_string(info_hash), "peer_id": id_to_binary_string(from),
        "offer_id": id_to_binary_string(offer), "offer": { "type": "offer", "sdp": "v=0 theirs" } }))
}

fn answer_msg(info_hash: &Id20, from: &Id20, offer: &Id20) -> String {
    tracker_msg(json!({ "action": "announce", "info_hash": id_to_binary_string(info_hash), "peer_id": id_to_binary_string(from),
        "offer_id": id_to_binary_string(offer), "answer": { "type": "answer", "sdp": "v=0 answer" } }))
}

fn interval_msg(info_hash: &Id20, interval: u64) -> String {
    tracker_msg(json!({ "action": "announce", "info_hash": id_to_binary_string(info_hash), "interval": interval, "complete": 1, "incomplete": 1 }))
}

#[test]
fn connects_every_websocket_tracker_at_once_and_announces_started_with_offers() {
    let mut s = Session::new(SessionConfig::new(HASH, ME), &["ws://a/".into(), "http://b/announce".into(), "wss://c/".into()], 0);
    let out = drain(&mut s);
    assert_eq!(
        out,
        vec![Output::Connect { tracker: TrackerId(0), url: "ws://a/".into() }, Output::Connect { tracker: TrackerId(1), url: "wss://c/".into() }]
    );
    assert_eq!(s.tracker_count(), 2);
    assert_eq!(s.connected(), 0);
    let out = open_and_announce(&mut s, 100, 3, 10);
    assert_eq!(s.connected(), 1);
    let sends = sent(&out);
    assert_eq!(sends.len(), 1);
    let (tracker, announce) = &sends[0];
    assert_eq!(*tracker, TrackerId(0));
    assert_eq!(announce["event"], "started");
    assert_eq!(announce["offers"].as_array().map(Vec::len), Some(3));
    assert_eq!(announce["numwant"], 3);
    assert_eq!(announce["uploaded"], 5);
    assert_eq!(s.pending_offers(), (3, 0));
}

#[test]
fn announces_every_30_s_while_leeching_and_at_the_trackers_interval_when_seeding() {
    let mut s = session(1);
    drain(&mut s);
    open_and_announce(&mut s, 0, 0, 1);
    assert_eq!(s.poll_timeout(), Some(30_000));
    s.handle_timeout(29_999);
    assert!(drain(&mut s).is_empty());
    s.handle_timeout(30_000);
    assert_eq!(drain(&mut s), vec![Output::MakeOffers { tracker: TrackerId(0), max: OFFERS_PER_ANNOUNCE }]);
    s.offers_made(TrackerId(0), Vec::new(), stats(Some(10)), 30_000);
    let sends = sent(&drain(&mut s));
    assert_eq!(sends.len(), 1);
    assert!(sends[0].1.get("event").is_none(), "only the first announce is `started`");
    // The tracker asks for 300 s: leeching still announces every 30 s.
    s.handle_message(TrackerId(0), &interval_msg(&HASH, 300), 30_010);
    assert_eq!(s.poll_timeout(), Some(60_000));
    // Complete: `completed` once, then the tracker's interval.
    s.handle_completed(stats(Some(0)), 40_000);
    let sends = sent(&drain(&mut s));
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].1["event"], "completed");
    assert_eq!(sends[0].1["left"], 0);
    s.handle_completed(stats(Some(0)), 40_001);
    assert!(drain(&mut s).is_empty(), "completed is sent once");
    s.handle_timeout(60_000);
    s.offers_made(TrackerId(0), Vec::new(), stats(Some(0)), 60_000);
    drain(&mut s);
    assert_eq!(s.poll_timeout(), Some(60_000 + 300_000));
}

#[test]
fn a_huge_or_tiny_interval_is_clamped() {
    let mut s = session(1);
    drain(&mut s);
    s.handle_open(TrackerId(0), 0);
    drain(&mut s);
    s.offers_made(TrackerId(0), Vec::new(), stats(Some(0)), 0);
    drain(&mut s);
    s.handle_message(TrackerId(0), &interval_msg(&HASH, u64::MAX), 1);
    assert_eq!(s.poll_timeout(), Some(MAX_INTERVAL_SECS * 1000));
    s.handle_message(TrackerId(0), &interval_msg(&HASH, 0), 2);
    assert_eq!(s.poll_timeout(), Some(MIN_INTERVAL_SECS * 1000));
    // Another torrent's interval changes nothing.
    s.handle_message(TrackerId(0), &interval_msg(&[9; 20], 3000), 3);
    assert_eq!(s.poll_timeout(), Some(MIN_INTERVAL_SECS * 1000));
}

#[test]
fn reconnects_after_2_s_doubling_to_60_s_and_resets_once_the_tracker_answers() {
    let mut s = session(1);
    let mut now = 0;
    assert!(matches!(drain(&mut s)[..], [Output::Connect { .. }]));
    let mut waits = Vec::new();
    for _ in 0..8 {
        s.handle_close(TrackerId(0), now);
        assert!(drain(&mut s).is_empty());
        let at = s.poll_timeout().expect("a reconnect is scheduled");
        waits.push(at - now);
        s.handle_timeout(at - 1);
        assert!(drain(&mut s).is_empty(), "not before the backoff");
        s.handle_timeout(at);
        assert!(matches!(drain(&mut s)[..], [Output::Connect { tracker: TrackerId(0), .. }]));
        now = at + 5;
    }
    assert_eq!(waits, vec![2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    // Open and answered: the next loss waits 2 s again.
    s.handle_open(TrackerId(0), now);
    drain(&mut s);
    s.offers_made(TrackerId(0), Vec::new(), stats(None), now);
    drain(&mut s);
    s.handle_message(TrackerId(0), &interval_msg(&HASH, 120), now);
    s.handle_close(TrackerId(0), now);
    assert_eq!(s.poll_timeout(), Some(now + 2_000));
    // A close for a tracker already closed, or one that does not exist, changes nothing.
    s.handle_close(TrackerId(0), now + 1);
    s.handle_close(TrackerId(7), now + 1);
    assert_eq!(s.poll_timeout(), Some(now + 2_000));
}

#[test]
fn a_socket_that_never_opens_is_given_up_and_retried() {
    let mut s = session(1);
    drain(&mut s);
    assert_eq!(s.poll_timeout(), Some(CONNECT_TIMEOUT_MS));
    s.handle_timeout(CONNECT_TIMEOUT_MS);
    assert_eq!(drain(&mut s), vec![Output::Close { tracker: TrackerId(0) }]);
    assert_eq!(s.poll_timeout(), Some(CONNECT_TIMEOUT_MS + RECONNECT_MIN_MS));
    // A late open of the abandoned socket is ignored.
    s.handle_open(TrackerId(0), CONNECT_TIMEOUT_MS + 1);
    assert_eq!(s.connected(), 0);
}

#[test]
fn unanswered_offers_are_dropped_after_their_lifetime_and_answers_pass_once() {
    let mut s = session(1);
    drain(&mut s);
    open_and_announce(&mut s, 1_000, 3, 10);
    // An answer to offer 10: passed on once, then it waits for the driver.
    s.handle_message(TrackerId(0), &answer_msg(&HASH, &OTHER, &offer_id(10)), 2_000);
    let out = drain(&mut s);
    assert_eq!(out, vec![Output::Event(SignalEvent::Answer { peer_id: OTHER, offer_id: offer_id(10), sdp: "v=0 answer".into() })]);
    s.handle_message(TrackerId(0), &answer_msg(&HASH, &OTHER, &offer_id(10)), 2_001);
    assert!(drain(&mut s).is_empty(), "a repeated answer is ignored");
    s.handle_settled(offer_id(10));
    // Offer 11 is answered by ourselves (an echo): ignored. Offer 99 is unknown: ignored.
    s.handle_message(TrackerId(0), &answer_msg(&HASH, &ME, &offer_id(11)), 2_002);
    s.handle_message(TrackerId(0), &answer_msg(&HASH, &OTHER, &offer_id(99)), 2_003);
    s.handle_message(TrackerId(0), &answer_msg(&[9; 20], &OTHER, &offer_id(12)), 2_004);
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.pending_offers(), (2, 0));
    // 50 s after they were made, 11 and 12 go (the announce timer is separate).
    let ttl = SessionConfig::new(HASH, ME).offer_ttl_ms;
    s.handle_timeout(1_000 + ttl - 1);
    assert!(!drain(&mut s).iter().any(|o| matches!(o, Output::DropOffer { .. })));
    s.handle_timeout(1_000 + ttl);
    let dropped: Vec<Output> = drain(&mut s).into_iter().filter(|o| matches!(o, Output::DropOffer { .. })).collect();
    assert_eq!(dropped, vec![Output::DropOffer { offer_id: offer_id(11) }, Output::DropOffer { offer_id: offer_id(12) }]);
    assert_eq!(s.pending_offers(), (0, 0));
    // An answer after expiry is for an unknown offer.
    s.handle_message(TrackerId(0), &answer_msg(&HASH, &OTHER, &offer_id(11)), 1_000 + ttl + 1);
    assert!(!drain(&mut s).iter().any(|o| matches!(o, Output::Event(_))));
}

#[test]
fn their_offers_are_passed_on_bounded_and_answered_through_their_tracker() {
    let mut s = session(1);
    drain(&mut s);
    open_and_announce(&mut s, 0, 0, 1);
    // Our own offer (echoed) and another torrent's are ignored.
    s.handle_message(TrackerId(0), &offer_msg(&HASH, &ME, &offer_id(50)), 1);
    s.handle_message(TrackerId(0), &offer_msg(&[9; 20], &OTHER, &offer_id(51)), 1);
    assert!(drain(&mut s).is_empty());
    s.handle_message(TrackerId(0), &offer_msg(&HASH, &OTHER, &offer_id(52)), 2);
    let out = drain(&mut s);
    assert_eq!(out, vec![Output::Event(SignalEvent::Offer { tracker: TrackerId(0), peer_id: OTHER, offer_id: offer_id(52), sdp: "v=0 theirs".into() })]);
    s.answer_made(offer_id(52), OTHER, "v=0 ours");
    let sends = sent(&drain(&mut s));
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].1["answer"]["sdp"], "v=0 ours");
    assert_eq!(sends[0].1["to_peer_id"], id_to_binary_string(&OTHER));
    // An answer for an offer we were never given is not sent.
    s.answer_made(offer_id(53), OTHER, "v=0 ours");
    assert!(drain(&mut s).is_empty());
    // A flood: only max_answering are passed on at once.
    let max = SessionConfig::new(HASH, ME).max_answering;
    for i in 0..100u8 {
        s.handle_message(TrackerId(0), &offer_msg(&HASH, &OTHER, &offer_id(100 + i)), 3);
    }
    let offers = drain(&mut s).iter().filter(|o| matches!(o, Output::Event(SignalEvent::Offer { .. }))).count();
    assert_eq!(offers + 1, max);
    assert_eq!(s.pending_offers(), (0, max));
    // An offer reusing a pending offer id is ignored.
    s.handle_settled(offer_id(100));
    s.handle_message(TrackerId(0), &offer_msg(&HASH, &OTHER, &offer_id(52)), 4);
    assert!(drain(&mut s).is_empty());
}

#[test]
fn our_offers_are_bounded_across_trackers() {
    let mut config = SessionConfig::new(HASH, ME);
    config.max_own_offers = 7;
    let mut s = Session::new(config, &urls(4), 0);
    drain(&mut s);
    let mut next = 0u8;
    let mut total = 0;
    for round in 0..3u64 {
        let now = round * 60_000;
        for t in 0..4 {
            s.handle_open(TrackerId(t), now);
        }
        s.handle_timeout(now);
        let asks: Vec<(TrackerId, usize)> = drain(&mut s).into_iter().filter_map(|o| if let Output::MakeOffers { tracker, max } = o { Some((tracker, max)) } else { None }).collect();
        for (tracker, max) in asks {
            // A greedy driver makes more than asked: the extra ones are dropped at once.
            let offers: Vec<(Id20, String)> = (0..max + 2)
                .map(|_| {
                    next = next.wrapping_add(1);
                    ([next; 20], String::new())
                })
                .collect();
            s.offers_made(tracker, offers, stats(None), now);
            let dropped = drain(&mut s).iter().filter(|o| matches!(o, Output::DropOffer { .. })).count();
            assert!(dropped >= 2);
            total += max;
            assert!(s.pending_offers().0 <= 7);
        }
    }
    assert!(total >= 7);
}

#[test]
fn offers_for_a_tracker_that_closed_meanwhile_are_dropped() {
    let mut s = session(1);
    drain(&mut s);
    s.handle_open(TrackerId(0), 0);
    drain(&mut s);
    s.handle_close(TrackerId(0), 10);
    s.offers_made(TrackerId(0), vec![(offer_id(1), "a".into())], stats(None), 20);
    assert_eq!(drain(&mut s), vec![Output::DropOffer { offer_id: offer_id(1) }]);
    assert_eq!(s.pending_offers(), (0, 0));
}

#[test]
fn a_driver_that_never_makes_offers_does_not_stall_announces() {
    let mut s = session(1);
    drain(&mut s);
    s.handle_open(TrackerId(0), 0);
    assert!(matches!(drain(&mut s)[..], [Output::MakeOffers { .. }]));
    let at = s.poll_timeout().expect("a deadline");
    s.handle_timeout(at);
    let sends = sent(&drain(&mut s));
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].1["event"], "started");
    assert!(sends[0].1.get("offers").is_none());
}

#[test]
fn stop_says_stopped_closes_everything_and_then_ignores_input() {
    let mut s = session(2);
    drain(&mut s);
    open_and_announce(&mut s, 0, 2, 10);
    s.handle_message(TrackerId(0), &offer_msg(&HASH, &OTHER, &offer_id(40)), 1);
    drain(&mut s);
    s.stop(stats(Some(3)));
    let out = drain(&mut s);
    let sends = sent(&out);
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].1["event"], "stopped");
    assert!(out.contains(&Output::Close { tracker: TrackerId(0) }));
    assert!(out.contains(&Output::Close { tracker: TrackerId(1) }), "the connecting socket too");
    let dropped = out.iter().filter(|o| matches!(o, Output::DropOffer { .. })).count();
    assert_eq!(dropped, 3);
    assert_eq!(s.pending_offers(), (0, 0));
    assert_eq!(s.poll_timeout(), None);
    s.handle_open(TrackerId(1), 2);
    s.handle_message(TrackerId(0), &offer_msg(&HASH, &OTHER, &offer_id(41)), 2);
    s.handle_timeout(1_000_000);
    s.handle_close(TrackerId(0), 3);
    s.stop(stats(None));
    assert!(drain(&mut s).is_empty());
    // Offers a driver finishes after the stop are dropped.
    s.offers_made(TrackerId(0), vec![(offer_id(60), String::new())], stats(None), 4);
    assert_eq!(drain(&mut s), vec![Output::DropOffer { offer_id: offer_id(60) }]);
}

#[test]
fn failures_and_warnings_are_passed_on_short() {
    let mut s = session(1);
    drain(&mut s);
    s.handle_open(TrackerId(0), 0);
    drain(&mut s);
    let long = "é".repeat(1000);
    s.handle_message(TrackerId(0), &tracker_msg(json!({ "failure reason": long })), 1);
    s.handle_message(TrackerId(0), &tracker_msg(json!({ "failure reason": "other", "info_hash": id_to_binary_string(&[9; 20]) })), 1);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    let Output::Event(SignalEvent::Failure { reason, .. }) = &out[0] else { panic!("{out:?}") };
    assert!(reason.len() <= 256 && reason.starts_with('é'));
}

// ---- a hostile tracker ------------------------------------------------------------------

fn id_strategy() -> impl Strategy<Value = Id20> {
    // Few distinct ids, so collisions with ours and with pending offers happen.
    prop_oneof![Just(HASH), Just(ME), Just(OTHER), (0u8..6).prop_map(|b| [b + 10; 20])]
}

fn message_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        (id_strategy(), id_strategy(), id_strategy()).prop_map(|(h, p, o)| offer_msg(&h, &p, &o)),
        (id_strategy(), id_strategy(), id_strategy()).prop_map(|(h, p, o)| answer_msg(&h, &p, &o)),
        (id_strategy(), any::<u64>()).prop_map(|(h, i)| interval_msg(&h, i)),
        (id_strategy(), any::<i64>()).prop_map(|(h, i)| tracker_msg(json!({ "action": "announce", "info_hash": id_to_binary_string(&h), "interval": i }))),
        Just(r#"{"action":"announce","info_hash":"x","offer":{"sdp":1}}"#.to_string()),
        Just(r#"{"failure reason":null}"#.to_string()),
        Just("[1,2,3]".to_string()),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Open(usize),
    Close(usize),
    Message(usize, String),
    Tick(u64),
    MakeOffers(usize, Vec<u8>),
    Answer(u8),
    Settle(u8),
    Completed,
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0usize..4).prop_map(Op::Open),
        1 => (0usize..4).prop_map(Op::Close),
        4 => (0usize..4, message_strategy()).prop_map(|(t, m)| Op::Message(t, m)),
        3 => (0u64..70_000).prop_map(Op::Tick),
        1 => (0usize..4, proptest::collection::vec(0u8..16, 0..8)).prop_map(|(t, ids)| Op::MakeOffers(t, ids)),
        1 => (0u8..16).prop_map(Op::Answer),
        1 => (0u8..16).prop_map(Op::Settle),
        1 => Just(Op::Completed),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever a tracker sends and however the driver interleaves its reports, the session
    /// never panics, keeps its bounds, has no deadline in the past and emits a bounded
    /// amount per input.
    #[test]
    fn a_hostile_tracker_never_panics_or_grows_state(ops in proptest::collection::vec(op_strategy(), 1..120), stop_at in 0usize..150) {
        let mut config = SessionConfig::new(HASH, ME);
        config.max_own_offers = 6;
        config.max_answering = 3;
        let mut s = Session::new(config, &urls(3), 0);
        let mut now = 0u64;
        let mut held: std::collections::HashSet<Id20> = Default::default();
        for (i, op) in ops.into_iter().enumerate() {
            if i == stop_at {
                s.stop(stats(None));
            }
            match op {
                Op::Open(t) => s.handle_open(TrackerId(t), now),
                Op::Close(t) => s.handle_close(TrackerId(t), now),
                Op::Message(t, m) => s.handle_message(TrackerId(t), &m, now),
                Op::Tick(dt) => {
                    now += dt;
                    s.handle_timeout(now);
                }
                Op::MakeOffers(t, ids) => s.offers_made(TrackerId(t), ids.into_iter().map(|b| ([b + 10; 20], String::new())).collect(), stats(None), now),
                Op::Answer(b) => s.answer_made([b + 10; 20], OTHER, "v=0"),
                Op::Settle(b) => {
                    held.remove(&[b + 10; 20]);
                    s.handle_settled([b + 10; 20]);
                }
                Op::Completed => s.handle_completed(stats(Some(0)), now),
            }
            let out = drain(&mut s);
            prop_assert!(out.len() <= 64, "{} outputs for one input", out.len());
            for o in &out {
                if let Output::DropOffer { offer_id } = o {
                    held.remove(offer_id);
                }
                if let Output::Event(SignalEvent::Offer { offer_id, peer_id, .. }) = o {
                    prop_assert_ne!(*peer_id, ME);
                    held.insert(*offer_id);
                }
            }
            let (ours, theirs) = s.pending_offers();
            prop_assert!(ours <= 6 && theirs <= 3);
            prop_assert!(s.connected() <= 3);
            if let Some(at) = s.poll_timeout() {
                prop_assert!(at > now, "deadline {at} not after now {now}");
            }
            if s.is_stopped() {
                prop_assert_eq!(s.pending_offers(), (0, 0));
                prop_assert_eq!(s.poll_timeout(), None);
            }
        }
    }
}
