//! Byte ranges (RFC 9110 §14), pure: the `Range` field's grammar, which ranges a
//! representation of a given length satisfies, and the `multipart/byteranges` framing of
//! several. No IO; the driver ([`crate::file_response`]) streams the bytes.
//!
//! Parsed by hand rather than with `http-range-header` (0.4): that crate refuses a suffix
//! longer than the representation (`bytes=-5000000` on a 1 MB file must select the whole
//! file, §14.1.2), fails the whole set when one range of several is unsatisfiable (§14.1.1
//! says the others are still served), rejects leading zeros and optional whitespace the
//! grammar allows (§5.6.1), and cannot tell "invalid" (ignore the field) from
//! "unsatisfiable" (416).
//!
//! Policy, all within what §14.2 allows:
//! - an invalid field (syntax, `first > last`, a unit other than `bytes`) is ignored: 200;
//! - more than [`MAX_RANGES`] range-specs, or ranges that overlap, are ignored: 200 whole
//!   (the abuse §14.2 and §17.15 name); disjoint ranges are served in the order asked (§14.6);
//! - a suffix longer than the representation, or a last-pos past its end, is clamped
//!   (§14.1.2), so `bytes=-5000000` on 1,000,000 bytes is `206 bytes 0-999999/1000000`;
//! - nothing satisfiable: 416 with `Content-Range: bytes */LEN` (§15.5.17);
//! - an empty representation ignores `Range` (§14.2 lets a server do so).

use std::fmt::Write as _;

/// Range-specs one `Range` field may carry before the relay ignores it and sends the whole
/// representation (§14.2: "a set of many small ranges" is a denial-of-service shape).
pub const MAX_RANGES: usize = 16;

/// Why a `Range` field is ignored (§14.2: invalid, unknown unit, or too many ranges).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RangeError {
    #[error("the range unit is not bytes")]
    NotBytes,
    #[error("the range set is malformed")]
    Malformed,
    #[error("a range ends before it starts")]
    Inverted,
    #[error("more than {MAX_RANGES} ranges")]
    TooMany,
}

/// One `range-spec` of the `bytes` unit (§14.1.2), as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `first-pos "-" [ last-pos ]`.
    Int { first: u64, last: Option<u64> },
    /// `"-" suffix-length`: the last N bytes.
    Suffix(u64),
}

/// A satisfiable range of a representation: bytes `first..=last`, `first <= last < len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub first: u64,
    pub last: u64,
}

impl ByteRange {
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// `bytes FIRST-LAST/COMPLETE` (§14.4).
    pub fn content_range(&self, complete: u64) -> String {
        format!("bytes {}-{}/{complete}", self.first, self.last)
    }
}

/// What a `Range` field asks of a representation (§14.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangePlan {
    /// Send the whole representation (200): no range, an ignored one, or abuse.
    Whole,
    /// 206 with one range.
    Single(ByteRange),
    /// 206 `multipart/byteranges`: 2..=[`MAX_RANGES`] disjoint ranges, in the order asked.
    Multi(Vec<ByteRange>),
    /// 416: no range-spec is satisfiable.
    Unsatisfiable,
}

/// `ranges-specifier = range-unit "=" range-set` (§14.1.1); `range-set = 1#range-spec`,
/// with the list rules of §5.6.1 (optional whitespace, empty elements). Digits saturate, so
/// an absurd position is simply past any end. At most [`MAX_RANGES`] specs.
pub fn parse(field: &[u8]) -> Result<Vec<RangeSpec>, RangeError> {
    let eq = field.iter().position(|b| *b == b'=').ok_or(RangeError::Malformed)?;
    // range-unit is a token, compared case-insensitively (§14.1).
    if !trim_ows(&field[..eq]).eq_ignore_ascii_case(b"bytes") {
        return Err(RangeError::NotBytes);
    }
    let mut specs = Vec::new();
    for element in field[eq + 1..].split(|b| *b == b',').map(trim_ows).filter(|e| !e.is_empty()) {
        if specs.len() == MAX_RANGES {
            return Err(RangeError::TooMany);
        }
        specs.push(parse_spec(element)?);
    }
    if specs.is_empty() {
        return Err(RangeError::Malformed);
    }
    Ok(specs)
}

fn parse_spec(spec: &[u8]) -> Result<RangeSpec, RangeError> {
    let dash = spec.iter().position(|b| *b == b'-').ok_or(RangeError::Malformed)?;
    let (first, last) = (&spec[..dash], &spec[dash + 1..]);
    if first.is_empty() {
        return Ok(RangeSpec::Suffix(digits(last)?));
    }
    let first = digits(first)?;
    let last = if last.is_empty() { None } else { Some(digits(last)?) };
    if last.is_some_and(|l| l < first) {
        return Err(RangeError::Inverted);
    }
    Ok(RangeSpec::Int { first, last })
}

/// `1*DIGIT`, saturating at `u64::MAX`.
fn digits(s: &[u8]) -> Result<u64, RangeError> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return Err(RangeError::Malformed);
    }
    Ok(s.iter().fold(0u64, |n, d| n.saturating_mul(10).saturating_add(u64::from(d - b'0'))))
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

/// The range a spec selects of `len` bytes, if satisfiable (§14.1.2): an int-range whose
/// first-pos is inside, its last-pos clamped to the end; a non-zero suffix, clamped to the
/// whole representation.
pub fn resolve(spec: RangeSpec, len: u64) -> Option<ByteRange> {
    let end = len.checked_sub(1)?;
    match spec {
        RangeSpec::Int { first, last } => (first <= end).then(|| ByteRange { first, last: last.map_or(end, |l| l.min(end)) }),
        RangeSpec::Suffix(0) => None,
        RangeSpec::Suffix(n) => Some(ByteRange { first: len - n.min(len), last: end }),
    }
}

/// What to send for a `Range` field on a GET of `len` bytes (see the module docs for the policy).
pub fn plan(field: &[u8], len: u64) -> RangePlan {
    let Ok(specs) = parse(field) else { return RangePlan::Whole };
    if len == 0 {
        return RangePlan::Whole;
    }
    let ranges: Vec<ByteRange> = specs.into_iter().filter_map(|s| resolve(s, len)).collect();
    match ranges.as_slice() {
        [] => RangePlan::Unsatisfiable,
        [one] => RangePlan::Single(*one),
        _ if overlapping(&ranges) => RangePlan::Whole,
        _ => RangePlan::Multi(ranges),
    }
}

fn overlapping(ranges: &[ByteRange]) -> bool {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable_by_key(|r| r.first);
    sorted.windows(2).any(|w| w[1].first <= w[0].last)
}

/// One piece of a response body: literal framing, or a range of the representation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Range(ByteRange),
}

/// The `multipart/byteranges` body of §14.6 (framing per RFC 2046 §5.1.1): its segments in
/// order and their total length, for `Content-Length`. `boundary`: 1 to 70 characters that
/// the caller picks at random (it must not occur in the content, which no fixed string can
/// promise); `content_type`: the representation's, repeated in every part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multipart {
    pub segments: Vec<Segment>,
    pub content_length: u64,
}

impl Multipart {
    pub fn new(ranges: &[ByteRange], complete: u64, content_type: &str, boundary: &str) -> Self {
        let mut segments = Vec::with_capacity(ranges.len() * 2 + 1);
        let mut content_length = 0u64;
        for (i, range) in ranges.iter().enumerate() {
            // The CRLF before a boundary belongs to the boundary (RFC 2046 §5.1.1).
            let mut head = String::with_capacity(128);
            let _ = write!(head, "{}--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: {}\r\n\r\n", if i == 0 { "" } else { "\r\n" }, range.content_range(complete));
            content_length += head.len() as u64 + range.len();
            segments.push(Segment::Literal(head));
            segments.push(Segment::Range(*range));
        }
        let tail = format!("\r\n--{boundary}--\r\n");
        content_length += tail.len() as u64;
        segments.push(Segment::Literal(tail));
        Self { segments, content_length }
    }

    /// The `Content-Type` of the response.
    pub fn content_type(boundary: &str) -> String {
        format!("multipart/byteranges; boundary={boundary}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LEN: u64 = 1_000_000;

    fn r(first: u64, last: u64) -> ByteRange {
        ByteRange { first, last }
    }

    #[test]
    fn single_ranges_clamp_to_the_representation() {
        assert_eq!(plan(b"bytes=0-99", 1000), RangePlan::Single(r(0, 99)));
        assert_eq!(plan(b"bytes=900-", 1000), RangePlan::Single(r(900, 999)));
        assert_eq!(plan(b"bytes=-10", 1000), RangePlan::Single(r(990, 999)));
        assert_eq!(plan(b"bytes=0-5000", 1000), RangePlan::Single(r(0, 999)), "last-pos past the end");
        assert_eq!(plan(b"bytes=-5000000", LEN), RangePlan::Single(r(0, LEN - 1)), "a suffix longer than the file");
        assert_eq!(plan(b"bytes=0-99999999999999999999999999", 1000), RangePlan::Single(r(0, 999)), "digits saturate");
        assert_eq!(plan(b"BYTES = 007-008", 1000), RangePlan::Single(r(7, 8)), "case, whitespace, leading zeros");
    }

    #[test]
    fn nothing_satisfiable_is_a_416() {
        assert_eq!(plan(b"bytes=1000-", 1000), RangePlan::Unsatisfiable);
        assert_eq!(plan(b"bytes=1010-2000", 1000), RangePlan::Unsatisfiable);
        assert_eq!(plan(b"bytes=-0", 1000), RangePlan::Unsatisfiable);
        assert_eq!(plan(b"bytes=5000-,6000-7000", 1000), RangePlan::Unsatisfiable);
    }

    #[test]
    fn invalid_fields_are_ignored() {
        for field in [&b"items=0-1"[..], b"bytes=5-1", b"bytes=", b"bytes=,", b"bytes=a-b", b"bytes=0-1-2", b"bytes=--1", b"0-1", b"bytes=0-1,x", b"bytes=+1-2"] {
            assert_eq!(plan(field, 1000), RangePlan::Whole, "{}", String::from_utf8_lossy(field));
        }
        assert_eq!(parse(b"items=0-1"), Err(RangeError::NotBytes));
        assert_eq!(parse(b"bytes=5-1"), Err(RangeError::Inverted));
        assert_eq!(plan(b"bytes=-1", 0), RangePlan::Whole, "an empty representation ignores Range");
    }

    #[test]
    fn several_ranges_are_multipart_in_the_order_asked() {
        assert_eq!(plan(b"bytes=0-9,20-29", LEN), RangePlan::Multi(vec![r(0, 9), r(20, 29)]));
        assert_eq!(plan(b"bytes=20-29, ,0-9", LEN), RangePlan::Multi(vec![r(20, 29), r(0, 9)]));
        assert_eq!(plan(b"bytes=0-9,10-19", 100), RangePlan::Multi(vec![r(0, 9), r(10, 19)]), "adjacent is not overlapping");
        assert_eq!(plan(b"bytes=0-9,2000000-", LEN), RangePlan::Single(r(0, 9)), "the unsatisfiable one is dropped");
    }

    #[test]
    fn abuse_gets_the_whole_file() {
        assert_eq!(plan(b"bytes=0-9,5-14", LEN), RangePlan::Whole, "overlap");
        assert_eq!(plan(b"bytes=0-,0-,0-", LEN), RangePlan::Whole, "the same bytes again and again");
        let many: String = (0..17).map(|i| format!("{}-{},", i * 10, i * 10 + 1)).collect();
        assert_eq!(parse(format!("bytes={many}").as_bytes()), Err(RangeError::TooMany));
        assert_eq!(plan(format!("bytes={many}").as_bytes(), LEN), RangePlan::Whole);
        let sixteen: String = (0..16).map(|i| format!("{}-{},", i * 10, i * 10 + 1)).collect();
        assert!(matches!(plan(format!("bytes={sixteen}").as_bytes(), LEN), RangePlan::Multi(v) if v.len() == 16));
    }

    #[test]
    fn multipart_framing_and_length() {
        let m = Multipart::new(&[r(0, 1), r(5, 5)], 10, "text/plain", "B");
        let content = b"0123456789";
        let mut body = Vec::new();
        for s in &m.segments {
            match s {
                Segment::Literal(t) => body.extend_from_slice(t.as_bytes()),
                Segment::Range(r) => body.extend_from_slice(&content[r.first as usize..=r.last as usize]),
            }
        }
        let expected = "--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n01\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-5/10\r\n\r\n5\r\n--B--\r\n";
        assert_eq!(String::from_utf8(body).unwrap(), expected);
        assert_eq!(m.content_length, expected.len() as u64);
        assert_eq!(Multipart::content_type("B"), "multipart/byteranges; boundary=B");
    }

    fn spec() -> impl Strategy<Value = RangeSpec> {
        prop_oneof![
            (0u64..2_000, proptest::option::of(0u64..2_000)).prop_map(|(a, b)| RangeSpec::Int { first: a, last: b.map(|b| a + b) }),
            (0u64..3_000).prop_map(RangeSpec::Suffix),
        ]
    }

    fn write_spec(s: &RangeSpec) -> String {
        match s {
            RangeSpec::Int { first, last: Some(l) } => format!("{first}-{l}"),
            RangeSpec::Int { first, last: None } => format!("{first}-"),
            RangeSpec::Suffix(n) => format!("-{n}"),
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(field in proptest::collection::vec(any::<u8>(), 0..200), near in "(bytes|BYTES|x)?[ =]{0,2}[0-9, \t-]{0,40}", len in any::<u64>()) {
            for field in [&field[..], near.as_bytes()] {
                let _ = parse(field);
                match plan(field, len) {
                    RangePlan::Single(r) => prop_assert!(r.first <= r.last && r.last < len),
                    RangePlan::Multi(rs) => prop_assert!(rs.len() <= MAX_RANGES && rs.iter().all(|r| r.first <= r.last && r.last < len)),
                    RangePlan::Whole | RangePlan::Unsatisfiable => {}
                }
            }
        }

        #[test]
        fn specs_round_trip(specs in proptest::collection::vec(spec(), 1..=MAX_RANGES), ws in "[ \t]{0,2}") {
            let field = format!("bytes={}", specs.iter().map(write_spec).collect::<Vec<_>>().join(&format!("{ws},{ws}")));
            prop_assert_eq!(parse(field.as_bytes()), Ok(specs));
        }

        #[test]
        fn plans_stay_inside_the_representation(specs in proptest::collection::vec(spec(), 1..=MAX_RANGES + 2), len in 0u64..2_500) {
            let field = format!("bytes={}", specs.iter().map(write_spec).collect::<Vec<_>>().join(","));
            match plan(field.as_bytes(), len) {
                RangePlan::Single(r) => prop_assert!(r.first <= r.last && r.last < len),
                RangePlan::Multi(rs) => {
                    prop_assert!(rs.len() >= 2 && rs.len() <= MAX_RANGES);
                    prop_assert!(rs.iter().all(|r| r.first <= r.last && r.last < len));
                    prop_assert!(!overlapping(&rs));
                    let m = Multipart::new(&rs, len, "application/octet-stream", "0123456789abcdef");
                    let framed: u64 = m.segments.iter().map(|s| match s { Segment::Literal(t) => t.len() as u64, Segment::Range(r) => r.len() }).sum();
                    prop_assert_eq!(framed, m.content_length);
                }
                RangePlan::Unsatisfiable => prop_assert!(specs.iter().all(|s| resolve(*s, len).is_none())),
                RangePlan::Whole => {}
            }
        }
    }
}
