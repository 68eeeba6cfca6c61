//! `relay fetch --pay-key`: the relay's downloader pays Style 2 sellers. Per seller (chain,
//! contract, payee) it reuses the channel in its book, or opens one with a deposit that
//! covers the file at the seller's price (one transaction), under a fresh session key the
//! channel authorizes. Each voucher's amount is written to the book (`KEY.channels.json`)
//! before the voucher is signed and sent, so a crash never signs lower or twice.

use std::path::PathBuf;
use std::sync::Mutex;

use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use web_node::pay::book::{BuyerBook, BuyerChannel};
use web_node::pay::contract;
use web_node::pay::wire::Terms;
use web_node::settlement::amount_wei;

use super::chain::Chain;

/// How long an opened channel stays before the payer may reclaim it.
pub const CHANNEL_TIMEOUT_SECS: u64 = 24 * 3600;
/// The contract's `ChannelOpened` event; its first indexed topic is the channel id.
const CHANNEL_OPENED: &str = "ChannelOpened(bytes32,address,address,address,uint256,uint64)";

pub struct BuyerService {
    chain: Chain,
    key: PrivateKeySigner,
    /// Wei per MB we accept at most.
    max_price_per_mb_wei: u128,
    /// The contract we trust (sellers naming another are declined).
    contract: Address,
    book: Mutex<BuyerBook>,
    book_path: PathBuf,
    /// Held while a channel is found or opened.
    opening: tokio::sync::Mutex<()>,
}

impl BuyerService {
    pub fn new(chain: Chain, key: PrivateKeySigner, key_path: &std::path::Path, contract: Address, max_price_per_mb_wei: u128) -> anyhow::Result<Self> {
        let book_path = PathBuf::from(format!("{}.channels.json", key_path.display()));
        let book = match std::fs::read_to_string(&book_path) {
            Ok(text) => BuyerBook::from_json(&text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BuyerBook::default(),
            Err(e) => return Err(e.into()),
        };
        Ok(Self { chain, key, max_price_per_mb_wei, contract, book: Mutex::new(book), book_path, opening: tokio::sync::Mutex::new(()) })
    }

    fn save(&self, book: &BuyerBook) -> std::io::Result<()> {
        let tmp = self.book_path.with_extension("json.tmp");
        std::fs::write(&tmp, book.to_json())?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, &self.book_path)
    }

    /// A channel for `terms` with room for the `missing_bytes` still to fetch at their price: reused from the book,
    /// or opened now. Returns the channel and the highest amount signed on it.
    pub async fn channel_for(&self, terms: &Terms, missing_bytes: u64) -> Result<([u8; 32], u128), String> {
        if terms.chain_id != self.chain.chain_id {
            return Err(format!("the seller is on chain {}, we are on {}", terms.chain_id, self.chain.chain_id));
        }
        if Address::from(terms.contract) != self.contract {
            return Err(format!("the seller uses contract {}, not {}", Address::from(terms.contract), self.contract));
        }
        if terms.price_per_mb_wei > self.max_price_per_mb_wei {
            return Err(format!("the price {} wei/MB is over our {} wei/MB", terms.price_per_mb_wei, self.max_price_per_mb_wei));
        }
        let needed = amount_wei(missing_bytes, terms.price_per_mb_wei);
        // One open at a time: a second seller with the same payee waits and reuses it.
        let _opening = self.opening.lock().await;
        let chain_now = self.chain.now_secs().await.map_err(|e| e.to_string())?;
        let reusable = self.book.lock().expect("book lock").usable(terms, needed, chain_now + 3600).cloned();
        if let Some(c) = reusable {
            let id = c.id().ok_or("bad channel id in the book")?;
            let raw = self.chain.call(self.contract, &contract::channels_calldata(B256::from(id))).await.map_err(|e| e.to_string())?;
            let on_chain = contract::decode_channel(&raw).map_err(|e| e.to_string())?;
            if on_chain.exists() && !on_chain.closed {
                return Ok((id, c.signed()));
            }
            // Closed by the seller since: forget it and open another.
            let mut book = self.book.lock().expect("book lock");
            if let Some(entry) = book.channels.get_mut(&web_node::pay::book::payee_key(terms)) {
                entry.finished = true;
            }
            self.save(&book).map_err(|e| format!("cannot save the channel book: {e}"))?;
        }
        // Deposit: what is missing at this price, with slack (a channel is reused for later files while it has room).
        let deposit = web_node::pay::buyer::deposit_for(missing_bytes, terms.price_per_mb_wei);
        let session = PrivateKeySigner::random();
        // The session key is kept before the deposit leaves (not usable until the id is known),
        // so a crash or a timeout while the open is pending loses nothing.
        let mut entry = BuyerChannel {
            channel: String::new(),
            session_key: format!("0x{}", hex::encode(session.to_bytes())),
            deposit_wei: deposit.to_string(),
            signed_wei: "0".into(),
            expires_at: chain_now + CHANNEL_TIMEOUT_SECS,
            price_per_mb_wei: terms.price_per_mb_wei.to_string(),
            finished: true,
        };
        {
            let mut book = self.book.lock().expect("book lock");
            book.insert(terms, entry.clone());
            self.save(&book).map_err(|e| format!("cannot save the channel book: {e}"))?;
        }
        let data = contract::open_calldata(Address::from(terms.payee), session.address(), CHANNEL_TIMEOUT_SECS);
        let receipt = self.chain.send(&self.key, self.contract, deposit, data).await.map_err(|e| e.to_string())?;
        let opened = receipt
            .logs
            .iter()
            .find(|l| {
                l["address"].as_str().is_some_and(|a| a.eq_ignore_ascii_case(&self.contract.to_string()))
                    && l["topics"][0].as_str().is_some_and(|t| t.eq_ignore_ascii_case(&format!("{}", alloy_primitives::keccak256(CHANNEL_OPENED))))
            })
            .and_then(|l| l["topics"][1].as_str())
            .and_then(|t| hex::decode(t.trim_start_matches("0x")).ok())
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or("the open transaction has no ChannelOpened event")?;
        println!("opened channel 0x{} to {} with {deposit} wei (tx {}, gas {})", hex::encode(opened), Address::from(terms.payee), receipt.hash, receipt.gas_used);
        entry.channel = format!("0x{}", hex::encode(opened));
        entry.finished = false;
        let mut book = self.book.lock().expect("book lock");
        if let Some(live) = book.channels.get_mut(&web_node::pay::book::payee_key(terms)) {
            *live = entry;
        }
        self.save(&book).map_err(|e| format!("cannot save the channel book: {e}"))?;
        Ok((opened, 0))
    }

    /// Records `amount` as signed (persisted first), then signs the voucher.
    pub fn voucher(&self, terms: &Terms, channel: [u8; 32], amount: u128) -> Result<[u8; 65], String> {
        let mut book = self.book.lock().expect("book lock");
        let entry = book.promise(terms, &channel, amount).map_err(|e| e.to_string())?.clone();
        self.save(&book).map_err(|e| format!("cannot save the channel book: {e}"))?;
        let secret: [u8; 32] = hex::decode(entry.session_key.trim_start_matches("0x")).ok().and_then(|b| b.try_into().ok()).ok_or("bad session key")?;
        let session = PrivateKeySigner::from_bytes(&B256::from(secret)).map_err(|e| e.to_string())?;
        Ok(contract::sign_voucher(&session, terms.chain_id, Address::from(terms.contract), B256::from(channel), U256::from(amount)))
    }
}
