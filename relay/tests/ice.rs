//! The relay's STUN/TURN side against webrtc-rs's own TURN client on 127.0.0.1: STUN
//! answers, an allocation with a credential from `/api/ice` relays both ways, forged and
//! expired credentials are refused, the allocation cap holds, and `/api/ice` is rate-limited.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use relay::http::{app, AppState};
use relay::ice::{IceArgs, IceService};
use tower::ServiceExt;
use turn::client::{Client, ClientConfig};
use webrtc_util::Conn;

fn args(turn: bool, stun: bool) -> IceArgs {
    IceArgs {
        stun_listen: stun.then(|| "127.0.0.1:0".parse().unwrap()),
        turn_listen: turn.then(|| "127.0.0.1:0".parse().unwrap()),
        external: None,
        realm: "chiral".into(),
        secret: Some("a test secret of some length".into()),
        credential_ttl: 600,
        max_allocations: 2,
        quota_mib: 64,
        requests_per_minute: 3,
        extra: vec!["stun:stun.example.org:3478".into()],
    }
}

/// The policy of a relay on 127.0.0.1: peers on loopback may be relayed to.
fn loopback() -> relay::outbound::OutboundPolicy {
    relay::outbound::OutboundPolicy::new(relay::outbound::Scope::Loopback)
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The `HOST:PORT` of the first URL with this scheme in the service's config.
fn server_addr(service: &IceService, scheme: &str) -> String {
    let config = service.config("t", now());
    let url = config.ice_servers.iter().flat_map(|s| s.urls.iter()).find(|u| u.starts_with(scheme)).unwrap().clone();
    url.trim_start_matches(scheme).split('?').next().unwrap().to_string()
}

async fn client(server: &str, username: &str, password: &str) -> Client {
    let conn = Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let c = Client::new(ClientConfig {
        stun_serv_addr: server.into(),
        turn_serv_addr: server.into(),
        username: username.into(),
        password: password.into(),
        realm: String::new(),
        software: String::new(),
        rto_in_ms: 100,
        conn,
        vnet: None,
    })
    .await
    .unwrap();
    c.listen().await.unwrap();
    c
}

#[tokio::test]
async fn stun_answers_with_the_clients_address() {
    let dir = tempfile::tempdir().unwrap();
    let service = IceService::start(&args(false, true), dir.path(), loopback()).await.unwrap().unwrap();
    let server = server_addr(&service, "stun:");
    let c = client(&server, "", "").await;
    let mapped = tokio::time::timeout(Duration::from_secs(5), c.send_binding_request()).await.unwrap().unwrap();
    assert_eq!(mapped.ip(), std::net::IpAddr::from([127, 0, 0, 1]));
    // A STUN-only listener grants no allocations, whatever the credential.
    let c = client(&server, "x", "y").await;
    assert!(tokio::time::timeout(Duration::from_secs(5), c.allocate()).await.unwrap().is_err());
    service.close().await;
}

#[tokio::test]
async fn turn_relays_for_issued_credentials_only() {
    let dir = tempfile::tempdir().unwrap();
    let service = IceService::start(&args(true, false), dir.path(), loopback()).await.unwrap().unwrap();
    let server = server_addr(&service, "turn:");
    let config = service.config("page-1", now());
    let turn = config.ice_servers.iter().find(|s| s.username.is_some()).unwrap();
    let (user, pass) = (turn.username.clone().unwrap(), turn.credential.clone().unwrap());
    assert_eq!(config.ice_servers.last().unwrap().urls, ["stun:stun.example.org:3478"], "--ice-server entries follow the relay's own");

    // A good credential: an allocation that relays both ways.
    let good = client(&server, &user, &pass).await;
    let relay_conn = tokio::time::timeout(Duration::from_secs(5), good.allocate()).await.unwrap().unwrap();
    let relayed: SocketAddr = relay_conn.local_addr().unwrap();
    let peer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    relay_conn.send_to(b"through the relay", peer.local_addr().unwrap()).await.unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = tokio::time::timeout(Duration::from_secs(5), peer.recv_from(&mut buf)).await.unwrap().unwrap();
    assert_eq!((&buf[..n], from.port()), (&b"through the relay"[..], relayed.port()));
    peer.send_to(b"and back", from).await.unwrap();
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), relay_conn.recv_from(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf[..n], b"and back");
    let stats = service.stats.snapshot();
    assert_eq!(stats["allocations"], 1);
    assert!(stats["relayed_bytes"].as_u64().unwrap() >= 25, "{stats}");

    // Forged, expired, or another relay's: refused.
    let forged = client(&server, &user, "not the password").await;
    assert!(tokio::time::timeout(Duration::from_secs(5), forged.allocate()).await.unwrap().is_err());
    let old = relay::ice::credentials::CredentialIssuer::new(b"a test secret of some length".to_vec(), 600).issue("old", now() - 3600);
    let expired = client(&server, &old.username, &old.password).await;
    assert!(tokio::time::timeout(Duration::from_secs(5), expired.allocate()).await.unwrap().is_err());
    let foreign = relay::ice::credentials::CredentialIssuer::new(b"someone else's secret".to_vec(), 600).issue("x", now());
    let foreign = client(&server, &foreign.username, &foreign.password).await;
    assert!(tokio::time::timeout(Duration::from_secs(5), foreign.allocate()).await.unwrap().is_err());
    // The expired name is refused by name; the forged and foreign ones by MESSAGE-INTEGRITY.
    assert!(service.stats.snapshot()["auth_refused"].as_u64().unwrap() >= 1);

    // The cap: two live allocations at most.
    let second = client(&server, &user, &pass).await;
    let _second_conn = tokio::time::timeout(Duration::from_secs(5), second.allocate()).await.unwrap().unwrap();
    let third = client(&server, &user, &pass).await;
    assert!(tokio::time::timeout(Duration::from_secs(5), third.allocate()).await.unwrap().is_err(), "a third allocation beyond --turn-max-allocations 2");
    assert_eq!(service.stats.snapshot()["allocations_refused"], 1);
    service.close().await;
}

#[tokio::test]
async fn api_ice_hands_out_credentials_and_rate_limits_them() {
    let dir = tempfile::tempdir().unwrap();
    let service = IceService::start(&args(true, true), dir.path(), loopback()).await.unwrap().unwrap();
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("index.html"), "<!doctype html>").unwrap();
    let app = app(AppState::new(www.path().to_path_buf(), "http://127.0.0.1:8080".into()).with_ice(service));
    for i in 0..3 {
        let res = app.clone().oneshot(Request::get("/api/ice").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "request {i}");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
        let body: serde_json::Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
        let parsed = web_node::ice::IceConfig::from_json(body.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.ice_servers.len(), 3, "STUN, TURN, --ice-server: {body}");
        assert!(parsed.ice_servers[1].urls[0].ends_with("?transport=udp"));
        assert_eq!(parsed.ttl, 600);
    }
    // Beyond the rate: STUN still, no TURN credential, and when to ask again.
    let res = app.clone().oneshot(Request::get("/api/ice").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let limited = web_node::ice::IceConfig::from_json(&body).unwrap();
    assert!(limited.ice_servers.iter().all(|s| s.username.is_none()), "no credential beyond the rate");
    assert_eq!(limited.ice_servers.len(), 2, "STUN and --ice-server");
    let stats = app.oneshot(Request::get("/api/ice/stats").body(Body::empty()).unwrap()).await.unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&stats.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(stats["enabled"], true);
}

#[tokio::test]
async fn a_wildcard_listen_address_needs_the_external_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = args(true, false);
    a.turn_listen = Some("0.0.0.0:0".parse().unwrap());
    let err = IceService::start(&a, dir.path(), loopback()).await.unwrap_err().to_string();
    assert!(err.contains("--ice-external"), "{err}");
    a.external = Some("198.51.100.7".parse().unwrap());
    let service = IceService::start(&a, dir.path(), loopback()).await.unwrap().unwrap();
    assert!(service.config("t", now()).ice_servers[0].urls[0].starts_with("stun:198.51.100.7:"));
    service.close().await;
    // No secret given: one is made once and kept.
    a.secret = None;
    let s1 = IceService::start(&a, dir.path(), loopback()).await.unwrap().unwrap();
    let secret = std::fs::read_to_string(dir.path().join("turn.secret")).unwrap();
    s1.close().await;
    let s2 = IceService::start(&a, dir.path(), loopback()).await.unwrap().unwrap();
    assert_eq!(std::fs::read_to_string(dir.path().join("turn.secret")).unwrap(), secret);
    s2.close().await;
}
