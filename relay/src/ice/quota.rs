//! Bounds on what the TURN server relays: a cap on live allocations and a byte budget per
//! allocation, enforced around webrtc-rs `turn`'s relay sockets (the server itself has no
//! quotas: RFC 8656 §7.2 leaves "allocation quota" to the server, answering 486).
//!
//! [`LimitedRelays`] wraps the relay-address generator: it refuses an allocation beyond
//! the cap and hands the server a [`BudgetConn`] that counts every relayed datagram, in
//! both directions, and drops them once the allocation's budget is spent.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use turn::relay::RelayAddressGenerator;
use webrtc_util::Conn;

/// Live numbers of the TURN side (shown at `/api/ice/stats`).
#[derive(Debug, Default)]
pub struct TurnStats {
    /// Allocations alive now.
    pub allocations: AtomicUsize,
    /// Allocations made since start.
    pub allocations_total: AtomicU64,
    /// Allocations refused because `max_allocations` were alive.
    pub allocations_refused: AtomicU64,
    /// Requests whose credentials were refused (expired, forged, malformed).
    pub auth_refused: AtomicU64,
    /// Payload bytes relayed, both directions.
    pub relayed_bytes: AtomicU64,
    /// Payload bytes dropped because an allocation's budget was spent.
    pub dropped_bytes: AtomicU64,
    /// Datagrams dropped because their peer is an address the relay may not reach
    /// ([`crate::outbound`]: loopback, private ranges on a public relay, its own sockets).
    pub peers_refused: AtomicU64,
}

/// A copy of [`TurnStats`]' counters at one moment (`/metrics`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TurnCounts {
    pub allocations: usize,
    pub allocations_total: u64,
    pub allocations_refused: u64,
    pub auth_refused: u64,
    pub relayed_bytes: u64,
}

impl TurnStats {
    pub fn counts(&self) -> TurnCounts {
        TurnCounts {
            allocations: self.allocations.load(Ordering::Relaxed),
            allocations_total: self.allocations_total.load(Ordering::Relaxed),
            allocations_refused: self.allocations_refused.load(Ordering::Relaxed),
            auth_refused: self.auth_refused.load(Ordering::Relaxed),
            relayed_bytes: self.relayed_bytes.load(Ordering::Relaxed),
        }
    }

    pub fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "allocations": self.allocations.load(Ordering::Relaxed),
            "allocations_total": self.allocations_total.load(Ordering::Relaxed),
            "allocations_refused": self.allocations_refused.load(Ordering::Relaxed),
            "auth_refused": self.auth_refused.load(Ordering::Relaxed),
            "relayed_bytes": self.relayed_bytes.load(Ordering::Relaxed),
            "dropped_bytes": self.dropped_bytes.load(Ordering::Relaxed),
            "peers_refused": self.peers_refused.load(Ordering::Relaxed),
        })
    }
}

/// The limits, from `--turn-max-allocations` and `--turn-quota-mib`.
#[derive(Debug, Clone, Copy)]
pub struct Quotas {
    pub max_allocations: usize,
    /// Payload bytes one allocation may relay, both directions together.
    pub bytes_per_allocation: u64,
}

/// A relay-address generator that keeps to [`Quotas`] and to the relay's outbound policy:
/// an allocation relays only to and from peers the relay may reach itself (the `turn`
/// crate has no peer filter of its own, coturn's `denied-peer-ip`).
pub struct LimitedRelays<G> {
    pub inner: G,
    pub quotas: Quotas,
    pub stats: Arc<TurnStats>,
    pub policy: crate::outbound::OutboundPolicy,
}

#[async_trait]
impl<G: RelayAddressGenerator + Send + Sync> RelayAddressGenerator for LimitedRelays<G> {
    fn validate(&self) -> Result<(), turn::Error> {
        self.inner.validate()
    }

    async fn allocate_conn(&self, use_ipv4: bool, requested_port: u16) -> Result<(Arc<dyn Conn + Send + Sync>, SocketAddr), turn::Error> {
        let live = self.stats.allocations.fetch_add(1, Ordering::AcqRel);
        if live >= self.quotas.max_allocations {
            self.stats.allocations.fetch_sub(1, Ordering::AcqRel);
            self.stats.allocations_refused.fetch_add(1, Ordering::Relaxed);
            return Err(turn::Error::Other(format!("allocation quota reached ({} live)", self.quotas.max_allocations)));
        }
        let slot = Slot { stats: self.stats.clone(), released: AtomicBool::new(false) };
        let (conn, addr) = self.inner.allocate_conn(use_ipv4, requested_port).await?;
        self.stats.allocations_total.fetch_add(1, Ordering::Relaxed);
        let budget = AtomicU64::new(self.quotas.bytes_per_allocation);
        Ok((Arc::new(BudgetConn { inner: conn, budget, slot, policy: self.policy.clone() }), addr))
    }
}

/// One live allocation's place under the cap, given back once (on close or drop).
struct Slot {
    stats: Arc<TurnStats>,
    released: AtomicBool,
}

impl Slot {
    fn release(&self) {
        if !self.released.swap(true, Ordering::AcqRel) {
            self.stats.allocations.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.release();
    }
}

/// A relay socket that spends a byte budget; datagrams beyond it are dropped (UDP may
/// lose packets; the peers' ICE sees the path die and the allocation is not refreshed).
pub struct BudgetConn {
    inner: Arc<dyn Conn + Send + Sync>,
    budget: AtomicU64,
    slot: Slot,
    policy: crate::outbound::OutboundPolicy,
}

impl BudgetConn {
    /// Whether `peer` may be relayed to or from; counts a refusal.
    fn allowed(&self, peer: SocketAddr) -> bool {
        let ok = self.policy.check(peer).is_ok();
        if !ok {
            self.slot.stats.peers_refused.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    /// Takes `n` bytes from the budget; false (and nothing taken) when it does not cover them.
    fn spend(&self, n: usize) -> bool {
        let n = n as u64;
        let ok = self.budget.fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| left.checked_sub(n)).is_ok();
        let counter = if ok { &self.slot.stats.relayed_bytes } else { &self.slot.stats.dropped_bytes };
        counter.fetch_add(n, Ordering::Relaxed);
        ok
    }
}

#[async_trait]
impl Conn for BudgetConn {
    async fn connect(&self, addr: SocketAddr) -> webrtc_util::Result<()> {
        self.inner.connect(addr).await
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        loop {
            let n = self.inner.recv(buf).await?;
            if self.spend(n) {
                return Ok(n);
            }
        }
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        loop {
            let (n, from) = self.inner.recv_from(buf).await?;
            if self.allowed(from) && self.spend(n) {
                return Ok((n, from));
            }
        }
    }

    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        if !self.spend(buf.len()) {
            return Ok(buf.len());
        }
        self.inner.send(buf).await
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        if !self.allowed(target) || !self.spend(buf.len()) {
            return Ok(buf.len());
        }
        match self.inner.send_to(buf, target).await {
            // A peer's candidate this host has no route to (its private address, say): UDP
            // drops it, as the network would; ICE tries the peer's other candidates.
            Err(webrtc_util::Error::Io(e)) if unroutable(&e.0) => Ok(buf.len()),
            other => other,
        }
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        self.inner.remote_addr()
    }

    async fn close(&self) -> webrtc_util::Result<()> {
        self.slot.release();
        self.inner.close().await
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

fn unroutable(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::NetworkUnreachable | std::io::ErrorKind::HostUnreachable | std::io::ErrorKind::AddrNotAvailable)
}

/// A generator for a STUN-only listener: every allocation is refused.
pub struct NoRelays;

#[async_trait]
impl RelayAddressGenerator for NoRelays {
    fn validate(&self) -> Result<(), turn::Error> {
        Ok(())
    }

    async fn allocate_conn(&self, _: bool, _: u16) -> Result<(Arc<dyn Conn + Send + Sync>, SocketAddr), turn::Error> {
        Err(turn::Error::Other("this listener answers STUN only".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use turn::relay::relay_static::RelayAddressGeneratorStatic;
    use webrtc_util::vnet::net::Net;

    fn relays(max: usize, bytes: u64) -> (LimitedRelays<RelayAddressGeneratorStatic>, Arc<TurnStats>) {
        let stats = Arc::new(TurnStats::default());
        let inner = RelayAddressGeneratorStatic { relay_address: Ipv4Addr::new(198, 18, 0, 1).into(), address: "127.0.0.1".into(), net: Arc::new(Net::new(None)) };
        let policy = crate::outbound::OutboundPolicy::new(crate::outbound::Scope::Loopback);
        (LimitedRelays { inner, quotas: Quotas { max_allocations: max, bytes_per_allocation: bytes }, stats: stats.clone(), policy }, stats)
    }

    #[tokio::test]
    async fn refuses_allocations_beyond_the_cap_and_frees_slots_on_close() {
        let (gen, stats) = relays(2, 1 << 20);
        let (a, addr) = gen.allocate_conn(true, 0).await.unwrap();
        assert_eq!(addr.ip(), std::net::IpAddr::from([198, 18, 0, 1]), "peers are told the external address");
        let (b, _) = gen.allocate_conn(true, 0).await.unwrap();
        assert!(gen.allocate_conn(true, 0).await.is_err());
        assert_eq!(stats.allocations_refused.load(Ordering::Relaxed), 1);
        a.close().await.unwrap();
        a.close().await.unwrap();
        assert_eq!(stats.allocations.load(Ordering::Relaxed), 1, "a slot is given back once");
        let (_c, _) = gen.allocate_conn(true, 0).await.unwrap();
        drop(b);
        assert_eq!(stats.allocations.load(Ordering::Relaxed), 1, "dropping gives the slot back too");
    }

    #[tokio::test]
    async fn drops_datagrams_once_the_budget_is_spent() {
        let (gen, stats) = relays(4, 1000);
        let (conn, _) = gen.allocate_conn(true, 0).await.unwrap();
        let peer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = peer.local_addr().unwrap();
        conn.send_to(&[1; 600], to).await.unwrap();
        conn.send_to(&[2; 600], to).await.unwrap(); // over budget: dropped, not an error
        let mut buf = [0u8; 2000];
        let (n, _) = peer.recv_from(&mut buf).await.unwrap();
        assert_eq!((n, buf[0]), (600, 1));
        let silent = tokio::time::timeout(std::time::Duration::from_millis(200), peer.recv_from(&mut buf)).await;
        assert!(silent.is_err(), "the second datagram was dropped");
        assert_eq!(stats.relayed_bytes.load(Ordering::Relaxed), 600);
        assert_eq!(stats.dropped_bytes.load(Ordering::Relaxed), 600);
        // Inbound: 400 bytes of budget are left; a 300-byte datagram passes, a 200-byte one does not.
        let local = conn.local_addr().unwrap();
        peer.send_to(&[3; 300], local).await.unwrap();
        peer.send_to(&[4; 200], local).await.unwrap();
        let (n, _) = conn.recv_from(&mut buf).await.unwrap();
        assert_eq!(n, 300);
        let blocked = tokio::time::timeout(std::time::Duration::from_millis(200), conn.recv_from(&mut buf)).await;
        assert!(blocked.is_err(), "datagrams beyond the budget are discarded");
    }

    #[tokio::test]
    async fn relays_only_to_peers_the_relay_may_reach() {
        let stats = Arc::new(TurnStats::default());
        let inner = RelayAddressGeneratorStatic { relay_address: Ipv4Addr::new(198, 51, 100, 7).into(), address: "127.0.0.1".into(), net: Arc::new(Net::new(None)) };
        // A public relay: loopback and private peers are refused, its own sockets too.
        let policy = crate::outbound::OutboundPolicy::new(crate::outbound::Scope::Public);
        let gen = LimitedRelays { inner, quotas: Quotas { max_allocations: 4, bytes_per_allocation: 1 << 20 }, stats: stats.clone(), policy };
        let (conn, _) = gen.allocate_conn(true, 0).await.unwrap();
        let peer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        conn.send_to(b"to loopback", peer.local_addr().unwrap()).await.unwrap();
        conn.send_to(b"to a LAN", "192.168.1.10:53".parse().unwrap()).await.unwrap();
        let mut buf = [0u8; 64];
        let silent = tokio::time::timeout(std::time::Duration::from_millis(200), peer.recv_from(&mut buf)).await;
        assert!(silent.is_err(), "nothing reaches a loopback peer from a public relay");
        assert_eq!(stats.peers_refused.load(Ordering::Relaxed), 2);
        assert_eq!(stats.relayed_bytes.load(Ordering::Relaxed), 0);
        // Inbound from a refused address is dropped, uncharged.
        peer.send_to(b"in", conn.local_addr().unwrap()).await.unwrap();
        let blocked = tokio::time::timeout(std::time::Duration::from_millis(200), conn.recv_from(&mut buf)).await;
        assert!(blocked.is_err());
        assert_eq!(stats.relayed_bytes.load(Ordering::Relaxed), 0);
    }
}
