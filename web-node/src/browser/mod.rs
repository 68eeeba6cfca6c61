//! Browser drivers (wasm32 only): thin loops that feed the platform-neutral cores.
//!
//! | module | what it drives |
//! | --- | --- |
//! | [`ingest`] | `Blob.slice` reads → `ingest::Ingest` (+ Web Crypto chunk digests) |
//! | [`p2p`] | the page's libp2p node: Kademlia client over WebSocket to its relay |
//! | [`torrent`] | one torrent: tracker WebSockets → `signaling::Session`, RTCDataChannels and the relay bridge → `swarm::Swarm`, OPFS storage |
//! | [`cid_download`] | a CID by its DHT claims, root after root: a root whose whole file fails the CID is dropped |
//! | [`rtc`] | RTCPeerConnection offers/answers with complete SDPs (WebTorrent signaling) |
//! | [`chain`] | JSON-RPC to the relay's `/rpc`; an injected EIP-1193 wallet |
//! | [`settle`] | paying seeders: the ledger in localStorage, driven to confirmation |
//! | [`piece_store`] | pieces in the Origin Private File System, or straight from a shared `File` |

pub mod ingest;
pub mod p2p;
pub mod chain;
pub mod cid_download;
pub mod piece_store;
pub mod rtc;
pub mod settle;
pub mod torrent;

pub use ingest::{ingest_blob, plain_ingest, BrowserIngestError};

/// Seconds since the Unix epoch from the page's clock (`SystemTime` panics on wasm32).
pub fn now_secs() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// `N` bytes from the browser's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    let mut out = [0u8; N];
    web_sys::window()
        .ok_or("no window")?
        .crypto()
        .and_then(|c| c.get_random_values_with_u8_array(&mut out).map(|_| ()))
        .map_err(|_| "the browser offers no secure randomness".to_string())?;
    Ok(out)
}
