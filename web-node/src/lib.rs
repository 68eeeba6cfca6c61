//! Chiral's node: everything a peer does, as platform-neutral cores that compile for
//! native and wasm32, plus the browser drivers (wasm32 only).
//!
//! | module | what it is |
//! | --- | --- |
//! | [`ingest`] | streaming file → [`manifest::Manifest`] (CID, chunks, Merkle root, infohash, ed2k) |
//! | [`manifest`] | the manifest: canonical bytes, parsing, chunk verification, summary |
//! | [`merkle`] | Merkle root over chunk hashes |
//! | [`torrent`] | BitTorrent v1 info dict, infohash, .torrent, magnet |
//! | [`torrent_paths`] | path components from a torrent checked before anything is written (no `..`, separators, drive prefixes) |
//! | [`peer_wire`] | BitTorrent peer wire codecs (BEP 3, BEP 10 handshake, BEP 9 `ut_metadata`), bitfields |
//! | [`swarm`] | one torrent's peers, sans-IO: piece picking, choking, verification, metadata exchange |
//! | [`tracker`] | WebTorrent WebSocket tracker protocol, server side (sans-IO) |
//! | [`tracker_client`] | the same protocol, client side: announces with offers, answers, responses; magnet links |
//! | [`signaling`] | one torrent's tracker signaling, sans-IO: connects, backoff, announce cadence, offers and their lifetimes |
//! | [`pay`] | Style 2: the payment-channel contract, `chiral_pay` vouchers in-band, seller and buyer sessions |
//! | [`settlement`] | who delivered which verified chunks, the payment plan, the idempotent ledger |
//! | [`wallet`] | the built-in wallet: encrypted keystore, EIP-1559 payments signed with alloy |
//! | [`ed2k`] | ed2k hash, part hashset and link (with sources) |
//! | [`ed2k_wire`] | the eDonkey2000 protocol, sans-IO: packets, tags, messages, upload/download/server sessions, part plan |
//! | [`folder_share`] | a folder shared as one torrent (files aligned to pieces by BEP 47 padding) and its folder manifest and ID |
//! | [`ice`] | ICE servers (STUN/TURN) for WebRTC: the relay's `/api/ice`, the user's own, merged and bounded |
//! | [`encryption`] | optional AES-256-GCM with a PBKDF2-SHA256 key, chunk-aligned |
//! | [`bencode`] | canonical, bounded bencode |
//! | [`bridge_link`] | the page ↔ relay bridge link: the relay's refusal (close code and reason) |
//! | [`dht`] | DHT commands, handle and query bookkeeping shared by relay and page |
//! | [`file_record`] | signed DHT records: a file and its seeders by protocol; merge |
//! | [`reputation`] | trust-based source choice, pure: per-peer and per-wallet Beta scores from deliveries, lies, stalls and payments; decay; avoid list; ranking; JSON for keeping |
//! | [`stream`] | playing a file while it downloads: the `Range` answer (RFC 9110 §14), reads piece by piece, playhead deadlines (pure) |
//! | [`root_candidates`] | the roots a CID's records claim, tried in order; a failed root is dropped with its records |
//! | [`file_check`] | the whole-file verdict: the finished file's SHA-256 against the CID asked for |
//! | `browser` | wasm32: ingest a `File` through `Blob.slice`, cooperatively |

pub mod bencode;
pub mod bridge_link;
pub mod dht;
pub mod ed2k;
pub mod ed2k_wire;
pub mod encryption;
pub mod file_check;
pub mod file_record;
pub mod folder_share;
pub mod ice;
pub mod ingest;
pub mod manifest;
pub mod pay;
pub mod merkle;
pub mod peer_wire;
pub mod reputation;
pub mod root_candidates;
pub mod settlement;
pub mod stream;
pub mod signaling;
pub mod swarm;
pub mod torrent;
pub mod torrent_paths;
pub mod tracker;
pub mod tracker_client;
pub mod wallet;

#[cfg(target_arch = "wasm32")]
pub mod browser;

/// Every file is cut into chunks of 256 KiB; one chunk is one BitTorrent piece.
pub const CHUNK_SIZE: usize = 256 * 1024;
