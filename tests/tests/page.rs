//! The page served by a real relay, in headless Chromium: a file goes through the file
//! input and the page shows the identities the native code computes.

use std::time::Duration;

use chiral_e2e::{relay_manifest, write_test_file, Browser, Relay};
use fantoccini::Locator;

const STATE: &str = "const s = document.querySelector('#share'); \
    return s && (s.dataset.state === 'done' || s.dataset.state === 'error') ? s.dataset.state : null;";

/// Records every `data-state` the Share view passes through.
const RECORD_STATES: &str = "window.__states = []; \
    const s = document.querySelector('#share'); \
    new MutationObserver(() => window.__states.push(s.dataset.state)).observe(s, { attributes: true }); \
    return true;";

async fn open(browser: &Browser, relay: &Relay) -> anyhow::Result<()> {
    browser.client.goto(&relay.url).await?;
    browser
        .wait_for("return document.querySelector('#file-input') ? true : null;", Duration::from_secs(30))
        .await?;
    browser.client.execute(RECORD_STATES, vec![]).await?;
    Ok(())
}

async fn text(browser: &Browser, id: &str) -> anyhow::Result<String> {
    let v = browser.client.execute(&format!("return document.getElementById('{id}').textContent;"), vec![]).await?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn page_computes_the_same_identities_as_the_relay() -> anyhow::Result<()> {
    let relay = Relay::start()?;
    let browser = Browser::start().await?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("holiday video (50 MB).bin");
    write_test_file(&file, 50 * 1000 * 1000 + 123, 7)?;
    let ed2k_source = relay.wait_for_line("ed2k listening on ", Duration::from_secs(10))?;
    let expected = relay_manifest(&file, &["--public-url", &relay.url, "--ed2k-source", &ed2k_source])?;

    open(&browser, &relay).await?;
    let input = browser.client.find(Locator::Css("#file-input")).await?;
    input.send_keys(file.to_str().unwrap()).await?;
    let state = browser.wait_for(STATE, Duration::from_secs(180)).await?;
    let shown_error = text(&browser, "error").await.unwrap_or_default();
    assert_eq!(state, "done", "page error: {shown_error}");

    assert_eq!(text(&browser, "cid").await?, expected["cid"].as_str().unwrap());
    assert_eq!(text(&browser, "infohash").await?, expected["infohash"].as_str().unwrap());
    assert_eq!(text(&browser, "magnet").await?, expected["magnet"].as_str().unwrap());
    // The ed2k link names the relay as its source once the page has asked it (`/api/ed2k`).
    let link = browser
        .wait_for("const t = document.getElementById('ed2k-link').textContent; return t.includes('|sources,') ? t : null;", Duration::from_secs(10))
        .await?;
    assert_eq!(link, expected["ed2k_link"]);
    assert_eq!(text(&browser, "merkle-root").await?, expected["merkle_root"].as_str().unwrap());
    assert_eq!(text(&browser, "chunks").await?, expected["chunks"].to_string());
    if let Ok(dir) = std::env::var("CHIRAL_SCREENSHOT_DIR") {
        std::fs::write(std::path::Path::new(&dir).join("share-done.png"), browser.client.screenshot().await?)?;
    }
    let states = browser.client.execute("return window.__states;", vec![]).await?;
    assert!(states.as_array().unwrap().iter().any(|s| s == "hashing"), "no progress was shown: {states}");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn page_explains_an_empty_file() -> anyhow::Result<()> {
    let relay = Relay::start()?;
    let browser = Browser::start().await?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("nothing.txt");
    std::fs::write(&file, b"")?;

    open(&browser, &relay).await?;
    browser.client.find(Locator::Css("#file-input")).await?.send_keys(file.to_str().unwrap()).await?;
    assert_eq!(browser.wait_for(STATE, Duration::from_secs(30)).await?, "error");
    let message = text(&browser, "error").await?;
    assert!(message.contains("is empty"), "{message}");
    browser.close().await
}
