//! The relay as a Style 2 seller of its own files: checks the channels buyers name (on
//! chain, once per connection), keeps the highest voucher of each in `DATA_DIR/vouchers.json`
//! (written before the credit it buys is used), and closes channels with the payee key when
//! they go idle or near their timeout.
//! One channel pays one connection at a time (a second connection naming it is refused),
//! so the credit window is never granted twice for one payment.

use std::collections::HashSet;
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
    busy: Mutex<HashSet<[u8; 32]>>,
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

    fn save(&self, book: &SellerBook) {
        let tmp = self.book_path.with_extension("json.tmp");
        let written = std::fs::write(&tmp, book.to_json()).and_then(|()| std::fs::rename(&tmp, &self.book_path));
        if let Err(e) = written {
            tracing::error!(path = %self.book_path.display(), "cannot save the vouchers: {e}");
        }
    }

    /// Reads `channel` on chain: it must pay our payee, be open, and have time left.
    pub async fn check(&self, channel: [u8; 32]) -> Result<ChannelGrant, String> {
        if !self.busy.lock().expect("busy lock").insert(channel) {
            return Err("the channel is paying another connection".into());
        }
        let result = self.read(channel).await;
        if result.is_err() {
            self.release(channel);
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
        book.opened(&channel, c.payer.into_array(), c.signer.into_array(), deposit, c.expires_at);
        self.save(&book);
        Ok(ChannelGrant { channel, signer: c.signer.into_array(), deposit, paid_wei: book.paid(&channel) })
    }

    pub fn release(&self, channel: [u8; 32]) {
        self.busy.lock().expect("busy lock").remove(&channel);
    }

    /// A voucher the swarm checked: saved before the credit it buys is used.
    pub fn received(&self, channel: [u8; 32], amount_wei: u128, signature: [u8; 65]) {
        let mut book = self.book.lock().expect("book lock");
        if book.received(&channel, amount_wei, &signature, now_secs()) {
            self.save(&book);
        }
    }

    /// Every few seconds: closes what is due (idle, or near the timeout) with the payee key.
    pub async fn close_due_forever(self: Arc<Self>) {
        let Some(key) = self.payee_key.clone() else { return };
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let due = self.book.lock().expect("book lock").due(now_secs(), self.close_idle_secs, MIN_TIME_LEFT_SECS / 2);
            for id in due {
                let Some((channel, amount, sig)) = self.closing(&id) else { continue };
                let data = contract::close_calldata(B256::from(channel), U256::from(amount), &sig);
                match self.chain.send(&key, Address::from(self.terms.contract), 0, data).await {
                    Ok(r) => {
                        tracing::info!(channel = %id, amount, tx = %r.hash, gas = r.gas_used, "channel closed");
                        println!("closed channel {id}: {amount} wei in {} (gas {})", r.hash, r.gas_used);
                        let mut book = self.book.lock().expect("book lock");
                        if let Some(c) = book.channels.get_mut(&id) {
                            c.closed_tx = Some(r.hash);
                        }
                        self.save(&book);
                    }
                    Err(e) => tracing::warn!(channel = %id, "closing failed (retried): {e}"),
                }
            }
        }
    }

    fn closing(&self, id: &str) -> Option<([u8; 32], u128, [u8; 65])> {
        let book = self.book.lock().expect("book lock");
        let c = book.channels.get(id)?;
        let channel: [u8; 32] = hex::decode(id.trim_start_matches("0x")).ok()?.try_into().ok()?;
        Some((channel, c.paid(), c.signature()?))
    }
}
