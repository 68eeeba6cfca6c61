//! The tracker side of a torrent: feeds [`crate::signaling::Session`] what its WebSockets
//! and RTCPeerConnections report, and carries out what it asks (connect, send, make
//! offers, drop an offer). Every socket, pending connection and listener lives in
//! [`Signal`], so dropping it (or an entry of it) closes and unhooks what it held.

use std::collections::HashMap;

use gloo_events::EventListener;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{MessageEvent, RtcDataChannelEvent, WebSocket};

use super::links::RtcConn;
use super::{now_ms, random_id, Torrent};
use crate::browser::rtc;
use crate::signaling::{Output, Session, SignalEvent, Stats, TrackerId};
use crate::tracker::Id20;

/// One tracker's WebSocket and its listeners; dropping it closes the socket.
struct TrackerSocket {
    ws: WebSocket,
    _listeners: [EventListener; 3],
}

impl Drop for TrackerSocket {
    fn drop(&mut self) {
        let _ = self.ws.close();
    }
}

/// A connection being negotiated: our offer waiting for an answer, or our answer waiting
/// for their data channel (`_on_channel`).
struct Negotiation {
    rtc: RtcConn,
    _on_channel: Option<EventListener>,
}

/// The signaling state of one torrent: the sans-IO session and what the browser holds for it.
pub(super) struct Signal {
    pub(super) session: Session,
    sockets: Vec<Option<TrackerSocket>>,
    pending: HashMap<Id20, Negotiation>,
}

impl Signal {
    pub(super) fn new(session: Session) -> Self {
        let sockets = (0..session.tracker_count()).map(|_| None).collect();
        Self { session, sockets, pending: HashMap::new() }
    }

    /// Sockets and pending connections still held (0 once stopped).
    pub(super) fn held(&self) -> usize {
        self.sockets.iter().flatten().count() + self.pending.len()
    }

    /// Drops every socket and pending connection (after the session's stop was drained;
    /// offers still being made then are not known to the session yet).
    pub(super) fn clear(&mut self) {
        self.sockets.iter_mut().for_each(|s| *s = None);
        self.pending.clear();
    }
}

impl Torrent {
    /// Feeds the session one input at the current time, then carries out its outputs.
    pub(super) fn signal(&self, input: impl FnOnce(&mut Session, u64)) {
        input(&mut self.0.borrow_mut().signal.session, now_ms() as u64);
        self.drain_signal();
    }

    pub(super) fn announce_stats(&self) -> Stats {
        let inner = self.0.borrow();
        let left = inner.swarm.info().map(|i| {
            let have = inner.swarm.have().map_or(0, |h| h.ones().map(|p| u64::from(i.piece_len(p))).sum::<u64>());
            i.length - have
        });
        Stats { left, uploaded: inner.swarm.uploaded_bytes, downloaded: inner.swarm.downloaded_bytes }
    }

    /// Carries out everything the session has queued.
    pub(super) fn drain_signal(&self) {
        loop {
            let out = self.0.borrow_mut().signal.session.poll_output();
            let Some(out) = out else { break };
            match out {
                Output::Connect { tracker, url } => self.connect_tracker(tracker, &url),
                Output::Close { tracker } => {
                    let socket = self.0.borrow_mut().signal.sockets.get_mut(tracker.0).and_then(Option::take);
                    drop(socket);
                }
                Output::Send { tracker, text } => {
                    let inner = self.0.borrow();
                    if let Some(Some(s)) = inner.signal.sockets.get(tracker.0) {
                        if s.ws.ready_state() == WebSocket::OPEN {
                            let _ = s.ws.send_with_str(&text);
                        }
                    }
                }
                Output::MakeOffers { tracker, max } => self.make_offers(tracker, max),
                Output::DropOffer { offer_id } => {
                    let negotiation = self.0.borrow_mut().signal.pending.remove(&offer_id);
                    drop(negotiation);
                }
                Output::Event(SignalEvent::Offer { peer_id, offer_id, sdp, .. }) => self.on_offer(peer_id, offer_id, sdp),
                Output::Event(SignalEvent::Answer { offer_id, sdp, .. }) => self.on_answer(offer_id, sdp),
                Output::Event(SignalEvent::Failure { reason, .. }) => tracing::warn!("tracker refused an announce: {reason}"),
                Output::Event(SignalEvent::Warning { message, .. }) => tracing::info!("tracker warning: {message}"),
            }
        }
    }

    fn connect_tracker(&self, tracker: TrackerId, url: &str) {
        let Ok(ws) = WebSocket::new(url) else {
            self.0.borrow_mut().signal.session.handle_close(tracker, now_ms() as u64);
            return;
        };
        let weak = self.downgrade();
        let on_open = EventListener::new(&ws, "open", move |_| {
            if let Some(t) = weak.upgrade() {
                t.signal(|s, now| s.handle_open(tracker, now));
            }
        });
        let weak = self.downgrade();
        let on_message = EventListener::new(&ws, "message", move |ev| {
            let Some(text) = ev.dyn_ref::<MessageEvent>().and_then(|e| e.data().as_string()) else { return };
            if let Some(t) = weak.upgrade() {
                t.signal(|s, now| s.handle_message(tracker, &text, now));
            }
        });
        let weak = self.downgrade();
        let on_close = EventListener::new(&ws, "close", move |_| {
            let Some(t) = weak.upgrade() else { return };
            // Remove the socket (and this listener with it) before the session schedules the retry.
            let socket = t.0.borrow_mut().signal.sockets.get_mut(tracker.0).and_then(Option::take);
            drop(socket);
            t.signal(|s, now| s.handle_close(tracker, now));
        });
        let socket = TrackerSocket { ws, _listeners: [on_open, on_message, on_close] };
        let old = self.0.borrow_mut().signal.sockets.get_mut(tracker.0).map(|slot| slot.replace(socket));
        drop(old);
    }

    /// Makes up to `max` offers (as many as we have room for) and hands them to the session.
    fn make_offers(&self, tracker: TrackerId, max: usize) {
        let room = self.room();
        let this = self.clone();
        spawn_local(async move {
            let mut offers = Vec::new();
            for _ in 0..max.min(room) {
                match rtc::create_offer().await {
                    Ok((pc, dc, sdp)) => {
                        let offer_id = random_id(b"");
                        let rtc = RtcConn { pc, dc: Some(dc) };
                        if this.0.borrow().stopped {
                            break; // `rtc` closes here
                        }
                        this.0.borrow_mut().signal.pending.insert(offer_id, Negotiation { rtc, _on_channel: None });
                        offers.push((offer_id, sdp));
                    }
                    Err(e) => tracing::warn!("cannot make a WebRTC offer: {e}"),
                }
            }
            // Stopped meanwhile: the session drops them all.
            let stats = this.announce_stats();
            this.signal(|s, now| s.offers_made(tracker, offers, stats, now));
        });
    }

    /// Another peer's offer: answer it through the tracker it came from, or decline.
    fn on_offer(&self, from: Id20, offer_id: Id20, sdp: String) {
        if self.room() == 0 {
            self.0.borrow_mut().signal.session.handle_settled(offer_id);
            return;
        }
        let this = self.clone();
        spawn_local(async move {
            let (pc, answer) = match rtc::answer_offer(&sdp).await {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("cannot answer an offer: {e}");
                    this.0.borrow_mut().signal.session.handle_settled(offer_id);
                    return;
                }
            };
            let rtc = RtcConn { pc, dc: None };
            if !this.0.borrow().signal.session.is_pending(&offer_id) {
                return; // expired or stopped meanwhile: `rtc` closes here
            }
            let weak = this.downgrade();
            let on_channel = EventListener::new(&rtc.pc, "datachannel", move |ev| {
                let Some(channel) = ev.dyn_ref::<RtcDataChannelEvent>().map(RtcDataChannelEvent::channel) else { return };
                let Some(t) = weak.upgrade() else { return };
                let negotiation = t.0.borrow_mut().signal.pending.remove(&offer_id);
                t.0.borrow_mut().signal.session.handle_settled(offer_id);
                if let Some(Negotiation { mut rtc, .. }) = negotiation {
                    rtc.dc = Some(channel);
                    t.attach(rtc, false);
                }
            });
            this.0.borrow_mut().signal.pending.insert(offer_id, Negotiation { rtc, _on_channel: Some(on_channel) });
            this.signal(|s, _| s.answer_made(offer_id, from, &answer));
        });
    }

    /// A peer answered our offer: connect it, then the session forgets the offer.
    fn on_answer(&self, offer_id: Id20, sdp: String) {
        let negotiation = self.0.borrow_mut().signal.pending.remove(&offer_id);
        let Some(Negotiation { rtc, .. }) = negotiation else {
            self.0.borrow_mut().signal.session.handle_settled(offer_id);
            return;
        };
        let this = self.clone();
        spawn_local(async move {
            let accepted = rtc::accept_answer(&rtc.pc, &sdp).await;
            this.0.borrow_mut().signal.session.handle_settled(offer_id);
            match accepted {
                Ok(()) if !this.0.borrow().stopped => this.attach(rtc, true),
                Ok(()) => {}
                Err(e) => tracing::warn!("cannot accept an answer: {e}"),
            }
        });
    }
}
