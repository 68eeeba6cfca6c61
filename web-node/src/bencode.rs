//! Bencode (BEP 3): the canonical byte format of .torrent files, of the BitTorrent
//! extension protocol, and of Chiral manifests.
//!
//! Encoding is canonical by construction: [`Value::Dict`] is a `BTreeMap`, so keys are
//! always written in sorted order, and integers have one representation.
//! Parsing is zero-copy (`Value<'a>` borrows from the input) and bounded in nesting depth.
//! Two modes:
//! - [`parse`] / [`parse_prefix`] are strict: leading zeros, `-0`, unsorted or duplicate
//!   keys and trailing bytes are errors, so that `encode(parse(b)) == b` for every accepted
//!   `b`. For what we produce, hash and sign (manifests, file records).
//! - [`parse_lenient`] / [`parse_prefix_lenient`] take any dictionary key order, as real
//!   peers and trackers send it (BEP 3 asks for sorted keys; not every client obeys).
//!   Duplicate keys stay errors in both modes: two readers of one message must never
//!   disagree about what it says. Used for everything peers and trackers send (extension
//!   handshakes, `ut_metadata`, info dicts, whose infohash is over the raw bytes anyway,
//!   tracker replies).

use std::borrow::Cow;
use std::collections::BTreeMap;

/// Deepest nesting a parser accepts; real torrents and manifests use 3.
pub const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    Int(i64),
    Bytes(Cow<'a, [u8]>),
    List(Vec<Value<'a>>),
    Dict(BTreeMap<Cow<'a, [u8]>, Value<'a>>),
}

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BencodeError {
    #[error("bencode ends early at byte {0}")]
    UnexpectedEnd(usize),
    #[error("unexpected byte {byte:#04x} at {at}")]
    UnexpectedByte { byte: u8, at: usize },
    #[error("malformed integer at byte {0}")]
    BadInteger(usize),
    #[error("malformed byte-string length at byte {0}")]
    BadLength(usize),
    #[error("dictionary keys not strictly sorted at byte {0}")]
    UnsortedKeys(usize),
    #[error("duplicate dictionary key at byte {0}")]
    DuplicateKey(usize),
    #[error("nesting deeper than {MAX_DEPTH} at byte {0}")]
    TooDeep(usize),
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
}

impl<'a> Value<'a> {
    pub fn bytes(b: impl Into<Cow<'a, [u8]>>) -> Self {
        Value::Bytes(b.into())
    }

    pub fn str(s: &'a str) -> Self {
        Value::Bytes(Cow::Borrowed(s.as_bytes()))
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_dict(&self) -> Option<&BTreeMap<Cow<'a, [u8]>, Value<'a>>> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Value::Int(i) => {
                out.push(b'i');
                out.extend_from_slice(i.to_string().as_bytes());
                out.push(b'e');
            }
            Value::Bytes(b) => encode_bytes(b, out),
            Value::List(items) => {
                out.push(b'l');
                for item in items {
                    item.encode_into(out);
                }
                out.push(b'e');
            }
            Value::Dict(entries) => {
                out.push(b'd');
                for (k, v) in entries {
                    encode_bytes(k, out);
                    v.encode_into(out);
                }
                out.push(b'e');
            }
        }
    }
}

fn encode_bytes(b: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(b);
}

/// A parsed dictionary.
pub type Dict<'a> = BTreeMap<Cow<'a, [u8]>, Value<'a>>;

/// Typed reads of a dictionary's fields, shared by every format built on bencode
/// (manifests, file records): `None` when the field is absent or of another type.
pub trait DictExt<'a> {
    fn field(&self, key: &str) -> Option<&Value<'a>>;

    fn int_field(&self, key: &str) -> Option<i64> {
        self.field(key)?.as_int()
    }

    fn u64_field(&self, key: &str) -> Option<u64> {
        u64::try_from(self.int_field(key)?).ok()
    }

    fn bytes_field<'s>(&'s self, key: &str) -> Option<&'s [u8]>
    where
        'a: 's,
    {
        self.field(key)?.as_bytes()
    }

    fn str_field(&self, key: &str) -> Option<String> {
        String::from_utf8(self.bytes_field(key)?.to_vec()).ok()
    }
}

impl<'a> DictExt<'a> for Dict<'a> {
    fn field(&self, key: &str) -> Option<&Value<'a>> {
        self.get(key.as_bytes())
    }
}

/// Parses exactly one canonical value that must fill `input`.
pub fn parse(input: &[u8]) -> Result<Value<'_>, BencodeError> {
    whole(input, true)
}

/// Parses one canonical value from the start of `input`; returns it and the bytes consumed
/// (BEP 9 `ut_metadata` messages carry raw data after a bencoded dict).
pub fn parse_prefix(input: &[u8]) -> Result<(Value<'_>, usize), BencodeError> {
    prefix(input, true)
}

/// [`parse`] for input from peers and trackers: dictionary keys in any order.
pub fn parse_lenient(input: &[u8]) -> Result<Value<'_>, BencodeError> {
    whole(input, false)
}

/// [`parse_prefix`] for input from peers: dictionary keys in any order.
pub fn parse_prefix_lenient(input: &[u8]) -> Result<(Value<'_>, usize), BencodeError> {
    prefix(input, false)
}

fn whole(input: &[u8], canonical: bool) -> Result<Value<'_>, BencodeError> {
    let (value, used) = prefix(input, canonical)?;
    if used != input.len() {
        return Err(BencodeError::TrailingBytes(input.len() - used));
    }
    Ok(value)
}

fn prefix(input: &[u8], canonical: bool) -> Result<(Value<'_>, usize), BencodeError> {
    let mut parser = Parser { input, pos: 0, canonical };
    let value = parser.value(0)?;
    Ok((value, parser.pos))
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    /// Keys must be strictly sorted (else only unique).
    canonical: bool,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Result<u8, BencodeError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or(BencodeError::UnexpectedEnd(self.pos))
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, BencodeError> {
        if depth > MAX_DEPTH {
            return Err(BencodeError::TooDeep(self.pos));
        }
        match self.peek()? {
            b'i' => {
                self.pos += 1;
                let start = self.pos;
                let end = self.find(b'e')?;
                let n = parse_int(&self.input[start..end]).ok_or(BencodeError::BadInteger(start))?;
                self.pos = end + 1;
                Ok(Value::Int(n))
            }
            b'0'..=b'9' => Ok(Value::Bytes(Cow::Borrowed(self.byte_string()?))),
            b'l' => {
                self.pos += 1;
                let mut items = Vec::new();
                while self.peek()? != b'e' {
                    items.push(self.value(depth + 1)?);
                }
                self.pos += 1;
                Ok(Value::List(items))
            }
            b'd' => {
                self.pos += 1;
                let mut entries = BTreeMap::new();
                let mut last: Option<&'a [u8]> = None;
                while self.peek()? != b'e' {
                    let key_at = self.pos;
                    let key = self.byte_string()?;
                    if self.canonical && last.is_some_and(|prev| prev >= key) {
                        return Err(BencodeError::UnsortedKeys(key_at));
                    }
                    last = Some(key);
                    let value = self.value(depth + 1)?;
                    if entries.insert(Cow::Borrowed(key), value).is_some() {
                        return Err(BencodeError::DuplicateKey(key_at));
                    }
                }
                self.pos += 1;
                Ok(Value::Dict(entries))
            }
            byte => Err(BencodeError::UnexpectedByte { byte, at: self.pos }),
        }
    }

    fn byte_string(&mut self) -> Result<&'a [u8], BencodeError> {
        let start = self.pos;
        let colon = self.find(b':')?;
        let digits = &self.input[start..colon];
        let valid = !digits.is_empty()
            && digits.len() <= 19
            && digits.iter().all(u8::is_ascii_digit)
            && !(digits.len() > 1 && digits[0] == b'0');
        if !valid {
            return Err(BencodeError::BadLength(start));
        }
        let len: usize = std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(BencodeError::BadLength(start))?;
        let data_start = colon + 1;
        let data_end = data_start
            .checked_add(len)
            .filter(|end| *end <= self.input.len())
            .ok_or(BencodeError::UnexpectedEnd(self.input.len()))?;
        self.pos = data_end;
        Ok(&self.input[data_start..data_end])
    }

    fn find(&self, byte: u8) -> Result<usize, BencodeError> {
        // Bound the scan: no integer or length needs more than 21 bytes.
        let window = &self.input[self.pos..self.input.len().min(self.pos + 22)];
        window
            .iter()
            .position(|b| *b == byte)
            .map(|i| self.pos + i)
            .ok_or(if window.len() < 22 {
                BencodeError::UnexpectedEnd(self.input.len())
            } else {
                BencodeError::BadInteger(self.pos)
            })
    }
}

fn parse_int(digits: &[u8]) -> Option<i64> {
    let (negative, body) = match digits.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, digits),
    };
    let canonical = !body.is_empty()
        && body.iter().all(u8::is_ascii_digit)
        && !(body.len() > 1 && body[0] == b'0')
        && !(negative && body == b"0");
    if !canonical {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn owned(v: &Value<'_>) -> Value<'static> {
        match v {
            Value::Int(i) => Value::Int(*i),
            Value::Bytes(b) => Value::Bytes(Cow::Owned(b.to_vec())),
            Value::List(l) => Value::List(l.iter().map(owned).collect()),
            Value::Dict(d) => Value::Dict(
                d.iter()
                    .map(|(k, v)| (Cow::Owned(k.to_vec()), owned(v)))
                    .collect(),
            ),
        }
    }

    fn arb_value() -> impl Strategy<Value = Value<'static>> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(Value::Int),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| Value::Bytes(Cow::Owned(b))),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::List),
                proptest::collection::btree_map(
                    proptest::collection::vec(any::<u8>(), 0..12).prop_map(Cow::Owned),
                    inner,
                    0..8
                )
                .prop_map(Value::Dict),
            ]
        })
    }

    proptest! {
        #[test]
        fn round_trip(v in arb_value()) {
            let bytes = v.encode();
            let parsed = parse(&bytes).unwrap();
            prop_assert_eq!(owned(&parsed), v);
        }

        #[test]
        fn accepted_input_is_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(v) = parse(&bytes) {
                prop_assert_eq!(v.encode(), bytes);
            }
        }

        #[test]
        fn mutations_never_panic(v in arb_value(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut bytes = v.encode();
            let i = at.index(bytes.len());
            bytes[i] = byte;
            if let Ok(parsed) = parse(&bytes) {
                prop_assert_eq!(parsed.encode(), bytes);
            }
        }
    }

    #[test]
    fn rejects_non_canonical_and_hostile_input() {
        for bad in [
            &b"i03e"[..],
            b"i-0e",
            b"ie",
            b"i12",
            b"02:ab",
            b"5:ab",
            b"d1:b0:1:a0:e",
            b"d1:a0:1:a0:e",
            b"l",
            b"x",
            b"i1ei2e",
            b"99999999999999999999999:",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = "l".repeat(MAX_DEPTH + 2) + &"e".repeat(MAX_DEPTH + 2);
        assert!(matches!(parse(deep.as_bytes()), Err(BencodeError::TooDeep(_))));
    }

    #[test]
    fn lenient_mode_takes_any_key_order_but_never_duplicates() {
        let unsorted = b"d1:v3:abc1:md11:ut_metadatai1eee";
        assert!(matches!(parse(unsorted), Err(BencodeError::UnsortedKeys(_))));
        let v = parse_lenient(unsorted).unwrap();
        assert_eq!(v.as_dict().unwrap().field("v").and_then(Value::as_bytes), Some(&b"abc"[..]));
        assert!(matches!(parse_lenient(b"d1:ai1e1:bi2e1:ai3ee"), Err(BencodeError::DuplicateKey(_))));
        assert!(parse_lenient(b"i03e").is_err(), "still no leading zeros");
    }

    proptest! {
        #[test]
        fn lenient_accepts_all_canonical_input_and_agrees(v in arb_value()) {
            let bytes = v.encode();
            prop_assert_eq!(owned(&parse_lenient(&bytes).unwrap()), v);
        }

        #[test]
        fn lenient_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = parse_lenient(&bytes);
            let _ = parse_prefix_lenient(&bytes);
        }
    }

    #[test]
    fn known_encoding() {
        let mut d = BTreeMap::new();
        d.insert(Cow::Borrowed(&b"spam"[..]), Value::List(vec![Value::str("a"), Value::Int(-3)]));
        d.insert(Cow::Borrowed(&b"cow"[..]), Value::str("moo"));
        assert_eq!(Value::Dict(d).encode(), b"d3:cow3:moo4:spaml1:ai-3eee");
    }
}
