//! Publishing this page as a seeder of a file in the DHT: one async fn over the page's node,
//! used by the Share view and by the library (at load, on reconnect, every TTL/3).

use leptos::prelude::*;
use web_node::dht::PublishReport;
use web_node::settlement::PayTo;
use web_node::file_record::{FileInfo, FileRecord, Protocol, Seeder, DEFAULT_TTL_SECS};

use crate::network::Network;

/// Seconds a withdrawn record lives: long enough to replace the last one at the relays,
/// short enough that it drops out of lookups almost at once.
pub const WITHDRAWN_TTL_SECS: u64 = 30;

/// Signs and stores this page's record for `file` (WebTorrent through the relay's tracker,
/// with the wallet's `terms`, which the swarm also announces in its handshakes; for a free
/// file, eD2k through the relay when it speaks eD2k) and
/// announces the page as a provider, for `ttl_secs`.
/// Errors: the page is not on the network yet, or signing / publishing failed (text).
pub async fn publish_file(network: Network, file: &FileInfo, ttl_secs: u64, terms: Option<PayTo>) -> Result<PublishReport, String> {
    let (Some(node), Some(keypair)) = (network.node.get_untracked(), network.keypair.get_value()) else {
        return Err("not on the network yet".into());
    };
    let now = web_node::browser::now_secs();
    let tracker = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .map(|o| web_node::torrent::Sources::relay(&o, &file.cid).trackers.remove(0))
        .unwrap_or_default();
    let webtorrent = Seeder {
        peer_id: node.peer_id.to_string(),
        protocol: Protocol::WebTorrent,
        endpoint: tracker,
        wallet: terms.map(|t| format!("0x{}", hex::encode(t.wallet))),
        available_chunks: vec![(0, file.chunks)],
        price_per_mb_wei: terms.map_or(0, |t| t.price_per_mb_wei),
    };
    // A free file is also served to eD2k clients by the relay (when it speaks eD2k).
    let ed2k = match terms {
        None => crate::network::ed2k_source().await.map(|endpoint| Seeder { protocol: Protocol::Ed2k, endpoint, ..webtorrent.clone() }),
        Some(_) => None,
    };
    let record = FileRecord {
        seeders: std::iter::once(webtorrent).chain(ed2k).collect(),
        file: file.clone(),
        published_at: now,
        expires_at: now + ttl_secs.clamp(1, DEFAULT_TTL_SECS),
    };
    let signed = record.sign(&keypair).map_err(|e| e.to_string())?;
    node.publish(&file.cid, signed, now).await.map_err(|e| e.to_string())
}
