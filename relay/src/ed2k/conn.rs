//! One inbound eD2k connection. Its first packet decides what it is: a hello starts an
//! uploading session ([`UploadSession`]), a login a server session ([`ServerSession`]).
//! Bounded: 15 s for the first packet, 2 minutes of silence after, one range read at a
//! time (at most two 180 KiB blocks), slots from the service's pool.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use web_node::ed2k_wire::message::op;
use web_node::ed2k_wire::packet::PROTO_EDONKEY;
use web_node::ed2k_wire::server::{ServerAction, ServerSession};
use web_node::ed2k_wire::upload::{UploadOutput, UploadSession};
use web_node::ed2k_wire::{Decoder, Packet, ServerMsg};

use super::Ed2kService;

const FIRST_PACKET: Duration = Duration::from_secs(15);
const IDLE: Duration = Duration::from_secs(120);
/// A client that logged into the relay as its server may stay this long without a word.
const SERVER_IDLE: Duration = Duration::from_secs(30 * 60);
/// A write the peer does not take in this long ends the connection.
const WRITE: Duration = Duration::from_secs(60);
/// A peer holding an upload slot that asks for nothing this long loses it (and the connection).
const SLOT_IDLE: Duration = Duration::from_secs(60);
/// A peer holding a slot that asked for nothing this long is nudged ([`UploadSession::nudge`]).
const NUDGE: Duration = Duration::from_secs(3);
/// File data goes out at most this fast per connection, in an even stream: aMule 2.3.3,
/// fed a burst of blocks at once, sometimes leaves the tail unread in its socket and stops
/// asking (its own uploader sends 100 KiB per 300 ms tick).
const PACE_BYTES_PER_SEC: u64 = 2 << 20;

async fn write(stream: &mut TcpStream, p: &Packet) -> anyhow::Result<()> {
    let bytes = p.encode();
    tokio::time::timeout(WRITE, stream.write_all(&bytes)).await.map_err(|_| anyhow::anyhow!("the peer took nothing for {WRITE:?}"))??;
    crate::metrics::bytes("ed2k", crate::metrics::Direction::Out, bytes.len() as u64);
    Ok(())
}

/// A login (opcode 0x01 like a hello, see [`ServerMsg::is_login`]) starts a server session;
/// anything else an uploading one.
fn is_hello(p: &Packet) -> bool {
    !(p.proto == PROTO_EDONKEY && p.opcode == op::LOGINREQUEST && ServerMsg::is_login(&p.payload))
}

async fn read_packet(stream: &mut TcpStream, dec: &mut Decoder, wait: Duration) -> anyhow::Result<Packet> {
    let mut buf = [0u8; 16 * 1024];
    loop {
        if let Some(p) = dec.next_packet()? {
            return Ok(p);
        }
        let n = tokio::time::timeout(wait, stream.read(&mut buf)).await.map_err(|_| anyhow::anyhow!("silent for {wait:?}"))??;
        if n == 0 {
            anyhow::bail!("closed");
        }
        dec.push(&buf[..n]);
    }
}

pub async fn handle(svc: Arc<Ed2kService>, mut stream: TcpStream, from: SocketAddr) -> anyhow::Result<()> {
    let mut dec = Decoder::new();
    let first = read_packet(&mut stream, &mut dec, FIRST_PACKET).await?;
    if is_hello(&first) {
        upload(svc, stream, dec, first).await
    } else {
        server(svc, stream, dec, first, from).await
    }
}

async fn server(svc: Arc<Ed2kService>, mut stream: TcpStream, mut dec: Decoder, first: Packet, from: SocketAddr) -> anyhow::Result<()> {
    let IpAddr::V4(ip) = from.ip() else { anyhow::bail!("eD2k is IPv4 only") };
    let mut session = ServerSession::new(ip);
    let mut packet = first;
    loop {
        let files = svc.catalog.len() as u32;
        match session.on_packet(&packet, files, "Chiral relay: eD2k sources for the files this relay and its pages serve")? {
            ServerAction::Send(packets) => {
                for p in packets {
                    write(&mut stream, &p).await?;
                }
            }
            ServerAction::Sources(hash) => {
                let here = !svc.catalog.bridge.ed2k_cids(&hash).is_empty();
                let sources: Vec<_> = svc.advertised.filter(|_| here).map(|a| (*a.ip(), a.port())).into_iter().collect();
                if let Some(p) = ServerSession::sources(hash, &sources) {
                    write(&mut stream, &p).await?;
                }
            }
            ServerAction::Nothing => {}
        }
        packet = read_packet(&mut stream, &mut dec, SERVER_IDLE).await?;
    }
}

/// A piece kept between reads (blocks are smaller than pieces and come in order), of the
/// file being served; dropped when the file changes or the slot goes.
struct PieceCache {
    index: u64,
    bytes: Vec<u8>,
}

async fn read_range(svc: &Ed2kService, cid: &str, piece_len: u64, cache: &mut Option<PieceCache>, start: u64, end: u64) -> Result<Vec<u8>, String> {
    if piece_len == 0 {
        return Err("no piece length".into());
    }
    let mut out = Vec::with_capacity((end - start) as usize);
    let mut at = start;
    while at < end {
        let index = at / piece_len;
        if cache.as_ref().is_none_or(|c| c.index != index) {
            let bytes = svc.catalog.bridge.piece(cid, index).await.map_err(|e| format!("{e:?}"))?;
            *cache = Some(PieceCache { index, bytes });
        }
        let piece = cache.as_ref().expect("filled");
        let off = (at - index * piece_len) as usize;
        let take = ((end - at) as usize).min(piece.bytes.len().saturating_sub(off));
        if take == 0 {
            return Err("short piece".into());
        }
        out.extend_from_slice(&piece.bytes[off..off + take]);
        at += take as u64;
    }
    Ok(out)
}

async fn upload(svc: Arc<Ed2kService>, mut stream: TcpStream, mut dec: Decoder, first: Packet) -> anyhow::Result<()> {
    let mut session = UploadSession::new(svc.me.clone());
    let mut served: Option<super::catalog::Found> = None;
    let mut last_request = tokio::time::Instant::now();
    let mut next_nudge = last_request + NUDGE;
    let mut paced_until = last_request;
    let mut cache: Option<PieceCache> = None;
    let mut permit: Option<tokio::sync::OwnedSemaphorePermit> = None;
    let mut waiting: Option<std::pin::Pin<Box<dyn std::future::Future<Output = Option<tokio::sync::OwnedSemaphorePermit>> + Send>>> = None;
    let mut buf = vec![0u8; 16 * 1024];
    let started = std::time::Instant::now();
    let result = async {
        session.on_packet(&first)?;
        loop {
            while let Some(o) = session.poll() {
                match o {
                    UploadOutput::Send(p) => write(&mut stream, &p).await?,
                    UploadOutput::Lookup(hash) => {
                        let found = svc.catalog.lookup(hash).await;
                        if let Some(f) = &found {
                            if served.as_ref().is_none_or(|s| s.cid != f.cid) {
                                cache = None;
                            }
                            served = Some(f.clone());
                        }
                        session.file_found(hash, found.map(|f| f.file));
                    }
                    UploadOutput::NeedHashset(hash) => {
                        let set = match served.as_ref().filter(|s| s.file.hash == hash) {
                            Some(s) => svc.catalog.hashset(hash, &s.cid).await,
                            None => Err("no such file".into()),
                        };
                        if let Err(e) = &set {
                            tracing::info!("ed2k: no hashset for {}: {e}", hex::encode(hash));
                        }
                        session.hashset_ready(hash, set.ok().map(|s| s.as_ref().clone()));
                    }
                    UploadOutput::WantSlot => match svc.slots.clone().try_acquire_owned() {
                        Ok(p) => {
                            permit = Some(p);
                            last_request = tokio::time::Instant::now();
                            session.slot_granted();
                        }
                        Err(_) => {
                            let queued = (super::UPLOAD_SLOTS - svc.slots.available_permits()) as u32;
                            session.slot_queued(queued.max(1));
                            let slots = svc.slots.clone();
                            waiting = Some(Box::pin(async move { slots.acquire_owned().await.ok() }));
                        }
                    },
                    UploadOutput::ReleaseSlot => {
                        permit = None;
                        waiting = None;
                        cache = None;
                    }
                    UploadOutput::Read { hash, start, end } => {
                        tracing::debug!(start, end, "ed2k upload: read");
                        last_request = tokio::time::Instant::now();
                        // Nothing leaves before the bytes of the very file it is read from
                        // hashed to the ed2k hash.
                        let bytes = match served.as_ref().filter(|s| s.file.hash == hash) {
                            Some(s) => match svc.catalog.hashset(hash, &s.cid).await {
                                Ok(_) => read_range(&svc, &s.cid, s.piece_length, &mut cache, start, end).await,
                                Err(e) => Err(e),
                            },
                            None => Err("no file".into()),
                        };
                        match bytes {
                            Ok(bytes) => {
                                let due = paced_until.max(tokio::time::Instant::now());
                                tokio::time::sleep_until(due).await;
                                paced_until = due + Duration::from_micros(bytes.len() as u64 * 1_000_000 / PACE_BYTES_PER_SEC);
                                session.on_data(start, &bytes)
                            }
                            Err(e) => {
                                tracing::info!("ed2k: cannot serve {}: {e}", hex::encode(hash));
                                session.read_failed();
                            }
                        }
                    }
                }
            }
            let n = tokio::select! {
                r = tokio::time::timeout(IDLE, stream.read(&mut buf)) => r.map_err(|_| anyhow::anyhow!("silent for {IDLE:?}"))??,
                _ = tokio::time::sleep_until(last_request + SLOT_IDLE), if permit.is_some() => {
                    anyhow::bail!("held an upload slot and asked for nothing for {SLOT_IDLE:?}");
                }
                _ = tokio::time::sleep_until(next_nudge.max(last_request + NUDGE)), if permit.is_some() => {
                    next_nudge = tokio::time::Instant::now() + NUDGE;
                    session.nudge();
                    continue;
                }
                p = async { waiting.as_mut().expect("guarded").await }, if waiting.is_some() => {
                    waiting = None;
                    if let Some(p) = p {
                        permit = Some(p);
                        last_request = tokio::time::Instant::now();
                        session.slot_granted();
                    }
                    continue;
                }
            };
            if n == 0 {
                return Ok(());
            }
            dec.push(&buf[..n]);
            while let Some(p) = dec.next_packet()? {
                tracing::debug!(proto = p.proto, opcode = p.opcode, len = p.payload.len(), "ed2k upload: packet");
                session.on_packet(&p)?;
            }
        }
    }
    .await;
    session.closed();
    drop(permit);
    tracing::debug!(sent = session.sent, secs = started.elapsed().as_secs_f64(), ?result, "ed2k upload connection ended");
    result
}
