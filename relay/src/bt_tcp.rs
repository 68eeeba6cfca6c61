//! TCP BitTorrent: real clients (aria2, Transmission, qBittorrent) connect here. The first
//! 68 bytes name the torrent; the connection then joins the bridge's swarm for it, the
//! same sans-IO core that talks to browser tabs, so a file a tab seeds reaches a TCP client
//! piece by verified piece.
//! Bounded: 256 connections, 8 per client address ([`crate::client_caps`]), 10 s for the
//! handshake, 3 minutes of silence after it (the bridge's pump); failed accepts (out of
//! file descriptors) back off from 10 ms to 1 s instead of spinning.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use web_node::peer_wire::{Handshake, HANDSHAKE_LEN};

use crate::bridge::Bridge;
use crate::client_caps::{PerClient, TCP_PEERS_PER_CLIENT};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_TCP_PEERS: usize = 256;

/// The wait after a failed `accept` (EMFILE, ENFILE, ENOBUFS, …): 10 ms, doubling up to
/// 1 s, back to 10 ms after a success. Time is the caller's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptBackoff {
    next: Duration,
}

impl AcceptBackoff {
    pub const FIRST: Duration = Duration::from_millis(10);
    pub const MAX: Duration = Duration::from_secs(1);

    pub fn new() -> Self {
        Self { next: Self::FIRST }
    }

    /// An accept failed: how long to wait before the next one.
    pub fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        wait
    }

    pub fn succeeded(&mut self) {
        self.next = Self::FIRST;
    }
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        Self::new()
    }
}

pub async fn serve(listener: TcpListener, bridge: Bridge) {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_TCP_PEERS));
    let per_client = PerClient::new("TCP BitTorrent connections", TCP_PEERS_PER_CLIENT);
    let mut backoff = AcceptBackoff::new();
    loop {
        let (stream, from) = match listener.accept().await {
            Ok(accepted) => {
                backoff.succeeded();
                accepted
            }
            Err(e) => {
                let wait = backoff.failed();
                tracing::warn!("bittorrent accept failed ({e}); next try in {wait:?}");
                tokio::time::sleep(wait).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%from, "bittorrent peer refused: all {MAX_TCP_PEERS} connections are taken");
            continue;
        };
        let mine = match per_client.try_acquire(crate::client_addr::limit_key(from.ip())) {
            Ok(mine) => mine,
            Err(e) => {
                tracing::debug!(%from, "bittorrent peer refused: {e}");
                continue;
            }
        };
        let bridge = bridge.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_one(stream, bridge).await {
                tracing::debug!(%from, "bittorrent peer: {e}");
            }
            drop((permit, mine));
        });
    }
}

/// Why an incoming BitTorrent connection ended.
#[derive(Debug, thiserror::Error)]
enum IncomingError {
    #[error("no handshake within {HANDSHAKE_TIMEOUT:?}")]
    NoHandshake,
    #[error("reading the handshake: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Wire(#[from] web_node::peer_wire::WireError),
    #[error(transparent)]
    Bridge(#[from] crate::bridge::BridgeError),
}

async fn serve_one(mut stream: TcpStream, bridge: Bridge) -> Result<(), IncomingError> {
    let _ = stream.set_nodelay(true);
    let mut first = vec![0u8; HANDSHAKE_LEN];
    tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.read_exact(&mut first)).await.map_err(|_| IncomingError::NoHandshake)??;
    // 68 bytes were read, so the parse is complete or an error.
    let (hs, _) = Handshake::parse(&first)?.ok_or(IncomingError::NoHandshake)?;
    Ok(bridge.attach_tcp(hs.info_hash, stream, first).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_accepts_back_off_and_a_success_resets() {
        let mut b = AcceptBackoff::new();
        let waits: Vec<u64> = (0..10).map(|_| b.failed().as_millis() as u64).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        b.succeeded();
        assert_eq!(b.failed(), Duration::from_millis(10));
    }

    /// A ninth connection from one address is closed at once; other addresses still get in.
    #[tokio::test]
    async fn one_address_holds_at_most_its_share_of_connections() {
        use tokio::io::AsyncWriteExt;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let bridge = Bridge::new(dir.path(), crate::bridge::BridgeLimits::default(), crate::outbound::OutboundPolicy::new(crate::outbound::Scope::Loopback));
        tokio::spawn(serve(listener, bridge));
        let mut held = Vec::new();
        for _ in 0..TCP_PEERS_PER_CLIENT {
            held.push(TcpStream::connect(addr).await.unwrap());
        }
        // The ninth is accepted by the kernel, then closed by the relay: reading sees EOF
        // long before the 10 s handshake timeout would end it.
        let mut ninth = TcpStream::connect(addr).await.unwrap();
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(3), ninth.read(&mut byte)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "the ninth connection stayed open: {read:?}");
        // The eight are still open (waiting for their handshakes).
        let first = &mut held[0];
        first.write_all(b"x").await.unwrap();
        assert!(tokio::time::timeout(Duration::from_millis(200), first.read(&mut byte)).await.is_err(), "the first connection was closed");
        // Another address (127.0.0.2 is loopback too) is not refused.
        let other = tokio::net::TcpSocket::new_v4().unwrap();
        other.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut other = other.connect(addr).await.unwrap();
        assert!(tokio::time::timeout(Duration::from_millis(300), other.read(&mut byte)).await.is_err(), "another address was refused");
    }
}
