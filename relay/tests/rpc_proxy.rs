//! `POST /rpc` in front of a recording chain node (a tiny axum server on port 0): what the
//! upstream receives is what the guard checked, nothing else.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use relay::http::{app, AppState};
use relay::rpc_proxy::RpcProxy;
use serde_json::Value;
use tower::ServiceExt;

/// A chain node that answers every call with chain 98765 and keeps each body it received.
async fn recording_upstream() -> (String, Arc<Mutex<Vec<Bytes>>>) {
    let seen: Arc<Mutex<Vec<Bytes>>> = Arc::default();
    let keep = seen.clone();
    let node = Router::new().route(
        "/",
        axum::routing::post(move |body: Bytes| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push(body);
                ([(header::CONTENT_TYPE, "application/json")], r#"{"jsonrpc":"2.0","id":1,"result":"0x181cd"}"#)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, node).await });
    (format!("http://{addr}/"), seen)
}

fn relay_with(upstream: String) -> (Router, tempfile::TempDir) {
    let www = tempfile::tempdir().unwrap();
    let state = AppState::new(www.path().to_path_buf(), "http://127.0.0.1:8080".into()).with_rpc(RpcProxy::new(upstream, false).unwrap());
    (app(state), www)
}

async fn post_rpc(router: &Router, body: &str) -> (StatusCode, Value) {
    let request = Request::post("/rpc").header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Every `"key":` in a JSON text, case-folded, duplicates kept (a parser into a map would merge them).
fn raw_keys(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("\":") {
        if let Some(start) = rest[..at].rfind('"') {
            keys.push(rest[start + 1..at].to_ascii_lowercase());
        }
        rest = &rest[at + 2..];
    }
    keys.sort();
    keys
}

#[tokio::test]
async fn the_chain_node_receives_only_what_the_guard_checked() {
    let (url, seen) = recording_upstream().await;
    let (router, _www) = relay_with(url);
    // The guard's parser keeps the last `method`; a node that keeps the first, or matches
    // keys case-insensitively (Go's encoding/json), would run admin_addPeer.
    let smuggled = r#"{"jsonrpc":"2.0","id":1,"method":"admin_addPeer","Method":"admin_addPeer","method":"eth_chainId","params":[],"extra":"x"}"#;
    let (status, answer) = post_rpc(&router, smuggled).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["result"], "0x181cd");
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"debug_setHead","method":"eth_blockNumber"},{"jsonrpc":"2.0","id":2,"method":"eth_chainId","params":{},"METHOD":"miner_start"}]"#;
    let (status, _) = post_rpc(&router, batch).await;
    assert_eq!(status, StatusCode::OK);

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let single = String::from_utf8(seen[0].to_vec()).unwrap();
    assert_eq!(raw_keys(&single), ["id", "jsonrpc", "method", "params"], "upstream got {single}");
    assert!(!single.contains("admin_"), "upstream got {single}");
    let batch = String::from_utf8(seen[1].to_vec()).unwrap();
    assert_eq!(raw_keys(&batch), ["id", "id", "jsonrpc", "jsonrpc", "method", "method", "params"], "upstream got {batch}");
    assert!(!batch.contains("debug_") && !batch.contains("miner_"), "upstream got {batch}");
    let calls: Vec<Value> = serde_json::from_str(&batch).unwrap();
    assert_eq!(calls[0]["method"], "eth_blockNumber");
    assert_eq!(calls[1]["method"], "eth_chainId");
}

/// Behind a trusted reverse proxy, clients it forwards are rate-limited apart; from an
/// untrusted peer, `X-Forwarded-For` is anyone's word and every request shares the peer's bucket.
#[tokio::test]
async fn forwarded_clients_get_their_own_rate_bucket_only_behind_a_trusted_proxy() {
    use axum::extract::ConnectInfo;
    let (url, _) = recording_upstream().await;
    let batch: Vec<Value> = (0..20).map(|i| serde_json::json!({"jsonrpc":"2.0","id":i,"method":"eth_chainId"})).collect();
    let batch = Value::Array(batch).to_string();
    for trusted in [false, true] {
        let www = tempfile::tempdir().unwrap();
        let proxies = if trusted { vec![relay::client_addr::parse_cidr("127.0.0.1/32").unwrap()] } else { Vec::new() };
        let state = AppState::new(www.path().to_path_buf(), "http://127.0.0.1:8080".into())
            .with_rpc(RpcProxy::new(url.clone(), false).unwrap())
            .with_trusted_proxies(relay::client_addr::TrustedProxies::new(proxies));
        let router = app(state);
        let post = |xff: &str| {
            let mut request = Request::post("/rpc").header(header::CONTENT_TYPE, "application/json").header("x-forwarded-for", xff).body(Body::from(batch.clone())).unwrap();
            request.extensions_mut().insert(ConnectInfo("127.0.0.1:40000".parse::<std::net::SocketAddr>().unwrap()));
            router.clone().oneshot(request)
        };
        // One client spends its whole burst (60 calls) …
        for _ in 0..3 {
            assert_eq!(post("203.0.113.1").await.unwrap().status(), StatusCode::OK);
        }
        assert_eq!(post("203.0.113.1").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
        // … and another client behind the same proxy is limited with it only when the proxy is not trusted.
        let other = post("203.0.113.2").await.unwrap().status();
        assert_eq!(other, if trusted { StatusCode::OK } else { StatusCode::TOO_MANY_REQUESTS }, "trusted: {trusted}");
    }
}
