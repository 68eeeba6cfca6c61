//! Conditional and range requests (RFC 9110 §13, §14.2), pure: from the method, the request's
//! header fields, the representation's length and its validators, the response to send, as a
//! plain [`Decision`]. The driver ([`crate::file_response`]) writes it out.
//!
//! Validators (§8.8): the strong entity tag is the content ID, which names the bytes by their
//! SHA-256, so it is a perfect strong validator (`"<cid>"`, a chunk `"<cid>-<index>"`);
//! `Last-Modified` is the file's mtime when the relay holds the file, none for a bridged one.
//!
//! Precedence (§13.2.2):
//! 1. `If-Match` (§13.1.1), strong comparison, `*` matches; false: 412.
//! 2. Without `If-Match`, `If-Unmodified-Since` (§13.1.4); false: 412. Ignored without a
//!    `Last-Modified` or a valid, single HTTP-date.
//! 3. `If-None-Match` (§13.1.2), weak comparison, `*` matches; false: 304 for GET and HEAD,
//!    412 otherwise. An unparsable field is ignored (the full response is never wrong).
//! 4. Without `If-None-Match`, on GET or HEAD, `If-Modified-Since` (§13.1.3): 304 when the
//!    representation was last modified at or before the date (a date in the future included).
//! 5. `Range` on GET only (§14.2; HEAD and others ignore it), after `If-Range` (§13.1.5): a
//!    strong entity-tag match or an HTTP-date equal to `Last-Modified` keeps the range; a weak
//!    tag, another validator or an unparsable field sends the whole representation (200).
//!    The range itself: [`crate::byte_ranges::plan`].
//!
//! A field that may hold one value but arrives on several lines is treated as invalid.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method};

use crate::byte_ranges::{self, ByteRange, RangePlan};

/// Entity tags one precondition field may list before it is treated as unparsable.
const MAX_TAGS: usize = 64;

/// A representation's validators (§8.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    /// The strong entity tag's opaque-tag, without its quotes (`etagc` characters, §8.8.3).
    etag: String,
    /// Whole seconds (the precision of an HTTP-date).
    last_modified: Option<SystemTime>,
}

impl Validators {
    /// `last_modified` must not be later than now (§8.8.2.1: the driver clamps a file's mtime
    /// from the future to the present); it is truncated to whole seconds.
    pub fn new(etag: impl Into<String>, last_modified: Option<SystemTime>) -> Self {
        let last_modified = last_modified.map(|t| UNIX_EPOCH + Duration::from_secs(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())));
        Self { etag: etag.into(), last_modified }
    }

    /// `ETag: "<tag>"` (none if the tag holds characters an entity tag cannot).
    pub fn etag_header(&self) -> Option<HeaderValue> {
        self.etag.bytes().all(etagc).then(|| HeaderValue::from_str(&format!("\"{}\"", self.etag)).ok()).flatten()
    }

    /// `Last-Modified` as an IMF-fixdate (§5.6.7), when known.
    pub fn last_modified_header(&self) -> Option<HeaderValue> {
        self.last_modified.and_then(|t| HeaderValue::from_str(&httpdate::fmt_http_date(t)).ok())
    }

    pub fn last_modified(&self) -> Option<SystemTime> {
        self.last_modified
    }
}

/// The response to a GET or HEAD of a representation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// 304: validators only, no content (§15.4.5).
    NotModified,
    /// 412 (§15.5.13).
    PreconditionFailed,
    /// 200 with the whole representation.
    Whole,
    /// 206 with one range (§15.3.7.1).
    Partial(ByteRange),
    /// 206 `multipart/byteranges` (§15.3.7.2, §14.6), 2..=[`byte_ranges::MAX_RANGES`] parts.
    Multipart(Vec<ByteRange>),
    /// 416 with `Content-Range: bytes */LEN` (§15.5.17).
    Unsatisfiable,
}

impl Decision {
    /// The first byte of the representation the response's content holds, if any.
    pub fn first_byte(&self, len: u64) -> Option<u64> {
        match self {
            Decision::Whole => (len > 0).then_some(0),
            Decision::Partial(r) => Some(r.first),
            Decision::Multipart(rs) => rs.first().map(|r| r.first),
            Decision::NotModified | Decision::PreconditionFailed | Decision::Unsatisfiable => None,
        }
    }
}

/// What to answer (see the module docs for the order of evaluation).
pub fn decide(method: &Method, headers: &HeaderMap, len: u64, validators: &Validators) -> Decision {
    let safe = method == Method::GET || method == Method::HEAD;
    if headers.contains_key(header::IF_MATCH) {
        if !if_match(headers, &validators.etag) {
            return Decision::PreconditionFailed;
        }
    } else if let (Some(since), Some(modified)) = (single_date(headers, &header::IF_UNMODIFIED_SINCE), validators.last_modified) {
        if modified > since {
            return Decision::PreconditionFailed;
        }
    }
    if headers.contains_key(header::IF_NONE_MATCH) {
        if if_none_match_fails(headers, &validators.etag) {
            return if safe { Decision::NotModified } else { Decision::PreconditionFailed };
        }
    } else if let (true, Some(since), Some(modified)) = (safe, single_date(headers, &header::IF_MODIFIED_SINCE), validators.last_modified) {
        if modified <= since {
            return Decision::NotModified;
        }
    }
    if method != Method::GET {
        return Decision::Whole;
    }
    let Some(range) = single(headers, &header::RANGE) else { return Decision::Whole };
    if headers.contains_key(header::IF_RANGE) && !if_range(headers, validators) {
        return Decision::Whole;
    }
    match byte_ranges::plan(range.as_bytes(), len) {
        RangePlan::Whole => Decision::Whole,
        RangePlan::Single(r) => Decision::Partial(r),
        RangePlan::Multi(rs) => Decision::Multipart(rs),
        RangePlan::Unsatisfiable => Decision::Unsatisfiable,
    }
}

/// The field's value when it arrives exactly once.
fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a HeaderValue> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    values.next().is_none().then_some(first)
}

/// An HTTP-date (§5.6.7: IMF-fixdate or the two obsolete forms), sent once.
fn single_date(headers: &HeaderMap, name: &HeaderName) -> Option<SystemTime> {
    httpdate::parse_http_date(single(headers, name)?.to_str().ok()?.trim()).ok()
}

/// `If-Match`: true for `*` or a strong match; an unparsable field matches nothing.
fn if_match(headers: &HeaderMap, etag: &str) -> bool {
    match tags(headers, &header::IF_MATCH) {
        Some(Tags::Any) => true,
        Some(Tags::List(list)) => list.iter().any(|t| !t.weak && t.opaque == etag.as_bytes()),
        None => false,
    }
}

/// `If-None-Match` evaluates to false (the client's copy is current): `*`, or a weak match.
fn if_none_match_fails(headers: &HeaderMap, etag: &str) -> bool {
    match tags(headers, &header::IF_NONE_MATCH) {
        Some(Tags::Any) => true,
        Some(Tags::List(list)) => list.iter().any(|t| t.opaque == etag.as_bytes()),
        None => false,
    }
}

/// `If-Range = entity-tag / HTTP-date`: true only for a strong match or the exact date.
fn if_range(headers: &HeaderMap, validators: &Validators) -> bool {
    let Some(value) = single(headers, &header::IF_RANGE) else { return false };
    let value = trim_ows(value.as_bytes());
    if value.starts_with(b"\"") || value.starts_with(b"W/") {
        return matches!(parse_tags(value).as_deref(), Some([t]) if !t.weak && t.opaque == validators.etag.as_bytes());
    }
    let date = std::str::from_utf8(value).ok().and_then(|s| httpdate::parse_http_date(s).ok());
    date.is_some() && date == validators.last_modified
}

#[derive(Debug, PartialEq, Eq)]
struct EntityTag<'a> {
    weak: bool,
    opaque: &'a [u8],
}

enum Tags<'a> {
    Any,
    List(Vec<EntityTag<'a>>),
}

/// `"*" / #entity-tag` over every line of the field; `None` when anything is malformed.
fn tags<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<Tags<'a>> {
    let mut list = Vec::new();
    for value in headers.get_all(name) {
        if trim_ows(value.as_bytes()) == b"*" {
            return Some(Tags::Any);
        }
        list.extend(parse_tags(value.as_bytes())?);
        if list.len() > MAX_TAGS {
            return None;
        }
    }
    Some(Tags::List(list))
}

/// `#entity-tag` (§8.8.3, lists per §5.6.1): `[ "W/" ] DQUOTE *etagc DQUOTE`, separated by
/// commas with optional whitespace; empty elements are allowed.
fn parse_tags(mut s: &[u8]) -> Option<Vec<EntityTag<'_>>> {
    let mut tags = Vec::new();
    loop {
        while let [b' ' | b'\t' | b',', rest @ ..] = s {
            s = rest;
        }
        if s.is_empty() {
            return Some(tags);
        }
        let weak = s.starts_with(b"W/");
        if weak {
            s = &s[2..];
        }
        let rest = s.strip_prefix(b"\"")?;
        let close = rest.iter().position(|b| *b == b'"')?;
        let opaque = &rest[..close];
        if !opaque.iter().copied().all(etagc) || tags.len() == MAX_TAGS {
            return None;
        }
        tags.push(EntityTag { weak, opaque });
        s = trim_ows(&rest[close + 1..]);
        if !(s.is_empty() || s.starts_with(b",")) {
            return None;
        }
    }
}

/// `etagc = %x21 / %x23-7E / obs-text`.
fn etagc(b: u8) -> bool {
    b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LEN: u64 = 1_000_000;
    const TAG: &str = "0123abcd";

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn date(secs: u64) -> String {
        httpdate::fmt_http_date(at(secs))
    }

    fn v() -> Validators {
        Validators::new(TAG, Some(at(1_700_000_000) + Duration::from_millis(700)))
    }

    fn decide_with(method: Method, fields: &[(HeaderName, &str)]) -> Decision {
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            headers.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        decide(&method, &headers, LEN, &v())
    }

    fn get(fields: &[(HeaderName, &str)]) -> Decision {
        decide_with(Method::GET, fields)
    }

    #[test]
    fn validators_become_headers() {
        assert_eq!(v().etag_header().unwrap(), "\"0123abcd\"");
        assert_eq!(v().last_modified_header().unwrap(), "Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(Validators::new("a\"b", None).etag_header(), None);
        assert_eq!(Validators::new("x", None).last_modified_header(), None);
    }

    #[test]
    fn if_none_match_is_a_weak_comparison() {
        assert_eq!(get(&[(header::IF_NONE_MATCH, "\"0123abcd\"")]), Decision::NotModified);
        assert_eq!(get(&[(header::IF_NONE_MATCH, "\"x\", W/\"0123abcd\"")]), Decision::NotModified);
        assert_eq!(get(&[(header::IF_NONE_MATCH, "*")]), Decision::NotModified);
        assert_eq!(decide_with(Method::HEAD, &[(header::IF_NONE_MATCH, "\"0123abcd\"")]), Decision::NotModified);
        assert_eq!(decide_with(Method::POST, &[(header::IF_NONE_MATCH, "\"0123abcd\"")]), Decision::PreconditionFailed);
        assert_eq!(get(&[(header::IF_NONE_MATCH, "\"other\"")]), Decision::Whole);
        assert_eq!(get(&[(header::IF_NONE_MATCH, "0123abcd")]), Decision::Whole, "unquoted: unparsable, ignored");
        assert_eq!(get(&[(header::IF_NONE_MATCH, "\"x\""), (header::IF_NONE_MATCH, "\"0123abcd\"")]), Decision::NotModified, "several lines are one list");
    }

    #[test]
    fn if_modified_since_only_without_if_none_match() {
        let lm = 1_700_000_000;
        assert_eq!(get(&[(header::IF_MODIFIED_SINCE, &date(lm))]), Decision::NotModified, "equal (the mtime's fraction is dropped)");
        assert_eq!(get(&[(header::IF_MODIFIED_SINCE, &date(lm + 86_400 * 365))]), Decision::NotModified, "in the future");
        assert_eq!(get(&[(header::IF_MODIFIED_SINCE, &date(lm - 1))]), Decision::Whole);
        assert_eq!(get(&[(header::IF_MODIFIED_SINCE, "yesterday")]), Decision::Whole);
        assert_eq!(get(&[(header::IF_MODIFIED_SINCE, "Tuesday, 14-Nov-23 22:13:20 GMT")]), Decision::NotModified, "RFC 850 form");
        assert_eq!(get(&[(header::IF_NONE_MATCH, "\"other\""), (header::IF_MODIFIED_SINCE, &date(lm))]), Decision::Whole, "If-None-Match wins");
        assert_eq!(get(&[(header::IF_MODIFIED_SINCE, &date(lm)), (header::IF_MODIFIED_SINCE, &date(lm))]), Decision::Whole, "two members");
        let none = Validators::new(TAG, None);
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_MODIFIED_SINCE, HeaderValue::from_str(&date(lm)).unwrap());
        assert_eq!(decide(&Method::GET, &headers, LEN, &none), Decision::Whole, "no Last-Modified: ignored");
    }

    #[test]
    fn if_match_and_if_unmodified_since_fail_with_412() {
        assert_eq!(get(&[(header::IF_MATCH, "\"nope\"")]), Decision::PreconditionFailed);
        assert_eq!(get(&[(header::IF_MATCH, "W/\"0123abcd\"")]), Decision::PreconditionFailed, "strong comparison");
        assert_eq!(get(&[(header::IF_MATCH, "\"0123abcd\"")]), Decision::Whole);
        assert_eq!(get(&[(header::IF_MATCH, "*")]), Decision::Whole);
        assert_eq!(get(&[(header::IF_UNMODIFIED_SINCE, &date(1_600_000_000))]), Decision::PreconditionFailed);
        assert_eq!(get(&[(header::IF_UNMODIFIED_SINCE, &date(1_700_000_000))]), Decision::Whole);
        assert_eq!(get(&[(header::IF_MATCH, "*"), (header::IF_UNMODIFIED_SINCE, &date(1_600_000_000))]), Decision::Whole, "If-Match wins");
    }

    #[test]
    fn ranges_only_on_get_and_only_while_if_range_holds() {
        let r = ByteRange { first: 0, last: 9 };
        assert_eq!(get(&[(header::RANGE, "bytes=0-9")]), Decision::Partial(r));
        assert_eq!(decide_with(Method::HEAD, &[(header::RANGE, "bytes=0-9")]), Decision::Whole);
        assert_eq!(get(&[(header::RANGE, "bytes=0-9"), (header::RANGE, "bytes=0-9")]), Decision::Whole, "two Range lines");
        assert_eq!(get(&[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, "\"0123abcd\"")]), Decision::Partial(r));
        assert_eq!(get(&[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, "\"stale\"")]), Decision::Whole);
        assert_eq!(get(&[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, "W/\"0123abcd\"")]), Decision::Whole, "weak tags never match");
        assert_eq!(get(&[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, &date(1_700_000_000))]), Decision::Partial(r));
        assert_eq!(get(&[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, &date(1_700_000_001))]), Decision::Whole);
        assert_eq!(get(&[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, "garbage")]), Decision::Whole);
        assert_eq!(get(&[(header::IF_RANGE, "\"stale\"")]), Decision::Whole, "If-Range without Range");
        assert_eq!(get(&[(header::RANGE, "bytes=-5000000")]), Decision::Partial(ByteRange { first: 0, last: LEN - 1 }));
        assert_eq!(get(&[(header::RANGE, "bytes=0-9,20-29")]), Decision::Multipart(vec![r, ByteRange { first: 20, last: 29 }]));
        assert_eq!(get(&[(header::RANGE, "bytes=1000000-")]), Decision::Unsatisfiable);
        assert_eq!(get(&[(header::RANGE, "bytes=1000000-"), (header::IF_NONE_MATCH, "\"0123abcd\"")]), Decision::NotModified, "preconditions first");
    }

    #[test]
    fn first_byte_of_the_content() {
        assert_eq!(Decision::Whole.first_byte(10), Some(0));
        assert_eq!(Decision::Whole.first_byte(0), None);
        assert_eq!(Decision::Partial(ByteRange { first: 4, last: 5 }).first_byte(10), Some(4));
        assert_eq!(Decision::NotModified.first_byte(10), None);
    }

    fn opaque() -> impl Strategy<Value = String> {
        "[!#-~]{0,12}"
    }

    fn header_bytes() -> impl Strategy<Value = HeaderValue> {
        proptest::collection::vec(any::<u8>(), 0..80).prop_map(|mut b| {
            b.retain(|c| *c == b'\t' || (*c >= 0x20 && *c != 0x7f));
            HeaderValue::from_bytes(&b).expect("visible bytes, SP and HTAB make a header value")
        })
    }

    proptest! {
        #[test]
        fn tags_round_trip(tags in proptest::collection::vec((any::<bool>(), opaque()), 0..8), sep in "[ \t]{0,2},[ \t]{0,2}") {
            let field = tags.iter().map(|(w, o)| format!("{}\"{o}\"", if *w { "W/" } else { "" })).collect::<Vec<_>>().join(&sep);
            let parsed = parse_tags(field.as_bytes()).expect("well-formed");
            let back: Vec<(bool, String)> = parsed.iter().map(|t| (t.weak, String::from_utf8(t.opaque.to_vec()).unwrap())).collect();
            prop_assert_eq!(back, tags);
        }

        #[test]
        fn our_tag_anywhere_in_if_none_match_is_a_304(before in proptest::collection::vec(opaque(), 0..4), after in proptest::collection::vec(opaque(), 0..4), weak in any::<bool>()) {
            let ours = format!("{}\"{TAG}\"", if weak { "W/" } else { "" });
            let list: Vec<String> = before.iter().map(|o| format!("\"{o}\"")).chain([ours]).chain(after.iter().map(|o| format!("\"{o}\""))).collect();
            prop_assert_eq!(get(&[(header::IF_NONE_MATCH, &list.join(", "))]), Decision::NotModified);
        }

        #[test]
        fn decide_never_panics(values in proptest::collection::vec(proptest::option::of(header_bytes()), 6), range in "bytes=[0-9, \t-]{0,30}", tag in "(W/)?\"[!#-~]{0,10}\"", len in any::<u64>(), head in any::<bool>()) {
            let names = [header::IF_MATCH, header::IF_NONE_MATCH, header::IF_MODIFIED_SINCE, header::IF_UNMODIFIED_SINCE, header::IF_RANGE, header::RANGE];
            let mut headers = HeaderMap::new();
            for (name, value) in names.into_iter().zip(values) {
                if let Some(value) = value {
                    headers.insert(name, value);
                }
            }
            // Where the random bytes left them out, well-formed enough to reach the range logic.
            headers.entry(header::RANGE).or_insert(HeaderValue::from_str(&range).expect("visible ASCII"));
            headers.entry(header::IF_RANGE).or_insert(HeaderValue::from_str(&tag).expect("visible ASCII"));
            let method = if head { Method::HEAD } else { Method::GET };
            match decide(&method, &headers, len, &v()) {
                Decision::Partial(r) => prop_assert!(r.first <= r.last && r.last < len),
                Decision::Multipart(rs) => prop_assert!(rs.iter().all(|r| r.first <= r.last && r.last < len)),
                _ => {}
            }
        }
    }
}
