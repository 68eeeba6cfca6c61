//! BEP 3 announces to HTTP trackers (the client side): the request URL and a parser of the
//! bencoded reply (compact BEP 23 peers, BEP 7 `peers6`, or the old list of dicts).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use web_node::bencode::{self, Value};

/// Replies bigger than this are refused (a few thousand peers at most).
pub const MAX_REPLY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpAnnounceError {
    #[error("the tracker's reply is not bencode: {0}")]
    Bencode(String),
    #[error("the tracker's reply is not a dictionary")]
    NotDict,
    #[error("the tracker refused: {0}")]
    Refused(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub interval: Duration,
    pub peers: Vec<SocketAddr>,
}

/// `tracker?info_hash=…&peer_id=…&port=…&…&compact=1`, keeping the tracker's own query.
pub fn announce_url(tracker: &str, info_hash: &[u8; 20], peer_id: &[u8; 20], port: u16, left: u64, started: bool, numwant: u32) -> String {
    let enc = |b: &[u8]| percent_encoding::percent_encode(b, percent_encoding::NON_ALPHANUMERIC).to_string();
    let sep = if tracker.contains('?') { '&' } else { '?' };
    let event = if started { "&event=started" } else { "" };
    format!(
        "{tracker}{sep}info_hash={}&peer_id={}&port={port}&uploaded=0&downloaded=0&left={left}&compact=1&numwant={numwant}{event}",
        enc(info_hash),
        enc(peer_id)
    )
}

pub fn parse_reply(bytes: &[u8]) -> Result<Reply, HttpAnnounceError> {
    let value = bencode::parse_lenient(bytes).map_err(|e| HttpAnnounceError::Bencode(e.to_string()))?;
    let dict = value.as_dict().ok_or(HttpAnnounceError::NotDict)?;
    let field = |k: &str| dict.get(k.as_bytes());
    if let Some(reason) = field("failure reason") {
        let reason = reason.as_bytes().map(String::from_utf8_lossy).unwrap_or_default();
        return Err(HttpAnnounceError::Refused(reason.chars().take(200).collect()));
    }
    let interval = field("interval").and_then(Value::as_int).filter(|i| *i > 0).unwrap_or(1800) as u64;
    let mut peers = Vec::new();
    match field("peers") {
        Some(Value::Bytes(b)) => peers.extend(b.chunks_exact(6).map(|c| SocketAddr::from((Ipv4Addr::new(c[0], c[1], c[2], c[3]), u16::from_be_bytes([c[4], c[5]]))))),
        Some(Value::List(list)) => peers.extend(list.iter().filter_map(|p| {
            let d = p.as_dict()?;
            let ip: IpAddr = std::str::from_utf8(d.get(&b"ip"[..])?.as_bytes()?).ok()?.parse().ok()?;
            let port = u16::try_from(d.get(&b"port"[..])?.as_int()?).ok()?;
            Some(SocketAddr::new(ip, port))
        })),
        _ => {}
    }
    if let Some(Value::Bytes(b)) = field("peers6") {
        peers.extend(b.chunks_exact(18).map(|c| {
            let ip = Ipv6Addr::from(<[u8; 16]>::try_from(&c[..16]).expect("16 bytes"));
            SocketAddr::from((ip, u16::from_be_bytes([c[16], c[17]])))
        }));
    }
    peers.retain(|p| p.port() != 0);
    Ok(Reply { interval: Duration::from_secs(interval), peers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn compact_list_and_failure() {
        let compact = b"d8:intervali60e5:peers12:\x7f\x00\x00\x01\x1a\xe1\x0a\x00\x00\x02\x00\x00e";
        assert_eq!(parse_reply(compact), Ok(Reply { interval: Duration::from_secs(60), peers: vec!["127.0.0.1:6881".parse().unwrap()] }));
        let list = b"d8:intervali30e5:peersld2:ip9:127.0.0.17:peer id20:aaaaaaaaaaaaaaaaaaaa4:porti51413eeee";
        assert_eq!(parse_reply(list).unwrap().peers, vec!["127.0.0.1:51413".parse::<SocketAddr>().unwrap()]);
        assert_eq!(parse_reply(b"d14:failure reason8:not heree"), Err(HttpAnnounceError::Refused("not here".into())));
        assert_eq!(parse_reply(b"le"), Err(HttpAnnounceError::NotDict));
        assert!(matches!(parse_reply(b"<html>"), Err(HttpAnnounceError::Bencode(_))));
    }

    #[test]
    fn url_keeps_the_trackers_query() {
        let url = announce_url("http://t.example/announce?passkey=x", &[0xff; 20], &[b'a'; 20], 6881, 10, true, 50);
        assert!(url.starts_with("http://t.example/announce?passkey=x&info_hash=%FF%FF"));
        assert!(url.ends_with("&compact=1&numwant=50&event=started"));
    }

    proptest! {
        #[test]
        fn hostile_replies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_reply(&bytes);
        }

        #[test]
        fn compact_peers_round_trip(peers in proptest::collection::vec((any::<[u8; 4]>(), 1u16..), 0..40)) {
            let mut compact = Vec::new();
            for (ip, port) in &peers {
                compact.extend(ip);
                compact.extend(port.to_be_bytes());
            }
            let mut dict = std::collections::BTreeMap::new();
            dict.insert(std::borrow::Cow::Borrowed(&b"interval"[..]), Value::Int(90));
            dict.insert(std::borrow::Cow::Borrowed(&b"peers"[..]), Value::bytes(compact));
            let reply = parse_reply(&Value::Dict(dict).encode()).unwrap();
            prop_assert_eq!(reply.peers, peers.iter().map(|(ip, port)| SocketAddr::from((*ip, *port))).collect::<Vec<_>>());
        }
    }
}
