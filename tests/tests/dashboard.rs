//! The Network view's dashboard in headless Chromium, with a real chain node (anvil, chain
//! 98765) behind the relay's `/rpc`: the chain panel shows the chain's block height and id,
//! the rate plot is drawn, peers are counted by protocol after a transfer between two
//! pages, and a chain that goes down is reported in the panel.

use std::time::{Duration, Instant};

use chiral_e2e::{json_rpc, open_download, outer_html, share_file, start_download, wait_for_transfer, workspace_root, write_test_file, Anvil, Browser, Relay};
use serde_json::json;

async fn js(browser: &Browser, script: &str) -> anyhow::Result<serde_json::Value> {
    Ok(browser.client.execute(script, vec![]).await?)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_network_view_shows_the_chain_the_rates_and_peers_by_protocol() -> anyhow::Result<()> {
    let mut anvil = Anvil::start()?;
    // A few blocks, so the height is not the genesis' 0.
    for _ in 0..3 {
        json_rpc(&anvil.url, "evm_mine", json!([]))?;
    }
    let relay = Relay::start_with(&workspace_root().join("www"), None, &["--eth-rpc", anvil.url.as_str()])?;

    // A transfer between two pages, so the downloader has a peer to count.
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("dashboard.bin");
    write_test_file(&file, 3 * 1024 * 1024, 31)?;
    let seeder = Browser::start().await?;
    let shared = share_file(&seeder, &relay, &file, Duration::from_secs(60)).await?;
    let leecher = Browser::start().await?;
    open_download(&leecher, &relay).await?;
    start_download(&leecher, &shared.magnet).await?;
    wait_for_transfer(&leecher, Some(&shared.infohash), Duration::from_secs(120)).await?;

    js(&leecher, "location.hash = '#network'; return true;").await?;
    leecher.wait_for("return document.querySelector('#dashboard') ? true : null;", Duration::from_secs(10)).await?;

    // The chain panel: the height eth_blockNumber gives, and chain 98765.
    let want = json_rpc(&anvil.url, "eth_blockNumber", json!([]))?["result"].as_str().map(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16)).transpose()?;
    assert_eq!(want, Some(3), "anvil mined the blocks asked for");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let panel = js(&leecher, "const p = document.querySelector('#chain-panel'); return p ? { state: p.dataset.state, height: p.dataset.height, chain: p.dataset.chainId } : null;").await?;
        if panel["height"] == json!("3") && panel["chain"] == json!("98765") {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "the chain panel shows {panel}, want height 3 on chain 98765\n{}", outer_html(&leecher, "#chain-panel").await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let shown = js(&leecher, "return ['chain-height', 'chain-block-time', 'chain-base-fee', 'chain-id', 'chain-network-id', 'chain-client', 'chain-mining', 'chain-hashrate'].map(id => document.getElementById(id).textContent.trim());").await?;
    let shown: Vec<String> = serde_json::from_value(shown)?;
    assert_eq!(shown[0], "3", "{shown:?}");
    assert_eq!(shown[3], "98765", "{shown:?}");
    assert_eq!(shown[4], "98765", "net_version: {shown:?}");
    assert!(shown[5].to_lowercase().contains("anvil"), "web3_clientVersion: {shown:?}");
    assert!(shown[2].contains("gwei"), "base fee: {shown:?}");
    assert!(shown.iter().all(|s| !s.is_empty()), "{shown:?}");

    // The rate plot, sampled each second.
    let samples = leecher
        .wait_for("const s = document.querySelector('svg#rate-plot'); return s && Number(s.dataset.samples) > 0 && s.querySelector('polyline.down-line') instanceof SVGPolylineElement && s.querySelector('polyline.down-line').getAttribute('points') ? Number(s.dataset.samples) : null;", Duration::from_secs(10))
        .await?;
    assert!(samples.as_u64().is_some_and(|n| n <= 300), "bounded history: {samples}");

    // Peers by protocol: the seeder (and the relay bridge, if it joined) are counted.
    let protocols = leecher
        .wait_for("const l = [...document.querySelectorAll('#peers-by-protocol li[data-protocol]')].map(li => [li.dataset.protocol, Number(li.dataset.count)]); return l.length ? l : null;", Duration::from_secs(15))
        .await;
    let protocols = match protocols {
        Ok(p) => p,
        Err(e) => anyhow::bail!("{e}\n{}\n{}", outer_html(&leecher, "#peers-by-protocol").await, outer_html(&leecher, "#transfers").await),
    };
    eprintln!("chain panel: {shown:?}; peers by protocol: {protocols}");
    if let Ok(dir) = std::env::var("CHIRAL_SCREENSHOT_DIR") {
        std::fs::write(std::path::Path::new(&dir).join("dashboard.png"), leecher.client.screenshot().await?)?;
    }
    assert!(protocols.as_array().is_some_and(|l| l.iter().all(|p| p[0].as_str().is_some_and(|s| !s.is_empty()) && p[1].as_u64() > Some(0))), "{protocols}");

    // Reputation: the peer that delivered the file (the relay bridge here) scores above a
    // stranger's 0.5 in the peers table, and the tab saved its store (at most every 10 s).
    let score = leecher
        .wait_for("const c = [...document.querySelectorAll('#transfers table.peers td.score')].map(td => Number(td.dataset.score)).filter(x => x > 0 && x < 1); return c.some(x => x > 0.5) ? c : null;", Duration::from_secs(15))
        .await;
    let score = match score {
        Ok(s) => s,
        Err(e) => anyhow::bail!("{e}\n{}", outer_html(&leecher, "#transfers table.peers").await),
    };
    let stored = leecher
        .wait_for("const s = localStorage.getItem('chiral.reputation'); return s && JSON.parse(s).entries.some(e => e.good > 0) ? JSON.parse(s) : null;", Duration::from_secs(20))
        .await;
    let stored = match stored {
        Ok(s) => s,
        Err(e) => anyhow::bail!("{e}\nstored: {}", js(&leecher, "return localStorage.getItem('chiral.reputation');").await?),
    };
    eprintln!("scores {score}; stored reputation {stored}");

    // The chain goes down: the panel says so instead of failing.
    anvil.kill();
    let down = leecher
        .wait_for("const p = document.querySelector('#chain-panel'); return p && p.dataset.state === 'down' && document.querySelector('#chain-down') ? document.querySelector('#chain-down').textContent : null;", Duration::from_secs(20))
        .await?;
    assert!(down.as_str().is_some_and(|s| !s.is_empty()), "{down}");

    leecher.close().await?;
    seeder.close().await?;
    Ok(())
}
