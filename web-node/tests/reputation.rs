//! Reputation: properties of the scores, the avoid list, the bound and the stored JSON.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use web_node::reputation::{Evidence, Reputation, ReputationConfig, ReputationError, Subject, MAX_STORED_BYTES};

const DAY: u64 = 24 * 3600 * 1000;

fn subject() -> impl Strategy<Value = Subject> {
    prop_oneof![(0u8..6).prop_map(|i| Subject::Peer(format!("peer-{i}"))), (0u8..6).prop_map(|i| Subject::Wallet([i; 20]))]
}

fn bytes() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..4 << 20, any::<u64>()]
}

fn evidence() -> impl Strategy<Value = Evidence> {
    prop_oneof![
        bytes().prop_map(|bytes| Evidence::Delivered { bytes }),
        (bytes(), any::<bool>()).prop_map(|(bytes, sole)| Evidence::FailedPiece { bytes, sole }),
        Just(Evidence::Stalled),
        Just(Evidence::PaidUs),
        Just(Evidence::WasPaid),
        Just(Evidence::PaymentRefused),
    ]
}

/// Events with the time since the previous one (ms, up to two days).
fn history() -> impl Strategy<Value = Vec<(Subject, Evidence, u64)>> {
    prop::collection::vec((subject(), evidence(), 0u64..2 * DAY), 0..40)
}

/// Plays a history from time 0; returns the store and the last event's time.
fn play(config: ReputationConfig, h: &[(Subject, Evidence, u64)]) -> (Reputation, u64) {
    let mut r = Reputation::new(config);
    let mut now = 0;
    for (s, e, dt) in h {
        now += dt;
        r.record(s, *e, now);
    }
    (r, now)
}

fn all_subjects() -> Vec<Subject> {
    (0u8..6).flat_map(|i| [Subject::Peer(format!("peer-{i}")), Subject::Wallet([i; 20])]).collect()
}

fn is_lie(e: &Evidence) -> bool {
    matches!(e, Evidence::FailedPiece { .. })
}

proptest! {
    #[test]
    fn scores_stay_strictly_between_0_and_1(h in history(), later in 0u64..100 * DAY) {
        let (r, now) = play(ReputationConfig::default(), &h);
        for s in all_subjects() {
            let score = r.score(&s, now + later);
            prop_assert!(score > 0.0 && score < 1.0, "{s:?}: {score}");
        }
    }

    #[test]
    fn scores_stay_inside_under_huge_evidence(n in 1usize..50, good in any::<bool>()) {
        let mut r = Reputation::default();
        let s = Subject::Peer("p".into());
        for _ in 0..n {
            r.record(&s, if good { Evidence::Delivered { bytes: u64::MAX } } else { Evidence::FailedPiece { bytes: u64::MAX, sole: true } }, 0);
        }
        let score = r.score(&s, 0);
        prop_assert!(score > 0.0 && score < 1.0);
    }

    #[test]
    fn more_verified_bytes_never_lower_a_score(h in history(), at in any::<prop::sample::Index>(), who in subject(), extra in 1u64..1 << 30, later in 0u64..10 * DAY) {
        let (base, now) = play(ReputationConfig::default(), &h);
        let mut more = h.clone();
        let i = if h.is_empty() { 0 } else { at.index(h.len() + 1) };
        more.insert(i, (who.clone(), Evidence::Delivered { bytes: extra }, 0));
        let (with, now2) = play(ReputationConfig::default(), &more);
        prop_assert_eq!(now, now2);
        let (before, after) = (base.score(&who, now + later), with.score(&who, now + later));
        // Allow for one rounding of the f64 ratio.
        prop_assert!(after >= before - 1e-12, "{before} → {after}");
    }

    #[test]
    fn a_failed_piece_always_lowers_a_score(h in history(), who in subject(), b in bytes(), sole in any::<bool>(), dt in 0u64..DAY) {
        let (mut r, now) = play(ReputationConfig::default(), &h);
        let before = r.score(&who, now + dt);
        let avoided_before = r.is_avoided(&who, now + dt);
        r.record(&who, Evidence::FailedPiece { bytes: b, sole }, now + dt);
        let after = r.score(&who, now + dt);
        prop_assert!(after < before, "{before} → {after}");
        prop_assert_eq!(r.is_avoided(&who, now + dt), sole || avoided_before);
    }

    #[test]
    fn a_liar_ranks_below_any_honest_peer_that_delivered(
        h in history(),
        honest_history in prop::collection::vec((evidence(), 0u64..DAY), 0..20),
        delivered in 1u64..1 << 30,
        liar_first in any::<bool>(),
        within in 0u64..29 * DAY,
    ) {
        let (liar, honest) = (Subject::Peer("liar".into()), Subject::Peer("honest".into()));
        let (mut r, mut now) = play(ReputationConfig::default(), &h);
        // The liar may have delivered a lot before lying.
        r.record(&liar, Evidence::Delivered { bytes: u64::MAX }, now);
        r.record(&honest, Evidence::Delivered { bytes: delivered }, now);
        for (e, dt) in honest_history.iter().filter(|(e, _)| !is_lie(e)) {
            now += dt;
            r.record(&honest, *e, now);
        }
        r.record(&liar, Evidence::FailedPiece { bytes: 16 * 1024, sole: true }, now);
        let order = if liar_first { vec![liar.clone(), honest.clone()] } else { vec![honest.clone(), liar.clone()] };
        let ranked = r.rank(&order, now + within, |s| [s.clone()]);
        prop_assert_eq!(&order[ranked[0].index], &honest);
        prop_assert!(ranked[1].standing.avoided);
    }

    #[test]
    fn decay_moves_scores_toward_the_prior_monotonically(h in history(), steps in prop::collection::vec(0u64..20 * DAY, 1..10)) {
        let (r, mut now) = play(ReputationConfig::default(), &h);
        for s in all_subjects() {
            let mut t = now;
            let mut last = r.score(&s, t) - 0.5;
            for dt in &steps {
                t += dt;
                let d = r.score(&s, t) - 0.5;
                prop_assert!(d.abs() <= last.abs() + 1e-12, "{s:?}: {last} → {d}");
                prop_assert!(d * last >= 0.0, "crossed the prior: {last} → {d}");
                last = d;
            }
        }
        now += 1000 * DAY;
        for s in all_subjects() {
            prop_assert!((r.score(&s, now) - 0.5).abs() < 1e-6);
        }
    }

    #[test]
    fn the_store_never_exceeds_its_bound_and_keeps_liars_longest(
        max in 1usize..12,
        events in prop::collection::vec((0u16..200, evidence(), 0u64..DAY), 0..300),
    ) {
        let config = ReputationConfig { max_entries: max, ..ReputationConfig::default() };
        let mut r = Reputation::new(config);
        let mut now = 0;
        for (i, e, dt) in &events {
            now += dt;
            let avoided_before: Vec<Subject> = r.avoided(now).cloned().collect();
            let honest_before = r.len() - avoided_before.len();
            let s = Subject::Peer(format!("p{i}"));
            r.record(&s, *e, now);
            prop_assert!(r.len() <= max);
            // A liar is evicted only when no one else could be.
            if honest_before > 0 {
                for a in &avoided_before {
                    prop_assert!(r.is_avoided(a, now), "{a:?} was evicted while honest subjects remained");
                }
            }
        }
    }

    #[test]
    fn json_round_trips(h in history(), later in 0u64..10 * DAY) {
        let (r, now) = play(ReputationConfig::default(), &h);
        let json = r.to_json();
        let back = Reputation::from_json(&json, ReputationConfig::default()).unwrap();
        prop_assert_eq!(back.len(), r.len());
        // serde_json's default float parsing may land an ulp away; a second trip is stable.
        let again = Reputation::from_json(&back.to_json(), ReputationConfig::default()).unwrap();
        prop_assert_eq!(again.len(), r.len());
        for s in all_subjects() {
            let (a, b) = (r.standing(&s, now + later), back.standing(&s, now + later));
            prop_assert_eq!(a.avoided, b.avoided);
            prop_assert!((a.score - b.score).abs() < 1e-12);
        }
    }

    #[test]
    fn arbitrary_stored_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let (r, err) = Reputation::load_or_empty(Some(&text), ReputationConfig::default());
        if err.is_some() {
            prop_assert!(r.is_empty());
        }
    }

    #[test]
    fn damaged_stored_json_never_panics(h in history(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let (r, _) = play(ReputationConfig::default(), &h);
        let mut json = r.to_json().into_bytes();
        let i = at.index(json.len());
        json[i] = byte;
        let text = String::from_utf8_lossy(&json);
        let (r, err) = Reputation::load_or_empty(Some(&text), ReputationConfig::default());
        if err.is_some() {
            prop_assert!(r.is_empty());
        }
        prop_assert!(r.len() <= ReputationConfig::default().max_entries);
    }
}

#[test]
fn oversized_malformed_and_crowded_stores_are_typed_errors_and_empty() {
    let huge = " ".repeat(MAX_STORED_BYTES + 1);
    let (r, err) = Reputation::load_or_empty(Some(&huge), ReputationConfig::default());
    assert!(r.is_empty());
    assert!(matches!(err, Some(ReputationError::Oversized { .. })));

    let bad = r#"{"version":1,"entries":[{"subject":{"kind":"peer","id":"a"},"good":-1,"bad":0,"updated_ms":0}]}"#;
    assert!(matches!(Reputation::from_json(bad, ReputationConfig::default()), Err(ReputationError::Malformed(_))));
    let bad_wallet = r#"{"version":1,"entries":[{"subject":{"kind":"wallet","id":"0x12"},"good":1,"bad":0,"updated_ms":0}]}"#;
    assert!(matches!(Reputation::from_json(bad_wallet, ReputationConfig::default()), Err(ReputationError::Malformed(_))));

    let mut r = Reputation::default();
    for i in 0..5 {
        r.record(&Subject::Peer(format!("p{i}")), Evidence::Stalled, 0);
    }
    let small = ReputationConfig { max_entries: 4, ..ReputationConfig::default() };
    assert!(matches!(Reputation::from_json(&r.to_json(), small), Err(ReputationError::TooManyEntries { len: 5, max: 4 })));
    assert_eq!(Reputation::load_or_empty(None, small).1, None);
}
