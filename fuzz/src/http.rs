//! What HTTP clients send the relay: JSON-RPC bodies for the chain proxy, `Range` fields
//! (RFC 9110 §14), conditional request fields (§13) and forwarding headers (RFC 7239,
//! `X-Forwarded-For`).

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use relay::byte_ranges::{self, RangePlan};
use relay::client_addr::{self, TrustedProxies};
use relay::conditional::{self, Validators};
use relay::rpc_guard::{self, Checked};

/// The chain proxy's guard: whatever it forwards is a body it would forward again
/// unchanged (the guard re-serializes what it checked, never the bytes it received).
pub fn rpc_guard(data: &[u8]) {
    if let Checked::Forward(calls) = rpc_guard::check(data) {
        assert!(!calls.is_empty());
        match rpc_guard::check(&calls.to_body()) {
            Checked::Forward(again) => assert_eq!(again, calls),
            Checked::Refuse(v) => panic!("refused what it forwarded: {v}"),
        }
    }
}

/// A `Range` field against representations of several lengths: every planned range lies
/// inside the representation, and a multipart plan's ranges are disjoint.
pub fn byte_ranges(data: &[u8]) {
    let _ = byte_ranges::parse(data);
    for len in [0u64, 1, 262_144, u64::MAX] {
        match byte_ranges::plan(data, len) {
            RangePlan::Whole | RangePlan::Unsatisfiable => {}
            RangePlan::Single(r) => assert!(r.first <= r.last && r.last < len),
            RangePlan::Multi(rs) => {
                assert!(rs.len() >= 2 && rs.len() <= byte_ranges::MAX_RANGES);
                let mut sorted = rs.clone();
                sorted.sort_unstable_by_key(|r| r.first);
                assert!(sorted.iter().all(|r| r.first <= r.last && r.last < len));
                assert!(sorted.windows(2).all(|w| w[0].last < w[1].first));
            }
        }
    }
}

const FIELDS: [HeaderName; 8] = [
    http::header::IF_MATCH,
    http::header::IF_NONE_MATCH,
    http::header::IF_MODIFIED_SINCE,
    http::header::IF_UNMODIFIED_SINCE,
    http::header::IF_RANGE,
    http::header::RANGE,
    http::header::FORWARDED,
    HeaderName::from_static("x-forwarded-for"),
];

/// Header fields from fuzz input: records end at `\n`; each record's first byte picks the
/// field name, the rest is its value (skipped when not a valid field value).
fn headers(data: &[u8]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for rec in data.split(|b| *b == b'\n').take(16) {
        let Some((sel, value)) = rec.split_first() else { continue };
        if let Ok(v) = HeaderValue::from_bytes(value) {
            h.append(FIELDS[usize::from(*sel) % FIELDS.len()].clone(), v);
        }
    }
    h
}

/// Conditional GET/HEAD (If-Match, If-None-Match, dates, If-Range) and the forwarding
/// headers a reverse proxy adds: whatever arrives, a decision and a client address.
pub fn http_fields(data: &[u8]) {
    let h = headers(data);
    let modified = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    let validators = Validators::new("sha256-abc", Some(modified));
    for method in [Method::GET, Method::HEAD, Method::POST] {
        let decision = conditional::decide(&method, &h, 1 << 20, &validators);
        if let Some(first) = decision.first_byte(1 << 20) {
            assert!(first < 1 << 20);
        }
    }
    let _ = client_addr::forwarded_for(&h);
    let _ = client_addr::x_forwarded_for(&h);
    let loopback = std::net::IpAddr::from([127, 0, 0, 1]);
    let trusted = TrustedProxies::new(vec![client_addr::parse_cidr("127.0.0.0/8").expect("a CIDR")]);
    let _ = client_addr::client_ip(loopback, &h, &trusted);
    if let Some(node) = data.split(|b| *b == b'\n').next() {
        let _ = client_addr::parse_node(&String::from_utf8_lossy(node));
    }
}
