//! Payment benchmark: what paying costs on chain and in transfer time, Style 1 (one payment
//! transaction per seeder after the download) beside Style 2 (a channel per seeder: open,
//! vouchers in-band, close), for files of several sizes from 1 and from 3 priced seeders.
//! Everything real: anvil (chain 98765) behind one relay's `/rpc`, our page in headless
//! Chromium for every seeder and the downloader, built-in wallets funded by the dev faucet.
//! Prints a markdown table: transactions, gas, download seconds and MB/s per run.
//!
//! Usage: bench-pay [SIZE_MIB…]   (default 1 10 100; scripts/bench-pay.sh builds and runs it)

use std::time::{Duration, Instant};

use anyhow::Context;
use chiral_e2e::wallet_pages::{click, create_wallet, js, set_price, unlock};
use chiral_e2e::{json_rpc, mixed_www, share_file, start_download, wait_for_transfer, write_test_file, Anvil, Browser, Relay};
use serde_json::json;

struct Row {
    mib: u64,
    seeders: usize,
    style: u8,
    txs: u64,
    gas: u64,
    seconds: f64,
}

fn hex(v: &serde_json::Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16).unwrap_or(0)
}

/// Transactions sent by `wallets` from block `from` on, and their gas.
fn chain_cost(anvil: &Anvil, from: u64, wallets: &[String]) -> anyhow::Result<(u64, u64)> {
    let latest = hex(&json_rpc(&anvil.url, "eth_blockNumber", json!([]))?["result"]);
    let (mut txs, mut gas) = (0, 0);
    for n in from..=latest {
        let block = json_rpc(&anvil.url, "eth_getBlockByNumber", json!([format!("{n:#x}"), true]))?["result"].clone();
        for tx in block["transactions"].as_array().cloned().unwrap_or_default() {
            let sender = tx["from"].as_str().unwrap_or_default().to_lowercase();
            if wallets.iter().any(|w| *w == sender) {
                let r = json_rpc(&anvil.url, "eth_getTransactionReceipt", json!([tx["hash"]]))?["result"].clone();
                txs += 1;
                gas += hex(&r["gasUsed"]);
            }
        }
    }
    Ok((txs, gas))
}

async fn set_style(b: &Browser, style: u8) -> anyhow::Result<()> {
    js(b, &format!("localStorage.setItem('chiral.channels.enabled', '{}'); return true;", style == 2)).await?;
    Ok(())
}

async fn run(anvil: &Anvil, relay: &Relay, file: &std::path::Path, mib: u64, seeders: usize, style: u8) -> anyhow::Result<Row> {
    let timeout = Duration::from_secs(300 + mib * 4);
    let start_block = hex(&json_rpc(&anvil.url, "eth_blockNumber", json!([]))?["result"]) + 1;
    let mut pages = Vec::new();
    let mut wallets = Vec::new();
    let mut shared = None;
    for _ in 0..seeders {
        let b = Browser::start().await?;
        wallets.push(create_wallet(&b, relay).await?);
        set_style(&b, style).await?;
        set_price(&b).await?;
        shared = Some(share_file(&b, relay, file, timeout).await?);
        pages.push(b);
    }
    let shared = shared.context("no seeder")?;
    let buyer = Browser::start().await?;
    wallets.push(create_wallet(&buyer, relay).await?);
    set_style(&buyer, style).await?;
    // Not open_download: a reload would lock the wallet that opens the channels.
    js(&buyer, "location.hash = '#download'; return true;").await?;
    buyer.wait_for("return document.querySelector('#download-input') ? true : null;", Duration::from_secs(30)).await?;
    let started = Instant::now();
    start_download(&buyer, &shared.magnet).await?;
    let t = wait_for_transfer(&buyer, Some(&shared.infohash), timeout).await?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(t.sha256 == shared.cid, "the download is not the file: {}", t.error);
    if style == 1 {
        buyer.wait_for("return document.querySelector('.transfer button.pay') ? true : null;", Duration::from_secs(60)).await.context("no Style 1 payment plan")?;
        click(&buyer, ".transfer button.pay").await?;
        buyer
            .wait_for("const e = document.querySelector('.transfer .payment-box'); return e && e.dataset.paid === 'paid' ? true : null;", Duration::from_secs(180))
            .await
            .context("Style 1 payment not confirmed")?;
    } else {
        for b in &pages {
            unlock(b).await?;
            let ids = b
                .wait_for("const r = [...document.querySelectorAll('#channels-in .channel-in')].filter(r => BigInt(r.dataset.paid) > 0n && !r.dataset.closed); return r.length ? r.map(x => x.dataset.channel) : (document.querySelector('#channels-in') ? [] : null);", Duration::from_secs(30))
                .await?;
            for id in ids.as_array().cloned().unwrap_or_default() {
                let id = id.as_str().unwrap_or_default().to_string();
                click(b, &format!("#channels-in .channel-in[data-channel=\"{id}\"] .channel-close")).await?;
                b.wait_for(&format!("const r = document.querySelector(\"#channels-in .channel-in[data-channel='{id}']\"); return r && r.dataset.closed ? true : null;"), Duration::from_secs(60))
                    .await
                    .context("the channel was not closed")?;
            }
        }
    }
    let (txs, gas) = chain_cost(anvil, start_block, &wallets)?;
    buyer.close().await?;
    for b in pages {
        b.close().await?;
    }
    Ok(Row { mib, seeders, style, txs, gas, seconds })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sizes: Vec<u64> = std::env::args().skip(1).map(|s| s.parse()).collect::<Result<_, _>>().context("SIZE_MIB")?;
    let sizes = if sizes.is_empty() { vec![1, 10, 100] } else { sizes };
    let anvil = Anvil::start()?;
    chiral_e2e::anvil::deploy_channels(&anvil)?;
    let www = mixed_www()?;
    let relay = Relay::start_with(www.path(), None, &["--eth-rpc", &anvil.url, "--dev-faucet"])?;
    let dir = tempfile::tempdir()?;
    let mut rows = Vec::new();
    for &mib in &sizes {
        for seeders in [1, 3] {
            for style in [1u8, 2] {
                // A file of its own per run: what an earlier run's downloader left seeding for
                // free (or in the relay bridge's cache) must not serve this one.
                let file = dir.path().join(format!("pay-{mib}MiB-{seeders}-{style}.bin"));
                write_test_file(&file, mib * 1024 * 1024, 0x5A1E + (mib as u32) * 16 + (seeders as u32) * 4 + u32::from(style))?;
                eprintln!("{mib} MiB, {seeders} seeder(s), Style {style}…");
                let row = run(&anvil, &relay, &file, mib, seeders, style).await?;
                eprintln!("  {} txs, {} gas, {:.1} s", row.txs, row.gas, row.seconds);
                rows.push(row);
                std::fs::remove_file(&file)?;
            }
        }
    }
    println!("| file | seeders | style | transactions | gas | download s | MB/s | gas vs Style 1 | time vs Style 1 |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let base = rows.iter().find(|b| b.mib == r.mib && b.seeders == r.seeders && b.style == 1).context("a Style 1 row")?;
        let mbps = (r.mib * 1024 * 1024) as f64 / 1e6 / r.seconds;
        println!(
            "| {} MiB | {} | {} | {} | {} | {:.1} | {:.1} | {:.2} | {:.2} |",
            r.mib,
            r.seeders,
            r.style,
            r.txs,
            r.gas,
            r.seconds,
            mbps,
            r.gas as f64 / base.gas.max(1) as f64,
            r.seconds / base.seconds
        );
    }
    Ok(())
}
