//! The bridge dials a peer only when the relay's outbound policy allows it: a relay on a
//! public address never connects to loopback, whoever names the address; a relay bound to
//! loopback (development, these tests) does.

use std::net::SocketAddr;
use std::time::Duration;

use relay::bridge::{Bridge, BridgeLimits};
use relay::outbound::{OutboundPolicy, Scope};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// A bridge holding one small file of its own (no trackers, no DHT: it dials only the peers
/// it is handed), and that file's infohash.
fn bridge_with_a_file(scope: Scope, dir: &tempfile::TempDir) -> (Bridge, [u8; 20]) {
    let bridge = Bridge::new(dir.path(), BridgeLimits::default(), OutboundPolicy::new(scope));
    let file = dir.path().join("file.bin");
    std::fs::write(&file, vec![7u8; 1000]).unwrap();
    let args = relay::config::ManifestArgs { file: file.clone(), passphrase: None, iterations: 1, torrent: None, manifest_out: None, public_url: "http://127.0.0.1:8080".into(), ed2k_source: Vec::new() };
    let manifest = relay::manifest_cmd::build_manifest(&args).unwrap();
    bridge.add_local(&file, &manifest).unwrap();
    (bridge, manifest.infohash)
}

#[tokio::test]
async fn a_public_relay_never_dials_loopback_and_a_loopback_relay_does() {
    for (scope, dials) in [(Scope::Public, false), (Scope::Lan, false), (Scope::Loopback, true)] {
        let dir = tempfile::tempdir().unwrap();
        let peer = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = peer.local_addr().unwrap();
        let (bridge, info_hash) = bridge_with_a_file(scope, &dir);
        // Any form of the address: plain, IPv4-mapped.
        let mapped = match addr.ip() {
            std::net::IpAddr::V4(v4) => SocketAddr::new(v4.to_ipv6_mapped().into(), addr.port()),
            std::net::IpAddr::V6(_) => addr,
        };
        assert!(bridge.add_peers(&info_hash, [mapped, addr]));
        let accepted = tokio::time::timeout(Duration::from_secs(1), peer.accept()).await;
        assert_eq!(accepted.is_ok(), dials, "{scope:?}: dialled {addr}: {}", accepted.is_ok());
        if let Ok(Ok((mut stream, _))) = accepted {
            // It is the bridge: a BitTorrent handshake for the torrent.
            let mut handshake = [0u8; 68];
            tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut handshake)).await.unwrap().unwrap();
            assert_eq!(&handshake[1..20], b"BitTorrent protocol");
            assert_eq!(&handshake[28..48], &info_hash);
        }
    }
}

#[tokio::test]
async fn no_relay_dials_its_own_ports() {
    let dir = tempfile::tempdir().unwrap();
    let own = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (bridge, info_hash) = bridge_with_a_file(Scope::Loopback, &dir);
    bridge.outbound().add_own(own.local_addr().unwrap());
    assert!(bridge.add_peers(&info_hash, [own.local_addr().unwrap()]));
    assert!(tokio::time::timeout(Duration::from_secs(1), own.accept()).await.is_err(), "the bridge dialled the relay's own port");
    assert!(!bridge.add_peers(&[8; 20], [own.local_addr().unwrap()]), "no such file");
}
