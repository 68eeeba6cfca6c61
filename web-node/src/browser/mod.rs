//! Browser drivers (wasm32 only): thin loops that feed the platform-neutral cores.
//!
//! | module | what it drives |
//! | --- | --- |
//! | [`ingest`] | `Blob.slice` reads → `ingest::Ingest` (+ Web Crypto chunk digests) |
//! | [`p2p`] | the page's libp2p node: Kademlia client over WebSocket to its relay |
//! | [`torrent`] | one torrent: tracker WebSockets → `signaling::Session`, RTCDataChannels and the relay bridge → `swarm::Swarm`, OPFS storage |
//! | [`cid_download`] | a CID by its DHT claims, root after root: a root whose whole file fails the CID is dropped |
//! | [`stream`] | the Service Worker's `/stream/…` requests answered from a torrent's verified pieces, the playhead first |
//! | [`rtc`] | RTCPeerConnection offers/answers with complete SDPs (WebTorrent signaling) |
//! | [`chain`] | JSON-RPC to the relay's `/rpc`; an injected EIP-1193 wallet |
//! | [`settle`] | paying seeders: the ledger in localStorage, driven to confirmation |
//! | [`channels`] | Style 2: the page's payment channels (open, vouchers, checks, closing) and their books |
//! | [`piece_store`] | pieces in the Origin Private File System, or straight from a shared `File` |
//! | [`library`] | what the page shares, in IndexedDB (entries and File System Access handles) |
//! | [`kept_file`] | a library file's bytes: a streamed copy in OPFS, or the user's file through its handle |

pub mod ingest;
pub mod p2p;
pub mod chain;
pub mod channels;
pub mod cid_download;
pub mod kept_file;
pub mod library;
pub mod piece_store;
pub mod rtc;
pub mod settle;
pub mod torrent;
pub mod stream;

pub use ingest::{ingest_blob, plain_ingest, BrowserIngestError};

/// Seconds since the Unix epoch from the page's clock (`SystemTime` panics on wasm32).
pub fn now_secs() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// Why the browser's CSPRNG gave no bytes.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RandomError {
    #[error("no window")]
    NoWindow,
    #[error("the browser offers no secure randomness")]
    Unavailable,
}

/// `N` bytes from the browser's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut out = [0u8; N];
    web_sys::window()
        .ok_or(RandomError::NoWindow)?
        .crypto()
        .and_then(|c| c.get_random_values_with_u8_array(&mut out).map(|_| ()))
        .map_err(|_| RandomError::Unavailable)?;
    Ok(out)
}

/// The text of a JS exception (its `message`, or the thrown string): the one place a
/// browser API's thrown `JsValue` becomes the message field of a module's error.
pub fn js_message(value: &wasm_bindgen::JsValue) -> String {
    use wasm_bindgen::JsCast;
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}
