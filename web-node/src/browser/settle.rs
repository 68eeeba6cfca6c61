//! Paying seeders from the page: drives [`crate::settlement::Ledger`] against the chain.
//! The ledger lives in localStorage and is saved after every step, before anything is
//! sent, so a reload or a crash at any point resumes without paying twice:
//! a built-in wallet's payment is signed and stored, then broadcast (a reload broadcasts
//! the same bytes again); a browser wallet's payment records the account's nonce before
//! the wallet is asked, and after a reload a nonce that moved is looked for on chain.

use alloy_signer_local::PrivateKeySigner;

use super::chain::{Chain, ChainError, Injected};
use crate::settlement::{Ledger, Payment, PaymentState, PlanLine};
use crate::wallet::{address_of, intrinsic_gas, parse_address, sign_payment, PaymentTx};

const LEDGER_KEY: &str = "chiral.ledger";
/// Blocks searched for a browser wallet's transaction after a reload.
const SEARCH_BLOCKS: u64 = 256;

/// What stopped a payment (or the ledger) from moving on.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettleError {
    #[error("no localStorage")]
    NoStorage,
    #[error("the ledger cannot be saved (storage full?)")]
    LedgerNotSaved,
    #[error("payment {id} changed under us")]
    ChangedUnderUs { id: String },
    /// One payment of several failed.
    #[error("paying {to}: {source}")]
    Paying { to: String, source: Box<SettleError> },
    /// The payment is marked failed in the ledger, for this reason.
    #[error("{reason}")]
    Failed { reason: String },
    #[error("planned from {planned}, but the wallet is {wallet}")]
    WrongWallet { planned: String, wallet: String },
    #[error("bad recipient")]
    BadRecipient,
    #[error(transparent)]
    Sign(#[from] crate::wallet::WalletError),
    #[error("the wallet did not send: {0}")]
    WalletDidNotSend(ChainError),
    #[error("stored transaction is damaged")]
    DamagedTransaction,
    #[error("transaction {tx_hash} reverted")]
    Reverted { tx_hash: String },
    #[error("the browser wallet's payment is not on chain yet; it will be looked for again")]
    NotOnChainYet,
    #[error(transparent)]
    Chain(#[from] ChainError),
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub fn load_ledger() -> Ledger {
    storage().and_then(|s| s.get_item(LEDGER_KEY).ok().flatten()).map(|t| Ledger::from_json(&t)).unwrap_or_default()
}

fn save_ledger(ledger: &Ledger) -> Result<(), SettleError> {
    storage().ok_or(SettleError::NoStorage)?.set_item(LEDGER_KEY, &ledger.to_json()).map_err(|_| SettleError::LedgerNotSaved)
}

/// Who pays.
#[derive(Clone)]
pub enum Payer {
    BuiltIn(PrivateKeySigner),
    Injected { provider: Injected, account: String },
}

impl Payer {
    pub fn address(&self) -> String {
        match self {
            Payer::BuiltIn(s) => address_of(s),
            Payer::Injected { account, .. } => account.clone(),
        }
    }
}

/// Records the plan for `file` (idempotent: already planned lines are kept as they are).
pub fn plan(file: &str, from: &str, lines: &[PlanLine]) -> Result<Ledger, SettleError> {
    let mut ledger = load_ledger();
    ledger.add_plan(file, from, lines, super::now_secs());
    save_ledger(&ledger)?;
    Ok(ledger)
}

fn advance(id: &str, next: PaymentState) -> Result<(), SettleError> {
    let mut ledger = load_ledger();
    if !ledger.advance(id, next) {
        return Err(SettleError::ChangedUnderUs { id: id.to_string() });
    }
    save_ledger(&ledger)
}

/// Works every open payment of `file` (or of every file) to confirmation. `payer` may be
/// `None` after a reload: stored signed transactions are still re-broadcast and awaited.
pub async fn settle(chain: &Chain, payer: Option<&Payer>, file: Option<&str>, on_change: &dyn Fn()) -> Result<(), SettleError> {
    let open: Vec<Payment> = load_ledger().payments.into_iter().filter(|p| !p.is_settled() && file.is_none_or(|f| p.file == f)).collect();
    for payment in open {
        let mut failures = 0;
        let result = loop {
            // The ledger's state, not the one we started from: an attempt may have moved it.
            let current = load_ledger().payments.into_iter().find(|p| p.id == payment.id).unwrap_or_else(|| payment.clone());
            match settle_one(chain, payer, current, on_change).await {
                Err(e) if e.is_transient() => {
                    failures += 1;
                    let Some(ms) = crate::settlement::retry_delay_ms(failures) else { break Err(e) };
                    tracing::info!("paying {}: {e}; trying again in {ms} ms", payment.to);
                    on_change();
                    futures_timer::Delay::new(std::time::Duration::from_millis(ms)).await;
                }
                result => break result,
            }
        };
        on_change();
        if let Err(e) = result {
            return Err(SettleError::Paying { to: payment.to, source: Box::new(e) });
        }
    }
    Ok(())
}

impl SettleError {
    /// Worth trying again by itself ([`crate::settlement::retry_delay_ms`]): the chain (or
    /// the relay in front of it) failed for a passing reason.
    pub fn is_transient(&self) -> bool {
        matches!(self, SettleError::Chain(e) if e.is_transient())
    }
}

async fn settle_one(chain: &Chain, payer: Option<&Payer>, mut p: Payment, on_change: &dyn Fn()) -> Result<(), SettleError> {
    loop {
        match p.state.clone() {
            PaymentState::Confirmed { .. } => return Ok(()),
            PaymentState::Failed { reason } => return Err(SettleError::Failed { reason }),
            PaymentState::Planned => {
                let Some(payer) = payer else { return Ok(()) }; // needs the wallet: later
                if !p.from.eq_ignore_ascii_case(&payer.address()) {
                    return Err(SettleError::WrongWallet { planned: p.from.clone(), wallet: payer.address() });
                }
                match payer {
                    Payer::BuiltIn(signer) => {
                        let to = parse_address(&p.to).ok_or(SettleError::BadRecipient)?;
                        let data = p.data();
                        // The next nonce: the chain's pending count, past any payment we signed and
                        // stored that the chain has not seen yet.
                        let from = payer.address();
                        let mut nonce = chain.nonce(&from, "pending").await?;
                        for other in load_ledger().payments {
                            if let PaymentState::Signed { nonce: n, .. } = other.state {
                                if other.from.eq_ignore_ascii_case(&from) {
                                    nonce = nonce.max(n + 1);
                                }
                            }
                        }
                        let (max_fee, tip) = chain.fees().await?;
                        let gas = chain.estimate_gas(&from, &p.to, p.amount(), &data).await.unwrap_or_else(|_| intrinsic_gas(&data));
                        let tx = PaymentTx { to, value_wei: p.amount(), nonce, gas_limit: gas, max_fee_per_gas: max_fee, max_priority_fee_per_gas: tip, data };
                        let signed = sign_payment(signer, &tx)?;
                        let next = PaymentState::Signed { nonce, raw_tx: hex::encode(&signed.raw), tx_hash: format!("0x{}", hex::encode(signed.hash)) };
                        advance(&p.id, next.clone())?; // stored before it leaves the page
                        p.state = next;
                    }
                    Payer::Injected { provider, account } => {
                        let nonce_before = chain.nonce(account, "pending").await?;
                        advance(&p.id, PaymentState::Submitting { nonce_before })?;
                        on_change();
                        match provider.send_transaction(account, &p.to, p.amount(), &p.data()).await {
                            Ok(hash) => {
                                advance(&p.id, PaymentState::Sent { tx_hash: hash.clone() })?;
                                p.state = PaymentState::Sent { tx_hash: hash };
                            }
                            Err(e) => {
                                advance(&p.id, PaymentState::Failed { reason: e.to_string() })?;
                                advance(&p.id, PaymentState::Planned)?;
                                return Err(SettleError::WalletDidNotSend(e));
                            }
                        }
                    }
                }
                on_change();
            }
            PaymentState::Signed { raw_tx, tx_hash, .. } => {
                let raw = hex::decode(&raw_tx).map_err(|_| SettleError::DamagedTransaction)?;
                chain.send_raw(&raw).await?;
                let r = chain.wait_receipt(&tx_hash, 120).await?;
                if !r.success {
                    return Err(SettleError::Reverted { tx_hash });
                }
                let next = PaymentState::Confirmed { tx_hash, block: r.block, gas_used: r.gas_used };
                advance(&p.id, next.clone())?;
                p.state = next;
            }
            PaymentState::Submitting { nonce_before } => {
                // A reload while the browser wallet was asked: did it send?
                let account = p.from.clone();
                let now = chain.nonce(&account, "pending").await?;
                if now <= nonce_before {
                    advance(&p.id, PaymentState::Failed { reason: "the wallet did not send it".into() })?;
                    advance(&p.id, PaymentState::Planned)?;
                    p.state = PaymentState::Planned;
                    if payer.is_none() {
                        return Ok(());
                    }
                    continue;
                }
                match find_on_chain(chain, &account, &p).await? {
                    Some(hash) => {
                        advance(&p.id, PaymentState::Sent { tx_hash: hash.clone() })?;
                        p.state = PaymentState::Sent { tx_hash: hash };
                    }
                    // Sent but not mined yet: look again later; never send a second one.
                    None => return Err(SettleError::NotOnChainYet),
                }
            }
            PaymentState::Sent { tx_hash } => {
                let r = chain.wait_receipt(&tx_hash, 120).await?;
                let next = PaymentState::Confirmed { tx_hash, block: r.block, gas_used: r.gas_used };
                advance(&p.id, next.clone())?;
                p.state = next;
            }
        }
        on_change();
    }
}

/// A transaction from `account` to the payment's recipient whose data names this payment.
async fn find_on_chain(chain: &Chain, account: &str, p: &Payment) -> Result<Option<String>, ChainError> {
    let data = format!("0x{}", hex::encode(p.data()));
    let latest = chain.block_number().await?;
    for number in (latest.saturating_sub(SEARCH_BLOCKS)..=latest).rev() {
        let block = chain.block(number).await?;
        for tx in block["transactions"].as_array().into_iter().flatten() {
            let same = |k: &str, v: &str| tx[k].as_str().is_some_and(|x| x.eq_ignore_ascii_case(v));
            if same("from", account) && same("to", &p.to) && (same("input", &data) || same("data", &data)) {
                return Ok(tx["hash"].as_str().map(String::from));
            }
        }
    }
    Ok(None)
}

/// One payment received: a transaction into our wallet carrying Chiral's data tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earning {
    /// Transaction hash (0x hex).
    pub tx: String,
    /// The payer's address (0x hex).
    pub from: String,
    pub wei: u128,
    pub block: u64,
    /// The file it pays for (its CID), as the data field names it.
    pub file: Option<String>,
}

/// Payments into `address` that carry Chiral's data tag, from `from_block` to the latest
/// block; and the block to start from next time.
pub async fn earnings(chain: &Chain, address: &str, from_block: u64) -> Result<(Vec<Earning>, u64), ChainError> {
    let latest = chain.block_number().await?;
    let tag = format!("0x{}", hex::encode(crate::settlement::DATA_PREFIX));
    let mut found = Vec::new();
    for number in from_block..=latest {
        let block = chain.block(number).await?;
        for tx in block["transactions"].as_array().into_iter().flatten() {
            let to_us = tx["to"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(address));
            let input = tx["input"].as_str().or_else(|| tx["data"].as_str()).unwrap_or("");
            if to_us && input.to_ascii_lowercase().starts_with(&tag) {
                let data = hex::decode(input.trim_start_matches("0x")).unwrap_or_default();
                found.push(Earning {
                    tx: tx["hash"].as_str().unwrap_or_default().to_string(),
                    from: tx["from"].as_str().unwrap_or_default().to_string(),
                    wei: super::chain::hex_u128(&tx["value"]).unwrap_or(0),
                    block: number,
                    file: crate::settlement::paid_file(&data),
                });
            }
        }
    }
    Ok((found, latest + 1))
}
