//! The relay's guarded JSON-RPC proxy in front of a real chain node (anvil, chain 98765):
//! wallet methods pass, everything else is refused by name, abuse is bounded, the dev
//! faucet funds a wallet on chain, and a down chain node is reported clearly.

use chiral_e2e::{http_post_json, json_rpc, workspace_root, Anvil, Relay};
use serde_json::{json, Value};

fn start(anvil: &Anvil, extra: &[&str]) -> anyhow::Result<Relay> {
    let mut args = vec!["--eth-rpc", anvil.url.as_str()];
    args.extend_from_slice(extra);
    Relay::start_with(&workspace_root().join("www"), None, &args)
}

#[test]
fn wallet_methods_pass_and_everything_else_is_refused() -> anyhow::Result<()> {
    let anvil = Anvil::start()?;
    let relay = start(&anvil, &[])?;
    let rpc = format!("{}/rpc", relay.url);
    assert_eq!(json_rpc(&rpc, "eth_chainId", json!([]))?["result"], "0x181cd", "chain 98765 through the proxy");
    let balance = json_rpc(&rpc, "eth_getBalance", json!(["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "latest"]))?;
    assert!(balance["result"].as_str().is_some_and(|b| b.starts_with("0x")), "{balance}");
    for method in ["admin_nodeInfo", "personal_listAccounts", "personal_unlockAccount", "miner_start", "debug_traceTransaction",
                   "eth_sign", "eth_sendTransaction", "eth_accounts", "anvil_setBalance", "evm_mine", "txpool_content"] {
        let answer = json_rpc(&rpc, method, json!([]))?;
        assert_eq!(answer["error"]["code"], -32601, "{method} got through: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap_or("").contains(method));
    }
    // Batches: fine when every call is allowed, refused whole otherwise, bounded in size.
    let ok_batch = json!([{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":2,"method":"eth_blockNumber"}]);
    let (_, text) = http_post_json(&rpc, &ok_batch.to_string())?;
    let answers: Vec<Value> = serde_json::from_str(&text)?;
    assert!(answers.iter().all(|a| a.get("result").is_some()), "{text}");
    let sneaky = json!([{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":2,"method":"eth_sendTransaction","params":[{}]}]);
    let (_, text) = http_post_json(&rpc, &sneaky.to_string())?;
    let answers: Vec<Value> = serde_json::from_str(&text)?;
    assert!(answers.iter().all(|a| a.get("error").is_some()), "a batch hid a refused call: {text}");
    let huge: Vec<Value> = (0..21).map(|i| json!({"jsonrpc":"2.0","id":i,"method":"eth_chainId"})).collect();
    let (_, text) = http_post_json(&rpc, &Value::Array(huge).to_string())?;
    assert!(text.contains("at most 20"), "{text}");
    let (status, text) = http_post_json(&rpc, &format!(r#"{{"jsonrpc":"2.0","id":1,"method":"eth_call","params":["{}"]}}"#, "a".repeat(300_000)))?;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("-32005"), "{text}");
    let (_, text) = http_post_json(&rpc, "{not json")?;
    assert!(text.contains("-32700"), "{text}");
    Ok(())
}

#[test]
fn one_client_is_rate_limited() -> anyhow::Result<()> {
    let anvil = Anvil::start()?;
    let relay = start(&anvil, &[])?;
    let rpc = format!("{}/rpc", relay.url);
    let batch: Vec<Value> = (0..20).map(|i| json!({"jsonrpc":"2.0","id":i,"method":"eth_chainId"})).collect();
    let body = Value::Array(batch).to_string();
    let statuses: Vec<u16> = (0..10).map(|_| http_post_json(&rpc, &body).map(|(s, _)| s)).collect::<Result<_, _>>()?;
    assert_eq!(statuses[0], 200);
    assert!(statuses.contains(&429), "200 calls in a burst were never limited: {statuses:?}");
    Ok(())
}

#[test]
fn the_dev_faucet_funds_a_new_wallet_on_chain() -> anyhow::Result<()> {
    let anvil = Anvil::start()?;
    let relay = start(&anvil, &["--dev-faucet"])?;
    let address = "0x1111111111111111111111111111111111111111";
    let (status, text) = http_post_json(&format!("{}/api/faucet", relay.url), &json!({ "address": address }).to_string())?;
    assert_eq!(status, 200, "{text}");
    let balance = json_rpc(&format!("{}/rpc", relay.url), "eth_getBalance", json!([address, "latest"]))?;
    assert_eq!(balance["result"], "0x8ac7230489e80000", "10 ETH arrived: {balance}");
    let (status, _) = http_post_json(&format!("{}/api/faucet", relay.url), &json!({ "address": address }).to_string())?;
    assert_eq!(status, 429, "the same address twice in a row");
    let (status, _) = http_post_json(&format!("{}/api/faucet", relay.url), r#"{"address":"nope"}"#)?;
    assert_eq!(status, 400);

    // Without --dev-faucet there is none.
    let plain = start(&anvil, &[])?;
    let (status, _) = http_post_json(&format!("{}/api/faucet", plain.url), &json!({ "address": address }).to_string())?;
    assert_eq!(status, 404);
    Ok(())
}

#[test]
fn a_down_chain_node_is_reported_clearly() -> anyhow::Result<()> {
    let anvil = Anvil::start()?;
    let relay = start(&anvil, &[])?;
    drop(anvil);
    let (status, text) = http_post_json(&format!("{}/rpc", relay.url), r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}"#)?;
    assert_eq!(status, 502, "{text}");
    let v: Value = serde_json::from_str(&text)?;
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("unreachable"), "{message}");
    Ok(())
}
