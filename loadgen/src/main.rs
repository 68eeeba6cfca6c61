//! `chiral-loadgen`: loads a WebTorrent WebSocket tracker (ours or `bittorrent-tracker`) with
//! simulated browser peers, and a relay's `/file/CID/chunk/N` with open-loop HTTP clients, and
//! prints what it measured as one JSON object on stdout (progress goes to stderr).
//!
//! ```text
//! chiral-loadgen hold  --url ws://127.0.0.1:P/announce --peers 10000 --swarms 100 --server-pid PID
//!                      [--chunk-base http://127.0.0.1:P --chunk-cid CID --chunks 64]
//! chiral-loadgen churn --url ws://127.0.0.1:P/announce --seconds 180 --server-pid PID
//! ```

mod churn;
mod http_load;
mod peer;
mod stats;
mod sys;
mod wire;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;

use crate::peer::Shared;
use crate::stats::Counters;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Connect PEERS peers, hold them for a while (re-announcing), optionally with chunk load.
    Hold(HoldArgs),
    /// Peers connect, announce and vanish, over and over.
    Churn(ChurnArgs),
}

#[derive(Args)]
struct Common {
    /// The tracker, e.g. ws://127.0.0.1:8000/announce
    #[arg(long)]
    url: String,
    /// The server's pid, to read its RSS.
    #[arg(long)]
    server_pid: u32,
    /// Swarms (info hashes) the peers spread over.
    #[arg(long, default_value_t = 100)]
    swarms: usize,
    /// WebRTC offers per announce (WebTorrent sends 5).
    #[arg(long, default_value_t = 5)]
    offers: usize,
    /// Seed of every random choice, so each server gets the same load.
    #[arg(long, default_value_t = 13)]
    seed: u64,
}

#[derive(Args)]
struct HoldArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, default_value_t = 10_000)]
    peers: usize,
    /// Seconds between a peer's announces.
    #[arg(long, default_value_t = 30)]
    reannounce_secs: u64,
    /// Seconds to hold every peer once all are connected (the measured phase).
    #[arg(long, default_value_t = 40)]
    hold_secs: u64,
    /// Connects in flight at once (handshake until the first reply).
    #[arg(long, default_value_t = 256)]
    connect_concurrency: usize,
    /// With these, chunk requests run after the hold phase, the peers still connected.
    #[arg(long)]
    chunk_base: Option<String>,
    #[arg(long)]
    chunk_cid: Option<String>,
    #[arg(long, default_value_t = 64)]
    chunks: u64,
    #[arg(long, default_value_t = 262_144)]
    chunk_bytes: u64,
    #[arg(long, default_value_t = 1000)]
    chunk_rate: u64,
    #[arg(long, default_value_t = 20)]
    chunk_secs: u64,
}

#[derive(Args)]
struct ChurnArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, default_value_t = 180)]
    seconds: u64,
    /// Peers churning at once.
    #[arg(long, default_value_t = 500)]
    workers: usize,
    /// A peer stays up to this long (ms) after its reply before it vanishes.
    #[arg(long, default_value_t = 2000)]
    linger_ms: u64,
}

fn shared(c: &Common, reannounce: Duration, concurrency: usize) -> anyhow::Result<Arc<Shared>> {
    let rest = c.url.strip_prefix("ws://").context("--url must be ws://HOST:PORT/…")?;
    let addr = rest.split('/').next().unwrap_or(rest).to_owned();
    Ok(Arc::new(Shared {
        url: c.url.clone(),
        addr,
        offers: c.offers,
        reannounce,
        counters: Counters::default(),
        ramp_latency: Default::default(),
        hold_latency: Default::default(),
        holding: AtomicBool::new(false),
        connecting: Semaphore::new(concurrency),
    }))
}

fn swarms(c: &Common) -> Arc<Vec<wire::Id20>> {
    let mut rng = wire::Rng::new(c.seed);
    Arc::new((0..c.swarms.max(1)).map(|_| rng.id()).collect())
}

fn rss(pid: u32) -> anyhow::Result<u64> {
    sys::rss_kib(pid).with_context(|| format!("cannot read the RSS of pid {pid}: is the server running?"))
}

async fn hold(a: HoldArgs) -> anyhow::Result<Value> {
    let c = &a.common;
    let shared = shared(c, Duration::from_secs(a.reannounce_secs.max(1)), a.connect_concurrency.max(1))?;
    let swarms = swarms(c);
    let rss_before = rss(c.server_pid)?;
    let (stop, stop_rx) = watch::channel(false);
    let start = Instant::now();
    let mut peers = tokio::task::JoinSet::new();
    for i in 0..a.peers {
        let seed = c.seed.wrapping_mul(1_000_003).wrapping_add(i as u64);
        peers.spawn(peer::run(shared.clone(), seed, swarms[i % swarms.len()], stop_rx.clone()));
    }
    let counters = &shared.counters;
    while (Counters::get(&counters.settled) as usize) < a.peers && start.elapsed() < Duration::from_secs(300) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ramp_secs = start.elapsed().as_secs_f64();
    eprintln!("loadgen: {} peers ready in {ramp_secs:.1}s; holding {}s", Counters::get(&counters.ready), a.hold_secs);
    shared.holding.store(true, Ordering::Relaxed);
    let ramp = counters.snapshot();
    let held_from = Instant::now();
    let mut rss_peak = 0;
    for _ in 0..a.hold_secs {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss_peak = rss_peak.max(rss(c.server_pid)?);
    }
    let hold_secs = held_from.elapsed().as_secs_f64();
    let rss_with = rss(c.server_pid)?;
    let held = Counters::get(&counters.connected);
    let during = counters.snapshot().since(&ramp);
    let hold_latency = shared.hold_latency.take();
    let mut chunk = Value::Null;
    if let (Some(base), Some(cid)) = (a.chunk_base.clone(), a.chunk_cid.clone()) {
        eprintln!("loadgen: {} chunk requests/s for {}s", a.chunk_rate, a.chunk_secs);
        let before = counters.snapshot();
        let load = http_load::ChunkLoad { base, cid, chunks: a.chunks, chunk_bytes: a.chunk_bytes, rate: a.chunk_rate, duration: Duration::from_secs(a.chunk_secs) };
        let report = http_load::run(load).await;
        let mut v = report.json();
        v["peers_held"] = json!(Counters::get(&counters.connected));
        v["tracker"] = counters.snapshot().since(&before).json();
        v["announce_latency"] = shared.hold_latency.take().json();
        chunk = v;
    }
    let _ = stop.send(true);
    while peers.join_next().await.is_some() {}
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = rss(c.server_pid)?;
    let per_peer = (rss_with.saturating_sub(rss_before) as f64 * 1024.0) / held.max(1) as f64;
    Ok(json!({
        "peers": a.peers, "peers_held": held, "ramp_secs": ramp_secs, "hold_secs": hold_secs,
        "announces_per_sec": during.replies as f64 / hold_secs,
        "offers_forwarded_per_sec": during.offers_received as f64 / hold_secs,
        "hold": during.json(), "total": counters.snapshot().json(),
        "errors": counters.snapshot().errors(),
        "announce_latency": hold_latency.json(), "ramp_announce_latency": shared.ramp_latency.take().json(),
        "rss_kib": { "before": rss_before, "with_peers": rss_with, "peak": rss_peak, "after": rss_after },
        "rss_bytes_per_peer": per_peer,
        "chunks": chunk,
    }))
}

async fn churn(a: ChurnArgs) -> anyhow::Result<Value> {
    let c = &a.common;
    let shared = shared(c, Duration::from_secs(3600), usize::MAX >> 4)?;
    let swarms = swarms(c);
    let rss_before = rss(c.server_pid)?;
    let counters = Arc::new(churn::ChurnCounters::default());
    let start = Instant::now();
    let until = start + Duration::from_secs(a.seconds);
    let mut workers = tokio::task::JoinSet::new();
    for i in 0..a.workers {
        let seed = c.seed.wrapping_mul(7_000_003).wrapping_add(i as u64);
        workers.spawn(churn::worker(shared.clone(), counters.clone(), seed, swarms.clone(), Duration::from_millis(a.linger_ms), until));
    }
    let (mut peak, mut samples) = (0, Vec::new());
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let r = rss(c.server_pid)?;
        peak = peak.max(r);
        samples.push(r);
    }
    while workers.join_next().await.is_some() {}
    let rss_end = rss(c.server_pid)?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_after = rss(c.server_pid)?;
    // "During": the last third of the run, when the churn has reached its steady state.
    let tail = &samples[samples.len() * 2 / 3..];
    let during = if tail.is_empty() { rss_end } else { tail.iter().sum::<u64>() / tail.len() as u64 };
    let cycles = Counters::get(&counters.cycles);
    let secs = start.elapsed().as_secs_f64();
    Ok(json!({
        "seconds": secs, "workers": a.workers, "cycles": cycles, "cycles_per_sec": cycles as f64 / secs,
        "errors": counters.errors(),
        "answers_to_departed_peers": Counters::get(&shared.counters.failures),
        "error_kinds": { "connect": Counters::get(&counters.connect_errors), "timeout": Counters::get(&counters.timeouts),
                         "closed": Counters::get(&counters.closed), "failure": Counters::get(&counters.failures) },
        "announce_latency": shared.ramp_latency.take().json(),
        "rss_kib": { "before": rss_before, "during": during, "peak": peak, "end": rss_end, "after": rss_after },
    }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match sys::raise_nofile() {
        Ok(n) => eprintln!("loadgen: RLIMIT_NOFILE {n}"),
        Err(e) => eprintln!("loadgen: cannot raise RLIMIT_NOFILE: {e}"),
    }
    let report = match cli.mode {
        Mode::Hold(a) => hold(a).await?,
        Mode::Churn(a) => churn(a).await?,
    };
    println!("{report}");
    Ok(())
}
