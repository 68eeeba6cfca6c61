//! Ingest benchmark: how fast a file becomes shareable (all its identities computed).
//! web-node natively, web-node in headless Chromium (the real page), and the real WebTorrent
//! client seeding the same file in the same Chromium. Prints a table with ratios.
//!
//! Usage: bench-ingest [SIZE_MIB]   (default 1024; scripts/bench.sh builds and runs it)

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chiral_e2e::{workspace_root, write_test_file, Browser, Relay};
use fantoccini::Locator;
use web_node::ingest::{ingest_reader, Ingest, IngestOptions};

/// Tracks the longest gap between 20 ms timer ticks: how long the page's main thread stalled.
const STALL_PROBE: &str = "window.__stall = 0; let last = performance.now(); \
    setInterval(() => { const n = performance.now(); window.__stall = Math.max(window.__stall, n - last); last = n; }, 20); \
    return true;";

struct Row {
    what: &'static str,
    seconds: f64,
    stall_ms: Option<f64>,
    note: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mib: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose().context("SIZE_MIB")?.unwrap_or(1024);
    let size = mib * 1024 * 1024;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join(format!("bench-{mib}MiB.bin"));
    eprintln!("writing a {mib} MiB test file…");
    write_test_file(&file, size, 0xC41A)?;
    let mut rows = Vec::new();

    eprintln!("web-node, native…");
    let started = Instant::now();
    let name = file.file_name().unwrap().to_str().unwrap().to_string();
    let ingest = Ingest::new(IngestOptions::new(name, size))?;
    let native = ingest_reader(std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&file)?), ingest, |_, _| {})?;
    rows.push(Row { what: "web-node, native (release)", seconds: started.elapsed().as_secs_f64(), stall_ms: None, note: "SHA-256 ×2, SHA-1, MD4".into() });
    let cid = native.cid_hex();
    let infohash = hex::encode(native.infohash);

    eprintln!("sha256sum (reference)…");
    let started = Instant::now();
    let out = std::process::Command::new("sha256sum").arg(&file).output()?;
    let sum_s = started.elapsed().as_secs_f64();
    let sum_ok = String::from_utf8_lossy(&out.stdout).starts_with(&cid);

    eprintln!("web-node in headless Chromium…");
    let relay = Relay::start()?;
    let browser = Browser::start().await?;
    browser.client.goto(&relay.url).await?;
    browser.wait_for("return document.querySelector('#file-input') ? true : null;", Duration::from_secs(30)).await?;
    browser.client.execute(STALL_PROBE, vec![]).await?;
    browser.client.find(Locator::Css("#file-input")).await?.send_keys(file.to_str().unwrap()).await?;
    let state = browser
        .wait_for("const s = document.querySelector('#share'); return ['done','error'].includes(s.dataset.state) ? s.dataset.state : null;", Duration::from_secs(1800))
        .await?;
    if state != "done" {
        bail!("the page failed: {}", browser.client.execute("return document.getElementById('error').textContent;", vec![]).await?);
    }
    let ms = browser.client.execute("return Number(document.getElementById('result').dataset.elapsedMs);", vec![]).await?;
    let page_cid = browser.client.execute("return document.getElementById('cid').textContent;", vec![]).await?;
    let stall = browser.client.execute("return window.__stall;", vec![]).await?;
    rows.push(Row {
        what: "web-node in Chromium (the page)",
        seconds: ms.as_f64().context("elapsed")? / 1000.0,
        stall_ms: stall.as_f64(),
        note: if page_cid == cid.as_str() { "same CID as native".into() } else { format!("CID MISMATCH {page_cid}") },
    });
    browser.close().await?;
    drop(relay);

    eprintln!("WebTorrent in headless Chromium…");
    let wt = webtorrent_seconds(&file).await?;
    rows.push(Row {
        what: "WebTorrent 3 in Chromium (seed)",
        seconds: wt.0,
        stall_ms: Some(wt.1),
        note: if wt.2 == infohash { "SHA-1 only; same infohash".into() } else { format!("SHA-1 only; infohash {}", wt.2) },
    });
    rows.push(Row { what: "sha256sum (coreutils, reference)", seconds: sum_s, stall_ms: None, note: if sum_ok { "SHA-256 only; same CID".into() } else { "SHA-256 only; CID MISMATCH".into() } });

    let reference = rows[2].seconds;
    println!();
    println!("Ingest of a {mib} MiB file ({} bytes), {} cores", size, std::thread::available_parallelism().map_or(0, |n| n.get()));
    println!();
    println!("| {:<34} | {:>9} | {:>9} | {:>13} | {:>17} | {}", "ingest", "seconds", "MB/s", "vs WebTorrent", "longest stall ms", "computes");
    println!("|{:-<36}|{:->11}|{:->11}|{:->15}|{:->19}|{:-<30}", "", "", "", "", "", "");
    for r in &rows {
        let mbps = size as f64 / 1e6 / r.seconds;
        let stall = r.stall_ms.map_or("–".to_string(), |s| format!("{s:.0}"));
        println!("| {:<34} | {:>9.2} | {:>9.1} | {:>12.2}x | {:>17} | {}", r.what, r.seconds, mbps, reference / r.seconds, stall, r.note);
    }
    Ok(())
}

/// Seeds `file` with the real WebTorrent client in a page of its own; returns (seconds, stall ms, infohash).
async fn webtorrent_seconds(file: &Path) -> anyhow::Result<(f64, f64, String)> {
    let root = workspace_root();
    let www = tempfile::tempdir()?;
    let dist = root.join("tests/node_modules/webtorrent/dist/webtorrent.min.js");
    if !dist.exists() {
        bail!("{} is missing: run scripts/setup.sh bench", dist.display());
    }
    std::fs::copy(&dist, www.path().join("webtorrent.min.js"))?;
    std::fs::copy(root.join("tests/bench/webtorrent-seed.html"), www.path().join("index.html"))?;
    let relay = Relay::start_with_www(www.path())?;
    let browser = Browser::start().await?;
    browser.client.goto(&relay.url).await?;
    browser.wait_for("return window.__ready ? true : null;", Duration::from_secs(30)).await?;
    browser.client.execute(STALL_PROBE, vec![]).await?;
    browser.client.find(Locator::Css("#file-input")).await?.send_keys(file.to_str().unwrap()).await?;
    let result = browser.wait_for("return window.__result || null;", Duration::from_secs(1800)).await?;
    if let Some(e) = result.get("error") {
        bail!("WebTorrent failed: {e}");
    }
    let stall = browser.client.execute("return window.__stall;", vec![]).await?.as_f64().unwrap_or(0.0);
    browser.close().await?;
    Ok((result["ms"].as_f64().context("ms")? / 1000.0, stall, result["infoHash"].as_str().unwrap_or("").to_string()))
}
