//! `/announce`: WebTorrent's WebSocket tracker. One task owns `web_node::tracker::Tracker`
//! (the sans-IO core); each socket is a thin pump between the client and that task.
//! Bounded: message size (the frame decoder), the task's inbox, each socket's outbox
//! (a client that does not read is disconnected rather than buffered without end).
//!
//! Memory: a tracker holds thousands of mostly idle sockets, so an idle socket holds no
//! buffer. The pump waits for readability with a read into a stack buffer that is copied
//! out only when bytes came ([`read_some`]); frames are decoded by [`crate::ws_frame`], which
//! frees its buffer between messages; the outbox allocates only while messages wait; a frame
//! to send lives only until it is written. (axum's `WebSocket` kept tungstenite's 128 KiB read
//! buffer, zero-filled and so resident, and a tokio mpsc block per socket: ~136 KiB a peer.)

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Poll};
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc;
use web_node::tracker::{ConnId, Parsed, Tracker, MAX_MESSAGE_BYTES};

use crate::client_addr::TrustedProxies;
use crate::socket_outbox::Outbox;
use crate::state::{BridgeState, BtTracker};
use crate::ws_frame::{self, Decoder, Event, FrameError, Opcode};

/// Messages from all sockets waiting for the tracker task.
const INBOX: usize = 1024;
/// Messages waiting for one socket; past this its client is dropped.
const OUTBOX_PER_SOCKET: usize = 64;
/// Bytes one read takes from a socket (on the stack; only what arrived is kept).
const READ_CHUNK: usize = 16 * 1024;

enum Input {
    Open { conn: ConnId, outbox: Arc<Outbox> },
    /// A message from the socket, parsed on its task ([`Parsed::from_text`]).
    Message { conn: ConnId, parsed: Parsed },
    Closed { conn: ConnId },
    /// Swarms and peers held now (`/metrics`).
    Stats { reply: tokio::sync::oneshot::Sender<(usize, usize)> },
}

/// Why a socket's pump ended.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
enum PumpEnd {
    #[error("the client closed")]
    ClientClosed,
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("protocol: {0}")]
    Frame(#[from] FrameError),
    #[error("the tracker dropped this client (not reading)")]
    Dropped,
    #[error("the tracker task is gone")]
    TrackerGone,
}

/// Handle to the tracker task.
#[derive(Clone)]
pub struct TrackerService {
    inbox: mpsc::Sender<Input>,
    next_conn: Arc<AtomicU64>,
}

impl TrackerService {
    /// Starts the task that owns the swarms; it runs until every handle is dropped.
    pub fn spawn() -> Self {
        let (tx, mut rx) = mpsc::channel::<Input>(INBOX);
        tokio::spawn(async move {
            let mut tracker = Tracker::new();
            let mut outboxes: HashMap<ConnId, Arc<Outbox>> = HashMap::new();
            let mut expiry = tokio::time::interval(Duration::from_secs(60));
            loop {
                let input = tokio::select! {
                    input = rx.recv() => match input { Some(i) => i, None => break },
                    _ = expiry.tick() => {
                        tracker.expire(crate::p2p::now_secs());
                        continue;
                    }
                };
                match input {
                    Input::Open { conn, outbox } => {
                        outboxes.insert(conn, outbox);
                    }
                    Input::Closed { conn } => {
                        outboxes.remove(&conn);
                        tracker.handle_close(conn);
                    }
                    Input::Stats { reply } => {
                        let _ = reply.send((tracker.swarm_count(), tracker.peer_count()));
                    }
                    Input::Message { conn, parsed } => {
                        for out in tracker.handle_parsed(conn, parsed, crate::p2p::now_secs()) {
                            let Some(outbox) = outboxes.get(&out.conn) else { continue };
                            if let Err(e) = outbox.push(out.message.to_string()) {
                                // Full or gone: drop that peer instead of buffering for it.
                                tracing::debug!(conn = out.conn.0, %e, "disconnecting a tracker client");
                                outbox.close();
                                outboxes.remove(&out.conn);
                                tracker.handle_close(out.conn);
                            }
                        }
                    }
                }
            }
        });
        Self { inbox: tx, next_conn: Arc::new(AtomicU64::new(1)) }
    }

    /// Swarms and peers the tracker holds now; `None` when its task is gone or too busy to
    /// answer within a second.
    pub async fn stats(&self) -> Option<(usize, usize)> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.inbox.try_send(Input::Stats { reply }).ok()?;
        tokio::time::timeout(Duration::from_secs(1), answer).await.ok()?.ok()
    }

    /// Pumps one client connection (the bytes after the WebSocket handshake, any
    /// AsyncRead + AsyncWrite: a socket, or an in-memory duplex in tests) until it closes.
    pub async fn serve<S>(&self, mut socket: S)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let conn = ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed));
        let outbox = Arc::new(Outbox::new(OUTBOX_PER_SOCKET));
        if self.inbox.send(Input::Open { conn, outbox: outbox.clone() }).await.is_err() {
            return;
        }
        let end = self.pump(conn, &mut socket, &outbox).await;
        tracing::debug!(conn = conn.0, %end, "tracker socket ends");
        let code = match &end {
            PumpEnd::Frame(e) => Some(e.close_code()),
            PumpEnd::ClientClosed => Some(1000),
            _ => None,
        };
        if let Some(code) = code {
            // Best effort, and never waiting on a client that does not read.
            let mut frame = Vec::new();
            ws_frame::encode(Opcode::Close, &ws_frame::close_payload(code), &mut frame);
            let _ = tokio::time::timeout(Duration::from_secs(1), socket.write_all(&frame)).await;
        }
        let _ = self.inbox.send(Input::Closed { conn }).await;
    }

    async fn pump<S>(&self, conn: ConnId, socket: &mut S, outbox: &Outbox) -> PumpEnd
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut decoder = Decoder::new(MAX_MESSAGE_BYTES);
        loop {
            let result = tokio::select! {
                read = read_some(socket) => match read {
                    Ok(bytes) if bytes.is_empty() => return PumpEnd::ClientClosed,
                    Ok(bytes) => {
                        decoder.push(bytes);
                        self.handle_frames(conn, socket, outbox, &mut decoder).await
                    }
                    Err(e) => Err(e.into()),
                },
                () = outbox.changed() => Ok(()),
            };
            // Always drain: a write may have consumed the wake-up of a later push.
            let result = match result {
                Ok(()) => send_queued(socket, outbox).await,
                ended => ended,
            };
            if let Err(end) = result {
                return end;
            }
        }
    }

    /// Passes each whole message to the tracker task; answers pings.
    async fn handle_frames<S>(&self, conn: ConnId, socket: &mut S, outbox: &Outbox, decoder: &mut Decoder) -> Result<(), PumpEnd>
    where
        S: AsyncWrite + Unpin,
    {
        while let Some(event) = decoder.next_event()? {
            let text = match event {
                Event::Text(text) => text,
                // bittorrent-tracker clients send text; accept UTF-8 binary frames too.
                Event::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Event::Ping(payload) => {
                    write_frame(socket, outbox, Opcode::Pong, payload.as_slice()).await?;
                    continue;
                }
                Event::Close => return Err(PumpEnd::ClientClosed),
            };
            // Parsed here, on this socket's task: JSON work spreads over the cores, the tracker
            // task only keeps the swarms (it was the queue under a connection storm).
            let parsed = Parsed::from_text(text.as_bytes());
            self.inbox.send(Input::Message { conn, parsed }).await.map_err(|_| PumpEnd::TrackerGone)?;
        }
        Ok(())
    }
}

/// Waits until the socket is readable, then reads what is there (up to [`READ_CHUNK`]) into
/// a stack buffer and returns a copy sized to it: nothing is allocated while waiting.
/// Empty means end of stream.
async fn read_some<R: AsyncRead + Unpin>(socket: &mut R) -> std::io::Result<Vec<u8>> {
    std::future::poll_fn(|cx| {
        let mut stack = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
        let mut buf = ReadBuf::uninit(&mut stack);
        ready!(Pin::new(&mut *socket).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().to_vec()))
    })
    .await
}

/// Writes everything the tracker queued for this socket, until the queue is empty.
async fn send_queued<W: AsyncWrite + Unpin>(socket: &mut W, outbox: &Outbox) -> Result<(), PumpEnd> {
    loop {
        if outbox.is_closed() {
            return Err(PumpEnd::Dropped);
        }
        let queued = outbox.take();
        if queued.is_empty() {
            return Ok(());
        }
        for message in queued {
            write_frame(socket, outbox, Opcode::Text, message.as_bytes()).await?;
        }
    }
}

/// Writes one frame; gives up if the tracker drops the client meanwhile (a client that does
/// not read blocks the write while its outbox fills up).
async fn write_frame<W: AsyncWrite + Unpin>(socket: &mut W, outbox: &Outbox, opcode: Opcode, payload: &[u8]) -> Result<(), PumpEnd> {
    let mut frame = Vec::new();
    ws_frame::encode(opcode, payload, &mut frame);
    let mut write = std::pin::pin!(async {
        socket.write_all(&frame).await?;
        socket.flush().await
    });
    loop {
        tokio::select! {
            written = &mut write => return written.map_err(PumpEnd::Io),
            () = outbox.changed() => {
                if outbox.is_closed() {
                    return Err(PumpEnd::Dropped);
                }
            }
        }
    }
}

/// `/announce`: a WebSocket upgrade is WebTorrent's tracker; a plain GET is a BEP 3 announce.
pub async fn announce(State(tracker): State<TrackerService>, State(bt): State<Arc<BtTracker>>, State(bridge): State<BridgeState>, State(proxies): State<TrustedProxies>, request: axum::extract::Request) -> Response {
    let upgrade = request.headers().get(axum::http::header::UPGRADE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgrade {
        return http_announce(&bt, &bridge, &proxies, request);
    }
    announce_ws(tracker, request)
}

fn http_announce(bt: &BtTracker, bridge: &BridgeState, proxies: &TrustedProxies, request: axum::extract::Request) -> Response {
    use crate::http_tracker::{failure, parse_query, response};
    let text = |status: axum::http::StatusCode, body: Vec<u8>| {
        axum::response::IntoResponse::into_response((status, [(axum::http::header::CONTENT_TYPE, "text/plain")], body))
    };
    // The peer others will dial: the client's address, as a trusted reverse proxy forwarded it.
    let from = crate::client_addr::ClientAddr::of(request.extensions(), request.headers(), proxies).ip();
    let announce = match parse_query(request.uri().query().unwrap_or("")) {
        Ok(a) => a,
        Err(e) => return text(axum::http::StatusCode::OK, failure(&e.to_string())),
    };
    let mut peers = bt.swarms.lock().expect("tracker lock").announce(&announce, from, crate::p2p::now_secs());
    let (mut complete, incomplete) = bt.swarms.lock().expect("tracker lock").counts(&announce.info_hash);
    // The relay itself is a peer of every file a browser tab offers it (the bridge).
    if let (Some(addr), Some(bridge)) = (bt.addr.get(), bridge.0.as_ref()) {
        if bridge.has_info_hash(&announce.info_hash) && !announce.stopped {
            peers.insert(0, *addr);
            complete += 1;
        }
    }
    text(axum::http::StatusCode::OK, response(&peers, complete, incomplete))
}

fn announce_ws(tracker: TrackerService, request: axum::extract::Request) -> Response {
    match crate::ws_upgrade::accept(request, move |socket| async move { tracker.serve(socket).await }) {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn client_frame(opcode: Opcode, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        ws_frame::encode_frame(true, opcode, Some([1, 2, 3, 4]), payload, &mut out);
        out
    }

    async fn read_frame(io: &mut tokio::io::DuplexStream) -> (u8, Vec<u8>) {
        let mut head = [0u8; 2];
        io.read_exact(&mut head).await.unwrap();
        let len = match head[1] {
            126 => u16::from_be_bytes([io.read_u8().await.unwrap(), io.read_u8().await.unwrap()]) as usize,
            n => n as usize,
        };
        let mut payload = vec![0u8; len];
        io.read_exact(&mut payload).await.unwrap();
        (head[0], payload)
    }

    /// The pump over an in-memory duplex: ping → pong, an announce → the tracker's reply,
    /// a close → a close back and the end of the pump.
    #[tokio::test]
    async fn pump_answers_ping_announce_and_close() {
        let tracker = TrackerService::spawn();
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let pump = tokio::spawn(async move { tracker.serve(server).await });
        client.write_all(&client_frame(Opcode::Ping, b"hi")).await.unwrap();
        assert_eq!(read_frame(&mut client).await, (0x8A, b"hi".to_vec()));
        let id = "\u{1}".repeat(20);
        let announce = serde_json::json!({ "action": "announce", "info_hash": id, "peer_id": id, "numwant": 0 }).to_string();
        client.write_all(&client_frame(Opcode::Text, announce.as_bytes())).await.unwrap();
        let (op, reply) = read_frame(&mut client).await;
        assert_eq!(op, 0x81);
        let reply: serde_json::Value = serde_json::from_slice(&reply).unwrap();
        assert_eq!(reply["interval"], 120);
        client.write_all(&client_frame(Opcode::Close, &[])).await.unwrap();
        assert_eq!(read_frame(&mut client).await, (0x88, 1000u16.to_be_bytes().to_vec()));
        pump.await.unwrap();
    }
}
