//! Faults, as tests (issue 13): each kills or starves one part of a running network and
//! checks that what depends on it recovers, with the recovery's timing printed as a
//! `fault timing:` line. A seeder tab closed mid-transfer is covered in payments.rs
//! (`three_seeders_one_killed_one_lying_…`), which prints its timing the same way.
//!
//! 1. The relay SIGKILLed and restarted on the same addresses and data dir, mid-download.
//! 2. The chain node SIGKILLed mid-settlement and restarted from its saved state.
//! 3. The relay bridge's disk budget exhausted by one file while another is transferred.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use chiral_e2e::wallet_pages::{balance, click, create_wallet, js, plan, set_price, tx_count};
use chiral_e2e::{
    http_get, json_rpc, open_download, relay_manifest, sha256_file, share_file, start_download, wait_for_transfer, workspace_root, write_test_file,
    Anvil, Browser, Relay,
};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};

const MIB: u64 = 1024 * 1024;

/// Downloads in this page go through the relay only (its bridge), none over WebRTC.
async fn relay_only(page: &Browser) -> anyhow::Result<()> {
    js(page, "const s = document.querySelector('#source-mode'); s.value = 'relay'; s.dispatchEvent(new Event('change')); return true;").await?;
    Ok(())
}

/// Pieces the page holds of the transfer `infohash` (0 before it shows).
async fn have(page: &Browser, infohash: &str) -> anyhow::Result<u64> {
    let v = js(page, &format!("const t = document.querySelector('.transfer[data-infohash=\"{infohash}\"]'); return t ? Number(t.dataset.have || 0) : 0;")).await?;
    Ok(v.as_u64().unwrap_or(0))
}

async fn online(page: &Browser) -> anyhow::Result<bool> {
    Ok(js(page, "const e = document.getElementById('net-pill'); return !!e && e.textContent === 'online';").await? == json!(true))
}

/// `#publish[data-published-at]`: when the page last published its DHT record (ms, 0 never).
async fn published_at(page: &Browser) -> anyhow::Result<f64> {
    let v = js(page, "const e = document.getElementById('publish'); return e && e.dataset.state === 'published' ? Number(e.dataset.publishedAt || 0) : 0;").await?;
    Ok(v.as_f64().unwrap_or(0.0))
}

/// Seeders and leechers the relay's WebSocket tracker lists for `infohash` (a scrape).
async fn tracker_counts(relay: &Relay, infohash: &str) -> anyhow::Result<(u64, u64)> {
    let url = format!("{}/announce", relay.url.replacen("http://", "ws://", 1));
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
    let id: String = hex::decode(infohash)?.into_iter().map(char::from).collect();
    ws.send(tokio_tungstenite::tungstenite::Message::Text(json!({ "action": "scrape", "info_hash": id }).to_string().into())).await?;
    let reply = tokio::time::timeout(Duration::from_secs(5), ws.next()).await?.context("the tracker closed")??;
    let v: Value = serde_json::from_str(reply.to_text()?)?;
    let counts = &v["files"][&id];
    Ok((counts["complete"].as_u64().unwrap_or(0), counts["incomplete"].as_u64().unwrap_or(0)))
}

/// The relay is SIGKILLed while page B downloads from page A through it (the bridge,
/// throttled so the kill lands mid-transfer) and restarted on the same addresses with the
/// same data dir: within 30 s both pages are back on the relay's libp2p node, A is in the
/// tracker's swarm again and has republished its DHT record, and B's download resumes and
/// finishes byte-exact.
#[tokio::test(flavor = "multi_thread")]
async fn the_relay_killed_mid_download_comes_back_and_the_pages_carry_on() -> anyhow::Result<()> {
    let www = workspace_root().join("www");
    let dir = tempfile::tempdir()?;
    let mut relay = Relay::start_with(&www, Some(&dir.path().join("relay")), &["--bridge-rate", "1500000"])?;
    let file = dir.path().join("through the relay.bin");
    let size = 16 * MIB;
    write_test_file(&file, size, 71)?;
    let expected = sha256_file(&file)?;
    let pieces = size / (256 * 1024);

    let seeder = Browser::start().await?;
    let shared = share_file(&seeder, &relay, &file, Duration::from_secs(120)).await?;
    seeder.wait_for("return document.querySelector('#publish')?.dataset.state === 'published' ? true : null;", Duration::from_secs(60)).await?;
    let leecher = Browser::start().await?;
    open_download(&leecher, &relay).await?;
    relay_only(&leecher).await?;
    let started = Instant::now();
    start_download(&leecher, &shared.magnet).await?;
    let quarter = format!("const t = document.querySelector('.transfer[data-infohash=\"{}\"]'); return t && Number(t.dataset.have) >= {} ? true : null;", shared.infohash, pieces / 4);
    leecher.wait_for(&quarter, Duration::from_secs(60)).await.context("the download through the relay did not start")?;
    let published_before = published_at(&seeder).await?;

    relay.kill()?;
    let have_at_kill = have(&leecher, &shared.infohash).await?;
    anyhow::ensure!(have_at_kill < pieces, "the download finished before the relay was killed; nothing was tested");
    // Both pages notice the relay is gone.
    let offline = "const e = document.getElementById('net-pill'); return e && e.textContent !== 'online' ? true : null;";
    seeder.wait_for(offline, Duration::from_secs(30)).await.context("the seeder never noticed the relay was gone")?;
    relay.restart()?;
    let restarted = Instant::now();

    let (mut reconnected, mut announced, mut republished) = (None, None, None);
    while reconnected.is_none() || announced.is_none() || republished.is_none() {
        anyhow::ensure!(
            restarted.elapsed() < Duration::from_secs(30),
            "30 s after the restart: pages online {reconnected:?}, seeder re-announced {announced:?}, republished {republished:?}"
        );
        if reconnected.is_none() && online(&seeder).await? && online(&leecher).await? {
            reconnected = Some(restarted.elapsed());
        }
        if announced.is_none() && tracker_counts(&relay, &shared.infohash).await.is_ok_and(|(seeders, _)| seeders >= 1) {
            announced = Some(restarted.elapsed());
        }
        if republished.is_none() && published_at(&seeder).await? > published_before {
            republished = Some(restarted.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let t = wait_for_transfer(&leecher, Some(&shared.infohash), Duration::from_secs(90)).await?;
    let finished = restarted.elapsed();
    assert_eq!(t.sha256, expected, "the resumed download differs\n{}", t.html);
    assert_eq!(t.have, Some(pieces), "{}", t.html);
    let secs = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64());
    eprintln!(
        "fault timing: relay restart → pages reconnected in {:.1} s, re-announced in {:.1} s, republished in {:.1} s, download finished in {:.1} s \
         (killed at {have_at_kill}/{pieces} pieces; restarted {:.1} s into the download)",
        secs(reconnected),
        secs(announced),
        secs(republished),
        finished.as_secs_f64(),
        (restarted - started).as_secs_f64(),
    );
    leecher.close().await?;
    seeder.close().await
}

/// The chain's latest block as anvil last saved it to `state` (`None` while it is being written).
fn saved_block(state: &Path) -> Option<u64> {
    let v: Value = serde_json::from_slice(&std::fs::read(state).ok()?).ok()?;
    v["best_block_number"].as_u64()
}

/// The receipt of `tx` on `anvil`: its block, or `None` while not mined.
fn mined_in(anvil: &Anvil, tx: &str) -> anyhow::Result<Option<u64>> {
    let r = json_rpc(&anvil.url, "eth_getTransactionReceipt", json!([tx]))?;
    Ok(r["result"]["blockNumber"].as_str().map(|b| u64::from_str_radix(b.trim_start_matches("0x"), 16)).transpose()?)
}

/// The payment rows of the page's finished transfer: (state, tx hash).
async fn receipts(page: &Browser) -> anyhow::Result<Vec<(String, String)>> {
    let rows = js(page, "return [...document.querySelectorAll('.transfer .receipt')].map(r => [r.dataset.state, r.dataset.tx || '']);").await?;
    Ok(rows.as_array().into_iter().flatten().map(|r| (r[0].as_str().unwrap_or_default().to_string(), r[1].as_str().unwrap_or_default().to_string())).collect())
}

/// anvil (mining a block every 2 s, saving its state every second) is SIGKILLed while the
/// page is paying its seeders: a payment is signed and sent but not mined, and everything
/// mined before is saved. Restarted from the saved state on the same port, the chain has
/// lost the pending transaction; the page sends it again by itself and shows every payment
/// done; each seeder got exactly what it was owed and the payer sent one transaction each.
#[tokio::test(flavor = "multi_thread")]
async fn the_chain_killed_mid_settlement_loses_no_payment_and_pays_none_twice() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("anvil-state.json");
    let state_arg = state.to_str().context("state path")?;
    let mut anvil = Anvil::start_with(&["--state", state_arg, "--state-interval", "1", "--block-time", "2"])?;
    let relay = Relay::start_with(&workspace_root().join("www"), None, &["--eth-rpc", &anvil.url, "--dev-faucet"])?;
    let file = dir.path().join("paid through a crash.bin");
    write_test_file(&file, 6 * MIB + 3, 72)?;

    let mut seeders = Vec::new();
    let mut shared = None;
    for _ in 0..2 {
        let b = Browser::start().await?;
        let address = create_wallet(&b, &relay).await?;
        set_price(&b).await?;
        shared = Some(share_file(&b, &relay, &file, Duration::from_secs(120)).await?);
        seeders.push((b, address));
    }
    let shared = shared.context("shared")?;
    let before: Vec<u128> = seeders.iter().map(|(_, a)| balance(&anvil, a)).collect::<Result<_, _>>()?;

    let payer_page = Browser::start().await?;
    let payer = create_wallet(&payer_page, &relay).await?;
    js(&payer_page, "location.hash = '#download'; return true;").await?;
    start_download(&payer_page, &shared.magnet).await?;
    wait_for_transfer(&payer_page, Some(&shared.infohash), Duration::from_secs(120)).await?;
    let lines = plan(&payer_page).await?;
    anyhow::ensure!(!lines.is_empty(), "nothing to pay");
    click(&payer_page, ".transfer button.pay").await?;

    // Kill once a payment is out (signed and sent) but not mined, and every payment mined so
    // far is in the saved state: the crash may lose only what a crash may lose.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (in_flight, confirmed_before) = loop {
        anyhow::ensure!(Instant::now() < deadline, "never caught a payment in flight: {:?}", receipts(&payer_page).await?);
        let rows = receipts(&payer_page).await?;
        let mut mined = Vec::new();
        for (_, tx) in rows.iter().filter(|(_, tx)| !tx.is_empty()) {
            mined.push((tx.clone(), mined_in(&anvil, tx)?));
        }
        let pending = mined.iter().find(|(_, block)| block.is_none()).map(|(tx, _)| tx.clone());
        let last_mined = mined.iter().filter_map(|(_, b)| *b).max().unwrap_or(0);
        if let Some(tx) = pending {
            if saved_block(&state).is_some_and(|b| b >= last_mined) {
                break (tx, mined.iter().filter(|(_, b)| b.is_some()).count());
            }
        }
        anyhow::ensure!(rows.is_empty() || rows.iter().any(|(s, _)| s != "confirmed"), "every payment confirmed before the kill: {rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    anvil.kill();
    let killed = Instant::now();
    // The chain stays down a while, so the page meets the outage.
    tokio::time::sleep(Duration::from_secs(3)).await;
    anvil.restart()?;
    let restarted = Instant::now();
    let lost = mined_in(&anvil, &in_flight)?.is_none();

    payer_page
        .wait_for("const e = document.querySelector('.transfer .payment-box'); return e && e.dataset.paid === 'paid' ? true : null;", Duration::from_secs(90))
        .await
        .with_context(|| format!("the page did not finish paying after the chain came back; rows: {:?}", futures::executor::block_on(receipts(&payer_page)).unwrap_or_default()))?;
    let done = restarted.elapsed();
    // Room for a would-be second payment to land, then none may have.
    tokio::time::sleep(Duration::from_secs(5)).await;
    for ((_, address), before) in seeders.iter().zip(&before) {
        let due = lines.iter().find(|(to, _)| to == address).map_or(0, |(_, a)| *a);
        assert_eq!(balance(&anvil, address)? - before, due, "seeder {address} was not paid exactly what it was owed");
    }
    assert_eq!(tx_count(&anvil, &payer)?, lines.len() as u64, "one transaction per seeder left the payer's wallet");
    let rows = receipts(&payer_page).await?;
    assert_eq!(rows.len(), lines.len(), "the page lists each payment once: {rows:?}");
    assert!(rows.iter().all(|(s, _)| s == "confirmed"), "{rows:?}");
    eprintln!(
        "fault timing: chain restart → payments shown done in {:.1} s (chain down {:.1} s; {confirmed_before} of {} confirmed before the kill; the in-flight one was {})",
        done.as_secs_f64(),
        (restarted - killed).as_secs_f64(),
        lines.len(),
        if lost { "lost by the chain and sent again" } else { "kept by the chain" },
    );
    payer_page.close().await?;
    for (b, _) in seeders {
        b.close().await?;
    }
    Ok(())
}

/// The relay's bridge has 8 MiB of disk. A page asking it for a 12 MiB file (through the
/// bridge only) is told why it cannot have it, in the page; a 3 MiB file through the same
/// relay and the same page still arrives byte-exact, and the relay keeps serving.
#[tokio::test(flavor = "multi_thread")]
async fn a_full_bridge_disk_refuses_one_file_clearly_and_serves_the_others() -> anyhow::Result<()> {
    let relay = Relay::start_with(&workspace_root().join("www"), None, &["--bridge-disk-mib", "8"])?;
    let dir = tempfile::tempdir()?;
    let small = dir.path().join("fits.bin");
    write_test_file(&small, 3 * MIB, 73)?;
    let big = dir.path().join("too big for the bridge.bin");
    write_test_file(&big, 12 * MIB, 74)?;
    let big_manifest = relay_manifest(&big, &["--public-url", &relay.url])?;
    let big_infohash = big_manifest["infohash"].as_str().context("infohash")?.to_string();
    let big_magnet = big_manifest["magnet"].as_str().context("magnet")?.to_string();

    let small_seeder = Browser::start().await?;
    let small_shared = share_file(&small_seeder, &relay, &small, Duration::from_secs(120)).await?;
    // The downloader asks the relay for the big file first (the relay waits for a seeder)...
    let page = Browser::start().await?;
    open_download(&page, &relay).await?;
    relay_only(&page).await?;
    start_download(&page, &big_magnet).await?;
    // ... then a tab offers it: the bridge learns its size and has no room for it.
    let big_seeder = Browser::start().await?;
    let offered = Instant::now();
    share_file(&big_seeder, &relay, &big, Duration::from_secs(120)).await?;
    let refusal_js = format!("const t = document.querySelector('.transfer[data-infohash=\"{big_infohash}\"]'); const r = t && t.dataset.bridgeRefusal; return r ? r : null;");
    let refusal = page.wait_for(&refusal_js, Duration::from_secs(45)).await.context("the page was never told why the relay does not bridge the big file")?;
    let refused_in = offered.elapsed();
    let refusal = refusal.as_str().unwrap_or_default().to_string();
    assert!(refusal.contains("disk") && refusal.contains("needs"), "not a clear reason: {refusal}");
    let shown = js(&page, "return [...document.querySelectorAll('.transfer .bridge-refusal')].map(e => e.textContent);").await?;
    assert!(shown.as_array().is_some_and(|a| a.iter().any(|t| t.as_str() == Some(refusal.as_str()))), "the reason is not shown in the page: {shown}");

    // Nothing else is affected: the small file through the same relay, into the same page.
    js(&page, "const i = document.querySelector('#download-input'); i.value = ''; return true;").await?;
    let started = Instant::now();
    start_download(&page, &small_shared.magnet).await?;
    let t = wait_for_transfer(&page, Some(&small_shared.infohash), Duration::from_secs(60)).await?;
    assert_eq!(t.sha256, sha256_file(&small)?, "the small file differs\n{}", t.html);
    let (status, _) = http_get(&format!("{}/healthz", relay.url))?;
    assert_eq!(status, 200, "the relay stopped serving");
    let big_have = have(&page, &big_infohash).await?;
    assert_eq!(big_have, 0, "pieces of the refused file arrived through the bridge");
    eprintln!(
        "fault timing: bridge disk full → refusal shown {:.1} s after the file was offered (\"{refusal}\"); another file through the same relay finished in {:.1} s",
        refused_in.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    page.close().await?;
    big_seeder.close().await?;
    small_seeder.close().await
}
