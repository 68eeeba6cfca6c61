//! The BitTorrent v1 identity of a file: info dict (one 256 KiB piece per chunk), infohash,
//! .torrent bytes and magnet URI, as WebTorrent and BitTorrent clients expect them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use sha1::{Digest, Sha1};

use crate::bencode::Value;

/// Everything but RFC 3986 unreserved characters is escaped in URI components.
pub const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Where a file can be found, in the units a BitTorrent client understands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    /// Tracker announce URLs (`ws://host/announce` for WebTorrent).
    pub trackers: Vec<String>,
    /// BEP 19 web seeds: URLs that serve the whole file over HTTP.
    pub web_seeds: Vec<String>,
}

impl Sources {
    /// The sources a Chiral relay at `base_url` (e.g. `http://127.0.0.1:8080`) offers for `cid`.
    pub fn relay(base_url: &str, cid_hex: &str) -> Self {
        let base = base_url.trim_end_matches('/');
        let ws = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            base.to_string()
        };
        // The WebSocket tracker for browsers, the same URL over HTTP for TCP clients.
        Self { trackers: vec![format!("{ws}/announce"), format!("{base}/announce")], web_seeds: vec![format!("{base}/file/{cid_hex}")] }
    }
}

/// The info dict: `length`, `name`, `piece length`, `pieces` (BEP 3).
pub fn info_dict<'a>(name: &'a str, length: u64, piece_length: u64, pieces: &'a [u8]) -> Value<'a> {
    let mut info = BTreeMap::new();
    info.insert(Cow::Borrowed(&b"length"[..]), Value::Int(length as i64));
    info.insert(Cow::Borrowed(&b"name"[..]), Value::str(name));
    info.insert(Cow::Borrowed(&b"piece length"[..]), Value::Int(piece_length as i64));
    info.insert(Cow::Borrowed(&b"pieces"[..]), Value::bytes(pieces));
    Value::Dict(info)
}

/// A BEP 3 multi-file info dict: `files` (each `length` and `path`, padding files with
/// BEP 47's `attr` `p`), `name` (the top folder), `piece length`, `pieces`. `files`:
/// (path components, length, is padding). Paths are not checked here (tests build hostile
/// ones); [`crate::peer_wire::extension::TorrentInfo::parse`] checks them.
pub fn folder_info_dict<'a>(name: &'a str, files: &'a [(Vec<String>, u64, bool)], piece_length: u64, pieces: &'a [u8]) -> Value<'a> {
    let list = files
        .iter()
        .map(|(path, length, padding)| {
            let mut f = BTreeMap::new();
            f.insert(Cow::Borrowed(&b"length"[..]), Value::Int(*length as i64));
            f.insert(Cow::Borrowed(&b"path"[..]), Value::List(path.iter().map(|c| Value::str(c)).collect()));
            if *padding {
                f.insert(Cow::Borrowed(&b"attr"[..]), Value::str("p"));
            }
            Value::Dict(f)
        })
        .collect();
    let mut info = BTreeMap::new();
    info.insert(Cow::Borrowed(&b"files"[..]), Value::List(list));
    info.insert(Cow::Borrowed(&b"name"[..]), Value::str(name));
    info.insert(Cow::Borrowed(&b"piece length"[..]), Value::Int(piece_length as i64));
    info.insert(Cow::Borrowed(&b"pieces"[..]), Value::bytes(pieces));
    Value::Dict(info)
}

pub fn infohash(info: &Value<'_>) -> [u8; 20] {
    Sha1::digest(info.encode()).into()
}

/// A complete .torrent: the info dict plus announce list and web seeds.
pub fn torrent_file(info: Value<'_>, sources: &Sources) -> Vec<u8> {
    let mut root = BTreeMap::new();
    if let Some(first) = sources.trackers.first() {
        root.insert(Cow::Borrowed(&b"announce"[..]), Value::str(first));
        let tiers = sources.trackers.iter().map(|t| Value::List(vec![Value::str(t)])).collect();
        root.insert(Cow::Borrowed(&b"announce-list"[..]), Value::List(tiers));
    }
    if !sources.web_seeds.is_empty() {
        let seeds = sources.web_seeds.iter().map(|s| Value::str(s)).collect();
        root.insert(Cow::Borrowed(&b"url-list"[..]), Value::List(seeds));
    }
    root.insert(Cow::Borrowed(&b"created by"[..]), Value::str("chiral"));
    root.insert(Cow::Borrowed(&b"info"[..]), info);
    Value::Dict(root).encode()
}

/// `magnet:?xt=urn:btih:…&dn=…&xl=…&tr=…&ws=…`
pub fn magnet_uri(infohash: &[u8; 20], name: &str, length: u64, sources: &Sources) -> String {
    use percent_encoding::utf8_percent_encode as enc;
    let mut uri = format!("magnet:?xt=urn:btih:{}&dn={}&xl={length}", hex::encode(infohash), enc(name, URI_COMPONENT));
    for tracker in &sources.trackers {
        uri.push_str(&format!("&tr={}", enc(tracker, URI_COMPONENT)));
    }
    for seed in &sources.web_seeds {
        uri.push_str(&format!("&ws={}", enc(seed, URI_COMPONENT)));
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_sources_follow_the_scheme() {
        let s = Sources::relay("https://relay.example/", "ab");
        assert_eq!(s.trackers, vec!["wss://relay.example/announce", "https://relay.example/announce"]);
        assert_eq!(s.web_seeds, vec!["https://relay.example/file/ab"]);
    }

    #[test]
    fn magnet_escapes_components() {
        let m = magnet_uri(&[0xab; 20], "a b&c.txt", 3, &Sources::relay("http://127.0.0.1:8080", "00"));
        assert_eq!(
            m,
            "magnet:?xt=urn:btih:abababababababababababababababababababab&dn=a%20b%26c.txt&xl=3\
             &tr=ws%3A%2F%2F127.0.0.1%3A8080%2Fannounce&tr=http%3A%2F%2F127.0.0.1%3A8080%2Fannounce&ws=http%3A%2F%2F127.0.0.1%3A8080%2Ffile%2F00"
        );
    }
}
