//! Style 2 in the swarm: the `chiral_pay` extension (see [`crate::pay`]) on each connection.
//! As a seller ([`SwarmConfig::sell`](super::SwarmConfig)) we send our terms to every peer
//! that speaks it, serve such a peer only within its channel's credit window, and (unless
//! the offer also takes Style 1) never unchoke peers that do not speak it. As a buyer
//! ([`SwarmConfig::buy`](super::SwarmConfig)) we ask the driver for a channel when a seller
//! names terms, and after every verified piece ask it to sign the new cumulative amount
//! for each seller that sent blocks of it. Keys, chain calls and persistence stay in the
//! driver: it answers [`Event::ChannelNeeded`], [`Event::CheckChannel`] and
//! [`Event::VoucherDue`] with [`Swarm::handle_channel_ready`],
//! [`Swarm::handle_channel_checked`] and [`Swarm::send_voucher`].

use std::collections::{BTreeMap, HashMap};

use super::{Event, PeerKey, Swarm};
use crate::pay::buyer::{BuyerSession, BuyerState};
use crate::pay::seller::{ChannelGrant, SellerSession, SellerState, VoucherOutcome};
use crate::pay::wire::{PayMessage, Terms, CHIRAL_PAY};
use crate::peer_wire::Message;

/// A seeder's Style 2 offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SellOffer {
    pub terms: Terms,
    /// Serve peers that do not speak `chiral_pay` as before (Style 1, paid after the fact
    /// or not at all). A relay selling its own files sets this to false: they get nothing.
    pub serve_others: bool,
}

/// One connection's Style 2 state, for the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaySession {
    Selling(SellerSession),
    Buying(BuyerSession),
}

#[derive(Debug, Default)]
pub(super) struct PayState {
    sellers: HashMap<PeerKey, SellerSession>,
    buyers: HashMap<PeerKey, BuyerSession>,
    /// Bytes of each piece in progress received from each paying-session peer.
    piece_bytes: HashMap<u32, BTreeMap<PeerKey, u64>>,
}

impl PayState {
    /// The connection is gone. Returns the channel its seller session held and the bytes
    /// served on it in all, for [`Event::ChannelReleased`].
    pub fn forget_peer(&mut self, peer: PeerKey) -> Option<([u8; 32], u64)> {
        self.buyers.remove(&peer);
        let s = self.sellers.remove(&peer)?;
        let served = s.served_bytes();
        s.open().map(|o| (o.grant.channel, served))
    }

    /// A block of piece `index` from `peer` was kept.
    pub fn delivered(&mut self, index: u32, peer: PeerKey, bytes: u64) {
        if self.buyers.contains_key(&peer) {
            *self.piece_bytes.entry(index).or_default().entry(peer).or_default() += bytes;
        }
    }

    pub fn forget_piece(&mut self, index: u32) {
        self.piece_bytes.remove(&index);
    }

    /// The peer is paid in Style 2 (so not a Style 1 seller).
    pub fn is_style2_seller(&self, peer: PeerKey) -> bool {
        self.buyers.get(&peer).is_some_and(BuyerSession::is_style2)
    }
}

impl Swarm {
    pub(super) fn speaks_pay(&self, peer: PeerKey) -> bool {
        self.peers.get(&peer).and_then(|p| p.ext.as_ref()).is_some_and(|e| e.extensions.get(CHIRAL_PAY).is_some_and(|id| *id != 0))
    }

    fn send_pay(&mut self, peer: PeerKey, msg: &PayMessage, now: u64) {
        let Some(id) = self.peers.get(&peer).and_then(|p| p.ext.as_ref()).and_then(|e| e.extensions.get(CHIRAL_PAY).copied()) else { return };
        let payload = msg.encode();
        self.send(peer, &Message::Extended { id, payload: &payload }, now);
    }

    /// The peer's extended handshake arrived: a seller names its terms. The credit window is
    /// at least two pieces (the buyer pays per verified piece: a smaller window would stall).
    pub(super) fn on_pay_handshake(&mut self, peer: PeerKey, now: u64) {
        let Some(offer) = self.config.sell else { return };
        if self.speaks_pay(peer) && !self.pay.sellers.contains_key(&peer) {
            let mut terms = offer.terms;
            let piece = self.known.as_ref().map_or(0, |k| u64::from(k.info.piece_length));
            terms.credit_bytes = terms.credit_bytes.max(2 * piece);
            self.pay.sellers.insert(peer, SellerSession::new(terms));
            self.send_pay(peer, &PayMessage::Terms(terms), now);
        }
    }

    pub(super) fn on_pay_message(&mut self, peer: PeerKey, payload: &[u8], now: u64) {
        let msg = match PayMessage::parse(payload) {
            Ok(m) => m,
            Err(e) => return self.drop_peer(peer, format!("bad chiral_pay message: {e}"), now),
        };
        match msg {
            PayMessage::Terms(terms) => {
                if self.config.buy && !self.pay.buyers.contains_key(&peer) {
                    self.pay.buyers.insert(peer, BuyerSession::new(terms));
                    self.event(Event::ChannelNeeded { peer, terms });
                }
            }
            PayMessage::Accept { channel, paid_wei } => {
                let Some(b) = self.pay.buyers.get_mut(&peer) else { return };
                if let Err(reason) = b.on_accept(channel, paid_wei) {
                    self.send_pay(peer, &PayMessage::Refuse { reason: reason.clone() }, now);
                    self.drop_peer(peer, reason, now);
                }
            }
            PayMessage::Open { channel } => {
                let Some(s) = self.pay.sellers.get_mut(&peer) else { return };
                let terms = s.terms;
                match s.on_open(channel) {
                    Some(true) => self.event(Event::CheckChannel { peer, channel, terms }),
                    Some(false) => {}
                    None => self.drop_peer(peer, "named a second channel", now),
                }
            }
            PayMessage::Voucher { channel, amount_wei, signature } => {
                let Some(s) = self.pay.sellers.get_mut(&peer) else { return };
                let terms = s.terms;
                match s.on_voucher(channel, amount_wei, signature) {
                    Ok(VoucherOutcome::Kept(_)) => {
                        let served_bytes = s.served_bytes();
                        self.event(Event::VoucherReceived { peer, channel, amount_wei, signature, served_bytes });
                        self.pay_credit_changed(peer, now);
                    }
                    // Above the deposit we know: the buyer may have topped up. Read it again.
                    Ok(VoucherOutcome::Recheck) => self.event(Event::CheckChannel { peer, channel, terms }),
                    Ok(VoucherOutcome::Waiting) => {}
                    Err(e) => {
                        let reason = format!("bad voucher: {e}");
                        self.send_pay(peer, &PayMessage::Refuse { reason: reason.clone() }, now);
                        self.drop_peer(peer, reason, now);
                    }
                }
            }
            PayMessage::Refuse { reason } => {
                if let Some(b) = self.pay.buyers.get_mut(&peer) {
                    b.refuse(reason.clone());
                }
                if let Some(s) = self.pay.sellers.get_mut(&peer) {
                    s.declined(reason.clone());
                }
                self.note(peer, crate::reputation::Evidence::PaymentRefused);
                self.event(Event::PayRefused { peer, reason });
                // A buyer that declined is served like a peer without `chiral_pay`, if at all.
                if self.pay_allows_unchoke(peer) {
                    self.pay_credit_changed(peer, now);
                }
            }
        }
    }

    /// Buyer: the driver has a channel for `peer`'s terms; `signed_wei` is the highest
    /// voucher ever signed on it (from the driver's persisted book).
    pub fn handle_channel_ready(&mut self, peer: PeerKey, channel: [u8; 32], signed_wei: u128, now: u64) {
        if self.pay.buyers.get_mut(&peer).is_some_and(|b| b.channel_ready(channel, signed_wei)) {
            self.send_pay(peer, &PayMessage::Open { channel }, now);
        }
    }

    /// Buyer: no channel for these terms (price too high, no wallet, the user declined).
    pub fn decline_channel(&mut self, peer: PeerKey, reason: &str, now: u64) {
        if let Some(b) = self.pay.buyers.get_mut(&peer) {
            b.refuse(reason);
            self.send_pay(peer, &PayMessage::Refuse { reason: reason.to_string() }, now);
        }
    }

    /// Buyer: the driver added to the channel's deposit (`topUp`): the seller is asked to read
    /// it again (a second `open` of the same channel), so its credit can grow past the old one.
    pub fn channel_topped_up(&mut self, peer: PeerKey, channel: [u8; 32], now: u64) {
        if self.pay.buyers.get(&peer).is_some_and(|b| matches!(b.state, BuyerState::Open { channel: c, .. } if c == channel)) {
            self.send_pay(peer, &PayMessage::Open { channel }, now);
        }
    }

    /// Buyer: the driver persisted and signed the voucher asked for by [`Event::VoucherDue`].
    pub fn send_voucher(&mut self, peer: PeerKey, channel: [u8; 32], amount_wei: u128, signature: [u8; 65], now: u64) {
        self.send_pay(peer, &PayMessage::Voucher { channel, amount_wei, signature }, now);
    }

    /// Seller: the chain's answer for the channel `peer` named (its session signer, deposit,
    /// and the highest voucher we already hold for it), or why it cannot pay us.
    pub fn handle_channel_checked(&mut self, peer: PeerKey, result: Result<ChannelGrant, String>, now: u64) {
        let Some(s) = self.pay.sellers.get_mut(&peer) else { return };
        if s.rechecking() {
            // The re-read after a voucher above the deposit (a top-up).
            let outcome = result.map_err(|e| format!("channel refused: {e}")).and_then(|grant| s.on_rechecked(grant).map_err(|e| format!("bad voucher: {e}")));
            match outcome {
                Ok(added) => {
                    if added > 0 {
                        let o = s.open().expect("rechecked an open channel");
                        let (channel, amount_wei, signature, served_bytes) = (o.grant.channel, o.paid_wei, o.signature.unwrap_or([0; 65]), s.served_bytes());
                        self.event(Event::VoucherReceived { peer, channel, amount_wei, signature, served_bytes });
                    }
                    self.pay_credit_changed(peer, now);
                }
                Err(reason) => {
                    s.refuse(reason.clone());
                    self.send_pay(peer, &PayMessage::Refuse { reason: reason.clone() }, now);
                    self.drop_peer(peer, reason, now);
                }
            }
            return;
        }
        if !matches!(s.state, SellerState::Checking { .. }) {
            return; // an answer nobody is waiting for
        }
        s.on_checked(result);
        match &s.state {
            SellerState::Open(o) => {
                let (channel, paid_wei) = (o.grant.channel, o.paid_wei);
                self.send_pay(peer, &PayMessage::Accept { channel, paid_wei }, now);
                self.pay_credit_changed(peer, now);
            }
            SellerState::Refused { reason } => {
                let reason = format!("channel refused: {reason}");
                self.send_pay(peer, &PayMessage::Refuse { reason: reason.clone() }, now);
                self.drop_peer(peer, reason, now);
            }
            _ => {}
        }
    }

    /// Seller: the channel paying `peer` can no longer be redeemed (we closed it): the peer
    /// is told and dropped, so vouchers worth nothing buy nothing more.
    pub fn end_channel(&mut self, peer: PeerKey, reason: &str, now: u64) {
        if let Some(s) = self.pay.sellers.get_mut(&peer) {
            s.refuse(reason);
            self.send_pay(peer, &PayMessage::Refuse { reason: reason.to_string() }, now);
            self.drop_peer(peer, reason.to_string(), now);
        }
    }

    /// Credit went up: a choked, interested peer may take a slot; queued requests go out.
    fn pay_credit_changed(&mut self, peer: PeerKey, now: u64) {
        if self.peers.get(&peer).is_some_and(|p| p.am_choking && p.peer_interested) {
            let decision = self.choker.admit(peer, &self.candidates());
            self.apply(decision, now);
        }
        self.serve_uploads(peer, now);
    }

    /// May `peer` be unchoked at all?
    pub(super) fn pay_allows_unchoke(&self, peer: PeerKey) -> bool {
        let Some(offer) = self.config.sell else { return true };
        match self.pay.sellers.get(&peer) {
            Some(s) if s.is_declined() => offer.serve_others,
            Some(s) => s.allowance() > 0,
            None => offer.serve_others && !self.speaks_pay(peer),
        }
    }

    /// May a block of `bytes` go to `peer` now?
    pub(super) fn pay_allows(&self, peer: PeerKey, bytes: u64) -> bool {
        let Some(offer) = self.config.sell else { return true };
        match self.pay.sellers.get(&peer) {
            Some(s) if s.is_declined() => offer.serve_others,
            Some(s) => s.allowance() >= bytes,
            None => offer.serve_others && !self.speaks_pay(peer),
        }
    }

    pub(super) fn pay_sent(&mut self, peer: PeerKey, bytes: u64) {
        if let Some(s) = self.pay.sellers.get_mut(&peer) {
            s.sent(bytes);
        }
    }

    /// Buyer: piece `index` verified; each Style 2 seller that sent blocks of it is owed more.
    pub(super) fn pay_for_piece(&mut self, index: u32) {
        let Some(parts) = self.pay.piece_bytes.remove(&index) else { return };
        for (peer, bytes) in parts {
            let Some(b) = self.pay.buyers.get_mut(&peer) else { continue };
            if let Some((channel, amount_wei)) = b.on_verified(bytes) {
                let terms = b.terms;
                self.event(Event::VoucherDue { peer, channel, amount_wei, terms });
            }
        }
    }

    /// Every connection's Style 2 session.
    pub fn pay_sessions(&self) -> Vec<(PeerKey, PaySession)> {
        let sellers = self.pay.sellers.iter().map(|(k, s)| (*k, PaySession::Selling(s.clone())));
        let buyers = self.pay.buyers.iter().map(|(k, b)| (*k, PaySession::Buying(b.clone())));
        let mut all: Vec<_> = sellers.chain(buyers).collect();
        all.sort_by_key(|(k, _)| *k);
        all
    }

    /// Bytes of the pieces still to fetch (what a new channel's deposit must cover);
    /// `None` before the info dict is known.
    pub fn missing_bytes(&self) -> Option<u64> {
        let k = self.known.as_ref()?;
        let wanted = |i: u32| k.picker.wanted.as_ref().is_none_or(|w| w.get(i));
        Some((0..k.info.pieces()).filter(|i| !k.have.get(*i) && wanted(*i)).map(|i| u64::from(k.info.piece_len(i))).sum())
    }

    /// Buyer: whether this connection is in Style 2 and opened.
    pub fn buying_open(&self, peer: PeerKey) -> bool {
        self.pay.buyers.get(&peer).is_some_and(|b| matches!(b.state, BuyerState::Open { .. }))
    }
}
