//! WebTorrent's WebSocket tracker protocol, client side: the messages a peer sends
//! (announce with SDP offers, answers) and a parser for what the tracker sends back.
//! Pure functions; the page's driver owns the socket and the RTCPeerConnections.
//! The server side (and the message shapes) are in [`crate::tracker`].

use serde_json::{json, Value};

use crate::tracker::{id_from_binary_string, id_to_binary_string, Id20, MAX_MESSAGE_BYTES};

/// Offers made per announce (bittorrent-tracker makes 5).
pub const OFFERS_PER_ANNOUNCE: usize = 5;

#[derive(Debug, Clone, PartialEq)]
pub struct AnnounceRequest {
    pub info_hash: Id20,
    pub peer_id: Id20,
    /// `started`, `completed`, `stopped`, or none for a periodic update.
    pub event: Option<&'static str>,
    /// Bytes still missing; `None` while the metadata is unknown.
    pub left: Option<u64>,
    pub uploaded: u64,
    pub downloaded: u64,
    /// (offer_id, SDP) of fresh offers.
    pub offers: Vec<(Id20, String)>,
}

impl AnnounceRequest {
    pub fn to_json(&self) -> String {
        let offers: Vec<Value> = self
            .offers
            .iter()
            .map(|(id, sdp)| json!({ "offer": { "type": "offer", "sdp": sdp }, "offer_id": id_to_binary_string(id) }))
            .collect();
        let mut v = json!({
            "action": "announce",
            "info_hash": id_to_binary_string(&self.info_hash),
            "peer_id": id_to_binary_string(&self.peer_id),
            "numwant": offers.len(),
            "uploaded": self.uploaded,
            "downloaded": self.downloaded,
            "left": self.left,
        });
        if let Some(e) = self.event {
            v["event"] = json!(e);
        }
        if !offers.is_empty() {
            v["offers"] = Value::Array(offers);
        }
        v.to_string()
    }
}

/// Our answer to a peer's offer, routed by the tracker to `to_peer_id`.
pub fn answer_json(info_hash: &Id20, peer_id: &Id20, to_peer_id: &Id20, offer_id: &Id20, sdp: &str) -> String {
    json!({
        "action": "announce",
        "info_hash": id_to_binary_string(info_hash),
        "peer_id": id_to_binary_string(peer_id),
        "to_peer_id": id_to_binary_string(to_peer_id),
        "offer_id": id_to_binary_string(offer_id),
        "answer": { "type": "answer", "sdp": sdp },
    })
    .to_string()
}

#[derive(Debug, Clone, PartialEq)]
pub enum TrackerEvent {
    /// Another peer offers a connection.
    Offer { info_hash: Id20, peer_id: Id20, offer_id: Id20, sdp: String },
    /// A peer answered one of our offers.
    Answer { info_hash: Id20, peer_id: Id20, offer_id: Id20, sdp: String },
    /// The announce response: when to announce again, and the swarm's size.
    Announced { info_hash: Id20, interval_secs: Option<u64>, complete: Option<u64>, incomplete: Option<u64> },
    Failure { info_hash: Option<Id20>, reason: String },
    Warning { info_hash: Option<Id20>, message: String },
    Scrape,
}

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackerResponseError {
    #[error("tracker message of {0} bytes is too large")]
    TooLarge(usize),
    #[error("tracker message is not a JSON object")]
    NotJson,
    #[error("tracker message has an unknown action")]
    UnknownAction,
    #[error("tracker message field `{0}` is missing or malformed")]
    Field(&'static str),
}

fn id(v: &Value, field: &'static str) -> Result<Id20, TrackerResponseError> {
    v.get(field).and_then(Value::as_str).and_then(id_from_binary_string).ok_or(TrackerResponseError::Field(field))
}

fn sdp(v: &Value, field: &'static str) -> Result<String, TrackerResponseError> {
    v.get(field)
        .and_then(|o| o.get("sdp"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or(TrackerResponseError::Field(field))
}

/// Parses one text message from the tracker.
pub fn parse_response(text: &str) -> Result<TrackerEvent, TrackerResponseError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(TrackerResponseError::TooLarge(text.len()));
    }
    let v: Value = serde_json::from_str(text).map_err(|_| TrackerResponseError::NotJson)?;
    if !v.is_object() {
        return Err(TrackerResponseError::NotJson);
    }
    let info_hash = id(&v, "info_hash").ok();
    if let Some(reason) = v.get("failure reason") {
        return Ok(TrackerEvent::Failure { info_hash, reason: reason.as_str().unwrap_or("(not text)").to_string() });
    }
    match v.get("action").and_then(Value::as_str) {
        Some("announce") => {}
        Some("scrape") => return Ok(TrackerEvent::Scrape),
        _ => return Err(TrackerResponseError::UnknownAction),
    }
    let info_hash = info_hash.ok_or(TrackerResponseError::Field("info_hash"))?;
    if v.get("offer").is_some() {
        return Ok(TrackerEvent::Offer { info_hash, peer_id: id(&v, "peer_id")?, offer_id: id(&v, "offer_id")?, sdp: sdp(&v, "offer")? });
    }
    if v.get("answer").is_some() {
        return Ok(TrackerEvent::Answer { info_hash, peer_id: id(&v, "peer_id")?, offer_id: id(&v, "offer_id")?, sdp: sdp(&v, "answer")? });
    }
    if let Some(message) = v.get("warning message").and_then(Value::as_str) {
        return Ok(TrackerEvent::Warning { info_hash: Some(info_hash), message: message.to_string() });
    }
    let num = |k: &str| v.get(k).and_then(Value::as_u64);
    Ok(TrackerEvent::Announced {
        info_hash,
        interval_secs: num("interval").or_else(|| num("min interval")),
        complete: num("complete"),
        incomplete: num("incomplete"),
    })
}

/// A magnet link's parts (BEP 9): the infohash (hex or base32), name, length, trackers
/// and peers (`x.pe`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Magnet {
    pub info_hash: Id20,
    pub name: Option<String>,
    pub length: Option<u64>,
    pub trackers: Vec<String>,
    /// `x.pe`: peers to dial directly, `HOST:PORT` (a name, an IPv4 literal or a bracketed
    /// IPv6 literal), at most [`MAX_MAGNET_PEERS`]; malformed ones are skipped. Untrusted:
    /// whoever dials them applies its outbound policy.
    pub peers: Vec<String>,
    /// BEP 53 `so`: the files to download, as indexes into the info dict's `files` (sorted,
    /// no duplicates, at most [`MAX_SELECT_ONLY`]); `None` when absent or malformed.
    pub select_only: Option<Vec<u32>>,
}

/// File indexes one `so=` may name (ranges expanded).
pub const MAX_SELECT_ONLY: usize = 10_000;

/// BEP 53's `so` value: `0,2,4-6` → [0, 2, 4, 5, 6]; `None` if malformed, empty or larger than
/// [`MAX_SELECT_ONLY`].
pub fn parse_select_only(value: &str) -> Option<Vec<u32>> {
    let mut out = std::collections::BTreeSet::new();
    for part in value.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let digits = |s: &str| !s.is_empty() && s.len() <= 9 && s.bytes().all(|c| c.is_ascii_digit());
        if !digits(a) || !digits(b) {
            return None;
        }
        let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
        if a > b || out.len() + (b - a) as usize + 1 > MAX_SELECT_ONLY {
            return None;
        }
        out.extend(a..=b);
    }
    (!out.is_empty()).then(|| out.into_iter().collect())
}

/// `tr` and `x.pe` entries kept from one magnet.
pub const MAX_MAGNET_TRACKERS: usize = 16;
pub const MAX_MAGNET_PEERS: usize = 16;

/// `HOST:PORT` with a non-zero port and a plausible host (BEP 9 `x.pe`).
pub fn valid_peer_address(s: &str) -> bool {
    let Some((host, port)) = s.rsplit_once(':') else { return false };
    let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty() && host.len() <= 253 && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    host_ok && port.parse::<u16>().is_ok_and(|p| p != 0)
}

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MagnetError {
    #[error("not a magnet link (it must start with `magnet:?`)")]
    NotMagnet,
    #[error("the magnet link has no BitTorrent infohash (`xt=urn:btih:…`)")]
    NoInfoHash,
    #[error("the magnet link's infohash is malformed")]
    BadInfoHash,
}

pub fn parse_magnet(uri: &str) -> Result<Magnet, MagnetError> {
    let query = uri.trim().strip_prefix("magnet:?").ok_or(MagnetError::NotMagnet)?;
    let mut magnet = Magnet { info_hash: [0; 20], name: None, length: None, trackers: Vec::new(), peers: Vec::new(), select_only: None };
    let mut found = false;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_encoding::percent_decode_str(&value.replace('+', " ")).decode_utf8_lossy().into_owned();
        match key {
            "xt" => {
                if let Some(hash) = value.strip_prefix("urn:btih:") {
                    magnet.info_hash = decode_info_hash(hash).ok_or(MagnetError::BadInfoHash)?;
                    found = true;
                }
            }
            "dn" => magnet.name = Some(value),
            "xl" => magnet.length = value.parse().ok(),
            "tr" if magnet.trackers.len() < MAX_MAGNET_TRACKERS => magnet.trackers.push(value),
            "x.pe" if magnet.peers.len() < MAX_MAGNET_PEERS && valid_peer_address(&value) => magnet.peers.push(value),
            "so" => magnet.select_only = parse_select_only(&value),
            _ => {}
        }
    }
    if !found {
        return Err(MagnetError::NoInfoHash);
    }
    Ok(magnet)
}

fn decode_info_hash(s: &str) -> Option<Id20> {
    if s.len() == 40 {
        return hex::decode(s).ok()?.try_into().ok();
    }
    if s.len() != 32 {
        return None;
    }
    // RFC 4648 base32, as older magnets carry it.
    let mut out = Vec::with_capacity(20);
    let (mut acc, mut bits) = (0u64, 0u32);
    for c in s.bytes() {
        let v = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5) | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magnets_with_hex_and_base32_hashes() {
        let m = parse_magnet("magnet:?xt=urn:btih:abababababababababababababababababababab&dn=a%20b&xl=3&tr=ws%3A%2F%2Fh%2Fannounce").unwrap();
        assert_eq!(m.info_hash, [0xab; 20]);
        assert_eq!(m.name.as_deref(), Some("a b"));
        assert_eq!(m.length, Some(3));
        assert_eq!(m.trackers, vec!["ws://h/announce"]);
        let b32 = parse_magnet("magnet:?xt=urn:btih:VOV2XK5LVOV2XK5LVOV2XK5LVOV2XK5L").unwrap();
        assert_eq!(b32.info_hash, [0xab; 20]);
        assert_eq!(parse_magnet("http://x"), Err(MagnetError::NotMagnet));
        assert_eq!(parse_magnet("magnet:?dn=x"), Err(MagnetError::NoInfoHash));
        assert_eq!(parse_magnet("magnet:?xt=urn:btih:zz"), Err(MagnetError::BadInfoHash));
    }

    #[test]
    fn magnet_peers_are_kept_when_well_formed_and_bounded() {
        let m = parse_magnet(
            "magnet:?xt=urn:btih:abababababababababababababababababababab&x.pe=127.0.0.1:6881&x.pe=%5B%3A%3A1%5D%3A51413&x.pe=peer.example.org:1&x.pe=nope&x.pe=h:0&x.pe=h:99999&x.pe=a%2Fb:1",
        )
        .unwrap();
        assert_eq!(m.peers, vec!["127.0.0.1:6881", "[::1]:51413", "peer.example.org:1"]);
        let many: String = (0..40).map(|i| format!("&x.pe=10.0.0.{i}:1")).collect();
        let m = parse_magnet(&format!("magnet:?xt=urn:btih:{}{many}", "ab".repeat(20))).unwrap();
        assert_eq!(m.peers.len(), MAX_MAGNET_PEERS);
    }

    #[test]
    fn bep_53_select_only() {
        let m = parse_magnet(&format!("magnet:?xt=urn:btih:{}&so=0,2,4-6,2", "ab".repeat(20))).unwrap();
        assert_eq!(m.select_only, Some(vec![0, 2, 4, 5, 6]));
        for bad in ["", "a", "1-", "-1", "3-1", "1,,2", "0-99999999", "1 ", "+1"] {
            assert_eq!(parse_select_only(bad), None, "{bad:?}");
        }
        let singles = |n: u32| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        assert_eq!(parse_select_only(&singles(MAX_SELECT_ONLY as u32)).map(|v| v.len()), Some(MAX_SELECT_ONLY));
        assert!(parse_select_only(&singles(MAX_SELECT_ONLY as u32 + 1)).is_none());
        assert!(parse_select_only("0-10000").is_none());
        assert_eq!(parse_select_only("0-9999").map(|v| v.len()), Some(MAX_SELECT_ONLY));
        assert_eq!(parse_magnet(&format!("magnet:?xt=urn:btih:{}&so=x", "ab".repeat(20))).unwrap().select_only, None);
    }

    proptest::proptest! {
        #[test]
        fn select_only_is_sorted_bounded_and_never_panics(s in "[0-9,\\-]{0,40}") {
            if let Some(v) = parse_select_only(&s) {
                proptest::prop_assert!(v.len() <= MAX_SELECT_ONLY && v.windows(2).all(|w| w[0] < w[1]));
            }
        }
    }

    #[test]
    fn responses_parse_by_kind() {
        let ih = id_to_binary_string(&[1; 20]);
        let pid = id_to_binary_string(&[2; 20]);
        let offer = json!({ "action": "announce", "info_hash": ih, "peer_id": pid, "offer_id": pid, "offer": { "type": "offer", "sdp": "v=0" } });
        assert!(matches!(parse_response(&offer.to_string()), Ok(TrackerEvent::Offer { sdp, .. }) if sdp == "v=0"));
        let announced = json!({ "action": "announce", "info_hash": ih, "interval": 120, "complete": 1, "incomplete": 0 });
        assert!(matches!(parse_response(&announced.to_string()), Ok(TrackerEvent::Announced { interval_secs: Some(120), .. })));
        assert!(matches!(parse_response(r#"{"failure reason":"no"}"#), Ok(TrackerEvent::Failure { .. })));
        assert_eq!(parse_response("[]"), Err(TrackerResponseError::NotJson));
        assert_eq!(parse_response(r#"{"action":"x"}"#), Err(TrackerResponseError::UnknownAction));
    }
}
