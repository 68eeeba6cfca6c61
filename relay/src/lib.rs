//! The Chiral relay: a native node that serves the app and bridges browsers to the network.
//!
//! | module | what it is |
//! | --- | --- |
//! | [`config`] | flags and environment |
//! | [`http`] | the axum router: static app, health |
//! | [`manifest_cmd`] | `relay manifest FILE`: a file's identities as JSON |
//! | [`p2p`] | the libp2p host: Kademlia server, circuit relay v2, identify, ping, AutoNAT |
//! | [`seeding`] | `relay seed`: records for local files, published and republished |
//! | [`tracker_ws`] | `/announce`: WebTorrent's WebSocket tracker over `web_node::tracker` |

pub mod config;
pub mod http;
pub mod manifest_cmd;
pub mod p2p;
pub mod seeding;
pub mod tracker_ws;
