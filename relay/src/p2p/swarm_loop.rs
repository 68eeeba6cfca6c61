//! The task that owns the swarm: feeds it commands, drains its events.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::kad::{self, GetProvidersOk, GetRecordOk, InboundRequest, QueryId, QueryResult, Quorum, Record, RecordKey};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use libp2p::{identify, noise, tcp, yamux, Multiaddr, PeerId, Swarm, SwarmBuilder};
use tokio::sync::{mpsc, oneshot};
use web_node::file_record;

use super::behaviour::{Behaviour, BehaviourEvent, KAD_PROTOCOL};
use super::{now_secs, Command, NodeHandle, NodeInfo, PublishReport};

/// At most this many values are gathered per record lookup (bounds a lying network).
const MAX_VALUES_PER_KEY: usize = 16;
const MAX_PROVIDERS_PER_KEY: usize = 64;

pub struct NodeConfig {
    pub keypair: Keypair,
    pub listen: Vec<Multiaddr>,
    pub bootstrap: Vec<Multiaddr>,
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
    for addr in config.bootstrap {
        dial_bootstrap(&mut swarm, addr);
    }
    let peer_id = *swarm.local_peer_id();
    let (tx, rx) = mpsc::channel(64);
    let task = tokio::spawn(Loop::new(swarm, rx).run());
    Ok((NodeHandle { commands: tx, peer_id }, task))
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

enum Part {
    Record,
    Provider,
}

struct Publish {
    report: PublishReport,
    remaining: u8,
    reply: oneshot::Sender<PublishReport>,
}

struct Loop {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    listen_addrs: Vec<Multiaddr>,
    providers: HashMap<QueryId, (HashSet<PeerId>, oneshot::Sender<HashSet<PeerId>>)>,
    records: HashMap<QueryId, (Vec<Vec<u8>>, oneshot::Sender<Vec<Vec<u8>>>)>,
    publish_parts: HashMap<QueryId, (u64, Part)>,
    publishes: HashMap<u64, Publish>,
    next_publish: u64,
    bootstrapped: bool,
}

impl Loop {
    fn new(swarm: Swarm<Behaviour>, commands: mpsc::Receiver<Command>) -> Self {
        Self {
            swarm,
            commands,
            listen_addrs: Vec::new(),
            providers: HashMap::new(),
            records: HashMap::new(),
            publish_parts: HashMap::new(),
            publishes: HashMap::new(),
            next_publish: 0,
            bootstrapped: false,
        }
    }

    async fn run(mut self) {
        loop {
            tokio::select! {
                command = self.commands.recv() => match command {
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
        match command {
            Command::GetProviders { key, reply } => {
                let id = self.kad().get_providers(RecordKey::new(&key));
                self.providers.insert(id, (HashSet::new(), reply));
            }
            Command::GetRecords { key, reply } => {
                let id = self.kad().get_record(RecordKey::new(&key));
                self.records.insert(id, (Vec::new(), reply));
            }
            Command::Publish { provider_key, record_key, value, reply } => {
                let publish = self.next_publish;
                self.next_publish += 1;
                let mut record = Record::new(RecordKey::new(&record_key), value);
                record.publisher = Some(*self.swarm.local_peer_id());
                record.expires = Some(Instant::now() + Duration::from_secs(file_record::DEFAULT_TTL_SECS));
                let mut remaining = 0;
                match self.kad().put_record(record, Quorum::One) {
                    Ok(id) => {
                        self.publish_parts.insert(id, (publish, Part::Record));
                        remaining += 1;
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot store our own record"),
                }
                match self.kad().start_providing(RecordKey::new(&provider_key)) {
                    Ok(id) => {
                        self.publish_parts.insert(id, (publish, Part::Provider));
                        remaining += 1;
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot announce ourselves as provider"),
                }
                if remaining == 0 {
                    let _ = reply.send(PublishReport::default());
                } else {
                    self.publishes.insert(publish, Publish { report: PublishReport::default(), remaining, reply });
                }
            }
            Command::Info { reply } => {
                let peer_id = *self.swarm.local_peer_id();
                let multiaddrs = self
                    .listen_addrs
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
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                let full = address.clone().with(Protocol::P2p(*self.swarm.local_peer_id()));
                tracing::info!(%full, "p2p listening");
                // Machine-readable, like the HTTP line: tests and scripts read it.
                println!("p2p listening on {full}");
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
            SwarmEvent::Behaviour(BehaviourEvent::Kad(event)) => self.on_kad_event(event),
            _ => {}
        }
    }

    fn on_kad_event(&mut self, event: kad::Event) {
        match event {
            kad::Event::OutboundQueryProgressed { id, result, step, .. } => match result {
                QueryResult::GetProviders(result) => {
                    let finished = match result {
                        Ok(GetProvidersOk::FoundProviders { providers, .. }) => {
                            if let Some((set, _)) = self.providers.get_mut(&id) {
                                set.extend(providers.into_iter().take(MAX_PROVIDERS_PER_KEY));
                            }
                            step.last
                        }
                        _ => true,
                    };
                    if finished {
                        if let Some((set, reply)) = self.providers.remove(&id) {
                            let _ = reply.send(set);
                        }
                    }
                }
                QueryResult::GetRecord(result) => {
                    let finished = match result {
                        Ok(GetRecordOk::FoundRecord(found)) => {
                            let full = self.records.get_mut(&id).is_some_and(|(values, _)| {
                                values.push(found.record.value);
                                values.len() >= MAX_VALUES_PER_KEY
                            });
                            step.last || full
                        }
                        _ => true,
                    };
                    if finished {
                        if let Some((values, reply)) = self.records.remove(&id) {
                            let _ = reply.send(values);
                        }
                        if let Some(mut q) = self.kad().query_mut(&id) {
                            q.finish();
                        }
                    }
                }
                QueryResult::PutRecord(result) => self.publish_part_done(id, result.is_ok()),
                QueryResult::StartProviding(result) => self.publish_part_done(id, result.is_ok()),
                QueryResult::Bootstrap(result) => tracing::debug!(?result, "bootstrap step"),
                _ => {}
            },
            kad::Event::InboundRequest { request } => self.on_inbound(request),
            _ => {}
        }
    }

    fn publish_part_done(&mut self, id: QueryId, reached_peers: bool) {
        let Some((publish, part)) = self.publish_parts.remove(&id) else { return };
        let Some(p) = self.publishes.get_mut(&publish) else { return };
        match part {
            Part::Record => p.report.record_stored_remotely = reached_peers,
            Part::Provider => p.report.provider_announced_remotely = reached_peers,
        }
        p.remaining -= 1;
        if p.remaining == 0 {
            if let Some(p) = self.publishes.remove(&publish) {
                let _ = p.reply.send(p.report);
            }
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

fn is_provider_key(key: &[u8]) -> bool {
    key.strip_prefix(b"/chiral/file/")
        .is_some_and(|cid| cid.len() == 64 && cid.iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c)))
}
