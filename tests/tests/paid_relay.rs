//! Style 2 with real processes on anvil (chain 98765): the relay sells its own file
//! (`relay seed --price-per-mb --payee-key`), `relay fetch --pay-key` buys it through one
//! channel (the chain sees two transactions: open, close), the payee's balance rises by
//! exactly price × bytes (less the gas of closing); aria2 gets nothing from the priced file
//! and curl gets 402 with the terms, while a free relay's file is served as before.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use chiral_e2e::anvil::Anvil;
use chiral_e2e::{json_rpc, relay_bin, relay_manifest, sha256_file, workspace_root, write_test_file, Relay};

/// anvil's well-known dev accounts (mnemonic "test test … junk"): #1 sells, #2 buys.
const SELLER_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const SELLER: &str = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const BUYER_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const BUYER: &str = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc";
/// 0.0001 ETH per MB.
const PRICE_ETH: &str = "0.0001";
const PRICE_WEI: u128 = 100_000_000_000_000;

fn hex_u128(v: &serde_json::Value) -> u128 {
    u128::from_str_radix(v.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16).unwrap_or(0)
}

fn balance(anvil: &Anvil, who: &str) -> anyhow::Result<u128> {
    Ok(hex_u128(&json_rpc(&anvil.url, "eth_getBalance", serde_json::json!([who, "latest"]))?["result"]))
}

fn nonce(anvil: &Anvil, who: &str) -> anyhow::Result<u128> {
    Ok(hex_u128(&json_rpc(&anvil.url, "eth_getTransactionCount", serde_json::json!([who, "latest"]))?["result"]))
}

fn key_file(dir: &Path, name: &str, key: &str) -> anyhow::Result<std::path::PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, key)?;
    Ok(path)
}

/// `curl URL`: (status, body).
fn curl(url: &str) -> anyhow::Result<(u16, String)> {
    let out = Command::new("curl").args(["-sS", "-w", "\n%{http_code}", url]).output()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, status) = text.rsplit_once('\n').context("curl printed no status")?;
    Ok((status.trim().parse()?, body.to_string()))
}

fn amount_wei(bytes: u64) -> u128 {
    (u128::from(bytes) * PRICE_WEI).div_ceil(1_000_000)
}

#[test]
fn a_paying_fetch_buys_a_priced_file_with_two_transactions_and_others_get_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let anvil = Anvil::start()?;
    let contract = chiral_e2e::anvil::deploy_channels(&anvil)?;
    assert_eq!(contract.to_lowercase(), web_node::pay::contract::DEV_CHANNELS_ADDRESS.to_lowercase());

    let size: u64 = 24 * 1024 * 1024 + 4_321;
    let file = dir.path().join("priced.bin");
    write_test_file(&file, size, 91)?;
    let m = relay_manifest(&file, &[])?;
    let cid = m["cid"].as_str().unwrap().to_string();
    let seller_key = key_file(dir.path(), "seller.key", SELLER_KEY)?;
    let www = workspace_root().join("www");
    let relay = Relay::start_with(
        &www,
        None,
        &["seed", file.to_str().unwrap(), "--eth-rpc", &anvil.url, "--price-per-mb", PRICE_ETH, "--payee-key", seller_key.to_str().unwrap(), "--close-idle", "2", "--credit-kib", "1024"],
    )?;
    let bt = relay.wait_for_line("bittorrent listening on ", Duration::from_secs(30))?;
    let magnet = format!("magnet:?xt=urn:btih:{}&dn=priced.bin&x.pe={}", m["infohash"].as_str().unwrap(), bt.replace(':', "%3A"));

    // Plain HTTP (curl): 402 with the terms, for the whole file and for a chunk.
    for path in [format!("/file/{cid}"), format!("/file/{cid}/chunk/0")] {
        let (status, body) = curl(&format!("{}{path}", relay.url))?;
        assert_eq!(status, 402, "{path}: {body}");
        let terms: serde_json::Value = serde_json::from_str(&body)?;
        assert_eq!(terms["price_per_mb_wei"], PRICE_WEI.to_string());
        assert_eq!(terms["payee"], SELLER);
        assert_eq!(terms["chain_id"], 98765);
    }

    // aria2 (no chiral_pay) is never unchoked: nothing arrives before it gives up.
    let aria_dir = dir.path().join("aria2");
    let aria = Command::new("aria2c")
        .args(["--seed-time=0", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false"])
        .args(["--bt-stop-timeout=15", "--summary-interval=0", "--console-log-level=warn", "--bt-save-metadata=false", "--interface=127.0.0.1"])
        .arg("-d")
        .arg(&aria_dir)
        .arg(&magnet)
        .output()?;
    assert!(!aria.status.success(), "aria2 claims to have the priced file");
    let got = std::fs::metadata(aria_dir.join("priced.bin")).map(|m| m.len()).unwrap_or(0);
    let complete = got == size && sha256_file(&aria_dir.join("priced.bin")).is_ok_and(|h| h == cid);
    assert!(!complete, "aria2 got the priced file");

    // relay fetch --pay-key: one channel, vouchers in-band, the file byte-exact.
    let seller_before = balance(&anvil, SELLER)?;
    let buyer_key = key_file(dir.path(), "buyer.key", BUYER_KEY)?;
    let out = dir.path().join("bought.bin");
    let started = Instant::now();
    let fetch = Command::new(relay_bin())
        .args(["fetch", &magnet, "--no-dht", "--bt-listen", "127.0.0.1:0", "--timeout", "300", "--eth-rpc", &anvil.url, "--pay-key"])
        .arg(&buyer_key)
        .arg("-o")
        .arg(&out)
        .output()?;
    let log = String::from_utf8_lossy(&fetch.stdout).to_string() + &String::from_utf8_lossy(&fetch.stderr);
    assert!(fetch.status.success(), "paid fetch failed:\n{log}");
    eprintln!("paid fetch of {size} bytes: {:.2} s\n{log}", started.elapsed().as_secs_f64());
    assert_eq!(sha256_file(&out)?, cid);
    assert!(log.contains("opened channel 0x"), "{log}");

    // The relay closes the idle channel with the highest voucher: exactly price × bytes.
    let closed = relay.wait_for_line("closed channel ", Duration::from_secs(60))?;
    let tx = closed.split(" in ").nth(1).and_then(|s| s.split_whitespace().next()).context("no tx hash")?.to_string();
    let receipt = json_rpc(&anvil.url, "eth_getTransactionReceipt", serde_json::json!([tx]))?["result"].clone();
    let close_gas = hex_u128(&receipt["gasUsed"]) * hex_u128(&receipt["effectiveGasPrice"]);
    let seller_after = balance(&anvil, SELLER)?;
    assert_eq!(seller_after + close_gas - seller_before, amount_wei(size), "the seller got exactly price × verified bytes");
    eprintln!("open + close: payer nonce {}, payee nonce {}, close gas {}", nonce(&anvil, BUYER)?, nonce(&anvil, SELLER)?, hex_u128(&receipt["gasUsed"]));
    // Two transactions for the whole download, whatever the chunk count: open (payer), close (payee).
    assert_eq!(nonce(&anvil, BUYER)?, 1, "the payer sent only the open");
    assert_eq!(nonce(&anvil, SELLER)?, 1, "the payee sent only the close");

    // A second fetch reuses nothing it should not: the channel is closed, so a new one opens.
    // (Not asserted on count; the book must not sign on a closed channel: the seller refuses it.)

    // A free relay serves its file as before (HTTP 200, same bytes).
    let free = dir.path().join("free.bin");
    write_test_file(&free, 300_000, 92)?;
    let fm = relay_manifest(&free, &[])?;
    let free_relay = Relay::start_with(&www, None, &["seed", free.to_str().unwrap()])?;
    let got = dir.path().join("free.got");
    let out = Command::new("curl").args(["-sS", "-f", "-o"]).arg(&got).arg(format!("{}/file/{}", free_relay.url, fm["cid"].as_str().unwrap())).output()?;
    assert!(out.status.success(), "curl: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sha256_file(&got)?, fm["cid"].as_str().unwrap());
    Ok(())
}

/// A buyer that stops paying, against the real relay over TCP: a channel opened on anvil,
/// then web-node's own swarm as the buyer, signing vouchers for its first three pieces only.
/// The relay sends at most the credit window beyond what was paid, then nothing.
#[test]
fn a_buyer_that_stops_paying_gets_at_most_the_credit_window_more_then_nothing() -> anyhow::Result<()> {
    use std::io::{Read, Write};

    use alloy_primitives::{Address, B256, U256};
    use alloy_signer_local::PrivateKeySigner;
    use web_node::pay::contract;
    use web_node::swarm::{Event, Output, PeerKey, Swarm, SwarmConfig};

    const CREDIT: u64 = 1024 * 1024;
    let dir = tempfile::tempdir()?;
    let anvil = Anvil::start()?;
    let contract_address = chiral_e2e::anvil::deploy_channels(&anvil)?;
    let size: u64 = 16 * 1024 * 1024;
    let file = dir.path().join("unpaid.bin");
    write_test_file(&file, size, 93)?;
    let m = relay_manifest(&file, &[])?;
    let seller_key = key_file(dir.path(), "seller.key", SELLER_KEY)?;
    let relay = Relay::start_with(
        &workspace_root().join("www"),
        None,
        &["seed", file.to_str().unwrap(), "--eth-rpc", &anvil.url, "--price-per-mb", PRICE_ETH, "--payee-key", seller_key.to_str().unwrap(), "--credit-kib", "1024"],
    )?;
    let bt = relay.wait_for_line("bittorrent listening on ", Duration::from_secs(30))?;

    // The channel: anvil's dev account #3 (unlocked) deposits for the whole file.
    let payer = "0x90f79bf6eb2c4f870365e785982e1f101e93b906";
    let session = PrivateKeySigner::from_bytes(&B256::from([0x42; 32]))?;
    let open = contract::open_calldata(SELLER.parse()?, session.address(), 86_400);
    let tx = json_rpc(
        &anvil.url,
        "eth_sendTransaction",
        serde_json::json!([{ "from": payer, "to": contract_address, "value": format!("{:#x}", amount_wei(size)), "data": format!("0x{}", hex::encode(open)), "gas": "0x100000" }]),
    )?;
    let mut receipt = serde_json::Value::Null;
    for _ in 0..100 {
        receipt = json_rpc(&anvil.url, "eth_getTransactionReceipt", serde_json::json!([tx["result"]]))?["result"].clone();
        if !receipt.is_null() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let channel: [u8; 32] = hex::decode(receipt["logs"][0]["topics"][1].as_str().with_context(|| format!("no ChannelOpened: {tx} {receipt}"))?.trim_start_matches("0x"))?.try_into().map_err(|_| anyhow::anyhow!("topic"))?;

    let infohash: [u8; 20] = hex::decode(m["infohash"].as_str().unwrap())?.try_into().map_err(|_| anyhow::anyhow!("infohash"))?;
    let mut config = SwarmConfig::new(infohash, *b"-XX0001-stopspaying0");
    config.buy = true;
    let mut swarm = Swarm::magnet(config);
    let mut sock = std::net::TcpStream::connect(&bt)?;
    sock.set_read_timeout(Some(Duration::from_millis(50)))?;
    let epoch = Instant::now();
    let now = || epoch.elapsed().as_millis() as u64;
    let peer = PeerKey(1);
    swarm.handle_connected(peer, true, now());
    let (mut vouchers, mut paid, mut last_progress, mut last_bytes) = (0, 0u128, Instant::now(), 0u64);
    let mut buf = vec![0u8; 1 << 16];
    while last_progress.elapsed() < Duration::from_secs(8) && epoch.elapsed() < Duration::from_secs(120) {
        while let Some(out) = swarm.poll_output() {
            match out {
                Output::Transmit { data, .. } => sock.write_all(&data)?,
                Output::Event(Event::ChannelNeeded { peer, .. }) => swarm.handle_channel_ready(peer, channel, 0, now()),
                Output::Event(Event::VoucherDue { peer, channel, amount_wei, terms }) if vouchers < 3 => {
                    let sig = contract::sign_voucher(&session, terms.chain_id, Address::from(terms.contract), B256::from(channel), U256::from(amount_wei));
                    swarm.send_voucher(peer, channel, amount_wei, sig, now());
                    vouchers += 1;
                    paid = amount_wei;
                }
                _ => {}
            }
        }
        match sock.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => swarm.handle_data(peer, &buf[..n], now()),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => return Err(e.into()),
        }
        swarm.handle_timeout(now());
        let got = swarm.downloaded_bytes + swarm.wasted_bytes;
        if got != last_bytes {
            last_bytes = got;
            last_progress = Instant::now();
        }
    }
    let paid_bytes = (paid * 1_000_000 / PRICE_WEI) as u64;
    let got = swarm.downloaded_bytes + swarm.wasted_bytes;
    eprintln!("paid {paid} wei ({paid_bytes} bytes) in {vouchers} vouchers, received {got} bytes");
    assert_eq!(vouchers, 3);
    assert!(!swarm.is_complete(), "a buyer that stopped paying got the whole file");
    assert!(got > paid_bytes, "the credit window was not used");
    assert!(got <= paid_bytes + CREDIT, "received {got} bytes with {paid_bytes} paid and a {CREDIT}-byte window");
    Ok(())
}
