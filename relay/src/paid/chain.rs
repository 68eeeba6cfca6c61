//! The relay's own chain calls for Style 2, over the JSON-RPC node it proxies: reading a
//! channel (`eth_call`), and sending a contract call signed with a local key (EIP-1559,
//! nonce from `eth_getTransactionCount(pending)`, gas from `eth_estimateGas` + 20 %), then
//! waiting for its receipt. Every wait is bounded.

use std::time::Duration;

use alloy_primitives::Address;
use alloy_signer_local::PrivateKeySigner;
use serde_json::{json, Value};
use web_node::wallet::PaymentTx;

use crate::rpc_proxy::RpcProxy;

/// How long a sent transaction may take to be mined.
pub const RECEIPT_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Call(#[from] crate::rpc_proxy::CallError),
    #[error("the chain node's answer to {0} was malformed")]
    Malformed(&'static str),
    #[error("the chain node is on chain {actual}, not {expected}")]
    WrongChain { expected: u64, actual: u64 },
    #[error("transaction {0} was not mined within {RECEIPT_WAIT:?}")]
    NotMined(String),
    #[error("transaction {0} reverted")]
    Reverted(String),
    #[error("signing failed: {0}")]
    Signing(String),
}

/// A mined transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub hash: String,
    pub gas_used: u64,
    pub effective_gas_price: u128,
    /// Each log's topics and data, 0x-hex.
    pub logs: Vec<Value>,
}

pub struct Chain {
    rpc: RpcProxy,
    pub chain_id: u64,
}

fn hex_u128(v: &Value, what: &'static str) -> Result<u128, ChainError> {
    v.as_str().and_then(|s| u128::from_str_radix(s.trim_start_matches("0x"), 16).ok()).ok_or(ChainError::Malformed(what))
}

fn hex0x(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

impl Chain {
    /// Connects to `url` and checks its chain id is `expected` (when given).
    pub async fn connect(url: &str, expected: Option<u64>) -> Result<Self, ChainError> {
        let rpc = RpcProxy::new(url.to_string(), false).map_err(|e| ChainError::Signing(e.to_string()))?;
        let id = rpc.call("eth_chainId", json!([])).await?;
        let chain_id = u64::try_from(hex_u128(&id, "eth_chainId")?).map_err(|_| ChainError::Malformed("eth_chainId"))?;
        if let Some(expected) = expected.filter(|e| *e != chain_id) {
            return Err(ChainError::WrongChain { expected, actual: chain_id });
        }
        Ok(Self { rpc, chain_id })
    }

    pub async fn call(&self, to: Address, data: &[u8]) -> Result<Vec<u8>, ChainError> {
        let out = self.rpc.call("eth_call", json!([{ "to": to.to_string(), "data": hex0x(data) }, "latest"])).await?;
        let text = out.as_str().ok_or(ChainError::Malformed("eth_call"))?;
        hex::decode(text.trim_start_matches("0x")).map_err(|_| ChainError::Malformed("eth_call"))
    }

    pub async fn code_at(&self, at: Address) -> Result<Vec<u8>, ChainError> {
        let out = self.rpc.call("eth_getCode", json!([at.to_string(), "latest"])).await?;
        hex::decode(out.as_str().ok_or(ChainError::Malformed("eth_getCode"))?.trim_start_matches("0x")).map_err(|_| ChainError::Malformed("eth_getCode"))
    }

    pub async fn balance(&self, of: Address) -> Result<u128, ChainError> {
        hex_u128(&self.rpc.call("eth_getBalance", json!([of.to_string(), "latest"])).await?, "eth_getBalance")
    }

    /// The latest block's timestamp, unix seconds (the contract's clock).
    pub async fn now_secs(&self) -> Result<u64, ChainError> {
        let block = self.rpc.call("eth_getBlockByNumber", json!(["latest", false])).await?;
        u64::try_from(hex_u128(&block["timestamp"], "block timestamp")?).map_err(|_| ChainError::Malformed("block timestamp"))
    }

    /// Signs and sends a call of `to` with `value` and `data` from `key`; returns once mined.
    pub async fn send(&self, key: &PrivateKeySigner, to: Address, value_wei: u128, data: Vec<u8>) -> Result<Receipt, ChainError> {
        let from = key.address().to_string();
        let nonce = hex_u128(&self.rpc.call("eth_getTransactionCount", json!([from, "pending"])).await?, "nonce")? as u64;
        let estimate = json!([{ "from": from, "to": to.to_string(), "value": format!("0x{value_wei:x}"), "data": hex0x(&data) }]);
        let gas = hex_u128(&self.rpc.call("eth_estimateGas", estimate).await?, "eth_estimateGas")? as u64;
        let gas_price = hex_u128(&self.rpc.call("eth_gasPrice", json!([])).await?, "eth_gasPrice")?;
        let tx = PaymentTx {
            to: to.into_array(),
            value_wei,
            nonce,
            gas_limit: gas + gas / 5,
            max_fee_per_gas: gas_price * 2 + 1_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000.min(gas_price * 2 + 1_000_000_000),
            data,
        };
        let signed = web_node::wallet::sign_payment_on(self.chain_id, key, &tx).map_err(|e| ChainError::Signing(e.to_string()))?;
        let hash = hex0x(&signed.hash);
        self.rpc.call("eth_sendRawTransaction", json!([hex0x(&signed.raw)])).await?;
        self.receipt(&hash).await
    }

    async fn receipt(&self, hash: &str) -> Result<Receipt, ChainError> {
        let deadline = tokio::time::Instant::now() + RECEIPT_WAIT;
        loop {
            let r = self.rpc.call("eth_getTransactionReceipt", json!([hash])).await?;
            if !r.is_null() {
                if r["status"].as_str() != Some("0x1") {
                    return Err(ChainError::Reverted(hash.to_string()));
                }
                return Ok(Receipt {
                    hash: hash.to_string(),
                    gas_used: hex_u128(&r["gasUsed"], "gasUsed")? as u64,
                    effective_gas_price: hex_u128(&r["effectiveGasPrice"], "effectiveGasPrice")?,
                    logs: r["logs"].as_array().cloned().unwrap_or_default(),
                });
            }
            if tokio::time::Instant::now() > deadline {
                return Err(ChainError::NotMined(hash.to_string()));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
