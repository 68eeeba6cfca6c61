//! `/announce`: WebTorrent's WebSocket tracker. One task owns `web_node::tracker::Tracker`
//! (the sans-IO core); each socket is a thin pump between the client and that task.
//! Bounded: message size (at the WebSocket layer), the task's inbox, each socket's outbox
//! (a client that does not read is disconnected rather than buffered without end).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;
use web_node::tracker::{ConnId, Tracker, MAX_MESSAGE_BYTES};

use crate::client_addr::TrustedProxies;
use crate::state::{BridgeState, BtTracker};

const INBOX: usize = 1024;
const OUTBOX_PER_SOCKET: usize = 64;

enum Input {
    Open { conn: ConnId, outbox: mpsc::Sender<String> },
    Text { conn: ConnId, text: String },
    Closed { conn: ConnId },
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
            let mut outboxes: std::collections::HashMap<ConnId, mpsc::Sender<String>> = Default::default();
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
                    Input::Text { conn, text } => {
                        for out in tracker.handle_message(conn, text.as_bytes(), crate::p2p::now_secs()) {
                            let Some(outbox) = outboxes.get(&out.conn) else { continue };
                            if outbox.try_send(out.message.to_string()).is_err() {
                                // Full or gone: drop that peer instead of buffering for it.
                                tracing::debug!(conn = out.conn.0, "tracker client not reading; disconnecting");
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

    /// Pumps one client connection (any Sink/Stream of WebSocket messages) until it closes.
    pub async fn serve<S, E>(&self, socket: S)
    where
        S: Sink<Message> + Stream<Item = Result<Message, E>> + Unpin,
    {
        let conn = ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed));
        let (outbox, mut outgoing) = mpsc::channel::<String>(OUTBOX_PER_SOCKET);
        if self.inbox.send(Input::Open { conn, outbox }).await.is_err() {
            return;
        }
        let (mut sink, mut stream) = socket.split();
        loop {
            tokio::select! {
                incoming = stream.next() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        if self.inbox.send(Input::Text { conn, text: text.to_string() }).await.is_err() {
                            break;
                        }
                    }
                    Some(Ok(Message::Binary(bytes))) => {
                        // bittorrent-tracker clients send text; accept UTF-8 binary frames too.
                        let text = String::from_utf8_lossy(&bytes).into_owned();
                        if self.inbox.send(Input::Text { conn, text }).await.is_err() {
                            break;
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {} // ping/pong are answered by the WebSocket layer
                },
                out = outgoing.recv() => match out {
                    Some(text) => {
                        if sink.send(Message::Text(text.into())).await.is_err() {
                            break;
                        }
                    }
                    None => break, // the tracker dropped us
                },
            }
        }
        let _ = self.inbox.send(Input::Closed { conn }).await;
    }
}

/// `/announce`: a WebSocket upgrade is WebTorrent's tracker; a plain GET is a BEP 3 announce.
pub async fn announce(State(tracker): State<TrackerService>, State(bt): State<Arc<BtTracker>>, State(bridge): State<BridgeState>, State(proxies): State<TrustedProxies>, request: axum::extract::Request) -> Response {
    use axum::extract::FromRequest;
    let upgrade = request.headers().get(axum::http::header::UPGRADE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgrade {
        return http_announce(&bt, &bridge, &proxies, request);
    }
    match WebSocketUpgrade::from_request(request, &()).await {
        Ok(ws) => announce_ws(tracker, ws),
        Err(rejection) => axum::response::IntoResponse::into_response(rejection),
    }
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

fn announce_ws(tracker: TrackerService, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket: WebSocket| async move { tracker.serve(socket).await })
}
