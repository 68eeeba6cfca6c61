//! Downloading a file from eD2k sources: one task per source drives a
//! [`DownloadSession`]; a shared [`PartPlan`] gives each source whole parts, and every
//! part is re-read from disk and checked against the hashset (itself checked against the
//! ed2k hash) as soon as its last byte lands. A source whose part fails is dropped, its
//! part fetched again from another; a source that goes silent or away hands its part on.
//! Bytes are written where they belong (`pwrite`), never held whole in memory.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, Notify};
use web_node::ed2k::{hashset_len, part_range, Ed2kHasher};
use web_node::ed2k_wire::download::{DownloadOutput, DownloadSession, PartPlan};
use web_node::ed2k_wire::{Decoder, Identity};

const CONNECT: Duration = Duration::from_secs(10);
/// A source silent this long mid-transfer is dropped and its part handed on; one that has
/// us in its queue may take longer to give us a slot.
const SILENCE: Duration = Duration::from_secs(60);
const QUEUED_SILENCE: Duration = Duration::from_secs(600);
/// Three blocks asked must all arrive within this (about 4.6 kB/s): a source trickling
/// bytes to keep its part is dropped and the part handed on.
const BLOCKS_DEADLINE: Duration = Duration::from_secs(120);
/// A write the source does not take in this long drops it.
const WRITE: Duration = Duration::from_secs(60);
/// Sources tried at once.
pub const MAX_SOURCES: usize = 16;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("no source delivered the whole file: {0}")]
    Sources(String),
    #[error("cannot write the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("no sources to ask")]
    NoSources,
    #[error("an empty file is not fetched")]
    Empty,
}

/// What a fetch did: bytes verified, and the sources dropped for sending bad data.
#[derive(Debug, Default, Clone)]
pub struct FetchReport {
    pub verified: u64,
    pub liars: Vec<SocketAddr>,
    /// Bytes each source delivered in parts that verified.
    pub delivered: Vec<(SocketAddr, u64)>,
}

struct Shared {
    plan: PartPlan,
    hashset: Option<Vec<[u8; 16]>>,
    liars: Vec<SocketAddr>,
    delivered: std::collections::HashMap<usize, u64>,
    errors: Vec<String>,
}

/// Fetches `size` bytes of ed2k `hash` from `sources` into `out` (created or truncated).
/// `progress` gets the verified byte count after each part.
pub async fn fetch(me: Identity, hash: [u8; 16], size: u64, sources: Vec<SocketAddr>, out: &Path, progress: impl Fn(u64) + Send + Sync + 'static) -> Result<FetchReport, FetchError> {
    if sources.is_empty() {
        return Err(FetchError::NoSources);
    }
    if size == 0 {
        return Err(FetchError::Empty);
    }
    let file = std::fs::OpenOptions::new().create(true).write(true).read(true).truncate(true).open(out)?;
    file.set_len(size)?;
    let file = Arc::new(file);
    let hashset = (hashset_len(size) == 1).then(|| vec![hash]);
    let shared = Arc::new(Mutex::new(Shared { plan: PartPlan::new(size), hashset, liars: Vec::new(), delivered: Default::default(), errors: Vec::new() }));
    let wake = Arc::new(Notify::new());
    let progress = Arc::new(progress);
    let sources: Vec<SocketAddr> = sources.into_iter().collect::<HashSet<_>>().into_iter().take(MAX_SOURCES).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, &addr) in sources.iter().enumerate() {
        let (me, shared, wake, file, progress) = (me.clone(), shared.clone(), wake.clone(), file.clone(), progress.clone());
        tasks.spawn(async move {
                let result = source(me, n as u64, addr, hash, size, &shared, &wake, &file, &*progress).await;
                let mut s = shared.lock().await;
                s.plan.source_gone(n as u64);
                if let Err(e) = result {
                    tracing::info!(%addr, "ed2k source dropped: {e}");
                    s.errors.push(format!("{addr}: {e}"));
                }
                drop(s);
                wake.notify_waiters();
            });
    }
    // Once every part is verified, sources still connecting or queued are not waited for.
    while tasks.join_next().await.is_some() {
        if shared.lock().await.plan.done() {
            tasks.abort_all();
        }
    }
    let s = shared.lock().await;
    if !s.plan.done() {
        return Err(FetchError::Sources(s.errors.join("; ")));
    }
    file.sync_data()?;
    let delivered = s.delivered.iter().map(|(n, b)| (sources[*n], *b)).collect();
    Ok(FetchReport { verified: size, liars: s.liars.clone(), delivered })
}

/// Re-reads part `part` from disk (1 MiB at a time) and compares its MD4 to `expected`.
fn check_part(file: &std::fs::File, size: u64, part: usize, expected: &[u8; 16]) -> std::io::Result<bool> {
    let (start, end) = part_range(size, part as u64);
    let mut md4 = Ed2kHasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = start;
    while at < end {
        let n = ((end - at) as usize).min(buf.len());
        file.read_exact_at(&mut buf[..n], at)?;
        md4.update(&buf[..n]);
        at += n as u64;
    }
    // One part's bytes: the hasher's single-part hash is that part's MD4.
    Ok(md4.finalize_hashset().first() == Some(expected))
}

async fn send(stream: &mut TcpStream, p: &web_node::ed2k_wire::Packet) -> anyhow::Result<()> {
    tokio::time::timeout(WRITE, stream.write_all(&p.encode())).await.map_err(|_| anyhow::anyhow!("took nothing for {WRITE:?}"))??;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn source(me: Identity, n: u64, addr: SocketAddr, hash: [u8; 16], size: u64, shared: &Mutex<Shared>, wake: &Notify, file: &Arc<std::fs::File>, progress: &(dyn Fn(u64) + Send + Sync)) -> anyhow::Result<()> {
    let mut stream = tokio::time::timeout(CONNECT, TcpStream::connect(addr)).await.map_err(|_| anyhow::anyhow!("no connection in {CONNECT:?}"))??;
    let _ = stream.set_nodelay(true);
    let known = shared.lock().await.hashset.is_some();
    let mut session = DownloadSession::new(me, hash, size, known);
    let mut dec = Decoder::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut idle = false;
    let mut queued = false;
    let mut blocks_due: Option<tokio::time::Instant> = None;
    loop {
        while let Some(o) = session.poll() {
            match o {
                DownloadOutput::Send(p) => send(&mut stream, &p).await?,
                DownloadOutput::Hashset(parts) => {
                    let mut s = shared.lock().await;
                    if s.hashset.is_none() {
                        s.hashset = Some(parts);
                    }
                }
                DownloadOutput::Queued(rank) => {
                    queued = true;
                    tracing::debug!(%addr, rank, "ed2k: queued");
                }
                DownloadOutput::Requeued => {
                    queued = true;
                    blocks_due = None;
                    shared.lock().await.plan.rewind(n);
                }
                DownloadOutput::Ready | DownloadOutput::BlocksDone => {
                    queued = false;
                    let blocks = shared.lock().await.plan.next_blocks(n, 3, &[]);
                    idle = blocks.is_empty();
                    if idle && shared.lock().await.plan.done() {
                        return Ok(());
                    }
                    blocks_due = (!idle).then(|| tokio::time::Instant::now() + BLOCKS_DEADLINE);
                    session.request(&blocks);
                }
                DownloadOutput::Data { start, data } => {
                    file.write_all_at(&data, start)?;
                    crate::metrics::bytes("ed2k", crate::metrics::Direction::In, data.len() as u64);
                    let (part, expected) = {
                        let mut s = shared.lock().await;
                        match s.plan.received(n, start, data.len() as u64) {
                            Some(part) => (part, s.hashset.as_ref().and_then(|h| h.get(part)).copied()),
                            None => continue,
                        }
                    };
                    // The part is ours and Checking: the check runs off the runtime, unlocked.
                    let expected = expected.ok_or_else(|| anyhow::anyhow!("no hashset"))?;
                    let f = file.clone();
                    let ok = tokio::task::spawn_blocking(move || check_part(&f, size, part, &expected)).await??;
                    let mut s = shared.lock().await;
                    {
                        if let Some(liar) = s.plan.verdict(part, ok) {
                            debug_assert_eq!(liar, n);
                            s.liars.push(addr);
                            drop(s);
                            wake.notify_waiters();
                            anyhow::bail!("part {part} failed its MD4: dropped, never paid");
                        }
                        let (ps, pe) = part_range(size, part as u64);
                        *s.delivered.entry(n as usize).or_default() += pe - ps;
                        let verified: u64 = s.plan.verified_parts().map(|(a, b)| b - a).sum();
                        progress(verified);
                    }
                }
            }
        }
        if idle {
            // Nothing to ask now: wait until a part is handed back (or all are done).
            if shared.lock().await.plan.done() {
                return Ok(());
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            let blocks = shared.lock().await.plan.next_blocks(n, 3, &[]);
            if !blocks.is_empty() {
                idle = false;
                blocks_due = Some(tokio::time::Instant::now() + BLOCKS_DEADLINE);
                session.request(&blocks);
            }
            continue;
        }
        if blocks_due.is_some_and(|due| tokio::time::Instant::now() >= due) {
            anyhow::bail!("sent less than three blocks in {BLOCKS_DEADLINE:?}");
        }
        let wait = if queued { QUEUED_SILENCE } else { SILENCE };
        let wait = blocks_due.map_or(wait, |due| wait.min(due.saturating_duration_since(tokio::time::Instant::now()) + Duration::from_millis(1)));
        let read = tokio::time::timeout(wait, stream.read(&mut buf)).await.map_err(|_| anyhow::anyhow!("silent for {wait:?}"))??;
        if read == 0 {
            anyhow::bail!("closed the connection");
        }
        dec.push(&buf[..read]);
        while let Some(p) = dec.next_packet()? {
            session.on_packet(&p)?;
        }
    }
}
