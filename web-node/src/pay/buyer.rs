//! The buyer's side of one Style 2 connection, pure: the seller's terms, the channel the
//! driver chose for them, and the cumulative amount owed after each verified piece.
//!
//! ```text
//! (Terms) AwaitChannel --driver: channel ready--> Opening --Accept{paid}--> Open
//!                                                       \--Refuse--> Refused
//! ```
//! The amount is cumulative per channel: `base + amount_wei(verified_bytes, price)`, where
//! `base` is what the driver's book says was signed before (written before each voucher
//! leaves, so a reload never signs a lower or repeated amount), rounded up per MB as in
//! [`crate::settlement::amount_wei`]. A seller that claims to hold more than that is refused.

use super::wire::Terms;
use crate::settlement::amount_wei;

/// Extra bytes a new channel's deposit covers beyond what is still to fetch: pieces fetched
/// again after a reload or a failed piece are paid again, and must not stall at the deposit.
pub const DEPOSIT_SLACK_BYTES: u64 = 4 << 20;

/// The deposit for a new channel when `missing_bytes` are still to fetch at `price`:
/// those bytes, 10 % and [`DEPOSIT_SLACK_BYTES`] more, in wei.
pub fn deposit_for(missing_bytes: u64, price_per_mb_wei: u128) -> u128 {
    amount_wei(missing_bytes.saturating_add(missing_bytes / 10).saturating_add(DEPOSIT_SLACK_BYTES), price_per_mb_wei).max(1)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuyerState {
    /// Terms received; the driver is finding or opening a channel.
    AwaitChannel,
    /// `Open` sent; waiting for the seller's `Accept`.
    Opening { channel: [u8; 32], signed_wei: u128 },
    Open { channel: [u8; 32], base_wei: u128, verified_bytes: u64, promised_wei: u128 },
    /// The seller refused, or we declined: this connection is not paid in Style 2.
    Refused { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuyerSession {
    pub terms: Terms,
    pub state: BuyerState,
}

impl BuyerSession {
    pub fn new(terms: Terms) -> Self {
        Self { terms, state: BuyerState::AwaitChannel }
    }

    /// The driver has a channel for these terms; `signed_wei`: the highest voucher it ever
    /// signed on it. Returns whether `Open` should go out.
    pub fn channel_ready(&mut self, channel: [u8; 32], signed_wei: u128) -> bool {
        if matches!(self.state, BuyerState::AwaitChannel) {
            self.state = BuyerState::Opening { channel, signed_wei };
            return true;
        }
        false
    }

    /// The seller accepted `channel` and says it holds vouchers up to `paid_wei`. We resume
    /// from what our own book signed: a seller claiming more than that is lying (it would make
    /// us sign for bytes never sent) and is refused.
    pub fn on_accept(&mut self, channel: [u8; 32], paid_wei: u128) -> Result<(), String> {
        match self.state {
            BuyerState::Opening { channel: ours, signed_wei } if ours == channel => {
                if paid_wei > signed_wei {
                    let reason = format!("the seller claims a voucher for {paid_wei} wei; we signed at most {signed_wei}");
                    self.refuse(reason.clone());
                    return Err(reason);
                }
                self.state = BuyerState::Open { channel, base_wei: signed_wei, verified_bytes: 0, promised_wei: signed_wei };
                Ok(())
            }
            _ => Err("an accept for a channel we did not name".into()),
        }
    }

    /// `bytes` more of verified piece data from this seller. Returns the new cumulative
    /// amount to sign when it went up.
    pub fn on_verified(&mut self, bytes: u64) -> Option<([u8; 32], u128)> {
        let price = self.terms.price_per_mb_wei;
        let BuyerState::Open { channel, base_wei, verified_bytes, promised_wei } = &mut self.state else { return None };
        *verified_bytes = verified_bytes.saturating_add(bytes);
        let owed = base_wei.saturating_add(amount_wei(*verified_bytes, price));
        (owed > *promised_wei).then(|| {
            *promised_wei = owed;
            (*channel, owed)
        })
    }

    pub fn refuse(&mut self, reason: impl Into<String>) {
        self.state = BuyerState::Refused { reason: reason.into() };
    }

    /// Paid in Style 2 (or about to be): not a Style 1 seller for this connection.
    pub fn is_style2(&self) -> bool {
        !matches!(self.state, BuyerState::Refused { .. })
    }
}
