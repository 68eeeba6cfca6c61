//! Style 2 between two pages in headless Chromium, on anvil (chain 98765) behind the relay's
//! `/rpc`: page B downloads a 64 MiB file from priced page A through one payment channel
//! (vouchers in-band over WebRTC), A closes it, and A's balance rises by exactly price ×
//! verified bytes; the chain saw two transactions for the whole download (B's open, A's
//! close), whatever the piece count. A reload mid-download resumes the same channel and
//! never signs a lower or repeated amount (the seller would drop the buyer if it did).

use std::time::{Duration, Instant};

use anyhow::Context;
use chiral_e2e::wallet_pages::{balance, click, create_wallet, js, set_price, tx_count, unlock, PRICE_WEI};
use chiral_e2e::{json_rpc, mixed_www, share_file, start_download, wait_for_transfer, write_test_file, Anvil, Browser, Relay};
use serde_json::json;

const MIB: u64 = 1024 * 1024;

fn amount_wei(bytes: u64) -> u128 {
    (u128::from(bytes) * PRICE_WEI).div_ceil(1_000_000)
}

fn relay_with_channels(anvil: &Anvil, www: &std::path::Path) -> anyhow::Result<Relay> {
    chiral_e2e::anvil::deploy_channels(anvil)?;
    Relay::start_with(www, None, &["--eth-rpc", &anvil.url, "--dev-faucet"])
}

/// The seller's Wallet view: waits for a channel that paid at least `min_wei`, then closes
/// it with the button and waits for the closing transaction. Returns (channel, paid, tx).
async fn close_channel(b: &Browser, min_wei: u128) -> anyhow::Result<(String, u128, String)> {
    // Sharing reloaded the page: closing needs the wallet (the payee) unlocked.
    unlock(b).await?;
    let row = b
        .wait_for(
            &format!("const r = [...document.querySelectorAll('#channels-in .channel-in')].find(r => BigInt(r.dataset.paid) >= {min_wei}n); return r ? [r.dataset.channel, r.dataset.paid] : null;"),
            Duration::from_secs(60),
        )
        .await
        .context("the seller holds no voucher for the download")?;
    let channel = row[0].as_str().context("channel")?.to_string();
    let paid: u128 = row[1].as_str().context("paid")?.parse()?;
    click(b, &format!("#channels-in .channel-in[data-channel=\"{channel}\"] .channel-close")).await?;
    let closed = b
        .wait_for(&format!("const r = document.querySelector(\"#channels-in .channel-in[data-channel='{channel}']\"); return r && r.dataset.closed ? r.dataset.closed : null;"), Duration::from_secs(60))
        .await;
    let Ok(tx) = closed else {
        let status = js(b, "const s = document.querySelector('#channels-status'); return s ? s.textContent : '(no status)';").await?;
        anyhow::bail!("the channel was not closed: {status}");
    };
    Ok((channel, paid, tx.as_str().context("tx")?.to_string()))
}

fn gas_cost(anvil: &Anvil, tx: &str) -> anyhow::Result<(u64, u128)> {
    let r = json_rpc(&anvil.url, "eth_getTransactionReceipt", json!([tx]))?["result"].clone();
    let hex = |v: &serde_json::Value| u128::from_str_radix(v.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16).unwrap_or(0);
    Ok((hex(&r["gasUsed"]) as u64, hex(&r["gasUsed"]) * hex(&r["effectiveGasPrice"])))
}

/// The buyer's book: the highest amount its session key signed on the channel.
async fn signed_by_buyer(b: &Browser) -> anyhow::Result<u128> {
    let v = js(b, "const book = JSON.parse(localStorage.getItem('chiral.channels.buyer') || '{\"channels\":{}}'); return Object.values(book.channels).map(c => c.signed_wei);").await?;
    Ok(v.as_array().context("book")?.iter().filter_map(|s| s.as_str()?.parse::<u128>().ok()).max().unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_pays_a_priced_page_through_one_channel_with_two_transactions() -> anyhow::Result<()> {
    let anvil = Anvil::start()?;
    let www = mixed_www()?;
    let relay = relay_with_channels(&anvil, www.path())?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("style2.bin");
    let size = 64 * MIB;
    write_test_file(&file, size, 41)?;

    let seller_page = Browser::start().await?;
    let seller = create_wallet(&seller_page, &relay).await?;
    set_price(&seller_page).await?;
    let shared = share_file(&seller_page, &relay, &file, Duration::from_secs(300)).await?;
    let seller_before = balance(&anvil, &seller)?;

    let buyer_page = Browser::start().await?;
    let buyer = create_wallet(&buyer_page, &relay).await?;
    let buyer_before = balance(&anvil, &buyer)?;
    js(&buyer_page, "location.hash = '#download'; return true;").await?;
    let started = Instant::now();
    start_download(&buyer_page, &shared.magnet).await?;
    let t = wait_for_transfer(&buyer_page, Some(&shared.infohash), Duration::from_secs(300)).await?;
    let secs = started.elapsed().as_secs_f64();
    assert_ne!(t.state, "error", "{}", t.error);
    assert_eq!(t.sha256, shared.cid, "the file arrived byte-exact");
    println!("Style 2 page → page, {size} bytes: {secs:.1} s ({:.1} MiB/s)", size as f64 / MIB as f64 / secs);
    // No Style 1 payment is planned on top: the seller was paid in-band.
    let plan_lines = js(&buyer_page, "return document.querySelectorAll('.transfer .plan-line').length;").await?;
    assert_eq!(plan_lines, json!(0), "a Style 1 plan was made for a Style 2 seller");

    let signed = signed_by_buyer(&buyer_page).await?;
    assert_eq!(signed, amount_wei(size), "the last voucher is exactly price × verified bytes");
    let (_, paid, tx) = close_channel(&seller_page, amount_wei(size)).await?;
    assert_eq!(paid, amount_wei(size));
    let (close_gas, close_cost) = gas_cost(&anvil, &tx)?;
    let seller_after = balance(&anvil, &seller)?;
    assert_eq!(seller_after + close_cost - seller_before, amount_wei(size), "the seller got exactly price × verified bytes");
    assert_eq!(tx_count(&anvil, &buyer)?, 1, "the buyer sent one transaction (the open)");
    assert_eq!(tx_count(&anvil, &seller)?, 1, "the seller sent one transaction (the close)");
    // The refund came back in the close: the buyer spent the amount and the open's gas, no more.
    let buyer_after = balance(&anvil, &buyer)?;
    let spent = buyer_before - buyer_after;
    assert!(spent >= amount_wei(size) && spent < amount_wei(size) + 10_000_000_000_000_000, "the buyer spent {spent}");
    println!("open + close for {} pieces: close gas {close_gas}", size / (256 * 1024));
    buyer_page.close().await?;
    seller_page.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_mid_download_resumes_the_same_channel_above_every_amount_signed() -> anyhow::Result<()> {
    let anvil = Anvil::start()?;
    let www = mixed_www()?;
    let relay = relay_with_channels(&anvil, www.path())?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("reloaded.bin");
    let size = 48 * MIB;
    write_test_file(&file, size, 42)?;

    let seller_page = Browser::start().await?;
    let seller = create_wallet(&seller_page, &relay).await?;
    set_price(&seller_page).await?;
    let shared = share_file(&seller_page, &relay, &file, Duration::from_secs(300)).await?;

    let buyer_page = Browser::start().await?;
    let buyer = create_wallet(&buyer_page, &relay).await?;
    js(&buyer_page, "location.hash = '#download'; return true;").await?;
    start_download(&buyer_page, &shared.magnet).await?;
    // Some vouchers out, then a reload (the wallet locks; the book's session key keeps paying).
    buyer_page
        .wait_for(&format!("const b = JSON.parse(localStorage.getItem('chiral.channels.buyer') || '{{\"channels\":{{}}}}'); return Object.values(b.channels).some(c => BigInt(c.signed_wei) > {}n) ? true : null;", amount_wei(8 * MIB)), Duration::from_secs(120))
        .await
        .context("no vouchers before the reload")?;
    let before_reload = signed_by_buyer(&buyer_page).await?;
    buyer_page.client.refresh().await?;
    let t = wait_for_transfer(&buyer_page, Some(&shared.infohash), Duration::from_secs(300)).await?;
    assert_eq!(t.sha256, shared.cid, "the file arrived byte-exact after the reload");
    let signed = signed_by_buyer(&buyer_page).await?;
    assert!(signed > before_reload, "the reloaded page kept paying on the channel");
    // Pieces verified but not yet stored when the page reloaded are fetched (and paid) again.
    assert!(signed >= amount_wei(size) && signed <= amount_wei(size + 8 * MIB), "paid {signed} for {size} bytes");
    let (_, paid, _) = close_channel(&seller_page, signed).await?;
    assert_eq!(paid, signed, "the seller holds the buyer's highest voucher");
    assert_eq!(tx_count(&anvil, &buyer)?, 1, "one channel across the reload");
    assert_eq!(tx_count(&anvil, &seller)?, 1);
    buyer_page.close().await?;
    seller_page.close().await
}

/// The seller vanishes without closing: once the channel's timeout has passed (anvil's clock
/// moved a day on), the buyer's Reclaim button brings the whole deposit back.
#[tokio::test(flavor = "multi_thread")]
async fn the_payer_reclaims_the_deposit_after_the_timeout_when_the_seller_vanished() -> anyhow::Result<()> {
    let anvil = Anvil::start()?;
    let www = mixed_www()?;
    let relay = relay_with_channels(&anvil, www.path())?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("vanished.bin");
    write_test_file(&file, 4 * MIB, 43)?;

    let seller_page = Browser::start().await?;
    create_wallet(&seller_page, &relay).await?;
    set_price(&seller_page).await?;
    let shared = share_file(&seller_page, &relay, &file, Duration::from_secs(120)).await?;
    let buyer_page = Browser::start().await?;
    let buyer = create_wallet(&buyer_page, &relay).await?;
    js(&buyer_page, "location.hash = '#download'; return true;").await?;
    start_download(&buyer_page, &shared.magnet).await?;
    let t = wait_for_transfer(&buyer_page, Some(&shared.infohash), Duration::from_secs(120)).await?;
    assert_eq!(t.sha256, shared.cid);
    seller_page.close().await?; // gone, its vouchers never redeemed

    unlock(&buyer_page).await?;
    let row = buyer_page
        .wait_for("const r = document.querySelector('#channels-out .channel-out'); return r ? [r.dataset.channel, r.dataset.deposit] : null;", Duration::from_secs(30))
        .await
        .context("the buyer's channel is not listed")?;
    let channel = row[0].as_str().context("channel")?.to_string();
    let deposit: u128 = row[1].as_str().context("deposit")?.parse()?;
    // Too early: the chain refuses and the page says why.
    click(&buyer_page, ".channel-out .channel-reclaim").await?;
    let early = buyer_page
        .wait_for("const s = document.querySelector('#channels-status'); return s && s.textContent.includes('failed') ? s.textContent : null;", Duration::from_secs(60))
        .await
        .context("an early reclaim was not refused")?;
    assert!(early.as_str().unwrap_or("").contains("after its timeout"), "{early}");
    // A day and a minute later on the chain's clock.
    json_rpc(&anvil.url, "evm_increaseTime", json!([86_460]))?;
    json_rpc(&anvil.url, "evm_mine", json!([]))?;
    let before = balance(&anvil, &buyer)?;
    click(&buyer_page, ".channel-out .channel-reclaim").await?;
    buyer_page
        .wait_for(&format!("const r = document.querySelector(\"#channels-out .channel-out[data-channel='{channel}']\"); return r && r.dataset.finished === 'true' ? true : null;"), Duration::from_secs(60))
        .await
        .context("the deposit was not reclaimed")?;
    let gained = balance(&anvil, &buyer)? - before;
    assert!(gained <= deposit && deposit - gained < 1_000_000_000_000_000, "reclaimed {gained} of a {deposit} deposit");
    assert_eq!(tx_count(&anvil, &buyer)?, 2, "open and reclaim");
    buyer_page.close().await
}

/// The browser wallet (EIP-1193): the channel's deposit is its one `eth_sendTransaction`
/// (one confirmation in MetaMask); every voucher after it is signed by the page's session
/// key, with no further wallet request.
#[tokio::test(flavor = "multi_thread")]
async fn a_browser_wallet_confirms_once_and_the_session_key_signs_every_voucher() -> anyhow::Result<()> {
    const ACCOUNT: &str = "0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc";
    let anvil = Anvil::start()?;
    let www = mixed_www()?;
    chiral_e2e::wallet_pages::page_with(www.path(), "with-wallet.html", &[("test-provider.js", chiral_e2e::wallet_pages::PROVIDER_JS)])?;
    let relay = relay_with_channels(&anvil, www.path())?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("metamask style 2.bin");
    let size = 6 * MIB + 123;
    write_test_file(&file, size, 44)?;

    let seller_page = Browser::start().await?;
    let seller = create_wallet(&seller_page, &relay).await?;
    set_price(&seller_page).await?;
    let shared = share_file(&seller_page, &relay, &file, Duration::from_secs(120)).await?;
    let seller_before = balance(&anvil, &seller)?;

    let b = Browser::start().await?;
    b.client.goto(&format!("{}/with-wallet.html?anvil={}#wallet", relay.url, anvil.url)).await?;
    b.wait_for("return document.querySelector('#connect-injected') ? true : null;", Duration::from_secs(60)).await.context("no browser wallet offered")?;
    click(&b, "#connect-injected").await?;
    b.wait_for("return document.querySelector('#injected-account') ? true : null;", Duration::from_secs(30)).await?;
    let before = tx_count(&anvil, ACCOUNT)?;
    js(&b, "location.hash = '#download'; return true;").await?;
    start_download(&b, &shared.magnet).await?;
    let t = wait_for_transfer(&b, Some(&shared.infohash), Duration::from_secs(120)).await?;
    assert_eq!(t.sha256, shared.cid);
    let calls = js(&b, "return window.__providerCalls.filter(m => m === 'eth_sendTransaction').length;").await?;
    assert_eq!(calls, json!(1), "the wallet was asked more than once");
    assert_eq!(tx_count(&anvil, ACCOUNT)? - before, 1, "one transaction: the deposit");
    let (_, paid, tx) = close_channel(&seller_page, amount_wei(size)).await?;
    assert_eq!(paid, amount_wei(size));
    let (_, close_cost) = gas_cost(&anvil, &tx)?;
    assert_eq!(balance(&anvil, &seller)? + close_cost - seller_before, amount_wei(size));
    b.close().await?;
    seller_page.close().await
}
