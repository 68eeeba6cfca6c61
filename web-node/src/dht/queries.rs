//! Bookkeeping of in-flight Kademlia queries: which reply waits for which query, what has
//! been gathered so far, and when it is complete. No IO: the driver passes the behaviour
//! in and routes `kad::Event`s through [`Queries::on_kad_event`].

use std::collections::{HashMap, HashSet};

use futures::channel::oneshot;
use libp2p::kad::{self, store::MemoryStore, GetProvidersOk, GetRecordOk, QueryId, QueryResult, Quorum, Record, RecordKey};
use libp2p::PeerId;

use super::{Command, PublishReport};

/// At most this many values are gathered per record lookup (bounds a lying network).
pub const MAX_VALUES_PER_KEY: usize = 16;
pub const MAX_PROVIDERS_PER_KEY: usize = 64;

enum Part {
    Record,
    Provider,
}

struct Publish {
    report: PublishReport,
    remaining: u8,
    reply: oneshot::Sender<PublishReport>,
}

#[derive(Default)]
pub struct Queries {
    providers: HashMap<QueryId, (HashSet<PeerId>, oneshot::Sender<HashSet<PeerId>>)>,
    records: HashMap<QueryId, (Vec<Vec<u8>>, oneshot::Sender<Vec<Vec<u8>>>)>,
    publish_parts: HashMap<QueryId, (u64, Part)>,
    publishes: HashMap<u64, Publish>,
    next_publish: u64,
}

type Kad = kad::Behaviour<MemoryStore>;

impl Queries {
    /// Starts the queries for a DHT command. `Info` and `Dial` are the driver's own and
    /// are handed back.
    pub fn start(&mut self, kad: &mut Kad, command: Command, record_expires: Option<web_time::Instant>) -> Option<Command> {
        match command {
            Command::GetProviders { key, reply } => {
                let id = kad.get_providers(RecordKey::new(&key));
                self.providers.insert(id, (HashSet::new(), reply));
            }
            Command::GetRecords { key, reply } => {
                let id = kad.get_record(RecordKey::new(&key));
                self.records.insert(id, (Vec::new(), reply));
            }
            Command::Publish { provider_key, record_key, value, reply } => {
                let publish = self.next_publish;
                self.next_publish += 1;
                let mut record = Record::new(RecordKey::new(&record_key), value);
                record.expires = record_expires;
                let mut remaining = 0;
                match kad.put_record(record, Quorum::One) {
                    Ok(id) => {
                        self.publish_parts.insert(id, (publish, Part::Record));
                        remaining += 1;
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot store our own record"),
                }
                match kad.start_providing(RecordKey::new(&provider_key)) {
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
            other => return Some(other),
        }
        None
    }

    /// Consumes the query progress events; returns every other event to the driver.
    pub fn on_kad_event(&mut self, kad: &mut Kad, event: kad::Event) -> Option<kad::Event> {
        let kad::Event::OutboundQueryProgressed { id, result, step, .. } = event else {
            return Some(event);
        };
        match result {
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
                    if let Some(mut q) = kad.query_mut(&id) {
                        q.finish();
                    }
                }
            }
            QueryResult::PutRecord(result) => self.publish_part_done(id, result.is_ok()),
            QueryResult::StartProviding(result) => self.publish_part_done(id, result.is_ok()),
            QueryResult::Bootstrap(result) => tracing::debug!(?result, "bootstrap step"),
            _ => {}
        }
        None
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
}
