//! The real WebTorrent client (npm `webtorrent`, in headless Chromium) seeds through our
//! relay's `/announce`: its announces (binary-string ids, real SDP offers) are understood,
//! our replies raise no warning in the client, and the swarm shows the seeder.

use std::time::Duration;

use chiral_e2e::{relay_manifest, workspace_root, write_test_file, Browser, Relay};
use fantoccini::Locator;
use futures::{SinkExt, StreamExt};

#[tokio::test(flavor = "multi_thread")]
async fn webtorrent_seeds_through_our_tracker() -> anyhow::Result<()> {
    let root = workspace_root();
    let www = tempfile::tempdir()?;
    std::fs::copy(root.join("tests/node_modules/webtorrent/dist/webtorrent.min.js"), www.path().join("webtorrent.min.js"))
        .map_err(|e| anyhow::anyhow!("webtorrent is not installed (scripts/setup.sh test): {e}"))?;
    std::fs::copy(root.join("tests/pages/webtorrent-peer.html"), www.path().join("index.html"))?;
    let relay = Relay::start_with(www.path(), None, &[])?;

    let dir = tempfile::tempdir()?;
    let file = dir.path().join("shared by webtorrent.bin");
    write_test_file(&file, 1024 * 1024 + 99, 3)?;
    let ours = relay_manifest(&file, &["--public-url", &relay.url])?;

    let browser = Browser::start().await?;
    browser.client.goto(&relay.url).await?;
    browser.wait_for("return window.__ready ? true : null;", Duration::from_secs(30)).await?;
    browser.client.find(Locator::Css("#file-input")).await?.send_keys(file.to_str().unwrap()).await?;
    let seeding = browser.wait_for("return window.__seeding || null;", Duration::from_secs(60)).await?;
    assert_eq!(seeding["infoHash"], ours["infohash"], "WebTorrent and web-node name the file alike");

    // Ask the tracker, as any client would, until the seeder's announce has arrived.
    let ws_url = relay.url.replacen("http", "ws", 1) + "/announce";
    let (mut ws, _) = tokio_tungstenite::connect_async(&ws_url).await?;
    let info_hash: Vec<u8> = hex::decode(ours["infohash"].as_str().unwrap())?;
    let binary: String = info_hash.iter().map(|b| char::from(*b)).collect();
    let mut complete = serde_json::Value::Null;
    for _ in 0..100 {
        let scrape = serde_json::json!({ "action": "scrape", "info_hash": [binary] }).to_string();
        ws.send(tokio_tungstenite::tungstenite::Message::Text(scrape.into())).await?;
        if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) = ws.next().await {
            let v: serde_json::Value = serde_json::from_str(&t)?;
            complete = v["files"][&binary]["complete"].clone();
            if complete == 1 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(complete, 1, "the tracker never saw WebTorrent's announce");
    let events = browser.client.execute("return window.__events;", vec![]).await?;
    assert_eq!(events, serde_json::json!([]), "WebTorrent complained about our tracker");
    browser.close().await
}
