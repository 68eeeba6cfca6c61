//! One torrent's WebSocket tracker signaling (WebTorrent), sans-IO: which trackers to
//! connect and when to retry them, when to announce (and with which event), the offers we
//! made and the offers we are answering, with their lifetimes. No sockets, no clock, no
//! RTCPeerConnections: the driver owns those and reports what happened to them; time is an
//! input in milliseconds from any monotonic clock.
//!
//! ```text
//! let mut session = Session::new(config, tracker_urls, now);
//! loop {
//!     session.handle_open(t, now) | handle_close(t, now) | handle_message(t, text, now)
//!          | offers_made(t, offers, stats, now)        // after MakeOffers
//!          | answer_made(offer_id, peer_id, sdp)       // after Event(Offer)
//!          | handle_settled(offer_id)                  // that negotiation became a peer, or failed
//!          | handle_completed(stats, now) | stop(stats)
//!          | handle_timeout(now)                       // at poll_timeout()
//!     while let Some(out) = session.poll_output() {
//!         Connect { tracker, url } => open a WebSocket; report open/close/messages
//!         Close { tracker } => close it (report nothing more for it)
//!         Send { tracker, text } => send the text on it
//!         MakeOffers { tracker, max } => make up to `max` RTC offers, then offers_made
//!         DropOffer { offer_id } => close that pending RTCPeerConnection
//!         Event(Offer { .. }) => answer it (answer_made) or handle_settled
//!         Event(Answer { .. }) => apply it to our pending offer, then handle_settled
//!         Event(Failure | Warning) => log it
//!     }
//!     sleep until session.poll_timeout() (or the next input)
//! }
//! ```
//!
//! Invariants: at most [`SessionConfig::max_own_offers`] of our offers and
//! [`SessionConfig::max_answering`] of theirs are pending at once, and each lives at most
//! [`SessionConfig::offer_ttl_ms`]; nothing a tracker sends adds state beyond those bounds
//! (messages for other infohashes, our own peer id, unknown or repeated offer ids are
//! ignored). A stopped session ignores every input and has no timeout.

use std::collections::{HashMap, VecDeque};

use crate::tracker::Id20;
use crate::tracker_client::{answer_json, parse_response, AnnounceRequest, TrackerEvent, OFFERS_PER_ANNOUNCE};

#[cfg(test)]
mod tests;

/// Trackers per torrent (the rest of a magnet's list is ignored).
pub const MAX_TRACKERS: usize = 4;
/// The first reconnect waits this long; each failure doubles it, up to [`RECONNECT_MAX_MS`].
pub const RECONNECT_MIN_MS: u64 = 2_000;
pub const RECONNECT_MAX_MS: u64 = 60_000;
/// A WebSocket neither open nor closed after this long is given up and retried.
pub const CONNECT_TIMEOUT_MS: u64 = 15_000;
/// The announce interval a tracker may ask for is clamped to this range.
pub const MIN_INTERVAL_SECS: u64 = 10;
pub const MAX_INTERVAL_SECS: u64 = 3_600;
/// Longest failure reason or warning passed on (bytes; cut at a char boundary).
const MAX_REASON_BYTES: usize = 256;

/// A tracker, by its index in the list the session was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackerId(pub usize);

#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub info_hash: Id20,
    pub peer_id: Id20,
    /// Our offers pending at once (made, announced, not yet answered and settled).
    pub max_own_offers: usize,
    /// Their offers we are answering at once.
    pub max_answering: usize,
    /// A pending offer (ours or theirs) is dropped after this long (bittorrent-tracker: 50 s).
    pub offer_ttl_ms: u64,
    /// Until a tracker says otherwise.
    pub default_interval_secs: u64,
    /// While leeching, announce at least this often, to meet newcomers.
    pub leech_interval_secs: u64,
}

impl SessionConfig {
    pub fn new(info_hash: Id20, peer_id: Id20) -> Self {
        Self {
            info_hash,
            peer_id,
            max_own_offers: 4 * OFFERS_PER_ANNOUNCE,
            max_answering: 8,
            offer_ttl_ms: 50_000,
            default_interval_secs: crate::tracker::ANNOUNCE_INTERVAL_SECS,
            leech_interval_secs: 30,
        }
    }
}

/// What an announce reports about us.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes still missing; `None` while the metadata is unknown.
    pub left: Option<u64>,
    pub uploaded: u64,
    pub downloaded: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Open a WebSocket to this tracker; report `handle_open` or `handle_close`.
    Connect { tracker: TrackerId, url: String },
    /// Close this tracker's socket; the session expects nothing more from it.
    Close { tracker: TrackerId },
    Send { tracker: TrackerId, text: String },
    /// Make up to `max` RTC offers (fewer, or none, if the driver has no room for peers)
    /// and hand them to [`Session::offers_made`].
    MakeOffers { tracker: TrackerId, max: usize },
    /// This pending negotiation (our offer, or our answer to theirs) is over: close its
    /// RTCPeerConnection.
    DropOffer { offer_id: Id20 },
    Event(SignalEvent),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalEvent {
    /// Another peer offers a connection: answer it ([`Session::answer_made`]), or decline
    /// ([`Session::handle_settled`]).
    Offer { tracker: TrackerId, peer_id: Id20, offer_id: Id20, sdp: String },
    /// A peer answered one of our pending offers: apply it, then [`Session::handle_settled`].
    Answer { peer_id: Id20, offer_id: Id20, sdp: String },
    Failure { tracker: TrackerId, reason: String },
    Warning { tracker: TrackerId, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// Our offer; `answered` once an answer was passed on (later ones are ignored).
    Ours { answered: bool },
    /// Their offer, which we answer.
    Theirs,
}

#[derive(Debug, Clone)]
struct Pending {
    side: Side,
    tracker: TrackerId,
    made_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Conn {
    /// Not connected; connect at `retry_at`.
    Idle { retry_at: u64 },
    Connecting { since: u64 },
    Open {
        started_sent: bool,
        next_announce: u64,
        last_announce: Option<u64>,
        /// MakeOffers is out: (offers allowed, since).
        making: Option<(usize, u64)>,
    },
}

#[derive(Debug, Clone)]
struct Tracker {
    url: String,
    conn: Conn,
    /// Connections lost since the tracker last answered an announce.
    failures: u32,
    interval_secs: u64,
}

pub struct Session {
    config: SessionConfig,
    trackers: Vec<Tracker>,
    pending: HashMap<Id20, Pending>,
    out: VecDeque<Output>,
    /// The latest stats the driver gave.
    stats: Stats,
    completed: bool,
    stopped: bool,
}

/// Reconnect delay after `failures` consecutive failures (≥ 1): 2 s, 4 s, 8 s, … 60 s.
pub fn reconnect_delay_ms(failures: u32) -> u64 {
    let doublings = failures.saturating_sub(1).min(16);
    (RECONNECT_MIN_MS << doublings).min(RECONNECT_MAX_MS)
}

fn cut(mut s: String) -> String {
    if s.len() > MAX_REASON_BYTES {
        let mut end = MAX_REASON_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

impl Session {
    /// WebSocket trackers (`ws://`, `wss://`; at most [`MAX_TRACKERS`]) from `urls`; each
    /// is connected at once.
    pub fn new(config: SessionConfig, urls: &[String], now: u64) -> Self {
        let interval_secs = config.default_interval_secs.clamp(MIN_INTERVAL_SECS, MAX_INTERVAL_SECS);
        let trackers = urls
            .iter()
            .filter(|u| u.starts_with("ws://") || u.starts_with("wss://"))
            .take(MAX_TRACKERS)
            .map(|url| Tracker { url: url.clone(), conn: Conn::Idle { retry_at: now }, failures: 0, interval_secs })
            .collect();
        let mut s = Self { config, trackers, pending: HashMap::new(), out: VecDeque::new(), stats: Stats::default(), completed: false, stopped: false };
        s.drive(now);
        s
    }

    pub fn tracker_count(&self) -> usize {
        self.trackers.len()
    }

    /// Trackers with an open socket.
    pub fn connected(&self) -> usize {
        self.trackers.iter().filter(|t| matches!(t.conn, Conn::Open { .. })).count()
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Negotiations pending: (our offers, their offers being answered).
    pub fn pending_offers(&self) -> (usize, usize) {
        let ours = self.pending.values().filter(|p| matches!(p.side, Side::Ours { .. })).count();
        (ours, self.pending.len() - ours)
    }

    /// Whether the negotiation for `offer_id` is still pending (not settled, dropped or expired).
    pub fn is_pending(&self, offer_id: &Id20) -> bool {
        self.pending.contains_key(offer_id)
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The next moment [`Session::handle_timeout`] has work: a reconnect, a connect
    /// timeout, an announce, an offer's expiry. `None` when stopped.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.stopped {
            return None;
        }
        let trackers = self.trackers.iter().map(|t| match t.conn {
            Conn::Idle { retry_at } => retry_at,
            Conn::Connecting { since } => since.saturating_add(CONNECT_TIMEOUT_MS),
            Conn::Open { making: Some((_, since)), .. } => since.saturating_add(self.config.offer_ttl_ms),
            Conn::Open { next_announce, .. } => next_announce,
        });
        let offers = self.pending.values().map(|p| p.made_ms.saturating_add(self.config.offer_ttl_ms));
        trackers.chain(offers).min()
    }

    pub fn handle_timeout(&mut self, now: u64) {
        self.drive(now);
    }

    /// The socket asked for by `Connect` is open.
    pub fn handle_open(&mut self, tracker: TrackerId, now: u64) {
        if self.stopped {
            return;
        }
        let Some(t) = self.trackers.get_mut(tracker.0) else { return };
        if matches!(t.conn, Conn::Connecting { .. }) {
            t.conn = Conn::Open { started_sent: false, next_announce: now, last_announce: None, making: None };
        }
        self.drive(now);
    }

    /// The socket closed (or could not be made): retry after a backoff. Our offers
    /// announced through it can still be answered through another tracker until they expire.
    pub fn handle_close(&mut self, tracker: TrackerId, now: u64) {
        if self.stopped {
            return;
        }
        let Some(t) = self.trackers.get_mut(tracker.0) else { return };
        if matches!(t.conn, Conn::Idle { .. }) {
            return;
        }
        Self::lose(t, now);
        self.drive(now);
    }

    fn lose(t: &mut Tracker, now: u64) {
        t.failures = t.failures.saturating_add(1);
        t.conn = Conn::Idle { retry_at: now.saturating_add(reconnect_delay_ms(t.failures)) };
    }

    /// A text message from the tracker.
    pub fn handle_message(&mut self, tracker: TrackerId, text: &str, now: u64) {
        if self.stopped {
            return;
        }
        let our_hash = self.config.info_hash;
        let Some(t) = self.trackers.get_mut(tracker.0) else { return };
        if !matches!(t.conn, Conn::Open { .. }) {
            return;
        }
        let event = match parse_response(text) {
            Ok(e) => e,
            Err(e) => {
                tracing::debug!("unreadable tracker message: {e}");
                return;
            }
        };
        match event {
            TrackerEvent::Offer { info_hash, peer_id, offer_id, sdp } if info_hash == our_hash && peer_id != self.config.peer_id => {
                let answering = self.pending.values().filter(|p| p.side == Side::Theirs).count();
                if answering < self.config.max_answering && !self.pending.contains_key(&offer_id) {
                    self.pending.insert(offer_id, Pending { side: Side::Theirs, tracker, made_ms: now });
                    self.out.push_back(Output::Event(SignalEvent::Offer { tracker, peer_id, offer_id, sdp }));
                }
            }
            TrackerEvent::Answer { info_hash, peer_id, offer_id, sdp } if info_hash == our_hash && peer_id != self.config.peer_id => {
                if let Some(p) = self.pending.get_mut(&offer_id) {
                    if p.side == (Side::Ours { answered: false }) {
                        p.side = Side::Ours { answered: true };
                        self.out.push_back(Output::Event(SignalEvent::Answer { peer_id, offer_id, sdp }));
                    }
                }
            }
            TrackerEvent::Announced { info_hash, interval_secs, .. } if info_hash == our_hash => {
                t.failures = 0;
                if let Some(secs) = interval_secs {
                    t.interval_secs = secs.clamp(MIN_INTERVAL_SECS, MAX_INTERVAL_SECS);
                }
                let every = self.every_ms(tracker);
                if let Some(t) = self.trackers.get_mut(tracker.0) {
                    if let Conn::Open { next_announce, last_announce: Some(last), making: None, .. } = &mut t.conn {
                        *next_announce = last.saturating_add(every);
                    }
                }
            }
            TrackerEvent::Failure { info_hash, reason } if info_hash.is_none_or(|h| h == our_hash) => {
                self.out.push_back(Output::Event(SignalEvent::Failure { tracker, reason: cut(reason) }));
            }
            TrackerEvent::Warning { info_hash, message } if info_hash.is_none_or(|h| h == our_hash) => {
                self.out.push_back(Output::Event(SignalEvent::Warning { tracker, message: cut(message) }));
            }
            _ => {}
        }
        self.drive(now);
    }

    /// The offers asked for by `MakeOffers` (offer id, complete SDP): they are announced
    /// with `stats`. Offers beyond what was asked, or for a tracker no longer open, are
    /// dropped at once (`DropOffer`).
    pub fn offers_made(&mut self, tracker: TrackerId, offers: Vec<(Id20, String)>, stats: Stats, now: u64) {
        if self.stopped {
            self.out.extend(offers.into_iter().map(|(offer_id, _)| Output::DropOffer { offer_id }));
            return;
        }
        self.stats = stats;
        let allowed = match self.trackers.get(tracker.0).map(|t| &t.conn) {
            Some(Conn::Open { making: Some((max, _)), .. }) => *max,
            _ => 0,
        };
        let mut kept = Vec::new();
        for (offer_id, sdp) in offers {
            if kept.len() < allowed && !self.pending.contains_key(&offer_id) {
                self.pending.insert(offer_id, Pending { side: Side::Ours { answered: false }, tracker, made_ms: now });
                kept.push((offer_id, sdp));
            } else {
                self.out.push_back(Output::DropOffer { offer_id });
            }
        }
        if self.is_making(tracker) {
            self.announce(tracker, kept, stats, now);
        }
        self.drive(now);
    }

    fn is_making(&self, tracker: TrackerId) -> bool {
        matches!(self.trackers.get(tracker.0).map(|t| &t.conn), Some(Conn::Open { making: Some(_), .. }))
    }

    /// Our answer to their offer (an [`SignalEvent::Offer`]): sent through the tracker it
    /// came from. It stays pending until [`Session::handle_settled`] or its lifetime ends.
    pub fn answer_made(&mut self, offer_id: Id20, to_peer_id: Id20, sdp: &str) {
        let tracker = match self.pending.get(&offer_id) {
            Some(p) if p.side == Side::Theirs && !self.stopped => p.tracker,
            _ => return,
        };
        if matches!(self.trackers.get(tracker.0).map(|t| &t.conn), Some(Conn::Open { .. })) {
            let text = answer_json(&self.config.info_hash, &self.config.peer_id, &to_peer_id, &offer_id, sdp);
            self.out.push_back(Output::Send { tracker, text });
        }
    }

    /// The negotiation for `offer_id` is over, either way (our offer's answer was applied,
    /// their data channel arrived, or it failed): the driver holds it no more.
    pub fn handle_settled(&mut self, offer_id: Id20) {
        self.pending.remove(&offer_id);
    }

    /// Every piece is in: tell the open trackers (`completed`) and announce at the seeding
    /// interval from now on.
    pub fn handle_completed(&mut self, stats: Stats, now: u64) {
        if self.stopped || self.completed {
            return;
        }
        self.completed = true;
        self.stats = stats;
        for i in 0..self.trackers.len() {
            if let Conn::Open { started_sent: true, .. } = self.trackers[i].conn {
                let text = self.request(Some("completed"), stats, Vec::new());
                self.out.push_back(Output::Send { tracker: TrackerId(i), text });
            }
        }
        self.drive(now);
    }

    /// Leave: `stopped` to every open tracker, then close every socket and drop every
    /// pending offer. Every later input is ignored.
    pub fn stop(&mut self, stats: Stats) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        for i in 0..self.trackers.len() {
            let tracker = TrackerId(i);
            match self.trackers[i].conn {
                Conn::Open { started_sent, .. } => {
                    if started_sent {
                        let text = self.request(Some("stopped"), stats, Vec::new());
                        self.out.push_back(Output::Send { tracker, text });
                    }
                    self.out.push_back(Output::Close { tracker });
                }
                Conn::Connecting { .. } => self.out.push_back(Output::Close { tracker }),
                Conn::Idle { .. } => {}
            }
            self.trackers[i].conn = Conn::Idle { retry_at: u64::MAX };
        }
        let mut ids: Vec<Id20> = self.pending.drain().map(|(id, _)| id).collect();
        ids.sort_unstable();
        self.out.extend(ids.into_iter().map(|offer_id| Output::DropOffer { offer_id }));
    }

    fn leeching(&self) -> bool {
        !self.completed && self.stats.left != Some(0)
    }

    fn every_ms(&self, tracker: TrackerId) -> u64 {
        let interval = self.trackers.get(tracker.0).map_or(self.config.default_interval_secs, |t| t.interval_secs);
        let secs = if self.leeching() { interval.min(self.config.leech_interval_secs.max(MIN_INTERVAL_SECS)) } else { interval };
        secs * 1000
    }

    fn request(&self, event: Option<&'static str>, stats: Stats, offers: Vec<(Id20, String)>) -> String {
        AnnounceRequest {
            info_hash: self.config.info_hash,
            peer_id: self.config.peer_id,
            event,
            left: stats.left,
            uploaded: stats.uploaded,
            downloaded: stats.downloaded,
            offers,
        }
        .to_json()
    }

    /// Sends the announce MakeOffers was for, and schedules the next.
    fn announce(&mut self, tracker: TrackerId, offers: Vec<(Id20, String)>, stats: Stats, now: u64) {
        let every = self.every_ms(tracker);
        let Some(Conn::Open { started_sent, next_announce, last_announce, making }) = self.trackers.get_mut(tracker.0).map(|t| &mut t.conn) else {
            return;
        };
        let event = if *started_sent { None } else { Some("started") };
        *started_sent = true;
        *making = None;
        *last_announce = Some(now);
        *next_announce = now.saturating_add(every);
        let text = self.request(event, stats, offers);
        self.out.push_back(Output::Send { tracker, text });
    }

    /// Does whatever is due at `now`.
    fn drive(&mut self, now: u64) {
        if self.stopped {
            return;
        }
        // Offers past their lifetime.
        let ttl = self.config.offer_ttl_ms;
        let mut expired: Vec<Id20> = self.pending.iter().filter(|(_, p)| now >= p.made_ms.saturating_add(ttl)).map(|(id, _)| *id).collect();
        expired.sort_unstable();
        for offer_id in expired {
            self.pending.remove(&offer_id);
            self.out.push_back(Output::DropOffer { offer_id });
        }
        for i in 0..self.trackers.len() {
            let tracker = TrackerId(i);
            match self.trackers[i].conn {
                Conn::Idle { retry_at } if now >= retry_at => {
                    self.trackers[i].conn = Conn::Connecting { since: now };
                    self.out.push_back(Output::Connect { tracker, url: self.trackers[i].url.clone() });
                }
                Conn::Connecting { since } if now >= since.saturating_add(CONNECT_TIMEOUT_MS) => {
                    self.out.push_back(Output::Close { tracker });
                    Self::lose(&mut self.trackers[i], now);
                }
                Conn::Open { making: Some((_, since)), .. } if now >= since.saturating_add(ttl) => {
                    // The driver never came back with offers: announce without them.
                    self.announce(tracker, Vec::new(), self.stats, now);
                }
                Conn::Open { making: None, next_announce, .. } if now >= next_announce => {
                    let ours = self.pending.values().filter(|p| matches!(p.side, Side::Ours { .. })).count();
                    let asked: usize = self.trackers.iter().filter_map(|t| if let Conn::Open { making: Some((m, _)), .. } = t.conn { Some(m) } else { None }).sum();
                    let max = OFFERS_PER_ANNOUNCE.min(self.config.max_own_offers.saturating_sub(ours + asked));
                    if let Conn::Open { making, .. } = &mut self.trackers[i].conn {
                        *making = Some((max, now));
                    }
                    self.out.push_back(Output::MakeOffers { tracker, max });
                }
                _ => {}
            }
        }
    }
}
