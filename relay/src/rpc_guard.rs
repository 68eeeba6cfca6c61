//! What the `/rpc` proxy lets through, as pure functions: a JSON-RPC 2.0 body (single or
//! batch) is checked against an allowlist of the methods a wallet page needs, a batch
//! limit and well-formedness. Everything a page must never reach (admin_, personal_,
//! miner_, debug_, eth_sign, eth_sendTransaction on the node's own keys, …) is refused
//! with a JSON-RPC error that names the method.
//!
//! What passes is forwarded as the guard understood it, never as the bytes received: each
//! call is rebuilt from the four members it checked (`jsonrpc`, `id`, `method`, `params`;
//! JSON-RPC 2.0, <https://www.jsonrpc.org/specification>) and serialized again. Whatever a
//! JSON parser upstream might read differently (duplicate keys such as
//! `{"method":"eth_chainId","method":"admin_addPeer"}`, keys that differ only in case,
//! which Go's encoding/json matches, unknown members) never reaches the chain node.

use serde_json::{json, Map, Value};

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

/// One allowed call, holding only what the guard checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// A string, a number or null (JSON-RPC 2.0 §4); none for a notification.
    pub id: Option<Value>,
    /// An entry of [`ALLOWED_METHODS`] (the allowlist's own string, not the client's).
    pub method: &'static str,
    /// An array or an object, when given.
    pub params: Option<Value>,
}

impl Call {
    /// `{"jsonrpc":"2.0","id":…,"method":…,"params":…}`, members absent when they were.
    pub fn to_value(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("jsonrpc".into(), Value::from("2.0"));
        if let Some(id) = &self.id {
            obj.insert("id".into(), id.clone());
        }
        obj.insert("method".into(), Value::from(self.method));
        if let Some(params) = &self.params {
            obj.insert("params".into(), params.clone());
        }
        Value::Object(obj)
    }
}

/// What goes upstream: one call or a batch, as the client sent it.
#[derive(Debug, Clone, PartialEq)]
pub enum Calls {
    Single(Call),
    Batch(Vec<Call>),
}

impl Calls {
    /// Calls counted against the client's rate bucket.
    pub fn len(&self) -> usize {
        match self {
            Calls::Single(_) => 1,
            Calls::Batch(calls) => calls.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The allowlisted methods called, in order.
    pub fn methods(&self) -> impl Iterator<Item = &'static str> + '_ {
        let calls: &[Call] = match self {
            Calls::Single(call) => std::slice::from_ref(call),
            Calls::Batch(calls) => calls,
        };
        calls.iter().map(|c| c.method)
    }

    /// The body forwarded to the chain node: these calls serialized afresh.
    pub fn to_body(&self) -> Vec<u8> {
        let value = match self {
            Calls::Single(call) => call.to_value(),
            Calls::Batch(calls) => Value::Array(calls.iter().map(Call::to_value).collect()),
        };
        value.to_string().into_bytes()
    }
}

/// The verdict on one body.
#[derive(Debug, Clone, PartialEq)]
pub enum Checked {
    /// Forward these calls (their [`Calls::to_body`], not the bytes received).
    Forward(Calls),
    /// Answer this without asking the upstream.
    Refuse(Value),
}

fn check_call(call: &Value) -> Result<Call, Value> {
    let Some(obj) = call.as_object() else {
        return Err(error(&Value::Null, code::INVALID_REQUEST, "a JSON-RPC call must be an object"));
    };
    let id = obj.get("id").cloned();
    let echo = match &id {
        Some(id @ (Value::String(_) | Value::Number(_) | Value::Null)) => id.clone(),
        None => Value::Null,
        Some(_) => return Err(error(&Value::Null, code::INVALID_REQUEST, "`id` must be a string, a number or null")),
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(error(&echo, code::INVALID_REQUEST, "`jsonrpc` must be \"2.0\""));
    }
    let Some(method) = obj.get("method").and_then(Value::as_str) else {
        return Err(error(&echo, code::INVALID_REQUEST, "`method` must be a string"));
    };
    let Some(method) = ALLOWED_METHODS.iter().copied().find(|m| *m == method) else {
        let shown: String = method.chars().take(64).collect();
        return Err(error(&echo, code::METHOD_NOT_ALLOWED, format!("method `{shown}` is not available through this relay")));
    };
    let params = match obj.get("params") {
        None => None,
        Some(p @ (Value::Array(_) | Value::Object(_))) => Some(p.clone()),
        Some(_) => return Err(error(&echo, code::INVALID_REQUEST, "`params` must be an array or an object")),
    };
    Ok(Call { id, method, params })
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
            let verdicts: Vec<Result<Call, Value>> = calls.iter().map(check_call).collect();
            if verdicts.iter().all(Result::is_ok) {
                return Checked::Forward(Calls::Batch(verdicts.into_iter().flatten().collect()));
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
            Ok(call) => Checked::Forward(Calls::Single(call)),
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
        assert_eq!(check(br#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}"#), Checked::Forward(Calls::Single(Call { id: Some(json!(1)), method: "eth_chainId", params: None })));
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

    /// The keys of every object in `text`, sorted, duplicates kept (serde_json's `Value`
    /// would merge them). Good enough for bodies whose strings hold no `":`.
    fn raw_keys(text: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find("\":") {
            let start = rest[..at].rfind('"').expect("a key has an opening quote");
            keys.push(rest[start + 1..at].to_string());
            rest = &rest[at + 2..];
        }
        keys.sort();
        keys
    }

    #[test]
    fn what_is_forwarded_is_rebuilt_from_the_checked_members_only() {
        // serde_json keeps the last duplicate; a chain node reading the first would see admin_addPeer.
        let smuggled = br#"{"jsonrpc":"2.0","id":"a","method":"admin_addPeer","METHOD":"admin_addPeer","method":"eth_chainId","params":["latest"],"extra":{"method":"admin_peers"}}"#;
        let Checked::Forward(calls) = check(smuggled) else { panic!("refused") };
        let body = String::from_utf8(calls.to_body()).unwrap();
        assert_eq!(raw_keys(&body), ["id", "jsonrpc", "method", "params"], "{body}");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!({"jsonrpc":"2.0","id":"a","method":"eth_chainId","params":["latest"]}));
        // A batch, a notification (no id stays no id), and ids that are not ids.
        let batch = br#"[{"jsonrpc":"2.0","id":1,"method":"admin_addPeer","method":"eth_blockNumber","x":1},{"jsonrpc":"2.0","method":"eth_chainId"}]"#;
        let Checked::Forward(calls) = check(batch) else { panic!("refused") };
        assert_eq!(calls.len(), 2);
        let body = String::from_utf8(calls.to_body()).unwrap();
        assert_eq!(raw_keys(&body), ["id", "jsonrpc", "jsonrpc", "method", "method"], "{body}");
        for id in [r#"{"a":1}"#, "[1]", "true"] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"eth_chainId"}}"#);
            let Checked::Refuse(e) = check(body.as_bytes()) else { panic!("id {id} passed") };
            assert_eq!(e["error"]["code"], code::INVALID_REQUEST);
        }
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
            let forwarded = matches!(check(call.to_string().as_bytes()), Checked::Forward(_));
            prop_assert_eq!(forwarded, ALLOWED_METHODS.contains(&method.as_str()));
        }

        /// Whatever else a call carries, what is forwarded holds one allowed method and
        /// nothing but the four checked members.
        #[test]
        fn forwarded_bodies_hold_only_checked_members(extra in proptest::collection::vec(("[a-zA-Z]{1,8}", "[a-z_A-Z]{0,20}"), 0..6), method in proptest::sample::select(ALLOWED_METHODS)) {
            let mut body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}""#);
            for (k, v) in &extra {
                body.push_str(&format!(r#","{k}":"{v}""#));
            }
            body.push('}');
            if let Checked::Forward(calls) = check(body.as_bytes()) {
                let out = String::from_utf8(calls.to_body()).unwrap();
                let keys = raw_keys(&out);
                prop_assert!(keys.iter().all(|k| ["jsonrpc", "id", "method", "params"].contains(&k.as_str())), "{}", out);
                prop_assert_eq!(keys.iter().filter(|k| *k == "method").count(), 1);
                let forwarded: Value = serde_json::from_str(&out).unwrap();
                prop_assert!(ALLOWED_METHODS.contains(&forwarded["method"].as_str().unwrap_or("")));
            }
        }
    }
}
