//! The `ChiralChannels` payment-channel contract on a real chain (anvil, chain 98765): the
//! committed artifact is what the pinned npm solc compiles; the real `relay channels-deploy`
//! puts it at the dev address, idempotently; then a channel's whole life with real
//! transactions: open, vouchers signed by a session key with `web_node::pay::contract`,
//! close (payee paid exactly, payer refunded the rest, in one transaction), every refusal
//! (replay, wrong key, malleable signature, amount over the deposit, wrong sender), top-up, and
//! reclaim after the timeout, on anvil's latest EVM and on London (the Geth network's). Gas of
//! open and close is printed for the closing note.

use std::process::Command;

use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolError, SolEvent};
use anyhow::{bail, ensure, Context};
use chiral_e2e::{json_rpc, relay_bin, workspace_root, Anvil};
use serde_json::{json, Value};
use web_node::pay::contract::{self as cc, IChiralChannels as I};

/// anvil's dev account #9, the dev chain's deployer.
const DEPLOY_KEY: &str = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";
/// anvil's unlocked dev accounts #1, #2, #3.
const PAYER: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const PAYEE: &str = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const STRANGER: &str = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
const CHAIN: u64 = 98765;
const ETH: u128 = 1_000_000_000_000_000_000;

struct Chain {
    url: String,
}

impl Chain {
    fn call(&self, method: &str, params: Value) -> anyhow::Result<Value> {
        let v = json_rpc(&self.url, method, params)?;
        if let Some(e) = v.get("error") {
            bail!("{method}: {e}");
        }
        Ok(v["result"].clone())
    }

    fn balance(&self, a: Address) -> anyhow::Result<U256> {
        quantity(&self.call("eth_getBalance", json!([a.to_string(), "latest"]))?)
    }

    fn tx(from: Address, to: Address, data: &[u8], value: U256) -> Value {
        // An explicit gas limit: a reverting call is mined (status 0) instead of refused at estimation.
        json!({ "from": from.to_string(), "to": to.to_string(), "data": format!("0x{}", hex::encode(data)), "value": format!("{value:#x}"), "gas": "0x100000" })
    }

    /// Sends from an unlocked dev account and returns the receipt (anvil mines at once).
    fn send(&self, from: Address, to: Address, data: &[u8], value: U256) -> anyhow::Result<Value> {
        let hash = self.call("eth_sendTransaction", json!([Self::tx(from, to, data, value)]))?;
        for _ in 0..100 {
            let r = self.call("eth_getTransactionReceipt", json!([hash]))?;
            if !r.is_null() {
                return Ok(r);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        bail!("no receipt for {hash}")
    }

    /// Sends a transaction that must succeed.
    fn ok(&self, from: Address, to: Address, data: &[u8], value: U256) -> anyhow::Result<Value> {
        let r = self.send(from, to, data, value)?;
        ensure!(r["status"] == "0x1", "transaction failed: {r}");
        Ok(r)
    }

    /// A transaction that must revert with the custom error `E`: `eth_call` names the error,
    /// then the mined transaction has status 0 and moved nothing.
    fn refused<E: SolError>(&self, from: Address, to: Address, data: &[u8], value: U256) -> anyhow::Result<()> {
        let v = json_rpc(&self.url, "eth_call", json!([Self::tx(from, to, data, value), "latest"]))?;
        let revert = v["error"]["data"].as_str().with_context(|| format!("eth_call did not revert with data: {v}"))?;
        let revert = hex::decode(revert.trim_start_matches("0x"))?;
        ensure!(revert == E::SELECTOR, "expected {}, got {:?}", E::SIGNATURE, cc::decode_revert(&revert));
        let r = self.send(from, to, data, value)?;
        ensure!(r["status"] == "0x0", "{} should revert: {r}", E::SIGNATURE);
        Ok(())
    }

    fn view(&self, to: Address, data: &[u8]) -> anyhow::Result<Vec<u8>> {
        let r = self.call("eth_call", json!([{ "to": to.to_string(), "data": format!("0x{}", hex::encode(data)) }, "latest"]))?;
        Ok(hex::decode(r.as_str().context("eth_call result")?.trim_start_matches("0x"))?)
    }

    fn channel(&self, contract: Address, id: B256) -> anyhow::Result<cc::ChannelOnChain> {
        Ok(cc::decode_channel(&self.view(contract, &cc::channels_calldata(id))?)?)
    }

    fn code(&self, a: Address) -> anyhow::Result<String> {
        Ok(self.call("eth_getCode", json!([a.to_string(), "latest"]))?.as_str().context("code")?.to_string())
    }

    fn block_time(&self) -> anyhow::Result<u64> {
        let b = self.call("eth_getBlockByNumber", json!(["latest", false]))?;
        Ok(quantity(&b["timestamp"])?.to::<u64>())
    }
}

fn quantity(v: &Value) -> anyhow::Result<U256> {
    let s = v.as_str().with_context(|| format!("not a quantity: {v}"))?;
    Ok(U256::from_str_radix(s.trim_start_matches("0x"), 16)?)
}

/// Wei a receipt's sender paid for gas.
fn fee(receipt: &Value) -> anyhow::Result<U256> {
    Ok(quantity(&receipt["gasUsed"])? * quantity(&receipt["effectiveGasPrice"])?)
}

fn gas(receipt: &Value) -> anyhow::Result<u64> {
    Ok(quantity(&receipt["gasUsed"])?.to::<u64>())
}

/// The receipt's one log from `contract` whose topic 0 is `E`'s signature hash.
fn event<E: SolEvent>(receipt: &Value, contract: Address) -> anyhow::Result<Value> {
    let logs = receipt["logs"].as_array().context("logs")?;
    let hash = format!("{:#x}", E::SIGNATURE_HASH);
    let found: Vec<&Value> = logs
        .iter()
        .filter(|l| l["topics"][0].as_str() == Some(hash.as_str()) && l["address"].as_str().map(str::to_lowercase) == Some(contract.to_string().to_lowercase()))
        .collect();
    ensure!(found.len() == 1, "expected one {} log, got {logs:?}", E::SIGNATURE);
    Ok(found[0].clone())
}

fn artifact() -> anyhow::Result<Value> {
    Ok(serde_json::from_str(&std::fs::read_to_string(workspace_root().join("contracts/ChiralChannels.json"))?)?)
}

/// Runs the real `relay channels-deploy`; its stdout lines.
fn relay_deploy(anvil: &Anvil, key_file: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let out = Command::new(relay_bin()).args(["channels-deploy", "--eth-rpc", &anvil.url, "--key-file"]).arg(key_file).output()?;
    ensure!(out.status.success(), "channels-deploy failed: {}", String::from_utf8_lossy(&out.stderr));
    Ok(String::from_utf8(out.stdout)?.lines().map(str::to_string).collect())
}

fn deploy(anvil: &Anvil, dir: &std::path::Path) -> anyhow::Result<(Address, Vec<String>)> {
    let key_file = dir.join("deploy.key");
    std::fs::write(&key_file, DEPLOY_KEY)?;
    let lines = relay_deploy(anvil, &key_file)?;
    let address: Address = lines.last().context("no output")?.parse()?;
    Ok((address, lines))
}

#[test]
fn the_committed_artifact_is_what_the_pinned_solc_compiles() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("ChiralChannels.json");
    let status = Command::new("node").arg(workspace_root().join("scripts/compile-contract.mjs")).arg("--out").arg(&out).status()?;
    ensure!(status.success(), "compile-contract.mjs failed (is the npm solc installed? scripts/setup.sh test)");
    let fresh: Value = serde_json::from_str(&std::fs::read_to_string(&out)?)?;
    let committed = artifact()?;
    assert!(committed["compiler"].as_str().unwrap().starts_with("0.8.28+"), "{}", committed["compiler"]);
    for field in ["compiler", "abi", "bytecode", "deployedBytecode"] {
        assert_eq!(fresh[field], committed[field], "{field} differs: recompile with node scripts/compile-contract.mjs");
    }
    assert_eq!(std::fs::read(&out)?, std::fs::read(workspace_root().join("contracts/ChiralChannels.json"))?, "byte-identical");
    Ok(())
}

#[test]
fn relay_deploys_at_the_dev_address_and_again_is_a_no_op() -> anyhow::Result<()> {
    let anvil = Anvil::start()?;
    let chain = Chain { url: anvil.url.clone() };
    let dir = tempfile::tempdir()?;
    let (address, lines) = deploy(&anvil, dir.path())?;
    eprintln!("channels-deploy: {lines:?}");
    assert_eq!(address.to_checksum(None), cc::DEV_CHANNELS_ADDRESS);
    assert!(lines[0].starts_with(&format!("ChiralChannels deployed at {}", cc::DEV_CHANNELS_ADDRESS)), "{lines:?}");
    assert_eq!(chain.code(address)?, artifact()?["deployedBytecode"].as_str().unwrap());
    let deployer: Address = cc::DEV_DEPLOYER.parse()?;
    let nonce = chain.call("eth_getTransactionCount", json!([deployer.to_string(), "latest"]))?;

    let (again, lines) = deploy(&anvil, dir.path())?;
    assert_eq!(again, address);
    assert_eq!(lines, vec![format!("ChiralChannels already deployed at {}", cc::DEV_CHANNELS_ADDRESS), cc::DEV_CHANNELS_ADDRESS.to_string()]);
    assert_eq!(chain.call("eth_getTransactionCount", json!([deployer.to_string(), "latest"]))?, nonce, "no second transaction");

    // A bad key file is a clear error, not a panic.
    std::fs::write(dir.path().join("bad.key"), "not a key")?;
    let out = Command::new(relay_bin()).args(["channels-deploy", "--eth-rpc", &anvil.url, "--key-file"]).arg(dir.path().join("bad.key")).output()?;
    assert!(!out.status.success());
    Ok(())
}

#[test]
fn a_channel_opens_pays_exactly_refuses_replays_tops_up_and_reclaims() -> anyhow::Result<()> {
    channel_life(&[])
}

/// The Geth network's genesis (relay/genesis.json) stops at London: the same life on a London
/// EVM (no PUSH0), which is why the contract is compiled for paris.
#[test]
fn the_same_channel_life_runs_on_a_london_evm_like_the_geth_network() -> anyhow::Result<()> {
    channel_life(&["--hardfork", "london"])
}

fn channel_life(anvil_args: &[&str]) -> anyhow::Result<()> {
    let anvil = Anvil::start_with(anvil_args)?;
    let chain = Chain { url: anvil.url.clone() };
    let dir = tempfile::tempdir()?;
    let (contract, _) = deploy(&anvil, dir.path())?;
    let (payer, payee, stranger): (Address, Address, Address) = (PAYER.parse()?, PAYEE.parse()?, STRANGER.parse()?);
    let session = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x42))?;
    let wrong_key = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x43))?;
    let deposit = U256::from(ETH); // 1 ETH
    let amount = U256::from(ETH / 4 + 12_345);

    // The contract's digest is web-node's.
    let probe = B256::repeat_byte(7);
    let digest = chain.view(contract, &I::voucherDigestCall { id: probe, amount }.abi_encode())?;
    assert_eq!(digest, cc::voucher_digest(CHAIN, contract, probe, amount).as_slice());

    // Refused opens.
    chain.refused::<I::ZeroDeposit>(payer, contract, &cc::open_calldata(payee, session.address(), 3600), U256::ZERO)?;
    chain.refused::<I::ZeroAddress>(payer, contract, &cc::open_calldata(Address::ZERO, session.address(), 3600), deposit)?;
    chain.refused::<I::ZeroAddress>(payer, contract, &cc::open_calldata(payee, Address::ZERO, 3600), deposit)?;

    // Open: the id is the one web-node computes, the event carries it.
    let nonce = U256::from_be_slice(&chain.view(contract, &cc::nonces_calldata(payer))?).to::<u64>();
    let id = cc::channel_id(CHAIN, contract, payer, payee, session.address(), nonce);
    let opened = chain.ok(payer, contract, &cc::open_calldata(payee, session.address(), 3600), deposit)?;
    let open_gas = gas(&opened)?;
    let log = event::<I::ChannelOpened>(&opened, contract)?;
    assert_eq!(log["topics"][1].as_str().unwrap(), format!("{id:#x}"));
    let on_chain = chain.channel(contract, id)?;
    assert_eq!((on_chain.payer, on_chain.payee, on_chain.signer, on_chain.deposit, on_chain.closed), (payer, payee, session.address(), deposit, false));
    assert_eq!(on_chain.expires_at, chain.block_time()? + 3600);

    // Refused closes: wrong key, malleable twin, v 0/1, amount over the deposit, not the payee.
    let bad = cc::sign_voucher(&wrong_key, CHAIN, contract, id, amount);
    chain.refused::<I::WrongSigner>(payee, contract, &cc::close_calldata(id, amount, &bad), U256::ZERO)?;
    let good = cc::sign_voucher(&session, CHAIN, contract, id, amount);
    let n = U256::from_str_radix("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)?;
    let mut twin = good;
    twin[32..64].copy_from_slice(&(n - U256::from_be_slice(&good[32..64])).to_be_bytes::<32>());
    twin[64] ^= 27 ^ 28;
    chain.refused::<I::MalformedSignature>(payee, contract, &cc::close_calldata(id, amount, &twin), U256::ZERO)?;
    let mut v01 = good;
    v01[64] -= 27;
    chain.refused::<I::MalformedSignature>(payee, contract, &cc::close_calldata(id, amount, &v01), U256::ZERO)?;
    let too_much = deposit + U256::from(1);
    let over = cc::sign_voucher(&session, CHAIN, contract, id, too_much);
    chain.refused::<I::AmountExceedsDeposit>(payee, contract, &cc::close_calldata(id, too_much, &over), U256::ZERO)?;
    chain.refused::<I::NotPayee>(stranger, contract, &cc::close_calldata(id, amount, &good), U256::ZERO)?;
    chain.refused::<I::NotPayee>(payer, contract, &cc::close_calldata(id, amount, &good), U256::ZERO)?;
    // A voucher for another chain id does not verify here.
    let elsewhere = cc::sign_voucher(&session, CHAIN + 1, contract, id, amount);
    chain.refused::<I::WrongSigner>(payee, contract, &cc::close_calldata(id, amount, &elsewhere), U256::ZERO)?;
    // Not the payer's to reclaim yet, nor anyone else's.
    chain.refused::<I::NotExpired>(payer, contract, &cc::reclaim_calldata(id), U256::ZERO)?;
    chain.refused::<I::NotPayer>(stranger, contract, &cc::reclaim_calldata(id), U256::ZERO)?;

    // Close: the payee gets exactly `amount`, the payer the rest, in one transaction.
    let (payee_before, payer_before) = (chain.balance(payee)?, chain.balance(payer)?);
    let closed = chain.ok(payee, contract, &cc::close_calldata(id, amount, &good), U256::ZERO)?;
    let close_gas = gas(&closed)?;
    assert_eq!(chain.balance(payee)?, payee_before + amount - fee(&closed)?);
    assert_eq!(chain.balance(payer)?, payer_before + deposit - amount);
    let log = event::<I::ChannelClosed>(&closed, contract)?;
    assert_eq!(log["topics"][1].as_str().unwrap(), format!("{id:#x}"));
    let data = hex::decode(log["data"].as_str().unwrap().trim_start_matches("0x"))?;
    assert_eq!((U256::from_be_slice(&data[..32]), U256::from_be_slice(&data[32..])), (amount, deposit - amount));
    assert!(chain.channel(contract, id)?.closed);
    assert_eq!(chain.balance(contract)?, U256::ZERO);

    // Replay, with the same voucher or a higher one: refused, nothing moves.
    chain.refused::<I::AlreadyClosed>(payee, contract, &cc::close_calldata(id, amount, &good), U256::ZERO)?;
    let higher = U256::from(ETH / 2);
    let higher_sig = cc::sign_voucher(&session, CHAIN, contract, id, higher);
    chain.refused::<I::AlreadyClosed>(payee, contract, &cc::close_calldata(id, higher, &higher_sig), U256::ZERO)?;
    chain.refused::<I::AlreadyClosed>(payer, contract, &cc::reclaim_calldata(id), U256::ZERO)?;
    chain.refused::<I::UnknownChannel>(payee, contract, &cc::close_calldata(B256::repeat_byte(9), amount, &good), U256::ZERO)?;

    // A second channel: top up (the expiry only grows), then reclaim after the timeout.
    let id2 = cc::channel_id(CHAIN, contract, payer, payee, session.address(), nonce + 1);
    let opened2 = chain.ok(payer, contract, &cc::open_calldata(payee, session.address(), 600), deposit)?;
    assert_eq!(event::<I::ChannelOpened>(&opened2, contract)?["topics"][1].as_str().unwrap(), format!("{id2:#x}"));
    let expires = chain.channel(contract, id2)?.expires_at;
    let topped = chain.ok(payer, contract, &cc::topup_calldata(id2, expires - 100), U256::from(ETH / 2))?;
    event::<I::ChannelToppedUp>(&topped, contract)?;
    let c = chain.channel(contract, id2)?;
    assert_eq!((c.deposit, c.expires_at), (U256::from(ETH + ETH / 2), expires), "an earlier expiry is ignored");
    chain.ok(payer, contract, &cc::topup_calldata(id2, expires + 600), U256::ZERO)?;
    assert_eq!(chain.channel(contract, id2)?.expires_at, expires + 600);
    chain.refused::<I::NotPayer>(stranger, contract, &cc::topup_calldata(id2, expires + 6000), U256::from(1))?;
    chain.refused::<I::NotExpired>(payer, contract, &cc::reclaim_calldata(id2), U256::ZERO)?;
    chain.call("evm_increaseTime", json!([1300]))?;
    chain.call("evm_mine", json!([]))?;
    chain.refused::<I::NotPayer>(payee, contract, &cc::reclaim_calldata(id2), U256::ZERO)?;
    let payer_before = chain.balance(payer)?;
    let reclaimed = chain.ok(payer, contract, &cc::reclaim_calldata(id2), U256::ZERO)?;
    assert_eq!(chain.balance(payer)?, payer_before + U256::from(ETH + ETH / 2) - fee(&reclaimed)?);
    event::<I::ChannelReclaimed>(&reclaimed, contract)?;
    let late = cc::sign_voucher(&session, CHAIN, contract, id2, amount);
    chain.refused::<I::AlreadyClosed>(payee, contract, &cc::close_calldata(id2, amount, &late), U256::ZERO)?;
    assert_eq!(chain.balance(contract)?, U256::ZERO);

    eprintln!(
        "ChiralChannels gas {anvil_args:?}: open {open_gas} (payer's first channel), open {} (next), close {close_gas}, topUp {}, reclaim {}",
        gas(&opened2)?,
        gas(&topped)?,
        gas(&reclaimed)?
    );
    Ok(())
}
