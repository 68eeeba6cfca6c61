//! Folder torrents (BEP 3 `files`) between real clients and our page, each browser a
//! headless Chromium of its own, through one relay:
//! - WebTorrent seeds a folder with nested, unicode and empty files; our page downloads it by
//!   magnet (each file's SHA-256 checked, one file saved to disk through the per-file Save);
//!   then our page is the only seeder, and a second WebTorrent (WebRTC) and aria2 (TCP,
//!   through the relay's bridge) each download the folder from it;
//! - aria2 seeds a folder made by transmission-create; our page downloads it by magnet
//!   through the relay's bridge.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chiral_e2e::{aria2_fetch_magnet, encode_uri_component, mixed_www, tree, open_download, outer_html, sha256_file, start_download, wait_for_transfer, write_test_file, Browser, Relay};
use fantoccini::Locator;

const MIB: u64 = 1024 * 1024;

/// (path below the folder, size, seed): nested, unicode, an empty file, sizes off piece bounds.
const FILES: [(&str, u64, u32); 4] = [
    ("readme.txt", 1_234, 1),
    ("Música/canción 01.bin", 3 * MIB + 5_000, 2),
    ("Música/深い/曲.bin", 2 * MIB + 77, 3),
    ("empty.dat", 0, 4),
];

/// Writes the folder's files flat in `dir` (WebTorrent's page gets their paths separately);
/// returns path → SHA-256.
fn write_files(dir: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let mut expected = BTreeMap::new();
    for (path, size, seed) in FILES {
        let base = path.rsplit('/').next().unwrap_or(path);
        let file = dir.join(base);
        write_test_file(&file, size, seed)?;
        expected.insert(path.to_string(), sha256_file(&file)?);
    }
    Ok(expected)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_folder_goes_from_webtorrent_to_our_page_and_on_to_webtorrent() -> anyhow::Result<()> {
    let www = mixed_www()?;
    let relay = Relay::start_with_www(www.path())?;
    let dir = tempfile::tempdir()?;
    let expected = write_files(dir.path())?;
    let folder = "Álbum de prueba";

    // 1. WebTorrent seeds the folder.
    let wt = Browser::start().await?;
    wt.client.goto(&format!("{}/webtorrent-peer.html", relay.url)).await?;
    wt.wait_for("return window.__ready ? true : null;", Duration::from_secs(30)).await?;
    let paths: serde_json::Map<String, serde_json::Value> = FILES.iter().map(|(p, ..)| (p.rsplit('/').next().unwrap().to_string(), serde_json::Value::from(*p))).collect();
    wt.client.execute("window.__folder = { name: arguments[0], paths: arguments[1] }; return true;", vec![folder.into(), paths.into()]).await?;
    let list = FILES.iter().map(|(p, ..)| dir.path().join(p.rsplit('/').next().unwrap()).display().to_string()).collect::<Vec<_>>().join("\n");
    wt.client.find(Locator::Css("#folder-input")).await?.send_keys(&list).await?;
    let seeding = wt.wait_for("return window.__seeding || null;", Duration::from_secs(120)).await?;
    let info_hash = seeding["infoHash"].as_str().unwrap_or_default().to_lowercase();
    let magnet = seeding["magnet"].as_str().unwrap_or_default().to_string();
    assert_eq!(seeding["files"].as_array().map(Vec::len), Some(FILES.len()), "WebTorrent seeds another layout: {seeding}");

    // 2. Our page downloads it by magnet: every file, each with its own SHA-256.
    let saves = tempfile::tempdir()?;
    let ours = Browser::start_saving_to(saves.path()).await?;
    open_download(&ours, &relay).await?;
    let started = Instant::now();
    start_download(&ours, &magnet).await?;
    let t = wait_for_transfer(&ours, Some(&info_hash), Duration::from_secs(180)).await?;
    println!("folder of {} files, WebTorrent → our page: {:.1} s", FILES.len(), started.elapsed().as_secs_f64());
    let rows = ours
        .wait_for(
            "const rows = [...document.querySelectorAll('#transfers .file-row')]; \
             if (!rows.length || rows.some(r => !r.dataset.sha256)) return null; \
             return rows.map(r => ({ path: r.dataset.path, length: +r.dataset.length, have: +r.dataset.haveBytes, sha256: r.dataset.sha256 }));",
            Duration::from_secs(30),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}\n{}", t.html))?;
    let got: BTreeMap<String, String> = rows.as_array().into_iter().flatten().map(|r| (r["path"].as_str().unwrap_or("").to_string(), r["sha256"].as_str().unwrap_or("").to_string())).collect();
    assert_eq!(got, expected, "our page's files differ from WebTorrent's folder\n{}", t.html);
    for r in rows.as_array().into_iter().flatten() {
        assert_eq!(r["have"], r["length"], "a file is not wholly there: {r}");
    }

    // One file saved on its own (the transfer card's per-file Save): the bytes on disk.
    let deep = FILES[2].0;
    ours.client
        .execute("[...document.querySelectorAll('#transfers .file-row')].find(r => r.dataset.path === arguments[0]).querySelector('.save-file').click(); return true;", vec![deep.into()])
        .await?;
    let saved = saves.path().join("曲.bin");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(saved.exists() && sha256_file(&saved).ok().as_ref() == expected.get(deep)) {
        anyhow::ensure!(Instant::now() < deadline, "the saved file never matched; {} holds {:?}", saves.path().display(), std::fs::read_dir(saves.path())?.flatten().map(|e| e.file_name()).collect::<Vec<_>>());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // 3. WebTorrent goes away; our page is the folder's only seeder for a second WebTorrent.
    wt.close().await?;
    let wt2 = Browser::start().await?;
    wt2.client.goto(&format!("{}/webtorrent-download.html#{}", relay.url, encode_uri_component(&magnet))).await?;
    let done = match wt2.wait_for("return window.__done || null;", Duration::from_secs(180)).await {
        Ok(v) => v,
        Err(e) => {
            let state = wt2.client.execute("return { progress: window.__progress, events: window.__events };", vec![]).await?;
            anyhow::bail!("WebTorrent did not get the folder from our page: {e}\nWebTorrent: {state}\nours: {}", outer_html(&ours, "#transfers").await);
        }
    };
    let theirs: BTreeMap<String, String> = done["files"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| (f["path"].as_str().unwrap_or("").trim_start_matches(&format!("{folder}/")).to_string(), f["sha256"].as_str().unwrap_or("").to_string()))
        .collect();
    assert_eq!(theirs, expected, "WebTorrent got another folder from our page: {done}");
    wt2.close().await?;

    // 4. aria2 (TCP) finds the relay on its HTTP tracker; the relay's bridge takes the pieces
    //    from our page, the only holder.
    let out = dir.path().join("aria2");
    let started = Instant::now();
    aria2_fetch_magnet(&format!("magnet:?xt=urn:btih:{info_hash}"), &format!("{}/announce", relay.url), &out).await?;
    println!("folder, our page → relay bridge → aria2: {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(tree(&out.join(folder))?, expected, "aria2's copy of the folder differs");
    ours.close().await
}

/// WebTorrent seeding the folder of [`FILES`] through `relay`: (browser, infohash, magnet,
/// the torrent's file paths in its order).
async fn webtorrent_seeds_folder(relay: &Relay, dir: &Path, folder: &str) -> anyhow::Result<(Browser, String, String, Vec<String>)> {
    let wt = Browser::start().await?;
    wt.client.goto(&format!("{}/webtorrent-peer.html", relay.url)).await?;
    wt.wait_for("return window.__ready ? true : null;", Duration::from_secs(30)).await?;
    let paths: serde_json::Map<String, serde_json::Value> = FILES.iter().map(|(p, ..)| (p.rsplit('/').next().unwrap().to_string(), serde_json::Value::from(*p))).collect();
    wt.client.execute("window.__folder = { name: arguments[0], paths: arguments[1] }; return true;", vec![folder.into(), paths.into()]).await?;
    let list = FILES.iter().map(|(p, ..)| dir.join(p.rsplit('/').next().unwrap()).display().to_string()).collect::<Vec<_>>().join("\n");
    wt.client.find(Locator::Css("#folder-input")).await?.send_keys(&list).await?;
    let seeding = wt.wait_for("return window.__seeding || null;", Duration::from_secs(120)).await?;
    let order = seeding["files"].as_array().into_iter().flatten().map(|f| f["path"].as_str().unwrap_or("").trim_start_matches(&format!("{folder}/")).to_string()).collect();
    Ok((wt, seeding["infoHash"].as_str().unwrap_or_default().to_lowercase(), seeding["magnet"].as_str().unwrap_or_default().to_string(), order))
}

/// The transfer's file rows once `ready` (a JS expression over `rows`) holds: path → (chosen, sha256).
async fn file_rows(browser: &Browser, ready: &str) -> anyhow::Result<BTreeMap<String, (bool, String)>> {
    let js = format!(
        "const rows = [...document.querySelectorAll('#transfers .file-row')].map(r => ({{ path: r.dataset.path, chosen: r.dataset.chosen === 'true', sha256: r.dataset.sha256 }})); \
         return rows.length && ({ready}) ? rows : null;"
    );
    let rows = browser.wait_for(&js, Duration::from_secs(120)).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(rows.as_array().into_iter().flatten().map(|r| (r["path"].as_str().unwrap_or("").to_string(), (r["chosen"] == true, r["sha256"].as_str().unwrap_or("").to_string()))).collect())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_magnets_select_only_fetches_just_those_files_and_a_checkbox_adds_one() -> anyhow::Result<()> {
    let www = mixed_www()?;
    let relay = Relay::start_with_www(www.path())?;
    let dir = tempfile::tempdir()?;
    let expected = write_files(dir.path())?;
    let (wt, info_hash, magnet, order) = webtorrent_seeds_folder(&relay, dir.path(), "Selección").await?;
    let want = [FILES[0].0, FILES[2].0];
    let so: Vec<String> = order.iter().enumerate().filter(|(_, p)| want.contains(&p.as_str())).map(|(i, _)| i.to_string()).collect();
    assert_eq!(so.len(), 2, "WebTorrent's file order {order:?}");

    let ours = Browser::start().await?;
    open_download(&ours, &relay).await?;
    start_download(&ours, &format!("{magnet}&so={}", so.join(","))).await?;
    let rows = file_rows(&ours, "rows.filter(r => r.chosen).every(r => r.sha256)").await?;
    for (path, (chosen, sha256)) in &rows {
        let wanted = want.contains(&path.as_str());
        assert_eq!(*chosen, wanted, "{path}: chosen {chosen}, BEP 53 said {wanted}");
        if wanted {
            assert_eq!(Some(sha256), expected.get(path), "{path}");
        } else {
            assert!(sha256.is_empty(), "{path} was not chosen, yet hashed complete");
        }
    }
    let downloaded: u64 = ours.client.execute("return +document.querySelector('#transfers .transfer').dataset.downloaded;", vec![]).await?.as_u64().unwrap_or(u64::MAX);
    let chosen_bytes: u64 = FILES.iter().filter(|f| want.contains(&f.0)).map(|f| f.1).sum();
    // The chosen files, the two pieces they share with others, and what was in flight before
    // the info dict was known (at most 64 blocks of 16 KiB).
    let bound = chosen_bytes + 2 * 256 * 1024 + MIB;
    assert!(downloaded <= bound, "{downloaded} bytes downloaded for {chosen_bytes} bytes of chosen files (bound {bound})");

    // Ticking the big file reopens the download; it completes with every file.
    ours.client
        .execute("[...document.querySelectorAll('#transfers .file-row')].find(r => r.dataset.path === arguments[0]).querySelector('.choose').click(); return true;", vec![FILES[1].0.into()])
        .await?;
    let rows = file_rows(&ours, &format!("rows.find(r => r.path === {}).sha256", serde_json::json!(FILES[1].0))).await?;
    assert_eq!(rows.get(FILES[1].0).map(|r| &r.1), expected.get(FILES[1].0), "the file chosen later");
    let t = wait_for_transfer(&ours, Some(&info_hash), Duration::from_secs(60)).await?;
    assert!(!t.sha256.is_empty());
    wt.close().await?;
    ours.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_downloads_a_folder_that_aria2_seeds_through_the_relay() -> anyhow::Result<()> {
    let relay = Relay::start()?;
    relay.wait_for_line("bittorrent listening on ", Duration::from_secs(30))?;
    let dir = tempfile::tempdir()?;
    let name = "Carpeta ñ";
    let folder = dir.path().join("seeds").join(name);
    std::fs::create_dir_all(folder.join("sub").join("更深"))?;
    write_test_file(&folder.join("top.bin"), 700_001, 71)?;
    write_test_file(&folder.join("sub").join("更深").join("canción.bin"), 2 * MIB + 13, 72)?;
    write_test_file(&folder.join("sub").join("notes.txt"), 50_003, 73)?;
    let expected = tree(&folder)?;
    let torrent = dir.path().join("folder.torrent");
    chiral_e2e::run_tool(Command::new("transmission-create").args(["-s", "256", "-o"]).arg(&torrent).arg(&folder))?;
    let info_hash = chiral_e2e::run_tool(Command::new("transmission-show").arg(&torrent))?
        .lines()
        .find_map(|l| l.trim().strip_prefix("Hash: ").map(str::to_lowercase))
        .ok_or_else(|| anyhow::anyhow!("transmission-show printed no infohash"))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let _aria2 = chiral_e2e::Guarded::spawn(
        Command::new("aria2c")
            .args(["--seed-ratio=0.0", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false"])
            .args(["--enable-peer-exchange=false", "--summary-interval=0", "--console-log-level=warn", "--check-integrity=true"])
            .args(["--bt-tracker=", "--bt-exclude-tracker=*"])
            .arg(format!("--listen-port={port}"))
            .arg("--interface=127.0.0.1")
            .arg("-d")
            .arg(dir.path().join("seeds"))
            .arg(&torrent)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )?;
    // aria2 is the only source: the magnet names it (x.pe); the relay's bridge dials it.
    let magnet = format!("magnet:?xt=urn:btih:{info_hash}&dn={}&x.pe=127.0.0.1%3A{port}", encode_uri_component(name));
    let browser = Browser::start().await?;
    open_download(&browser, &relay).await?;
    let started = Instant::now();
    start_download(&browser, &magnet).await?;
    let t = wait_for_transfer(&browser, Some(&info_hash), Duration::from_secs(120)).await?;
    println!("folder, aria2 → relay bridge → our page: {:.1} s", started.elapsed().as_secs_f64());
    let rows = browser
        .wait_for(
            "const rows = [...document.querySelectorAll('#transfers .file-row')]; \
             if (!rows.length || rows.some(r => !r.dataset.sha256)) return null; \
             return rows.map(r => [r.dataset.path, r.dataset.sha256]);",
            Duration::from_secs(30),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}\n{}", t.html))?;
    let got: BTreeMap<String, String> = rows.as_array().into_iter().flatten().map(|r| (r[0].as_str().unwrap_or("").to_string(), r[1].as_str().unwrap_or("").to_string())).collect();
    assert_eq!(got, expected, "the page's folder differs from aria2's\n{}", t.html);
    browser.close().await
}

/// Our page shares a folder (chosen with the folder picker: nested, unicode, an empty
/// file) as one torrent; WebTorrent downloads it from the tab over WebRTC, aria2 through the
/// relay's bridge; both copies match file for file.
#[tokio::test(flavor = "multi_thread")]
async fn our_page_shares_a_folder_that_webtorrent_and_aria2_download() -> anyhow::Result<()> {
    let www = mixed_www()?;
    let relay = Relay::start_with_www(www.path())?;
    relay.wait_for_line("bittorrent listening on ", Duration::from_secs(30))?;
    let dir = tempfile::tempdir()?;
    let name = "Compartida ñ";
    let folder = dir.path().join(name);
    for (path, size, seed) in FILES {
        let file = folder.join(path);
        std::fs::create_dir_all(file.parent().unwrap())?;
        write_test_file(&file, size, seed + 10)?;
    }
    let expected = tree(&folder)?;

    let ours = Browser::start().await?;
    ours.client.goto(&relay.url).await?;
    ours.wait_for("return document.querySelector('#dir-input') ? true : null;", Duration::from_secs(60)).await?;
    ours.client.find(Locator::Css("#dir-input")).await?.send_keys(folder.to_str().unwrap()).await?;
    let state = ours
        .wait_for("const s = document.querySelector('#folder-share'); return s && (s.dataset.state === 'done' || s.dataset.state === 'error') ? s.dataset.state : null;", Duration::from_secs(120))
        .await?;
    anyhow::ensure!(state == "done", "sharing the folder failed: {}", outer_html(&ours, "#folder-share").await);
    let text = |id: &str| format!("return document.getElementById('{id}').textContent;");
    let magnet = ours.client.execute(&text("folder-magnet"), vec![]).await?.as_str().unwrap_or_default().to_string();
    let info_hash = ours.client.execute(&text("folder-infohash"), vec![]).await?.as_str().unwrap_or_default().to_string();
    assert_eq!(ours.client.execute(&text("folder-name"), vec![]).await?.as_str(), Some(name));
    let cids = ours.client.execute("return [...document.querySelectorAll('.shared-file')].map(r => [r.dataset.path, r.dataset.cid]);", vec![]).await?;
    let cids: BTreeMap<String, String> = cids.as_array().into_iter().flatten().map(|r| (r[0].as_str().unwrap_or("").into(), r[1].as_str().unwrap_or("").into())).collect();
    assert_eq!(cids, expected, "each file's content ID is its SHA-256");

    let wt = Browser::start().await?;
    let started = Instant::now();
    wt.client.goto(&format!("{}/webtorrent-download.html#{}", relay.url, encode_uri_component(&magnet))).await?;
    let done = match wt.wait_for("return window.__done || null;", Duration::from_secs(180)).await {
        Ok(v) => v,
        Err(e) => {
            let state = wt.client.execute("return { progress: window.__progress, events: window.__events };", vec![]).await?;
            anyhow::bail!("WebTorrent did not get the shared folder: {e}\nWebTorrent: {state}\nours: {}", outer_html(&ours, "#transfers").await);
        }
    };
    println!("folder shared by our page → WebTorrent: {:.1} s", started.elapsed().as_secs_f64());
    let theirs: BTreeMap<String, String> = done["files"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| (f["path"].as_str().unwrap_or("").trim_start_matches(&format!("{name}/")).to_string(), f["sha256"].as_str().unwrap_or("").to_string()))
        .filter(|(p, _)| !p.starts_with(".pad/"))
        .collect();
    assert_eq!(theirs, expected, "WebTorrent got another folder: {done}");
    wt.close().await?;

    let out = dir.path().join("aria2");
    aria2_fetch_magnet(&format!("magnet:?xt=urn:btih:{info_hash}"), &format!("{}/announce", relay.url), &out).await?;
    let mut got = tree(&out.join(name))?;
    got.retain(|p, _| !p.starts_with(".pad/"));
    assert_eq!(got, expected, "aria2's copy of the shared folder differs");

    // Each file is in the DHT under its own CID: another page finds one and fetches it.
    let published = ours
        .wait_for(
            "const p = [...document.querySelectorAll('[id^=publish-]')]; return p.length === 3 && p.every(e => e.dataset.state === 'published') ? true : null;",
            Duration::from_secs(60),
        )
        .await;
    if let Err(e) = published {
        anyhow::bail!("{e}: {}", outer_html(&ours, "#folder-share").await);
    }
    let deep = FILES[2].0;
    let cid = expected[deep].clone();
    let other = Browser::start().await?;
    open_download(&other, &relay).await?;
    start_download(&other, &cid).await?;
    let t = wait_for_transfer(&other, None, Duration::from_secs(120)).await?;
    assert_eq!(t.sha256, cid, "a folder's file fetched by its CID\n{}", t.html);
    other.close().await?;
    ours.close().await
}
