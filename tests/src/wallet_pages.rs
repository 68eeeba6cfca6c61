//! Driving the app's Wallet view and payments from tests: built-in wallets funded by the
//! relay's dev faucet, a seeder's price, the payment plan a finished download shows, and
//! the chain's view of balances and nonces (straight from anvil).

use std::time::Duration;

use anyhow::Context;
use fantoccini::Locator;
use serde_json::{json, Value};

use crate::{json_rpc, Anvil, Browser, Relay};

/// The passphrase every test wallet is made with.
pub const PASS: &str = "correct horse battery";
/// The price test seeders ask: 0.001 ETH per MB ...
pub const PRICE_ETH: &str = "0.001";
/// ... in wei.
pub const PRICE_WEI: u128 = 1_000_000_000_000_000;

/// Runs `code` (a function body) in the page.
pub async fn js(b: &Browser, code: &str) -> anyhow::Result<Value> {
    Ok(b.client.execute(code, vec![]).await?)
}

/// Clicks the first element matching `css` (from script, so hidden scroll positions do not matter).
pub async fn click(b: &Browser, css: &str) -> anyhow::Result<()> {
    js(b, &format!("document.querySelector('{css}').click(); return true;")).await?;
    Ok(())
}

/// Opens the Wallet view and waits for it.
pub async fn go_wallet(b: &Browser) -> anyhow::Result<()> {
    js(b, "location.hash = '#wallet'; return true;").await?;
    b.wait_for("return document.querySelector('#wallet-view') ? true : null;", Duration::from_secs(30)).await?;
    Ok(())
}

/// Opens the app, creates a built-in wallet (the dev faucet funds it) and returns its address.
pub async fn create_wallet(b: &Browser, relay: &Relay) -> anyhow::Result<String> {
    b.client.goto(&relay.url).await?;
    b.wait_for("return document.querySelector('#file-input') ? true : null;", Duration::from_secs(60)).await?;
    go_wallet(b).await?;
    b.client.find(Locator::Css("#wallet-passphrase")).await?.send_keys(PASS).await?;
    click(b, "#wallet-create").await?;
    b.wait_for("return document.querySelector('#wallet-unlocked') ? true : null;", Duration::from_secs(60)).await.context("the wallet was not created")?;
    let address = js(b, "return document.querySelector('#wallet-address').textContent.trim();").await?;
    let address = address.as_str().context("address")?.to_lowercase();
    b.wait_for("const e = document.querySelector('#wallet-balance'); return e && e.dataset.wei && BigInt(e.dataset.wei) > 0n ? true : null;", Duration::from_secs(30))
        .await
        .context("the dev faucet did not fund the new wallet")?;
    Ok(address)
}

/// Sets the page's price to [`PRICE_ETH`] per MB.
pub async fn set_price(b: &Browser) -> anyhow::Result<()> {
    go_wallet(b).await?;
    let input = b.client.find(Locator::Css("#price-per-mb")).await?;
    input.clear().await?;
    input.send_keys(PRICE_ETH).await?;
    click(b, "#price-save").await?;
    b.wait_for(&format!("const e = document.querySelector('#price-current'); return e && e.dataset.wei === '{PRICE_WEI}' ? true : null;"), Duration::from_secs(10))
        .await
        .context("the price was not set")?;
    Ok(())
}

/// The plan lines the page shows for a finished transfer: (to, amount in wei).
pub async fn plan(b: &Browser) -> anyhow::Result<Vec<(String, u128)>> {
    let lines = b
        .wait_for(
            "const rows = [...document.querySelectorAll('.transfer .plan-line')]; \
             return rows.length ? rows.map(r => [r.dataset.to, r.dataset.amountWei]) : null;",
            Duration::from_secs(60),
        )
        .await
        .context("no payment plan was shown")?;
    lines
        .as_array()
        .context("plan")?
        .iter()
        .map(|l| Ok((l[0].as_str().context("to")?.to_lowercase(), l[1].as_str().context("amount")?.parse()?)))
        .collect()
}

/// An account's balance on the chain, in wei.
pub fn balance(anvil: &Anvil, address: &str) -> anyhow::Result<u128> {
    let v = json_rpc(&anvil.url, "eth_getBalance", json!([address, "latest"]))?;
    let hex = v["result"].as_str().with_context(|| format!("no balance: {v}"))?;
    Ok(u128::from_str_radix(hex.trim_start_matches("0x"), 16)?)
}

/// An account's mined transaction count (its next nonce).
pub fn tx_count(anvil: &Anvil, address: &str) -> anyhow::Result<u64> {
    let v = json_rpc(&anvil.url, "eth_getTransactionCount", json!([address, "latest"]))?;
    Ok(u64::from_str_radix(v["result"].as_str().with_context(|| format!("no nonce: {v}"))?.trim_start_matches("0x"), 16)?)
}

/// Unlocks the built-in wallet with [`PASS`] (after a reload), in the Wallet view.
pub async fn unlock(b: &Browser) -> anyhow::Result<()> {
    go_wallet(b).await?;
    b.wait_for("return document.querySelector('#wallet-unlock-passphrase') || document.querySelector('#wallet-unlocked') ? true : null;", Duration::from_secs(30)).await?;
    if js(b, "return !!document.querySelector('#wallet-unlocked');").await? == json!(true) {
        return Ok(());
    }
    b.client.find(Locator::Css("#wallet-unlock-passphrase")).await?.send_keys(PASS).await?;
    click(b, "#wallet-unlock").await?;
    b.wait_for("return document.querySelector('#wallet-unlocked') ? true : null;", Duration::from_secs(60)).await.context("unlock failed")?;
    Ok(())
}

/// The provider a browser wallet injects, backed by anvil's JSON-RPC and one of its
/// unlocked accounts; it starts on another chain so the page must add and switch.
pub const PROVIDER_JS: &str = r#"
(() => {
  const anvil = new URLSearchParams(location.search).get('anvil');
  const account = '0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc';
  let chain = '0x1', added = false;
  window.__providerCalls = [];
  const rpc = async (method, params) => {
    const r = await fetch(anvil, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: params || [] }) });
    const v = await r.json();
    if (v.error) throw Object.assign(new Error(v.error.message), { code: v.error.code });
    return v.result;
  };
  window.ethereum = { isMetaMask: false, request: async ({ method, params }) => {
    window.__providerCalls.push(method);
    switch (method) {
      case 'eth_requestAccounts': case 'eth_accounts': return [account];
      case 'eth_chainId': return chain;
      case 'wallet_addEthereumChain': added = params[0].chainId === '0x181cd' && params[0].rpcUrls.length > 0; return null;
      case 'wallet_switchEthereumChain':
        if (!added && params[0].chainId !== '0x1') throw Object.assign(new Error('Unrecognized chain ID'), { code: 4902 });
        chain = params[0].chainId; return null;
      case 'eth_sendTransaction': {
        const tx = Object.assign({}, params[0]); delete tx.chainId;
        if (chain !== '0x181cd') throw new Error('wrong chain');
        return rpc('eth_sendTransaction', [tx]);
      }
      default: return rpc(method, params);
    }
  } };
})();
"#;

/// A copy of the app's index.html that loads `scripts` before the app starts.
pub fn page_with(www: &std::path::Path, name: &str, scripts: &[(&str, &str)]) -> anyhow::Result<()> {
    let index = std::fs::read_to_string(www.join("index.html"))?;
    let mut tags = String::new();
    for (file, body) in scripts {
        std::fs::write(www.join(file), body)?;
        tags.push_str(&format!("<script src=\"/{file}\"></script>"));
    }
    std::fs::write(www.join(name), index.replacen("<body>", &format!("<body>{tags}"), 1))?;
    Ok(())
}
