//! What a relay operator runs and watches: `/metrics` read by Prometheus' own parser (the
//! official Python client's `text_string_to_metric_families`, Debian's
//! python3-prometheus-client), a TOML config file under the environment and the flags
//! (`--print-config`), and JSON logs.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chiral_e2e::{http_get, http_post_json, relay_bin, Guarded, Relay};

/// One sample: name, labels, value.
type Sample = (String, std::collections::BTreeMap<String, String>, f64);

/// `GET /metrics` with curl (as an operator would): the Content-Type and every sample as
/// Prometheus' parser reads them (a parse error fails).
fn scrape(url: &str) -> anyhow::Result<(String, Vec<Sample>)> {
    let out = Command::new("curl").args(["-sS", "--max-time", "20", "-D", "-", &format!("{url}/metrics")]).output().context("curl")?;
    anyhow::ensure!(out.status.success(), "curl /metrics: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout)?;
    let (head, body) = text.split_once("\r\n\r\n").context("no HTTP head")?;
    anyhow::ensure!(head.starts_with("HTTP/1.1 200"), "{head}");
    let content_type = head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type: ").map(str::to_owned)).unwrap_or_default();
    let parser = "import sys, json\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        out = []\n\
        for family in text_string_to_metric_families(sys.stdin.read()):\n\
        \x20   for s in family.samples:\n\
        \x20       out.append([s.name, s.labels, s.value])\n\
        print(json.dumps(out))\n";
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", parser])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("python3 (scripts/setup.sh test installs python3-prometheus-client)")?;
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), body.as_bytes())?;
    drop(child.stdin.take());
    let parsed = child.wait_with_output()?;
    anyhow::ensure!(parsed.status.success(), "Prometheus' parser refused /metrics: {}\n{body}", String::from_utf8_lossy(&parsed.stderr));
    Ok((content_type, serde_json::from_slice(&parsed.stdout)?))
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples.iter().find(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))).map(|s| s.2)
}

fn minimal_www(dir: &Path) -> anyhow::Result<()> {
    std::fs::write(dir.join("index.html"), "<!doctype html><title>Chiral</title>")?;
    Ok(())
}

#[test]
fn metrics_are_valid_prometheus_text_and_count_what_happened() -> anyhow::Result<()> {
    let www = tempfile::tempdir()?;
    minimal_www(www.path())?;
    let relay = Relay::start_with_www(www.path())?;
    for _ in 0..3 {
        assert_eq!(http_get(&format!("{}/healthz", relay.url))?.0, 200);
    }
    // No chain node configured: refused, and counted by reason.
    let (status, _) = http_post_json(&format!("{}/rpc", relay.url), r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}"#)?;
    assert_eq!(status, 503);
    assert_eq!(http_get(&format!("{}/file/{}", relay.url, "ab".repeat(32)))?.0, 404);

    let (content_type, samples) = scrape(&relay.url)?;
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let get = |name: &str, labels: &[(&str, &str)]| value(&samples, name, labels).with_context(|| format!("{name} {labels:?} missing from /metrics"));
    assert!(get("chiral_http_requests_total", &[("route", "/healthz"), ("method", "GET"), ("status", "200")])? >= 3.0);
    // Routes are labelled by pattern, never by the raw path (bounded label values).
    assert_eq!(get("chiral_http_requests_total", &[("route", "/file/{cid}"), ("status", "404")])?, 1.0);
    assert!(!samples.iter().any(|(_, l, _)| l.values().any(|v| v.contains("abab"))));
    assert_eq!(get("chiral_rpc_refused_total", &[("reason", "no_chain")])?, 1.0);
    assert!(get("chiral_http_request_duration_seconds_bucket", &[("route", "/healthz"), ("le", "+Inf")])? >= 3.0);
    assert_eq!(get("chiral_tracker_peers", &[("tracker", "websocket")])?, 0.0);
    assert_eq!(get("chiral_tracker_swarms", &[("tracker", "http")])?, 0.0);
    assert_eq!(get("chiral_bridge_files", &[])?, 0.0);
    assert_eq!(get("chiral_bridge_disk_limit_bytes", &[])?, (16u64 * 1024 * 1024 * 1024) as f64);
    get("chiral_dht_records", &[])?;
    get("chiral_p2p_connected_peers", &[])?;
    get("chiral_ed2k_connections", &[])?;
    assert_eq!(get("chiral_build_info", &[])?, 1.0);
    Ok(())
}

#[test]
fn a_config_file_sits_under_the_environment_and_flags_and_logs_can_be_json() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    minimal_www(dir.path())?;
    let config = dir.path().join("relay.toml");
    std::fs::write(
        &config,
        "# a community relay\nbridge-disk-mib = 3\nbridge-max-files = 5\nchunk-cache-mib = 7\nlog-format = \"json\"\nno-dht = true\nno-ed2k = true\n",
    )?;
    // --print-config: each value and where it came from.
    let printed = Command::new(relay_bin())
        .args(["--config"])
        .arg(&config)
        .args(["--print-config", "--chunk-cache-mib", "9"])
        .env("CHIRAL_BRIDGE_MAX_FILES", "6")
        .output()?;
    assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
    let printed = String::from_utf8(printed.stdout)?;
    for line in ["bridge-disk-mib = 3  # config file", "bridge-max-files = 6  # environment", "chunk-cache-mib = 9  # flag", "log-format = \"json\"  # config file", "listen = \"127.0.0.1:8080\"  # default"] {
        assert!(printed.lines().any(|l| l == line), "`{line}` not in:\n{printed}");
    }
    // A mistake in the file stops the relay with the key named.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "bridge-disk-mb = 3\n")?;
    let refused = Command::new(relay_bin()).arg("--config").arg(&bad).output()?;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unknown key `bridge-disk-mb`"));

    // The relay runs with the file's values under the environment's, and logs JSON.
    let mut process = Guarded::spawn(
        Command::new(relay_bin())
            .args(["--config"])
            .arg(&config)
            .args(["--listen", "127.0.0.1:0", "--p2p-listen", "/ip4/127.0.0.1/tcp/0", "--bt-listen", "127.0.0.1:0", "--www"])
            .arg(dir.path())
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env("CHIRAL_BRIDGE_DISK_MIB", "4")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )?;
    let stdout = process.child().stdout.take().unwrap();
    let stderr = process.child().stderr.take().unwrap();
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = logs.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("relay listening on ") {
                let _ = tx.send(url.to_string());
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(60)).context("the relay did not start")?;
    let (_, samples) = scrape(&url)?;
    assert_eq!(value(&samples, "chiral_bridge_disk_limit_bytes", &[]), Some((4u64 << 20) as f64), "the environment overrides the file");
    assert_eq!(value(&samples, "chiral_ed2k_connections", &[]), None, "no-ed2k from the file");

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines = logs.lock().unwrap().clone();
        let events: Vec<serde_json::Value> = lines.iter().map(|l| serde_json::from_str(l).with_context(|| format!("not a JSON log line: {l}"))).collect::<Result<_, _>>()?;
        for e in &events {
            assert!(e["timestamp"].is_string() && e["level"].is_string() && e["target"].is_string(), "{e}");
        }
        if events.iter().any(|e| e["message"] == "relay listening" && e["local"].is_string()) {
            break;
        }
        if Instant::now() > deadline {
            bail!("no JSON `relay listening` event in:\n{}", lines.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    process.kill_now();
    Ok(())
}
