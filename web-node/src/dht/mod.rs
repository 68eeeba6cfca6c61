//! DHT access shared by the relay (tokio) and the page (wasm): the commands a node's swarm
//! task serves, the [`Handle`] that sends them, and [`queries::Queries`], the bookkeeping
//! that turns Kademlia query events into replies. Each runtime's driver owns its swarm and
//! only routes commands in and events through `Queries`.
//!
//! A lookup is composed from two primitives in [`Handle::lookup`]: the providers of
//! `/chiral/file/CID`, then each provider's signed record, verified and merged.

pub mod queries;

use std::collections::HashSet;

use futures::channel::{mpsc, oneshot};
use futures::SinkExt;
use libp2p::{Multiaddr, PeerId};

use crate::file_record::{self, merge, FileView, RecordError, VerifiedRecord};

/// Our own DHT, apart from IPFS's.
pub const KAD_PROTOCOL: libp2p::StreamProtocol = libp2p::StreamProtocol::new("/chiral/kad/1.0.0");

/// A lookup asks at most this many providers for their records.
pub const MAX_PROVIDERS_ASKED: usize = 32;

/// What a node reports about itself (`GET /api/node`, the page's Network view).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeInfo {
    pub peer_id: String,
    /// Addresses others dial, each ending in `/p2p/<peer_id>`.
    pub multiaddrs: Vec<String>,
    pub connected_peers: usize,
    pub routing_table_size: usize,
    pub stored_records: usize,
}

/// How far a publication reached (a lone relay stores locally only; that is fine).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublishReport {
    pub record_stored_remotely: bool,
    pub provider_announced_remotely: bool,
}

#[derive(Debug)]
pub enum Command {
    GetProviders { key: Vec<u8>, reply: oneshot::Sender<HashSet<PeerId>> },
    GetRecords { key: Vec<u8>, reply: oneshot::Sender<Vec<Vec<u8>>> },
    Publish { provider_key: Vec<u8>, record_key: Vec<u8>, value: Vec<u8>, reply: oneshot::Sender<PublishReport> },
    Info { reply: oneshot::Sender<NodeInfo> },
    Dial { addr: Multiaddr },
}

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DhtError {
    #[error("the p2p node has stopped")]
    Stopped,
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// Talks to a node's swarm task through a bounded channel.
#[derive(Clone, Debug)]
pub struct Handle {
    commands: mpsc::Sender<Command>,
    pub peer_id: PeerId,
}

impl Handle {
    /// A handle and the receiving end for the swarm task (`capacity` bounds queued commands).
    pub fn channel(peer_id: PeerId, capacity: usize) -> (Self, mpsc::Receiver<Command>) {
        let (tx, rx) = mpsc::channel(capacity);
        (Self { commands: tx, peer_id }, rx)
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, DhtError> {
        let (tx, rx) = oneshot::channel();
        self.commands.clone().send(make(tx)).await.map_err(|_| DhtError::Stopped)?;
        rx.await.map_err(|_| DhtError::Stopped)
    }

    pub async fn info(&self) -> Result<NodeInfo, DhtError> {
        self.ask(|reply| Command::Info { reply }).await
    }

    pub async fn dial(&self, addr: Multiaddr) -> Result<(), DhtError> {
        self.commands.clone().send(Command::Dial { addr }).await.map_err(|_| DhtError::Stopped)
    }

    /// Stores our signed record for `cid` and announces us as a provider. The record is
    /// checked first: we never publish what a relay would refuse.
    pub async fn publish(&self, cid: &str, signed: Vec<u8>, now: u64) -> Result<PublishReport, DhtError> {
        let record_key = file_record::record_key(cid, &self.peer_id);
        file_record::verify(&record_key, &signed, now)?;
        self.ask(|reply| Command::Publish { provider_key: file_record::provider_key(cid), record_key, value: signed, reply })
            .await
    }

    /// Every seeder of `cid` the DHT knows, verified and merged; `None` when nobody has it.
    pub async fn lookup(&self, cid: &str, now: u64) -> Result<Option<FileView>, DhtError> {
        Ok(merge(&self.lookup_records(cid, now).await?))
    }

    /// Every provider's newest valid record for `cid`, unmerged: records that disagree
    /// (several Merkle roots) are all here, for [`crate::root_candidates::RootCandidates`].
    pub async fn lookup_records(&self, cid: &str, now: u64) -> Result<Vec<VerifiedRecord>, DhtError> {
        let providers = self.ask(|reply| Command::GetProviders { key: file_record::provider_key(cid), reply }).await?;
        let lookups = providers.into_iter().take(MAX_PROVIDERS_ASKED).map(|peer| async move {
            let key = file_record::record_key(cid, &peer);
            let values = self.ask(|reply| Command::GetRecords { key: key.clone(), reply }).await?;
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
            Ok::<Option<VerifiedRecord>, DhtError>(best)
        });
        let found: Vec<VerifiedRecord> = futures::future::join_all(lookups)
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        Ok(found)
    }
}
