//! The payment-channel contract `ChiralChannels` (`contracts/ChiralChannels.sol`): its
//! EIP-712 voucher, its domain, and its calls and events as alloy `sol!` bindings.
//!
//! A voucher is the payer's signature (by the channel's session `signer`) over
//! `Voucher(bytes32 channelId,uint256 amount)`, EIP-712 typed data in the domain
//! `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)` with
//! name [`DOMAIN_NAME`], version [`DOMAIN_VERSION`]. `amount` is cumulative, in wei: the
//! payee closes with the highest one it holds.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{Eip712Domain, SolStruct};

pub const DOMAIN_NAME: &str = "ChiralChannels";
pub const DOMAIN_VERSION: &str = "1";

alloy_sol_types::sol! {
    /// The EIP-712 struct a payer's session key signs.
    #[derive(Debug, PartialEq, Eq)]
    struct Voucher {
        bytes32 channelId;
        uint256 amount;
    }
}

/// The contract's EIP-712 domain on `chain_id` at `contract`.
pub fn domain(chain_id: u64, contract: Address) -> Eip712Domain {
    Eip712Domain::new(
        Some(DOMAIN_NAME.into()),
        Some(DOMAIN_VERSION.into()),
        Some(U256::from(chain_id)),
        Some(contract),
        None,
    )
}

/// The 32-byte digest a session key signs for `amount` wei on `channel`.
pub fn voucher_digest(chain_id: u64, contract: Address, channel: B256, amount: U256) -> B256 {
    Voucher { channelId: channel, amount }.eip712_signing_hash(&domain(chain_id, contract))
}
