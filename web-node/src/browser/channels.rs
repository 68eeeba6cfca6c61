//! Style 2 in the page: the payment channels this page pays through and is paid through.
//! One agent per page (thread-local), shared by every torrent:
//! - as a buyer it opens a channel per seller (one deposit transaction from the built-in
//!   wallet, or one confirmation in the browser wallet) under a session key it makes and
//!   keeps in the book, and signs each voucher with that key, writing the amount to
//!   localStorage first ([`crate::pay::book::BuyerBook`]), so no wallet prompt per chunk and
//!   no lower or repeated amount after a reload;
//! - as a seller it checks the channels buyers name (`eth_call` through the relay's `/rpc`),
//!   keeps the highest voucher of each ([`crate::pay::book::SellerBook`]) and closes them
//!   with the wallet: by hand, or by itself once idle ([`close_due`]).
//!
//! Opens are serialized (the channel id is derived from the payer's on-chain nonce), and a
//! channel pays one connection at a time.

use std::cell::RefCell;
use std::collections::HashMap;

use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;

use super::chain::Chain;
use super::settle::Payer;
use crate::pay::book::{BuyerBook, BuyerChannel, SellerBook};
use crate::pay::contract;
use crate::pay::seller::ChannelGrant;
use crate::pay::wire::Terms;
use crate::settlement::{amount_wei, PayTo};
use crate::wallet::{sign_payment, CHAIN_ID};

const BUYER_KEY: &str = "chiral.channels.buyer";
const SELLER_KEY: &str = "chiral.channels.seller";
/// "false": this page neither pays nor sells in Style 2 (Style 1 only).
pub const ENABLED_KEY: &str = "chiral.channels.enabled";
/// Bytes a seeder serves ahead of what is paid.
pub const CREDIT_BYTES: u64 = 2 << 20;
/// An opened channel lasts a day before the payer may reclaim it.
pub const CHANNEL_TIMEOUT_SECS: u64 = 24 * 3600;
/// A channel must have this long left to be accepted.
pub const MIN_TIME_LEFT_SECS: u64 = 600;

struct Agent {
    payer: Option<Payer>,
    contract: Address,
    /// Highest price this page pays without asking, wei per MB.
    max_price_per_mb_wei: u128,
    /// Channel → the connection it pays here (seller side; one at a time).
    busy: HashMap<[u8; 32], String>,
    /// An open transaction is on its way (one at a time).
    opening: bool,
    /// Channels whose top-up is on its way.
    topping: std::collections::HashSet<[u8; 32]>,
}

thread_local! {
    static AGENT: RefCell<Agent> = RefCell::new(Agent {
        payer: None,
        contract: contract::DEV_CHANNELS_ADDRESS.parse().expect("a valid address"),
        max_price_per_mb_wei: 10_000_000_000_000_000,
        busy: HashMap::new(),
        opening: false,
        topping: std::collections::HashSet::new(),
    });
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub fn buyer_book() -> BuyerBook {
    storage().and_then(|s| s.get_item(BUYER_KEY).ok().flatten()).and_then(|t| BuyerBook::from_json(&t).ok()).unwrap_or_default()
}

pub fn seller_book() -> SellerBook {
    storage().and_then(|s| s.get_item(SELLER_KEY).ok().flatten()).and_then(|t| SellerBook::from_json(&t).ok()).unwrap_or_default()
}

fn save(key: &str, json: String) -> Result<(), String> {
    storage().ok_or("no localStorage")?.set_item(key, &json).map_err(|_| "the channel book cannot be saved (storage full?)".to_string())
}

/// The wallet that pays and is paid (set by the Wallet view when unlocked or connected).
pub fn set_payer(payer: Option<Payer>) {
    AGENT.with(|a| a.borrow_mut().payer = payer);
}

/// The `ChiralChannels` contract the relay names (default: the dev chain's).
pub fn set_contract(address: Address) {
    AGENT.with(|a| a.borrow_mut().contract = address);
}

pub fn contract_address() -> Address {
    AGENT.with(|a| a.borrow().contract)
}

/// Style 2 is on (the Wallet view's switch; on unless turned off).
pub fn enabled() -> bool {
    storage().and_then(|s| s.get_item(ENABLED_KEY).ok().flatten()).is_none_or(|v| v != "false")
}

pub fn set_enabled(on: bool) {
    if let Some(s) = storage() {
        let _ = s.set_item(ENABLED_KEY, if on { "true" } else { "false" });
    }
}

/// Style 2 is on and a wallet is there to open channels with, or the book holds a live
/// channel (its session key signs vouchers without the wallet, so a reloaded download keeps
/// paying before the wallet is unlocked again).
pub fn can_buy() -> bool {
    enabled() && (AGENT.with(|a| a.borrow().payer.is_some()) || buyer_book().channels.values().any(|c| !c.finished && c.expires_at > super::now_secs()))
}

/// Our Style 2 offer for a file we seed at `pay_to`'s price (Style 1 stays for peers that
/// do not speak `chiral_pay`).
pub fn sell_offer(pay_to: Option<PayTo>) -> Option<crate::swarm::SellOffer> {
    let pay_to = pay_to.filter(|p| p.price_per_mb_wei > 0 && enabled())?;
    let terms = Terms { price_per_mb_wei: pay_to.price_per_mb_wei, payee: pay_to.wallet, chain_id: CHAIN_ID, contract: contract_address().into_array(), credit_bytes: CREDIT_BYTES };
    Some(crate::swarm::SellOffer { terms, serve_others: true })
}

async fn send(chain: &Chain, payer: &Payer, to: Address, value: u128, data: Vec<u8>) -> Result<String, String> {
    let from = payer.address();
    let hash = match payer {
        Payer::BuiltIn(signer) => {
            let nonce = chain.nonce(&from, "pending").await.map_err(|e| e.to_string())?;
            let (max_fee, tip) = chain.fees().await.map_err(|e| e.to_string())?;
            let gas = chain.estimate_gas(&from, &to.to_string(), value, &data).await.map_err(|e| format!("the chain refuses the call: {e}"))?;
            let tx = crate::wallet::PaymentTx { to: to.into_array(), value_wei: value, nonce, gas_limit: gas + gas / 5, max_fee_per_gas: max_fee, max_priority_fee_per_gas: tip, data };
            let signed = sign_payment(signer, &tx).map_err(|e| e.to_string())?;
            chain.send_raw(&signed.raw).await.map_err(|e| e.to_string())?;
            format!("0x{}", hex::encode(signed.hash))
        }
        Payer::Injected { provider, account } => provider.send_transaction(account, &to.to_string(), value, &data).await.map_err(|e| e.to_string())?,
    };
    let receipt = chain.wait_receipt(&hash, 120).await.map_err(|e| e.to_string())?;
    if !receipt.success {
        return Err(format!("transaction {hash} reverted"));
    }
    Ok(hash)
}

/// Buyer: a channel for `terms` with room for `missing_bytes`, from the book or opened now
/// (its deposit: [`crate::pay::buyer::deposit_for`]). Returns the channel and the highest
/// amount ever signed on it.
pub async fn channel_for(terms: Terms, missing_bytes: u64) -> Result<([u8; 32], u128), String> {
    let (payer, contract, max_price) = AGENT.with(|a| {
        let a = a.borrow();
        (a.payer.clone(), a.contract, a.max_price_per_mb_wei)
    });
    if terms.chain_id != CHAIN_ID || Address::from(terms.contract) != contract {
        return Err(format!("the seller's channels are on chain {} at {}, not ours", terms.chain_id, Address::from(terms.contract)));
    }
    if terms.price_per_mb_wei > max_price {
        return Err(format!("the price {} wei/MB is over this page's limit", terms.price_per_mb_wei));
    }
    let needed = amount_wei(missing_bytes, terms.price_per_mb_wei).max(1);
    // One open at a time: wait for another to finish (it may be for this very seller).
    loop {
        if let Some(c) = buyer_book().usable(&terms, needed, super::now_secs() + 3600).cloned() {
            let id = c.id().ok_or("bad channel id in the book")?;
            // Closed by the seller meanwhile (or never mined): forget it and open another.
            match read_channel(&Chain::for_page(), contract, id).await {
                Ok(on_chain) if on_chain.exists() && !on_chain.closed => return Ok((id, c.signed())),
                Ok(_) => {
                    let mut book = buyer_book();
                    if let Some(entry) = book.channels.get_mut(&crate::pay::book::payee_key(&terms)) {
                        entry.finished = true;
                    }
                    save(BUYER_KEY, book.to_json())?;
                }
                Err(e) => return Err(e),
            }
        }
        if payer.is_none() {
            return Err("no wallet to open a channel with".into());
        }
        let mine = AGENT.with(|a| !std::mem::replace(&mut a.borrow_mut().opening, true));
        if mine {
            break;
        }
        futures_timer::Delay::new(std::time::Duration::from_millis(300)).await;
    }
    let payer = payer.ok_or("no wallet to open a channel with")?;
    let result = open(&payer, contract, &terms, crate::pay::buyer::deposit_for(missing_bytes, terms.price_per_mb_wei)).await;
    AGENT.with(|a| a.borrow_mut().opening = false);
    result
}

async fn open(payer: &Payer, contract: Address, terms: &Terms, deposit: u128) -> Result<([u8; 32], u128), String> {
    let chain = Chain::for_page();
    // A deposit sent to an address without the contract would just be gone.
    let code = chain.call("eth_getCode", serde_json::json!([contract.to_string(), "latest"])).await.map_err(|e| e.to_string())?;
    if code.as_str().is_none_or(|c| c.trim_start_matches("0x").is_empty()) {
        return Err(format!("no ChiralChannels contract at {contract} on this chain"));
    }
    let payer_address: Address = payer.address().parse().map_err(|_| "bad wallet address")?;
    let session = PrivateKeySigner::from_bytes(&B256::from(super::random_bytes::<32>().map_err(|e| e.to_string())?)).map_err(|e| e.to_string())?;
    let nonce_data = contract::nonces_calldata(payer_address);
    let raw = chain.call("eth_call", serde_json::json!([{ "to": contract.to_string(), "data": format!("0x{}", hex::encode(nonce_data)) }, "latest"])).await.map_err(|e| e.to_string())?;
    let nonce = raw.as_str().and_then(|s| u64::from_str_radix(s.trim_start_matches("0x").trim_start_matches('0'), 16).ok().or(Some(0))).unwrap_or(0);
    let channel = contract::channel_id(CHAIN_ID, contract, payer_address, Address::from(terms.payee), session.address(), nonce);
    // The session key is kept before the deposit leaves: a crash after sending still has it.
    let entry = BuyerChannel {
        channel: format!("{channel}"),
        session_key: format!("0x{}", hex::encode(session.to_bytes())),
        deposit_wei: deposit.to_string(),
        signed_wei: "0".into(),
        expires_at: super::now_secs() + CHANNEL_TIMEOUT_SECS,
        price_per_mb_wei: terms.price_per_mb_wei.to_string(),
        finished: true, // not usable until the chain has it
    };
    let mut book = buyer_book();
    book.insert(terms, entry);
    save(BUYER_KEY, book.to_json())?;
    let data = contract::open_calldata(Address::from(terms.payee), session.address(), CHANNEL_TIMEOUT_SECS);
    let hash = send(&chain, payer, contract, deposit, data).await?;
    // The id the chain gave (the prediction above is only a crash-time guess): the
    // ChannelOpened event of this transaction, from this contract.
    let receipt = chain.call("eth_getTransactionReceipt", serde_json::json!([hash])).await.map_err(|e| e.to_string())?;
    let topic = format!("{}", alloy_primitives::keccak256("ChannelOpened(bytes32,address,address,address,uint256,uint64)"));
    let opened = receipt["logs"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["address"].as_str().is_some_and(|a| a.eq_ignore_ascii_case(&contract.to_string())) && l["topics"][0].as_str().is_some_and(|t| t.eq_ignore_ascii_case(&topic)))
        .and_then(|l| l["topics"][1].as_str())
        .and_then(|t| hex::decode(t.trim_start_matches("0x")).ok())
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| format!("transaction {hash} opened no channel"))?;
    let on_chain = read_channel(&chain, contract, opened).await?;
    if on_chain.signer != session.address() || on_chain.payer != payer_address || on_chain.payee != Address::from(terms.payee) {
        return Err(format!("channel 0x{} is not the one this page asked for", hex::encode(opened)));
    }
    let mut book = buyer_book();
    if let Some(c) = book.channels.get_mut(&crate::pay::book::payee_key(terms)) {
        c.channel = format!("0x{}", hex::encode(opened));
        c.finished = false;
        c.expires_at = on_chain.expires_at;
    }
    save(BUYER_KEY, book.to_json())?;
    Ok((opened, 0))
}

async fn read_channel(chain: &Chain, contract: Address, channel: [u8; 32]) -> Result<contract::ChannelOnChain, String> {
    let data = contract::channels_calldata(B256::from(channel));
    let raw = chain.call("eth_call", serde_json::json!([{ "to": contract.to_string(), "data": format!("0x{}", hex::encode(data)) }, "latest"])).await.map_err(|e| e.to_string())?;
    let bytes = hex::decode(raw.as_str().unwrap_or("").trim_start_matches("0x")).map_err(|_| "bad eth_call answer")?;
    contract::decode_channel(&bytes).map_err(|e| e.to_string())
}

/// Buyer: writes `amount` to the book (before anything leaves), then signs it.
pub fn voucher(terms: &Terms, channel: [u8; 32], amount: u128) -> Result<[u8; 65], String> {
    let mut book = buyer_book();
    let entry = book.promise(terms, &channel, amount).map_err(|e| e.to_string())?.clone();
    save(BUYER_KEY, book.to_json())?;
    let secret: [u8; 32] = hex::decode(entry.session_key.trim_start_matches("0x")).ok().and_then(|b| b.try_into().ok()).ok_or("bad session key")?;
    let session = PrivateKeySigner::from_bytes(&B256::from(secret)).map_err(|e| e.to_string())?;
    Ok(contract::sign_voucher(&session, terms.chain_id, Address::from(terms.contract), B256::from(channel), U256::from(amount)))
}

/// Seller: the chain's view of the channel a buyer named for the connection `owner` (it
/// must pay `terms.payee`, be open, last long enough, and pay no other connection), with
/// the highest voucher we hold for it and the bytes served on it before.
pub async fn check(channel: [u8; 32], terms: Terms, owner: &str) -> Result<ChannelGrant, String> {
    let taken = AGENT.with(|a| {
        let mut a = a.borrow_mut();
        match a.busy.get(&channel) {
            Some(o) if o != owner => true,
            _ => {
                a.busy.insert(channel, owner.to_string());
                false
            }
        }
    });
    if taken {
        return Err("the channel is paying another connection".into());
    }
    let result = check_on_chain(channel, terms).await;
    if result.is_err() {
        release(channel, owner);
    }
    result
}

async fn check_on_chain(channel: [u8; 32], terms: Terms) -> Result<ChannelGrant, String> {
    let chain = Chain::for_page();
    let c = read_channel(&chain, Address::from(terms.contract), channel).await?;
    if !c.exists() {
        return Err("no such channel".into());
    }
    if c.closed {
        return Err("the channel is closed".into());
    }
    if c.payee != Address::from(terms.payee) {
        return Err("the channel pays someone else".into());
    }
    if c.expires_at < super::now_secs() + MIN_TIME_LEFT_SECS {
        return Err("the channel can be reclaimed too soon".into());
    }
    let deposit = u128::try_from(c.deposit).map_err(|_| "deposit out of range")?;
    let mut book = seller_book();
    if book.is_closed(&channel) {
        return Err("the channel is being closed".into());
    }
    book.opened(&channel, c.payer.into_array(), c.signer.into_array(), deposit, c.expires_at);
    save(SELLER_KEY, book.to_json())?;
    Ok(ChannelGrant { channel, signer: c.signer.into_array(), deposit, paid_wei: book.paid(&channel), served_bytes: book.served(&channel) })
}

/// The connection `owner` no longer pays with `channel` (another owner's hold is kept).
pub fn release(channel: [u8; 32], owner: &str) {
    AGENT.with(|a| {
        let mut a = a.borrow_mut();
        if a.busy.get(&channel).is_some_and(|o| o == owner) {
            a.busy.remove(&channel);
        }
    });
}

/// Seller: the connection `owner` is gone after `served_bytes` in all on `channel`: kept, so
/// the next connection gets no fresh credit window.
pub fn released(channel: [u8; 32], owner: &str, served_bytes: u64) {
    let mut book = seller_book();
    if book.record_served(&channel, served_bytes) {
        if let Err(e) = save(SELLER_KEY, book.to_json()) {
            tracing::warn!("{e}");
        }
    }
    release(channel, owner);
}

fn busy(channel: &[u8; 32]) -> bool {
    AGENT.with(|a| a.borrow().busy.contains_key(channel))
}

/// Seller: a voucher the swarm checked, kept if it is the highest, and the bytes served on
/// its channel in all. `Err` when the channel is closed or being closed (the voucher is
/// worth nothing) or the book cannot be saved: the connection must end.
pub fn received(channel: [u8; 32], amount: u128, signature: [u8; 65], served_bytes: u64) -> Result<(), String> {
    let mut book = seller_book();
    if book.is_closed(&channel) {
        return Err("the channel is closed".into());
    }
    let kept = book.received(&channel, amount, &signature, super::now_secs());
    if book.record_served(&channel, served_bytes) || kept {
        save(SELLER_KEY, book.to_json())?;
    }
    Ok(())
}

/// Seller: closes `channel` (0x-hex) with its highest voucher, from the wallet (the payee).
/// Marked closing before the transaction leaves (vouchers from then on end their connection);
/// a channel the chain already shows closed (the payer reclaimed it) is only marked.
pub async fn close(channel: &str) -> Result<String, String> {
    let payer = AGENT.with(|a| a.borrow().payer.clone()).ok_or("unlock or connect the wallet to close channels")?;
    let book = seller_book();
    let c = book.channels.get(channel).ok_or("no such channel in the book")?;
    let sig = c.signature().ok_or("no voucher to close with")?;
    let amount = c.paid();
    let id: [u8; 32] = hex::decode(channel.trim_start_matches("0x")).ok().and_then(|b| b.try_into().ok()).ok_or("bad channel id")?;
    let chain = Chain::for_page();
    if read_channel(&chain, contract_address(), id).await?.closed {
        let mut book = seller_book();
        if let Some(c) = book.channels.get_mut(channel) {
            c.closed_tx = Some("closed on chain (reclaimed by the payer, or closed before)".into());
        }
        save(SELLER_KEY, book.to_json())?;
        return Err("the channel was already closed on chain".into());
    }
    let mut book = seller_book();
    book.set_closing(channel, true);
    save(SELLER_KEY, book.to_json())?;
    let data = contract::close_calldata(B256::from(id), U256::from(amount), &sig);
    let result = send(&chain, &payer, contract_address(), 0, data).await;
    let mut book = seller_book();
    match &result {
        Ok(hash) => {
            if let Some(c) = book.channels.get_mut(channel) {
                c.closed_tx = Some(hash.clone());
            }
        }
        Err(_) => book.set_closing(channel, false),
    }
    save(SELLER_KEY, book.to_json())?;
    result
}

/// Seller: closes every channel idle for `idle_secs` and not paying a live connection, or
/// near its timeout whatever it does. Returns the channels closed.
pub async fn close_due(idle_secs: u64) -> Vec<String> {
    let now = super::now_secs();
    let book = seller_book();
    let due = book.due(now, idle_secs, MIN_TIME_LEFT_SECS / 2);
    let mut closed = Vec::new();
    for id in due {
        let Some(c) = book.channels.get(&id) else { continue };
        let near_timeout = now + MIN_TIME_LEFT_SECS / 2 >= c.expires_at;
        let held = hex::decode(id.trim_start_matches("0x")).ok().and_then(|b| <[u8; 32]>::try_from(b).ok()).is_some_and(|ch| busy(&ch));
        if held && !near_timeout {
            continue;
        }
        match close(&id).await {
            Ok(_) => closed.push(id),
            Err(e) => tracing::warn!("closing {id}: {e}"),
        }
    }
    closed
}

/// Buyer: takes the whole deposit of `channel` (0x-hex) back once its timeout has passed
/// and the seller never closed it; the chain refuses before then.
pub async fn reclaim(channel: &str) -> Result<String, String> {
    let payer = AGENT.with(|a| a.borrow().payer.clone()).ok_or("unlock or connect the wallet to reclaim")?;
    let id: [u8; 32] = hex::decode(channel.trim_start_matches("0x")).ok().and_then(|b| b.try_into().ok()).ok_or("bad channel id")?;
    let chain = Chain::for_page();
    let on_chain = read_channel(&chain, contract_address(), id).await?;
    if on_chain.closed {
        mark_finished(channel)?;
        return Err("the channel is already closed (the seller collected)".into());
    }
    let hash = send(&chain, &payer, contract_address(), 0, contract::reclaim_calldata(B256::from(id)))
        .await
        .map_err(|e| format!("{e} (a channel can be reclaimed only after its timeout)"))?;
    mark_finished(channel)?;
    Ok(hash)
}

fn mark_finished(channel: &str) -> Result<(), String> {
    let mut book = buyer_book();
    book.finish(channel);
    save(BUYER_KEY, book.to_json())
}

/// Buyer: a top-up of `channel` is on its way.
pub fn topping(channel: &[u8; 32]) -> bool {
    AGENT.with(|a| a.borrow().topping.contains(channel))
}

/// Buyer: wei left in the deposit of the book's channel for `terms` above what was signed.
pub fn left_in_deposit(terms: &Terms, channel: &[u8; 32]) -> Option<u128> {
    let book = buyer_book();
    let c = book.channels.get(&crate::pay::book::payee_key(terms)).filter(|c| c.id().as_ref() == Some(channel))?;
    Some(c.deposit().saturating_sub(c.signed()))
}

/// Buyer: how far `amount` is over the deposit of the book's channel for `terms` (`None`:
/// it fits, or there is no such channel).
pub fn shortfall(terms: &Terms, channel: &[u8; 32], amount: u128) -> Option<u128> {
    let book = buyer_book();
    let c = book.channels.get(&crate::pay::book::payee_key(terms)).filter(|c| c.id().as_ref() == Some(channel))?;
    amount.checked_sub(c.deposit()).filter(|s| *s > 0)
}

/// Buyer: adds `add_wei` to the deposit of the book's channel for `terms` (one transaction,
/// `topUp`, which also moves its timeout a day on), so vouchers can go on. One at a time per
/// channel. Returns the new deposit.
pub async fn top_up(terms: Terms, channel: [u8; 32], add_wei: u128) -> Result<u128, String> {
    let payer = AGENT.with(|a| a.borrow().payer.clone()).ok_or("unlock or connect the wallet to add to the deposit")?;
    if !AGENT.with(|a| a.borrow_mut().topping.insert(channel)) {
        return Err("a top-up of this channel is on its way".into());
    }
    let result = async {
        let chain = Chain::for_page();
        let expires = super::now_secs() + CHANNEL_TIMEOUT_SECS;
        let data = contract::topup_calldata(B256::from(channel), expires);
        send(&chain, &payer, contract_address(), add_wei, data).await?;
        let on_chain = read_channel(&chain, contract_address(), channel).await?;
        let deposit = u128::try_from(on_chain.deposit).map_err(|_| "deposit out of range")?;
        let mut book = buyer_book();
        if let Some(c) = book.channels.get_mut(&crate::pay::book::payee_key(&terms)).filter(|c| c.id() == Some(channel)) {
            c.deposit_wei = deposit.to_string();
            c.expires_at = on_chain.expires_at;
        }
        save(BUYER_KEY, book.to_json())?;
        Ok(deposit)
    }
    .await;
    AGENT.with(|a| a.borrow_mut().topping.remove(&channel));
    result
}
