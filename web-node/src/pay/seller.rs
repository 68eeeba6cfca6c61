//! The seller's side of one Style 2 connection, pure: which channel pays for it, the highest
//! voucher received, and how many more bytes may be sent (the credit window ahead of what
//! is paid, never past the deposit). Vouchers are checked locally (EIP-712 signature by the
//! channel's session signer, the channel, a strictly higher cumulative amount within the
//! deposit); the chain is asked only when the channel is opened here and when a voucher
//! would go past the deposit last seen.
//!
//! ```text
//! AwaitOpen --Open{channel}--> Checking --chain says ok--> Open --Voucher--> Open (paid ↑)
//!                                   \--chain says no--> Refused
//! ```
//! Accounting is per channel, across connections: `paid_bytes = paid × 10^6 / price` (rounded
//! down, so a buyer that pays `amount_wei(bytes, price)`, rounded up, covers what it got) and
//! `served = served before this connection + sent on it`; the allowance is
//! `paid_bytes + credit − served`, never past `deposit × 10^6 / price − served`. A buyer that
//! reconnects therefore gets no fresh credit window.

use alloy_primitives::{Address, B256, U256};

use super::contract;
use super::wire::Terms;
use crate::settlement::BYTES_PER_MB;

/// What the chain says about a channel (read by the driver with `channels(id)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelGrant {
    pub channel: [u8; 32],
    /// The session key vouchers must be signed by.
    pub signer: [u8; 20],
    /// Wei locked in the channel.
    pub deposit: u128,
    /// The highest voucher the seller already holds for this channel (from an earlier
    /// connection), or 0.
    pub paid_wei: u128,
    /// Piece bytes already served on this channel by earlier connections.
    pub served_bytes: u64,
}

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoucherError {
    #[error("voucher for another channel")]
    WrongChannel,
    #[error("voucher for {amount} wei is not above the {paid} wei already paid (replayed or stale)")]
    NotHigher { amount: u128, paid: u128 },
    #[error("voucher for {amount} wei is over the channel's {deposit} wei deposit")]
    OverDeposit { amount: u128, deposit: u128 },
    #[error("voucher is not signed by the channel's session key")]
    BadSignature,
    #[error("no channel is open on this connection")]
    NoChannel,
    #[error("the channel was named again, but its deposit did not grow")]
    NoTopUp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SellerState {
    /// Terms sent; no channel named yet. Nothing is served.
    AwaitOpen,
    /// The buyer named a channel; the driver is reading it on chain.
    Checking { channel: [u8; 32] },
    Open(OpenChannel),
    /// The chain refused the channel, or a voucher was bad: nothing more is served.
    Refused { reason: String },
    /// The buyer declined to pay in Style 2 (no wallet, price too high): it is served as a
    /// peer that does not speak `chiral_pay` is, if the seller serves those at all.
    Declined { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenChannel {
    pub grant: ChannelGrant,
    /// The highest voucher received (starts at `grant.paid_wei`).
    pub paid_wei: u128,
    /// Its signature, which closes the channel.
    pub signature: Option<[u8; 65]>,
    /// Piece bytes sent on this connection since the channel opened here.
    pub sent_bytes: u64,
    /// A correctly signed voucher above the deposit last seen, waiting for the chain to show
    /// a larger one (the buyer topped up): amount and signature.
    pub pending: Option<(u128, [u8; 65])>,
    /// The buyer said it topped up (`open` again on this channel): the channel is being
    /// read again for its deposit.
    pub refreshing: bool,
}

/// What became of a voucher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoucherOutcome {
    /// Kept: the new highest, adding this many wei.
    Kept(u128),
    /// Signed right but above the deposit last seen: read the channel again (a top-up), then
    /// [`SellerSession::on_rechecked`].
    Recheck,
    /// Signed right, above the deposit last seen, while a re-read is already out: kept until
    /// that read answers.
    Waiting,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SellerSession {
    pub terms: Terms,
    pub state: SellerState,
}

impl SellerSession {
    pub fn new(terms: Terms) -> Self {
        Self { terms, state: SellerState::AwaitOpen }
    }

    pub fn open(&self) -> Option<&OpenChannel> {
        match &self.state {
            SellerState::Open(o) => Some(o),
            _ => None,
        }
    }

    fn bytes_for(&self, wei: u128) -> u64 {
        u64::try_from(wei.saturating_mul(BYTES_PER_MB) / self.terms.price_per_mb_wei).unwrap_or(u64::MAX)
    }

    /// Bytes the channel's highest voucher pays for (all connections).
    pub fn paid_bytes(&self) -> u64 {
        let Some(o) = self.open() else { return 0 };
        if self.terms.price_per_mb_wei == 0 {
            return u64::MAX;
        }
        self.bytes_for(o.paid_wei)
    }

    /// Piece bytes served on the channel, all connections.
    pub fn served_bytes(&self) -> u64 {
        self.open().map_or(0, |o| o.grant.served_bytes.saturating_add(o.sent_bytes))
    }

    /// How many more piece bytes may go out now: paid + credit window − served, and never
    /// more than the deposit covers. 0 without an open channel.
    pub fn allowance(&self) -> u64 {
        let Some(o) = self.open() else { return 0 };
        if self.terms.price_per_mb_wei == 0 {
            return u64::MAX;
        }
        let served = self.served_bytes();
        let by_credit = self.paid_bytes().saturating_add(self.terms.credit_bytes).saturating_sub(served);
        let by_deposit = self.bytes_for(o.grant.deposit).saturating_sub(served);
        by_credit.min(by_deposit)
    }

    /// Counts bytes that went out.
    pub fn sent(&mut self, bytes: u64) {
        if let SellerState::Open(o) = &mut self.state {
            o.sent_bytes = o.sent_bytes.saturating_add(bytes);
        }
    }

    /// The buyer named `channel`: a first time (check it), or again on the open channel
    /// (it topped up: read it again, if the deposit is what limits the credit; else nothing
    /// to do). `Some(true)`: read the channel on chain; `Some(false)`: nothing to do; `None`:
    /// refused (another channel).
    pub fn on_open(&mut self, channel: [u8; 32]) -> Option<bool> {
        // A re-read is worth a chain call only when the deposit is what limits the credit
        // (the buyer has paid nearly all of it): no free chain calls for anyone else.
        let deposit_binds = self.open().is_some_and(|o| self.terms.price_per_mb_wei > 0 && self.bytes_for(o.grant.deposit) <= self.paid_bytes().saturating_add(self.terms.credit_bytes));
        match &mut self.state {
            SellerState::AwaitOpen => {
                self.state = SellerState::Checking { channel };
                Some(true)
            }
            SellerState::Open(o) if o.grant.channel == channel && !o.refreshing && o.pending.is_none() && deposit_binds => {
                o.refreshing = true;
                Some(true)
            }
            SellerState::Open(o) if o.grant.channel == channel => Some(false),
            _ => None,
        }
    }

    /// The chain's answer for the channel being checked.
    pub fn on_checked(&mut self, result: Result<ChannelGrant, String>) {
        let SellerState::Checking { channel } = self.state else { return };
        self.state = match result {
            Ok(grant) if grant.channel == channel => {
                SellerState::Open(OpenChannel { grant, paid_wei: grant.paid_wei, signature: None, sent_bytes: 0, pending: None, refreshing: false })
            }
            Ok(_) => SellerState::Refused { reason: "the chain answered for another channel".into() },
            Err(reason) => SellerState::Refused { reason },
        };
    }

    /// A voucher: checked locally, kept if it is the new highest. A correctly signed one above
    /// the deposit last seen asks for one re-read of the channel (the buyer may have topped
    /// up); a second one while that read is out, or one still above after it, is refused.
    pub fn on_voucher(&mut self, channel: [u8; 32], amount_wei: u128, signature: [u8; 65]) -> Result<VoucherOutcome, VoucherError> {
        let terms = self.terms;
        let SellerState::Open(o) = &mut self.state else { return Err(VoucherError::NoChannel) };
        if channel != o.grant.channel {
            return Err(VoucherError::WrongChannel);
        }
        if amount_wei <= o.paid_wei {
            return Err(VoucherError::NotHigher { amount: amount_wei, paid: o.paid_wei });
        }
        Self::check_signature(&terms, o, channel, amount_wei, &signature)?;
        if amount_wei > o.grant.deposit {
            if o.pending.is_some() {
                return Err(VoucherError::OverDeposit { amount: amount_wei, deposit: o.grant.deposit });
            }
            o.pending = Some((amount_wei, signature));
            return Ok(if o.refreshing { VoucherOutcome::Waiting } else { VoucherOutcome::Recheck });
        }
        let added = amount_wei - o.paid_wei;
        o.paid_wei = amount_wei;
        o.signature = Some(signature);
        Ok(VoucherOutcome::Kept(added))
    }

    /// The channel read again (after [`VoucherOutcome::Recheck`], or a buyer's second `open`
    /// after a top-up): the deposit is updated, and a waiting voucher is kept if it now fits
    /// (returns the wei it adds; 0 without one), else refused.
    pub fn on_rechecked(&mut self, grant: ChannelGrant) -> Result<u128, VoucherError> {
        let SellerState::Open(o) = &mut self.state else { return Err(VoucherError::NoChannel) };
        if grant.channel != o.grant.channel {
            return Err(VoucherError::WrongChannel);
        }
        let refreshed = std::mem::take(&mut o.refreshing);
        let grew = grant.deposit > o.grant.deposit;
        o.grant.deposit = o.grant.deposit.max(grant.deposit);
        let Some((amount, signature)) = o.pending.take() else {
            // Named again with nothing new on chain: no free chain reads (the peer is dropped).
            return if refreshed && !grew { Err(VoucherError::NoTopUp) } else { Ok(0) };
        };
        if amount > o.grant.deposit {
            return Err(VoucherError::OverDeposit { amount, deposit: o.grant.deposit });
        }
        let added = amount.saturating_sub(o.paid_wei);
        o.paid_wei = o.paid_wei.max(amount);
        o.signature = Some(signature);
        Ok(added)
    }

    /// Waiting for the chain to read the open channel again.
    pub fn rechecking(&self) -> bool {
        self.open().is_some_and(|o| o.pending.is_some() || o.refreshing)
    }

    fn check_signature(terms: &Terms, o: &OpenChannel, channel: [u8; 32], amount_wei: u128, signature: &[u8; 65]) -> Result<(), VoucherError> {
        let signer = contract::recover_voucher_signer(
            terms.chain_id,
            Address::from(terms.contract),
            B256::from(channel),
            U256::from(amount_wei),
            signature,
        )
        .map_err(|_| VoucherError::BadSignature)?;
        if signer != Address::from(o.grant.signer) {
            return Err(VoucherError::BadSignature);
        }
        Ok(())
    }

    /// Fails the session: nothing more is served.
    pub fn refuse(&mut self, reason: impl Into<String>) {
        self.state = SellerState::Refused { reason: reason.into() };
    }

    /// The buyer said it will not pay in Style 2 (before any channel was open here).
    pub fn declined(&mut self, reason: impl Into<String>) {
        if matches!(self.state, SellerState::AwaitOpen | SellerState::Checking { .. }) {
            self.state = SellerState::Declined { reason: reason.into() };
        } else {
            self.refuse(reason);
        }
    }

    pub fn is_declined(&self) -> bool {
        matches!(self.state, SellerState::Declined { .. })
    }
}
