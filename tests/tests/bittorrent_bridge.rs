//! A real BitTorrent client (Debian's aria2) downloads a file that only a browser tab
//! seeds: it finds the relay through the HTTP tracker, connects over TCP, and the relay
//! bridges the tab's pieces (fetched over the `/bridge` WebSocket, verified) to it.

use std::process::Command;
use std::time::{Duration, Instant};

use chiral_e2e::{mixed_www, relay_manifest, sha256_file, share_file, write_test_file, Browser, Relay};

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
    // Wait until the tab has offered the file to its relay (the bridge answers HEAD).
    let deadline = Instant::now() + Duration::from_secs(30);
    let offered = || -> anyhow::Result<bool> {
        let out = Command::new("curl").args(["-sI", "-o", "/dev/null", "-w", "%{http_code}"]).arg(format!("{}/file/{}", relay.url, shared.cid)).output()?;
        Ok(out.stdout == b"200")
    };
    while !offered()? {
        anyhow::ensure!(Instant::now() < deadline, "the tab never offered the file to the relay");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

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
    let seed_dir = dir.path().join("aria2 seeds");
    std::fs::create_dir_all(&seed_dir)?;
    let file = seed_dir.join("from aria2.bin");
    write_test_file(&file, 5 * 1024 * 1024 + 999, 42)?;
    let expected = sha256_file(&file)?;
    let torrent = dir.path().join("aria2.torrent");
    let m = relay_manifest(&file, &["--public-url", &relay.url, "--torrent", torrent.to_str().unwrap()])?;
    let infohash = m["infohash"].as_str().unwrap().to_string();
    let magnet = m["magnet"].as_str().unwrap().to_string();

    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let _aria2 = chiral_e2e::Guarded::spawn(
        Command::new("aria2c")
            .args(["--seed-ratio=0.0", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false"])
            .args(["--enable-peer-exchange=false", "--summary-interval=0", "--console-log-level=warn", "--check-integrity=true"])
            .arg(format!("--listen-port={port}"))
            .arg("--interface=127.0.0.1")
            .arg("-d")
            .arg(&seed_dir)
            .arg(&torrent)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    )?;
    // Until aria2 has announced itself to the relay's tracker.
    let ih: String = hex::decode(&infohash)?.iter().map(|b| format!("%{b:02X}")).collect();
    let probe = format!("{}/announce?info_hash={ih}&peer_id=-PROBE-0000000000000&port=1&left=1&compact=1", relay.url);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = Command::new("curl").args(["-s", &probe]).output()?;
        if out.stdout.windows(6).any(|w| w == [127, 0, 0, 1, (port >> 8) as u8, port as u8]) {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "aria2 never announced to the relay's tracker");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let browser = Browser::start().await?;
    chiral_e2e::open_download(&browser, &relay).await?;
    let started = Instant::now();
    chiral_e2e::start_download(&browser, &magnet).await?;
    let t = chiral_e2e::wait_for_transfer(&browser, Some(&infohash), Duration::from_secs(120)).await?;
    println!("tab ← relay ← aria2: {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(t.sha256, expected, "the page's copy differs\n{}", t.html);
    browser.close().await
}
