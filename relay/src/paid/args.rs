//! Command-line flags for Style 2 (each with an env var).

use std::path::PathBuf;

use clap::Args;

/// `relay seed … --price-per-mb X --payee ADDR`: the relay's own files are sold.
#[derive(Debug, Clone, Default, Args)]
pub struct SellArgs {
    /// Price of the relay's own files (`--seed`), ETH per 10^6 bytes, e.g. `0.0001`. Peers
    /// that pay through a channel (`chiral_pay`) get them; others, and plain HTTP clients
    /// (402 with the terms), do not. Needs `--eth-rpc` and a payee.
    #[arg(long = "price-per-mb", env = "CHIRAL_PRICE_PER_MB")]
    pub price_per_mb: Option<String>,
    /// Who the channels pay (0x address). Default: the address of `--payee-key`.
    #[arg(long, env = "CHIRAL_PAYEE")]
    pub payee: Option<String>,
    /// The payee's private key (a file holding 0x-hex), used only to close channels and
    /// collect. Without it vouchers are kept in DATA_DIR/vouchers.json for closing later.
    #[arg(long = "payee-key", env = "CHIRAL_PAYEE_KEY_FILE")]
    pub payee_key: Option<PathBuf>,
    /// The `ChiralChannels` contract (default on chain 98765: the dev chain's address).
    #[arg(long = "channel-contract", env = "CHIRAL_CHANNEL_CONTRACT")]
    pub channel_contract: Option<String>,
    /// Bytes served ahead of what is paid, KiB.
    #[arg(long = "credit-kib", env = "CHIRAL_CREDIT_KIB", default_value_t = 2048)]
    pub credit_kib: u64,
    /// Close a channel this many seconds after its last voucher.
    #[arg(long = "close-idle", env = "CHIRAL_CLOSE_IDLE", default_value_t = 300)]
    pub close_idle: u64,
}

/// `relay fetch --pay-key FILE`: pay Style 2 sellers.
#[derive(Debug, Clone, Default, Args)]
pub struct PayArgs {
    /// The payer's private key (a file holding 0x-hex). Its channels are kept beside it in
    /// `FILE.channels.json`.
    #[arg(long = "pay-key", env = "CHIRAL_PAY_KEY_FILE")]
    pub pay_key: Option<PathBuf>,
    /// The chain node to open channels on.
    #[arg(long = "eth-rpc", env = "CHIRAL_ETH_RPC")]
    pub eth_rpc: Option<String>,
    /// Highest price accepted, ETH per 10^6 bytes.
    #[arg(long = "max-price-per-mb", env = "CHIRAL_MAX_PRICE_PER_MB", default_value = "0.001")]
    pub max_price_per_mb: String,
    /// The `ChiralChannels` contract trusted (default on chain 98765: the dev chain's address).
    #[arg(long = "channel-contract", env = "CHIRAL_CHANNEL_CONTRACT")]
    pub channel_contract: Option<String>,
}

/// Reads a 0x-hex private key from a file.
pub fn read_key(path: &std::path::Path) -> anyhow::Result<alloy_signer_local::PrivateKeySigner> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read the key file {}: {e}", path.display()))?;
    let bytes = web_node::wallet::parse_private_key(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(alloy_signer_local::PrivateKeySigner::from_bytes(&alloy_primitives::B256::from(bytes))?)
}

/// The contract address: given, or the dev chain's.
pub fn contract_address(given: Option<&str>, chain_id: u64) -> anyhow::Result<alloy_primitives::Address> {
    match given {
        Some(text) => text.parse().map_err(|_| anyhow::anyhow!("--channel-contract: not an address: {text}")),
        None if chain_id == web_node::wallet::CHAIN_ID => Ok(web_node::pay::contract::DEV_CHANNELS_ADDRESS.parse()?),
        None => anyhow::bail!("--channel-contract is needed on chain {chain_id}"),
    }
}

pub fn parse_price(text: &str) -> anyhow::Result<u128> {
    web_node::settlement::parse_eth(text).ok_or_else(|| anyhow::anyhow!("not a price in ETH: {text}"))
}
