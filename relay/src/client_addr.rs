//! Who a request comes from, when the relay may sit behind a TLS reverse proxy: the one
//! answer that the RPC rate limit, the bridge's per-client caps and the HTTP tracker's
//! recorded peer address all use.
//!
//! Only when the TCP peer is inside a `--trusted-proxy` CIDR are forwarding headers read:
//! `Forwarded: for=` (RFC 7239 §4, §6) or `X-Forwarded-For` (the de facto comma list). The
//! client is the right-most address in that chain that is not itself a trusted proxy (each
//! proxy appends the address it received the request from, so everything to the left of the
//! last untrusted hop is whatever the client chose to send). A hop that is `unknown`,
//! obfuscated or unreadable ends the walk at the last trusted proxy. When a request carries
//! both headers and they name different clients, the proxy's own address is used: a client
//! must not pick its address by sending the header its proxy does not set. Otherwise the
//! headers are ignored and the TCP peer is the client. Pure, bounded, never panics.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{HeaderMap, HeaderName, FORWARDED};
use axum::http::request::Parts;
use axum::http::Extensions;
use ipnet::IpNet;


/// Forwarding hops read per header, right-most first (the ones that matter).
pub const MAX_HOPS: usize = 32;
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientAddrError {
    #[error("`{0}` is neither a CIDR (10.0.0.0/8, fd00::/8) nor an IP address")]
    Cidr(String),
}

/// `--trusted-proxy` (a CIDR, or one address as a /32 or /128).
pub fn parse_cidr(s: &str) -> Result<IpNet, ClientAddrError> {
    let s = s.trim();
    s.parse::<IpNet>().or_else(|_| s.parse::<IpAddr>().map(IpNet::from)).map(|n| n.trunc()).map_err(|_| ClientAddrError::Cidr(s.chars().take(64).collect()))
}

/// The reverse proxies whose forwarding headers the relay believes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(nets)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// IPv4-mapped IPv6 (a dual-stack socket's view of an IPv4 client) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One node of a forwarding chain: `192.0.2.60`, `192.0.2.60:4711`, `[2001:db8::1]:80`,
/// `2001:db8::1` (RFC 7239 §6; X-Forwarded-For writes the same forms). `unknown`, `_hidden`
/// and anything else: none.
pub fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    if let Some(rest) = node.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(node_port);
        return port_ok.then(|| ip.parse::<Ipv6Addr>().ok().map(IpAddr::V6)).flatten();
    }
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    let (ip, port) = node.rsplit_once(':')?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    node_port(port).then_some(IpAddr::V4(ip))
}

/// `node-port = port / obfport` (RFC 7239 §6: 1*5DIGIT, or `_` and 1*(ALPHA / DIGIT / "." / "_" / "-")).
fn node_port(port: &str) -> bool {
    match port.strip_prefix('_') {
        Some(obf) => !obf.is_empty() && obf.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-'),
        None => !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// Splits `text` at `sep` outside quoted strings (RFC 7230 §3.2.6: `"…"` with `\` escapes).
fn split_unquoted(text: &str, sep: u8) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut at = 0;
    let mut quoted = false;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        while at < bytes.len() {
            let b = bytes[at];
            if quoted && b == b'\\' {
                at += 2;
                continue;
            }
            if b == b'"' {
                quoted = !quoted;
            } else if b == sep && !quoted {
                let part = &text[start..at];
                at += 1;
                start = at;
                return Some(part);
            }
            at += 1;
        }
        done = true;
        text.get(start..)
    })
}

/// A token or a quoted string's content (escapes removed).
fn unquote(value: &str) -> String {
    let value = value.trim();
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut escaped = false;
            for c in inner.chars() {
                if escaped || c != '\\' {
                    out.push(c);
                    escaped = false;
                } else {
                    escaped = true;
                }
            }
            out
        }
        None => value.to_string(),
    }
}

/// Keeps the last [`MAX_HOPS`] items.
fn push_bounded<T>(hops: &mut VecDeque<T>, hop: T) {
    if hops.len() == MAX_HOPS {
        hops.pop_front();
    }
    hops.push_back(hop);
}

/// The `for=` of every element of every `Forwarded` header, left to right (the right-most
/// [`MAX_HOPS`]); none for an element without a readable one. None at all: no such header.
pub fn forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut hops = VecDeque::new();
    let mut any = false;
    for value in headers.get_all(FORWARDED) {
        any = true;
        let Ok(text) = value.to_str() else {
            push_bounded(&mut hops, None);
            continue;
        };
        for element in split_unquoted(text, b',') {
            let node = split_unquoted(element, b';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim().eq_ignore_ascii_case("for").then(|| unquote(value))
            });
            push_bounded(&mut hops, node.as_deref().and_then(parse_node));
        }
    }
    any.then(|| hops.into())
}

/// The entries of every `X-Forwarded-For` header, left to right (the right-most [`MAX_HOPS`]).
/// None at all: no such header.
pub fn x_forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut hops = VecDeque::new();
    let mut any = false;
    for value in headers.get_all(X_FORWARDED_FOR) {
        any = true;
        let Ok(text) = value.to_str() else {
            push_bounded(&mut hops, None);
            continue;
        };
        for entry in text.split(',') {
            push_bounded(&mut hops, parse_node(&unquote(entry)));
        }
    }
    any.then(|| hops.into())
}

/// Walks a chain from the right: the first hop that is not a trusted proxy is the client;
/// an unreadable hop ends the walk at the last trusted one (`peer` to begin with).
fn rightmost_untrusted(peer: IpAddr, hops: &[Option<IpAddr>], trusted: &TrustedProxies) -> IpAddr {
    let mut last = peer;
    for hop in hops.iter().rev() {
        match hop.map(canonical) {
            Some(ip) if trusted.contains(ip) => last = ip,
            Some(ip) => return ip,
            None => return last,
        }
    }
    last
}

/// The client of a request whose TCP peer is `peer` (see the module docs).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.contains(peer) {
        return peer;
    }
    let by_forwarded = forwarded_for(headers).map(|hops| rightmost_untrusted(peer, &hops, trusted));
    let by_xff = x_forwarded_for(headers).map(|hops| rightmost_untrusted(peer, &hops, trusted));
    match (by_forwarded, by_xff) {
        (Some(a), Some(b)) if a != b => peer,
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => peer,
    }
}

/// The client's address as the relay counts it (an axum extractor over any state that holds
/// the [`TrustedProxies`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// From a request's connection info (127.0.0.1 without one, as in `oneshot` tests) and headers.
    pub fn of(extensions: &Extensions, headers: &HeaderMap, trusted: &TrustedProxies) -> Self {
        let peer = extensions.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
        Self(client_ip(peer, headers, trusted))
    }

    pub fn ip(self) -> IpAddr {
        self.0
    }

    /// What per-client limits count this client against ([`limit_key`]).
    pub fn limit_key(self) -> IpAddr {
        limit_key(self.0)
    }
}

/// What per-client limits count an address against: an IPv4 address (IPv4-mapped ones too),
/// or an IPv6 /64 (one subscriber's prefix: a client must not get a fresh bucket for each of
/// the addresses it owns).
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr
where
    TrustedProxies: axum::extract::FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(&parts.extensions, &parts.headers, &<TrustedProxies as axum::extract::FromRef<S>>::from_ref(state)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn trusted(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(nets.iter().map(|n| parse_cidr(n).unwrap()).collect())
    }

    #[test]
    fn cidrs_and_nodes() {
        assert_eq!(parse_cidr("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_cidr("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_cidr(" 127.0.0.1 ").unwrap().to_string(), "127.0.0.1/32");
        assert_eq!(parse_cidr("::1").unwrap().to_string(), "::1/128");
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("proxy.example").is_err());
        assert_eq!(parse_node("192.0.2.60"), Some(ip("192.0.2.60")));
        assert_eq!(parse_node("192.0.2.43:47011"), Some(ip("192.0.2.43")));
        assert_eq!(parse_node("[2001:db8:cafe::17]:4711"), Some(ip("2001:db8:cafe::17")));
        assert_eq!(parse_node("[2001:db8:cafe::17]"), Some(ip("2001:db8:cafe::17")));
        assert_eq!(parse_node("2001:db8::1"), Some(ip("2001:db8::1")));
        assert_eq!(parse_node("192.0.2.1:_hidden"), Some(ip("192.0.2.1")));
        for bad in ["unknown", "_gazonk", "", "[::1", "[::1]x", "1.2.3", "999.1.1.1", "[1.2.3.4]"] {
            assert_eq!(parse_node(bad), None, "{bad}");
        }
    }

    #[test]
    fn rfc_7239_examples() {
        let h = headers(&[("forwarded", r#"for="_gazonk""#)]);
        assert_eq!(forwarded_for(&h), Some(vec![None]));
        let h = headers(&[("forwarded", r#"For="[2001:db8:cafe::17]:4711""#)]);
        assert_eq!(forwarded_for(&h), Some(vec![Some(ip("2001:db8:cafe::17"))]));
        let h = headers(&[("forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43")]);
        assert_eq!(forwarded_for(&h), Some(vec![Some(ip("192.0.2.60"))]));
        let h = headers(&[("forwarded", "for=192.0.2.43, for=198.51.100.17"), ("forwarded", r#"proto=https;for="[::1]:80""#)]);
        assert_eq!(forwarded_for(&h), Some(vec![Some(ip("192.0.2.43")), Some(ip("198.51.100.17")), Some(ip("::1"))]));
        assert_eq!(forwarded_for(&HeaderMap::new()), None);
        let h = headers(&[("x-forwarded-for", "203.0.113.195, 2001:db8:85a3::8a2e:370:7334"), ("x-forwarded-for", "198.51.100.178:4711")]);
        assert_eq!(x_forwarded_for(&h), Some(vec![Some(ip("203.0.113.195")), Some(ip("2001:db8:85a3::8a2e:370:7334")), Some(ip("198.51.100.178"))]));
    }

    #[test]
    fn headers_count_only_from_trusted_proxies() {
        let proxy = ip("10.0.0.2");
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7")]);
        // Not trusted: the headers are anyone's words.
        assert_eq!(client_ip(proxy, &h, &TrustedProxies::default()), proxy);
        assert_eq!(client_ip(ip("203.0.113.9"), &h, &trusted(&["10.0.0.0/8"])), ip("203.0.113.9"));
        // Trusted: the right-most hop that is not a proxy; what the client wrote to its left is ignored.
        assert_eq!(client_ip(proxy, &h, &trusted(&["10.0.0.0/8"])), ip("203.0.113.7"));
        assert_eq!(client_ip(ip("::ffff:10.0.0.2"), &h, &trusted(&["10.0.0.0/8"])), ip("203.0.113.7"));
        // Two proxies in a row.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.9")]);
        assert_eq!(client_ip(proxy, &h, &trusted(&["10.0.0.0/8"])), ip("203.0.113.7"));
        // Only proxies, or an unknown hop: the last trusted proxy.
        let h = headers(&[("x-forwarded-for", "10.0.0.9")]);
        assert_eq!(client_ip(proxy, &h, &trusted(&["10.0.0.0/8"])), ip("10.0.0.9"));
        let h = headers(&[("forwarded", "for=6.6.6.6, for=unknown")]);
        assert_eq!(client_ip(proxy, &h, &trusted(&["10.0.0.0/8"])), proxy);
        let h = headers(&[("forwarded", r#"for="[2001:db8::1]:443";proto=https"#)]);
        assert_eq!(client_ip(proxy, &h, &trusted(&["10.0.0.0/8"])), ip("2001:db8::1"));
        // Both headers: they must agree, or nobody picks their own address.
        let h = headers(&[("forwarded", "for=6.6.6.6"), ("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(client_ip(proxy, &h, &trusted(&["10.0.0.0/8"])), proxy);
        let h = headers(&[("forwarded", "for=203.0.113.7"), ("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(client_ip(proxy, &h, &trusted(&["10.0.0.0/8"])), ip("203.0.113.7"));
    }

    #[test]
    fn ipv6_clients_are_limited_per_64() {
        let a = ClientAddr(ip("2001:db8:1:2:aaaa::1"));
        let b = ClientAddr(ip("2001:db8:1:2:bbbb::2"));
        assert_eq!(a.limit_key(), b.limit_key());
        assert_ne!(a.limit_key(), ClientAddr(ip("2001:db8:1:3::1")).limit_key());
        assert_eq!(ClientAddr(ip("192.0.2.1")).limit_key(), ip("192.0.2.1"));
        assert_eq!(limit_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }

    proptest! {
        #[test]
        fn garbage_headers_never_panic(forwarded in proptest::collection::vec(any::<Vec<u8>>(), 0..4), xff in proptest::collection::vec(".{0,200}", 0..4), peer in any::<[u8; 4]>()) {
            let mut h = HeaderMap::new();
            for v in &forwarded {
                if let Ok(v) = HeaderValue::from_bytes(v) {
                    h.append(FORWARDED, v);
                }
            }
            for v in &xff {
                if let Ok(v) = HeaderValue::from_str(v) {
                    h.append(X_FORWARDED_FOR, v);
                }
            }
            let everyone = trusted(&["0.0.0.0/0", "::/0"]);
            let _ = client_ip(IpAddr::from(peer), &h, &everyone);
            prop_assert_eq!(client_ip(IpAddr::from(peer), &h, &TrustedProxies::default()), IpAddr::from(peer));
        }

        #[test]
        fn hop_lists_are_bounded_and_right_most(n in 1usize..200) {
            let list: Vec<String> = (0..n).map(|i| format!("198.51.{}.{}", i / 256, i % 256)).collect();
            let h = headers(&[("x-forwarded-for", &list.join(", ")), ("forwarded", &list.iter().map(|a| format!("for={a}")).collect::<Vec<_>>().join(","))]);
            let xff = x_forwarded_for(&h).unwrap();
            prop_assert_eq!(xff.len(), n.min(MAX_HOPS));
            prop_assert_eq!(forwarded_for(&h).unwrap(), xff.clone());
            prop_assert_eq!(xff.last().copied().flatten(), Some(list[n - 1].parse::<IpAddr>().unwrap()));
        }

        #[test]
        fn a_client_cannot_choose_its_address_past_the_proxy(spoof in any::<[u8; 4]>(), real in any::<[u8; 4]>()) {
            // The proxy (10.0.0.2, trusted) appends the address it saw to whatever the client sent.
            let real = IpAddr::from(real);
            prop_assume!(!trusted(&["10.0.0.0/8"]).contains(real));
            let h = headers(&[("x-forwarded-for", &format!("{}, {real}", IpAddr::from(spoof)))]);
            prop_assert_eq!(client_ip(ip("10.0.0.2"), &h, &trusted(&["10.0.0.0/8"])), real);
        }
    }
}
