//! Connection pumps: one task per connection moves bytes between the socket and the file's
//! actor ([`super::file_task`]): a page's WebSocket ([`pump_page`], generic over
//! `Sink`/`Stream`) or a TCP BitTorrent peer ([`pump_tcp`], generic over
//! `AsyncRead`/`AsyncWrite`), so both run over in-memory channels and pipes in tests. Each
//! paces its writes, bounds each write in time, reports what it wrote (backpressure) and
//! ends a connection that stays silent.

use std::time::Duration;

use axum::extract::ws::Message;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use web_node::swarm::PeerKey;

use super::limits::{Pacer, Silence};
use super::{BridgeError, Cmd, ToPage, OUTBOX_PER_PAGE, PING_EVERY};

/// One page's bridge WebSocket in the file's swarm, until either side ends it: frames in
/// become swarm input, the swarm's bytes go out paced and bounded in time, and each frame
/// written is reported (backpressure). Silence ends it: `silence.first` until the page's
/// first message, then `silence.idle` between frames (pongs count then). Generic over the
/// socket, so it runs over channels in tests.
pub(super) async fn pump_page<S, E>(socket: S, tx: &mpsc::Sender<Cmd>, key: PeerKey, mut outgoing: mpsc::Receiver<ToPage>, rate: Option<u64>, silence: Silence, info_hash: [u8; 20])
where
    S: futures::Sink<Message> + futures::Stream<Item = Result<Message, E>> + Unpin,
{
    let (mut sink, mut stream) = socket.split();
    let mut pacer = Pacer::new(rate);
    // Until the page's first message (its handshake), then between any two frames
    // (pongs count then, so a throttled background tab stays).
    let idle = silence.idle;
    let mut heard = false;
    let silence = tokio::time::sleep(silence.first);
    tokio::pin!(silence);
    let ping_every = PING_EVERY.min(idle / 3).max(Duration::from_millis(10));
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Binary(bytes))) => {
                    heard = true;
                    silence.as_mut().reset(tokio::time::Instant::now() + idle);
                    crate::metrics::bytes("page", crate::metrics::Direction::In, bytes.len() as u64);
                    if tx.send(Cmd::PageData { key, bytes: bytes.to_vec() }).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) if heard => silence.as_mut().reset(tokio::time::Instant::now() + idle),
                Some(Ok(_)) => {}
            },
            _ = &mut silence => {
                tracing::debug!(info_hash = %hex::encode(info_hash), "bridge page silent too long; closing");
                break;
            }
            _ = ping.tick() => {
                if !send_within(&mut sink, Message::Ping(Default::default()), idle).await {
                    break;
                }
            }
            out = outgoing.recv() => match out {
                Some(ToPage::End(e)) => {
                    // The file failed for good: the page learns why from the close frame.
                    let _ = send_within(&mut sink, super::ws::refusal_frame(&e.to_string()), idle).await;
                    break;
                }
                Some(ToPage::Bytes(bytes)) => {
                    let n = bytes.len() as u64;
                    pacer.take(bytes.len()).await;
                    if !send_within(&mut sink, Message::Binary(bytes.into()), idle).await {
                        break;
                    }
                    crate::metrics::bytes("page", crate::metrics::Direction::Out, n);
                    if tx.send(Cmd::Flushed { key, bytes: n }).await.is_err() {
                        break;
                    }
                }
                None => break, // the swarm dropped this page
            },
        }
    }
}

/// Sends one frame unless the page has stopped reading for `limit` (a page that reads
/// nothing must not hold its task, its slot and its socket forever).
async fn send_within<S: futures::Sink<Message> + Unpin>(sink: &mut S, message: Message, limit: Duration) -> bool {
    matches!(tokio::time::timeout(limit, sink.send(message)).await, Ok(Ok(())))
}

/// Writes all of `bytes` unless the peer has stopped reading for `limit`.
async fn write_within<W: AsyncWrite + Unpin>(write: &mut W, bytes: &[u8], limit: Duration) -> std::io::Result<()> {
    tokio::time::timeout(limit, write.write_all(bytes)).await.unwrap_or_else(|_| Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the peer stopped reading")))
}

/// One TCP BitTorrent connection in the file's swarm, until either side ends it.
/// `first`: the handshake already read from an incoming connection (none when we dialled).
pub(super) async fn pump_tcp<T: AsyncRead + AsyncWrite + Send + 'static>(tx: mpsc::Sender<Cmd>, stream: T, first: Option<Vec<u8>>, rate: Option<u64>, silence: Silence) -> Result<(), BridgeError> {
    let mut pacer = Pacer::new(rate);
    let dialled = first.is_none();
    let (outbox, mut outgoing) = mpsc::channel::<ToPage>(OUTBOX_PER_PAGE);
    let (reply, key) = oneshot::channel();
    tx.send(Cmd::PageOpen { outbox, demand: true, initiator: dialled, reply }).await.map_err(|_| BridgeError::Stopped)?;
    let key = key.await.map_err(|_| BridgeError::Stopped)??;
    if let Some(first) = first {
        tx.send(Cmd::PageData { key, bytes: first }).await.map_err(|_| BridgeError::Stopped)?;
    }
    let (mut read, mut write) = tokio::io::split(stream);
    let mut buf = vec![0u8; 64 * 1024];
    // A peer we dialled must answer soon; after that, any silence ends at the idle timeout.
    let Silence { first: first_timeout, idle } = silence;
    let silence = tokio::time::sleep(if dialled { first_timeout } else { idle });
    tokio::pin!(silence);
    let result = loop {
        tokio::select! {
            n = read.read(&mut buf) => match n {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    silence.as_mut().reset(tokio::time::Instant::now() + idle);
                    crate::metrics::bytes("bittorrent", crate::metrics::Direction::In, n as u64);
                    if tx.send(Cmd::PageData { key, bytes: buf[..n].to_vec() }).await.is_err() {
                        break Ok(());
                    }
                }
                Err(e) => break Err(BridgeError::Connection(e.into())),
            },
            out = outgoing.recv() => match out {
                Some(ToPage::End(e)) => break Err(e),
                Some(ToPage::Bytes(bytes)) => {
                    pacer.take(bytes.len()).await;
                    if let Err(e) = write_within(&mut write, &bytes, idle).await {
                        break Err(BridgeError::Connection(e.into()));
                    }
                    crate::metrics::bytes("bittorrent", crate::metrics::Direction::Out, bytes.len() as u64);
                    if tx.send(Cmd::Flushed { key, bytes: bytes.len() as u64 }).await.is_err() {
                        break Ok(());
                    }
                }
                None => break Ok(()),
            },
            _ = &mut silence => break Err(BridgeError::Silent),
        }
    };
    let _ = tx.send(Cmd::PageClosed { key }).await;
    result
}
