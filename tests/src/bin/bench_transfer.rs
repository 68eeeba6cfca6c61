//! Transfer benchmark: one file moved between two headless Chromiums over WebRTC through one
//! relay's tracker on 127.0.0.1, by our page (Share → Download by magnet) and, as the
//! reference, by the real WebTorrent client (seed page → download page). Every peer runs in a
//! fresh Chromium. Prints a table with ratios.
//!
//! Usage: bench-transfer [SIZE_MIB]   (default 256; scripts/bench-transfer.sh builds and runs it)

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chiral_e2e::{
    encode_uri_component, mixed_www, open_download, sha256_file, share_file, start_download, wait_for_transfer, write_test_file,
    Browser, Relay,
};
use fantoccini::Locator;

struct Row {
    what: &'static str,
    seconds: f64,
    note: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mib: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose().context("SIZE_MIB")?.unwrap_or(256);
    let size = mib * 1024 * 1024;
    // Generous: a slow machine moves a few MB/s; hashing before seeding takes its share too.
    let timeout = Duration::from_secs(600 + mib * 4);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join(format!("transfer-{mib}MiB.bin"));
    eprintln!("writing a {mib} MiB test file…");
    write_test_file(&file, size, 0x7A5F)?;
    let expected = sha256_file(&file)?;
    let www = mixed_www()?;
    let relay = Relay::start_with_www(www.path())?;
    let mut rows = Vec::new();

    eprintln!("ours: page A hashes and seeds…");
    let a = Browser::start().await?;
    let shared = share_file(&a, &relay, &file, timeout).await?;
    eprintln!("ours: page B downloads by magnet…");
    let b = Browser::start().await?;
    open_download(&b, &relay).await?;
    let wall = Instant::now();
    start_download(&b, &shared.magnet).await?;
    let t = wait_for_transfer(&b, Some(&shared.infohash), timeout).await?;
    let wall_s = wall.elapsed().as_secs_f64();
    let times = b.client.execute("return window.__transferTimes || null;", vec![]).await?;
    let at = |v: &serde_json::Value| v.as_f64().zip(times["t0"].as_f64()).map(|(x, t0)| (x - t0) / 1000.0);
    let complete_s = [&times["states"]["complete"], &times["states"]["seeding"]].into_iter().filter_map(at).reduce(f64::min);
    let verifying_s = at(&times["states"]["verifying"]);
    let sha256_s = at(&times["sha256"]).unwrap_or(wall_s);
    let same = if t.sha256 == expected { "same SHA-256" } else { "SHA-256 MISMATCH" };
    let pieces = format!("{}/{} pieces", t.have.unwrap_or(0), t.pieces.unwrap_or(0));
    let mut verify_note = String::new();
    if let (Some(v), Some(c)) = (verifying_s, complete_s) {
        verify_note += &format!("; verifying state {:.2} s", c - v);
    }
    // `verifying` starts when every piece is verified (SHA-1) and stored: the transfer
    // proper, comparable to WebTorrent's `done`. Then the page re-reads the file from OPFS
    // for its whole-file SHA-256, which WebTorrent does not do.
    let transferred_s = verifying_s.or(complete_s).unwrap_or(sha256_s);
    let _ = verify_note;
    rows.push(Row {
        what: "ours: page → page (all pieces stored)",
        seconds: transferred_s,
        note: format!("{same}, {pieces}; banned {}, failed pieces {}", t.banned.unwrap_or(0), t.failed_pieces.unwrap_or(0)),
    });
    rows.push(Row {
        what: "ours: + whole-file SHA-256 from OPFS",
        seconds: complete_s.unwrap_or(sha256_s),
        note: format!("re-read and hash {:.2} s", complete_s.unwrap_or(sha256_s) - transferred_s),
    });
    b.close().await?;
    a.close().await?;

    eprintln!("WebTorrent: the seed page hashes and seeds…");
    let c = Browser::start().await?;
    c.client.goto(&format!("{}/webtorrent-peer.html", relay.url)).await?;
    c.wait_for("return window.__ready ? true : null;", Duration::from_secs(30)).await?;
    c.client.find(Locator::Css("#file-input")).await?.send_keys(file.to_str().context("path")?).await?;
    let seeding = c.wait_for("return window.__seeding || null;", timeout).await.context("WebTorrent did not start seeding")?;
    let magnet = seeding["magnet"].as_str().context("WebTorrent's magnet")?;
    eprintln!("WebTorrent: the download page downloads by magnet…");
    let d = Browser::start().await?;
    let wall = Instant::now();
    d.client.goto(&format!("{}/webtorrent-download.html#{}", relay.url, encode_uri_component(magnet))).await?;
    let done = match d.wait_for("return window.__done || null;", timeout).await {
        Ok(v) => v,
        Err(e) => {
            let state = d.client.execute("return { progress: window.__progress, events: window.__events };", vec![]).await?;
            bail!("WebTorrent did not finish: {e}; {state}");
        }
    };
    let wt_wall = wall.elapsed().as_secs_f64();
    let wt_s = done["ms"].as_f64().map_or(wt_wall, |ms| ms / 1000.0);
    let same = if done["sha256"].as_str() == Some(expected.as_str()) { "same SHA-256" } else { "SHA-256 MISMATCH" };
    rows.push(Row {
        what: "WebTorrent 3: page → page (done)",
        seconds: wt_s,
        note: format!("{same}; {wt_wall:.2} s from page load to SHA-256 computed"),
    });
    d.close().await?;
    c.close().await?;

    let reference = wt_s;
    println!();
    println!(
        "Transfer of a {mib} MiB file ({size} bytes) between two headless Chromiums over WebRTC on 127.0.0.1, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("Clocks start at the download click (ours) or client.add (WebTorrent); seeding-side hashing is excluded.");
    println!();
    println!("| {:<38} | {:>9} | {:>9} | {:>19} | {}", "transfer", "seconds", "MB/s", "ratio vs WebTorrent", "notes");
    println!("|{:-<40}|{:->11}|{:->11}|{:->21}|{:-<30}", "", "", "", "", "");
    for r in &rows {
        let mbps = size as f64 / 1e6 / r.seconds;
        println!("| {:<38} | {:>9.2} | {:>9.1} | {:>18.2}x | {}", r.what, r.seconds, mbps, reference / r.seconds, r.note);
    }
    Ok(())
}
