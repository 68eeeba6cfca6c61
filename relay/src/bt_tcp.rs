//! TCP BitTorrent: real clients (aria2, Transmission, qBittorrent) connect here. The first
//! 68 bytes name the torrent; the connection then joins the bridge's swarm for it, the
//! same sans-IO core that talks to browser tabs, so a file a tab seeds reaches a TCP client
//! piece by verified piece.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use web_node::peer_wire::{Handshake, HANDSHAKE_LEN};

use crate::bridge::Bridge;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_TCP_PEERS: usize = 256;

pub async fn serve(listener: TcpListener, bridge: Bridge) {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_TCP_PEERS));
    loop {
        let Ok((stream, from)) = listener.accept().await else { continue };
        let Ok(permit) = slots.clone().try_acquire_owned() else { continue }; // full: refuse
        let bridge = bridge.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_one(stream, bridge).await {
                tracing::debug!(%from, "bittorrent peer: {e}");
            }
            drop(permit);
        });
    }
}

async fn serve_one(mut stream: TcpStream, bridge: Bridge) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    let mut first = vec![0u8; HANDSHAKE_LEN];
    tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.read_exact(&mut first))
        .await
        .map_err(|_| "no handshake in time".to_string())?
        .map_err(|e| e.to_string())?;
    let (hs, _) = Handshake::parse(&first).map_err(|e| e.to_string())?.ok_or("short handshake")?;
    bridge.attach_tcp(hs.info_hash, stream, first).await
}
