//! `relay channels-deploy`: puts the `ChiralChannels` contract (`contracts/ChiralChannels.sol`,
//! compiled into `contracts/ChiralChannels.json` and embedded here) on a chain.
//!
//! Idempotent for a fresh deploy key: the contract the key created with its first transaction
//! (nonce 0) is found again and reported, so the run command can call this on every start. On
//! the dev chain that key is anvil's dev account #9, which makes the address
//! [`web_node::pay::contract::DEV_CHANNELS_ADDRESS`]. Otherwise one EIP-1559 create transaction
//! is signed with the key, sent with `eth_sendRawTransaction`, and its receipt awaited; the code
//! then at the address must be the artifact's `deployedBytecode`.

use std::time::{Duration, Instant};

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use anyhow::{bail, ensure, Context};
use serde_json::{json, Value};
use web_node::pay::contract::create_address;

use crate::config::ChannelsDeployArgs;
use crate::rpc_proxy::RpcProxy;

/// The compiled contract: `{"compiler", "abi", "bytecode", "deployedBytecode"}`.
const ARTIFACT: &str = include_str!("../../contracts/ChiralChannels.json");
/// Tip offered when the node has no opinion (`eth_maxPriorityFeePerGas` unsupported): 1 gwei.
const DEFAULT_TIP: u128 = 1_000_000_000;

/// The creation and runtime code of the embedded artifact.
pub fn artifact_code() -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let artifact: Value = serde_json::from_str(ARTIFACT).context("contracts/ChiralChannels.json is not JSON")?;
    let code = |field: &str| -> anyhow::Result<Vec<u8>> {
        let text = artifact[field].as_str().with_context(|| format!("the artifact has no {field}"))?;
        hex::decode(text.trim_start_matches("0x")).with_context(|| format!("the artifact's {field} is not hex"))
    };
    Ok((code("bytecode")?, code("deployedBytecode")?))
}

/// What a deploy found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    pub address: Address,
    /// False when the key's nonce-0 contract was already there.
    pub created: bool,
    pub gas_used: Option<u64>,
}

/// Deploys (or finds) the contract; prints nothing.
pub async fn deploy(args: &ChannelsDeployArgs) -> anyhow::Result<Deployed> {
    let key_text = std::fs::read_to_string(&args.key_file).with_context(|| format!("cannot read the key file {}", args.key_file.display()))?;
    let key = web_node::wallet::parse_private_key(&key_text).map_err(|e| anyhow::anyhow!("the key file {}: {e}", args.key_file.display()))?;
    let signer = PrivateKeySigner::from_bytes(&B256::from(key)).context("the key file does not hold a valid secp256k1 key")?;
    let from = signer.address();
    let (creation, runtime) = artifact_code()?;
    let rpc = RpcProxy::new(args.eth_rpc.clone(), false)?;

    let chain_id = quantity(&rpc.call("eth_chainId", json!([])).await?).context("eth_chainId")?;
    let first = create_address(from, 0);
    if code_at(&rpc, first).await? == runtime {
        return Ok(Deployed { address: first, created: false, gas_used: None });
    }

    let nonce = quantity(&rpc.call("eth_getTransactionCount", json!([from, "pending"])).await?).context("eth_getTransactionCount")?;
    let address = create_address(from, nonce);
    let data = Bytes::from(creation);
    let estimate = quantity(&rpc.call("eth_estimateGas", json!([{ "from": from, "data": data }])).await?).context("eth_estimateGas")?;
    let block = rpc.call("eth_getBlockByNumber", json!(["latest", false])).await?;
    let base_fee = block.get("baseFeePerGas").map(quantity).transpose().context("baseFeePerGas")?.unwrap_or(0) as u128;
    let tip = match rpc.call("eth_maxPriorityFeePerGas", json!([])).await {
        Ok(v) => quantity(&v).map(u128::from).unwrap_or(DEFAULT_TIP),
        Err(_) => DEFAULT_TIP,
    };
    let unsigned = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: estimate + estimate / 5,
        max_fee_per_gas: 2 * base_fee + tip,
        max_priority_fee_per_gas: tip,
        to: TxKind::Create,
        value: U256::ZERO,
        access_list: Default::default(),
        input: data,
    };
    let signature = signer.sign_hash_sync(&unsigned.signature_hash()).context("signing the deploy transaction")?;
    let envelope = TxEnvelope::from(unsigned.into_signed(signature));
    let raw = Bytes::from(envelope.encoded_2718());
    let hash = rpc.call("eth_sendRawTransaction", json!([raw])).await.context("eth_sendRawTransaction")?;

    let deadline = Instant::now() + Duration::from_secs(args.wait);
    let receipt = loop {
        let r = rpc.call("eth_getTransactionReceipt", json!([hash])).await?;
        if !r.is_null() {
            break r;
        }
        if Instant::now() > deadline {
            bail!("transaction {hash} was not mined within {}s (raise --wait)", args.wait);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    ensure!(receipt["status"] == "0x1", "the deploy transaction {hash} failed: {receipt}");
    let reported: Option<Address> = receipt["contractAddress"].as_str().and_then(|a| a.parse().ok());
    ensure!(reported == Some(address), "the receipt names contract {:?}, expected {address}", reported);
    ensure!(code_at(&rpc, address).await? == runtime, "the code at {address} is not ChiralChannels' deployedBytecode");
    Ok(Deployed { address, created: true, gas_used: quantity(&receipt["gasUsed"]).ok() })
}

/// `relay channels-deploy`: prints what happened, then the address alone on the last line.
pub async fn run(args: ChannelsDeployArgs) -> anyhow::Result<()> {
    let d = deploy(&args).await?;
    let address = d.address.to_checksum(None);
    if d.created {
        println!("ChiralChannels deployed at {address} (gas used {})", d.gas_used.map_or("?".into(), |g| g.to_string()));
    } else {
        println!("ChiralChannels already deployed at {address}");
    }
    println!("{address}");
    Ok(())
}

async fn code_at(rpc: &RpcProxy, address: Address) -> anyhow::Result<Vec<u8>> {
    let code = rpc.call("eth_getCode", json!([address, "latest"])).await?;
    let text = code.as_str().context("eth_getCode answered a non-string")?;
    hex::decode(text.trim_start_matches("0x")).context("eth_getCode answered non-hex")
}

/// A JSON-RPC quantity ("0x…") as u64.
fn quantity(v: &Value) -> anyhow::Result<u64> {
    let text = v.as_str().with_context(|| format!("expected a hex quantity, got {v}"))?;
    u64::from_str_radix(text.trim_start_matches("0x"), 16).with_context(|| format!("bad quantity {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_artifact_has_creation_and_runtime_code() {
        let (creation, runtime) = artifact_code().unwrap();
        assert!(runtime.len() > 1000);
        assert!(creation.len() > runtime.len(), "creation code carries the runtime code");
        assert!(creation.windows(runtime.len()).any(|w| w == runtime.as_slice()));
    }

    #[test]
    fn quantities_parse() {
        assert_eq!(quantity(&json!("0x181cd")).unwrap(), 98765);
        assert!(quantity(&json!(12)).is_err());
    }
}
