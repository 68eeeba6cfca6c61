//! `GET /bridge/{infohash}` (WebSocket): the HTTP side of the bridge. Parses what a page
//! asks (`cid`, the magnet's `tr` and `pe`, `want`), resolves `pe` peers (bounded), and
//! hands the upgraded socket to [`super::Bridge`]; refusals close it with a reason.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::api_error::ApiError;
use crate::state::{BridgeState, BtTracker};
use crate::peer_discovery;

/// Resolves `HOST:PORT` peers (a magnet's `x.pe`): at most 5 s in all, the first address
/// of each name. Unresolvable ones are skipped.
pub async fn resolve_peers(peers: &[String]) -> Vec<SocketAddr> {
    let lookups = peers.iter().take(web_node::tracker_client::MAX_MAGNET_PEERS).map(|p| async move {
        tokio::net::lookup_host(p.as_str()).await.ok().and_then(|mut addrs| addrs.next())
    });
    tokio::time::timeout(Duration::from_secs(5), futures::future::join_all(lookups)).await.unwrap_or_default().into_iter().flatten().collect()
}

/// `?cid=…&tr=…&tr=…&pe=…` (`tr` and `pe` repeat, as in a magnet).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BridgeQuery {
    cid: Option<String>,
    tr: Vec<String>,
    /// The magnet's `x.pe` peers, `HOST:PORT`.
    pe: Vec<String>,
    /// The page is downloading: the relay fetches the file for it from every source it has.
    want: bool,
    /// The seeding page's ed2k hash for the file (checked before eD2k clients get a byte).
    ed2k: Option<[u8; 16]>,
}

impl BridgeQuery {
    pub fn parse(raw: &str) -> Self {
        let mut q = Self::default();
        for pair in raw.split('&').take(32) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned();
            match k {
                "cid" => q.cid = Some(v),
                "tr" => q.tr.push(v),
                "pe" if q.pe.len() < web_node::tracker_client::MAX_MAGNET_PEERS && web_node::tracker_client::valid_peer_address(&v) => q.pe.push(v),
                "want" => q.want = v == "1",
                "ed2k" => q.ed2k = hex::decode(&v).ok().and_then(|b| b.try_into().ok()),
                _ => {}
            }
        }
        q
    }
}

/// Closes a bridge WebSocket with [`web_node::bridge_link::REFUSED_CLOSE_CODE`] (1013,
/// "try again later") and why; the page shows the reason with its transfer.
pub(super) async fn refuse(mut socket: WebSocket, reason: String) {
    tracing::debug!("bridge refused a page: {reason}");
    let _ = socket.send(refusal_frame(&reason)).await;
}

/// The close frame that refuses a page, its reason cut to what a close frame holds.
pub(super) fn refusal_frame(reason: &str) -> Message {
    let reason = web_node::bridge_link::cut(reason);
    Message::Close(Some(axum::extract::ws::CloseFrame { code: web_node::bridge_link::REFUSED_CLOSE_CODE, reason: reason.into() }))
}

/// `GET /bridge/{infohash}?cid=…` (WebSocket): a page offers a file it seeds, or with
/// `want=1` asks the relay to fetch it for the page (from TCP peers, its own copy, other tabs).
/// `client` (behind a trusted proxy, the address it forwarded) is counted per-client.
pub async fn bridge_ws(State(bridge): State<BridgeState>, State(bt): State<std::sync::Arc<BtTracker>>, client: crate::client_addr::ClientAddr, Path(info_hash): Path<String>, axum::extract::RawQuery(raw): axum::extract::RawQuery, ws: WebSocketUpgrade) -> Response {
    let q = BridgeQuery::parse(raw.as_deref().unwrap_or(""));
    let Some(bridge) = bridge.0 else {
        return ApiError::new(StatusCode::NOT_FOUND, "this relay does not bridge".into()).into_response();
    };
    let cid = q.cid.map(|c| c.to_ascii_lowercase());
    let info_hash: Option<[u8; 20]> = hex::decode(&info_hash).ok().and_then(|v| v.try_into().ok());
    let cid_ok = cid.as_ref().is_none_or(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()));
    let (Some(info_hash), true) = (info_hash, cid_ok) else {
        return ApiError::new(StatusCode::BAD_REQUEST, "a 40-hex infohash (and optionally a 64-hex cid) are needed".into()).into_response();
    };
    // TCP BitTorrent clients that announced this torrent: the relay fetches from them too.
    let own = bt.addr.get().copied();
    let probe = crate::http_tracker::HttpAnnounce { info_hash, peer_id: [0; 20], port: 1, left: None, stopped: false, numwant: 8 };
    let mut tcp_peers: Vec<_> = bt.swarms.lock().expect("tracker lock").peers(&probe).into_iter().filter(|a| Some(*a) != own).collect();
    // The magnet's `x.pe` peers, resolved (bounded in count and time).
    tcp_peers.extend(resolve_peers(&q.pe).await);
    // The magnet's other trackers (the page speaks WebSocket ones itself).
    let trackers: Vec<String> = q.tr.into_iter().filter(|t| t.len() <= 512 && peer_discovery::speaks(t)).take(peer_discovery::MAX_TRACKERS).collect();
    let want = q.want;
    if let (Some(hash), Some(cid)) = (q.ed2k, cid.clone()) {
        bridge.claim_ed2k(hash, cid);
    }
    ws.max_message_size(web_node::peer_wire::MAX_MESSAGE_BYTES + 1024)
        .on_upgrade(move |socket| async move { bridge.attach(client, cid, info_hash, socket, tcp_peers, trackers, want).await })
}

#[cfg(test)]
mod tests {
    use super::BridgeQuery;

    #[test]
    fn bridge_query_repeats_trackers() {
        let q = BridgeQuery::parse("cid=ab&tr=udp%3A%2F%2F127.0.0.1%3A6969&tr=http://t/announce&x=1&want=1&pe=127.0.0.1%3A6881&pe=bad");
        assert_eq!(
            q,
            BridgeQuery { cid: Some("ab".into()), tr: vec!["udp://127.0.0.1:6969".into(), "http://t/announce".into()], pe: vec!["127.0.0.1:6881".into()], want: true, ed2k: None }
        );
        assert_eq!(BridgeQuery::parse(""), BridgeQuery::default());
    }
}
