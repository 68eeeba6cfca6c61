//! Churn: `workers` peers at a time connect, announce (with offers), wait for the reply,
//! linger up to `linger`, answering offers, then vanish (the socket is dropped, no close
//! frame), over and over until `until`.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::peer::{connect, Shared};
use crate::stats::Counters;
use crate::wire::{self, Id20, Incoming, Rng};

#[derive(Debug, Default)]
pub struct ChurnCounters {
    pub cycles: AtomicU64,
    /// Visits that failed, by what failed.
    pub connect_errors: AtomicU64,
    pub timeouts: AtomicU64,
    pub closed: AtomicU64,
    pub failures: AtomicU64,
}

impl ChurnCounters {
    pub fn errors(&self) -> u64 {
        [&self.connect_errors, &self.timeouts, &self.closed, &self.failures].iter().map(|c| Counters::get(c)).sum()
    }
}

/// How a visit failed.
#[derive(Debug)]
enum VisitError {
    Connect,
    Closed,
    Failure,
}

pub async fn worker(shared: Arc<Shared>, churn: Arc<ChurnCounters>, seed: u64, swarms: Arc<Vec<Id20>>, linger: Duration, until: Instant) {
    let mut rng = Rng::new(seed);
    while Instant::now() < until {
        let info_hash = swarms[rng.below(swarms.len() as u64) as usize];
        let visit = tokio::time::timeout(Duration::from_secs(10), one_visit(&shared, &mut rng, info_hash, linger)).await;
        let failed = match visit {
            Ok(Ok(())) => None,
            Ok(Err(VisitError::Connect)) => Some(&churn.connect_errors),
            Ok(Err(VisitError::Closed)) => Some(&churn.closed),
            Ok(Err(VisitError::Failure)) => Some(&churn.failures),
            Err(_) => Some(&churn.timeouts),
        };
        if let Some(counter) = failed {
            Counters::add(counter);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Counters::add(&churn.cycles);
    }
}

async fn one_visit(shared: &Shared, rng: &mut Rng, info_hash: Id20, linger: Duration) -> Result<(), VisitError> {
    let peer_id = wire::peer_id(rng);
    let mut ws = connect(shared, true).await.map_err(|_| VisitError::Connect)?;
    let sent = Instant::now();
    let text = wire::announce(rng, &info_hash, &peer_id, Some("started"), shared.offers);
    ws.send(Message::Text(text.into())).await.map_err(|_| VisitError::Closed)?;
    let leave = sent + Duration::from_millis(rng.below(linger.as_millis().max(1) as u64));
    let mut replied = false;
    loop {
        let msg = tokio::select! {
            m = ws.next() => m,
            _ = tokio::time::sleep_until(leave), if replied => return Ok(()),
        };
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(_)) => continue,
            _ => return Err(VisitError::Closed),
        };
        match wire::classify(&text, &info_hash) {
            Incoming::Reply if !replied => {
                replied = true;
                shared.ramp_latency.record(sent.elapsed());
            }
            Incoming::Offer { peer_id: from, offer_id } => {
                let text = wire::answer(rng, &info_hash, &peer_id, &from, &offer_id);
                ws.send(Message::Text(text.into())).await.map_err(|_| VisitError::Closed)?;
            }
            // Our answer went to a peer that has vanished meanwhile: churn, not an error.
            Incoming::Failure(reason) if reason.contains("to_peer_id") => Counters::add(&shared.counters.failures),
            Incoming::Failure(_) => return Err(VisitError::Failure),
            _ => {}
        }
    }
}
