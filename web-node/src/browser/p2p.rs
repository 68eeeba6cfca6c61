//! The page's libp2p node: Kademlia in client mode (a page is not a DHT server: it is
//! short-lived and not directly dialable), identify and ping, over WebSocket to its relay;
//! the relay's Kademlia server mode carries the page's records into the DHT. The page holds
//! a circuit relay v2 reservation on its relay, so it has an address
//! (`/…/p2p/RELAY/p2p-circuit/p2p/PAGE`): Kademlia only hands out providers that have one.
//!
//! One `spawn_local` task owns the swarm and serves `dht::Command`s; when the relay goes
//! away it redials with exponential backoff (1 s … 30 s) and re-bootstraps.

use std::time::Duration;

use futures::channel::mpsc;
use futures::StreamExt;
use libp2p::core::upgrade::Version;
use libp2p::identity::Keypair;
use libp2p::kad::{self, store::MemoryStore, Mode};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::core::transport::ListenerId;
use libp2p::{identify, noise, ping, relay, yamux, Multiaddr, PeerId, Swarm, SwarmBuilder, Transport};

pub use libp2p::identity::Keypair as PageKeypair;
pub use libp2p::Multiaddr as RelayAddr;

use crate::dht::queries::Queries;
use crate::dht::{Command, Handle, NodeInfo, KAD_PROTOCOL};

#[derive(NetworkBehaviour)]
pub struct PageBehaviour {
    relay_client: relay::client::Behaviour,
    kad: kad::Behaviour<MemoryStore>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
}

/// Where the page stands with its relay, for the Network view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    /// Connected and reachable through the relay (reservation accepted).
    Connected,
    /// Lost (or never reached) the relay; the next dial is `in_ms` away.
    Retrying { attempt: u32, in_ms: u64, error: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageNodeStatus {
    pub peer_id: String,
    pub relay: String,
    pub connection: Connection,
}

/// Why the page's node could not start, or has no identity.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    #[error("{relay} does not end in /p2p/<peer id>")]
    RelayWithoutPeerId { relay: Multiaddr },
    /// A step of building the libp2p swarm failed.
    #[error("{step}: {message}")]
    Build { step: &'static str, message: String },
    #[error(transparent)]
    Random(#[from] super::RandomError),
    #[error("cannot make the page's identity: {0}")]
    Identity(#[from] libp2p::identity::DecodingError),
}

const MAX_BACKOFF: Duration = Duration::from_secs(30);

fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.min(5)).min(MAX_BACKOFF)
}

/// Starts the page's node and dials `relay` (a `/ws/p2p/…` multiaddr).
pub fn start(keypair: Keypair, relay: Multiaddr, on_status: impl Fn(PageNodeStatus) + 'static) -> Result<Handle, P2pError> {
    let Some(Protocol::P2p(relay_peer)) = relay.iter().last() else {
        return Err(P2pError::RelayWithoutPeerId { relay: relay.clone() });
    };
    let peer_id = keypair.public().to_peer_id();
    let mut swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_wasm_bindgen()
        .with_other_transport(|key| {
            Ok(libp2p::websocket_websys::Transport::default()
                .upgrade(Version::V1)
                .authenticate(noise::Config::new(key)?)
                .multiplex(yamux::Config::default())
                .boxed())
        })
        .map_err(|e| P2pError::Build { step: "the WebSocket transport", message: e.to_string() })?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| P2pError::Build { step: "the relay client", message: e.to_string() })?
        .with_behaviour(|key, relay_client| {
            let mut config = kad::Config::new(KAD_PROTOCOL);
            config.set_query_timeout(Duration::from_secs(30)).set_max_packet_size(64 * 1024);
            let local = key.public().to_peer_id();
            let mut kad = kad::Behaviour::with_config(local, MemoryStore::new(local), config);
            kad.set_mode(Some(Mode::Client));
            PageBehaviour {
                relay_client,
                kad,
                identify: identify::Behaviour::new(
                    identify::Config::new("/chiral/id/1.0.0".into(), key.public())
                        .with_agent_version(format!("chiral-page/{}", env!("CARGO_PKG_VERSION"))),
                ),
                ping: ping::Behaviour::default(),
            }
        })
        .map_err(|e| P2pError::Build { step: "the network behaviour", message: e.to_string() })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(600)))
        .build();
    swarm.behaviour_mut().kad.add_address(&relay_peer, relay.clone());
    let (handle, commands) = Handle::channel(peer_id, 64);
    let page = PageLoop {
        swarm,
        commands,
        queries: Queries::default(),
        relay: relay.clone(),
        relay_peer,
        circuit: None,
        attempt: 0,
        self_handle: handle.clone(),
        on_status: Box::new(on_status),
    };
    wasm_bindgen_futures::spawn_local(page.run());
    Ok(handle)
}

struct PageLoop {
    swarm: Swarm<PageBehaviour>,
    commands: mpsc::Receiver<Command>,
    queries: Queries,
    relay: Multiaddr,
    relay_peer: PeerId,
    /// The reservation listener on the relay, while we hold one.
    circuit: Option<ListenerId>,
    /// Failed dials since the last successful connection (drives the backoff).
    attempt: u32,
    self_handle: Handle,
    on_status: Box<dyn Fn(PageNodeStatus)>,
}

impl PageLoop {
    fn status(&self, connection: Connection) {
        (self.on_status)(PageNodeStatus {
            peer_id: self.swarm.local_peer_id().to_string(),
            relay: self.relay.to_string(),
            connection,
        });
    }

    async fn run(mut self) {
        self.dial();
        loop {
            futures::select! {
                command = self.commands.next() => match command {
                    Some(c) => self.on_command(c),
                    None => break,
                },
                event = self.swarm.select_next_some() => self.on_event(event),
            }
        }
    }

    fn dial(&mut self) {
        self.status(Connection::Connecting);
        if let Err(e) = self.swarm.dial(self.relay.clone()) {
            self.retry(e.to_string());
        }
    }

    /// Schedules a redial through our own command channel after the backoff.
    fn retry(&mut self, error: String) {
        self.attempt += 1;
        let attempt = self.attempt;
        let delay = backoff(attempt - 1);
        self.status(Connection::Retrying { attempt, in_ms: delay.as_millis() as u64, error });
        let handle = self.self_handle.clone();
        let relay = self.relay.clone();
        wasm_bindgen_futures::spawn_local(async move {
            futures_timer::Delay::new(delay).await;
            let _ = handle.dial(relay).await;
        });
    }

    fn on_command(&mut self, command: Command) {
        let Some(command) = self.queries.start(&mut self.swarm.behaviour_mut().kad, command, None) else {
            return;
        };
        match command {
            Command::Info { reply } => {
                let kad = &mut self.swarm.behaviour_mut().kad;
                let routing_table_size = kad.kbuckets().map(|b| b.num_entries()).sum();
                let _ = reply.send(NodeInfo {
                    peer_id: self.swarm.local_peer_id().to_string(),
                    multiaddrs: Vec::new(),
                    connected_peers: self.swarm.connected_peers().count(),
                    routing_table_size,
                    stored_records: 0,
                });
            }
            Command::Dial { .. } => {
                if !self.swarm.is_connected(&self.relay_peer) {
                    self.dial();
                }
            }
            _ => {}
        }
    }

    fn on_event(&mut self, event: SwarmEvent<PageBehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == self.relay_peer => {
                self.attempt = 0;
                let kad = &mut self.swarm.behaviour_mut().kad;
                kad.add_address(&self.relay_peer, self.relay.clone());
                if let Err(e) = kad.bootstrap() {
                    tracing::warn!(error = ?e, "bootstrap failed");
                }
                if self.circuit.is_none() {
                    match self.swarm.listen_on(self.relay.clone().with(Protocol::P2pCircuit)) {
                        Ok(id) => self.circuit = Some(id),
                        Err(e) => self.retry(format!("no reservation on the relay: {e}")),
                    }
                }
            }
            SwarmEvent::NewListenAddr { listener_id, address } if Some(listener_id) == self.circuit => {
                // Our address through the relay: what provider records carry.
                self.swarm.add_external_address(address);
                self.status(Connection::Connected);
            }
            SwarmEvent::ListenerClosed { listener_id, addresses, .. } if Some(listener_id) == self.circuit => {
                self.circuit = None;
                for a in addresses {
                    self.swarm.remove_external_address(&a);
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, cause, .. } if peer_id == self.relay_peer => {
                self.retry(cause.map_or_else(|| "the relay closed the connection".into(), |c| c.to_string()));
            }
            SwarmEvent::OutgoingConnectionError { peer_id: Some(peer), error, .. } if peer == self.relay_peer => {
                self.retry(error.to_string());
            }
            SwarmEvent::Behaviour(PageBehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })) => {
                // Relays we learn about through our relay can serve lookups too.
                if info.protocols.contains(&KAD_PROTOCOL) {
                    for addr in info.listen_addrs.into_iter().filter(|a| a.iter().any(|p| matches!(p, Protocol::Ws(_)))) {
                        self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                    }
                }
            }
            SwarmEvent::Behaviour(PageBehaviourEvent::Kad(event)) => {
                let _ = self.queries.on_kad_event(&mut self.swarm.behaviour_mut().kad, event);
            }
            _ => {}
        }
    }
}

/// The page's persistent identity: kept in localStorage (it names the page as a seeder
/// across reloads; it is not a wallet key), made from the browser's CSPRNG on first use.
pub fn load_or_create_identity() -> Result<Keypair, P2pError> {
    const KEY: &str = "chiral.page-identity";
    let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
    if let Some(stored) = storage.as_ref().and_then(|s| s.get_item(KEY).ok().flatten()) {
        if let Some(key) = hex::decode(stored).ok().and_then(|b| Keypair::from_protobuf_encoding(&b).ok()) {
            return Ok(key);
        }
    }
    let key = Keypair::ed25519_from_bytes(super::random_bytes::<32>()?)?;
    if let (Some(s), Ok(bytes)) = (storage, key.to_protobuf_encoding()) {
        let _ = s.set_item(KEY, &hex::encode(bytes));
    }
    Ok(key)
}
