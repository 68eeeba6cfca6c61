//! One simulated WebTorrent peer on a WebSocket tracker: it connects, announces with offers,
//! answers the offers forwarded to it, re-announces every `reannounce`, and times each
//! announce until the tracker's reply (the message with our `info_hash` and an `interval`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::stats::{Counters, Latencies};
use crate::wire::{self, Id20, Incoming, Rng};

/// What every peer of a run shares.
#[derive(Debug)]
pub struct Shared {
    pub url: String,
    pub addr: String,
    pub offers: usize,
    pub reannounce: Duration,
    pub counters: Counters,
    /// Announce latency while peers connect, and once all are connected.
    pub ramp_latency: Latencies,
    pub hold_latency: Latencies,
    pub holding: AtomicBool,
    /// Bounds the connects in flight (handshake + first reply).
    pub connecting: Semaphore,
}

impl Shared {
    fn latency(&self) -> &Latencies {
        if self.holding.load(Ordering::Relaxed) { &self.hold_latency } else { &self.ramp_latency }
    }
}

pub type Ws = WebSocketStream<TcpStream>;

/// A small client read buffer: 10,000 of tungstenite's default 128 KiB would be 1.3 GB here.
/// `abort_on_drop`: dropping the socket resets it (SO_LINGER 0): a peer that vanishes, and
/// no TIME_WAIT left on the generator's ports.
pub async fn connect(shared: &Shared, abort_on_drop: bool) -> anyhow::Result<Ws> {
    let tcp = TcpStream::connect(&shared.addr).await?;
    tcp.set_nodelay(true)?;
    if abort_on_drop {
        #[allow(deprecated)]
        tcp.set_linger(Some(Duration::ZERO))?;
    }
    let config = WebSocketConfig::default().read_buffer_size(8 * 1024).write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::client_async_with_config(shared.url.as_str(), tcp, Some(config)).await?;
    Ok(ws)
}

/// Runs one peer until `stop` changes (or the server drops it).
pub async fn run(shared: Arc<Shared>, seed: u64, info_hash: Id20, mut stop: watch::Receiver<bool>) {
    let mut rng = Rng::new(seed);
    let peer_id = wire::peer_id(&mut rng);
    let permit = shared.connecting.acquire().await;
    let mut ws = match tokio::time::timeout(Duration::from_secs(30), connect(&shared, false)).await {
        Ok(Ok(ws)) => ws,
        _ => {
            Counters::add(&shared.counters.connect_errors);
            Counters::add(&shared.counters.settled);
            return;
        }
    };
    let c = &shared.counters;
    c.connected.fetch_add(1, Ordering::Relaxed);
    let mut permit = Some(permit);
    let mut pending: Option<Instant> = None;
    let mut ready = false;
    // The first re-announce at a random phase, so announces spread evenly over the interval.
    let period = shared.reannounce.as_millis().max(1) as u64;
    let mut next = Instant::now() + Duration::from_millis(period / 2 + rng.below(period));
    let mut event = Some("started");
    let mut send_now = true;
    let mut stopped = false;
    loop {
        if send_now {
            send_now = false;
            if pending.is_some() {
                Counters::add(&c.missed_replies);
            }
            let text = wire::announce(&mut rng, &info_hash, &peer_id, event.take(), shared.offers);
            pending = Some(Instant::now());
            Counters::add(&c.announces);
            if ws.send(Message::Text(text.into())).await.is_err() {
                break;
            }
        }
        tokio::select! {
            msg = ws.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                };
                match wire::classify(&text, &info_hash) {
                    Incoming::Reply => {
                        if let Some(sent) = pending.take() {
                            shared.latency().record(sent.elapsed());
                        }
                        Counters::add(&c.replies);
                        if !ready {
                            ready = true;
                            permit.take();
                            Counters::add(&c.ready);
                            Counters::add(&c.settled);
                        }
                    }
                    Incoming::Offer { peer_id: from, offer_id } => {
                        Counters::add(&c.offers_received);
                        let text = wire::answer(&mut rng, &info_hash, &peer_id, &from, &offer_id);
                        if ws.send(Message::Text(text.into())).await.is_err() {
                            break;
                        }
                        Counters::add(&c.answers_sent);
                    }
                    Incoming::Answer => Counters::add(&c.answers_received),
                    Incoming::Failure(reason) => {
                        Counters::add(&c.failures);
                        tracing_failure(&reason);
                    }
                    Incoming::Other => {}
                }
            }
            _ = tokio::time::sleep_until(next) => {
                next += shared.reannounce;
                send_now = true;
            }
            _ = stop.changed() => { stopped = true; break }
        }
    }
    if !stopped {
        Counters::add(&c.dropped);
    }
    if !ready {
        Counters::add(&c.settled);
    }
    c.connected.fetch_sub(1, Ordering::Relaxed);
}

fn tracing_failure(reason: &str) {
    static ONCE: AtomicBool = AtomicBool::new(false);
    if !ONCE.swap(true, Ordering::Relaxed) {
        eprintln!("loadgen: tracker failure: {reason}");
    }
}
