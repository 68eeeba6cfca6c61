//! An in-process Kademlia network: `nodes` real rust-libp2p swarms, each running the relays'
//! own Kademlia behaviour ([`relay::p2p::behaviour::kad_behaviour`], server mode, unchanged
//! configuration), connected over libp2p's in-memory transport with plaintext + yamux
//! (encryption would only cost CPU here and changes nothing about routing). Nothing binds a
//! socket.
//!
//! The model:
//! 1. Every node listens on `/memory/<port>`. The network forms in one of two ways ([`Join`]):
//!    - [`Join::Bootstrap`], the real thing: node 0 starts alone; the others join in waves (a
//!      wave is never larger than the network it joins): each joiner adds and dials
//!      `join_contacts` random earlier nodes and runs `bootstrap()`, as a relay does with its
//!      `--bootstrap` peers. A wave is done when all its bootstrap queries have finished.
//!    - [`Join::Converged`], the network long after everyone joined: every routing table is
//!      filled directly with what bootstrap and bucket refreshes converge to, for each bucket
//!      (XOR distance range) up to K random peers of that range. No join traffic: a full
//!      bootstrap costs each node hundreds of requests, too slow for 1000 nodes in a debug
//!      build (see [`Join::Converged`]).
//! 2. `keys` random nodes each `start_providing` a random `/chiral/file/<cid>` key, as seeders
//!    do.
//! 3. Each lookup is `get_providers` for one of those keys from another random node (our real
//!    lookup path), run to the end of the query as production does; it succeeds when the
//!    publisher is among the providers found before the lookup's deadline.
//!
//! What the relay does around Kademlia, and how the simulation stands in for it:
//! - Identify: a relay learns an inbound peer's listen address from identify. Here, when
//!   Kademlia reports an `UnroutablePeer` (an inbound peer it cannot add without an
//!   address), the node looks the address up in the simulation's directory and adds it.
//! - Verification: with `StoreInserts::FilterBoth` nothing inbound is stored automatically; a
//!   relay stores provider announcements after checking the key. Every announcement here is
//!   honest, so every one is stored.
//! - External address: a relay listening on a concrete address declares it external, so its
//!   provider records carry it; every node here does the same with its memory address.
//!   (Without one, a record is returned only by nodes that have the provider in their routing
//!   table: 7 % of lookups failed that way at 1000 nodes.)
//!
//! Hops ([`HOPS_DEFINITION`]): kad's events say nothing about who named whom, so the behaviour
//! is wrapped in `Traced`, a pass-through that reads the answers of traced queries on their
//! way in and builds each lookup's referral tree.
//!
//! One tokio task per swarm, driven by a command channel; every wait has a deadline.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use futures::{StreamExt, TryStreamExt};
use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::{MemoryTransport, Transport};
use libp2p::core::upgrade::Version;
use libp2p::core::{Endpoint, Multiaddr};
use libp2p::identity::Keypair;
use libp2p::kad::store::{MemoryStore, RecordStore};
use libp2p::kad::{self, GetProvidersOk, KBucketKey, QueryId, QueryResult, RecordKey};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, SwarmEvent, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm,
};
use libp2p::{plaintext, yamux, PeerId, Swarm};
use tokio::sync::{mpsc, oneshot};

/// What the hop counts in a [`SimReport`] are; printed under the table.
pub const HOPS_DEFINITION: &str = "hops: referral depth of the first node that answered with a provider. A node \
from the initiator's own routing table is 1 hop; a node first named in a hop-h node's answer is h+1; the initiator's \
own store is 0. With parallelism 3 several requests are in flight per hop, so requests >= hops.\n\
requests: Kademlia requests the query had issued when that first provider arrived (QueryStats::num_requests).";

/// How the network forms; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Join {
    /// Each node dials `join_contacts` earlier nodes and runs `bootstrap()`.
    #[default]
    Bootstrap,
    /// Routing tables filled as a converged network's: up to K random peers per bucket.
    /// Kademlia's automatic bootstrap, which the first insertions trigger, is finished as soon
    /// as it starts (its result is what the tables already hold).
    Converged,
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub nodes: usize,
    pub lookups: usize,
    /// Seeds the node identities, the topology, the keys and who looks up what.
    pub seed: u64,
    pub join: Join,
    /// Provider keys published, each by one random node; lookup `i` looks for key `i % keys`.
    pub keys: usize,
    /// Earlier nodes a joiner dials before its bootstrap ([`Join::Bootstrap`]).
    pub join_contacts: usize,
    /// Most nodes joining at once ([`Join::Bootstrap`]).
    pub max_join_wave: usize,
    /// Publications and lookups in flight at once.
    pub publish_concurrency: usize,
    pub lookup_concurrency: usize,
    /// Deadline of one join (its bootstrap query) and of one publication.
    pub setup_timeout: Duration,
    /// Deadline of one lookup; past it the lookup counts as failed.
    pub lookup_timeout: Duration,
}

impl SimConfig {
    pub fn new(nodes: usize, lookups: usize) -> Self {
        Self {
            nodes,
            lookups,
            seed: 1,
            join: Join::Bootstrap,
            keys: lookups.max(1),
            join_contacts: 3,
            max_join_wave: 64,
            publish_concurrency: 32,
            lookup_concurrency: 4,
            setup_timeout: Duration::from_secs(60),
            lookup_timeout: Duration::from_secs(20),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SimReport {
    pub nodes: usize,
    pub lookups: usize,
    pub join: Join,
    pub lookup_concurrency: usize,
    /// Lookups that found the key's publisher.
    pub successes: usize,
    /// Per successful lookup: see [`HOPS_DEFINITION`].
    pub hops: Vec<u32>,
    /// Per successful lookup: requests issued until the first provider arrived.
    pub requests: Vec<u32>,
    /// Per successful lookup: time until the first provider arrived.
    pub lookup_ms: Vec<f64>,
    /// Per lookup that completed: time until the query finished (when our lookup returns).
    pub query_ms: Vec<f64>,
    /// Lookups whose first provider came from a node outside the referral tree (expected: none).
    pub untraced: usize,
    pub join_failures: usize,
    pub publish_failures: usize,
    /// Kademlia requests served network-wide while joining, publishing, looking up.
    pub served_join: u64,
    pub served_publish: u64,
    pub served_lookups: u64,
    /// Routing table sizes after setup: smallest and mean.
    pub routing_table_min: usize,
    pub routing_table_mean: f64,
    /// Creating the swarms, joining (or filling the tables), publishing, and all three.
    pub build_secs: f64,
    pub join_secs: f64,
    pub publish_secs: f64,
    pub setup_secs: f64,
    pub lookups_secs: f64,
}

impl SimReport {
    pub fn success_rate(&self) -> f64 {
        if self.lookups == 0 {
            return 0.0;
        }
        self.successes as f64 / self.lookups as f64
    }

    pub fn hops_median(&self) -> Option<u32> {
        percentile(&self.hops, 50.0)
    }

    pub fn hops_p95(&self) -> Option<u32> {
        percentile(&self.hops, 95.0)
    }

    pub fn hops_max(&self) -> Option<u32> {
        self.hops.iter().copied().max()
    }

    /// Hop counts and how often each occurred, e.g. `0:3 1:40 2:150 3:7`.
    pub fn hops_histogram(&self) -> String {
        let mut counts = std::collections::BTreeMap::new();
        for h in &self.hops {
            *counts.entry(*h).or_insert(0usize) += 1;
        }
        counts
            .iter()
            .map(|(h, n)| format!("{h}:{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The benchmark's table, with the definition of hops under it.
    pub fn table(&self) -> String {
        fn show<T: std::fmt::Display>(v: Option<T>) -> String {
            v.map_or_else(|| "-".into(), |v| v.to_string())
        }
        fn ms(v: Option<f64>) -> String {
            v.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
        }
        let join = match self.join {
            Join::Bootstrap => "join",
            Join::Converged => "fill tables",
        };
        let rows = [
            ("nodes", self.nodes.to_string()),
            ("join", format!("{:?}", self.join)),
            ("lookups", self.lookups.to_string()),
            (
                "success",
                format!(
                    "{:.2} % ({}/{})",
                    100.0 * self.success_rate(),
                    self.successes,
                    self.lookups
                ),
            ),
            ("median hops", show(self.hops_median())),
            ("p95 hops", show(self.hops_p95())),
            ("max hops", show(self.hops_max())),
            ("hops histogram (hops:lookups)", self.hops_histogram()),
            (
                "requests to 1st provider (median / p95)",
                format!(
                    "{} / {}",
                    show(percentile(&self.requests, 50.0)),
                    show(percentile(&self.requests, 95.0))
                ),
            ),
            (
                "lookup ms to 1st provider (median / p95)",
                format!(
                    "{} / {}",
                    ms(percentile(&self.lookup_ms, 50.0)),
                    ms(percentile(&self.lookup_ms, 95.0))
                ),
            ),
            (
                "lookup ms to query end (median / p95)",
                format!(
                    "{} / {}",
                    ms(percentile(&self.query_ms, 50.0)),
                    ms(percentile(&self.query_ms, 95.0))
                ),
            ),
            (
                "setup s",
                format!(
                    "{:.1} (build {:.1} + {join} {:.1} + publish {:.1})",
                    self.setup_secs, self.build_secs, self.join_secs, self.publish_secs
                ),
            ),
            ("lookups s", format!("{:.1}", self.lookups_secs)),
            (
                "requests served (join / publish / lookups)",
                format!(
                    "{} / {} / {}",
                    self.served_join, self.served_publish, self.served_lookups
                ),
            ),
            (
                "routing table (min / mean)",
                format!("{} / {:.1}", self.routing_table_min, self.routing_table_mean),
            ),
            (
                "failed joins / publications, untraced",
                format!("{} / {}, {}", self.join_failures, self.publish_failures, self.untraced),
            ),
        ];
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let mut t = String::new();
        for (k, v) in rows {
            let _ = writeln!(t, "{k:<width$}  {v}");
        }
        let _ = writeln!(t, "{HOPS_DEFINITION}");
        let _ = writeln!(
            t,
            "lookup ms: in-process time over the memory transport with {} lookups in flight: \
             CPU work, not network latency.",
            self.lookup_concurrency
        );
        t
    }
}

/// Nearest-rank percentile (`p` in 0..=100); `None` for no values.
pub fn percentile<T: Copy + PartialOrd>(values: &[T], p: f64) -> Option<T> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Builds the network, publishes, looks up, and reports.
pub async fn run(config: SimConfig) -> anyhow::Result<SimReport> {
    if config.nodes < 2 || config.lookups == 0 || config.keys == 0 || config.join_contacts == 0 {
        bail!("need at least 2 nodes, 1 lookup, 1 key and 1 join contact: {config:?}");
    }
    let mut rng = SplitMix64(config.seed);
    let mut report = SimReport {
        nodes: config.nodes,
        lookups: config.lookups,
        join: config.join,
        lookup_concurrency: config.lookup_concurrency.max(1),
        ..Default::default()
    };
    let served = Arc::new(AtomicU64::new(0));

    // Swarms, each listening before any node runs, so the directory is complete and fixed.
    let started = Instant::now();
    let mut swarms = Vec::with_capacity(config.nodes);
    let mut directory = HashMap::with_capacity(config.nodes);
    for _ in 0..config.nodes {
        let mut secret = [0u8; 32];
        rng.fill(&mut secret);
        let mut swarm = build_swarm(Keypair::ed25519_from_bytes(secret)?);
        let addr = listen(&mut swarm).await?;
        // As a relay does with a concrete listen address: provider records then carry it, so
        // that any node holding one can return it (not only nodes that route to the provider).
        swarm.add_external_address(addr.clone());
        directory.insert(*swarm.local_peer_id(), addr);
        swarms.push(swarm);
    }
    report.build_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    if config.join == Join::Converged {
        let peers: Vec<PeerId> = swarms.iter().map(|s| *s.local_peer_id()).collect();
        for (swarm, contacts) in swarms.iter_mut().zip(converged_tables(&peers, &mut rng)) {
            for c in contacts {
                let addr = directory
                    .get(&peers[c])
                    .context("every node is in the directory")?
                    .clone();
                swarm.behaviour_mut().kad.add_address(&peers[c], addr);
            }
        }
    }
    let directory = Arc::new(directory);
    let mut network = Network {
        nodes: Vec::with_capacity(config.nodes),
        tasks: Vec::with_capacity(config.nodes),
    };
    for swarm in swarms {
        let peer = *swarm.local_peer_id();
        let addr = directory.get(&peer).context("every node is in the directory")?.clone();
        let (tx, rx) = mpsc::channel(16);
        let node = Node::new(
            swarm,
            directory.clone(),
            rx,
            served.clone(),
            config.join == Join::Converged,
        );
        network.tasks.push(tokio::spawn(node.run()));
        network.nodes.push(NodeHandle {
            peer,
            addr,
            commands: tx,
        });
    }

    // Joins, in waves that at most double the network.
    let mut joined = if config.join == Join::Bootstrap {
        1
    } else {
        config.nodes
    };
    while joined < config.nodes {
        let wave = joined.min(config.max_join_wave.max(1)).min(config.nodes - joined);
        let joins: Vec<_> = (joined..joined + wave)
            .map(|i| {
                let contacts = rng
                    .distinct(config.join_contacts.min(joined), joined)
                    .into_iter()
                    .map(|c| (network.nodes[c].peer, network.nodes[c].addr.clone()))
                    .collect();
                network.nodes[i].ask(config.setup_timeout, |reply| Command::Join { contacts, reply })
            })
            .collect();
        for result in futures::future::join_all(joins).await {
            if !matches!(result, Ok(true)) {
                report.join_failures += 1;
            }
        }
        joined += wave;
    }
    report.join_secs = started.elapsed().as_secs_f64();
    report.served_join = served.swap(0, Ordering::Relaxed);

    // Publications.
    let started = Instant::now();
    let mut keys = Vec::with_capacity(config.keys);
    for _ in 0..config.keys {
        let mut cid = [0u8; 32];
        rng.fill(&mut cid);
        let key = RecordKey::new(&web_node::file_record::provider_key(&hex::encode(cid)));
        keys.push((key, rng.below(config.nodes)));
    }
    let publications = futures::stream::iter(keys.iter().cloned())
        .map(|(key, publisher)| {
            network.nodes[publisher].ask(config.setup_timeout, |reply| Command::Provide { key, reply })
        })
        .buffer_unordered(config.publish_concurrency.max(1));
    report.publish_failures = publications
        .filter(|r| futures::future::ready(!matches!(r, Ok(true))))
        .count()
        .await;
    report.publish_secs = started.elapsed().as_secs_f64();
    report.setup_secs = report.build_secs + report.join_secs + report.publish_secs;
    report.served_publish = served.swap(0, Ordering::Relaxed);

    let sizes: Vec<usize> = futures::stream::iter(network.nodes.iter())
        .then(|n| n.ask(config.setup_timeout, |reply| Command::RoutingTableSize { reply }))
        .try_collect()
        .await?;
    report.routing_table_min = sizes.iter().copied().min().unwrap_or(0);
    report.routing_table_mean = sizes.iter().sum::<usize>() as f64 / sizes.len() as f64;

    // Lookups, each from a node other than the key's publisher.
    let started = Instant::now();
    let plan: Vec<_> = (0..config.lookups)
        .map(|i| {
            let (key, publisher) = keys[i % keys.len()].clone();
            let mut from = rng.below(config.nodes);
            while from == publisher {
                from = rng.below(config.nodes);
            }
            (key, publisher, from)
        })
        .collect();
    let mut outcomes = futures::stream::iter(plan)
        .map(|(key, publisher, from)| {
            let node = &network.nodes[from];
            let publisher = network.nodes[publisher].peer;
            async move {
                (
                    publisher,
                    node.ask(config.lookup_timeout, |reply| Command::Lookup { key, reply })
                        .await,
                )
            }
        })
        .buffer_unordered(config.lookup_concurrency.max(1));
    while let Some((publisher, outcome)) = outcomes.next().await {
        let Ok(outcome) = outcome else { continue }; // past the deadline: a failure
        report.query_ms.push(outcome.finished_after.as_secs_f64() * 1e3);
        let Some(first) = outcome.first.filter(|_| outcome.providers.contains(&publisher)) else {
            continue;
        };
        report.successes += 1;
        report.requests.push(first.requests);
        report.lookup_ms.push(first.after.as_secs_f64() * 1e3);
        match first.hops {
            Some(h) => report.hops.push(h),
            None => report.untraced += 1,
        }
    }
    report.lookups_secs = started.elapsed().as_secs_f64();
    report.served_lookups = served.swap(0, Ordering::Relaxed);
    Ok(report)
}

/// For each node, the peers a converged routing table holds: for every bucket (the peers at
/// XOR distance [2^i, 2^(i+1)) from it), up to K of them at random; all of them in the near
/// buckets, which hold fewer than K.
fn converged_tables(peers: &[PeerId], rng: &mut SplitMix64) -> Vec<Vec<usize>> {
    let keys: Vec<KBucketKey<PeerId>> = peers.iter().map(|p| KBucketKey::from(*p)).collect();
    let k = kad::K_VALUE.get();
    keys.iter()
        .enumerate()
        .map(|(i, own)| {
            let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); 256];
            for (j, other) in keys.iter().enumerate() {
                if let (true, Some(bucket)) = (i != j, own.distance(other).ilog2()) {
                    buckets[bucket as usize].push(j);
                }
            }
            let mut table = Vec::new();
            for mut bucket in buckets {
                // A partial Fisher-Yates shuffle: the first `k` are a uniform sample.
                let take = bucket.len().min(k);
                for x in 0..take {
                    let y = x + rng.below(bucket.len() - x);
                    bucket.swap(x, y);
                }
                table.extend_from_slice(&bucket[..take]);
            }
            table
        })
        .collect()
}

/// The node handles and their tasks; dropping it stops every node.
struct Network {
    nodes: Vec<NodeHandle>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Network {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

type Kad = kad::Behaviour<MemoryStore>;

fn build_swarm(key: Keypair) -> Swarm<Traced> {
    let peer_id = key.public().to_peer_id();
    let transport = MemoryTransport::default()
        .upgrade(Version::V1)
        .authenticate(plaintext::Config::new(&key))
        .multiplex(yamux::Config::default())
        .timeout(Duration::from_secs(20))
        .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)))
        .boxed();
    let behaviour = Traced {
        kad: relay::p2p::behaviour::kad_behaviour(peer_id, true),
        traces: HashMap::new(),
    };
    // The relay's idle timeout, so that connections live as long as they do there.
    let config = libp2p::swarm::Config::with_tokio_executor().with_idle_connection_timeout(Duration::from_secs(300));
    Swarm::new(transport, behaviour, peer_id, config)
}

/// Listens on a fresh memory port and returns the address.
async fn listen(swarm: &mut Swarm<Traced>) -> anyhow::Result<Multiaddr> {
    swarm.listen_on("/memory/0".parse()?)?;
    let wait = async {
        loop {
            if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
                return address;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .map_err(|_| anyhow!("no memory listen address"))
}

struct NodeHandle {
    peer: PeerId,
    addr: Multiaddr,
    commands: mpsc::Sender<Command>,
}

impl NodeHandle {
    /// Sends a command and waits for its reply, all within `deadline`.
    async fn ask<T>(
        &self,
        deadline: Duration,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> anyhow::Result<T> {
        let (reply, answer) = oneshot::channel();
        let exchange = async {
            self.commands
                .send(command(reply))
                .await
                .map_err(|_| anyhow!("node {} is gone", self.peer))?;
            answer
                .await
                .map_err(|_| anyhow!("node {} dropped the request", self.peer))
        };
        tokio::time::timeout(deadline, exchange)
            .await
            .map_err(|_| anyhow!("node {}: no answer within {deadline:?}", self.peer))?
    }
}

enum Command {
    /// Add and dial the contacts, bootstrap; replies whether the bootstrap query succeeded.
    Join {
        contacts: Vec<(PeerId, Multiaddr)>,
        reply: oneshot::Sender<bool>,
    },
    /// `start_providing`; replies whether the announcement query succeeded.
    Provide {
        key: RecordKey,
        reply: oneshot::Sender<bool>,
    },
    Lookup {
        key: RecordKey,
        reply: oneshot::Sender<LookupOutcome>,
    },
    RoutingTableSize {
        reply: oneshot::Sender<usize>,
    },
}

struct LookupOutcome {
    providers: HashSet<PeerId>,
    first: Option<FirstProvider>,
    finished_after: Duration,
}

struct FirstProvider {
    after: Duration,
    /// `None` when the responder could not be placed in the referral tree.
    hops: Option<u32>,
    requests: u32,
}

struct PendingLookup {
    started: Instant,
    providers: HashSet<PeerId>,
    first: Option<FirstProvider>,
    reply: oneshot::Sender<LookupOutcome>,
}

/// One simulated node: owns its swarm, serves commands, handles Kademlia events.
struct Node {
    swarm: Swarm<Traced>,
    directory: Arc<HashMap<PeerId, Multiaddr>>,
    commands: mpsc::Receiver<Command>,
    /// Inbound Kademlia requests served, shared by all nodes.
    served: Arc<AtomicU64>,
    joins: HashMap<QueryId, oneshot::Sender<bool>>,
    provides: HashMap<QueryId, oneshot::Sender<bool>>,
    lookups: HashMap<QueryId, PendingLookup>,
    /// The bootstrap that [`Join::Converged`] finishes step by step as it starts.
    skipped_bootstrap: Option<QueryId>,
}

impl Node {
    /// `converged`: the routing table is already filled; the automatic bootstrap its filling
    /// scheduled is replaced by one that is finished at once, step by step.
    fn new(
        mut swarm: Swarm<Traced>,
        directory: Arc<HashMap<PeerId, Multiaddr>>,
        commands: mpsc::Receiver<Command>,
        served: Arc<AtomicU64>,
        converged: bool,
    ) -> Self {
        let mut skipped_bootstrap = None;
        if converged {
            // A manual bootstrap cancels the scheduled automatic one.
            if let Ok(id) = swarm.behaviour_mut().kad.bootstrap() {
                finish_query(&mut swarm.behaviour_mut().kad, id);
                skipped_bootstrap = Some(id);
            }
        }
        Self {
            swarm,
            directory,
            commands,
            served,
            joins: HashMap::new(),
            provides: HashMap::new(),
            lookups: HashMap::new(),
            skipped_bootstrap,
        }
    }

    async fn run(mut self) {
        loop {
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(c) => self.on_command(c),
                    None => break, // the simulation is over
                },
                event = self.swarm.select_next_some() => {
                    if let SwarmEvent::Behaviour(event) = event {
                        self.on_kad_event(event);
                    }
                }
            }
        }
    }

    fn kad(&mut self) -> &mut Kad {
        &mut self.swarm.behaviour_mut().kad
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Join { contacts, reply } => {
                for (peer, addr) in contacts {
                    self.kad().add_address(&peer, addr.clone());
                    let opts = DialOpts::peer_id(peer)
                        .addresses(vec![addr])
                        .condition(PeerCondition::DisconnectedAndNotDialing);
                    // A failed dial shows as a failed bootstrap.
                    let _ = self.swarm.dial(opts.build());
                }
                match self.kad().bootstrap() {
                    Ok(id) => {
                        self.joins.insert(id, reply);
                    }
                    Err(_) => {
                        let _ = reply.send(false);
                    }
                }
            }
            Command::Provide { key, reply } => match self.kad().start_providing(key) {
                Ok(id) => {
                    self.provides.insert(id, reply);
                }
                Err(_) => {
                    let _ = reply.send(false);
                }
            },
            Command::Lookup { key, reply } => {
                // The peers kad seeds the query with: the K closest in its routing table.
                let target = KBucketKey::new(key.clone());
                let seed = self
                    .kad()
                    .get_closest_local_peers(&target)
                    .take(kad::K_VALUE.get())
                    .map(|k| *k.preimage())
                    .collect();
                let id = self.kad().get_providers(key);
                self.swarm.behaviour_mut().traces.insert(id, Trace::new(seed));
                let pending = PendingLookup {
                    started: Instant::now(),
                    providers: HashSet::new(),
                    first: None,
                    reply,
                };
                self.lookups.insert(id, pending);
            }
            Command::RoutingTableSize { reply } => {
                let _ = reply.send(self.kad().kbuckets().map(|b| b.num_entries()).sum());
            }
        }
    }

    fn on_kad_event(&mut self, event: kad::Event) {
        if let kad::Event::InboundRequest { .. } = &event {
            self.served.fetch_add(1, Ordering::Relaxed);
        }
        match event {
            // Identify's job in the relay: make an inbound peer routable at its listen address.
            kad::Event::UnroutablePeer { peer } => {
                if let Some(addr) = self.directory.get(&peer).cloned() {
                    self.kad().add_address(&peer, addr);
                }
            }
            kad::Event::InboundRequest {
                request: kad::InboundRequest::AddProvider { record: Some(record) },
            } => {
                // The relay checks the key first; every key here is well-formed. The store's
                // limits (64 providers a key) still apply.
                let _ = self.kad().store_mut().add_provider(record);
            }
            kad::Event::OutboundQueryProgressed {
                id,
                result,
                step,
                stats,
            } => match result {
                QueryResult::Bootstrap(result) => {
                    if self.skipped_bootstrap == Some(id) {
                        // Each finished step starts the next bucket refresh under the same id.
                        if step.last {
                            self.skipped_bootstrap = None;
                        } else {
                            finish_query(self.kad(), id);
                        }
                    }
                    if step.last {
                        if let Some(reply) = self.joins.remove(&id) {
                            let _ = reply.send(result.is_ok());
                        }
                    }
                }
                QueryResult::StartProviding(result) => {
                    if let Some(reply) = self.provides.remove(&id) {
                        let _ = reply.send(result.is_ok());
                    }
                }
                QueryResult::GetProviders(result) => {
                    let first_hops = self
                        .swarm
                        .behaviour()
                        .traces
                        .get(&id)
                        .and_then(|t| t.first_provider_hops);
                    let Some(lookup) = self.lookups.get_mut(&id) else {
                        return;
                    };
                    // Kademlia reports every answer, most with no provider.
                    if let Ok(GetProvidersOk::FoundProviders { providers, .. }) = result {
                        if lookup.first.is_none() && !providers.is_empty() {
                            // No request yet: the providers came from the initiator's own store.
                            let hops = if stats.num_requests() == 0 { Some(0) } else { first_hops };
                            lookup.first = Some(FirstProvider {
                                after: lookup.started.elapsed(),
                                hops,
                                requests: stats.num_requests(),
                            });
                        }
                        lookup.providers.extend(providers);
                    }
                    if step.last {
                        self.swarm.behaviour_mut().traces.remove(&id);
                        if let Some(lookup) = self.lookups.remove(&id) {
                            let outcome = LookupOutcome {
                                providers: lookup.providers,
                                first: lookup.first,
                                finished_after: lookup.started.elapsed(),
                            };
                            let _ = lookup.reply.send(outcome);
                        }
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
}

fn finish_query(kad: &mut Kad, id: QueryId) {
    if let Some(mut query) = kad.query_mut(&id) {
        query.finish();
    }
}

/// The referral tree of one `get_providers` query, as seen in the responses.
struct Trace {
    depth: HashMap<PeerId, u32>,
    provider_seen: bool,
    /// The depth of the first responder that returned providers (`None` if that responder
    /// was outside the tree, which should not happen).
    first_provider_hops: Option<u32>,
}

impl Trace {
    fn new(seed: Vec<PeerId>) -> Self {
        Self {
            depth: seed.into_iter().map(|p| (p, 1)).collect(),
            provider_seen: false,
            first_provider_hops: None,
        }
    }

    /// An answer from `from`: the peers it names are one hop further (kad contacts providers
    /// too, like closer peers).
    fn on_response(&mut self, from: PeerId, closer: &[kad::KadPeer], providers: &[kad::KadPeer]) {
        let hop = self.depth.get(&from).copied();
        if let Some(hop) = hop {
            for peer in closer.iter().chain(providers) {
                self.depth.entry(peer.node_id).or_insert(hop + 1);
            }
        }
        if !providers.is_empty() && !self.provider_seen {
            self.provider_seen = true;
            self.first_provider_hops = hop;
        }
    }
}

/// The relays' Kademlia behaviour, unchanged, with a read-only tap on the responses its
/// connections deliver: kad exposes no per-response event, and the referral tree (who named
/// whom) is what a hop count is. Every call is passed through as is.
struct Traced {
    kad: Kad,
    traces: HashMap<QueryId, Trace>,
}

/// Kademlia's handler event (its type is public but not nameable by path).
type KadHandlerEvent = THandlerOutEvent<Kad>;

impl NetworkBehaviour for Traced {
    type ConnectionHandler = THandler<Kad>;
    type ToSwarm = kad::Event;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.kad
            .handle_pending_inbound_connection(connection_id, local_addr, remote_addr)
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.kad
            .handle_established_inbound_connection(connection_id, peer, local_addr, remote_addr)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        maybe_peer: Option<PeerId>,
        addresses: &[Multiaddr],
        effective_role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        self.kad
            .handle_pending_outbound_connection(connection_id, maybe_peer, addresses, effective_role)
    }

    fn handle_established_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role_override: Endpoint,
        port_use: libp2p::core::transport::PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.kad
            .handle_established_outbound_connection(connection_id, peer, addr, role_override, port_use)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        self.kad.on_swarm_event(event)
    }

    fn on_connection_handler_event(
        &mut self,
        peer_id: PeerId,
        connection_id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        if let KadHandlerEvent::GetProvidersRes {
            closer_peers,
            provider_peers,
            query_id,
        } = &event
        {
            if let Some(trace) = self.traces.get_mut(query_id) {
                trace.on_response(peer_id, closer_peers, provider_peers);
            }
        }
        self.kad.on_connection_handler_event(peer_id, connection_id, event)
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        self.kad.poll(cx)
    }
}

/// A small seeded generator (SplitMix64): reproducible runs without another dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0; the modulo bias is negligible for our sizes).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn fill(&mut self, bytes: &mut [u8]) {
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes()[..chunk.len()]);
        }
    }

    /// `k` distinct values in `0..n` (`k` <= `n`).
    fn distinct(&mut self, k: usize, n: usize) -> Vec<usize> {
        let mut picked = Vec::with_capacity(k);
        while picked.len() < k.min(n) {
            let x = self.below(n);
            if !picked.contains(&x) {
                picked.push(x);
            }
        }
        picked
    }
}
