//! A lying DHT record (issue 12): two publishers sign records for CID X that name the
//! infohash and Merkle root of another file, Y (the same first three chunks, then other
//! bytes). Every piece of Y passes its SHA-1 and its chunk SHA-256 under Y's root, so only
//! the whole-file check can tell. The relay seeds X and Y and publishes an honest record
//! for X. A page asks for X: it tries the root two publishers vouch for first, downloads Y,
//! and then:
//! - shows the failure, with Save and Pay disabled (a refused payment box, no plan);
//! - does not seed Y: the relay's tracker never counts it as a seeder (scrape);
//! - drops that root and goes on with the honest one, keeping the three chunks Y shares
//!   with X (each re-checked against X's chunk list), and finishes X.

use std::time::Duration;

use chiral_e2e::{open_download, outer_html, relay_manifest, start_download, wait_for_transfer, workspace_root, write_test_file, Browser, Relay};
use futures::{SinkExt, StreamExt};
use relay::p2p::{self, NodeConfig};
use web_node::file_record::{FileInfo, FileRecord, Protocol, Seeder, DEFAULT_TTL_SECS};

const CHUNK: usize = 262_144;
const SHARED_CHUNKS: usize = 3;

/// A DHT node of its own that signs and publishes `info` (another file's identities under
/// CID `cid`) as a WebTorrent seeder on `tracker`, paid to `wallet`.
async fn forge(relay_addr: &str, cid: &str, mut info: FileInfo, tracker: &str, wallet: u8) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let keypair = libp2p::identity::Keypair::generate_ed25519();
    let (node, task) = p2p::spawn(NodeConfig {
        keypair: keypair.clone(),
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse()?],
        bootstrap: vec![relay_addr.parse()?],
        external: Vec::new(),
        server: true,
    })
    .await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while node.info().await?.routing_table_size == 0 {
        anyhow::ensure!(std::time::Instant::now() < deadline, "the forger never joined the relay's DHT");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    info.cid = cid.to_string();
    let now = p2p::now_secs();
    let record = FileRecord {
        file: info,
        seeders: vec![Seeder {
            peer_id: node.peer_id.to_string(),
            protocol: Protocol::WebTorrent,
            endpoint: tracker.to_string(),
            wallet: Some(format!("0x{}", hex::encode([wallet; 20]))),
            available_chunks: Vec::new(),
            price_per_mb_wei: 1_000_000_000,
        }],
        published_at: now,
        expires_at: now + DEFAULT_TTL_SECS,
    };
    let signed = record.sign(&keypair)?;
    node.publish(cid, signed, now).await?;
    Ok(task)
}

/// The relay's WebSocket tracker's scrape of `info_hash`: (complete, incomplete).
async fn scrape(relay_url: &str, info_hash: &str) -> anyhow::Result<(u64, u64)> {
    let url = format!("{}/announce", relay_url.replacen("http://", "ws://", 1));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let binary: String = hex::decode(info_hash)?.into_iter().map(char::from).collect();
    let request = serde_json::json!({ "action": "scrape", "info_hash": binary });
    ws.send(tokio_tungstenite::tungstenite::Message::Text(request.to_string().into())).await?;
    let reply = tokio::time::timeout(Duration::from_secs(10), ws.next()).await?.ok_or_else(|| anyhow::anyhow!("tracker closed"))??;
    let v: serde_json::Value = serde_json::from_str(reply.to_text()?)?;
    let file = v["files"].as_object().and_then(|f| f.values().next()).cloned().unwrap_or_default();
    Ok((file["complete"].as_u64().unwrap_or(0), file["incomplete"].as_u64().unwrap_or(0)))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_root_whose_file_is_not_the_cid_is_refused_and_the_honest_root_finishes() -> anyhow::Result<()> {
    let www = workspace_root().join("www");
    let dir = tempfile::tempdir()?;
    let x_path = dir.path().join("wanted.bin");
    let y_path = dir.path().join("impostor.bin");
    write_test_file(&x_path, 2 * 1024 * 1024 + 5, 21)?;
    let mut y = std::fs::read(&x_path)?;
    for b in &mut y[SHARED_CHUNKS * CHUNK..] {
        *b ^= 0x5a;
    }
    std::fs::write(&y_path, &y)?;
    let x = relay_manifest(&x_path, &[])?;
    let ym = relay_manifest(&y_path, &[])?;
    let (cid_x, ih_x, ih_y) = (x["cid"].as_str().unwrap().to_string(), x["infohash"].as_str().unwrap().to_string(), ym["infohash"].as_str().unwrap().to_string());

    let relay = Relay::start_with(&www, None, &["seed", x_path.to_str().unwrap(), y_path.to_str().unwrap()])?;
    let relay_addr = relay.tcp_multiaddr()?;
    let tracker = format!("{}/announce", relay.url.replacen("http://", "ws://", 1));
    // Y's identities, as its own honest record would carry them, but under X's CID.
    let y_info = FileInfo {
        cid: String::new(),
        name: ym["name"].as_str().unwrap().to_string(),
        size: ym["size"].as_u64().unwrap(),
        chunk_size: CHUNK as u64,
        chunks: ym["chunks"].as_u64().unwrap(),
        mime: None,
        created_at: p2p::now_secs(),
        infohash: ih_y.clone(),
        ed2k: ym["ed2k"].as_str().unwrap().to_string(),
        merkle_root: ym["merkle_root"].as_str().unwrap().to_string(),
    };
    // Two liars, so their root comes first (most publishers).
    let _liars = [forge(&relay_addr, &cid_x, y_info.clone(), &tracker, 0x11).await?, forge(&relay_addr, &cid_x, y_info, &tracker, 0x22).await?];
    relay.wait_for_line(&format!("published {cid_x}"), Duration::from_secs(60))?;

    let page = Browser::start().await?;
    open_download(&page, &relay).await?;
    start_download(&page, &cid_x).await?;

    // The impostor: every piece checks out, the whole file does not.
    let failed_js = format!(
        "const t = document.querySelector('#transfers .transfer[data-infohash=\"{ih_y}\"]'); \
         return t && t.dataset.verdict ? t.dataset.verdict : null;"
    );
    let verdict = match page.wait_for(&failed_js, Duration::from_secs(120)).await {
        Ok(v) => v,
        Err(e) => anyhow::bail!("the impostor never got a verdict: {e}\n{}", outer_html(&page, "#transfers").await),
    };
    assert_eq!(verdict, "failed", "{}", outer_html(&page, "#transfers").await);
    let card = format!("#transfers .transfer[data-infohash=\"{ih_y}\"]");
    let looks = page
        .client
        .execute(
            &format!(
                "const t = document.querySelector('{card}'); const save = t.querySelector('button.save'); \
                 const pay = t.querySelector('.payment-box button.pay'); \
                 return {{ state: t.dataset.state, error: t.dataset.error, save: save ? save.disabled : null, \
                          pay: pay ? pay.disabled : null, refused: !!t.querySelector('.payment-box.refused'), \
                          plans: t.querySelectorAll('.plan-line').length }};"
            ),
            vec![],
        )
        .await?;
    let html = outer_html(&page, &card).await;
    assert_eq!(looks["state"], "error", "{html}");
    assert!(looks["error"].as_str().unwrap_or_default().contains(&cid_x), "the failure names the CID: {html}");
    assert_eq!(looks["save"], true, "Save is disabled: {html}");
    assert_eq!(looks["pay"], true, "Pay is there and disabled: {html}");
    assert_eq!(looks["refused"], true, "{html}");
    assert_eq!(looks["plans"], 0, "no payment plan: {html}");

    // Not seeded: the tracker never counts the page as a seeder of Y, now or a moment later.
    for _ in 0..5 {
        let (complete, _) = scrape(&relay.url, &ih_y).await?;
        assert_eq!(complete, 0, "the page announced the impostor as complete (seeding it)");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }

    // The honest root next: X finishes, the three chunks Y shares with it kept.
    let done = wait_for_transfer(&page, Some(&ih_x), Duration::from_secs(120)).await?;
    assert_eq!(done.sha256, cid_x, "{}", done.html);
    let kept = page
        .client
        .execute(&format!("return document.querySelector('#transfers .transfer[data-infohash=\"{ih_x}\"]').dataset.keptPieces;"), vec![])
        .await?;
    assert_eq!(kept, SHARED_CHUNKS.to_string(), "{}", done.html);
    assert!(done.html.contains("data-verdict=\"verified\""), "{}", done.html);
    page.close().await
}
