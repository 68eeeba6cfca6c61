//! Our identities against real tools: sha256sum, RHash (ed2k), transmission-show and aria2
//! (which verifies the original data against the .torrent we write).

use std::process::Command;

use chiral_e2e::{relay_manifest, run_tool, write_test_file};

const NOWHERE: &str = "http://127.0.0.1:9"; // a closed port: tools must not find another copy

fn first_field(output: &str) -> String {
    output.split_whitespace().next().unwrap_or_default().to_string()
}

#[test]
fn cid_equals_sha256sum_and_ed2k_equals_rhash() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let part = 9_728_000;
    for (size, seed) in [(1, 1), (262_143, 2), (262_144, 3), (262_145, 4), (part, 5), (2 * part + 1, 6)] {
        let file = dir.path().join(format!("sample-{size}.bin"));
        write_test_file(&file, size, seed)?;
        let m = relay_manifest(&file, &["--public-url", NOWHERE])?;
        let sha = first_field(&run_tool(Command::new("sha256sum").arg(&file))?);
        assert_eq!(m["cid"], sha.as_str(), "CID of {size} bytes");
        let ed2k = first_field(&run_tool(Command::new("rhash").arg("--ed2k").arg(&file))?);
        assert_eq!(m["ed2k"], ed2k.as_str(), "ed2k of {size} bytes");
        assert_eq!(m["size"], size);
        assert_eq!(m["chunks"], size.div_ceil(262_144));
        assert_eq!(m["ed2k_link"], format!("ed2k://|file|sample-{size}.bin|{size}|{ed2k}|/").as_str());
    }
    Ok(())
}

#[test]
fn torrent_is_read_by_transmission_and_aria2_verifies_the_data_against_it() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let name = "verify me.bin";
    let size = 3 * 1024 * 1024 + 7;
    let seed_dir = dir.path().join("seed");
    std::fs::create_dir(&seed_dir)?;
    write_test_file(&seed_dir.join(name), size, 42)?;
    let torrent = dir.path().join("file.torrent");
    let m = relay_manifest(&seed_dir.join(name), &["--public-url", NOWHERE, "--torrent", torrent.to_str().unwrap()])?;

    let shown = run_tool(Command::new("transmission-show").arg(&torrent))?;
    assert!(shown.contains(&format!("Hash: {}", m["infohash"].as_str().unwrap())), "{shown}");
    assert!(shown.contains("Piece Count: 13") && shown.contains("Piece Size: 256.0 KiB"), "{shown}");
    assert!(shown.contains(&format!("{NOWHERE}/file/{}", m["cid"].as_str().unwrap())), "web seed: {shown}");

    let aria2 = |data_dir: &std::path::Path| {
        Command::new("aria2c")
            .args(["--check-integrity=true", "--seed-time=0", "--enable-dht=false", "--enable-dht6=false"])
            .args(["--bt-enable-lpd=false", "--enable-peer-exchange=false", "--bt-stop-timeout=3"])
            .args(["--max-tries=1", "--connect-timeout=1", "--summary-interval=0", "--console-log-level=warn"])
            .arg("--interface=127.0.0.1") // aria2 would otherwise listen on every interface
            .arg("-d")
            .arg(data_dir)
            .arg(&torrent)
            .output()
    };
    let ok = aria2(&seed_dir)?;
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success() && out.contains("|OK  |"), "aria2 rejected our torrent/data:\n{out}");

    // The same check must fail on data that differs by one byte.
    let bad_dir = dir.path().join("bad");
    std::fs::create_dir(&bad_dir)?;
    std::fs::copy(seed_dir.join(name), bad_dir.join(name))?;
    let mut bytes = std::fs::read(bad_dir.join(name))?;
    bytes[2 * 262_144 + 5] ^= 0x10;
    std::fs::write(bad_dir.join(name), bytes)?;
    let bad = aria2(&bad_dir)?;
    let out = String::from_utf8_lossy(&bad.stdout);
    assert!(!bad.status.success() && out.contains("Checksum error"), "aria2 accepted corrupted data:\n{out}");
    Ok(())
}

#[test]
fn encryption_changes_the_cid_and_bad_input_gets_a_clear_error() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("secret.txt");
    write_test_file(&file, 600_000, 9)?;
    let plain = relay_manifest(&file, &[])?;
    let args = ["--passphrase", "open sesame", "--iterations", "1000"];
    let a = relay_manifest(&file, &args)?;
    let b = relay_manifest(&file, &args)?;
    assert_eq!(a["encrypted"], true);
    assert_eq!(a["plaintext_size"], 600_000);
    assert_eq!(a["size"], 600_000 + 3 * 16, "one GCM tag per 256 KiB chunk");
    assert_ne!(a["cid"], plain["cid"]);
    assert_ne!(a["cid"], b["cid"], "a fresh salt and nonce every time");

    let empty = dir.path().join("empty");
    std::fs::write(&empty, b"")?;
    let err = relay_manifest(&empty, &[]).unwrap_err().to_string();
    assert!(err.contains("is empty"), "{err}");
    let err = relay_manifest(&dir.path().join("missing"), &[]).unwrap_err().to_string();
    assert!(err.contains("cannot open"), "{err}");
    Ok(())
}
