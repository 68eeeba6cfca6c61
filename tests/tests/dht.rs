//! Discovery across community relays: three real relay processes on loopback, bootstrapped
//! in a chain (A–B, B–C). A seeds a file; a client entering through C finds its record.

use std::process::Command;
use std::time::Duration;

use chiral_e2e::{relay_bin, workspace_root, write_test_file, Relay};

fn lookup(cid: &str, bootstrap: &str) -> std::process::Output {
    Command::new(relay_bin())
        .args(["lookup", cid, "--bootstrap", bootstrap, "--timeout", "20"])
        .output()
        .expect("relay lookup runs")
}

/// Lookups are retried briefly: publication after bootstrap takes a moment to settle.
fn lookup_until_found(cid: &str, bootstrap: &str) -> serde_json::Value {
    let mut last = String::new();
    for _ in 0..40 {
        let out = lookup(cid, bootstrap);
        if out.status.success() {
            return serde_json::from_slice(&out.stdout).expect("lookup prints JSON");
        }
        last = String::from_utf8_lossy(&out.stderr).into_owned();
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("record never found: {last}");
}

#[test]
fn a_file_seeded_on_relay_a_is_found_through_relay_c() -> anyhow::Result<()> {
    let www = workspace_root().join("www");
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("film.mkv");
    write_test_file(&file, 3 * 262_144 + 11, 5)?;

    let a_dir = dir.path().join("a");
    let a = Relay::start_with(&www, Some(&a_dir), &["seed", file.to_str().unwrap()])?;
    let cid = a.wait_for_line("seeding ", Duration::from_secs(30))?.rsplit(' ').next().unwrap().to_string();
    let a_addr = a.tcp_multiaddr()?;
    let b = Relay::start_with(&www, None, &["--bootstrap", &a_addr])?;
    let c = Relay::start_with(&www, None, &["--bootstrap", &b.tcp_multiaddr()?])?;

    let node = c.get_json("/api/node")?;
    let c_addrs: Vec<String> = node["multiaddrs"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
    assert!(c_addrs.iter().any(|a| a.contains("/ws/p2p/")), "a WebSocket address for pages: {c_addrs:?}");
    assert!(c_addrs.iter().all(|a| a.ends_with(node["peer_id"].as_str().unwrap())));

    // Enter through C's WebSocket address, as a page would.
    let c_ws = c_addrs.iter().find(|a| a.contains("/ws/")).unwrap();
    let view = lookup_until_found(&cid, c_ws);
    let a_peer = a.get_json("/api/node")?["peer_id"].as_str().unwrap().to_string();
    assert_eq!(view["file"]["cid"], cid.as_str());
    assert_eq!(view["file"]["name"], "film.mkv");
    assert_eq!(view["file"]["chunks"], 4);
    let manifest = chiral_e2e::relay_manifest(&file, &[])?;
    assert_eq!(view["file"]["infohash"], manifest["infohash"]);
    assert_eq!(view["file"]["merkle_root"], manifest["merkle_root"], "the signed record carries the Merkle root");
    let seeders = view["seeders"].as_array().unwrap();
    // The relay over HTTP, and over eD2k at the address it listens on for it.
    assert_eq!(seeders.len(), 2, "{seeders:?}");
    assert_eq!(seeders[0]["peer_id"], a_peer.as_str());
    assert_eq!(seeders[0]["protocol"], "http");
    assert_eq!(seeders[0]["available_chunks"], serde_json::json!([[0, 4]]));
    assert_eq!(seeders[1]["peer_id"], a_peer.as_str());
    assert_eq!(seeders[1]["protocol"], "ed2k");
    assert_eq!(seeders[1]["endpoint"], a.wait_for_line("ed2k listening on ", Duration::from_secs(1))?.as_str());
    assert!(c.get_json("/api/node")?["routing_table_size"].as_u64().unwrap() >= 1);

    // A restarts with its data dir: same PeerId, and its record is published again.
    drop(a);
    let unknown = lookup(&"0".repeat(64), &b.tcp_multiaddr()?);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no record"), "{}", String::from_utf8_lossy(&unknown.stderr));
    let a2 = Relay::start_with(&www, Some(&a_dir), &["seed", file.to_str().unwrap(), "--bootstrap", &b.tcp_multiaddr()?])?;
    assert_eq!(a2.get_json("/api/node")?["peer_id"], a_peer.as_str());
    a2.wait_for_line("published ", Duration::from_secs(30))?;
    let view = lookup_until_found(&cid, &c.tcp_multiaddr()?);
    assert_eq!(view["seeders"][0]["peer_id"], a_peer.as_str());
    Ok(())
}

#[test]
fn lookup_explains_bad_input() {
    let out = Command::new(relay_bin()).args(["lookup", "not-a-cid", "--bootstrap", "/ip4/127.0.0.1/tcp/9"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a content ID"));
    let out = Command::new(relay_bin())
        .args(["lookup", &"a".repeat(64), "--bootstrap", "/ip4/127.0.0.1/tcp/9", "--timeout", "2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not reach any bootstrap relay"), "{}", String::from_utf8_lossy(&out.stderr));
}
