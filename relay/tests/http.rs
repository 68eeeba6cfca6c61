//! The relay's HTTP side, in memory (`oneshot`, no sockets).

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use relay::http::{app, AppState};
use tower::ServiceExt;

fn www() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<!doctype html><title>Chiral</title>".repeat(50)).unwrap();
    std::fs::create_dir(dir.path().join("pkg")).unwrap();
    std::fs::write(dir.path().join("pkg/chiral_ui_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dir.path().join("pkg/chiral_ui_bg.wasm.gz"), b"gzipped").unwrap();
    std::fs::write(dir.path().join("pkg/chiral_ui.js"), "export default 1;".repeat(100)).unwrap();
    dir
}

async fn get(dir: &tempfile::TempDir, uri: &str, accept_encoding: Option<&str>) -> axum::response::Response {
    let mut req = Request::get(uri);
    if let Some(enc) = accept_encoding {
        req = req.header(header::ACCEPT_ENCODING, enc);
    }
    app(AppState::new(dir.path().to_path_buf(), "http://127.0.0.1:8080".into()))
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn healthz_is_ok() {
    let dir = www();
    let res = get(&dir, "/healthz", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap()["status"], "ok");
}

#[tokio::test]
async fn wasm_is_served_as_application_wasm_precompressed_and_revalidated() {
    let dir = www();
    let res = get(&dir, "/pkg/chiral_ui_bg.wasm", Some("gzip")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache");
    assert!(res.headers().contains_key(header::LAST_MODIFIED));
    assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), &b"gzipped"[..]);
    // Without Accept-Encoding, the plain file.
    let res = get(&dir, "/pkg/chiral_ui_bg.wasm", None).await;
    assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
    assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), &b"\0asm\x01\0\0\0"[..]);
}

#[tokio::test]
async fn javascript_is_compressed_on_the_fly() {
    let dir = www();
    let res = get(&dir, "/pkg/chiral_ui.js", Some("br")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().contains("javascript"));
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "br");
}

#[tokio::test]
async fn unknown_paths_fall_back_to_the_app_and_traversal_is_refused() {
    let dir = www();
    let res = get(&dir, "/download/abc", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let res = get(&dir, "/../Cargo.toml", None).await;
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert!(!String::from_utf8_lossy(&body).contains("[package]"));
}

#[tokio::test]
async fn web_seed_urls_of_unknown_files_are_json_404s_not_the_app() {
    let dir = www();
    let response = get(&dir, "/file/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", None).await;
    assert_eq!(response.status(), 404);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(json["error"].as_str().unwrap().contains("content ID"));
}

/// The shipped Geth genesis says what the design says.
#[test]
fn the_geth_genesis_matches_the_design() {
    let g: serde_json::Value = serde_json::from_str(include_str!("../genesis.json")).unwrap();
    assert_eq!(g["config"]["chainId"], 98765);
    assert_eq!(g["difficulty"], "0x400000");
    assert_eq!(g["gasLimit"], "0x47b760");
    let extra = hex::decode(g["extraData"].as_str().unwrap().trim_start_matches("0x")).unwrap();
    assert_eq!(extra, b"Keep on keeping on!");
    assert_eq!(g["config"]["londonBlock"], 0, "EIP-1559 transactions from block 0");
    assert!(!g["alloc"].as_object().unwrap().is_empty(), "pre-funded addresses");
}

/// Behind a TLS reverse proxy every client arrives from the proxy's address: the HTTP
/// tracker records the address the proxy forwarded, but only when the proxy is trusted
/// (otherwise anyone could list any address as a peer).
#[tokio::test]
async fn the_http_tracker_records_the_forwarded_client_only_behind_a_trusted_proxy() {
    use axum::extract::ConnectInfo;
    let dir = www();
    let proxy: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let announce = |peer_id: u8, port: u16, xff: Option<&str>| {
        let query = format!("info_hash={}&peer_id={}&port={port}&left=0&compact=1", "%07".repeat(20), format!("%{peer_id:02X}").repeat(20));
        let mut req = Request::get(format!("/announce?{query}"));
        if let Some(xff) = xff {
            req = req.header("x-forwarded-for", xff);
        }
        let mut req = req.body(Body::empty()).unwrap();
        req.extensions_mut().insert(ConnectInfo(proxy));
        req
    };
    for (trusted, expected) in [(false, [127, 0, 0, 1]), (true, [203, 0, 113, 7])] {
        let proxies = if trusted { vec![relay::client_addr::parse_cidr("127.0.0.1/32").unwrap()] } else { Vec::new() };
        let state = AppState::new(dir.path().to_path_buf(), "http://127.0.0.1:8080".into()).with_trusted_proxies(relay::client_addr::TrustedProxies::new(proxies));
        let router = app(state);
        let first = router.clone().oneshot(announce(1, 6881, Some("198.51.100.1, 203.0.113.7"))).await.unwrap();
        assert_eq!(first.status(), StatusCode::OK);
        let second = router.oneshot(announce(2, 7000, None)).await.unwrap();
        let body = second.into_body().collect().await.unwrap().to_bytes();
        let at = body.windows(9).position(|w| w == b"5:peers6:").expect("one compact peer") + 9;
        assert_eq!(body[at..at + 4], expected, "trusted: {trusted}");
        assert_eq!(u16::from_be_bytes([body[at + 4], body[at + 5]]), 6881);
    }
}
