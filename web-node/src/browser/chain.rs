//! The chain, from the page: JSON-RPC over `fetch` to the relay's guarded `/rpc`, and the
//! few calls a wallet needs, with the chain's errors passed on as text a person can read.

use js_sys::{Object, Reflect};
use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::rtc::js_error;

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

    pub async fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        let window = web_sys::window().ok_or("no window")?;
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        let headers = web_sys::Headers::new().map_err(|e| js_error(&e))?;
        headers.set("content-type", "application/json").map_err(|e| js_error(&e))?;
        init.set_headers(&headers);
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string();
        init.set_body(&JsValue::from_str(&body));
        let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(&self.url, &init))
            .await
            .map_err(|_| "the relay cannot be reached".to_string())?
            .unchecked_into();
        let text = JsFuture::from(response.text().map_err(|e| js_error(&e))?).await.map_err(|e| js_error(&e))?;
        let text = text.as_string().unwrap_or_default();
        let v: Value = serde_json::from_str(&text).map_err(|_| format!("the chain proxy answered {}: {text}", response.status()))?;
        if let Some(e) = v.get("error") {
            return Err(e["message"].as_str().unwrap_or("chain error").to_string());
        }
        Ok(v["result"].clone())
    }

    pub async fn chain_id(&self) -> Result<u64, String> {
        hex_u64(&self.call("eth_chainId", json!([])).await?).ok_or_else(|| "bad chain id".into())
    }

    pub async fn balance(&self, address: &str) -> Result<u128, String> {
        hex_u128(&self.call("eth_getBalance", json!([address, "latest"])).await?).ok_or_else(|| "bad balance".into())
    }

    pub async fn nonce(&self, address: &str, block: &str) -> Result<u64, String> {
        hex_u64(&self.call("eth_getTransactionCount", json!([address, block])).await?).ok_or_else(|| "bad nonce".into())
    }

    /// (max fee, priority fee) per gas: twice the latest base fee plus the tip.
    pub async fn fees(&self) -> Result<(u128, u128), String> {
        let block = self.call("eth_getBlockByNumber", json!(["latest", false])).await?;
        let base = hex_u128(&block["baseFeePerGas"]).unwrap_or(1_000_000_000);
        let tip = match self.call("eth_maxPriorityFeePerGas", json!([])).await {
            Ok(v) => hex_u128(&v).unwrap_or(1_000_000_000),
            Err(_) => 1_000_000_000,
        };
        Ok((base * 2 + tip, tip))
    }

    pub async fn estimate_gas(&self, from: &str, to: &str, value: u128, data: &[u8]) -> Result<u64, String> {
        let tx = json!({ "from": from, "to": to, "value": format!("{value:#x}"), "data": format!("0x{}", hex::encode(data)) });
        hex_u64(&self.call("eth_estimateGas", json!([tx])).await?).ok_or_else(|| "bad gas estimate".into())
    }

    /// Broadcasts signed bytes. A node that already has them is not an error.
    pub async fn send_raw(&self, raw: &[u8]) -> Result<(), String> {
        match self.call("eth_sendRawTransaction", json!([format!("0x{}", hex::encode(raw))])).await {
            Ok(_) => Ok(()),
            Err(e) if e.contains("already known") || e.contains("nonce too low") || e.contains("AlreadyKnown") => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn receipt(&self, tx_hash: &str) -> Result<Option<Receipt>, String> {
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
    pub async fn wait_receipt(&self, tx_hash: &str, seconds: u32) -> Result<Receipt, String> {
        for _ in 0..seconds * 2 {
            if let Some(r) = self.receipt(tx_hash).await? {
                return Ok(r);
            }
            futures_timer::Delay::new(std::time::Duration::from_millis(500)).await;
        }
        Err(format!("no receipt for {tx_hash} after {seconds} s"))
    }

    pub async fn block_number(&self) -> Result<u64, String> {
        hex_u64(&self.call("eth_blockNumber", json!([])).await?).ok_or_else(|| "bad block number".into())
    }

    /// A block with its transactions.
    pub async fn block(&self, number: u64) -> Result<Value, String> {
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

    pub async fn request(&self, method: &str, params: Value) -> Result<Value, String> {
        let request = Object::new();
        Reflect::set(&request, &"method".into(), &method.into()).map_err(|e| js_error(&e))?;
        let params = js_sys::JSON::parse(&params.to_string()).map_err(|e| js_error(&e))?;
        Reflect::set(&request, &"params".into(), &params).map_err(|e| js_error(&e))?;
        let f: js_sys::Function = Reflect::get(&self.provider, &"request".into())
            .map_err(|e| js_error(&e))?
            .dyn_into()
            .map_err(|_| "window.ethereum has no request()".to_string())?;
        let promise: js_sys::Promise = f.call1(&self.provider, &request).map_err(|e| js_error(&e))?.dyn_into().map_err(|_| "not a promise")?;
        let result = JsFuture::from(promise).await.map_err(|e| {
            Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_else(|| js_error(&e))
        })?;
        let text = js_sys::JSON::stringify(&result).map(String::from).unwrap_or_else(|_| "null".into());
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }

    /// Asks for an account, then makes sure the wallet is on chain 98765 (adding it,
    /// with this relay's `/rpc`, if the wallet does not know it).
    pub async fn connect(&self) -> Result<String, String> {
        let accounts = self.request("eth_requestAccounts", json!([])).await?;
        let account = accounts[0].as_str().ok_or("the wallet shared no account")?.to_string();
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

    pub async fn send_transaction(&self, from: &str, to: &str, value: u128, data: &[u8]) -> Result<String, String> {
        let tx = json!({
            "from": from, "to": to, "value": format!("{value:#x}"),
            "data": format!("0x{}", hex::encode(data)), "chainId": format!("{:#x}", crate::wallet::CHAIN_ID),
        });
        let hash = self.request("eth_sendTransaction", json!([tx])).await?;
        hash.as_str().map(String::from).ok_or_else(|| "the wallet returned no transaction hash".into())
    }
}
