//! BEP 3 HTTP announces at `/announce` (beside the WebSocket tracker), so TCP BitTorrent
//! clients find the relay and each other: pure parsing, a bounded swarm table with time as
//! input, and bencoded responses with compact peers (BEP 23).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use web_node::bencode::Value;

pub const INTERVAL_SECS: u64 = 120;
const PEER_TIMEOUT_SECS: u64 = 2 * INTERVAL_SECS + 60;
const MAX_SWARMS: usize = 10_000;
const MAX_PEERS_PER_SWARM: usize = 2_000;
const MAX_NUMWANT: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnnounce {
    pub info_hash: [u8; 20],
    pub peer_id: [u8; 20],
    pub port: u16,
    pub left: Option<u64>,
    pub stopped: bool,
    pub numwant: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnounceError {
    #[error("`{0}` is missing or malformed")]
    Field(&'static str),
}

/// Parses the raw query string (`info_hash` and `peer_id` are percent-encoded bytes).
pub fn parse_query(query: &str) -> Result<HttpAnnounce, AnnounceError> {
    let mut fields: HashMap<&str, Vec<u8>> = HashMap::new();
    for pair in query.split('&').take(64) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        fields.insert(k, percent_encoding::percent_decode_str(v).collect());
    }
    let id = |k: &'static str| fields.get(k).and_then(|v| <[u8; 20]>::try_from(v.as_slice()).ok()).ok_or(AnnounceError::Field(k));
    let num = |k: &str| fields.get(k).and_then(|v| std::str::from_utf8(v).ok()?.parse::<u64>().ok());
    Ok(HttpAnnounce {
        info_hash: id("info_hash")?,
        peer_id: id("peer_id")?,
        port: num("port").and_then(|p| u16::try_from(p).ok()).filter(|p| *p != 0).ok_or(AnnounceError::Field("port"))?,
        left: num("left"),
        stopped: fields.get("event").is_some_and(|e| e == b"stopped"),
        numwant: num("numwant").map_or(MAX_NUMWANT, |n| (n as usize).min(MAX_NUMWANT)),
    })
}

#[derive(Debug, Default)]
pub struct HttpSwarms {
    swarms: HashMap<[u8; 20], BTreeMap<[u8; 20], (SocketAddr, bool, u64)>>,
}

impl HttpSwarms {
    /// Torrents with at least one peer remembered.
    pub fn swarm_count(&self) -> usize {
        self.swarms.len()
    }

    /// Peers remembered, all torrents together.
    pub fn peer_count(&self) -> usize {
        self.swarms.values().map(BTreeMap::len).sum()
    }

    /// Records the announce and returns the peers to hand out (never the announcer).
    pub fn announce(&mut self, a: &HttpAnnounce, from: IpAddr, now: u64) -> Vec<SocketAddr> {
        for swarm in self.swarms.values_mut() {
            swarm.retain(|_, (_, _, seen)| now.saturating_sub(*seen) <= PEER_TIMEOUT_SECS);
        }
        self.swarms.retain(|_, s| !s.is_empty());
        if a.stopped {
            if let Some(s) = self.swarms.get_mut(&a.info_hash) {
                s.remove(&a.peer_id);
            }
            return Vec::new();
        }
        let known = self.swarms.contains_key(&a.info_hash);
        if known || self.swarms.len() < MAX_SWARMS {
            let swarm = self.swarms.entry(a.info_hash).or_default();
            if swarm.contains_key(&a.peer_id) || swarm.len() < MAX_PEERS_PER_SWARM {
                swarm.insert(a.peer_id, (SocketAddr::new(from, a.port), a.left == Some(0), now));
            }
        }
        self.swarms
            .get(&a.info_hash)
            .map(|s| s.iter().filter(|(id, _)| **id != a.peer_id).take(a.numwant).map(|(_, (addr, _, _))| *addr).collect())
            .unwrap_or_default()
    }

    /// Peers of a swarm, without recording anything.
    pub fn peers(&self, a: &HttpAnnounce) -> Vec<SocketAddr> {
        self.swarms.get(&a.info_hash).map(|s| s.values().take(a.numwant).map(|(addr, _, _)| *addr).collect()).unwrap_or_default()
    }

    pub fn counts(&self, info_hash: &[u8; 20]) -> (usize, usize) {
        self.swarms.get(info_hash).map_or((0, 0), |s| {
            let seeds = s.values().filter(|p| p.1).count();
            (seeds, s.len() - seeds)
        })
    }
}

/// `d8:completei…e10:incompletei…e8:intervali120e5:peers<6n bytes>e` (IPv4 peers compact).
pub fn response(peers: &[SocketAddr], complete: usize, incomplete: usize) -> Vec<u8> {
    let mut compact = Vec::new();
    for p in peers {
        if let IpAddr::V4(ip) = p.ip() {
            compact.extend_from_slice(&ip.octets());
            compact.extend_from_slice(&p.port().to_be_bytes());
        }
    }
    let mut d = BTreeMap::new();
    d.insert(Cow::Borrowed(&b"complete"[..]), Value::Int(complete as i64));
    d.insert(Cow::Borrowed(&b"incomplete"[..]), Value::Int(incomplete as i64));
    d.insert(Cow::Borrowed(&b"interval"[..]), Value::Int(INTERVAL_SECS as i64));
    d.insert(Cow::Borrowed(&b"peers"[..]), Value::bytes(compact));
    Value::Dict(d).encode()
}

pub fn failure(reason: &str) -> Vec<u8> {
    let mut d = BTreeMap::new();
    d.insert(Cow::Borrowed(&b"failure reason"[..]), Value::bytes(reason.as_bytes().to_vec()));
    Value::Dict(d).encode()
}

pub const UNSPECIFIED: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(ih: u8, id: u8, port: u16, extra: &str) -> String {
        let enc = |b: u8| "%".to_string() + &format!("{b:02X}").repeat(1);
        format!("info_hash={}&peer_id={}&port={port}&compact=1{extra}", enc(ih).repeat(20), enc(id).repeat(20))
    }

    #[test]
    fn announces_hand_out_the_others_compactly() {
        let mut s = HttpSwarms::default();
        let a = parse_query(&q(1, 2, 6881, "&left=0")).unwrap();
        assert_eq!(a.info_hash, [1; 20]);
        assert!(s.announce(&a, "127.0.0.1".parse().unwrap(), 0).is_empty());
        let b = parse_query(&q(1, 3, 7000, "&left=5")).unwrap();
        let peers = s.announce(&b, "127.0.0.2".parse().unwrap(), 1);
        assert_eq!(peers, vec!["127.0.0.1:6881".parse().unwrap()]);
        assert_eq!(s.counts(&[1; 20]), (1, 1));
        assert_eq!(response(&peers, 1, 1), b"d8:completei1e10:incompletei1e8:intervali120e5:peers6:\x7f\x00\x00\x01\x1a\xe1e".to_vec());
        let stop = parse_query(&q(1, 2, 6881, "&event=stopped")).unwrap();
        s.announce(&stop, "127.0.0.1".parse().unwrap(), 2);
        assert!(s.announce(&b, "127.0.0.2".parse().unwrap(), 3).is_empty());
        assert_eq!(parse_query("info_hash=abc&peer_id=x&port=1"), Err(AnnounceError::Field("info_hash")));
    }

    proptest! {
        #[test]
        fn any_query_parses_or_errors(query in ".{0,300}") {
            let _ = parse_query(&query);
        }
    }
}
