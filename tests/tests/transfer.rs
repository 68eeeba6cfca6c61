//! WebTorrent-compatible transfers in headless Chromium, every peer in a Chromium of its own
//! (its own profile, so its own OPFS), all through one relay's tracker on 127.0.0.1: our page
//! to our page, the real WebTorrent client to our page and back, and a lying peer that must
//! be banned without corrupting the file.

use std::path::Path;
use std::time::{Duration, Instant};

use chiral_e2e::{
    encode_uri_component, mixed_www, open_download, relay_manifest, sha256_file, share_file, start_download, wait_for_transfer,
    write_test_file, Browser, Relay,
};
use fantoccini::Locator;

const MIB: u64 = 1024 * 1024;

/// Opens a WebTorrent test page (`/webtorrent-peer.html` or `/webtorrent-liar.html`), chooses
/// `file` and waits until it seeds; returns `window.__seeding` (`infoHash`, `magnet`).
async fn webtorrent_seed(browser: &Browser, relay: &Relay, page: &str, file: &Path) -> anyhow::Result<serde_json::Value> {
    browser.client.goto(&format!("{}/{page}", relay.url)).await?;
    browser.wait_for("return window.__ready ? true : null;", Duration::from_secs(30)).await?;
    browser.client.find(Locator::Css("#file-input")).await?.send_keys(file.to_str().unwrap()).await?;
    match browser.wait_for("return window.__seeding || null;", Duration::from_secs(120)).await {
        Ok(v) => Ok(v),
        Err(e) => {
            let events = browser.client.execute("return window.__events;", vec![]).await?;
            anyhow::bail!("{page} did not start seeding: {e}; its events: {events}")
        }
    }
}

/// WebTorrent's reported errors (`window.__events` entries starting with "error").
async fn webtorrent_errors(browser: &Browser) -> anyhow::Result<Vec<String>> {
    let events = browser.client.execute("return window.__events || [];", vec![]).await?;
    let all: Vec<String> = events.as_array().into_iter().flatten().filter_map(|e| e.as_str().map(str::to_string)).collect();
    let (errors, warnings): (Vec<_>, Vec<_>) = all.into_iter().partition(|e| e.starts_with("error"));
    if !warnings.is_empty() {
        eprintln!("WebTorrent warnings: {warnings:?}");
    }
    Ok(errors)
}

#[tokio::test(flavor = "multi_thread")]
async fn page_to_page_64_mib() -> anyhow::Result<()> {
    let www = mixed_www()?;
    let relay = Relay::start_with_www(www.path())?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("sixty-four mebibytes.bin");
    let size = 64 * MIB;
    write_test_file(&file, size, 64)?;
    let expected = sha256_file(&file)?;

    let seeder = Browser::start().await?;
    let shared = share_file(&seeder, &relay, &file, Duration::from_secs(300)).await?;
    let leecher = Browser::start().await?;
    open_download(&leecher, &relay).await?;
    let started = Instant::now();
    start_download(&leecher, &shared.magnet).await?;
    let t = wait_for_transfer(&leecher, Some(&shared.infohash), Duration::from_secs(240)).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!("64 MiB page → page: {seconds:.1} s (until SHA-256 shown), {:.1} MB/s", size as f64 / 1e6 / seconds);

    assert_eq!(t.sha256, expected, "the downloaded file differs from the shared one\n{}", t.html);
    assert_eq!(t.pieces, Some(256), "64 MiB is 256 pieces of 256 KiB\n{}", t.html);
    assert_eq!(t.have, Some(256), "the transfer does not have every piece\n{}", t.html);
    if let Ok(dir) = std::env::var("CHIRAL_SCREENSHOT_DIR") {
        std::fs::write(Path::new(&dir).join("download-done.png"), leecher.client.screenshot().await?)?;
        std::fs::write(Path::new(&dir).join("share-seeding.png"), seeder.client.screenshot().await?)?;
    }
    leecher.close().await?;
    seeder.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn webtorrent_seeds_our_page_downloads() -> anyhow::Result<()> {
    let www = mixed_www()?;
    let relay = Relay::start_with_www(www.path())?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("from webtorrent.bin");
    write_test_file(&file, 5 * MIB + 123, 21)?;
    let expected = sha256_file(&file)?;
    let manifest = relay_manifest(&file, &["--public-url", &relay.url])?;

    let wt = Browser::start().await?;
    let seeding = webtorrent_seed(&wt, &relay, "webtorrent-peer.html", &file).await?;
    let info_hash = seeding["infoHash"].as_str().unwrap_or_default().to_lowercase();
    assert_eq!(manifest["infohash"].as_str(), Some(info_hash.as_str()), "WebTorrent and our relay name the file differently");
    let magnet = seeding["magnet"].as_str().unwrap_or_default().to_string();

    let ours = Browser::start().await?;
    open_download(&ours, &relay).await?;
    let started = Instant::now();
    start_download(&ours, &magnet).await?;
    let t = wait_for_transfer(&ours, Some(&info_hash), Duration::from_secs(180)).await?;
    println!("WebTorrent → our page: {:.1} s", started.elapsed().as_secs_f64());

    assert_eq!(t.sha256, expected, "our page stored something else than WebTorrent seeded\n{}", t.html);
    assert_eq!(t.infohash, info_hash, "{}", t.html);
    assert_eq!(t.have, t.pieces, "not every piece is there\n{}", t.html);
    let errors = webtorrent_errors(&wt).await?;
    assert!(errors.is_empty(), "the WebTorrent seeder reported errors: {errors:?}");
    ours.close().await?;
    wt.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn our_page_seeds_webtorrent_downloads() -> anyhow::Result<()> {
    let www = mixed_www()?;
    let relay = Relay::start_with_www(www.path())?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("from chiral.bin");
    let size = 5 * MIB + 77;
    write_test_file(&file, size, 22)?;
    let expected = sha256_file(&file)?;

    let ours = Browser::start().await?;
    let shared = share_file(&ours, &relay, &file, Duration::from_secs(120)).await?;

    let wt = Browser::start().await?;
    let started = Instant::now();
    wt.client.goto(&format!("{}/webtorrent-download.html#{}", relay.url, encode_uri_component(&shared.magnet))).await?;
    let done = match wt.wait_for("return window.__done || null;", Duration::from_secs(180)).await {
        Ok(v) => v,
        Err(e) => {
            let state = wt.client.execute("return { progress: window.__progress, events: window.__events };", vec![]).await?;
            let seed_state = chiral_e2e::outer_html(&ours, "#seed-state").await;
            anyhow::bail!("WebTorrent did not finish downloading from our page: {e}\nWebTorrent: {state}\nour #seed-state: {seed_state}");
        }
    };
    println!("our page → WebTorrent: {:.1} s", started.elapsed().as_secs_f64());

    assert_eq!(done["sha256"].as_str(), Some(expected.as_str()), "WebTorrent got other bytes than our page seeded: {done}");
    assert_eq!(done["length"].as_u64(), Some(size), "WebTorrent got another length: {done}");
    assert_eq!(done["infoHash"].as_str(), Some(shared.infohash.as_str()), "{done}");
    let errors = webtorrent_errors(&wt).await?;
    assert!(errors.is_empty(), "the WebTorrent downloader reported errors: {errors:?}");
    wt.close().await?;
    ours.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lying_peer_is_dropped_and_the_file_is_exact() -> anyhow::Result<()> {
    let www = mixed_www()?;
    let relay = Relay::start_with_www(www.path())?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("contested.bin");
    write_test_file(&file, 8 * MIB, 23)?;
    let expected = sha256_file(&file)?;

    // Our page is ready in the Download view first, so it can start as soon as both seed.
    let ours = Browser::start().await?;
    open_download(&ours, &relay).await?;
    // The liar first, so it is in the swarm (and in the tracker's offers) no later than the honest one.
    let liar = Browser::start().await?;
    let lying = webtorrent_seed(&liar, &relay, "webtorrent-liar.html", &file).await?;
    let honest = Browser::start().await?;
    let seeding = webtorrent_seed(&honest, &relay, "webtorrent-peer.html", &file).await?;
    assert_eq!(lying["infoHash"], seeding["infoHash"], "the liar and the honest seeder must share one swarm");
    let info_hash = seeding["infoHash"].as_str().unwrap_or_default().to_lowercase();

    start_download(&ours, seeding["magnet"].as_str().unwrap_or_default()).await?;
    let t = wait_for_transfer(&ours, Some(&info_hash), Duration::from_secs(240)).await?;

    let lies = liar.client.execute("return window.__lies;", vec![]).await?.as_u64().unwrap_or(0);
    assert_eq!(t.sha256, expected, "a lie made it into the file\n{}", t.html);
    assert!(
        lies > 0,
        "the liar was never asked for a block (window.__lies = 0), so nothing was tested: our page fetched everything from the honest seeder\n{}",
        t.html
    );
    assert!(t.failed_pieces.unwrap_or(0) >= 1, "the liar sent {lies} corrupted blocks but no piece failed verification\n{}", t.html);
    assert!(t.banned.unwrap_or(0) >= 1, "the liar sent {lies} corrupted blocks but no peer was banned\n{}", t.html);
    println!("liar sent {lies} corrupted blocks; failed pieces {:?}, banned {:?}", t.failed_pieces, t.banned);
    ours.close().await?;
    honest.close().await?;
    liar.close().await
}

/// A download survives a reload: the pieces stored in OPFS before the page went away are
/// kept, the transfer restarts by itself, finishes from a new seeder, and "Save file"
/// writes the exact bytes to disk (a Blob composed of the stored pieces).
#[tokio::test(flavor = "multi_thread")]
async fn a_download_resumes_after_a_reload_and_saves_to_disk() -> anyhow::Result<()> {
    let www = mixed_www()?;
    let relay = Relay::start_with_www(www.path())?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("resumable.bin");
    let size = 128 * MIB;
    write_test_file(&file, size, 128)?;
    let expected = sha256_file(&file)?;

    let first_seeder = Browser::start().await?;
    let shared = share_file(&first_seeder, &relay, &file, Duration::from_secs(300)).await?;
    let downloads = tempfile::tempdir()?;
    let leecher = Browser::start_saving_to(downloads.path()).await?;
    open_download(&leecher, &relay).await?;
    start_download(&leecher, &shared.magnet).await?;
    // Part-way through, the only seeder goes away and the page reloads.
    let have_js = format!(
        "const t = document.querySelector('.transfer[data-infohash=\"{}\"]'); \
         const n = t ? Number(t.dataset.have || 0) : 0; return n >= 24 ? n : null;",
        shared.infohash
    );
    leecher.wait_for(&have_js, Duration::from_secs(120)).await?;
    first_seeder.close().await?;
    leecher.client.refresh().await?;
    let resumed_js = format!(
        "const t = document.querySelector('.transfer[data-infohash=\"{}\"]'); \
         return t && Number(t.dataset.pieces) > 0 ? [Number(t.dataset.have), t.dataset.state] : null;",
        shared.infohash
    );
    let resumed = leecher.wait_for(&resumed_js, Duration::from_secs(60)).await?;
    let kept = resumed[0].as_u64().unwrap_or(0);
    assert!(kept >= 24, "after the reload only {kept} pieces were found in storage: {resumed}");
    assert!(kept < 512, "the download finished before the seeder left; nothing was resumed: {resumed}");

    let second_seeder = Browser::start().await?;
    share_file(&second_seeder, &relay, &file, Duration::from_secs(300)).await?;
    let t = wait_for_transfer(&leecher, Some(&shared.infohash), Duration::from_secs(240)).await?;
    assert_eq!(t.sha256, expected, "the resumed file differs\n{}", t.html);
    let fetched: u64 = t.html.split("data-downloaded=\"").nth(1).and_then(|r| r.split('"').next()).and_then(|n| n.parse().ok()).unwrap_or(u64::MAX);
    assert!(fetched <= size - kept * 256 * 1024 + 8 * MIB, "pieces kept across the reload were fetched again ({fetched} bytes)");

    // Save: the browser writes the file into `downloads`.
    leecher.client.execute("document.querySelector('.transfer button.save').click(); return true;", vec![]).await?;
    let saved = downloads.path().join("resumable.bin");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(saved.exists() && std::fs::metadata(&saved)?.len() == size) {
        anyhow::ensure!(Instant::now() < deadline, "the saved file did not appear in {}", downloads.path().display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sha256_file(&saved)?, expected, "the saved file differs");
    leecher.close().await?;
    second_seeder.close().await
}

/// Types a CID into the download box until the page's DHT lookup finds it and a transfer
/// starts (the page may still be joining the network at first).
async fn download_by_cid(browser: &Browser, cid: &str) -> anyhow::Result<()> {
    let mut status = String::new();
    for _ in 0..30 {
        start_download(browser, cid).await?;
        let started = "return document.querySelector('#transfers .transfer') ? true : null;";
        if browser.wait_for(started, Duration::from_secs(4)).await.is_ok() {
            return Ok(());
        }
        status = browser.client.execute("return document.body.innerText", vec![]).await?.as_str().unwrap_or_default().to_string();
        browser.client.find(Locator::Css("#download-input")).await?.clear().await?;
    }
    anyhow::bail!("no download started for {cid}; the page says:\n{status}")
}

/// A download started from a CID checks every piece against the manifest's SHA-256 as well
/// as SHA-1: the chunk hash list comes from the seeding tab (straight over WebRTC, or
/// forwarded by the relay's bridge to a page that uses only the relay) and is accepted only
/// because it hashes to the Merkle root in the tab's signed DHT record.
#[tokio::test(flavor = "multi_thread")]
async fn a_cid_download_checks_every_chunk_against_the_manifest_sha256() -> anyhow::Result<()> {
    let www = mixed_www()?;
    let relay = Relay::start_with_www(www.path())?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("by cid.bin");
    write_test_file(&file, 6 * MIB + 777, 17)?;
    let expected = sha256_file(&file)?;

    let seeder = Browser::start().await?;
    let shared = share_file(&seeder, &relay, &file, Duration::from_secs(120)).await?;
    assert_eq!(shared.cid, expected);
    seeder
        .wait_for("return document.querySelector('#publish')?.dataset.state === 'published' ? true : null;", Duration::from_secs(60))
        .await?;

    for mode in ["both", "relay"] {
        let leecher = Browser::start().await?;
        open_download(&leecher, &relay).await?;
        let set_mode = format!("const s = document.querySelector('#source-mode'); s.value = '{mode}'; s.dispatchEvent(new Event('change'));");
        leecher.client.execute(&set_mode, vec![]).await?;
        download_by_cid(&leecher, &shared.cid).await?;
        let t = wait_for_transfer(&leecher, Some(&shared.infohash), Duration::from_secs(120)).await?;
        assert_eq!(t.sha256, expected, "{mode}: the file differs\n{}", t.html);
        let check = leecher
            .client
            .execute("return document.querySelector('#transfers .transfer').dataset.pieceCheck", vec![])
            .await?;
        assert_eq!(check, "sha1+sha256", "{mode}: pieces were not checked against the manifest\n{}", t.html);
        if mode == "relay" {
            // The relay fetched from the tab for this page, and forwarded the tab's hash list.
            let sources = leecher.client.execute("return [...document.querySelectorAll('.chunk-source')].map(e => e.dataset.source)", vec![]).await?;
            assert_eq!(sources, serde_json::json!(["relay bridge"]), "{}", t.html);
        }
        leecher.close().await?;
    }
    seeder.close().await
}
