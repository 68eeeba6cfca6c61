//! Discovery from pages: three relays bootstrapped in a chain (A–B, B–C); a page on A
//! hashes and publishes a file; a page on C finds the record and the seeding page.
//! Then relay A restarts (same data dir): its PeerId is unchanged, the page reconnects
//! and republishes.

use std::time::Duration;

use chiral_e2e::{relay_manifest, workspace_root, write_test_file, Browser, Relay};
use fantoccini::Locator;

async fn text(browser: &Browser, id: &str) -> anyhow::Result<String> {
    let v = browser
        .client
        .execute(&format!("const e = document.getElementById('{id}'); return e ? e.textContent : null;"), vec![])
        .await?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

async fn wait_attr(browser: &Browser, id: &str, want: &str, timeout: Duration) -> anyhow::Result<()> {
    let js = format!(
        "const e = document.getElementById('{id}'); return e && e.dataset.state === '{want}' ? true : null;"
    );
    browser.wait_for(&js, timeout).await.map(|_| ()).map_err(|e| {
        anyhow::anyhow!("#{id} never reached data-state={want}: {e}")
    })
}

async fn page_peer_id(browser: &Browser, relay: &Relay) -> anyhow::Result<String> {
    browser.client.goto(&format!("{}/#network", relay.url)).await?;
    let js = "const e = document.getElementById('net-state'); return e && e.textContent === 'connected' ? true : null;";
    if let Err(e) = browser.wait_for(js, Duration::from_secs(30)).await {
        anyhow::bail!("page never connected: {e}; state: {}", text(browser, "net-state").await?);
    }
    text(browser, "peer-id").await
}

async fn find(page: &Browser, relay_url: &str, cid: &str) -> anyhow::Result<serde_json::Value> {
    page.client.goto(&format!("{relay_url}/#download")).await?;
    page.wait_for("return document.querySelector('#cid-input') ? true : null;", Duration::from_secs(30)).await?;
    let input = page.client.find(Locator::Css("#cid-input")).await?;
    input.clear().await?;
    input.send_keys(cid).await?;
    page.client.find(Locator::Css("#find")).await?.click().await?;
    let js = "const v = document.getElementById('download-view'); \
        return v && ['found', 'not-found', 'error'].includes(v.dataset.state) ? v.dataset.state : null;";
    page.wait_for(js, Duration::from_secs(60)).await
}

async fn published_at(page: &Browser) -> anyhow::Result<f64> {
    let v = page.client.execute("return Number(document.getElementById('publish').dataset.publishedAt || 0);", vec![]).await?;
    Ok(v.as_f64().unwrap_or(0.0))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_on_relay_a_publishes_and_a_page_on_relay_c_finds_it() -> anyhow::Result<()> {
    let www = workspace_root().join("www");
    let dir = tempfile::tempdir()?;
    let a_dir = dir.path().join("relay-a");
    let a = Relay::start_with(&www, Some(&a_dir), &[])?;
    let b = Relay::start_with(&www, None, &["--bootstrap", &a.tcp_multiaddr()?])?;
    let c = Relay::start_with(&www, None, &["--bootstrap", &b.tcp_multiaddr()?])?;
    let a_peer = a.get_json("/api/node")?["peer_id"].as_str().unwrap().to_string();

    let file = dir.path().join("lecture notes.pdf");
    write_test_file(&file, 2 * 1024 * 1024 + 5, 11)?;
    let manifest = relay_manifest(&file, &[])?;
    let cid = manifest["cid"].as_str().unwrap().to_string();

    // Page 1, on relay A: hash the file; it publishes itself as seeder.
    let page1 = Browser::start().await?;
    let page1_peer = page_peer_id(&page1, &a).await?;
    assert!(page1_peer.starts_with("12D3KooW"), "{page1_peer}");
    page1.client.goto(&format!("{}/#share", a.url)).await?;
    page1.wait_for("return document.querySelector('#file-input') ? true : null;", Duration::from_secs(30)).await?;
    page1.client.find(Locator::Css("#file-input")).await?.send_keys(file.to_str().unwrap()).await?;
    wait_attr(&page1, "publish", "published", Duration::from_secs(60)).await?;
    assert_eq!(text(&page1, "cid").await?, cid);

    // Page 2, on relay C: look the CID up.
    let page2 = Browser::start().await?;
    page_peer_id(&page2, &c).await?;
    let mut state = find(&page2, &c.url, &cid).await?;
    for _ in 0..20 {
        if state == "found" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        state = find(&page2, &c.url, &cid).await?;
    }
    assert_eq!(state, "found", "lookup said: {}", text(&page2, "lookup-error").await?);
    assert_eq!(text(&page2, "found-name").await?, "lecture notes.pdf");
    assert_eq!(text(&page2, "found-infohash").await?, manifest["infohash"].as_str().unwrap());
    let seeders = page2
        .client
        .execute("return [...document.querySelectorAll('#seeders tr.seeder')].map(r => [r.dataset.peer, r.dataset.protocol]);", vec![])
        .await?;
    // The page over WebTorrent, and (a free file) over eD2k through its relay.
    assert_eq!(seeders, serde_json::json!([[page1_peer, "webtorrent"], [page1_peer, "ed2k"]]));
    if let Ok(dir) = std::env::var("CHIRAL_SCREENSHOT_DIR") {
        std::fs::write(std::path::Path::new(&dir).join("download-found.png"), page2.client.screenshot().await?)?;
        page2.client.goto(&format!("{}/#network", c.url)).await?;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        std::fs::write(std::path::Path::new(&dir).join("network.png"), page2.client.screenshot().await?)?;
    }

    // Relay A restarts with its data dir: same PeerId; page 1 reconnects and republishes.
    let first = published_at(&page1).await?;
    assert!(first > 0.0);
    // The restarted relay listens on the same addresses, as a community relay would.
    let same_addrs: Vec<String> = a.get_json("/api/node")?["multiaddrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().split("/p2p/").next().unwrap().to_string())
        .collect();
    drop(a);
    page1
        .wait_for("return document.getElementById('net-pill').textContent !== 'online' ? true : null;", Duration::from_secs(30))
        .await?;
    let a2 = Relay::start_with(&www, Some(&a_dir), &["--bootstrap", &b.tcp_multiaddr()?, "--p2p-listen", &same_addrs.join(",")])?;
    assert_eq!(a2.get_json("/api/node")?["peer_id"], a_peer.as_str());
    page1
        .wait_for("return document.getElementById('net-pill').textContent === 'online' ? true : null;", Duration::from_secs(60))
        .await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while published_at(&page1).await? <= first {
        assert!(std::time::Instant::now() < deadline, "page 1 did not republish after reconnecting");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_attr(&page1, "publish", "published", Duration::from_secs(60)).await?;
    // The republished record is found again through C.
    assert_eq!(find(&page2, &c.url, &cid).await?, "found");
    page1.close().await?;
    page2.close().await
}
