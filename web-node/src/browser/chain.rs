//! The chain, from the page: JSON-RPC over `fetch` to the relay's guarded `/rpc`, and the
//! few calls a wallet needs, with the chain's errors passed on as text a person can read.

use js_sys::{Object, Reflect};
use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::js_message;

/// What failed talking to the chain (through the relay's `/rpc`) or to a browser wallet.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("no window")]
    NoWindow,
    /// A browser call threw while preparing or reading an RPC; `message` is the exception's text.
    #[error("{op}: {message}")]
    Browser { op: &'static str, message: String },
    /// `fetch` to the relay failed.
    #[error("the relay cannot be reached")]
    Transport,
    /// The relay's proxy answered with something that is not JSON-RPC.
    #[error("the chain proxy answered {status}: {body}")]
    Proxy { status: u16, body: String },
    /// The chain (or a browser wallet) answered with an error.
    #[error("{message}")]
    Rpc { code: Option<i64>, message: String },
    /// A result that is not what the method returns.
    #[error("{0}")]
    BadAnswer(&'static str),
    #[error("no receipt for {tx_hash} after {seconds} s")]
    NoReceipt { tx_hash: String, seconds: u32 },
    /// The browser wallet's `request()` is not callable as EIP-1193 says.
    #[error("{0}")]
    NotEip1193(&'static str),
    #[error("the wallet's answer is not JSON: {0}")]
    WalletJson(String),
    #[error("the wallet shared no account")]
    NoAccount,
    #[error("the wallet returned no transaction hash")]
    NoTxHash,
}

impl ChainError {
    fn browser(op: &'static str) -> impl FnOnce(JsValue) -> Self {
        move |e| Self::Browser { op, message: js_message(&e) }
    }

    /// A failure that may pass by itself: the relay or the chain node behind it is
    /// unreachable (restarting), busy, or the receipt has not come yet.
    pub fn is_transient(&self) -> bool {
        match self {
            ChainError::Transport | ChainError::NoReceipt { .. } => true,
            ChainError::Proxy { status, .. } => *status == 0 || *status == 429 || *status >= 500,
            // The relay's proxy: the chain node is unreachable (-32603) or rate-limited (-32005).
            ChainError::Rpc { code: Some(-32603 | -32005), .. } => true,
            _ => false,
        }
    }

    /// An error that means the node already has this transaction (a re-broadcast).
    fn already_known(&self) -> bool {
        let text = match self {
            ChainError::Rpc { message, .. } => message,
            ChainError::Proxy { body, .. } => body,
            _ => return false,
        };
        text.contains("already known") || text.contains("nonce too low") || text.contains("AlreadyKnown")
    }
}

/// An EIP-1193 error object (`{ code, message }`), or the exception's text.
fn wallet_error(e: JsValue) -> ChainError {
    let message = Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_else(|| js_message(&e));
    let code = Reflect::get(&e, &"code".into()).ok().and_then(|c| c.as_f64()).map(|c| c as i64);
    ChainError::Rpc { code, message }
}

/// `/rpc` on the relay that served the page.
#[derive(Debug, Clone)]
pub struct Chain {
    url: String,
}

pub fn hex_u64(v: &Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.trim_start_matches("0x"), 16).ok()
}

pub fn hex_u128(v: &Value) -> Option<u128> {
    u128::from_str_radix(v.as_str()?.trim_start_matches("0x"), 16).ok()
}

/// What the chain said about a transaction once mined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub block: u64,
    pub gas_used: u64,
    pub success: bool,
}

impl Chain {
    pub fn for_page() -> Self {
        let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
        Self { url: format!("{origin}/rpc") }
    }

    pub async fn call(&self, method: &str, params: Value) -> Result<Value, ChainError> {
        let window = web_sys::window().ok_or(ChainError::NoWindow)?;
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        let headers = web_sys::Headers::new().map_err(ChainError::browser("building the RPC request"))?;
        headers.set("content-type", "application/json").map_err(ChainError::browser("building the RPC request"))?;
        init.set_headers(&headers);
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string();
        init.set_body(&JsValue::from_str(&body));
        let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(&self.url, &init))
            .await
            .map_err(|_| ChainError::Transport)?
            .unchecked_into();
        let text = JsFuture::from(response.text().map_err(ChainError::browser("reading the RPC answer"))?)
            .await
            .map_err(ChainError::browser("reading the RPC answer"))?;
        let text = text.as_string().unwrap_or_default();
        let v: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(_) => return Err(ChainError::Proxy { status: response.status(), body: text }),
        };
        if let Some(e) = v.get("error") {
            return Err(ChainError::Rpc { code: e["code"].as_i64(), message: e["message"].as_str().unwrap_or("chain error").to_string() });
        }
        Ok(v["result"].clone())
    }

    pub async fn chain_id(&self) -> Result<u64, ChainError> {
        hex_u64(&self.call("eth_chainId", json!([])).await?).ok_or(ChainError::BadAnswer("bad chain id"))
    }

    pub async fn balance(&self, address: &str) -> Result<u128, ChainError> {
        hex_u128(&self.call("eth_getBalance", json!([address, "latest"])).await?).ok_or(ChainError::BadAnswer("bad balance"))
    }

    pub async fn nonce(&self, address: &str, block: &str) -> Result<u64, ChainError> {
        hex_u64(&self.call("eth_getTransactionCount", json!([address, block])).await?).ok_or(ChainError::BadAnswer("bad nonce"))
    }

    /// (max fee, priority fee) per gas: twice the latest base fee plus the tip.
    pub async fn fees(&self) -> Result<(u128, u128), ChainError> {
        let block = self.call("eth_getBlockByNumber", json!(["latest", false])).await?;
        let base = hex_u128(&block["baseFeePerGas"]).unwrap_or(1_000_000_000);
        let tip = match self.call("eth_maxPriorityFeePerGas", json!([])).await {
            Ok(v) => hex_u128(&v).unwrap_or(1_000_000_000),
            Err(_) => 1_000_000_000,
        };
        Ok((base * 2 + tip, tip))
    }

    pub async fn estimate_gas(&self, from: &str, to: &str, value: u128, data: &[u8]) -> Result<u64, ChainError> {
        let tx = json!({ "from": from, "to": to, "value": format!("{value:#x}"), "data": format!("0x{}", hex::encode(data)) });
        hex_u64(&self.call("eth_estimateGas", json!([tx])).await?).ok_or(ChainError::BadAnswer("bad gas estimate"))
    }

    /// Broadcasts signed bytes. A node that already has them is not an error.
    pub async fn send_raw(&self, raw: &[u8]) -> Result<(), ChainError> {
        match self.call("eth_sendRawTransaction", json!([format!("0x{}", hex::encode(raw))])).await {
            Ok(_) => Ok(()),
            Err(e) if e.already_known() => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn receipt(&self, tx_hash: &str) -> Result<Option<Receipt>, ChainError> {
        let r = self.call("eth_getTransactionReceipt", json!([tx_hash])).await?;
        if r.is_null() {
            return Ok(None);
        }
        Ok(Some(Receipt {
            block: hex_u64(&r["blockNumber"]).unwrap_or(0),
            gas_used: hex_u64(&r["gasUsed"]).unwrap_or(0),
            success: r["status"].as_str() == Some("0x1"),
        }))
    }

    /// Waits for a receipt (polling every 500 ms, up to `seconds`).
    pub async fn wait_receipt(&self, tx_hash: &str, seconds: u32) -> Result<Receipt, ChainError> {
        for _ in 0..seconds * 2 {
            if let Some(r) = self.receipt(tx_hash).await? {
                return Ok(r);
            }
            futures_timer::Delay::new(std::time::Duration::from_millis(500)).await;
        }
        Err(ChainError::NoReceipt { tx_hash: tx_hash.to_string(), seconds })
    }

    pub async fn block_number(&self) -> Result<u64, ChainError> {
        hex_u64(&self.call("eth_blockNumber", json!([])).await?).ok_or(ChainError::BadAnswer("bad block number"))
    }

    /// A block with its transactions.
    pub async fn block(&self, number: u64) -> Result<Value, ChainError> {
        self.call("eth_getBlockByNumber", json!([format!("{number:#x}"), true])).await
    }
}

/// An injected EIP-1193 provider (`window.ethereum`), when the page has one.
#[derive(Clone)]
pub struct Injected {
    provider: JsValue,
}

impl Injected {
    pub fn find() -> Option<Self> {
        let window = web_sys::window()?;
        let provider = Reflect::get(&window, &"ethereum".into()).ok().filter(|p| p.is_object())?;
        Some(Self { provider })
    }

    pub async fn request(&self, method: &str, params: Value) -> Result<Value, ChainError> {
        let request = Object::new();
        Reflect::set(&request, &"method".into(), &method.into()).map_err(ChainError::browser("building the wallet request"))?;
        let params = js_sys::JSON::parse(&params.to_string()).map_err(ChainError::browser("building the wallet request"))?;
        Reflect::set(&request, &"params".into(), &params).map_err(ChainError::browser("building the wallet request"))?;
        let f: js_sys::Function = Reflect::get(&self.provider, &"request".into())
            .map_err(ChainError::browser("finding window.ethereum.request"))?
            .dyn_into()
            .map_err(|_| ChainError::NotEip1193("window.ethereum has no request()"))?;
        let promise: js_sys::Promise = f
            .call1(&self.provider, &request)
            .map_err(wallet_error)?
            .dyn_into()
            .map_err(|_| ChainError::NotEip1193("not a promise"))?;
        let result = JsFuture::from(promise).await.map_err(wallet_error)?;
        let text = js_sys::JSON::stringify(&result).map(String::from).unwrap_or_else(|_| "null".into());
        serde_json::from_str(&text).map_err(|e| ChainError::WalletJson(e.to_string()))
    }

    /// Asks for an account, then makes sure the wallet is on chain 98765 (adding it,
    /// with this relay's `/rpc`, if the wallet does not know it).
    pub async fn connect(&self) -> Result<String, ChainError> {
        let accounts = self.request("eth_requestAccounts", json!([])).await?;
        let account = accounts[0].as_str().ok_or(ChainError::NoAccount)?.to_string();
        let chain = format!("{:#x}", crate::wallet::CHAIN_ID);
        if self.request("eth_chainId", json!([])).await?.as_str() != Some(chain.as_str()) {
            if self.request("wallet_switchEthereumChain", json!([{ "chainId": chain }])).await.is_err() {
                let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
                self.request(
                    "wallet_addEthereumChain",
                    json!([{
                        "chainId": chain,
                        "chainName": "Chiral",
                        "nativeCurrency": { "name": "Chiral Ether", "symbol": "ETH", "decimals": 18 },
                        "rpcUrls": [format!("{origin}/rpc")],
                    }]),
                )
                .await?;
                self.request("wallet_switchEthereumChain", json!([{ "chainId": chain }])).await?;
            }
        }
        Ok(account)
    }

    pub async fn send_transaction(&self, from: &str, to: &str, value: u128, data: &[u8]) -> Result<String, ChainError> {
        let tx = json!({
            "from": from, "to": to, "value": format!("{value:#x}"),
            "data": format!("0x{}", hex::encode(data)), "chainId": format!("{:#x}", crate::wallet::CHAIN_ID),
        });
        let hash = self.request("eth_sendTransaction", json!([tx])).await?;
        hash.as_str().map(String::from).ok_or(ChainError::NoTxHash)
    }
}
