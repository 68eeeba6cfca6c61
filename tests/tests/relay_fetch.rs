//! `relay fetch` against a real BitTorrent client (Debian's aria2) that no tracker and no
//! DHT knows: the magnet's `x.pe` peer is the only source. A single file; folders (BEP 3
//! multi-file torrents, one made by transmission-create, one with an empty file and a BEP 47
//! padding file) written byte-identical; and a torrent whose path climbs out of its folder
//! (served by a hostile peer made here: real clients refuse to seed one) refused at once
//! with the reason, with nothing written.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use chiral_e2e::{relay_bin, relay_manifest, sha256_file, tree, write_test_file, Guarded};

/// aria2 seeding `torrent` from `dir` on 127.0.0.1:`port`, with no tracker, DHT, LPD or PEX.
fn aria2_seed(dir: &Path, torrent: &Path, port: u16) -> anyhow::Result<Guarded> {
    Guarded::spawn(
        Command::new("aria2c")
            .args(["--seed-ratio=0.0", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false"])
            .args(["--enable-peer-exchange=false", "--summary-interval=0", "--console-log-level=warn", "--check-integrity=true"])
            .args(["--bt-tracker=", "--bt-exclude-tracker=*"])
            .arg(format!("--listen-port={port}"))
            .arg("--interface=127.0.0.1")
            .arg("-d")
            .arg(dir)
            .arg(torrent)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
}

/// Waits until something listens on 127.0.0.1:`port`.
fn until_listening(port: u16) -> anyhow::Result<()> {
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    anyhow::bail!("aria2 never listened on {port}")
}

fn relay_fetch(magnet: &str, out: &Path) -> anyhow::Result<std::process::Output> {
    Ok(Command::new(relay_bin())
        .args(["fetch", magnet, "--no-dht", "--bt-listen", "127.0.0.1:0", "--timeout", "300", "-o"])
        .arg(out)
        .output()?)
}

#[test]
fn relay_fetch_dials_a_magnets_x_pe_peer() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let seeds = dir.path().join("seeds");
    std::fs::create_dir_all(&seeds)?;
    let file = seeds.join("only via x.pe.bin");
    write_test_file(&file, 3 * 1024 * 1024 + 77, 61)?;
    let torrent = dir.path().join("x.torrent");
    let m = relay_manifest(&file, &["--torrent", torrent.to_str().unwrap()])?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let _aria2 = aria2_seed(&seeds, &torrent, port)?;
    until_listening(port)?;
    // No tracker, no DHT: the peer named in the magnet is the only way to the file.
    let magnet = format!("magnet:?xt=urn:btih:{}&dn=got&x.pe=127.0.0.1%3A{port}", m["infohash"].as_str().unwrap());
    let out = dir.path().join("got.bin");
    let result = relay_fetch(&magnet, &out)?;
    let log = String::from_utf8_lossy(&result.stderr).to_string() + &String::from_utf8_lossy(&result.stdout);
    assert!(result.status.success(), "relay fetch failed:\n{log}");
    assert_eq!(sha256_file(&out)?, m["cid"].as_str().unwrap(), "the fetched file differs");
    Ok(())
}

fn fetch_ok(magnet: &str, out: &Path) -> anyhow::Result<String> {
    let result = relay_fetch(magnet, out)?;
    let log = String::from_utf8_lossy(&result.stderr).to_string() + &String::from_utf8_lossy(&result.stdout);
    assert!(result.status.success(), "relay fetch failed:\n{log}");
    Ok(log)
}

#[test]
fn relay_fetch_writes_a_transmission_create_folder_seeded_by_aria2() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let folder = dir.path().join("seeds").join("a folder ñ");
    std::fs::create_dir_all(folder.join("nested").join("deeper"))?;
    write_test_file(&folder.join("top level.bin"), 700_001, 62)?;
    write_test_file(&folder.join("nested").join("deeper").join("ñandú 文件 🎵.bin"), 1_300_007, 63)?;
    write_test_file(&folder.join("nested").join("small.txt"), 50_003, 64)?;
    let want = tree(&folder)?;
    let torrent = dir.path().join("folder.torrent");
    chiral_e2e::run_tool(Command::new("transmission-create").arg("-o").arg(&torrent).arg(&folder))?;
    let infohash = chiral_e2e::run_tool(Command::new("transmission-show").arg(&torrent))?
        .lines()
        .find_map(|l| l.trim().strip_prefix("Hash: ").map(str::to_string))
        .ok_or_else(|| anyhow::anyhow!("transmission-show printed no infohash"))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let _aria2 = aria2_seed(&dir.path().join("seeds"), &torrent, port)?;
    until_listening(port)?;
    let magnet = format!("magnet:?xt=urn:btih:{infohash}&x.pe=127.0.0.1%3A{port}");
    let out = dir.path().join("out");
    let log = fetch_ok(&magnet, &out)?;
    assert!(log.contains("fetched folder a folder ñ (3 files, 2050011 bytes)"), "{log}");
    assert!(log.contains("is a folder of 3 files"), "no progress line for the folder:\n{log}");
    assert_eq!(tree(&out)?, want, "the fetched folder differs");
    Ok(())
}

/// A folder with an empty file and a BEP 47 padding file (transmission-create makes neither,
/// so the torrent is built here, BEP 3 + BEP 47, and aria2 seeds it).
#[test]
fn relay_fetch_writes_empty_files_and_skips_padding() -> anyhow::Result<()> {
    use sha1::Digest as _;
    const PIECE: u64 = 32 * 1024;
    let dir = tempfile::tempdir()?;
    let folder = dir.path().join("seeds").join("padded");
    std::fs::create_dir_all(folder.join("sub"))?;
    std::fs::create_dir_all(folder.join(".pad"))?;
    write_test_file(&folder.join("a.bin"), 100_000, 65)?;
    let pad = 4 * PIECE - 100_000;
    std::fs::write(folder.join(".pad").join(pad.to_string()), vec![0u8; pad as usize])?;
    std::fs::write(folder.join("empty.txt"), b"")?;
    write_test_file(&folder.join("sub").join("ü.bin"), 70_000, 66)?;
    let files = vec![
        (vec!["a.bin".to_string()], 100_000, false),
        (vec![".pad".to_string(), pad.to_string()], pad, true),
        (vec!["empty.txt".to_string()], 0, false),
        (vec!["sub".to_string(), "ü.bin".to_string()], 70_000, false),
    ];
    let mut all = Vec::new();
    for (path, _, _) in &files {
        all.extend(std::fs::read(path.iter().fold(folder.clone(), |p, c| p.join(c)))?);
    }
    let pieces: Vec<u8> = all.chunks(PIECE as usize).flat_map(|c| <[u8; 20]>::from(sha1::Sha1::digest(c))).collect();
    let info = web_node::torrent::folder_info_dict("padded", &files, PIECE, &pieces);
    let infohash = hex::encode(web_node::torrent::infohash(&info));
    let torrent = dir.path().join("padded.torrent");
    std::fs::write(&torrent, web_node::torrent::torrent_file(info, &web_node::torrent::Sources::default()))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let _aria2 = aria2_seed(&dir.path().join("seeds"), &torrent, port)?;
    until_listening(port)?;
    let out = dir.path().join("out");
    fetch_ok(&format!("magnet:?xt=urn:btih:{infohash}&x.pe=127.0.0.1%3A{port}"), &out)?;
    let mut want = tree(&folder)?;
    want.retain(|path, _| !path.starts_with(".pad/"));
    assert_eq!(tree(&out)?, want, "the fetched folder differs (or holds padding)");
    assert!(out.join("empty.txt").is_file());
    Ok(())
}

/// A peer that serves one info dict over BEP 9 and nothing else, on 127.0.0.1; its port.
fn metadata_only_peer(info: Vec<u8>) -> anyhow::Result<u16> {
    use web_node::peer_wire::extension::{ExtendedHandshake, MetadataMessage, METADATA_PIECE, OUR_UT_METADATA_ID};
    use web_node::peer_wire::{Handshake, Message};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let info_hash: [u8; 20] = <sha1::Sha1 as sha1::Digest>::digest(&info).into();
    std::thread::spawn(move || -> anyhow::Result<()> {
        let (mut stream, _) = listener.accept()?;
        let mut theirs = [0u8; 68];
        stream.read_exact(&mut theirs)?;
        let mut out = Vec::new();
        Handshake::new(info_hash, *b"-XX0001-hostilepeer!").encode_into(&mut out);
        let mut hs = ExtendedHandshake { metadata_size: Some(info.len() as u64), ..Default::default() };
        hs.extensions.insert("ut_metadata".into(), OUR_UT_METADATA_ID);
        Message::Extended { id: 0, payload: &hs.encode() }.encode_into(&mut out);
        stream.write_all(&out)?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
            while let Some((message, used)) = Message::parse(&buf)? {
                let mut reply = Vec::new();
                if let Message::Extended { id: OUR_UT_METADATA_ID, payload } = message {
                    if let Ok(MetadataMessage::Request { piece }) = MetadataMessage::parse(payload) {
                        let at = piece as usize * METADATA_PIECE;
                        let data = &info[at.min(info.len())..(at + METADATA_PIECE).min(info.len())];
                        let answer = MetadataMessage::Data { piece, total_size: info.len() as u64, data }.encode();
                        // The relay asks us to use the same id for ut_metadata.
                        Message::Extended { id: OUR_UT_METADATA_ID, payload: &answer }.encode_into(&mut reply);
                    }
                }
                buf.drain(..used);
                stream.write_all(&reply)?;
            }
        }
    });
    Ok(port)
}

#[test]
fn relay_fetch_refuses_a_path_that_climbs_out_at_once_and_writes_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let files = vec![(vec!["ok.txt".to_string()], 10u64, false), (vec!["..".to_string(), "..".to_string(), "escape.txt".to_string()], 10, false)];
    let info = web_node::torrent::folder_info_dict("evil", &files, 16 * 1024, &[7u8; 20]);
    let infohash = hex::encode(web_node::torrent::infohash(&info));
    let port = metadata_only_peer(info.encode())?;
    let work = dir.path().join("a").join("b");
    std::fs::create_dir_all(&work)?;
    let out = work.join("out");
    let magnet = format!("magnet:?xt=urn:btih:{infohash}&x.pe=127.0.0.1%3A{port}");
    let result = relay_fetch(&magnet, &out)?;
    let log = String::from_utf8_lossy(&result.stderr).to_string() + &String::from_utf8_lossy(&result.stdout);
    assert!(!result.status.success(), "a torrent with a `..` path was fetched?\n{log}");
    // The reason, not "did not finish within 300 s".
    assert!(log.contains("cannot download this torrent") && log.contains("unsafe path"), "no reason given:\n{log}");
    assert!(!log.contains("did not finish"), "it waited out its timeout:\n{log}");
    assert!(!out.exists(), "something was written to {}", out.display());
    let everything = tree(dir.path())?;
    assert!(everything.is_empty(), "files appeared: {everything:?}");
    Ok(())
}
