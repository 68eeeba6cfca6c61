//! The link to this page's relay bridge: one WebSocket, kept open with backoff. Seeding,
//! the page offers the file to HTTP and BitTorrent clients through it; downloading
//! (`want=1`), the relay fetches for us from whoever it reaches: TCP BitTorrent peers
//! (the magnet's trackers and `x.pe` peers), its own copy, tabs that offer the file.

use gloo_events::EventListener;
use web_sys::WebSocket;

use super::links::{BridgeSocket, Channel, PeerLink};
use super::{now_ms, Torrent};
use crate::peer_wire::Bitfield;
use crate::signaling::reconnect_delay_ms;
use crate::tracker::Id20;

impl Torrent {
    /// Opens the bridge link if there should be one and it is closed and due.
    pub(super) fn maintain_bridge(&self, now: f64) {
        let url = {
            let inner = self.0.borrow();
            match (&inner.options.bridge, inner.bridge_key) {
                (Some(url), None) if !inner.stopped && now >= inner.bridge_retry_ms => {
                    let complete = inner.swarm.have().is_some_and(Bitfield::is_full);
                    if complete {
                        url.clone()
                    } else {
                        format!("{url}{}want=1", if url.contains('?') { '&' } else { '?' })
                    }
                }
                _ => return,
            }
        };
        let Ok(ws) = WebSocket::new(&url) else { return };
        ws.set_binary_type(web_sys::BinaryType::Arraybuffer);
        let key = self.next_key();
        self.0.borrow_mut().bridge_key = Some(key);
        let weak = self.downgrade();
        let on_open = EventListener::new(&ws, "open", move |_| {
            let Some(t) = weak.upgrade() else { return };
            t.0.borrow_mut().swarm.handle_connected(key, true, now_ms() as u64);
            t.pump();
        });
        // The link works once the relay speaks on it (a refusing relay opens, then closes
        // at once): only then is the backoff reset and an earlier refusal forgotten.
        let weak = self.downgrade();
        let on_first_message = EventListener::once(&ws, "message", move |_| {
            let Some(t) = weak.upgrade() else { return };
            let mut inner = t.0.borrow_mut();
            inner.bridge_failures = 0;
            inner.bridge_refusal = None;
        });
        let on_message = self.bytes_listener(&ws, key);
        let weak = self.downgrade();
        let on_close = EventListener::new(&ws, "close", move |ev| {
            let Some(t) = weak.upgrade() else { return };
            let field = |name: &str| js_sys::Reflect::get(ev, &name.into()).ok();
            let code = field("code").and_then(|v| v.as_f64()).map_or(0, |c| c as u16);
            let reason = field("reason").and_then(|v| v.as_string()).unwrap_or_default();
            {
                let mut inner = t.0.borrow_mut();
                inner.bridge_key = None;
                inner.bridge_failures = inner.bridge_failures.saturating_add(1);
                inner.bridge_retry_ms = now_ms() + reconnect_delay_ms(inner.bridge_failures) as f64;
                if let Some(refusal) = crate::bridge_link::refusal(code, &reason) {
                    tracing::warn!("{refusal}");
                    inner.bridge_refusal = Some(refusal);
                }
            }
            t.drop_peer(key);
        });
        let link = PeerLink::new(Channel::Bridge(BridgeSocket(ws)), vec![on_open, on_first_message, on_message, on_close]);
        self.0.borrow_mut().peers.insert(key, link);
    }
}

/// `ws(s)://<this page's relay>/bridge/<infohash>[?cid=<cid>][&tr=…][&pe=…]`: the CID when
/// we seed it; the magnet's HTTP and UDP trackers, which the relay asks for BitTorrent peers
/// (a page cannot speak to them; this relay's own tracker it knows already); the magnet's
/// `x.pe` peers (`HOST:PORT`), which the relay dials under its outbound policy; and the
/// file's ed2k hash when we seed it (the relay serves it to eD2k clients once the bytes it
/// gets hash to it).
pub fn bridge_url(info_hash: &Id20, cid: Option<&str>, ed2k: Option<&[u8; 16]>, trackers: &[String], peers: &[String]) -> Option<String> {
    let origin = web_sys::window()?.location().origin().ok()?;
    let ws = origin.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1);
    let mut query: Vec<String> = cid.map(|c| format!("cid={c}")).into_iter().collect();
    query.extend(ed2k.map(|h| format!("ed2k={}", hex::encode(h))));
    let enc = |t: &str| percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC).to_string();
    for t in trackers.iter().filter(|t| (t.starts_with("http://") || t.starts_with("udp://")) && !t.starts_with(&origin)) {
        query.push(format!("tr={}", enc(t)));
    }
    let peers = peers.iter().filter(|p| crate::tracker_client::valid_peer_address(p)).take(crate::tracker_client::MAX_MAGNET_PEERS);
    query.extend(peers.map(|p| format!("pe={}", enc(p))));
    let query = if query.is_empty() { String::new() } else { format!("?{}", query.join("&")) };
    Some(format!("{ws}/bridge/{}{query}", hex::encode(info_hash)))
}
