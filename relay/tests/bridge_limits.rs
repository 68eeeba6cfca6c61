//! `/bridge` over real WebSockets (127.0.0.1, port 0): one client address opens at most its
//! share of bridged files (a refusal says why), clients a trusted proxy forwards are counted
//! apart, and pages and peers that stay silent are disconnected (with short timeouts).

use std::net::SocketAddr;
use std::time::Duration;

use futures::StreamExt;
use relay::bridge::BridgeLimits;
use relay::client_caps::BRIDGE_FILES_PER_CLIENT;
use relay::http::{app, AppState};
use relay::outbound::{OutboundPolicy, Scope};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

type Client = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn relay(trusted_proxy: bool, limits: BridgeLimits) -> (SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let proxies = if trusted_proxy { vec![relay::client_addr::parse_cidr("127.0.0.1").unwrap()] } else { Vec::new() };
    let state = AppState::new(dir.path().to_path_buf(), format!("http://{addr}"))
        .with_bridge(dir.path(), limits, OutboundPolicy::new(Scope::Loopback))
        .with_trusted_proxies(relay::client_addr::TrustedProxies::new(proxies));
    tokio::spawn(async move { axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>()).await });
    (addr, dir)
}

async fn page(addr: SocketAddr, file: u8, forwarded_for: Option<&str>) -> Client {
    let mut request = format!("ws://{addr}/bridge/{}", hex::encode([file; 20])).into_client_request().unwrap();
    if let Some(client) = forwarded_for {
        request.headers_mut().insert("x-forwarded-for", client.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

/// The close frame the relay sends, if it sends one within `wait`.
async fn closed_with(page: &mut Client, wait: Duration) -> Option<(CloseCode, String)> {
    match tokio::time::timeout(wait, page.next()).await {
        Ok(Some(Ok(Message::Close(Some(frame))))) => Some((frame.code, frame.reason.to_string())),
        Ok(other) => panic!("expected a close frame, got {other:?}"),
        Err(_) => None,
    }
}

#[tokio::test]
async fn one_client_opens_at_most_its_share_of_bridged_files() {
    let (addr, _dir) = relay(false, BridgeLimits::default()).await;
    let mut pages = Vec::new();
    for file in 0..BRIDGE_FILES_PER_CLIENT as u8 {
        pages.push(page(addr, file, None).await);
    }
    let mut one_more = page(addr, 100, None).await;
    let (code, reason) = closed_with(&mut one_more, Duration::from_secs(5)).await.expect("refused");
    assert_eq!(code, CloseCode::Again);
    assert!(reason.contains("already holds 8 bridged files"), "{reason}");
    // Joining a file that is already bridged creates nothing: still fine.
    let mut again = page(addr, 0, None).await;
    assert_eq!(closed_with(&mut again, Duration::from_millis(300)).await, None);
    // Forwarding headers from an untrusted peer change nothing.
    let mut spoofed = page(addr, 101, Some("203.0.113.9")).await;
    assert!(closed_with(&mut spoofed, Duration::from_secs(5)).await.is_some(), "X-Forwarded-For from anyone picked a fresh cap");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_share() {
    let (addr, _dir) = relay(true, BridgeLimits::default()).await;
    let mut pages = Vec::new();
    for file in 0..BRIDGE_FILES_PER_CLIENT as u8 {
        pages.push(page(addr, file, Some("203.0.113.1")).await);
    }
    let mut refused = page(addr, 100, Some("203.0.113.1")).await;
    assert!(closed_with(&mut refused, Duration::from_secs(5)).await.is_some());
    let mut other = page(addr, 101, Some("203.0.113.2")).await;
    assert_eq!(closed_with(&mut other, Duration::from_millis(300)).await, None, "another client behind the proxy was refused");
}

const SHORT: BridgeLimits = BridgeLimits { rate: None, max_files: 64, disk_bytes: 1 << 30, idle_timeout: Duration::from_millis(600), first_message_timeout: Duration::from_millis(300) };

/// A page that opens the socket and says nothing is gone after the first-message timeout.
#[tokio::test]
async fn a_silent_page_is_disconnected() {
    let (addr, _dir) = relay(false, SHORT).await;
    let mut silent = page(addr, 1, None).await;
    let started = std::time::Instant::now();
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match silent.next().await {
                // The relay's own handshake, pings.
                Some(Ok(Message::Binary(_) | Message::Ping(_))) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the relay kept a silent page");
    assert!(matches!(end, None | Some(Err(_)) | Some(Ok(Message::Close(_)))), "{end:?}");
    assert!(started.elapsed() >= Duration::from_millis(250), "closed after {:?}", started.elapsed());
}

/// A page that answers the relay's pings (as browsers do by themselves) stays, however
/// long it has nothing to say; one that stops reading and answering is dropped.
#[tokio::test]
async fn pings_keep_a_quiet_page_and_silence_ends_it() {
    use futures::SinkExt;
    let (addr, _dir) = relay(false, SHORT).await;
    let mut quiet = page(addr, 2, None).await;
    // Its first message: a BitTorrent handshake for the file.
    let mut handshake = Vec::new();
    web_node::peer_wire::Handshake::new([2; 20], *b"-XX0001-quietquietqu").encode_into(&mut handshake);
    quiet.send(Message::Binary(handshake.into())).await.unwrap();
    // Reading answers pings: alive for several idle timeouts.
    let alive = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match quiet.next().await {
                Some(Ok(Message::Binary(_) | Message::Ping(_))) => continue,
                other => return other,
            }
        }
    })
    .await;
    assert!(alive.is_err(), "a page answering pings was dropped: {alive:?}");
    // Stop reading (no pongs): dropped after the idle timeout.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match quiet.next().await {
                Some(Ok(Message::Binary(_) | Message::Ping(_))) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the relay kept a page that stopped answering");
    assert!(matches!(end, None | Some(Err(_)) | Some(Ok(Message::Close(_)))), "{end:?}");
}

/// A peer the bridge dialled that never answers its handshake is hung up on.
#[tokio::test]
async fn a_silent_dialled_peer_is_dropped() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().unwrap();
    let bridge = relay::bridge::Bridge::new(dir.path(), SHORT, OutboundPolicy::new(Scope::Loopback));
    let file = dir.path().join("file.bin");
    std::fs::write(&file, vec![9u8; 1000]).unwrap();
    let args = relay::config::ManifestArgs { file: file.clone(), passphrase: None, iterations: 1, torrent: None, manifest_out: None, public_url: "http://127.0.0.1:8080".into(), ed2k_source: Vec::new() };
    let manifest = relay::manifest_cmd::build_manifest(&args).unwrap();
    bridge.add_local(&file, &manifest).unwrap();
    let peer = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    assert!(bridge.add_peers(&manifest.infohash, [peer.local_addr().unwrap()]));
    let (mut stream, _) = tokio::time::timeout(Duration::from_secs(5), peer.accept()).await.unwrap().unwrap();
    let started = std::time::Instant::now();
    let mut sink = Vec::new();
    // The relay's handshake and whatever follows, then EOF once it gives up on us.
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut sink)).await.expect("the relay kept a silent peer").unwrap();
    assert!(sink.len() >= 68, "no handshake");
    assert!(started.elapsed() >= Duration::from_millis(250), "hung up after {:?}", started.elapsed());
}
