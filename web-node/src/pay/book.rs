//! The channel books, pure and persisted as JSON by the driver (a file for the relay and
//! `relay fetch`, browser storage for the page).
//!
//! - [`BuyerBook`]: the payer's channels, one per (chain, contract, payee): the session key,
//!   the deposit, and the highest amount ever signed. The driver writes the book with the
//!   new amount *before* the voucher leaves ([`BuyerBook::promise`]), so after a crash or a
//!   reload it never signs a lower or a repeated amount: it resumes above it.
//! - [`SellerBook`]: the payee's channels: the highest voucher received (what closing
//!   settles), when the last one came, and whether it was closed; [`SellerBook::due`] says
//!   which to close now (idle, or near the channel's timeout).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::wire::Terms;

fn hex0x(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

/// The book's key for a seller: `chain:contract:payee`, lower-case hex.
pub fn payee_key(terms: &Terms) -> String {
    format!("{}:{}:{}", terms.chain_id, hex0x(&terms.contract), hex0x(&terms.payee))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerChannel {
    /// 0x-hex channel id.
    pub channel: String,
    /// 0x-hex secp256k1 secret of the session key the channel authorizes (it can spend at
    /// most the deposit, and only to this payee).
    pub session_key: String,
    pub deposit_wei: String,
    /// Highest cumulative amount signed, decimal wei.
    pub signed_wei: String,
    /// Unix seconds after which the payer may reclaim.
    pub expires_at: u64,
    pub price_per_mb_wei: String,
    /// Reclaimed or seen closed on chain.
    #[serde(default)]
    pub finished: bool,
}

impl BuyerChannel {
    pub fn signed(&self) -> u128 {
        self.signed_wei.parse().unwrap_or(0)
    }

    pub fn deposit(&self) -> u128 {
        self.deposit_wei.parse().unwrap_or(0)
    }

    pub fn id(&self) -> Option<[u8; 32]> {
        hex::decode(self.channel.trim_start_matches("0x")).ok()?.try_into().ok()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerBook {
    /// [`payee_key`] → the live channel to that payee.
    pub channels: BTreeMap<String, BuyerChannel>,
    /// Channels replaced by a newer one to the same payee while they still held a deposit:
    /// kept so the deposit can be reclaimed (at most [`MAX_ARCHIVED`], oldest dropped).
    #[serde(default)]
    pub archived: Vec<BuyerChannel>,
}

/// Replaced channels kept in a [`BuyerBook`].
pub const MAX_ARCHIVED: usize = 64;

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    #[error("that channel is not the book's live channel for that payee")]
    NoChannel,
    #[error("{amount} wei is not above the {signed} wei already signed")]
    NotHigher { amount: u128, signed: u128 },
    #[error("{amount} wei is over the {deposit} wei deposit")]
    OverDeposit { amount: u128, deposit: u128 },
    #[error("the book is not valid JSON: {0}")]
    Json(String),
}

impl BuyerBook {
    pub fn from_json(text: &str) -> Result<Self, BookError> {
        serde_json::from_str(text).map_err(|e| BookError::Json(e.to_string()))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain data")
    }

    /// The live channel for these terms that still has `needed_wei` of room and does not
    /// expire before `min_expiry` (unix seconds).
    pub fn usable(&self, terms: &Terms, needed_wei: u128, min_expiry: u64) -> Option<&BuyerChannel> {
        self.channels
            .get(&payee_key(terms))
            .filter(|c| !c.finished && c.expires_at >= min_expiry && c.deposit().saturating_sub(c.signed()) >= needed_wei)
    }

    /// The live channel for these terms from now on; the one it replaces is archived if it
    /// may still hold a deposit.
    pub fn insert(&mut self, terms: &Terms, channel: BuyerChannel) {
        if let Some(old) = self.channels.insert(payee_key(terms), channel) {
            if !old.finished || old.id().is_none() || old.deposit() > old.signed() {
                if self.archived.len() >= MAX_ARCHIVED {
                    self.archived.remove(0);
                }
                self.archived.push(old);
            }
        }
    }

    /// Every channel with this 0x-hex id (live or archived) is done: reclaimed or closed.
    pub fn finish(&mut self, channel: &str) {
        for c in self.channels.values_mut().chain(self.archived.iter_mut()).filter(|c| c.channel.eq_ignore_ascii_case(channel)) {
            c.finished = true;
        }
    }

    /// Records `amount` as signed on the channel for `terms`; refuses a lower or equal
    /// amount, or one over the deposit. Persist the book after this, then sign and send.
    pub fn promise(&mut self, terms: &Terms, channel: &[u8; 32], amount: u128) -> Result<&BuyerChannel, BookError> {
        let c = self.channels.get_mut(&payee_key(terms)).filter(|c| c.id().as_ref() == Some(channel)).ok_or(BookError::NoChannel)?;
        let signed = c.signed();
        if amount <= signed {
            return Err(BookError::NotHigher { amount, signed });
        }
        if amount > c.deposit() {
            return Err(BookError::OverDeposit { amount, deposit: c.deposit() });
        }
        c.signed_wei = amount.to_string();
        Ok(c)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerChannel {
    pub payer: String,
    pub signer: String,
    pub deposit_wei: String,
    pub expires_at: u64,
    /// Highest voucher, decimal wei, and its 0x-hex 65-byte signature.
    pub paid_wei: String,
    pub signature: Option<String>,
    /// Unix seconds of the last voucher.
    pub last_voucher_at: u64,
    /// The closing transaction's hash once sent.
    #[serde(default)]
    pub closed_tx: Option<String>,
    /// A closing transaction is on its way: vouchers from now on are worth nothing.
    #[serde(default)]
    pub closing: bool,
    /// Piece bytes served on the channel, all connections (no fresh credit on a reconnect).
    #[serde(default)]
    pub served_bytes: u64,
}

impl SellerChannel {
    pub fn paid(&self) -> u128 {
        self.paid_wei.parse().unwrap_or(0)
    }

    pub fn signature(&self) -> Option<[u8; 65]> {
        hex::decode(self.signature.as_deref()?.trim_start_matches("0x")).ok()?.try_into().ok()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerBook {
    /// 0x-hex channel id → what we hold.
    pub channels: BTreeMap<String, SellerChannel>,
}

impl SellerBook {
    pub fn from_json(text: &str) -> Result<Self, BookError> {
        serde_json::from_str(text).map_err(|e| BookError::Json(e.to_string()))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain data")
    }

    /// The highest voucher held for `channel` (0 if none).
    pub fn paid(&self, channel: &[u8; 32]) -> u128 {
        self.channels.get(&hex0x(channel)).map_or(0, SellerChannel::paid)
    }

    /// We are closing it, or closed it: later vouchers on it are worth nothing.
    pub fn is_closed(&self, channel: &[u8; 32]) -> bool {
        self.channels.get(&hex0x(channel)).is_some_and(|c| c.closing || c.closed_tx.is_some())
    }

    /// Piece bytes served on `channel` so far (all connections).
    pub fn served(&self, channel: &[u8; 32]) -> u64 {
        self.channels.get(&hex0x(channel)).map_or(0, |c| c.served_bytes)
    }

    /// Records the bytes served on `channel` in all (only ever grows).
    pub fn record_served(&mut self, channel: &[u8; 32], served_bytes: u64) -> bool {
        let Some(c) = self.channels.get_mut(&hex0x(channel)) else { return false };
        if served_bytes <= c.served_bytes {
            return false;
        }
        c.served_bytes = served_bytes;
        true
    }

    /// Marks `id` (0x-hex) as closing before the transaction leaves (`false` undoes it after
    /// a failed send).
    pub fn set_closing(&mut self, id: &str, closing: bool) {
        if let Some(c) = self.channels.get_mut(id) {
            c.closing = closing;
        }
    }

    /// A channel the chain confirmed, before any voucher.
    pub fn opened(&mut self, channel: &[u8; 32], payer: [u8; 20], signer: [u8; 20], deposit: u128, expires_at: u64) {
        let entry = self.channels.entry(hex0x(channel)).or_insert_with(|| SellerChannel {
            payer: hex0x(&payer),
            signer: hex0x(&signer),
            deposit_wei: deposit.to_string(),
            expires_at,
            paid_wei: "0".into(),
            signature: None,
            last_voucher_at: 0,
            closed_tx: None,
            closing: false,
            served_bytes: 0,
        });
        entry.deposit_wei = deposit.to_string();
        entry.expires_at = expires_at;
    }

    /// A voucher the swarm checked; kept only if it is the highest. Returns whether it was.
    pub fn received(&mut self, channel: &[u8; 32], amount: u128, signature: &[u8; 65], now_secs: u64) -> bool {
        let Some(c) = self.channels.get_mut(&hex0x(channel)) else { return false };
        if amount <= c.paid() || c.closed_tx.is_some() || c.closing {
            return false;
        }
        c.paid_wei = amount.to_string();
        c.signature = Some(hex0x(signature));
        c.last_voucher_at = now_secs;
        true
    }

    /// Channels to close now: a voucher held, not closed, and either idle for `idle_secs`
    /// or within `margin_secs` of the payer's reclaim time.
    pub fn due(&self, now_secs: u64, idle_secs: u64, margin_secs: u64) -> Vec<String> {
        self.channels
            .iter()
            .filter(|(_, c)| c.closed_tx.is_none() && c.paid() > 0 && c.signature.is_some())
            .filter(|(_, c)| now_secs >= c.last_voucher_at.saturating_add(idle_secs) || now_secs.saturating_add(margin_secs) >= c.expires_at)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn terms() -> Terms {
        Terms { price_per_mb_wei: 5, payee: [1; 20], chain_id: 98765, contract: [2; 20], credit_bytes: 1 << 20 }
    }

    fn channel() -> BuyerChannel {
        BuyerChannel {
            channel: hex0x(&[3; 32]),
            session_key: hex0x(&[4; 32]),
            deposit_wei: "1000".into(),
            signed_wei: "0".into(),
            expires_at: 500,
            price_per_mb_wei: "5".into(),
            finished: false,
        }
    }

    #[test]
    fn the_buyer_never_promises_lower_equal_or_over_the_deposit_and_survives_a_reload() {
        let mut book = BuyerBook::default();
        let id = [3; 32];
        assert_eq!(book.promise(&terms(), &id, 1), Err(BookError::NoChannel));
        book.insert(&terms(), channel());
        assert_eq!(book.promise(&terms(), &[4; 32], 1), Err(BookError::NoChannel), "another channel");
        book.promise(&terms(), &id, 10).unwrap();
        assert_eq!(book.promise(&terms(), &id, 10), Err(BookError::NotHigher { amount: 10, signed: 10 }));
        assert_eq!(book.promise(&terms(), &id, 9), Err(BookError::NotHigher { amount: 9, signed: 10 }));
        assert_eq!(book.promise(&terms(), &id, 1001), Err(BookError::OverDeposit { amount: 1001, deposit: 1000 }));
        let reloaded = BuyerBook::from_json(&book.to_json()).unwrap();
        assert_eq!(reloaded.channels[&payee_key(&terms())].signed(), 10);
        assert!(reloaded.usable(&terms(), 990, 400).is_some());
        assert!(reloaded.usable(&terms(), 991, 400).is_none(), "not enough room");
        assert!(reloaded.usable(&terms(), 1, 501).is_none(), "expires too soon");
        assert!(BuyerBook::from_json("{").is_err());
        // A newer channel to the same payee archives the old one (its deposit is still there).
        let mut book = reloaded;
        book.insert(&terms(), BuyerChannel { channel: hex0x(&[5; 32]), ..channel() });
        assert_eq!(book.archived.len(), 1);
        assert_eq!(book.archived[0].channel, hex0x(&[3; 32]));
        book.finish(&hex0x(&[3; 32]));
        assert!(book.archived[0].finished);
    }

    #[test]
    fn the_seller_keeps_the_highest_voucher_and_closes_when_idle_or_near_timeout() {
        let mut book = SellerBook::default();
        let id = [7; 32];
        assert!(!book.received(&id, 5, &[1; 65], 10), "unknown channel");
        book.opened(&id, [1; 20], [2; 20], 100, 1_000);
        assert!(book.due(10, 60, 100).is_empty(), "nothing to close without a voucher");
        assert!(book.received(&id, 5, &[1; 65], 10));
        assert!(!book.received(&id, 5, &[9; 65], 11), "not higher");
        assert_eq!(book.paid(&id), 5);
        assert!(book.due(20, 60, 100).is_empty());
        assert_eq!(book.due(70, 60, 100).len(), 1, "idle");
        assert_eq!(book.due(20, 6_000, 990).len(), 1, "near the timeout");
        book.channels.values_mut().for_each(|c| c.closed_tx = Some("0xabc".into()));
        assert!(book.due(10_000, 60, 100).is_empty());
        assert_eq!(SellerBook::from_json(&book.to_json()).unwrap(), book);
    }
}
