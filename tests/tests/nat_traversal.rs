//! Two browsers in two homes, each behind its own NAT, with the relay on a simulated
//! Internet between them ([`chiral_e2e::netns::TwoHomes`]): network namespaces, nftables
//! masquerade, addresses only in 198.18.0.0/15 and 10.x, no route out of the sandbox.
//!
//! The relay runs STUN+TURN (`--turn-listen`) and no bridge (`--bridge-max-files 0`), so
//! the only way bytes move between the homes is WebRTC:
//! 1. direct: each page learns its public address from the relay's STUN, and the two NATs
//!    are punched through (ICE, server-reflexive candidates);
//! 2. through TURN: with UDP between the two NATs dropped on the Internet, only the relay's
//!    TURN allocations join them.
//!
//! Each download is checked byte for byte, by the path the page reports for its peer
//! (from `RTCPeerConnection.getStats()`'s selected candidate pair) and by the bytes the
//! relay's TURN server relayed. Skips, saying why, where network namespaces are unavailable.

use std::time::{Duration, Instant};

use chiral_e2e::netns::{LabError, TwoHomes, RELAY_IP};
use chiral_e2e::{open_download, outer_html, sha256_file, share_file, start_download, wait_for_transfer, write_test_file, Browser, Relay};

const MIB: u64 = 1024 * 1024;

/// The relay's TURN numbers, read from inside a home (the test's own namespace has no route to it).
async fn turn_stats(browser: &Browser) -> anyhow::Result<serde_json::Value> {
    browser.client.execute("window.__turn = null; fetch('/api/ice/stats').then(r => r.json()).then(j => window.__turn = j); return true;", vec![]).await?;
    browser.wait_for("return window.__turn;", Duration::from_secs(10)).await
}

/// Waits until the page has its relay's ICE servers (the Network view's card says so).
async fn wait_for_ice(browser: &Browser) -> anyhow::Result<String> {
    browser.client.execute("location.hash = '#network'; return true;", vec![]).await?;
    let kinds = browser
        .wait_for("const e = document.querySelector('#ice-relay'); return e && e.dataset.ready === 'true' ? e.textContent : null;", Duration::from_secs(30))
        .await?;
    browser.client.execute("location.hash = '#download'; return true;", vec![]).await?;
    Ok(kinds.as_str().unwrap_or_default().to_string())
}

/// The leecher's view of its transfer once every WebRTC peer's path is `want` (ICE may
/// start on one candidate pair and move to a better one; the page looks again every few
/// seconds): (paths of its peers, the sources that delivered chunks), or the last seen.
async fn paths_and_sources(browser: &Browser, want: &str) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let read = "const t = document.querySelector('#transfers .transfer'); if (!t) return null; \
         return { paths: [...t.querySelectorAll('.peer .path')].map(e => e.dataset.path), \
                  sources: [...t.querySelectorAll('.chunk-source')].map(e => e.dataset.source) };";
    let list = |v: &serde_json::Value, k: &str| v[k].as_array().into_iter().flatten().filter_map(|x| x.as_str().map(String::from)).collect::<Vec<_>>();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = browser.client.execute(read, vec![]).await?;
        let (paths, sources) = (list(&v, "paths"), list(&v, "sources"));
        if (!paths.is_empty() && paths.iter().all(|p| p == want)) || Instant::now() > deadline {
            return Ok((paths, sources));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One download from the home-1 seeder into a fresh browser in home 2; returns its seconds.
async fn download_into_home2(lab: &TwoHomes, relay: &Relay, magnet: &str, infohash: &str, expected: &str, want_path: &str) -> anyhow::Result<(f64, Browser)> {
    let leecher = Browser::start_in_netns(&lab.homes[1], &relay.url).await?;
    open_download(&leecher, relay).await?;
    let kinds = wait_for_ice(&leecher).await?;
    assert!(kinds.contains("STUN") && kinds.contains("TURN"), "the page was not given the relay's STUN and TURN: {kinds}");
    let started = Instant::now();
    start_download(&leecher, magnet).await?;
    let t = wait_for_transfer(&leecher, Some(infohash), Duration::from_secs(180)).await?;
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(t.sha256, expected, "home 2 stored other bytes than home 1 shared\n{}", t.html);
    let (paths, sources) = paths_and_sources(&leecher, want_path).await?;
    assert!(!paths.is_empty() && paths.iter().all(|p| p == want_path), "expected every WebRTC peer on the {want_path} path, got {paths:?}\n{}", outer_html(&leecher, "#transfers").await);
    assert!(!sources.is_empty() && sources.iter().all(|s| s.starts_with("WebTorrent")), "chunks came from elsewhere than WebRTC peers: {sources:?}");
    Ok((seconds, leecher))
}

#[tokio::test(flavor = "multi_thread")]
async fn browsers_in_two_homes_connect_through_stun_and_through_turn() -> anyhow::Result<()> {
    let lab = match TwoHomes::create() {
        Ok(lab) => lab,
        Err(LabError::Unavailable(why)) => {
            eprintln!("SKIPPED: the two-NAT test needs network namespaces: {}", why.0);
            return Ok(());
        }
        Err(LabError::Broken(e)) => return Err(e.context("building the two-NAT lab")),
    };
    let relay = Relay::start_in_netns(&lab.internet, RELAY_IP, &["--turn-listen", &format!("{RELAY_IP}:3478"), "--bridge-max-files", "0"])?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("across two NATs.bin");
    let size = 16 * MIB;
    write_test_file(&file, size, 1414)?;
    let expected = sha256_file(&file)?;

    let seeder = Browser::start_in_netns(&lab.homes[0], &relay.url).await?;
    let shared = share_file(&seeder, &relay, &file, Duration::from_secs(120)).await?;

    // 1. A direct path: STUN tells each page its NAT's public address; ICE punches through both.
    let before = turn_stats(&seeder).await?;
    let (direct_secs, leecher) = download_into_home2(&lab, &relay, &shared.magnet, &shared.infohash, &expected, "direct").await?;
    let after_direct = turn_stats(&seeder).await?;
    let relayed = |s: &serde_json::Value| s["relayed_bytes"].as_u64().unwrap_or(0);
    // Chrome sends on the first candidate pair that works and moves to a better one as its
    // checks succeed: under load the first moments can go through a TURN pair (2.8 MB of
    // 16 MiB in one CI run) before the punched direct pair takes over. Most of the file
    // must not.
    assert!(relayed(&after_direct) - relayed(&before) < size / 2, "the direct download went through TURN: {before} → {after_direct}");
    leecher.close().await?;

    // 2. No direct UDP between the homes: only the relay's TURN joins them.
    lab.block_direct_udp()?;
    let (turn_secs, leecher) = download_into_home2(&lab, &relay, &shared.magnet, &shared.infohash, &expected, "TURN relay").await?;
    let after_turn = turn_stats(&seeder).await?;
    assert!(relayed(&after_turn) - relayed(&after_direct) >= size, "TURN relayed less than the file: {after_direct} → {after_turn}");
    assert!(after_turn["allocations_total"].as_u64().unwrap_or(0) >= 1, "no TURN allocation was made: {after_turn}");
    println!(
        "two homes behind NATs, {} MiB: direct (STUN) {direct_secs:.1} s, through TURN {turn_secs:.1} s; TURN relayed {} bytes",
        size / MIB,
        relayed(&after_turn) - relayed(&after_direct)
    );
    leecher.close().await?;
    seeder.close().await?;
    drop(relay);
    drop(lab);
    Ok(())
}
