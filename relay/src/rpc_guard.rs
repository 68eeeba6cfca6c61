//! What the `/rpc` proxy lets through, as pure functions: a JSON-RPC 2.0 body (single or
//! batch) is checked against an allowlist of the methods a wallet page needs, a batch
//! limit and well-formedness. Everything a page must never reach (admin_, personal_,
//! miner_, debug_, eth_sign, eth_sendTransaction on the node's own keys, …) is refused
//! with a JSON-RPC error that names the method.

use serde_json::{json, Value};

/// Largest body forwarded (a raw transaction is at most 128 KiB on Geth).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
pub const MAX_BATCH: usize = 20;

/// Methods a wallet page needs: chain id, balance, nonce, fees and gas, sending a signed
/// transaction, receipts, blocks, calls and logs; mining status, read-only.
pub const ALLOWED_METHODS: &[&str] = &[
    "eth_chainId",
    "net_version",
    "web3_clientVersion",
    "eth_blockNumber",
    "eth_syncing",
    "eth_getBalance",
    "eth_getTransactionCount",
    "eth_getCode",
    "eth_gasPrice",
    "eth_maxPriorityFeePerGas",
    "eth_feeHistory",
    "eth_estimateGas",
    "eth_call",
    "eth_sendRawTransaction",
    "eth_getTransactionByHash",
    "eth_getTransactionReceipt",
    "eth_getBlockByNumber",
    "eth_getBlockByHash",
    "eth_getLogs",
    "eth_mining",
    "eth_hashrate",
    "eth_coinbase",
];

pub mod code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_ALLOWED: i64 = -32601;
    pub const LIMIT_EXCEEDED: i64 = -32005;
    pub const UPSTREAM_DOWN: i64 = -32603;
}

pub fn error(id: &Value, code: i64, message: impl Into<String>) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message.into() } })
}

/// The verdict on one body.
#[derive(Debug, Clone, PartialEq)]
pub enum Checked {
    /// Forward it as is.
    Forward { calls: usize },
    /// Answer this without asking the upstream.
    Refuse(Value),
}

fn check_call(call: &Value) -> Result<(), Value> {
    let id = call.get("id").cloned().unwrap_or(Value::Null);
    let Some(obj) = call.as_object() else {
        return Err(error(&Value::Null, code::INVALID_REQUEST, "a JSON-RPC call must be an object"));
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(error(&id, code::INVALID_REQUEST, "`jsonrpc` must be \"2.0\""));
    }
    let Some(method) = obj.get("method").and_then(Value::as_str) else {
        return Err(error(&id, code::INVALID_REQUEST, "`method` must be a string"));
    };
    if !ALLOWED_METHODS.contains(&method) {
        let shown: String = method.chars().take(64).collect();
        return Err(error(&id, code::METHOD_NOT_ALLOWED, format!("method `{shown}` is not available through this relay")));
    }
    match obj.get("params") {
        None | Some(Value::Array(_)) | Some(Value::Object(_)) => Ok(()),
        Some(_) => Err(error(&id, code::INVALID_REQUEST, "`params` must be an array or an object")),
    }
}

/// Checks a request body. A batch is forwarded only if every call in it is allowed;
/// otherwise the whole batch is answered with one error per call (refused or not).
pub fn check(body: &[u8]) -> Checked {
    if body.len() > MAX_BODY_BYTES {
        return Checked::Refuse(error(&Value::Null, code::LIMIT_EXCEEDED, format!("request body larger than {MAX_BODY_BYTES} bytes")));
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Checked::Refuse(error(&Value::Null, code::PARSE_ERROR, "the body is not JSON"));
    };
    match &value {
        Value::Array(calls) if calls.is_empty() => Checked::Refuse(error(&Value::Null, code::INVALID_REQUEST, "empty batch")),
        Value::Array(calls) if calls.len() > MAX_BATCH => {
            Checked::Refuse(error(&Value::Null, code::LIMIT_EXCEEDED, format!("batches hold at most {MAX_BATCH} calls")))
        }
        Value::Array(calls) => {
            let verdicts: Vec<Result<(), Value>> = calls.iter().map(check_call).collect();
            if verdicts.iter().all(Result::is_ok) {
                return Checked::Forward { calls: calls.len() };
            }
            let answers = calls
                .iter()
                .zip(verdicts)
                .map(|(call, v)| {
                    v.err().unwrap_or_else(|| {
                        let id = call.get("id").cloned().unwrap_or(Value::Null);
                        error(&id, code::INVALID_REQUEST, "not sent: another call in this batch was refused")
                    })
                })
                .collect();
            Checked::Refuse(Value::Array(answers))
        }
        single => match check_call(single) {
            Ok(()) => Checked::Forward { calls: 1 },
            Err(e) => Checked::Refuse(e),
        },
    }
}

/// A per-client token bucket: `rate` calls per second, bursts up to `burst`. Time is input.
#[derive(Debug, Clone)]
pub struct Bucket {
    tokens: f64,
    last_ms: u64,
}

impl Bucket {
    pub fn new(burst: f64, now_ms: u64) -> Self {
        Self { tokens: burst, last_ms: now_ms }
    }

    /// Takes `cost` tokens if there are enough.
    pub fn take(&mut self, cost: f64, rate: f64, burst: f64, now_ms: u64) -> bool {
        let elapsed = now_ms.saturating_sub(self.last_ms) as f64 / 1000.0;
        self.last_ms = now_ms;
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        if self.tokens >= cost {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn allowlisted_calls_pass_and_others_are_named_in_the_error() {
        assert_eq!(check(br#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}"#), Checked::Forward { calls: 1 });
        for method in ["admin_addPeer", "personal_unlockAccount", "miner_start", "debug_traceTransaction", "eth_sign", "eth_sendTransaction", "anvil_setBalance"] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":7,"method":"{method}","params":[]}}"#);
            let Checked::Refuse(e) = check(body.as_bytes()) else { panic!("{method} passed") };
            assert_eq!(e["error"]["code"], code::METHOD_NOT_ALLOWED);
            assert_eq!(e["id"], 7);
            assert!(e["error"]["message"].as_str().unwrap().contains(method));
        }
    }

    #[test]
    fn a_batch_with_one_bad_call_is_refused_whole() {
        let body = br#"[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":2,"method":"admin_peers"}]"#;
        let Checked::Refuse(Value::Array(answers)) = check(body) else { panic!() };
        assert_eq!(answers.len(), 2);
        assert_eq!(answers[1]["error"]["code"], code::METHOD_NOT_ALLOWED);
        let big: Vec<Value> = (0..MAX_BATCH + 1).map(|i| json!({"jsonrpc":"2.0","id":i,"method":"eth_chainId"})).collect();
        assert!(matches!(check(serde_json::to_string(&big).unwrap().as_bytes()), Checked::Refuse(_)));
    }

    #[test]
    fn buckets_refill_with_time() {
        let mut b = Bucket::new(2.0, 0);
        assert!(b.take(1.0, 1.0, 2.0, 0));
        assert!(b.take(1.0, 1.0, 2.0, 0));
        assert!(!b.take(1.0, 1.0, 2.0, 0));
        assert!(b.take(1.0, 1.0, 2.0, 1_000));
    }

    proptest! {
        #[test]
        fn no_body_panics_the_guard(body in proptest::collection::vec(any::<u8>(), 0..512), method in "[a-z_A-Z]{0,30}") {
            let _ = check(&body);
            let call = json!({"jsonrpc":"2.0","id":1,"method":method});
            let forwarded = matches!(check(call.to_string().as_bytes()), Checked::Forward { .. });
            prop_assert_eq!(forwarded, ALLOWED_METHODS.contains(&method.as_str()));
        }
    }
}
