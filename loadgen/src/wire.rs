//! What a WebTorrent client puts on the wire to a WebSocket tracker (bittorrent-tracker's
//! protocol): announces with WebRTC offers, answers to offers, and the replies it reads back.
//! Ids are 20-byte binary strings (one char ≤ U+00FF per byte), as `bittorrent-tracker` sends.

use serde_json::{json, Value};

pub type Id20 = [u8; 20];

/// A small deterministic PRNG (splitmix64): the generator needs spread, not secrecy.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn id(&mut self) -> Id20 {
        let mut id = [0u8; 20];
        for b in &mut id {
            *b = self.next_u64() as u8;
        }
        id
    }

    fn alnum(&mut self, n: usize) -> String {
        const SET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        (0..n).map(|_| char::from(SET[self.below(SET.len() as u64) as usize])).collect()
    }
}

/// WebTorrent's peer id: `-WW0300-` and 12 random alphanumerics.
pub fn peer_id(rng: &mut Rng) -> Id20 {
    let mut id = [0u8; 20];
    id[..8].copy_from_slice(b"-WW0300-");
    for (b, c) in id[8..].iter_mut().zip(rng.alnum(12).bytes()) {
        *b = c;
    }
    id
}

pub fn binary_string(id: &Id20) -> String {
    id.iter().map(|b| char::from(*b)).collect()
}

pub fn from_binary_string(s: &str) -> Option<Id20> {
    let mut out = [0u8; 20];
    let mut n = 0;
    for c in s.chars() {
        *out.get_mut(n)? = u8::try_from(u32::from(c)).ok()?;
        n += 1;
    }
    (n == 20).then_some(out)
}

/// A data-channel SDP as Chromium writes it once ICE gathering is done (simple-peer with
/// trickle off, as bittorrent-tracker uses it): host + srflx candidates; about 650 bytes.
pub fn sdp(rng: &mut Rng, offer: bool) -> String {
    let ip = |rng: &mut Rng| format!("192.168.{}.{}", rng.below(254) + 1, rng.below(254) + 1);
    let public = |rng: &mut Rng| format!("{}.{}.{}.{}", rng.below(200) + 20, rng.below(256), rng.below(256), rng.below(254) + 1);
    let fingerprint: Vec<String> = (0..32).map(|_| format!("{:02X}", rng.below(256))).collect();
    let (host, port) = (ip(rng), 49152 + rng.below(16000));
    let (srflx, sport) = (public(rng), 1024 + rng.below(60000));
    format!(
        "v=0\r\no=- {sid} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\n\
         a=msid-semantic: WMS\r\nm=application {sport} UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 {srflx}\r\n\
         a=candidate:{f1} 1 udp 2122260223 {host} {port} typ host generation 0 network-id 1 network-cost 10\r\n\
         a=candidate:{f2} 1 udp 1686052607 {srflx} {sport} typ srflx raddr {host} rport {port} generation 0 network-id 1 network-cost 10\r\n\
         a=candidate:{f3} 1 tcp 1518280447 {host} 9 typ host tcptype active generation 0 network-id 1 network-cost 10\r\n\
         a=ice-ufrag:{ufrag}\r\na=ice-pwd:{pwd}\r\na=ice-options:trickle\r\na=fingerprint:sha-256 {fp}\r\n\
         a=setup:{setup}\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n",
        sid = rng.next_u64() >> 1,
        f1 = rng.below(u32::MAX as u64),
        f2 = rng.below(u32::MAX as u64),
        f3 = rng.below(u32::MAX as u64),
        ufrag = rng.alnum(4),
        pwd = rng.alnum(24),
        fp = fingerprint.join(":"),
        setup = if offer { "actpass" } else { "active" },
    )
}

/// `{"action":"announce", …, "offers":[…]}` as WebTorrent's `WebSocketTracker` sends it.
pub fn announce(rng: &mut Rng, info_hash: &Id20, peer_id: &Id20, event: Option<&str>, offers: usize) -> String {
    let offers: Vec<Value> = (0..offers)
        .map(|_| json!({ "offer": { "type": "offer", "sdp": sdp(rng, true) }, "offer_id": binary_string(&rng.id()) }))
        .collect();
    let mut v = json!({
        "action": "announce", "info_hash": binary_string(info_hash), "peer_id": binary_string(peer_id),
        "numwant": offers.len(), "uploaded": 0, "downloaded": 0, "left": 1_048_576, "offers": offers,
    });
    if let Some(e) = event {
        v["event"] = json!(e);
    }
    v.to_string()
}

/// The answer a client sends back through the tracker to the peer whose offer it took.
pub fn answer(rng: &mut Rng, info_hash: &Id20, peer_id: &Id20, to_peer_id: &str, offer_id: &str) -> String {
    json!({
        "action": "announce", "info_hash": binary_string(info_hash), "peer_id": binary_string(peer_id),
        "to_peer_id": to_peer_id, "offer_id": offer_id, "answer": { "type": "answer", "sdp": sdp(rng, false) },
    })
    .to_string()
}

/// What a tracker sent a peer.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    /// The reply to our announce (carries `interval`).
    Reply,
    /// Another peer's offer, forwarded: answer it.
    Offer { peer_id: String, offer_id: String },
    /// An answer to one of our offers.
    Answer,
    /// `failure reason`.
    Failure(String),
    Other,
}

pub fn classify(text: &str, info_hash: &Id20) -> Incoming {
    let Ok(v) = serde_json::from_str::<Value>(text) else { return Incoming::Other };
    if let Some(reason) = v.get("failure reason").and_then(Value::as_str) {
        return Incoming::Failure(reason.to_owned());
    }
    let ours = v.get("info_hash").and_then(Value::as_str).and_then(from_binary_string).is_some_and(|ih| ih == *info_hash);
    if !ours {
        return Incoming::Other;
    }
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    if v.get("offer").is_some() {
        if let (Some(peer_id), Some(offer_id)) = (s("peer_id"), s("offer_id")) {
            return Incoming::Offer { peer_id, offer_id };
        }
    }
    if v.get("answer").is_some() {
        return Incoming::Answer;
    }
    if v.get("interval").is_some() {
        return Incoming::Reply;
    }
    Incoming::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdp_is_realistic_size_and_ids_round_trip() {
        let mut rng = Rng::new(1);
        let s = sdp(&mut rng, true);
        assert!((500..=800).contains(&s.len()), "{} bytes", s.len());
        let id = rng.id();
        assert_eq!(from_binary_string(&binary_string(&id)), Some(id));
        let ih = rng.id();
        let text = json!({"action":"announce","interval":120,"info_hash":binary_string(&ih)}).to_string();
        assert_eq!(classify(&text, &ih), Incoming::Reply);
    }
}
