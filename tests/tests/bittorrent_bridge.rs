//! A real BitTorrent client (Debian's aria2) downloads a file that only a browser tab
//! seeds: it finds the relay through the HTTP tracker, connects over TCP, and the relay
//! bridges the tab's pieces (fetched over the `/bridge` WebSocket, verified) to it.

use std::process::Command;
use std::time::{Duration, Instant};

use chiral_e2e::{mixed_www, relay_manifest, sha256_file, share_file, write_test_file, Browser, Relay};

/// `transmission-cli` on loopback (its own config dir, peer port `port`, no DHT/LPD/PEX/uTP,
/// no speed limits, plain connections preferred), for `torrent` with data in `dir`.
fn transmission(config: &std::path::Path, port: u16, dir: &std::path::Path, torrent: &std::path::Path) -> anyhow::Result<Command> {
    std::fs::create_dir_all(config)?;
    std::fs::write(
        config.join("settings.json"),
        serde_json::json!({
            "bind-address-ipv4": "127.0.0.1", "bind-address-ipv6": "::1", "rpc-enabled": false,
            "dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
            "port-forwarding-enabled": false, "peer-port": port, "message-level": 0
        })
        .to_string(),
    )?;
    let mut cmd = Command::new("transmission-cli");
    cmd.args(["-U", "-D", "-et", "-g"]).arg(config).arg("-w").arg(dir).arg(torrent).stderr(std::process::Stdio::null());
    Ok(cmd)
}

/// A file a BitTorrent client will seed: `seeds/NAME` under `dir`, with the .torrent and
/// magnet `relay manifest` makes for it (naming the relay's trackers).
struct ClientSeed {
    dir: std::path::PathBuf,
    torrent: std::path::PathBuf,
    sha256: String,
    infohash: String,
    magnet: String,
}

fn client_seed(relay: &Relay, dir: &std::path::Path, name: &str, size: u64, seed: u32) -> anyhow::Result<ClientSeed> {
    let seeds = dir.join("seeds");
    std::fs::create_dir_all(&seeds)?;
    let file = seeds.join(name);
    write_test_file(&file, size, seed)?;
    let torrent = dir.join("client.torrent");
    let m = relay_manifest(&file, &["--public-url", &relay.url, "--torrent", torrent.to_str().unwrap()])?;
    Ok(ClientSeed { dir: seeds, torrent, sha256: sha256_file(&file)?, infohash: m["infohash"].as_str().unwrap().into(), magnet: m["magnet"].as_str().unwrap().into() })
}

/// Waits until a tab has offered `cid` to its relay's bridge (the relay answers HEAD).
async fn until_offered(relay: &Relay, cid: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = Command::new("curl").args(["-sI", "-o", "/dev/null", "-w", "%{http_code}"]).arg(format!("{}/file/{cid}", relay.url)).output()?;
        if out.stdout == b"200" {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "the tab never offered the file to the relay");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The page (already on the Download view) downloads `magnet`; the copy must hash to `sha256`.
async fn download_in_page(browser: &Browser, magnet: &str, infohash: &str, sha256: &str, route: &str) -> anyhow::Result<chiral_e2e::Transfer> {
    let started = Instant::now();
    chiral_e2e::start_download(browser, magnet).await?;
    let t = chiral_e2e::wait_for_transfer(browser, Some(infohash), Duration::from_secs(120)).await?;
    println!("{route}: {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(t.sha256, sha256, "the page's copy differs\n{}", t.html);
    Ok(t)
}

/// Waits until the tracker at `base` (`{base}/announce`, HTTP) lists 127.0.0.1:`port` for
/// `infohash`: the client under test has announced itself.
async fn until_announced(base: &str, infohash: &str, port: u16, timeout: Duration, what: &str) -> anyhow::Result<()> {
    let ih: String = hex::decode(infohash)?.iter().map(|b| format!("%{b:02X}")).collect();
    let probe = format!("{base}/announce?info_hash={ih}&peer_id=-PROBE-0000000000000&port=1&left=1&compact=1");
    let deadline = Instant::now() + timeout;
    loop {
        let out = Command::new("curl").args(["-s", &probe]).output()?;
        if out.stdout.windows(6).any(|w| w == [127, 0, 0, 1, (port >> 8) as u8, port as u8]) {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn aria2_downloads_a_browser_seeded_file_through_the_relay() -> anyhow::Result<()> {
    let www = mixed_www()?;
    let relay = Relay::start_with_www(www.path())?;
    relay.wait_for_line("bittorrent listening on ", Duration::from_secs(30))?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("tab to aria2.bin");
    write_test_file(&file, 6 * 1024 * 1024 + 4321, 41)?;
    let expected = sha256_file(&file)?;
    let torrent = dir.path().join("tab.torrent");
    relay_manifest(&file, &["--public-url", &relay.url, "--torrent", torrent.to_str().unwrap()])?;

    let browser = Browser::start().await?;
    let shared = share_file(&browser, &relay, &file, Duration::from_secs(120)).await?;
    until_offered(&relay, &shared.cid).await?;

    let out = dir.path().join("aria2");
    let started = Instant::now();
    let result = tokio::task::spawn_blocking({
        let out = out.clone();
        let torrent = torrent.clone();
        move || {
            Command::new("aria2c")
                .args(["--seed-time=0", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false"])
                .args(["--enable-peer-exchange=false", "--bt-stop-timeout=60", "--summary-interval=0", "--console-log-level=warn"])
                .args(["--bt-tracker-connect-timeout=10", "--bt-tracker-timeout=10", "--check-integrity=true"])
                .arg("--interface=127.0.0.1")
                .arg("-d")
                .arg(&out)
                .arg(&torrent)
                .output()
        }
    })
    .await??;
    let log = String::from_utf8_lossy(&result.stdout).to_string() + &String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "aria2 failed:\n{log}");
    println!("aria2 ← relay ← tab: {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(sha256_file(&out.join("tab to aria2.bin"))?, expected, "aria2's copy differs");
    browser.close().await
}

/// The other way: aria2 seeds over TCP (it announces to the relay's HTTP tracker); a page
/// downloads the magnet, and the relay fetches from aria2 for it over TCP.
#[tokio::test(flavor = "multi_thread")]
async fn a_page_downloads_a_file_that_aria2_seeds() -> anyhow::Result<()> {
    let www = mixed_www()?;
    let relay = Relay::start_with_www(www.path())?;
    relay.wait_for_line("bittorrent listening on ", Duration::from_secs(30))?;
    let dir = tempfile::tempdir()?;
    let seed = client_seed(&relay, dir.path(), "from aria2.bin", 5 * 1024 * 1024 + 999, 42)?;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let _aria2 = chiral_e2e::Guarded::spawn(
        Command::new("aria2c")
            .args(["--seed-ratio=0.0", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false"])
            .args(["--enable-peer-exchange=false", "--summary-interval=0", "--console-log-level=warn", "--check-integrity=true"])
            .arg(format!("--listen-port={port}"))
            .arg("--interface=127.0.0.1")
            .arg("-d")
            .arg(&seed.dir)
            .arg(&seed.torrent)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    )?;
    // Until aria2 has announced itself to the relay's tracker.
    until_announced(&relay.url, &seed.infohash, port, Duration::from_secs(30), "aria2 never announced to the relay's tracker").await?;

    let browser = Browser::start().await?;
    chiral_e2e::open_download(&browser, &relay).await?;
    download_in_page(&browser, &seed.magnet, &seed.infohash, &seed.sha256, "tab ← relay ← aria2").await?;
    browser.close().await
}

/// A swarm the relay knows nothing of: aria2 seeds a torrent whose only tracker is a real
/// UDP tracker (Debian's opentracker, BEP 15). The page, set to download through the relay
/// only, opens the magnet; the relay asks the UDP tracker for peers, fetches from aria2
/// over TCP and streams the verified pieces to the page.
#[tokio::test(flavor = "multi_thread")]
async fn a_page_downloads_a_magnet_whose_swarm_only_a_udp_tracker_knows() -> anyhow::Result<()> {
    let www = mixed_www()?;
    let relay = Relay::start_with_www(www.path())?;
    relay.wait_for_line("bittorrent listening on ", Duration::from_secs(30))?;
    let dir = tempfile::tempdir()?;
    let seed_dir = dir.path().join("swarm");
    std::fs::create_dir_all(&seed_dir)?;
    let file = seed_dir.join("udp swarm.bin");
    write_test_file(&file, 3 * 1024 * 1024 + 77, 43)?;
    let expected = sha256_file(&file)?;

    let tracker_port = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port();
    let tracker = format!("udp://127.0.0.1:{tracker_port}/announce");
    let torrent = dir.path().join("udp.torrent");
    chiral_e2e::run_tool(Command::new("transmission-create").arg("-o").arg(&torrent).args(["-t", &tracker]).arg(&file))?;
    let infohash = chiral_e2e::run_tool(Command::new("transmission-show").arg(&torrent))?
        .lines()
        .find_map(|l| l.trim().strip_prefix("Hash: ").map(str::to_string))
        .ok_or_else(|| anyhow::anyhow!("transmission-show printed no infohash"))?;
    // opentracker serves only listed torrents (Debian builds it with a whitelist).
    let whitelist = dir.path().join("whitelist");
    std::fs::write(&whitelist, format!("{infohash}\n"))?;
    // It reads the list as an unprivileged user.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    std::fs::set_permissions(&whitelist, std::fs::Permissions::from_mode(0o644))?;
    let _tracker = chiral_e2e::Guarded::spawn(
        Command::new("opentracker")
            .args(["-i", "127.0.0.1", "-p", &tracker_port.to_string(), "-P", &tracker_port.to_string(), "-w"])
            .arg(&whitelist)
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let dht_port = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port();
    let _aria2 = chiral_e2e::Guarded::spawn(
        Command::new("aria2c")
            // aria2 speaks UDP trackers through its DHT socket, so DHT is on (bound to loopback).
            .args(["--seed-ratio=0.0", "--enable-dht=true", "--enable-dht6=false", "--bt-enable-lpd=false"])
            .arg(format!("--dht-listen-port={dht_port}"))
            .arg(format!("--dht-file-path={}", dir.path().join("dht.dat").display()))
            .args(["--enable-peer-exchange=false", "--summary-interval=0", "--console-log-level=warn", "--check-integrity=true"])
            .arg(format!("--listen-port={port}"))
            .arg("--interface=127.0.0.1")
            .arg("-d")
            .arg(&seed_dir)
            .arg(&torrent)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    )?;
    // Until aria2 is in the tracker's swarm (asked over opentracker's HTTP side).
    until_announced(&format!("http://127.0.0.1:{tracker_port}"), &infohash, port, Duration::from_secs(30), "aria2 never announced to the UDP tracker").await?;

    let browser = Browser::start().await?;
    chiral_e2e::open_download(&browser, &relay).await?;
    // The user's override: only the relay, no WebRTC swarm.
    browser.client.execute("const s = document.querySelector('#source-mode'); s.value = 'relay'; s.dispatchEvent(new Event('change'));", vec![]).await?;
    let magnet = format!("magnet:?xt=urn:btih:{infohash}&dn=udp%20swarm.bin&tr={}", chiral_e2e::encode_uri_component(&tracker));
    let t = download_in_page(&browser, &magnet, &infohash, &expected, "tab ← relay ← aria2 (found by UDP tracker)").await?;
    let sources: Vec<String> = browser
        .client
        .execute("return [...document.querySelectorAll('.chunk-source')].map(e => e.dataset.source)", vec![])
        .await?
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    assert_eq!(sources, vec!["relay bridge".to_string()], "relay-only download had other sources\n{}", t.html);
    let stored: serde_json::Value = browser.client.execute("return localStorage.getItem('chiral.sources')", vec![]).await?;
    assert_eq!(stored, "relay", "the source choice is not remembered");
    browser.close().await
}

/// The relay is a mainline DHT node (BEP 5, librqbit's): it answers a KRPC ping on its DHT
/// port with its node id, and shuts a malformed query out without dying.
#[tokio::test(flavor = "multi_thread")]
async fn the_relay_answers_mainline_dht_queries() -> anyhow::Result<()> {
    let www = mixed_www()?;
    // A fixed node id, and a bootstrap node that never answers (the DHT keeps retrying it).
    let node_id = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";
    let relay = Relay::start_with(www.path(), None, &["--dht-listen", "127.0.0.1:0", "--dht-bootstrap", "127.0.0.1:9", "--dht-node-id", node_id])?;
    let addr: std::net::SocketAddr = relay.wait_for_line("mainline dht listening on ", Duration::from_secs(30))?.parse()?;
    let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    socket.set_read_timeout(Some(Duration::from_secs(5)))?;
    socket.send_to(b"not bencode at all", addr)?;
    socket.send_to(b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe", addr)?;
    let mut buf = [0u8; 1500];
    let (n, _) = socket.recv_from(&mut buf)?;
    let reply = &buf[..n];
    let id = hex::decode(node_id)?;
    assert!(reply.windows(2).any(|w| w == b"aa"), "the reply carries our transaction id: {:?}", String::from_utf8_lossy(reply));
    assert!(reply.windows(5).any(|w| w == b"1:y1:"), "a KRPC message: {:?}", String::from_utf8_lossy(reply));
    assert!(reply.windows(5).any(|w| w == b"1:rd2"), "a response (y=r): {:?}", String::from_utf8_lossy(reply));
    assert!(reply.windows(20).any(|w| w == id.as_slice()), "the reply names the configured node id: {:?}", String::from_utf8_lossy(reply));
    Ok(())
}

/// A second real client: Transmission (Debian's transmission-cli) seeds, announcing to the
/// relay's HTTP tracker; a page downloads the magnet through the relay.
#[tokio::test(flavor = "multi_thread")]
async fn a_page_downloads_a_file_that_transmission_seeds() -> anyhow::Result<()> {
    let www = mixed_www()?;
    let relay = Relay::start_with_www(www.path())?;
    relay.wait_for_line("bittorrent listening on ", Duration::from_secs(30))?;
    let dir = tempfile::tempdir()?;
    let seed = client_seed(&relay, dir.path(), "from transmission.bin", 2 * 1024 * 1024 + 4097, 44)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let _transmission = chiral_e2e::Guarded::spawn(transmission(&dir.path().join("transmission"), port, &seed.dir, &seed.torrent)?.stdout(std::process::Stdio::null()))?;
    until_announced(&relay.url, &seed.infohash, port, Duration::from_secs(60), "Transmission never announced to the relay's tracker").await?;

    let browser = Browser::start().await?;
    chiral_e2e::open_download(&browser, &relay).await?;
    download_in_page(&browser, &seed.magnet, &seed.infohash, &seed.sha256, "tab ← relay ← Transmission").await?;
    browser.close().await
}

/// Transmission downloads a file only a browser tab seeds: it finds the relay through the
/// HTTP tracker and the relay bridges the tab's verified pieces to it.
#[tokio::test(flavor = "multi_thread")]
async fn transmission_downloads_a_browser_seeded_file_through_the_relay() -> anyhow::Result<()> {
    let www = mixed_www()?;
    let relay = Relay::start_with_www(www.path())?;
    relay.wait_for_line("bittorrent listening on ", Duration::from_secs(30))?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("tab to transmission.bin");
    write_test_file(&file, 2 * 1024 * 1024 + 999, 45)?;
    let expected = sha256_file(&file)?;
    let torrent = dir.path().join("tab.torrent");
    relay_manifest(&file, &["--public-url", &relay.url, "--torrent", torrent.to_str().unwrap()])?;
    let browser = Browser::start().await?;
    let shared = share_file(&browser, &relay, &file, Duration::from_secs(120)).await?;
    until_offered(&relay, &shared.cid).await?;

    let out = dir.path().join("transmission got");
    std::fs::create_dir_all(&out)?;
    let log = dir.path().join("transmission.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let started = Instant::now();
    let _transmission = chiral_e2e::Guarded::spawn(transmission(&dir.path().join("transmission"), port, &out, &torrent)?.stdout(std::fs::File::create(&log)?))?;
    // transmission-cli prints "Seeding" once it has the whole file and has verified it.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !std::fs::read_to_string(&log).unwrap_or_default().contains("Seeding") {
        anyhow::ensure!(Instant::now() < deadline, "Transmission did not finish: {}", std::fs::read_to_string(&log).unwrap_or_default().replace('\r', "\n").lines().last().unwrap_or(""));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!("Transmission ← relay ← tab: {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(sha256_file(&out.join("tab to transmission.bin"))?, expected, "Transmission's copy differs");
    browser.close().await
}
