//! The relay's libp2p host: Kademlia (server mode) shared by relays and pages, circuit
//! relay v2, identify, ping, AutoNAT; TCP + QUIC between relays, WebSocket for browsers.
//!
//! One task owns the [`Swarm`] and serves [`Command`]s from a bounded channel; the
//! [`NodeHandle`] turns them into async calls. Lookups are composed in the handle from
//! two primitives (get providers, get records), so the swarm loop stays a plain dispatcher.
//! Records are verified where they enter: on inbound PUTs (a relay never stores a forged
//! record) and again on every lookup (a relay may lie).

mod behaviour;
pub mod identity;
mod swarm_loop;

use std::collections::HashSet;
use std::time::Duration;

use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};
use web_node::file_record::{self, merge, FileView, VerifiedRecord};

pub use behaviour::KAD_PROTOCOL;
pub use swarm_loop::{spawn, NodeConfig};

/// What `GET /api/node` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeInfo {
    pub peer_id: String,
    /// Addresses others dial, each ending in `/p2p/<peer_id>`.
    pub multiaddrs: Vec<String>,
    pub connected_peers: usize,
    pub routing_table_size: usize,
    pub stored_records: usize,
}

#[derive(Debug)]
pub(crate) enum Command {
    GetProviders { key: Vec<u8>, reply: oneshot::Sender<HashSet<PeerId>> },
    GetRecords { key: Vec<u8>, reply: oneshot::Sender<Vec<Vec<u8>>> },
    Publish { provider_key: Vec<u8>, record_key: Vec<u8>, value: Vec<u8>, reply: oneshot::Sender<PublishReport> },
    Info { reply: oneshot::Sender<NodeInfo> },
    Dial { addr: Multiaddr },
}

/// How far a publication reached (a lone relay stores locally only; that is fine).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct PublishReport {
    pub record_stored_remotely: bool,
    pub provider_announced_remotely: bool,
}

#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("the libp2p node has stopped")]
    Stopped,
    #[error("{0}")]
    Record(#[from] file_record::RecordError),
}

#[derive(Clone)]
pub struct NodeHandle {
    pub(crate) commands: mpsc::Sender<Command>,
    pub peer_id: PeerId,
}

impl NodeHandle {
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, NodeError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }

    pub async fn info(&self) -> Result<NodeInfo, NodeError> {
        self.ask(|reply| Command::Info { reply }).await
    }

    pub async fn dial(&self, addr: Multiaddr) -> Result<(), NodeError> {
        self.commands.send(Command::Dial { addr }).await.map_err(|_| NodeError::Stopped)
    }

    /// Stores our signed record for `cid` and announces us as its provider.
    pub async fn publish(&self, cid: &str, signed: Vec<u8>) -> Result<PublishReport, NodeError> {
        let record_key = file_record::record_key(cid, &self.peer_id);
        // Never publish what we would refuse to store.
        file_record::verify(&record_key, &signed, now_secs())?;
        self.ask(|reply| Command::Publish { provider_key: file_record::provider_key(cid), record_key, value: signed, reply })
            .await
    }

    /// Finds every seeder of `cid`: providers first, then each provider's signed record.
    /// Invalid records are dropped (and logged); `None` when nobody has the file.
    pub async fn lookup(&self, cid: &str) -> Result<Option<FileView>, NodeError> {
        let providers = self.ask(|reply| Command::GetProviders { key: file_record::provider_key(cid), reply }).await?;
        let lookups = providers.into_iter().take(32).map(|peer| async move {
            let key = file_record::record_key(cid, &peer);
            let values = self.ask(|reply| Command::GetRecords { key: key.clone(), reply }).await?;
            let now = now_secs();
            let best = values
                .iter()
                .filter_map(|v| match file_record::verify(&key, v, now) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        tracing::warn!(%peer, error = %e, "dropping an invalid record from the DHT");
                        None
                    }
                })
                .max_by_key(|r| r.record.published_at);
            Ok::<Option<VerifiedRecord>, NodeError>(best)
        });
        let found: Vec<VerifiedRecord> = futures::future::join_all(lookups)
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        Ok(merge(&found))
    }
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// How often a seeder refreshes its records (well inside their lifetime).
pub const REPUBLISH_EVERY: Duration = Duration::from_secs(file_record::DEFAULT_TTL_SECS / 3);
