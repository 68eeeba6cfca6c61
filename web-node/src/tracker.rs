//! WebTorrent's WebSocket tracker protocol (as spoken by `bittorrent-tracker`), server side,
//! sans-IO: JSON text messages in, messages for connections out. The relay's driver owns
//! the sockets; this core owns the swarms.
//!
//! ```text
//! peer → tracker  {"action":"announce","info_hash":IH,"peer_id":P,"left":N,"event":"started",
//!                  "numwant":5,"offers":[{"offer_id":O,"offer":{"type":"offer","sdp":…}}]}
//! tracker → peer  {"action":"announce","interval":120,"info_hash":IH,"complete":C,"incomplete":I}
//! tracker → other {"action":"announce","offer":{…},"offer_id":O,"peer_id":P,"info_hash":IH}
//! other → tracker {"action":"announce","info_hash":IH,"peer_id":Q,"to_peer_id":P,"offer_id":O,"answer":{…}}
//! tracker → peer  {"action":"announce","answer":{…},"offer_id":O,"peer_id":Q,"info_hash":IH}
//! ```
//! Ids (`info_hash`, `peer_id`, `offer_id`) are 20-byte binary strings: JSON strings whose
//! characters are all ≤ U+00FF, one byte each. Everything is bounded: message size, offers
//! per announce, swarms per connection, peers per swarm. Bad input gets a `failure reason`,
//! never a panic; a closed connection leaves every swarm it joined (implicit stop).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{json, Value};

pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
pub const MAX_OFFERS_PER_ANNOUNCE: usize = 10;
pub const MAX_SWARMS_PER_CONNECTION: usize = 256;
pub const MAX_PEERS_PER_SWARM: usize = 5_000;
pub const ANNOUNCE_INTERVAL_SECS: u64 = 120;
/// A peer that has not announced for this long is dropped by [`Tracker::expire`].
pub const PEER_TIMEOUT_SECS: u64 = 2 * ANNOUNCE_INTERVAL_SECS + 60;
const MAX_SCRAPE_HASHES: usize = 64;

pub type Id20 = [u8; 20];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackerError {
    #[error("message is {0} bytes, more than {MAX_MESSAGE_BYTES}")]
    TooLarge(usize),
    #[error("message is not a JSON object")]
    NotJson,
    #[error("unknown action")]
    UnknownAction,
    #[error("`{0}` must be a 20-byte binary string")]
    BadId(&'static str),
    #[error("`{0}` is malformed")]
    BadField(&'static str),
    #[error("at most {MAX_OFFERS_PER_ANNOUNCE} offers per announce")]
    TooManyOffers,
    #[error("this connection is in too many swarms")]
    TooManySwarms,
    #[error("this swarm is full")]
    SwarmFull,
    #[error("no peer with that `to_peer_id`")]
    NoSuchPeer,
    #[error("this `peer_id` is announced by another connection")]
    PeerIdTaken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnounceEvent {
    Started,
    Stopped,
    Completed,
    Update,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub offer_id: Id20,
    pub offer: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub to_peer_id: Id20,
    pub offer_id: Id20,
    pub answer: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Announce {
    pub info_hash: Id20,
    pub peer_id: Id20,
    pub event: AnnounceEvent,
    pub left: Option<u64>,
    pub numwant: usize,
    pub offers: Vec<Offer>,
    pub answer: Option<Answer>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Announce(Announce),
    Scrape { info_hashes: Vec<Id20> },
}

/// Decodes a binary string (every char ≤ U+00FF) of exactly 20 bytes.
pub fn id_from_binary_string(s: &str) -> Option<Id20> {
    let mut out = [0u8; 20];
    let mut n = 0;
    for c in s.chars() {
        let byte = u8::try_from(u32::from(c)).ok()?;
        *out.get_mut(n)? = byte;
        n += 1;
    }
    (n == 20).then_some(out)
}

pub fn id_to_binary_string(id: &Id20) -> String {
    id.iter().map(|b| char::from(*b)).collect()
}

fn id(v: &Value, field: &'static str) -> Result<Id20, TrackerError> {
    v.get(field).and_then(Value::as_str).and_then(id_from_binary_string).ok_or(TrackerError::BadId(field))
}

/// Parses one text message from a peer.
pub fn parse(text: &[u8]) -> Result<Request, TrackerError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(TrackerError::TooLarge(text.len()));
    }
    let v: Value = serde_json::from_slice(text).map_err(|_| TrackerError::NotJson)?;
    if !v.is_object() {
        return Err(TrackerError::NotJson);
    }
    match v.get("action").and_then(Value::as_str) {
        Some("announce") => parse_announce(&v).map(Request::Announce),
        Some("scrape") => {
            let info_hashes = match v.get("info_hash") {
                None => Vec::new(),
                Some(Value::String(s)) => vec![id_from_binary_string(s).ok_or(TrackerError::BadId("info_hash"))?],
                Some(Value::Array(list)) if list.len() <= MAX_SCRAPE_HASHES => list
                    .iter()
                    .map(|h| h.as_str().and_then(id_from_binary_string).ok_or(TrackerError::BadId("info_hash")))
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(TrackerError::BadId("info_hash")),
            };
            Ok(Request::Scrape { info_hashes })
        }
        _ => Err(TrackerError::UnknownAction),
    }
}

fn parse_announce(v: &Value) -> Result<Announce, TrackerError> {
    let event = match v.get("event").and_then(Value::as_str) {
        None | Some("update") | Some("") => AnnounceEvent::Update,
        Some("started") => AnnounceEvent::Started,
        Some("stopped") => AnnounceEvent::Stopped,
        Some("completed") => AnnounceEvent::Completed,
        Some(_) => return Err(TrackerError::BadField("event")),
    };
    let left = match v.get("left") {
        None | Some(Value::Null) => None,
        Some(l) => Some(l.as_u64().or_else(|| l.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)).ok_or(TrackerError::BadField("left"))?),
    };
    let numwant = v.get("numwant").and_then(Value::as_u64).unwrap_or(MAX_OFFERS_PER_ANNOUNCE as u64) as usize;
    let offers = match v.get("offers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => {
            if list.len() > MAX_OFFERS_PER_ANNOUNCE {
                return Err(TrackerError::TooManyOffers);
            }
            list.iter()
                .map(|o| {
                    let offer = o.get("offer").filter(|x| x.is_object()).ok_or(TrackerError::BadField("offers"))?;
                    Ok(Offer { offer_id: id(o, "offer_id")?, offer: offer.clone() })
                })
                .collect::<Result<_, _>>()?
        }
        Some(_) => return Err(TrackerError::BadField("offers")),
    };
    let answer = match v.get("answer") {
        None | Some(Value::Null) => None,
        Some(a) if a.is_object() => {
            Some(Answer { to_peer_id: id(v, "to_peer_id")?, offer_id: id(v, "offer_id")?, answer: a.clone() })
        }
        Some(_) => return Err(TrackerError::BadField("answer")),
    };
    Ok(Announce { info_hash: id(v, "info_hash")?, peer_id: id(v, "peer_id")?, event, left, numwant, offers, answer })
}

/// One text message from a peer, parsed: the request, or the `failure reason` message to
/// answer it with (echoing `action` and `info_hash` when they were readable, as
/// bittorrent-tracker does).
#[derive(Debug, Clone)]
pub struct Parsed(Result<Request, Value>);

impl Parsed {
    /// Parses `text` (see [`parse`]); never fails: bad input becomes its failure reply.
    pub fn from_text(text: &[u8]) -> Self {
        Self(parse(text).map_err(|e| {
            let mut failure = json!({ "failure reason": e.to_string() });
            if let Ok(v) = serde_json::from_slice::<Value>(text) {
                if let Some(action) = v.get("action").and_then(Value::as_str).filter(|a| *a == "announce" || *a == "scrape") {
                    failure["action"] = json!(action);
                }
                if let Some(ih) = v.get("info_hash").and_then(Value::as_str).filter(|s| id_from_binary_string(s).is_some()) {
                    failure["info_hash"] = json!(ih);
                }
            }
            failure
        }))
    }
}

/// A message for one connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub conn: ConnId,
    pub message: Value,
}

#[derive(Debug, Clone)]
struct Peer {
    conn: ConnId,
    seeding: bool,
    last_seen: u64,
}

#[derive(Debug, Default)]
struct Swarm {
    peers: BTreeMap<Id20, Peer>,
    completed: u64,
    /// Rotates which peers get the next offers, so offers spread over the swarm.
    cursor: usize,
}

impl Swarm {
    fn counts(&self) -> (usize, usize) {
        let complete = self.peers.values().filter(|p| p.seeding).count();
        (complete, self.peers.len() - complete)
    }
}

/// Every swarm the relay tracks. Time is input (`now`, seconds).
#[derive(Debug, Default)]
pub struct Tracker {
    swarms: HashMap<Id20, Swarm>,
    joined: HashMap<ConnId, HashSet<(Id20, Id20)>>,
}

impl Tracker {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn swarm_count(&self) -> usize {
        self.swarms.len()
    }

    pub fn peer_count(&self) -> usize {
        self.swarms.values().map(|s| s.peers.len()).sum()
    }

    /// Handles one text message from `conn`; returns what to send, to whom.
    pub fn handle_message(&mut self, conn: ConnId, text: &[u8], now: u64) -> Vec<Outgoing> {
        self.handle_parsed(conn, Parsed::from_text(text), now)
    }

    /// Handles one message already parsed with [`Parsed::from_text`] (a driver parses on
    /// each connection's own task, so JSON work spreads over cores and the swarms' owner
    /// only does bookkeeping).
    pub fn handle_parsed(&mut self, conn: ConnId, parsed: Parsed, now: u64) -> Vec<Outgoing> {
        let result = match parsed.0 {
            Ok(Request::Announce(a)) => self.announce(conn, a, now),
            Ok(Request::Scrape { info_hashes }) => Ok(vec![self.scrape(conn, &info_hashes)]),
            Err(failure) => return vec![Outgoing { conn, message: failure }],
        };
        result.unwrap_or_else(|e| vec![Outgoing { conn, message: json!({ "failure reason": e.to_string() }) }])
    }

    /// The connection is gone: it leaves every swarm (implicit `stopped`).
    pub fn handle_close(&mut self, conn: ConnId) {
        for (info_hash, peer_id) in self.joined.remove(&conn).unwrap_or_default() {
            self.remove_peer(&info_hash, &peer_id);
        }
    }

    /// Drops peers that stopped announcing.
    pub fn expire(&mut self, now: u64) {
        let stale: Vec<(Id20, Id20, ConnId)> = self
            .swarms
            .iter()
            .flat_map(|(ih, s)| {
                s.peers
                    .iter()
                    .filter(|(_, p)| now.saturating_sub(p.last_seen) > PEER_TIMEOUT_SECS)
                    .map(move |(pid, p)| (*ih, *pid, p.conn))
            })
            .collect();
        for (ih, pid, conn) in stale {
            if let Some(set) = self.joined.get_mut(&conn) {
                set.remove(&(ih, pid));
            }
            self.remove_peer(&ih, &pid);
        }
    }

    fn remove_peer(&mut self, info_hash: &Id20, peer_id: &Id20) {
        if let Some(swarm) = self.swarms.get_mut(info_hash) {
            swarm.peers.remove(peer_id);
            if swarm.peers.is_empty() {
                self.swarms.remove(info_hash);
            }
        }
    }

    fn announce(&mut self, conn: ConnId, a: Announce, now: u64) -> Result<Vec<Outgoing>, TrackerError> {
        let ih = a.info_hash;
        let ih_s = id_to_binary_string(&ih);
        let from_s = id_to_binary_string(&a.peer_id);
        if a.event == AnnounceEvent::Stopped {
            if self.joined.get_mut(&conn).is_some_and(|set| set.remove(&(ih, a.peer_id))) {
                self.remove_peer(&ih, &a.peer_id);
            }
            return Ok(vec![self.announce_response(conn, &ih)]);
        }
        // A peer id belongs to the connection that announced it first, until that one leaves:
        // another connection may not take over its offers and answers, nor evict it.
        if self.swarms.get(&ih).and_then(|s| s.peers.get(&a.peer_id)).is_some_and(|p| p.conn != conn) {
            return Err(TrackerError::PeerIdTaken);
        }
        let joined = self.joined.entry(conn).or_default();
        if !joined.contains(&(ih, a.peer_id)) {
            if joined.len() >= MAX_SWARMS_PER_CONNECTION {
                return Err(TrackerError::TooManySwarms);
            }
            if self.swarms.get(&ih).is_some_and(|s| s.peers.len() >= MAX_PEERS_PER_SWARM) {
                return Err(TrackerError::SwarmFull);
            }
            joined.insert((ih, a.peer_id));
        }
        let swarm = self.swarms.entry(ih).or_default();
        let was_seeding = swarm.peers.get(&a.peer_id).is_some_and(|p| p.seeding);
        let seeding = a.left == Some(0) || a.event == AnnounceEvent::Completed || (a.left.is_none() && was_seeding);
        if a.event == AnnounceEvent::Completed && !was_seeding {
            swarm.completed += 1;
        }
        swarm.peers.insert(a.peer_id, Peer { conn, seeding, last_seen: now });

        let mut out = Vec::new();
        if let Some(answer) = a.answer {
            let to = swarm.peers.get(&answer.to_peer_id).ok_or(TrackerError::NoSuchPeer)?;
            out.push(Outgoing {
                conn: to.conn,
                message: json!({
                    "action": "announce", "answer": answer.answer, "offer_id": id_to_binary_string(&answer.offer_id),
                    "peer_id": from_s, "info_hash": ih_s,
                }),
            });
            return Ok(out);
        }
        // Forward each offer to a different other peer, rotating through the swarm.
        let others: Vec<(Id20, ConnId)> =
            swarm.peers.iter().filter(|(pid, _)| **pid != a.peer_id).map(|(pid, p)| (*pid, p.conn)).collect();
        let wanted = a.offers.len().min(a.numwant).min(others.len());
        for (i, offer) in a.offers.into_iter().take(wanted).enumerate() {
            let (_, to_conn) = others[(swarm.cursor + i) % others.len()];
            out.push(Outgoing {
                conn: to_conn,
                message: json!({
                    "action": "announce", "offer": offer.offer, "offer_id": id_to_binary_string(&offer.offer_id),
                    "peer_id": from_s, "info_hash": ih_s,
                }),
            });
        }
        swarm.cursor = swarm.cursor.wrapping_add(wanted);
        out.insert(0, self.announce_response(conn, &ih));
        Ok(out)
    }

    fn announce_response(&self, conn: ConnId, ih: &Id20) -> Outgoing {
        let (complete, incomplete) = self.swarms.get(ih).map_or((0, 0), Swarm::counts);
        Outgoing {
            conn,
            message: json!({
                "action": "announce", "interval": ANNOUNCE_INTERVAL_SECS, "info_hash": id_to_binary_string(ih),
                "complete": complete, "incomplete": incomplete,
            }),
        }
    }

    fn scrape(&self, conn: ConnId, info_hashes: &[Id20]) -> Outgoing {
        let hashes: Vec<Id20> = if info_hashes.is_empty() {
            self.swarms.keys().take(MAX_SCRAPE_HASHES).copied().collect()
        } else {
            info_hashes.to_vec()
        };
        let mut files = serde_json::Map::new();
        for ih in hashes {
            let (complete, incomplete, downloaded) =
                self.swarms.get(&ih).map_or((0, 0, 0), |s| (s.counts().0, s.counts().1, s.completed));
            files.insert(
                id_to_binary_string(&ih),
                json!({ "complete": complete, "incomplete": incomplete, "downloaded": downloaded }),
            );
        }
        Outgoing { conn, message: json!({ "action": "scrape", "files": files }) }
    }
}
