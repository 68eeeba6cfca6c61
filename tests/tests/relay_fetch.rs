//! `relay fetch` against a real BitTorrent client (Debian's aria2) that no tracker and no
//! DHT knows: the magnet's `x.pe` peer is the only source. And a torrent the relay refuses
//! (here a multi-file one) fails at once with the reason, not after the timeout.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use chiral_e2e::{relay_bin, relay_manifest, sha256_file, write_test_file, Guarded};

/// aria2 seeding `torrent` from `dir` on 127.0.0.1:`port`, with no tracker, DHT, LPD or PEX.
fn aria2_seed(dir: &Path, torrent: &Path, port: u16) -> anyhow::Result<Guarded> {
    Guarded::spawn(
        Command::new("aria2c")
            .args(["--seed-ratio=0.0", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false"])
            .args(["--enable-peer-exchange=false", "--summary-interval=0", "--console-log-level=warn", "--check-integrity=true"])
            .args(["--bt-tracker=", "--bt-exclude-tracker=*"])
            .arg(format!("--listen-port={port}"))
            .arg("--interface=127.0.0.1")
            .arg("-d")
            .arg(dir)
            .arg(torrent)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
}

/// Waits until something listens on 127.0.0.1:`port`.
fn until_listening(port: u16) -> anyhow::Result<()> {
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    anyhow::bail!("aria2 never listened on {port}")
}

fn relay_fetch(magnet: &str, out: &Path) -> anyhow::Result<std::process::Output> {
    Ok(Command::new(relay_bin())
        .args(["fetch", magnet, "--no-dht", "--bt-listen", "127.0.0.1:0", "--timeout", "300", "-o"])
        .arg(out)
        .output()?)
}

#[test]
fn relay_fetch_dials_a_magnets_x_pe_peer() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let seeds = dir.path().join("seeds");
    std::fs::create_dir_all(&seeds)?;
    let file = seeds.join("only via x.pe.bin");
    write_test_file(&file, 3 * 1024 * 1024 + 77, 61)?;
    let torrent = dir.path().join("x.torrent");
    let m = relay_manifest(&file, &["--torrent", torrent.to_str().unwrap()])?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let _aria2 = aria2_seed(&seeds, &torrent, port)?;
    until_listening(port)?;
    // No tracker, no DHT: the peer named in the magnet is the only way to the file.
    let magnet = format!("magnet:?xt=urn:btih:{}&dn=got&x.pe=127.0.0.1%3A{port}", m["infohash"].as_str().unwrap());
    let out = dir.path().join("got.bin");
    let result = relay_fetch(&magnet, &out)?;
    let log = String::from_utf8_lossy(&result.stderr).to_string() + &String::from_utf8_lossy(&result.stdout);
    assert!(result.status.success(), "relay fetch failed:\n{log}");
    assert_eq!(sha256_file(&out)?, m["cid"].as_str().unwrap(), "the fetched file differs");
    Ok(())
}

#[test]
fn relay_fetch_refuses_metadata_it_cannot_take_at_once_with_the_reason() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let folder = dir.path().join("seeds").join("a folder");
    std::fs::create_dir_all(&folder)?;
    write_test_file(&folder.join("one.bin"), 300_000, 62)?;
    write_test_file(&folder.join("two.bin"), 200_000, 63)?;
    let torrent = dir.path().join("folder.torrent");
    chiral_e2e::run_tool(Command::new("transmission-create").arg("-o").arg(&torrent).arg(&folder))?;
    let infohash = chiral_e2e::run_tool(Command::new("transmission-show").arg(&torrent))?
        .lines()
        .find_map(|l| l.trim().strip_prefix("Hash: ").map(str::to_string))
        .ok_or_else(|| anyhow::anyhow!("transmission-show printed no infohash"))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let _aria2 = aria2_seed(&dir.path().join("seeds"), &torrent, port)?;
    until_listening(port)?;
    let magnet = format!("magnet:?xt=urn:btih:{infohash}&x.pe=127.0.0.1%3A{port}");
    let result = relay_fetch(&magnet, &dir.path().join("out"))?;
    let log = String::from_utf8_lossy(&result.stderr).to_string() + &String::from_utf8_lossy(&result.stdout);
    assert!(!result.status.success(), "a multi-file torrent was fetched?\n{log}");
    // The reason, not "did not finish within 300 s".
    assert!(log.contains("cannot download this torrent"), "no reason given:\n{log}");
    assert!(!log.contains("did not finish"), "it waited out its timeout:\n{log}");
    Ok(())
}
