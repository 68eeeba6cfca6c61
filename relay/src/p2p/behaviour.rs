//! The composed behaviour and its configuration, with every limit set deliberately.

use std::num::NonZeroUsize;
use std::time::Duration;

use libp2p::kad::store::{MemoryStore, MemoryStoreConfig};
use libp2p::kad::{self, StoreInserts};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{autonat, identify, identity::Keypair, ping, relay, PeerId};
use web_node::file_record::MAX_RECORD_BYTES;

/// Our own DHT, apart from IPFS's.
pub use web_node::dht::KAD_PROTOCOL;
pub const IDENTIFY_PROTOCOL: &str = "/chiral/id/1.0.0";

#[derive(NetworkBehaviour)]
pub struct Behaviour {
    pub kad: kad::Behaviour<MemoryStore>,
    pub identify: identify::Behaviour,
    pub ping: ping::Behaviour,
    pub relay: libp2p::swarm::behaviour::toggle::Toggle<relay::Behaviour>,
    pub autonat: libp2p::swarm::behaviour::toggle::Toggle<autonat::Behaviour>,
}

/// The relays' Kademlia, on its own so that simulations (`chiral-e2e`'s `dht_sim`) run the
/// very same configuration. `server`: answer queries (a relay) or only ask (a client).
pub fn kad_behaviour(peer_id: PeerId, server: bool) -> kad::Behaviour<MemoryStore> {
    let mut config = kad::Config::new(KAD_PROTOCOL);
    config
        // Inbound records and provider announcements are verified before they are stored.
        .set_record_filtering(StoreInserts::FilterBoth)
        .set_query_timeout(Duration::from_secs(30))
        .set_max_packet_size(64 * 1024)
        .set_replication_factor(NonZeroUsize::new(20).expect("non-zero"));
    let store = MemoryStore::with_config(
        peer_id,
        MemoryStoreConfig {
            max_records: 100_000,
            max_value_bytes: MAX_RECORD_BYTES,
            max_providers_per_key: 64,
            max_provided_keys: 100_000,
        },
    );
    let mut kad = kad::Behaviour::with_config(peer_id, store, config);
    kad.set_mode(Some(if server { kad::Mode::Server } else { kad::Mode::Client }));
    kad
}

impl Behaviour {
    /// `server`: a relay (Kademlia server, circuit relay, AutoNAT); otherwise a short-lived
    /// client (`relay lookup`).
    pub fn new(key: &Keypair, server: bool) -> Self {
        let peer_id = key.public().to_peer_id();
        let kad = kad_behaviour(peer_id, server);
        let relay = server.then(|| {
            relay::Behaviour::new(
                peer_id,
                relay::Config {
                    max_reservations: 1024,
                    max_reservations_per_peer: 4,
                    reservation_duration: Duration::from_secs(60 * 60),
                    max_circuits: 256,
                    max_circuits_per_peer: 8,
                    // The defaults (2 min, 128 KiB) are for hole punching only; a page's DHT
                    // traffic through a circuit needs more, bulk data never goes this way.
                    max_circuit_duration: Duration::from_secs(30 * 60),
                    max_circuit_bytes: 16 * 1024 * 1024,
                    ..Default::default()
                },
            )
        });
        let autonat = server.then(|| autonat::Behaviour::new(peer_id, autonat::Config::default()));
        Self {
            kad,
            identify: identify::Behaviour::new(
                identify::Config::new(IDENTIFY_PROTOCOL.into(), key.public())
                    .with_agent_version(format!("chiral-relay/{}", env!("CARGO_PKG_VERSION"))),
            ),
            ping: ping::Behaviour::default(),
            relay: relay.into(),
            autonat: autonat.into(),
        }
    }
}
