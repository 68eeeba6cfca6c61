//! The task that owns the swarm: feeds it commands, drains its events.

use std::time::{Duration, Instant};

use futures::channel::mpsc;
use futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::kad::{self, InboundRequest};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use libp2p::{identify, noise, tcp, yamux, Multiaddr, Swarm, SwarmBuilder};
use web_node::dht::queries::Queries;
use web_node::dht::Command;
use web_node::file_record;

use super::behaviour::{Behaviour, BehaviourEvent, KAD_PROTOCOL};
use super::{now_secs, NodeHandle, NodeInfo};

pub struct NodeConfig {
    pub keypair: Keypair,
    pub listen: Vec<Multiaddr>,
    pub bootstrap: Vec<Multiaddr>,
    /// Addresses others reach us at, when they differ from the listen addresses (NAT, proxy).
    pub external: Vec<Multiaddr>,
    /// Relay (Kademlia server) or short-lived client.
    pub server: bool,
}

/// Builds the swarm, starts listening and dialing, and runs it on its own task.
pub async fn spawn(config: NodeConfig) -> anyhow::Result<(NodeHandle, tokio::task::JoinHandle<()>)> {
    let server = config.server;
    let mut swarm = SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)?
        .with_quic()
        .with_dns()?
        .with_websocket(noise::Config::new, yamux::Config::default)
        .await?
        .with_behaviour(|key| Behaviour::new(key, server))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    for addr in config.listen {
        swarm.listen_on(addr.clone()).map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    }
    for addr in config.external {
        swarm.add_external_address(addr);
    }
    for addr in config.bootstrap {
        dial_bootstrap(&mut swarm, addr);
    }
    let (handle, commands) = NodeHandle::channel(*swarm.local_peer_id(), 64);
    let task = tokio::spawn(Loop::new(swarm, commands).run());
    Ok((handle, task))
}

fn dial_bootstrap(swarm: &mut Swarm<Behaviour>, addr: Multiaddr) {
    if let Some(Protocol::P2p(peer)) = addr.iter().last() {
        swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
    } else {
        tracing::warn!(%addr, "bootstrap address has no /p2p/<peer id>; dialing it anyway");
    }
    if let Err(e) = swarm.dial(addr.clone()) {
        tracing::warn!(%addr, error = %e, "cannot dial bootstrap peer");
    }
}

struct Loop {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    listen_addrs: Vec<Multiaddr>,
    queries: Queries,
    bootstrapped: bool,
}

impl Loop {
    fn new(swarm: Swarm<Behaviour>, commands: mpsc::Receiver<Command>) -> Self {
        Self { swarm, commands, listen_addrs: Vec::new(), queries: Queries::default(), bootstrapped: false }
    }

    async fn run(mut self) {
        loop {
            tokio::select! {
                command = self.commands.next() => match command {
                    Some(c) => self.on_command(c),
                    None => break, // every handle is gone
                },
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
            }
        }
    }

    fn kad(&mut self) -> &mut kad::Behaviour<kad::store::MemoryStore> {
        &mut self.swarm.behaviour_mut().kad
    }

    fn on_command(&mut self, command: Command) {
        let expires = Some(Instant::now() + Duration::from_secs(file_record::DEFAULT_TTL_SECS));
        let Some(command) = self.queries.start(&mut self.swarm.behaviour_mut().kad, command, expires) else {
            return;
        };
        match command {
            Command::Info { reply } => {
                let peer_id = *self.swarm.local_peer_id();
                let external: Vec<Multiaddr> = self.swarm.external_addresses().cloned().collect();
                let advertised = if external.is_empty() { &self.listen_addrs } else { &external };
                let multiaddrs = advertised
                    .iter()
                    .map(|a| a.clone().with(Protocol::P2p(peer_id)).to_string())
                    .collect();
                let routing_table_size = self.kad().kbuckets().map(|b| b.num_entries()).sum();
                let stored_records = {
                    use kad::store::RecordStore;
                    self.kad().store_mut().records().count()
                };
                let _ = reply.send(NodeInfo {
                    peer_id: peer_id.to_string(),
                    multiaddrs,
                    connected_peers: self.swarm.connected_peers().count(),
                    routing_table_size,
                    stored_records,
                });
            }
            Command::Dial { addr } => dial_bootstrap(&mut self.swarm, addr),
            _ => {}
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                let full = address.clone().with(Protocol::P2p(*self.swarm.local_peer_id()));
                tracing::info!(%full, "p2p listening");
                // Machine-readable, like the HTTP line: tests and scripts read it.
                println!("p2p listening on {full}");
                // A relay bound to a concrete IP is reachable there (dev, LAN and public-IP
                // hosts); bound to 0.0.0.0 it waits for --p2p-external or AutoNAT. Circuit
                // relay v2 serves reservations only once it has an external address.
                if !is_unspecified(&address) {
                    self.swarm.add_external_address(address.clone());
                }
                self.listen_addrs.push(address);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => self.listen_addrs.retain(|a| a != &address),
            SwarmEvent::ConnectionEstablished { peer_id, endpoint, .. } => {
                tracing::debug!(%peer_id, addr = %endpoint.get_remote_address(), "connected");
                if !self.bootstrapped {
                    self.bootstrapped = self.kad().bootstrap().is_ok();
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(?peer_id, %error, "dial failed");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })) => {
                // Inbound peers are only routable at the addresses they listen on.
                if info.protocols.contains(&KAD_PROTOCOL) {
                    for addr in info.listen_addrs {
                        self.kad().add_address(&peer_id, addr);
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(event)) => {
                if let Some(kad::Event::InboundRequest { request }) =
                    self.queries.on_kad_event(&mut self.swarm.behaviour_mut().kad, event)
                {
                    self.on_inbound(request);
                }
            }
            _ => {}
        }
    }

    /// Only verified records and well-formed provider keys are stored.
    fn on_inbound(&mut self, request: InboundRequest) {
        use kad::store::RecordStore;
        match request {
            InboundRequest::PutRecord { source, record: Some(mut record), .. } => {
                match file_record::verify(record.key.as_ref(), &record.value, now_secs()) {
                    Ok(verified) => {
                        let ttl = verified.record.expires_at.saturating_sub(now_secs());
                        record.expires = Some(Instant::now() + Duration::from_secs(ttl));
                        if let Err(e) = self.kad().store_mut().put(record) {
                            tracing::warn!(%source, error = %e, "record store is full");
                        }
                    }
                    Err(e) => tracing::warn!(%source, error = %e, "refused a record"),
                }
            }
            InboundRequest::AddProvider { record: Some(provider) } => {
                if is_provider_key(provider.key.as_ref()) {
                    if let Err(e) = self.kad().store_mut().add_provider(provider) {
                        tracing::warn!(error = %e, "provider store is full");
                    }
                } else {
                    tracing::warn!(provider = %provider.provider, "refused a provider record for a foreign key");
                }
            }
            _ => {}
        }
    }
}

fn is_unspecified(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| match p {
        Protocol::Ip4(ip) => ip.is_unspecified(),
        Protocol::Ip6(ip) => ip.is_unspecified(),
        _ => false,
    })
}

fn is_provider_key(key: &[u8]) -> bool {
    key.strip_prefix(b"/chiral/file/")
        .is_some_and(|cid| cid.len() == 64 && cid.iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c)))
}
