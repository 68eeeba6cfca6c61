//! Style 2 in the relay: [`seller`] (the relay sells its own files over `chiral_pay`),
//! [`buyer`] (`relay fetch --pay-key` pays sellers), both over [`chain`], the relay's own
//! JSON-RPC calls. The protocol itself is web-node's sans-IO core ([`web_node::pay`]).

pub mod args;
pub mod buyer;
pub mod chain;
pub mod seller;

use std::sync::Arc;

/// `GET /api/channels`: `{"contract": "0x…", "chain_id": 98765}`, the payment-channel
/// contract pages open channels on (404 when the relay has no chain node).
#[derive(Clone, Default)]
pub struct ChannelsInfo(pub Option<Arc<serde_json::Value>>);

pub async fn channels_info(axum::extract::State(info): axum::extract::State<ChannelsInfo>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match info.0 {
        Some(v) => axum::Json(v.as_ref().clone()).into_response(),
        None => crate::api_error::ApiError::new(axum::http::StatusCode::NOT_FOUND, "this relay has no chain node (--eth-rpc)".into()).into_response(),
    }
}

/// What a bridged file's task does with the swarm's Style 2 events.
#[derive(Clone)]
pub enum TaskPay {
    Seller(Arc<seller::SellerService>),
    Buyer(Arc<buyer::BuyerService>),
}

/// The seller service `relay seed --price-per-mb` asks for, or `None` for free files.
pub async fn seller_from_args(args: &crate::config::ServeArgs) -> anyhow::Result<Option<Arc<seller::SellerService>>> {
    let sell = &args.sell;
    let Some(price) = sell.price_per_mb.as_deref() else { return Ok(None) };
    let price_per_mb_wei = args::parse_price(price)?;
    let url = args.eth_rpc.as_deref().ok_or_else(|| anyhow::anyhow!("--price-per-mb needs --eth-rpc (the chain the channels are on)"))?;
    let chain = chain::Chain::connect(url, None).await.map_err(|e| anyhow::anyhow!("--price-per-mb: {e}"))?;
    let contract = args::contract_address(sell.channel_contract.as_deref(), chain.chain_id)?;
    if chain.code_at(contract).await.map_err(|e| anyhow::anyhow!("{e}"))?.is_empty() {
        anyhow::bail!("no ChiralChannels contract at {contract} on chain {} (deploy it: relay channels-deploy)", chain.chain_id);
    }
    let payee_key = sell.payee_key.as_deref().map(args::read_key).transpose()?;
    let payee: alloy_primitives::Address = match (&sell.payee, &payee_key) {
        (Some(text), key) => {
            let a: alloy_primitives::Address = text.parse().map_err(|_| anyhow::anyhow!("--payee: not an address: {text}"))?;
            if key.as_ref().is_some_and(|k| k.address() != a) {
                anyhow::bail!("--payee {a} is not the address of --payee-key");
            }
            a
        }
        (None, Some(key)) => key.address(),
        (None, None) => anyhow::bail!("--price-per-mb needs --payee or --payee-key"),
    };
    let terms = web_node::pay::wire::Terms {
        price_per_mb_wei,
        payee: payee.into_array(),
        chain_id: chain.chain_id,
        contract: contract.into_array(),
        credit_bytes: sell.credit_kib.saturating_mul(1024),
    };
    println!("selling at {price_per_mb_wei} wei/MB to {payee} through {contract} (chain {})", chain.chain_id);
    Ok(Some(seller::SellerService::new(terms, chain, payee_key, &args.data_dir, sell.close_idle)?))
}

/// The buyer service `relay fetch --pay-key` asks for.
pub async fn buyer_from_args(pay: &args::PayArgs) -> anyhow::Result<Option<Arc<buyer::BuyerService>>> {
    let Some(key_path) = pay.pay_key.as_deref() else { return Ok(None) };
    let key = args::read_key(key_path)?;
    let url = pay.eth_rpc.as_deref().ok_or_else(|| anyhow::anyhow!("--pay-key needs --eth-rpc"))?;
    let chain = chain::Chain::connect(url, None).await.map_err(|e| anyhow::anyhow!("--pay-key: {e}"))?;
    let contract = args::contract_address(pay.channel_contract.as_deref(), chain.chain_id)?;
    if chain.code_at(contract).await.map_err(|e| anyhow::anyhow!("{e}"))?.is_empty() {
        anyhow::bail!("no ChiralChannels contract at {contract} on chain {}: nothing to pay through", chain.chain_id);
    }
    let max = args::parse_price(&pay.max_price_per_mb)?;
    Ok(Some(Arc::new(buyer::BuyerService::new(chain, key, key_path, contract, max)?)))
}
