//! `POST /rpc`: the guarded JSON-RPC proxy between pages and the chain node (Geth in
//! production, the run command's anvil in development). [`crate::rpc_guard`] decides what
//! passes; this module forwards it, bounds it per client, and reports a down upstream as a
//! JSON-RPC error a wallet can show. `POST /api/faucet` funds new dev wallets, only when
//! enabled and only on chain 98765.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

use crate::client_addr::ClientAddr;
use crate::state::RpcState;
use crate::rpc_guard::{self, code, Bucket, Checked};

/// Calls per second per client address, and the burst allowed.
const RATE: f64 = 20.0;
const BURST: f64 = 60.0;
const MAX_CLIENTS_TRACKED: usize = 10_000;
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(15);
const MAX_UPSTREAM_RESPONSE: usize = 16 * 1024 * 1024;
pub const CHAIN_ID: u64 = 98765;
/// What the dev faucet gives a new wallet: 10 ETH.
const FAUCET_WEI: u128 = 10_000_000_000_000_000_000;
const FAUCET_COOLDOWN: Duration = Duration::from_secs(600);

pub struct RpcProxy {
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
    buckets: Mutex<(HashMap<IpAddr, Bucket>, Instant)>,
    faucet: Option<Mutex<HashMap<String, Instant>>>,
}

/// Why one of the relay's own calls failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The chain node answered with a JSON-RPC error (its message, shortened).
    #[error("the chain node refused: {0}")]
    Refused(String),
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("the chain node at {0} is unreachable: {1}")]
    Unreachable(String, String),
    #[error("the chain node at {0} did not answer within {1:?}")]
    Timeout(String, Duration),
    #[error("the chain node's answer was unreadable or too large")]
    BadAnswer,
}

impl RpcProxy {
    /// `upstream`: an `http://` JSON-RPC URL. `faucet`: fund dev wallets (chain 98765 only).
    pub fn new(upstream: String, faucet: bool) -> anyhow::Result<Self> {
        anyhow::ensure!(upstream.starts_with("http://"), "--eth-rpc must be an http:// URL (put TLS in front of the relay, not behind it)");
        upstream.parse::<hyper::Uri>()?;
        let client = Client::builder(TokioExecutor::new()).build_http();
        Ok(Self {
            upstream,
            client,
            buckets: Mutex::new((HashMap::new(), Instant::now())),
            faucet: faucet.then(|| Mutex::new(HashMap::new())),
        })
    }

    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    fn allow(&self, client: IpAddr, cost: usize) -> bool {
        let mut guard = self.buckets.lock().expect("bucket lock");
        let (buckets, epoch) = &mut *guard;
        let now = epoch.elapsed().as_millis() as u64;
        if buckets.len() >= MAX_CLIENTS_TRACKED && !buckets.contains_key(&client) {
            // Forget clients that are full again (idle): the map stays bounded.
            buckets.retain(|_, b| !b.clone().take(BURST, RATE, BURST, now));
        }
        buckets.entry(client).or_insert_with(|| Bucket::new(BURST, now)).take(cost as f64, RATE, BURST, now)
    }

    /// Sends a body upstream and returns the upstream's status and body.
    pub async fn forward(&self, body: Bytes) -> Result<(StatusCode, Bytes), UpstreamError> {
        let request = hyper::Request::post(&self.upstream)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .map_err(|_| UpstreamError::BadAnswer)?;
        let response = tokio::time::timeout(UPSTREAM_TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| UpstreamError::Timeout(self.upstream.clone(), UPSTREAM_TIMEOUT))?
            .map_err(|e| {
                let why = std::error::Error::source(&e).map_or_else(|| e.to_string(), ToString::to_string);
                UpstreamError::Unreachable(self.upstream.clone(), why)
            })?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_UPSTREAM_RESPONSE)
            .collect()
            .await
            .map_err(|_| UpstreamError::BadAnswer)?
            .to_bytes();
        Ok((status, body))
    }

    /// One call, answered with its `result` (for the relay's own use: faucet, status).
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, CallError> {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string();
        let (_, answer) = self.forward(Bytes::from(body)).await?;
        let v: Value = serde_json::from_slice(&answer).map_err(|_| CallError::Upstream(UpstreamError::BadAnswer))?;
        if let Some(e) = v.get("error") {
            let message: String = e["message"].as_str().unwrap_or("error").chars().take(200).collect();
            return Err(CallError::Refused(message));
        }
        Ok(v["result"].clone())
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// `client`: the caller's address (behind a trusted proxy, the one it forwarded), whose
/// rate bucket the calls are taken from.
pub async fn rpc(State(rpc): State<RpcState>, client: ClientAddr, headers: HeaderMap, request: axum::extract::Request) -> Response {
    let Some(proxy) = rpc.0.as_deref() else {
        crate::metrics::rpc_refused("no_chain");
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            rpc_guard::error(&Value::Null, code::UPSTREAM_DOWN, "this relay has no chain node configured (--eth-rpc)"),
        );
    };
    if headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| !ct.starts_with("application/json")) {
        crate::metrics::rpc_refused("content_type");
        return json_response(StatusCode::UNSUPPORTED_MEDIA_TYPE, rpc_guard::error(&Value::Null, code::INVALID_REQUEST, "send application/json"));
    }
    let body = match Limited::new(request.into_body(), rpc_guard::MAX_BODY_BYTES).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            crate::metrics::rpc_refused("too_large");
            return json_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                rpc_guard::error(&Value::Null, code::LIMIT_EXCEEDED, format!("request body larger than {} bytes", rpc_guard::MAX_BODY_BYTES)),
            )
        }
    };
    // Only what the guard rebuilt goes upstream, never the bytes received.
    let calls = match rpc_guard::check(&body) {
        Checked::Refuse(answer) => {
            crate::metrics::rpc_refused("not_allowed");
            return json_response(StatusCode::OK, answer);
        }
        Checked::Forward(calls) => calls,
    };
    if !proxy.allow(client.limit_key(), calls.len()) {
        crate::metrics::rpc_refused("rate_limited");
        return json_response(
            StatusCode::TOO_MANY_REQUESTS,
            rpc_guard::error(&Value::Null, code::LIMIT_EXCEEDED, format!("rate limit: at most {RATE} calls per second per client")),
        );
    }
    calls.methods().for_each(crate::metrics::rpc_call);
    match proxy.forward(Bytes::from(calls.to_body())).await {
        Ok((status, answer)) => {
            let status = if status.is_success() { StatusCode::OK } else { StatusCode::BAD_GATEWAY };
            (status, [(header::CONTENT_TYPE, "application/json")], answer).into_response()
        }
        Err(e) => {
            crate::metrics::rpc_refused("upstream_down");
            tracing::warn!("rpc upstream: {e}");
            json_response(StatusCode::BAD_GATEWAY, rpc_guard::error(&Value::Null, code::UPSTREAM_DOWN, e.to_string()))
        }
    }
}

fn valid_address(s: &str) -> bool {
    s.len() == 42 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// `POST /api/faucet {"address":"0x…"}`: 10 ETH from the dev chain's first account.
pub async fn faucet(State(rpc): State<RpcState>, body: Bytes) -> Response {
    let refuse = |status: StatusCode, message: String| json_response(status, json!({ "error": message }));
    let Some(proxy) = rpc.0.as_deref() else {
        return refuse(StatusCode::NOT_FOUND, "this relay has no chain node".into());
    };
    let Some(given) = proxy.faucet.as_ref() else {
        return refuse(StatusCode::NOT_FOUND, "this relay runs no faucet (dev chain only)".into());
    };
    let address = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["address"].as_str().map(str::to_lowercase));
    let Some(address) = address.filter(|a| valid_address(a)) else {
        return refuse(StatusCode::BAD_REQUEST, "send {\"address\": \"0x…40 hex digits\"}".into());
    };
    match proxy.call("eth_chainId", json!([])).await {
        Ok(id) if id.as_str().and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok()) == Some(CHAIN_ID) => {}
        Ok(id) => return refuse(StatusCode::FORBIDDEN, format!("the faucet runs on chain {CHAIN_ID} only, not {id}")),
        Err(e) => return refuse(StatusCode::BAD_GATEWAY, e.to_string()),
    }
    {
        let mut given = given.lock().expect("faucet lock");
        if given.get(&address).is_some_and(|at| at.elapsed() < FAUCET_COOLDOWN) {
            return refuse(StatusCode::TOO_MANY_REQUESTS, "this address was funded recently".into());
        }
        given.retain(|_, at| at.elapsed() < FAUCET_COOLDOWN);
        given.insert(address.clone(), Instant::now());
    }
    let from = match proxy.call("eth_accounts", json!([])).await {
        Ok(accounts) => accounts[0].as_str().map(String::from),
        Err(e) => return refuse(StatusCode::BAD_GATEWAY, e.to_string()),
    };
    let Some(from) = from else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "the dev chain has no funded account".into());
    };
    let tx = json!([{ "from": from, "to": address, "value": format!("{FAUCET_WEI:#x}") }]);
    match proxy.call("eth_sendTransaction", tx).await {
        Ok(hash) => json_response(StatusCode::OK, json!({ "tx": hash, "wei": FAUCET_WEI.to_string() })),
        Err(e) => refuse(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}
