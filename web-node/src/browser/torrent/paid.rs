//! Style 2 for one torrent: the swarm's payment events carried out by the page's channel
//! agent ([`crate::browser::channels`]). Chain calls run off the event loop and come back
//! to the swarm; vouchers are persisted and signed at once.

use wasm_bindgen_futures::spawn_local;

use super::{now_ms, Torrent};
use crate::browser::channels;
use crate::swarm::{Event, PeerKey};

/// The most of a seller's credit window a buyer keeps in its deposit ahead of time, bytes.
const MAX_TOP_UP_WINDOW: u64 = 16 << 20;

impl Torrent {
    pub(super) fn on_pay_event(&self, event: Event) {
        let now = now_ms() as u64;
        match event {
            Event::ChannelNeeded { peer, terms } => {
                let length = self.0.borrow().swarm.missing_bytes();
                match length {
                    Some(length) => self.open_channel(peer, terms, length),
                    None => self.0.borrow_mut().pay_pending.push((peer, terms)),
                }
            }
            Event::CheckChannel { peer, channel, terms } => {
                self.0.borrow_mut().pay_channels.insert(peer, channel);
                let weak = self.downgrade();
                let owner = self.pay_owner(peer);
                spawn_local(async move {
                    let result = channels::check(channel, terms, &owner).await;
                    match weak.upgrade() {
                        Some(t) if t.0.borrow().peers.contains_key(&peer) => {
                            t.0.borrow_mut().swarm.handle_channel_checked(peer, result, now_ms() as u64);
                            t.pump();
                        }
                        _ => channels::release(channel, &owner),
                    }
                });
            }
            Event::ChannelReleased { peer, channel, served_bytes } => {
                self.0.borrow_mut().pay_channels.remove(&peer);
                channels::released(channel, &self.pay_owner(peer), served_bytes);
            }
            Event::VoucherDue { peer, channel, amount_wei, terms } => {
                if let Some(short) = channels::shortfall(&terms, &channel, amount_wei) {
                    // The deposit ran out (pieces fetched again): top it up, then pay the latest.
                    // A top-up already on its way pays the latest due when it is mined.
                    let first = self.0.borrow_mut().pay_due.insert(channel, (peer, amount_wei, terms)).is_none();
                    if first && !channels::topping(&channel) {
                        self.top_up(peer, channel, terms, short);
                    }
                    return;
                }
                self.pay_voucher(peer, channel, amount_wei, terms);
                // Ahead of time: once less than the credit window (and two pieces) of deposit is
                // left and more is to come, add to it, so the seller never waits for it.
                let missing = self.0.borrow().swarm.missing_bytes().unwrap_or(0);
                let piece = self.0.borrow().swarm.info().map_or(0, |i| u64::from(i.piece_length));
                // The seller names the window: capped here, and never more than what is missing,
                // so once a top-up covers the rest of the file it does not happen again.
                let window = terms.credit_bytes.clamp(2 * piece, MAX_TOP_UP_WINDOW);
                let margin = crate::settlement::amount_wei(window.min(missing), terms.price_per_mb_wei);
                let low = channels::left_in_deposit(&terms, &channel).is_some_and(|left| left < margin);
                if missing > 0 && low && !channels::topping(&channel) && !self.0.borrow().pay_due.contains_key(&channel) {
                    self.top_up(peer, channel, terms, 0);
                }
            }
            Event::VoucherReceived { peer, channel, amount_wei, signature, served_bytes } => {
                // Not kept (closed, or storage full): the credit it bought must not be used.
                if let Err(e) = channels::received(channel, amount_wei, signature, served_bytes) {
                    self.0.borrow_mut().swarm.end_channel(peer, &e, now);
                }
            }
            Event::PayRefused { peer, reason } => tracing::info!("peer {} refused Style 2: {reason}", peer.0),
            _ => {}
        }
    }

    fn pay_voucher(&self, peer: PeerKey, channel: [u8; 32], amount_wei: u128, terms: crate::pay::wire::Terms) {
        let now = now_ms() as u64;
        match channels::voucher(&terms, channel, amount_wei) {
            Ok(signature) => self.0.borrow_mut().swarm.send_voucher(peer, channel, amount_wei, signature, now),
            Err(e) => {
                tracing::warn!("not paying peer {}: {e}", peer.0);
                self.0.borrow_mut().swarm.decline_channel(peer, &e, now);
            }
        }
    }

    /// Adds the shortfall and what is still to fetch to the channel's deposit, then signs the
    /// latest voucher asked for meanwhile (the seller re-reads the channel when it sees it).
    fn top_up(&self, peer: PeerKey, channel: [u8; 32], terms: crate::pay::wire::Terms, short: u128) {
        let missing = self.0.borrow().swarm.missing_bytes().unwrap_or(0);
        let add = short.saturating_add(crate::pay::buyer::deposit_for(missing, terms.price_per_mb_wei));
        let weak = self.downgrade();
        spawn_local(async move {
            let result = channels::top_up(terms, channel, add).await;
            let Some(t) = weak.upgrade() else { return };
            let due = t.0.borrow_mut().pay_due.remove(&channel);
            match (result, due) {
                (Ok(_), due) => {
                    if let Some((peer, amount, terms)) = due {
                        t.pay_voucher(peer, channel, amount, terms);
                    }
                    // The seller reads the channel again and lets its credit grow.
                    t.0.borrow_mut().swarm.channel_topped_up(peer, channel, now_ms() as u64);
                }
                (Err(e), Some((peer, _, _))) => {
                    tracing::warn!("cannot add to the deposit of a channel: {e}");
                    t.0.borrow_mut().swarm.decline_channel(peer, &e, now_ms() as u64);
                }
                (Err(e), None) => tracing::info!("not adding to a channel's deposit now: {e}"),
            }
            t.pump();
        });
    }

    fn open_channel(&self, peer: PeerKey, terms: crate::pay::wire::Terms, length: u64) {
        let weak = self.downgrade();
        spawn_local(async move {
            let result = channels::channel_for(terms, length).await;
            let Some(t) = weak.upgrade() else { return };
            {
                let mut inner = t.0.borrow_mut();
                let now = now_ms() as u64;
                match result {
                    Ok((channel, signed)) => inner.swarm.handle_channel_ready(peer, channel, signed, now),
                    Err(e) => {
                        tracing::warn!("no channel for peer {}: {e}", peer.0);
                        inner.swarm.decline_channel(peer, &e, now);
                    }
                }
            }
            t.pump();
        });
    }

    /// The info dict is in: sellers who named terms before get a channel sized for what is missing.
    pub(super) fn open_pending_channels(&self) {
        let Some(length) = self.0.borrow().swarm.missing_bytes() else { return };
        let pending = std::mem::take(&mut self.0.borrow_mut().pay_pending);
        for (peer, terms) in pending {
            self.open_channel(peer, terms, length);
        }
    }

    /// Who holds a channel: this torrent's connection `peer` (unique in the page).
    fn pay_owner(&self, peer: PeerKey) -> String {
        format!("{}/{}", hex::encode(self.info_hash()), peer.0)
    }

    /// A connection gone before its channel opened: releases the channel only if it held it.
    pub(super) fn release_channel(&self, peer: PeerKey) {
        let channel = self.0.borrow_mut().pay_channels.remove(&peer);
        if let Some(channel) = channel {
            channels::release(channel, &self.pay_owner(peer));
        }
    }
}
