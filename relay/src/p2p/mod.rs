//! The relay's libp2p host: Kademlia (server mode) shared by relays and pages, circuit
//! relay v2, identify, ping, AutoNAT; TCP + QUIC between relays, WebSocket for browsers.
//!
//! One task owns the swarm and serves `web_node::dht::Command`s from a bounded channel;
//! [`NodeHandle`] (web-node's DHT handle) turns them into async calls, and lookups are
//! composed there. Records are verified where they enter: on inbound PUTs (a relay never
//! stores a forged record) and again on every lookup (a relay may lie).

pub mod behaviour;
pub mod identity;
mod swarm_loop;

use std::time::Duration;

pub use behaviour::KAD_PROTOCOL;
pub use swarm_loop::{spawn, NodeConfig};
pub use web_node::dht::{DhtError as NodeError, Handle as NodeHandle, NodeInfo, PublishReport};
use web_node::file_record;

pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// How often a seeder refreshes its records (well inside their lifetime).
pub const REPUBLISH_EVERY: Duration = Duration::from_secs(file_record::DEFAULT_TTL_SECS / 3);
