//! The relay as a Style 2 seller of its own files: checks the channels buyers name (on
//! chain, once per connection), keeps the highest voucher of each in `DATA_DIR/vouchers.json`
//! (written before the credit it buys is used), and closes channels with the payee key when
//! they go idle or near their timeout.
//! One channel pays one connection at a time (a second connection naming it is refused),
//! and the bytes served on it are kept across connections, so the credit window is never
//! granted twice for one payment.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use web_node::pay::book::SellerBook;
use web_node::pay::contract;
use web_node::pay::seller::ChannelGrant;
use web_node::pay::wire::Terms;

use super::chain::Chain;

/// A channel must stay open at least this long after it is accepted.
pub const MIN_TIME_LEFT_SECS: u64 = 600;

pub struct SellerService {
    pub terms: Terms,
    chain: Chain,
    payee_key: Option<PrivateKeySigner>,
    book: Mutex<SellerBook>,
    book_path: PathBuf,
    /// Channel → the connection it pays (one at a time).
    busy: Mutex<HashMap<[u8; 32], String>>,
    /// Close a channel this long after its last voucher.
    pub close_idle_secs: u64,
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl SellerService {
    pub fn new(terms: Terms, chain: Chain, payee_key: Option<PrivateKeySigner>, data_dir: &std::path::Path, close_idle_secs: u64) -> anyhow::Result<Arc<Self>> {
        let book_path = data_dir.join("vouchers.json");
        let book = match std::fs::read_to_string(&book_path) {
            Ok(text) => SellerBook::from_json(&text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => SellerBook::default(),
            Err(e) => return Err(e.into()),
        };
        Ok(Arc::new(Self { terms, chain, payee_key, book: Mutex::new(book), book_path, busy: Mutex::default(), close_idle_secs }))
    }

    fn save(&self, book: &SellerBook) -> Result<(), String> {
        let tmp = self.book_path.with_extension("json.tmp");
        let written = std::fs::write(&tmp, book.to_json()).and_then(|()| std::fs::rename(&tmp, &self.book_path));
        written.map_err(|e| {
            tracing::error!(path = %self.book_path.display(), "cannot save the vouchers: {e}");
            format!("cannot save the vouchers: {e}")
        })
    }

    /// Reads `channel` on chain for the connection `owner` (any id unique among the relay's
    /// connections): it must pay our payee, be open, and have time left, and no other
    /// connection may be paying with it.
    pub async fn check(&self, channel: [u8; 32], owner: &str) -> Result<ChannelGrant, String> {
        {
            let mut busy = self.busy.lock().expect("busy lock");
            match busy.get(&channel) {
                Some(o) if o != owner => return Err("the channel is paying another connection".into()),
                _ => {
                    busy.insert(channel, owner.to_string());
                }
            }
        }
        let result = self.read(channel).await;
        if result.is_err() {
            self.release(channel, owner);
        }
        result
    }

    async fn read(&self, channel: [u8; 32]) -> Result<ChannelGrant, String> {
        let contract = Address::from(self.terms.contract);
        let raw = self.chain.call(contract, &contract::channels_calldata(B256::from(channel))).await.map_err(|e| e.to_string())?;
        let c = contract::decode_channel(&raw).map_err(|e| e.to_string())?;
        if !c.exists() {
            return Err("no such channel".into());
        }
        if c.closed {
            return Err("the channel is closed".into());
        }
        if c.payee != Address::from(self.terms.payee) {
            return Err(format!("the channel pays {}, not {}", c.payee, Address::from(self.terms.payee)));
        }
        let chain_now = self.chain.now_secs().await.map_err(|e| e.to_string())?;
        if c.expires_at < chain_now + MIN_TIME_LEFT_SECS {
            return Err(format!("the channel can be reclaimed in less than {MIN_TIME_LEFT_SECS} s"));
        }
        let deposit = u128::try_from(c.deposit).map_err(|_| "deposit out of range".to_string())?;
        let mut book = self.book.lock().expect("book lock");
        if book.is_closed(&channel) {
            return Err("the channel is being closed".into());
        }
        book.opened(&channel, c.payer.into_array(), c.signer.into_array(), deposit, c.expires_at);
        self.save(&book)?;
        Ok(ChannelGrant { channel, signer: c.signer.into_array(), deposit, paid_wei: book.paid(&channel), served_bytes: book.served(&channel) })
    }

    /// The connection `owner` no longer pays with `channel` (another owner's hold is kept).
    pub fn release(&self, channel: [u8; 32], owner: &str) {
        let mut busy = self.busy.lock().expect("busy lock");
        if busy.get(&channel).is_some_and(|o| o == owner) {
            busy.remove(&channel);
        }
    }

    /// The connection `owner` is gone after `served_bytes` in all on `channel`: recorded, so
    /// the next connection gets no fresh credit window.
    pub fn released(&self, channel: [u8; 32], owner: &str, served_bytes: u64) {
        let mut book = self.book.lock().expect("book lock");
        if book.record_served(&channel, served_bytes) {
            let _ = self.save(&book);
        }
        drop(book);
        self.release(channel, owner);
    }

    /// A voucher the swarm checked, and the bytes served on its channel in all. `Err` when
    /// the channel is closed or being closed, or the book cannot be saved: the connection
    /// must end (the voucher is worth nothing, or could be lost).
    pub fn received(&self, channel: [u8; 32], amount_wei: u128, signature: [u8; 65], served_bytes: u64) -> Result<(), String> {
        let mut book = self.book.lock().expect("book lock");
        if book.is_closed(&channel) {
            return Err("the channel is closed".into());
        }
        let kept = book.received(&channel, amount_wei, &signature, now_secs());
        if book.record_served(&channel, served_bytes) || kept {
            self.save(&book)?;
        }
        Ok(())
    }

    /// Every few seconds: closes what is due with the payee key. An idle channel still held by
    /// a live connection waits; one near its timeout is closed anyway (its connection ends at
    /// the next voucher). A channel the chain already shows closed (the payer reclaimed it)
    /// is marked and left.
    pub async fn close_due_forever(self: Arc<Self>) {
        let Some(key) = self.payee_key.clone() else { return };
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let now = now_secs();
            let due = self.book.lock().expect("book lock").due(now, self.close_idle_secs, MIN_TIME_LEFT_SECS / 2);
            for id in due {
                let Some((channel, amount, sig, expires_at)) = self.closing(&id) else { continue };
                let near_timeout = now + MIN_TIME_LEFT_SECS / 2 >= expires_at;
                if !near_timeout && self.busy.lock().expect("busy lock").contains_key(&channel) {
                    continue;
                }
                if let Err(e) = self.close(&key, &id, channel, amount, sig).await {
                    tracing::warn!(channel = %id, "closing failed (retried): {e}");
                }
            }
        }
    }

    async fn close(&self, key: &PrivateKeySigner, id: &str, channel: [u8; 32], amount: u128, sig: [u8; 65]) -> Result<(), String> {
        let contract_address = Address::from(self.terms.contract);
        let raw = self.chain.call(contract_address, &contract::channels_calldata(B256::from(channel))).await.map_err(|e| e.to_string())?;
        let on_chain = contract::decode_channel(&raw).map_err(|e| e.to_string())?;
        if on_chain.closed {
            let mut book = self.book.lock().expect("book lock");
            if let Some(c) = book.channels.get_mut(id) {
                c.closed_tx = Some("closed on chain (reclaimed by the payer, or closed before)".into());
            }
            return self.save(&book);
        }
        {
            let mut book = self.book.lock().expect("book lock");
            book.set_closing(id, true);
            self.save(&book)?;
        }
        let data = contract::close_calldata(B256::from(channel), U256::from(amount), &sig);
        match self.chain.send(key, contract_address, 0, data).await {
            Ok(r) => {
                tracing::info!(channel = %id, amount, tx = %r.hash, gas = r.gas_used, "channel closed");
                println!("closed channel {id}: {amount} wei in {} (gas {})", r.hash, r.gas_used);
                let mut book = self.book.lock().expect("book lock");
                if let Some(c) = book.channels.get_mut(id) {
                    c.closed_tx = Some(r.hash);
                }
                self.save(&book)
            }
            Err(e) => {
                // Not mined or refused: open again (the next round reads the chain first).
                let mut book = self.book.lock().expect("book lock");
                book.set_closing(id, false);
                let _ = self.save(&book);
                Err(e.to_string())
            }
        }
    }

    fn closing(&self, id: &str) -> Option<([u8; 32], u128, [u8; 65], u64)> {
        let book = self.book.lock().expect("book lock");
        let c = book.channels.get(id)?;
        let channel: [u8; 32] = hex::decode(id.trim_start_matches("0x")).ok()?.try_into().ok()?;
        Some((channel, c.paid(), c.signature()?, c.expires_at))
    }
}
