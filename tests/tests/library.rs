//! The library in headless Chromium: a file shared with "keep a copy" seeds again after the
//! page reloads (to a second browser, over WebRTC, with the reloaded page the only seeder),
//! and "Stop sharing" forgets it for good.

use std::time::{Duration, Instant};

use chiral_e2e::{
    open_download, outer_html, relay_bin, sha256_file, share_file, start_download, wait_for_transfer, write_test_file, Browser, Relay,
};

const MIB: u64 = 1024 * 1024;

/// Chooses "keep a copy" in the Share view's result and waits until the copy is written and
/// the library record committed (`#keep-state[data-state=kept]`).
async fn keep_a_copy(browser: &Browser) -> anyhow::Result<()> {
    let click = "const b = document.querySelector('#keep-copy'); if (!b || b.disabled) return null; b.click(); return true;";
    browser.wait_for(click, Duration::from_secs(30)).await?;
    let kept = "const s = document.querySelector('#keep-state'); \
        return s && (s.dataset.state === 'kept' || s.dataset.state === 'error') ? s.dataset.state : null;";
    let state = browser.wait_for(kept, Duration::from_secs(60)).await?;
    anyhow::ensure!(state == "kept", "keeping a copy failed: {}", outer_html(browser, "#keep-state").await);
    Ok(())
}

/// Reloads and waits until the app is up and the library read its records.
async fn reload(browser: &Browser) -> anyhow::Result<()> {
    browser.client.refresh().await?;
    browser
        .wait_for("const l = document.querySelector('#library'); return l && l.dataset.loaded === 'true' ? true : null;", Duration::from_secs(60))
        .await?;
    Ok(())
}

fn entry_js(info_hash: &str, body: &str) -> String {
    format!("const e = document.querySelector('.lib-entry[data-infohash=\"{info_hash}\"]'); {body}")
}

/// Whether the page's IndexedDB library holds a record for `info_hash`, and whether its
/// OPFS copy exists: `[record, copy]`.
async fn stored(browser: &Browser, info_hash: &str) -> anyhow::Result<serde_json::Value> {
    let js = format!(
        "const done = arguments[arguments.length - 1]; \
         (async () => {{ \
           const db = await new Promise((ok, err) => {{ const r = indexedDB.open('chiral-library'); r.onsuccess = () => ok(r.result); r.onerror = () => err(r.error); }}); \
           const record = await new Promise((ok, err) => {{ const r = db.transaction('files').objectStore('files').get('{info_hash}'); r.onsuccess = () => ok(r.result !== undefined); r.onerror = () => err(r.error); }}); \
           db.close(); \
           let copy = false; \
           try {{ const root = await navigator.storage.getDirectory(); \
                 const dir = await (await root.getDirectoryHandle('chiral')).getDirectoryHandle('library'); \
                 await dir.getFileHandle('{info_hash}'); copy = true; }} catch (e) {{}} \
           return [record, copy]; \
         }})().then(done, e => done(String(e)));"
    );
    Ok(browser.client.execute_async(&js, vec![]).await?)
}

/// The acceptance test of the library: share with a copy kept, reload, and a second
/// browser downloads the file byte-exact from the reloaded page, which is its only source
/// (browsers only: the relay passes signaling, no bytes), while the page's DHT record was
/// published again after the reload.
#[tokio::test(flavor = "multi_thread")]
async fn a_kept_file_seeds_again_after_a_reload() -> anyhow::Result<()> {
    let relay = Relay::start()?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("kept across reloads.bin");
    let size = 6 * MIB + 321;
    write_test_file(&file, size, 31)?;
    let expected = sha256_file(&file)?;

    let seeder = Browser::start().await?;
    let shared = share_file(&seeder, &relay, &file, Duration::from_secs(120)).await?;
    if let Ok(dir) = std::env::var("CHIRAL_SCREENSHOT_DIR") {
        seeder
            .wait_for("const b = document.querySelector('#keep-copy'); if (!b || b.disabled) return null; b.scrollIntoView(); return true;", Duration::from_secs(30))
            .await?;
        std::fs::write(std::path::Path::new(&dir).join("share-keep.png"), seeder.client.screenshot().await?)?;
    }
    keep_a_copy(&seeder).await?;
    assert_eq!(stored(&seeder, &shared.infohash).await?, serde_json::json!([true, true]), "no record or no copy after keeping");

    let reloaded_at = Instant::now();
    reload(&seeder).await?;
    // Nothing in the Share view: whatever seeds now came from the library.
    let share_state = seeder.client.execute("return document.querySelector('#share').dataset.state;", vec![]).await?;
    assert_eq!(share_state, "idle", "the Share view kept its file across the reload, so the library proved nothing");
    let seeding = entry_js(&shared.infohash, "return e && e.dataset.state === 'seeding' && e.dataset.published ? true : null;");
    if let Err(e) = seeder.wait_for(&seeding, Duration::from_secs(60)).await {
        anyhow::bail!("the kept file is not seeding and published after the reload: {e}\n{}", outer_html(&seeder, "#library").await);
    }
    println!("seeding and republished {:.1} s after the reload", reloaded_at.elapsed().as_secs_f64());

    let leecher = Browser::start().await?;
    open_download(&leecher, &relay).await?;
    // Browsers only: no relay bridge, so every byte comes from a page over WebRTC.
    let set_mode = "const s = document.querySelector('#source-mode'); s.value = 'webrtc'; s.dispatchEvent(new Event('change')); return true;";
    leecher.client.execute(set_mode, vec![]).await?;
    let started = Instant::now();
    start_download(&leecher, &shared.magnet).await?;
    let t = wait_for_transfer(&leecher, Some(&shared.infohash), Duration::from_secs(180)).await?;
    println!("reloaded page → second browser: {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(t.sha256, expected, "the second browser got other bytes than were shared\n{}", t.html);
    assert_eq!(t.have, t.pieces, "{}", t.html);

    // Every piece came from a WebRTC peer, and the reloaded page is the only one there is.
    let sources = leecher
        .client
        .execute("return [...document.querySelectorAll('.chunk-source')].map(e => [e.dataset.source, Number(e.dataset.chunks)]);", vec![])
        .await?;
    let sources = sources.as_array().cloned().unwrap_or_default();
    assert!(!sources.is_empty(), "the download names no source\n{}", t.html);
    let from_peers: u64 = sources.iter().map(|s| s[1].as_u64().unwrap_or(0)).sum();
    assert!(sources.iter().all(|s| s[0].as_str().is_some_and(|l| l.starts_with("WebTorrent"))), "pieces came from elsewhere: {sources:?}");
    assert_eq!(Some(from_peers), t.pieces, "not every piece came from the seeding page: {sources:?}");
    // And the reloaded page counts them as its uploads.
    let uploaded = entry_js(&shared.infohash, &format!("return e && Number(e.dataset.uploaded) >= {size} ? Number(e.dataset.uploaded) : null;"));
    if let Err(e) = seeder.wait_for(&uploaded, Duration::from_secs(30)).await {
        anyhow::bail!("the reloaded page did not count the upload: {e}\n{}", outer_html(&seeder, "#library").await);
    }
    leecher.close().await?;

    // The upload total is kept across visits too.
    let saved = entry_js(&shared.infohash, &format!("return e && Number(e.dataset.savedUploaded) >= {size} ? true : null;"));
    seeder.wait_for(&saved, Duration::from_secs(30)).await?;
    reload(&seeder).await?;
    if std::env::var("CHIRAL_SCREENSHOT_DIR").is_ok() {
        seeder.client.execute("location.hash = '#library'; return true;", vec![]).await?;
    }
    let again = entry_js(&shared.infohash, &format!("return e && e.dataset.state === 'seeding' && Number(e.dataset.uploaded) >= {size} ? true : null;"));
    if let Err(e) = seeder.wait_for(&again, Duration::from_secs(60)).await {
        anyhow::bail!("after a second reload the file does not seed with its upload total: {e}\n{}", outer_html(&seeder, "#library").await);
    }
    if let Ok(dir) = std::env::var("CHIRAL_SCREENSHOT_DIR") {
        std::fs::write(std::path::Path::new(&dir).join("library.png"), seeder.client.screenshot().await?)?;
    }
    seeder.close().await
}

/// Whether the DHT (through `relay`) holds a live record for `cid` (`relay lookup`).
async fn in_dht(relay: &Relay, cid: &str) -> anyhow::Result<bool> {
    let out = tokio::process::Command::new(relay_bin())
        .args(["lookup", cid, "--bootstrap", &relay.tcp_multiaddr()?, "--timeout", "10"])
        .output()
        .await?;
    Ok(out.status.success())
}

/// "Stop sharing" stops the seed, withdraws the DHT record (it drops out of lookups within
/// about 30 s, not the 6 h it was published for), deletes the copy and the record, and
/// after another reload nothing of the file is left to seed.
#[tokio::test(flavor = "multi_thread")]
async fn stop_sharing_forgets_the_file() -> anyhow::Result<()> {
    let relay = Relay::start()?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("shared once.bin");
    write_test_file(&file, 2 * MIB + 5, 32)?;

    let browser = Browser::start().await?;
    let shared = share_file(&browser, &relay, &file, Duration::from_secs(120)).await?;
    keep_a_copy(&browser).await?;
    reload(&browser).await?;
    let seeding = entry_js(&shared.infohash, "return e && e.dataset.state === 'seeding' && e.dataset.published ? true : null;");
    browser.wait_for(&seeding, Duration::from_secs(60)).await?;
    anyhow::ensure!(in_dht(&relay, &shared.cid).await?, "the republished record is not in the DHT");
    let transfer = format!("return document.querySelector('#transfers .transfer[data-infohash=\"{}\"]') ? true : null;", shared.infohash);
    browser.wait_for(&transfer, Duration::from_secs(30)).await?;

    browser.client.execute("location.hash = '#library'; return true;", vec![]).await?;
    browser.client.execute(&entry_js(&shared.infohash, "e.querySelector('button.stop-sharing').click(); return true;"), vec![]).await?;
    browser.wait_for(&entry_js(&shared.infohash, "return e ? null : true;"), Duration::from_secs(10)).await?;
    let gone = format!("return document.querySelector('#transfers .transfer[data-infohash=\"{}\"]') ? null : true;", shared.infohash);
    browser.wait_for(&gone, Duration::from_secs(10)).await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = stored(&browser, &shared.infohash).await?;
        if left == serde_json::json!([false, false]) {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "after Stop sharing, [record, copy] = {left}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let withdrawn = Instant::now();
    while in_dht(&relay, &shared.cid).await? {
        anyhow::ensure!(withdrawn.elapsed() < Duration::from_secs(90), "the DHT still returns the record 90 s after Stop sharing");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    println!("the DHT record dropped out {:.1} s after Stop sharing", withdrawn.elapsed().as_secs_f64());

    reload(&browser).await?;
    let rows = browser.client.execute("return document.querySelectorAll('.lib-entry').length;", vec![]).await?;
    assert_eq!(rows, 0, "the library lists a file after Stop sharing\n{}", outer_html(&browser, "#library").await);
    let empty = browser.client.execute("return document.querySelector('#lib-empty') ? true : false;", vec![]).await?;
    assert_eq!(empty, true, "{}", outer_html(&browser, "#library").await);
    assert_eq!(stored(&browser, &shared.infohash).await?, serde_json::json!([false, false]));
    let transfers = browser.client.execute("return document.querySelectorAll('#transfers .transfer').length;", vec![]).await?;
    assert_eq!(transfers, 0, "something seeds after Stop sharing and a reload\n{}", outer_html(&browser, "#transfers").await);
    browser.close().await
}

/// Runs `body` (an async JS function body) in the page and returns its value (or the
/// thrown error's text, as an error).
async fn run_async(browser: &Browser, body: &str) -> anyhow::Result<serde_json::Value> {
    let js = format!(
        "const done = arguments[arguments.length - 1]; \
         (async () => {{ {body} }})().then(v => done({{ ok: v === undefined ? null : v }}), e => done({{ err: String(e) }}));"
    );
    let v = browser.client.execute_async(&js, vec![]).await?;
    match v.get("err") {
        Some(e) => anyhow::bail!("the page threw: {e}"),
        None => Ok(v["ok"].clone()),
    }
}

/// The File System Access route: a record that keeps a handle (here a handle into the
/// private file system, which IndexedDB stores the same way as one from a drop or the
/// file picker, and which needs no prompt) seeds from that file after a reload; the same
/// file modified is marked changed, and deleted is marked missing, and neither is seeded.
#[tokio::test(flavor = "multi_thread")]
async fn a_kept_handle_seeds_and_a_changed_or_missing_file_does_not() -> anyhow::Result<()> {
    let relay = Relay::start()?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("by handle.bin");
    write_test_file(&file, 3 * MIB + 17, 33)?;

    let browser = Browser::start().await?;
    let shared = share_file(&browser, &relay, &file, Duration::from_secs(120)).await?;
    keep_a_copy(&browser).await?;
    // Turn the record into a handle record on a file of its own, and delete the copy.
    let ih = &shared.infohash;
    run_async(
        &browser,
        &format!(
            "const root = await navigator.storage.getDirectory(); \
             const lib = await (await root.getDirectoryHandle('chiral')).getDirectoryHandle('library'); \
             const copy = await (await lib.getFileHandle('{ih}')).getFile(); \
             const handle = await root.getFileHandle('user-file.bin', {{ create: true }}); \
             const w = await handle.createWritable(); await w.write(copy); await w.close(); \
             await lib.removeEntry('{ih}'); \
             const db = await new Promise((ok, err) => {{ const r = indexedDB.open('chiral-library'); r.onsuccess = () => ok(r.result); r.onerror = () => err(r.error); }}); \
             const get = () => new Promise((ok, err) => {{ const r = db.transaction('files').objectStore('files').get('{ih}'); r.onsuccess = () => ok(r.result); r.onerror = () => err(r.error); }}); \
             const record = await get(); \
             const meta = JSON.parse(record.meta); \
             meta.location = 'handle'; meta.last_modified_ms = (await handle.getFile()).lastModified; \
             record.meta = JSON.stringify(meta); record.handle = handle; \
             await new Promise((ok, err) => {{ const tx = db.transaction('files', 'readwrite'); tx.objectStore('files').put(record, '{ih}'); tx.oncomplete = ok; tx.onerror = () => err(tx.error); }}); \
             db.close();"
        ),
    )
    .await?;

    let state = |want: &str| entry_js(ih, &format!("return e && e.dataset.location === 'handle' && e.dataset.state === '{want}' ? true : null;"));
    reload(&browser).await?;
    if let Err(e) = browser.wait_for(&state("seeding"), Duration::from_secs(30)).await {
        anyhow::bail!("the handle record does not seed: {e}\n{}", outer_html(&browser, "#library").await);
    }
    let seeding = format!("const t = document.querySelector('#transfers .transfer[data-infohash=\"{ih}\"]'); return t && t.dataset.state === 'seeding' ? true : null;");
    browser.wait_for(&seeding, Duration::from_secs(30)).await?;

    // Modified on disk (same size, new bytes and time): marked changed, not seeded.
    run_async(
        &browser,
        "const root = await navigator.storage.getDirectory(); \
         const h = await root.getFileHandle('user-file.bin'); \
         const w = await h.createWritable({ keepExistingData: true }); await w.write({ type: 'write', position: 0, data: new Uint8Array([1, 2, 3]) }); await w.close();",
    )
    .await?;
    reload(&browser).await?;
    if let Err(e) = browser.wait_for(&state("changed"), Duration::from_secs(30)).await {
        anyhow::bail!("a modified file is not marked changed: {e}\n{}", outer_html(&browser, "#library").await);
    }
    let transfers = browser.client.execute("return document.querySelectorAll('#transfers .transfer').length;", vec![]).await?;
    assert_eq!(transfers, 0, "a changed file is seeded\n{}", outer_html(&browser, "#transfers").await);

    // Deleted: marked missing.
    run_async(&browser, "await (await navigator.storage.getDirectory()).removeEntry('user-file.bin');").await?;
    reload(&browser).await?;
    if let Err(e) = browser.wait_for(&state("missing"), Duration::from_secs(30)).await {
        anyhow::bail!("a deleted file is not marked missing: {e}\n{}", outer_html(&browser, "#library").await);
    }
    browser.close().await
}

/// Bytes are checked as they are served, not only at load: a kept copy altered behind the
/// page's back (same size, so the cheap check at load passes) seeds, but the altered piece
/// fails its SHA-1 before it leaves, the entry turns "changed", and the second browser
/// never completes a wrong file.
#[tokio::test(flavor = "multi_thread")]
async fn an_altered_copy_is_never_served() -> anyhow::Result<()> {
    let relay = Relay::start()?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("altered.bin");
    write_test_file(&file, 3 * MIB, 34)?;

    let seeder = Browser::start().await?;
    let shared = share_file(&seeder, &relay, &file, Duration::from_secs(120)).await?;
    keep_a_copy(&seeder).await?;
    let ih = &shared.infohash;
    run_async(
        &seeder,
        &format!(
            "const root = await navigator.storage.getDirectory(); \
             const lib = await (await root.getDirectoryHandle('chiral')).getDirectoryHandle('library'); \
             const w = await (await lib.getFileHandle('{ih}')).createWritable({{ keepExistingData: true }}); \
             await w.write({{ type: 'write', position: 0, data: new Uint8Array([0xde, 0xad, 0xbe, 0xef]) }}); await w.close();"
        ),
    )
    .await?;
    reload(&seeder).await?;
    seeder.wait_for(&entry_js(ih, "return e && e.dataset.state === 'seeding' ? true : null;"), Duration::from_secs(30)).await?;

    let leecher = Browser::start().await?;
    open_download(&leecher, &relay).await?;
    let set_mode = "const s = document.querySelector('#source-mode'); s.value = 'webrtc'; s.dispatchEvent(new Event('change')); return true;";
    leecher.client.execute(set_mode, vec![]).await?;
    start_download(&leecher, &shared.magnet).await?;
    if let Err(e) = seeder.wait_for(&entry_js(ih, "return e && e.dataset.state === 'changed' ? true : null;"), Duration::from_secs(60)).await {
        anyhow::bail!("the altered piece was not caught when served: {e}\n{}", outer_html(&seeder, "#library").await);
    }
    let progress = format!(
        "const t = document.querySelector('#transfers .transfer[data-infohash=\"{ih}\"]'); \
         return t ? [t.dataset.state, Number(t.dataset.have), Number(t.dataset.pieces), t.dataset.sha256 || ''] : null;"
    );
    let p = leecher.wait_for(&progress, Duration::from_secs(10)).await?;
    assert!(p[1].as_u64() < p[2].as_u64(), "the second browser completed a file whose first piece was altered: {p}");
    assert_eq!(p[3], "", "the second browser hashed a complete file: {p}");
    leecher.close().await?;
    seeder.close().await
}
