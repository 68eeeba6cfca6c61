//! The HTTP protocol with a real client (curl): files the relay holds, and a file that
//! exists only in a browser tab, bridged by the relay and verified piece by piece.

use std::process::Command;
use std::time::{Duration, Instant};

use chiral_e2e::{mixed_www, relay_manifest, run_tool, sha256_file, share_file, workspace_root, write_test_file, Browser, Relay};

const MIB: u64 = 1024 * 1024;

fn curl(args: &[&str]) -> anyhow::Result<String> {
    run_tool(Command::new("curl").args(["-sS", "--max-time", "120"]).args(args))
}

/// (status, headers) of a HEAD or GET without the body.
fn head(url: &str, extra: &[&str]) -> anyhow::Result<(u16, String)> {
    let out = curl(&[&["-o", "/dev/null", "-D", "-"], extra, &[url]].concat())?;
    let status = out.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, out.to_lowercase()))
}

fn slice(path: &std::path::Path, from: u64, len: u64) -> anyhow::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::Start(from))?;
    let mut buf = vec![0; len as usize];
    f.read_exact(&mut buf)?;
    Ok(buf)
}

#[test]
fn relay_held_files_serve_chunks_ranges_and_clear_errors() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("held by the relay.bin");
    let size = 3 * 262_144 + 1_000;
    write_test_file(&file, size, 31)?;
    let m = relay_manifest(&file, &[])?;
    let cid = m["cid"].as_str().unwrap().to_string();
    let relay = Relay::start_with(&workspace_root().join("www"), None, &["--seed", file.to_str().unwrap()])?;
    let url = format!("{}/file/{cid}", relay.url);

    let out = dir.path().join("whole");
    curl(&["-o", out.to_str().unwrap(), &url])?;
    assert_eq!(sha256_file(&out)?, cid, "the whole file");
    let (status, headers) = head(&url, &["-I"])?;
    assert_eq!(status, 200);
    assert!(headers.contains(&format!("content-length: {size}")), "{headers}");
    assert!(headers.contains("accept-ranges: bytes"), "{headers}");

    curl(&["-r", "1000-2999", "-o", out.to_str().unwrap(), &url])?;
    assert_eq!(std::fs::read(&out)?, slice(&file, 1000, 2000)?, "a range");

    curl(&["-o", out.to_str().unwrap(), &format!("{url}/chunk/3")])?;
    assert_eq!(std::fs::read(&out)?, slice(&file, 3 * 262_144, 1_000)?, "the short last chunk");
    let (status, _) = head(&format!("{url}/chunk/4"), &[])?;
    assert_eq!(status, 416, "a chunk past the end");
    let (status, _) = head(&url, &["-r", &format!("{}-", size + 10)])?;
    assert_eq!(status, 416, "a range past the end");
    let unknown = format!("{}/file/{}", relay.url, "ab".repeat(32));
    let (status, headers) = head(&unknown, &[])?;
    assert_eq!(status, 404);
    assert!(headers.contains("application/json"), "{headers}");
    assert!(curl(&[&unknown])?.contains("\"error\""));

    // A chunk is hashed once while the file is unchanged; a write to the file (a new mtime)
    // makes the relay check again, and a changed chunk is never served.
    let chunk1 = format!("{url}/chunk/1");
    assert_eq!(head(&chunk1, &[])?.0, 200);
    assert_eq!(head(&chunk1, &[])?.0, 200, "served again from the verified cache");
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&file)?;
        f.seek(SeekFrom::Start(262_144 + 10))?;
        f.write_all(b"tampered")?;
        f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))?;
    }
    let (status, _) = head(&chunk1, &[])?;
    assert_eq!(status, 500, "a chunk that changed on disk was served");
    assert!(curl(&[&chunk1])?.contains("changed on disk"));
    assert_eq!(head(&format!("{url}/chunk/0"), &[])?.0, 200, "the unchanged chunks still verify");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn curl_downloads_a_file_that_only_a_browser_tab_seeds() -> anyhow::Result<()> {
    let www = mixed_www()?;
    let relay = Relay::start_with_www(www.path())?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("only in a tab.bin");
    let size = 20 * MIB + 33;
    write_test_file(&file, size, 32)?;
    let expected = sha256_file(&file)?;

    let browser = Browser::start().await?;
    let shared = share_file(&browser, &relay, &file, Duration::from_secs(120)).await?;
    assert_eq!(shared.cid, expected);
    let url = format!("{}/file/{}", relay.url, shared.cid);
    // The tab offers the file to its relay's bridge soon after it starts seeding.
    let deadline = Instant::now() + Duration::from_secs(30);
    while head(&url, &["-I"])?.0 != 200 {
        anyhow::ensure!(Instant::now() < deadline, "the relay never offered the tab's file over HTTP");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (_, headers) = head(&url, &["-I"])?;
    assert!(headers.contains(&format!("content-length: {size}")), "{headers}");

    let chunk = dir.path().join("chunk");
    curl(&["-o", chunk.to_str().unwrap(), &format!("{url}/chunk/17")])?;
    assert_eq!(std::fs::read(&chunk)?, slice(&file, 17 * 262_144, 262_144)?, "one chunk through the bridge");
    curl(&["-r", "5000000-5999999", "-o", chunk.to_str().unwrap(), &url])?;
    assert_eq!(std::fs::read(&chunk)?, slice(&file, 5_000_000, 1_000_000)?, "a range through the bridge");

    let started = Instant::now();
    let out = dir.path().join("downloaded by curl");
    curl(&["-o", out.to_str().unwrap(), &url])?;
    let secs = started.elapsed().as_secs_f64();
    println!("curl ← relay bridge ← tab: {} MiB in {secs:.1} s ({:.1} MB/s)", size / MIB, size as f64 / 1e6 / secs);
    assert_eq!(sha256_file(&out)?, expected, "curl's copy differs from the tab's file");
    // The tab goes away; the relay still serves the copy it verified, from its disk.
    browser.close().await?;
    curl(&["-o", out.to_str().unwrap(), &url])?;
    assert_eq!(sha256_file(&out)?, expected, "the relay's cached copy");
    Ok(())
}

/// The bridge's disk is bounded (`--bridge-disk-mib`): a tab's file bigger than what is left
/// is refused with a clear error, and the relay keeps serving.
#[tokio::test(flavor = "multi_thread")]
async fn a_file_bigger_than_the_bridges_disk_is_refused_clearly() -> anyhow::Result<()> {
    let www = mixed_www()?;
    let relay = Relay::start_with(www.path(), None, &["--bridge-disk-mib", "1"])?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("too big to bridge.bin");
    write_test_file(&file, 3 * MIB, 33)?;
    let browser = Browser::start().await?;
    let shared = share_file(&browser, &relay, &file, Duration::from_secs(120)).await?;
    let url = format!("{}/file/{}", relay.url, shared.cid);
    let deadline = Instant::now() + Duration::from_secs(30);
    while head(&url, &["-I"])?.0 != 200 {
        anyhow::ensure!(Instant::now() < deadline, "the relay never offered the tab's file over HTTP");
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = curl(&["-w", "\n%{http_code}", &format!("{url}/chunk/0")])?;
    let (body, status) = out.rsplit_once('\n').unwrap_or((&out, ""));
    assert_eq!(status, "502", "{out}");
    assert!(body.contains("disk") && body.contains("\"error\""), "a JSON error naming the disk budget: {body}");
    assert_eq!(head(&format!("{}/", relay.url), &[])?.0, 200, "the relay still serves");
    browser.close().await
}
