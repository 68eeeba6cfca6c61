//! One rule for every connection the relay (or `relay fetch`) opens because of untrusted
//! input: tracker URLs from pages and magnets, the peers trackers name, peers from the
//! mainline DHT, the TCP peers our own HTTP tracker heard from, and a magnet's `x.pe`
//! peers. Without it, anyone who can name an address to the relay can make it connect
//! inside its own machine or network (request forgery: a cloud metadata service at
//! 169.254.169.254, an admin port on loopback, a LAN printer) or to its own ports (loops).
//!
//! The rule, as an [`OutboundPolicy`] built once from the configuration:
//! - a relay on a public or wildcard address ([`Scope::Public`]) connects to globally
//!   routable unicast addresses only: never loopback, private (RFC 1918, RFC 4193 ULA,
//!   RFC 6598 CGNAT 100.64/10, RFC 2544 benchmarking), link-local, multicast, broadcast,
//!   documentation (RFC 5737, RFC 3849, RFC 9637), unspecified or other reserved addresses
//!   (the IANA special-purpose registries, RFC 6890), nor to IPv4-mapped, NAT64 (RFC 6052)
//!   or 6to4 (RFC 3056) forms of those;
//! - a relay bound to a LAN address ([`Scope::Lan`]) may also reach private addresses;
//! - a relay bound to loopback ([`Scope::Loopback`]: development, tests) may also reach
//!   loopback;
//! - none ever connects to its own listening addresses and ports, nor to link-local,
//!   multicast, broadcast, documentation, unspecified or reserved addresses.
//!
//! Pure: callers resolve names first and connect to exactly the address they checked.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, RwLock};

/// The relay's own addresses kept at most (listening sockets and the IPs it is reached at).
const MAX_OWN: usize = 64;

/// What an address is, for the outbound rule (after unwrapping IPv4 embedded in IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddrClass {
    /// Globally routable unicast.
    Public,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16 (RFC 1918), fc00::/7 (RFC 4193), 100.64/10 (RFC 6598),
    /// 198.18/15 (RFC 2544), fec0::/10 (old site-local).
    Private,
    /// 169.254/16 (where cloud metadata services answer), fe80::/10.
    LinkLocal,
    /// 224/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// 0.0.0.0, :: (a connection to them reaches the local host).
    Unspecified,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24 (RFC 5737), 2001:db8::/32 (RFC 3849), 3fff::/20 (RFC 9637).
    Documentation,
    /// Everything else not globally routable: 0/8, 192.0.0/24, 192.88.99/24, 240/4,
    /// deprecated IPv4-compatible ::/96, 100::/64, Teredo 2001::/32, outside 2000::/3.
    Reserved,
}

impl fmt::Display for AddrClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddrClass::Public => "public",
            AddrClass::Loopback => "loopback",
            AddrClass::Private => "private",
            AddrClass::LinkLocal => "link-local",
            AddrClass::Multicast => "multicast",
            AddrClass::Broadcast => "broadcast",
            AddrClass::Unspecified => "unspecified",
            AddrClass::Documentation => "documentation",
            AddrClass::Reserved => "reserved",
        })
    }
}

/// Classifies an IPv4 address.
pub fn classify_v4(ip: Ipv4Addr) -> AddrClass {
    let [a, b, c, _] = ip.octets();
    if ip.is_unspecified() {
        AddrClass::Unspecified
    } else if ip.is_loopback() {
        AddrClass::Loopback
    } else if ip.is_broadcast() {
        AddrClass::Broadcast
    } else if ip.is_multicast() {
        AddrClass::Multicast
    } else if ip.is_link_local() {
        AddrClass::LinkLocal
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) || (a == 198 && (18..20).contains(&b)) {
        AddrClass::Private
    } else if ip.is_documentation() {
        AddrClass::Documentation
    } else if a == 0 || a >= 240 || (a, b, c) == (192, 0, 0) || (a, b, c) == (192, 88, 99) {
        AddrClass::Reserved
    } else {
        AddrClass::Public
    }
}

/// The IPv4 address an IPv6 address stands for, when it embeds one that the network would
/// deliver to: IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:AABB:CCDD::/48`.
pub fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)),
        _ => None,
    }
}

/// Classifies an IPv6 address (an embedded IPv4 address by its own class, except that
/// NAT64 and 6to4 forms of public IPv4 addresses are public).
pub fn classify_v6(ip: Ipv6Addr) -> AddrClass {
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let s = ip.segments();
    if ip.is_unspecified() {
        AddrClass::Unspecified
    } else if ip.is_loopback() {
        AddrClass::Loopback
    } else if ip.is_multicast() {
        AddrClass::Multicast
    } else if (s[0] & 0xffc0) == 0xfe80 {
        AddrClass::LinkLocal
    } else if (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfec0 {
        AddrClass::Private
    } else if (s[0], s[1]) == (0x2001, 0x0db8) || (s[0] & 0xfff0) == 0x3ff0 {
        AddrClass::Documentation
    } else if (s[0] & 0xe000) != 0x2000 || (s[0], s[1]) == (0x2001, 0) {
        // Outside global unicast 2000::/3 (IPv4-compatible ::/96, 100::/64, …), or Teredo.
        AddrClass::Reserved
    } else {
        AddrClass::Public
    }
}

pub fn classify(ip: IpAddr) -> AddrClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// A globally routable unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    classify(ip) == AddrClass::Public
}

/// How far a relay may reach, from where it listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Bound to loopback (development, tests): public, private and loopback addresses.
    Loopback,
    /// Bound to a private (LAN) address: public and private addresses.
    Lan,
    /// On a public or wildcard address: public addresses only.
    Public,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::Loopback => "bound to loopback",
            Scope::Lan => "bound to a LAN address",
            Scope::Public => "on a public or wildcard address",
        })
    }
}

impl Scope {
    /// The scope of a relay reachable at `ip` (a listening IP or the host its public URL names).
    pub fn of_ip(ip: IpAddr) -> Self {
        match classify(ip) {
            AddrClass::Loopback => Scope::Loopback,
            AddrClass::Private | AddrClass::LinkLocal => Scope::Lan,
            // Wildcard (unspecified), public, and anything odd: the strictest.
            _ => Scope::Public,
        }
    }

    /// The scope of a relay reachable at all of `ips`: the most exposed one decides.
    pub fn of_ips(ips: impl IntoIterator<Item = IpAddr>) -> Self {
        ips.into_iter().map(Self::of_ip).max().unwrap_or(Scope::Public)
    }

    /// Whether a relay of this scope may connect to an address of `class`.
    pub fn allows(self, class: AddrClass) -> bool {
        match class {
            AddrClass::Public => true,
            AddrClass::Private => self <= Scope::Lan,
            AddrClass::Loopback => self == Scope::Loopback,
            _ => false,
        }
    }
}

/// Why a connection was not made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    #[error("refused: {addr} is a {class} address, and this relay is {scope}")]
    Class { addr: SocketAddr, class: AddrClass, scope: Scope },
    #[error("refused: {0} is this relay's own address")]
    Own(SocketAddr),
}

#[derive(Debug, Default)]
struct Own {
    /// Listening sockets (the IP may be unspecified: every local address).
    sockets: Vec<SocketAddr>,
    /// IPs the relay is reached at besides its listening IPs (its public URL's, external ones).
    ips: Vec<IpAddr>,
}

/// The outbound rule of one relay: its [`Scope`] and its own addresses. Clones share the
/// list of own addresses, so one learnt late (a port-0 DHT socket) applies everywhere.
#[derive(Debug, Clone)]
pub struct OutboundPolicy {
    scope: Scope,
    own: Arc<RwLock<Own>>,
}

/// The canonical form of an IP: IPv4-mapped IPv6 as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl OutboundPolicy {
    pub fn new(scope: Scope) -> Self {
        Self { scope, own: Arc::default() }
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// Adds one of the relay's listening sockets (HTTP, BitTorrent TCP, DHT UDP, libp2p).
    /// Ports are compared whatever the transport.
    pub fn add_own(&self, addr: SocketAddr) -> &Self {
        let mut own = self.own.write().unwrap_or_else(|e| e.into_inner());
        let addr = SocketAddr::new(canonical(addr.ip()), addr.port());
        if addr.port() != 0 && !own.sockets.contains(&addr) && own.sockets.len() < MAX_OWN {
            own.sockets.push(addr);
        }
        self
    }

    /// Adds an IP the relay is reached at that it does not bind (behind NAT, its public URL).
    pub fn add_own_ip(&self, ip: IpAddr) -> &Self {
        let mut own = self.own.write().unwrap_or_else(|e| e.into_inner());
        let ip = canonical(ip);
        if !own.ips.contains(&ip) && own.ips.len() < MAX_OWN {
            own.ips.push(ip);
        }
        self
    }

    /// Whether `addr` reaches one of the relay's own listening sockets.
    pub fn is_own(&self, addr: SocketAddr) -> bool {
        let own = self.own.read().unwrap_or_else(|e| e.into_inner());
        let target = canonical(addr.ip());
        let local = |ip: IpAddr| ip.is_unspecified() || ip.is_loopback() || own.ips.contains(&ip);
        own.sockets.iter().filter(|o| o.port() == addr.port()).any(|o| {
            let mine = o.ip();
            mine == target || target.is_unspecified() || (mine.is_unspecified() && local(target)) || (mine.is_loopback() && target.is_loopback())
        })
    }

    /// May the relay connect to `addr` because someone else named it?
    pub fn check(&self, addr: SocketAddr) -> Result<(), Refused> {
        let class = classify(addr.ip());
        if !self.scope.allows(class) {
            return Err(Refused::Class { addr, class, scope: self.scope });
        }
        if self.is_own(addr) {
            return Err(Refused::Own(addr));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn classes() {
        for s in ["1.1.1.1", "8.8.8.8", "93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"] {
            assert_eq!(classify(ip(s)), AddrClass::Public, "{s}");
        }
        let cases = [
            ("127.0.0.1", AddrClass::Loopback),
            ("127.255.0.9", AddrClass::Loopback),
            ("::1", AddrClass::Loopback),
            ("::ffff:127.0.0.1", AddrClass::Loopback),
            ("64:ff9b::7f00:1", AddrClass::Loopback),
            ("2002:7f00:1::", AddrClass::Loopback),
            ("10.1.2.3", AddrClass::Private),
            ("172.16.0.1", AddrClass::Private),
            ("192.168.1.1", AddrClass::Private),
            ("100.64.0.1", AddrClass::Private),
            ("100.127.255.255", AddrClass::Private),
            ("198.18.0.1", AddrClass::Private),
            ("fd00::1", AddrClass::Private),
            ("169.254.169.254", AddrClass::LinkLocal),
            ("::ffff:169.254.169.254", AddrClass::LinkLocal),
            ("fe80::1", AddrClass::LinkLocal),
            ("224.0.0.1", AddrClass::Multicast),
            ("ff02::1", AddrClass::Multicast),
            ("255.255.255.255", AddrClass::Broadcast),
            ("0.0.0.0", AddrClass::Unspecified),
            ("::", AddrClass::Unspecified),
            ("192.0.2.1", AddrClass::Documentation),
            ("2001:db8::1", AddrClass::Documentation),
            ("0.1.2.3", AddrClass::Reserved),
            ("240.0.0.1", AddrClass::Reserved),
            ("192.0.0.8", AddrClass::Reserved),
            ("::7f00:1", AddrClass::Reserved),
            ("2001::1", AddrClass::Reserved),
            ("100::1", AddrClass::Reserved),
        ];
        for (s, class) in cases {
            assert_eq!(classify(ip(s)), class, "{s}");
        }
        assert_eq!(classify(ip("100.128.0.1")), AddrClass::Public);
    }

    #[test]
    fn scopes_follow_the_most_exposed_listen_address() {
        assert_eq!(Scope::of_ips([ip("127.0.0.1")]), Scope::Loopback);
        assert_eq!(Scope::of_ips([ip("127.0.0.1"), ip("192.168.1.2")]), Scope::Lan);
        assert_eq!(Scope::of_ips([ip("127.0.0.1"), ip("0.0.0.0")]), Scope::Public);
        assert_eq!(Scope::of_ips([ip("::")]), Scope::Public);
        assert_eq!(Scope::of_ips([ip("203.0.114.5")]), Scope::Public);
        assert_eq!(Scope::of_ips([]), Scope::Public);
    }

    #[test]
    fn a_public_relay_reaches_public_addresses_only() {
        let public = OutboundPolicy::new(Scope::Public);
        assert!(public.check("93.184.216.34:80".parse().unwrap()).is_ok());
        for s in ["127.0.0.1:6881", "10.0.0.1:80", "169.254.169.254:80", "[::1]:80", "[::ffff:10.0.0.1]:80", "[fd12::1]:80", "100.64.1.1:80", "0.0.0.0:80", "224.0.0.251:5353"] {
            let e = public.check(s.parse().unwrap()).unwrap_err();
            assert!(matches!(e, Refused::Class { .. }), "{s}: {e}");
        }
        let lan = OutboundPolicy::new(Scope::Lan);
        assert!(lan.check("192.168.1.20:6881".parse().unwrap()).is_ok());
        assert!(lan.check("127.0.0.1:6881".parse().unwrap()).is_err());
        assert!(lan.check("169.254.169.254:80".parse().unwrap()).is_err(), "cloud metadata, even on a LAN");
        let dev = OutboundPolicy::new(Scope::Loopback);
        assert!(dev.check("127.0.0.1:6881".parse().unwrap()).is_ok());
        assert!(dev.check("10.0.0.1:6881".parse().unwrap()).is_ok());
        assert!(dev.check("169.254.169.254:80".parse().unwrap()).is_err());
    }

    #[test]
    fn no_relay_connects_to_its_own_ports() {
        let dev = OutboundPolicy::new(Scope::Loopback);
        dev.add_own("127.0.0.1:8080".parse().unwrap()).add_own("0.0.0.0:6881".parse().unwrap());
        for s in ["127.0.0.1:8080", "[::ffff:127.0.0.1]:8080", "127.0.0.1:6881", "[::1]:6881", "127.0.0.2:8080"] {
            assert_eq!(dev.check(s.parse().unwrap()), Err(Refused::Own(s.parse().unwrap())), "{s}");
        }
        assert!(dev.is_own("0.0.0.0:8080".parse().unwrap()), "0.0.0.0 reaches the local host");
        assert!(dev.check("0.0.0.0:8080".parse().unwrap()).is_err());
        assert!(dev.check("127.0.0.1:8081".parse().unwrap()).is_ok());
        assert!(dev.check("10.0.0.1:8080".parse().unwrap()).is_ok(), "another host's 8080");
        // Behind NAT: the public IP it is reached at, on a wildcard socket's port.
        let public = OutboundPolicy::new(Scope::Public);
        public.add_own("0.0.0.0:6881".parse().unwrap()).add_own_ip(ip("203.0.114.5"));
        assert_eq!(public.check("203.0.114.5:6881".parse().unwrap()), Err(Refused::Own("203.0.114.5:6881".parse().unwrap())));
        assert!(public.check("203.0.114.6:6881".parse().unwrap()).is_ok(), "others use 6881 too");
        assert!(public.check("203.0.114.5:51413".parse().unwrap()).is_ok());
        // Clones share what is learnt later.
        let clone = public.clone();
        public.add_own("0.0.0.0:7000".parse().unwrap());
        assert!(clone.check("203.0.114.5:7000".parse().unwrap()).is_err());
    }

    proptest! {
        /// Any IPv4-mapped (and NAT64) form of a v4 address is classified as that address,
        /// so a forbidden v4 address is forbidden in every form.
        #[test]
        fn embedded_v4_forms_are_classified_as_the_v4_address(octets in any::<[u8; 4]>(), port in 1u16..) {
            let v4 = Ipv4Addr::from(octets);
            let class = classify_v4(v4);
            let [a, b, c, d] = octets;
            let nat64 = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]));
            let six_to_four = Ipv6Addr::new(0x2002, u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]), 0, 0, 0, 0, 1);
            for v6 in [v4.to_ipv6_mapped(), nat64, six_to_four] {
                prop_assert_eq!(classify_v6(v6), class, "{}", v6);
                for scope in [Scope::Public, Scope::Lan, Scope::Loopback] {
                    let policy = OutboundPolicy::new(scope);
                    prop_assert_eq!(policy.check(SocketAddr::new(v6.into(), port)).is_ok(), policy.check(SocketAddr::new(v4.into(), port)).is_ok());
                }
            }
            if class != AddrClass::Public {
                prop_assert!(OutboundPolicy::new(Scope::Public).check(SocketAddr::new(v4.to_ipv6_mapped().into(), port)).is_err());
            }
        }

        #[test]
        fn only_public_addresses_pass_a_public_policy(bytes in any::<[u8; 16]>(), port in any::<u16>()) {
            let v6 = Ipv6Addr::from(bytes);
            let ok = OutboundPolicy::new(Scope::Public).check(SocketAddr::new(v6.into(), port)).is_ok();
            prop_assert_eq!(ok, classify_v6(v6) == AddrClass::Public);
            prop_assert!(!ok || !(v6.is_loopback() || v6.is_unspecified() || v6.is_multicast()));
        }
    }
}
