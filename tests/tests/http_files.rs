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
    // A second file, left unread until the end, to be changed on disk.
    let changed = dir.path().join("changed on disk.bin");
    write_test_file(&changed, 2 * 262_144 + 5_000, 32)?;
    let changed_cid = relay_manifest(&changed, &[])?["cid"].as_str().unwrap().to_string();
    let relay = Relay::start_with(&workspace_root().join("www"), None, &["--seed", file.to_str().unwrap(), "--seed", changed.to_str().unwrap()])?;
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

    // A chunk is read, hashed and kept in memory once; bytes that changed on disk are never
    // served: a chunk read after the write fails its hash (500), one verified before is
    // served from memory as verified, and a whole-file stream breaks off at the bad chunk.
    let changed_url = format!("{}/file/{changed_cid}", relay.url);
    let chunk0 = format!("{changed_url}/chunk/0");
    let chunk1 = format!("{changed_url}/chunk/1");
    assert_eq!(head(&chunk0, &[])?.0, 200);
    assert_eq!(head(&chunk0, &[])?.0, 200, "served again from the verified cache");
    let before = slice(&changed, 0, 262_144)?;
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&changed)?;
        for chunk in [0u64, 1] {
            f.seek(SeekFrom::Start(chunk * 262_144 + 10))?;
            f.write_all(b"tampered")?;
        }
        f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))?;
    }
    let (status, _) = head(&chunk1, &[])?;
    assert_eq!(status, 500, "a chunk that changed on disk was served");
    assert!(curl(&[&chunk1])?.contains("changed on disk"));
    let served = std::process::Command::new("curl").args(["-sf", &chunk0]).output()?.stdout;
    assert!(served == before, "chunk 0 must be served as it was verified, not as it is on disk now");
    let whole = std::process::Command::new("curl").args(["-s", "--max-time", "30", &changed_url]).output()?;
    assert!(!whole.status.success() || whole.stdout.len() < 2 * 262_144, "the whole file was served past a chunk that fails its hash");
    assert!(!whole.stdout.windows(8).any(|w| w == b"tampered"), "tampered bytes were served");
    assert_eq!(head(&format!("{url}/chunk/0"), &[])?.0, 200, "the unchanged chunks still verify");
    Ok(())
}

/// (status, header block, body) of one request made with curl.
fn exchange(url: &str, extra: &[&str], dir: &std::path::Path) -> anyhow::Result<(u16, String, Vec<u8>)> {
    let (headers, body) = (dir.join("headers"), dir.join("body"));
    let _ = std::fs::remove_file(&body); // curl writes no file for an empty body
    curl(&[&["-D", headers.to_str().unwrap(), "-o", body.to_str().unwrap()], extra, &[url]].concat())?;
    let headers = std::fs::read_to_string(&headers)?;
    let status = headers.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, headers, std::fs::read(&body).unwrap_or_default()))
}

/// One header's value (the last response's, when curl followed several).
fn field<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers.lines().filter_map(|l| l.split_once(':')).filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()).last()
}

/// The parts of a `multipart/byteranges` body, each (its Content-Range, its bytes), read by
/// the lengths their Content-Range gives, so part bytes may contain anything.
fn byteranges(content_type: &str, body: &[u8]) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    use anyhow::Context;
    let boundary = content_type.strip_prefix("multipart/byteranges; boundary=").context("not multipart/byteranges")?;
    let mut rest = body.strip_prefix(format!("--{boundary}\r\n").as_bytes()).context("no first boundary")?;
    let mut parts = Vec::new();
    loop {
        let end = rest.windows(4).position(|w| w == b"\r\n\r\n").context("a part without a blank line")?;
        let head = std::str::from_utf8(&rest[..end])?.to_lowercase();
        let range = head.lines().find_map(|l| l.strip_prefix("content-range: ")).context("a part without Content-Range")?.to_string();
        let (span, _) = range.strip_prefix("bytes ").and_then(|r| r.split_once('/')).context("a bad Content-Range")?;
        let (first, last) = span.split_once('-').context("a bad Content-Range")?;
        let n = last.parse::<usize>()? + 1 - first.parse::<usize>()?;
        rest = &rest[end + 4..];
        anyhow::ensure!(rest.len() >= n, "a part shorter than its Content-Range");
        parts.push((range, rest[..n].to_vec()));
        rest = rest[n..].strip_prefix(format!("\r\n--{boundary}").as_bytes()).context("no boundary after a part")?;
        if rest == b"--\r\n" {
            return Ok(parts);
        }
        rest = rest.strip_prefix(b"\r\n").context("no CRLF after a boundary")?;
    }
}

/// RFC 9110 ranges and conditional requests on a 1,000,000-byte file the relay holds: suffix
/// ranges longer than the file, several ranges (multipart/byteranges), ETag (the CID),
/// Last-Modified, If-None-Match, If-Modified-Since, If-Range, and 416 past the end.
#[test]
fn relay_held_files_honour_ranges_and_conditional_requests() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("a million bytes.bin");
    let size: u64 = 1_000_000;
    write_test_file(&file, size, 34)?;
    let content = std::fs::read(&file)?;
    let cid = relay_manifest(&file, &[])?["cid"].as_str().unwrap().to_string();
    let relay = Relay::start_with(&workspace_root().join("www"), None, &["--seed", file.to_str().unwrap()])?;
    let url = format!("{}/file/{cid}", relay.url);
    let etag = format!("\"{cid}\"");

    let (status, headers, body) = exchange(&url, &[], dir.path())?;
    assert!(status == 200 && body == content, "the whole file");
    assert_eq!(field(&headers, "etag"), Some(etag.as_str()), "the ETag is the CID: {headers}");
    assert_eq!(field(&headers, "accept-ranges"), Some("bytes"));
    let modified = field(&headers, "last-modified").expect("a Last-Modified").to_string();

    let (status, headers, body) = exchange(&url, &["-H", "Range: bytes=-5000000"], dir.path())?;
    assert!(status == 200 || (status == 206 && field(&headers, "content-range") == Some("bytes 0-999999/1000000")), "a suffix longer than the file: {headers}");
    assert!(body == content, "a suffix longer than the file is the whole file");

    let (status, headers, body) = exchange(&url, &["-H", "Range: bytes=0-9,20-29"], dir.path())?;
    assert_eq!(status, 206, "{headers}");
    assert_eq!(field(&headers, "content-length"), Some(body.len().to_string().as_str()));
    let parts = byteranges(field(&headers, "content-type").unwrap_or(""), &body)?;
    assert_eq!(parts, vec![("bytes 0-9/1000000".to_string(), content[..10].to_vec()), ("bytes 20-29/1000000".to_string(), content[20..30].to_vec())]);

    let (status, headers, body) = exchange(&url, &["-H", &format!("If-None-Match: {etag}")], dir.path())?;
    assert_eq!((status, body.len()), (304, 0), "{headers}");
    assert_eq!(field(&headers, "etag"), Some(etag.as_str()));

    let (status, _, body) = exchange(&url, &["-H", "If-Range: \"not-this-file\"", "-H", "Range: bytes=0-9"], dir.path())?;
    assert!(status == 200 && body == content, "If-Range with another ETag: the whole file, got {status}");
    let (status, _, body) = exchange(&url, &["-H", &format!("If-Range: {etag}"), "-H", "Range: bytes=0-9"], dir.path())?;
    assert_eq!((status, &body[..]), (206, &content[..10]), "If-Range with the ETag keeps the range");

    for since in [modified.as_str(), "Fri, 01 Jan 2100 00:00:00 GMT"] {
        let (status, _, body) = exchange(&url, &["-H", &format!("If-Modified-Since: {since}")], dir.path())?;
        assert_eq!((status, body.len()), (304, 0), "If-Modified-Since: {since}");
    }
    let (status, _, body) = exchange(&url, &["-H", "If-Modified-Since: Thu, 01 Jan 1970 00:00:01 GMT"], dir.path())?;
    assert!(status == 200 && body == content, "modified since 1970");

    let (status, headers, _) = exchange(&url, &["-H", "Range: bytes=1000000-"], dir.path())?;
    assert_eq!(status, 416);
    assert_eq!(field(&headers, "content-range"), Some("bytes */1000000"), "{headers}");

    let chunk = format!("{url}/chunk/2");
    let (status, headers, body) = exchange(&chunk, &[], dir.path())?;
    assert_eq!((status, &body[..]), (200, &content[2 * 262_144..3 * 262_144]));
    let chunk_tag = format!("\"{cid}-2\"");
    assert_eq!(field(&headers, "etag"), Some(chunk_tag.as_str()));
    let (status, _, body) = exchange(&chunk, &["-H", &format!("If-None-Match: {chunk_tag}")], dir.path())?;
    assert_eq!((status, body.len()), (304, 0), "a chunk revalidates by its own ETag");
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
