//! The payment-channel contract `ChiralChannels` (`contracts/ChiralChannels.sol`): its
//! EIP-712 voucher, its domain, and its calls and events as alloy `sol!` bindings.
//!
//! A voucher is the payer's signature (by the channel's session `signer`) over
//! `Voucher(bytes32 channelId,uint256 amount)`, EIP-712 typed data
//! (<https://eips.ethereum.org/EIPS/eip-712>) in the domain
//! `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)` with
//! name [`DOMAIN_NAME`], version [`DOMAIN_VERSION`]. `amount` is cumulative, in wei: the
//! payee closes with the highest one it holds. A signature is 65 bytes `r ‖ s ‖ v` with `v`
//! 27 or 28 and `s` in the lower half of the curve order (EIP-2), as the contract requires.
//!
//! The contract, in short (all amounts in wei, times in Unix seconds of the chain's blocks):
//! - `open(payee, signer, timeout)` payable, returns the channel id
//!   ([`channel_id`]); the deposit is `msg.value`, the expiry `block.timestamp + timeout`.
//! - `topUp(id, expiresAt)` payable, payer only: adds to the deposit, the expiry only grows.
//! - `close(id, amount, signature)` payee only: pays `amount` to the payee and the rest of the
//!   deposit to the payer in one transaction, and closes the channel for good (no replay).
//! - `reclaim(id)` payer only, once `block.timestamp >= expiresAt`: the whole deposit back.
//! - `channels(id)` view: `(payer, payee, signer, deposit, expiresAt, closed)` ([`ChannelOnChain`]).
//!
//! Calls are built here as calldata bytes (`*_calldata`) and answers decoded
//! ([`decode_channel`], [`decode_revert`]); sending them is the caller's business (the page's
//! wallet, the relay, tests).

use alloy_primitives::{keccak256, Address, Signature, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{Eip712Domain, SolCall, SolInterface, SolStruct, SolValue};

pub const DOMAIN_NAME: &str = "ChiralChannels";
pub const DOMAIN_VERSION: &str = "1";

/// Where `ChiralChannels` lives on the dev chain (anvil, chain 98765, started by
/// `scripts/run.sh`): the CREATE address of [`DEV_DEPLOYER`] at nonce 0, which
/// `relay channels-deploy` uses. On another chain, deploy it and pass the address instead.
pub const DEV_CHANNELS_ADDRESS: &str = "0x700b6A60ce7EaaEA56F065753d8dcB9653dbAD35";

/// The account that deploys the dev chain's contract: anvil's well-known dev account #9.
pub const DEV_DEPLOYER: &str = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720";

/// secp256k1's order n, halved: an `s` above it is the malleable twin of a valid signature.
const HALF_N: U256 = U256::from_be_bytes(alloy_primitives::hex!(
    "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0"
));

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContractError {
    /// The contract's answer did not decode as the expected ABI shape.
    #[error("the contract's answer is not ABI-encoded as expected: {0}")]
    Decode(String),
    /// Not a 65-byte `r ‖ s ‖ v` signature with `v` 27 or 28 and a low `s`.
    #[error("malformed voucher signature: {0}")]
    MalformedSignature(&'static str),
    /// The signature is well formed but no public key recovers from it.
    #[error("no signer recovers from the voucher signature")]
    Unrecoverable,
}

alloy_sol_types::sol! {
    /// The EIP-712 struct a payer's session key signs.
    #[derive(Debug, PartialEq, Eq)]
    struct Voucher {
        bytes32 channelId;
        uint256 amount;
    }

    /// `contracts/ChiralChannels.sol`, as callers see it.
    #[derive(Debug, PartialEq, Eq)]
    interface IChiralChannels {
        event ChannelOpened(bytes32 indexed id, address indexed payer, address indexed payee, address signer, uint256 deposit, uint64 expiresAt);
        event ChannelToppedUp(bytes32 indexed id, uint256 deposit, uint64 expiresAt);
        event ChannelClosed(bytes32 indexed id, uint256 paid, uint256 refunded);
        event ChannelReclaimed(bytes32 indexed id, uint256 refunded);

        error ZeroDeposit();
        error ZeroAddress();
        error UnknownChannel();
        error AlreadyClosed();
        error NotPayer();
        error NotPayee();
        error AmountExceedsDeposit();
        error MalformedSignature();
        error WrongSigner();
        error NotExpired();
        error TransferFailed();

        function open(address payee, address signer, uint64 timeout) external payable returns (bytes32 id);
        function topUp(bytes32 id, uint64 expiresAt) external payable;
        function close(bytes32 id, uint256 amount, bytes calldata signature) external;
        function reclaim(bytes32 id) external;
        function channels(bytes32 id) external view returns (address payer, address payee, address signer, uint256 deposit, uint64 expiresAt, bool closed);
        function nonces(address payer) external view returns (uint256);
        function voucherDigest(bytes32 id, uint256 amount) external view returns (bytes32);
    }
}

/// A channel as `channels(id)` returns it. An unknown id reads as all zero (`payer` zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelOnChain {
    pub payer: Address,
    pub payee: Address,
    pub signer: Address,
    /// Wei held (what was deposited and topped up; unchanged by close and reclaim).
    pub deposit: U256,
    /// Unix seconds (block time) from which the payer may reclaim.
    pub expires_at: u64,
    /// Closed by the payee or reclaimed by the payer: no voucher is accepted any more.
    pub closed: bool,
}

impl ChannelOnChain {
    /// Whether the id names a channel at all.
    pub fn exists(&self) -> bool {
        self.payer != Address::ZERO
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

/// The id `open` gives the `nonce`-th channel `payer` opens (`nonces(payer)` before the call):
/// `keccak256(abi.encode(chainId, contract, payer, payee, signer, nonce))`.
pub fn channel_id(chain_id: u64, contract: Address, payer: Address, payee: Address, signer: Address, nonce: u64) -> B256 {
    keccak256((U256::from(chain_id), contract, payer, payee, signer, U256::from(nonce)).abi_encode_params())
}

/// The address a contract created by `deployer` with account nonce `nonce` gets (CREATE).
pub fn create_address(deployer: Address, nonce: u64) -> Address {
    deployer.create(nonce)
}

/// The session key's voucher for `amount` wei on `channel`: 65 bytes `r ‖ s ‖ v`, `v` 27 or
/// 28, low `s` (RFC 6979: the same voucher always signs to the same bytes).
pub fn sign_voucher(signer: &PrivateKeySigner, chain_id: u64, contract: Address, channel: B256, amount: U256) -> [u8; 65] {
    let digest = voucher_digest(chain_id, contract, channel, amount);
    // k256 signing with a valid key fails only if the RFC 6979 nonce gives r or s = 0
    // (probability ~2^-256); a PrivateKeySigner always holds a valid key.
    let signature = signer.sign_hash_sync(&digest).expect("secp256k1 signing with a valid key");
    signature.normalized_s().as_bytes()
}

/// Who signed a voucher for `amount` wei on `channel`, refusing what the contract refuses
/// (high `s`, `v` other than 27/28, zero `r` or `s`). The caller compares the answer with the
/// channel's `signer`.
pub fn recover_voucher_signer(chain_id: u64, contract: Address, channel: B256, amount: U256, sig: &[u8; 65]) -> Result<Address, ContractError> {
    let r = U256::from_be_slice(&sig[..32]);
    let s = U256::from_be_slice(&sig[32..64]);
    let parity = match sig[64] {
        27 => false,
        28 => true,
        _ => return Err(ContractError::MalformedSignature("v is not 27 or 28")),
    };
    if s > HALF_N {
        return Err(ContractError::MalformedSignature("high s (malleable)"));
    }
    if r.is_zero() || s.is_zero() {
        return Err(ContractError::MalformedSignature("zero r or s"));
    }
    let digest = voucher_digest(chain_id, contract, channel, amount);
    Signature::new(r, s, parity).recover_address_from_prehash(&digest).map_err(|_| ContractError::Unrecoverable)
}

/// `open(payee, signer, timeout_secs)`; send it with the deposit as the value.
pub fn open_calldata(payee: Address, signer: Address, timeout_secs: u64) -> Vec<u8> {
    IChiralChannels::openCall { payee, signer, timeout: timeout_secs }.abi_encode()
}

/// `topUp(channel, expires_at)`; send it with the added wei as the value (0 only extends).
pub fn topup_calldata(channel: B256, expires_at: u64) -> Vec<u8> {
    IChiralChannels::topUpCall { id: channel, expiresAt: expires_at }.abi_encode()
}

/// `close(channel, amount, signature)`, sent by the payee.
pub fn close_calldata(channel: B256, amount: U256, signature: &[u8; 65]) -> Vec<u8> {
    IChiralChannels::closeCall { id: channel, amount, signature: signature.to_vec().into() }.abi_encode()
}

/// `reclaim(channel)`, sent by the payer after the expiry.
pub fn reclaim_calldata(channel: B256) -> Vec<u8> {
    IChiralChannels::reclaimCall { id: channel }.abi_encode()
}

/// `channels(channel)`, for `eth_call`; decode the answer with [`decode_channel`].
pub fn channels_calldata(channel: B256) -> Vec<u8> {
    IChiralChannels::channelsCall { id: channel }.abi_encode()
}

/// `nonces(payer)`, for `eth_call`: the nonce the payer's next channel id uses.
pub fn nonces_calldata(payer: Address) -> Vec<u8> {
    IChiralChannels::noncesCall { payer }.abi_encode()
}

/// Decodes what `eth_call` of [`channels_calldata`] returned.
pub fn decode_channel(returned: &[u8]) -> Result<ChannelOnChain, ContractError> {
    let r = IChiralChannels::channelsCall::abi_decode_returns(returned).map_err(|e| ContractError::Decode(e.to_string()))?;
    Ok(ChannelOnChain { payer: r.payer, payee: r.payee, signer: r.signer, deposit: r.deposit, expires_at: r.expiresAt, closed: r.closed })
}

/// The contract's custom error in a revert's data, if it is one of them.
pub fn decode_revert(data: &[u8]) -> Option<IChiralChannels::IChiralChannelsErrors> {
    IChiralChannels::IChiralChannelsErrors::abi_decode(data).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_sol_types::{SolError, SolEvent};
    use proptest::prelude::*;

    fn key(byte: u8) -> PrivateKeySigner {
        PrivateKeySigner::from_bytes(&B256::repeat_byte(byte)).unwrap()
    }

    fn dev_contract() -> Address {
        DEV_CHANNELS_ADDRESS.parse().unwrap()
    }

    #[test]
    fn dev_address_is_the_create_address_of_dev_account_9_at_nonce_0() {
        let deployer: Address = DEV_DEPLOYER.parse().unwrap();
        let from_key: PrivateKeySigner = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6".parse().unwrap();
        assert_eq!(from_key.address(), deployer);
        assert_eq!(create_address(deployer, 0).to_checksum(None), DEV_CHANNELS_ADDRESS);
        // A known CREATE vector (the yellow paper's RLP([sender, nonce]) rule).
        let a: Address = "0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0".parse().unwrap();
        assert_eq!(create_address(a, 0), "0xcd234a471b72ba2f1ccf0a70fcaba648a5eecd8d".parse::<Address>().unwrap());
    }

    #[test]
    fn voucher_signs_and_recovers_with_v_27_or_28_and_low_s() {
        let signer = key(7);
        let channel = B256::repeat_byte(0xab);
        let sig = sign_voucher(&signer, 98765, dev_contract(), channel, U256::from(1_000u64));
        assert!(sig[64] == 27 || sig[64] == 28);
        assert!(U256::from_be_slice(&sig[32..64]) <= HALF_N);
        assert_eq!(recover_voucher_signer(98765, dev_contract(), channel, U256::from(1_000u64), &sig), Ok(signer.address()));
        assert_eq!(sig, sign_voucher(&signer, 98765, dev_contract(), channel, U256::from(1_000u64)), "deterministic");
    }

    #[test]
    fn malleable_and_malformed_signatures_are_refused() {
        let signer = key(9);
        let channel = B256::repeat_byte(1);
        let amount = U256::from(5u64);
        let sig = sign_voucher(&signer, 98765, dev_contract(), channel, amount);
        // The high-s twin: s' = n - s, parity flipped; ecrecover would accept it, we do not.
        let n: U256 = (HALF_N << 1usize) + U256::from(1u8);
        let s = U256::from_be_slice(&sig[32..64]);
        let mut twin = sig;
        twin[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
        twin[64] = if sig[64] == 27 { 28 } else { 27 };
        assert!(matches!(recover_voucher_signer(98765, dev_contract(), channel, amount, &twin), Err(ContractError::MalformedSignature(_))));
        let mut v01 = sig;
        v01[64] -= 27;
        assert!(matches!(recover_voucher_signer(98765, dev_contract(), channel, amount, &v01), Err(ContractError::MalformedSignature(_))));
        let zero = [0u8; 65];
        assert!(recover_voucher_signer(98765, dev_contract(), channel, amount, &zero).is_err());
    }

    #[test]
    fn calldata_and_answers_have_the_contract_abi() {
        assert_eq!(&open_calldata(Address::ZERO, Address::ZERO, 0)[..4], &keccak256("open(address,address,uint64)")[..4]);
        assert_eq!(&topup_calldata(B256::ZERO, 0)[..4], &keccak256("topUp(bytes32,uint64)")[..4]);
        assert_eq!(&close_calldata(B256::ZERO, U256::ZERO, &[0; 65])[..4], &keccak256("close(bytes32,uint256,bytes)")[..4]);
        assert_eq!(&reclaim_calldata(B256::ZERO)[..4], &keccak256("reclaim(bytes32)")[..4]);
        assert_eq!(&channels_calldata(B256::ZERO)[..4], &keccak256("channels(bytes32)")[..4]);
        assert_eq!(
            IChiralChannels::ChannelOpened::SIGNATURE_HASH,
            keccak256("ChannelOpened(bytes32,address,address,address,uint256,uint64)")
        );
        let channel = ChannelOnChain {
            payer: Address::repeat_byte(1),
            payee: Address::repeat_byte(2),
            signer: Address::repeat_byte(3),
            deposit: U256::from(10u64).pow(U256::from(18u64)),
            expires_at: 1_700_000_000,
            closed: true,
        };
        let returned = (channel.payer, channel.payee, channel.signer, channel.deposit, channel.expires_at, channel.closed).abi_encode_params();
        assert_eq!(decode_channel(&returned), Ok(channel));
        assert!(matches!(decode_channel(&returned[..100]), Err(ContractError::Decode(_))));
        let err = IChiralChannels::WrongSigner {}.abi_encode();
        assert_eq!(decode_revert(&err), Some(IChiralChannels::IChiralChannelsErrors::WrongSigner(IChiralChannels::WrongSigner {})));
        assert_eq!(decode_revert(b"\x08\xc3\x79\xa0"), None);
    }

    #[test]
    fn channel_id_is_abi_encode_of_its_inputs() {
        let (c, p, q, s) = (dev_contract(), Address::repeat_byte(1), Address::repeat_byte(2), Address::repeat_byte(3));
        let mut packed = Vec::new();
        packed.extend_from_slice(&U256::from(98765u64).to_be_bytes::<32>());
        for a in [c, p, q, s] {
            packed.extend_from_slice(B256::left_padding_from(a.as_slice()).as_slice());
        }
        packed.extend_from_slice(&U256::from(4u64).to_be_bytes::<32>());
        assert_eq!(channel_id(98765, c, p, q, s, 4), keccak256(&packed));
        assert_ne!(channel_id(98765, c, p, q, s, 4), channel_id(98765, c, p, q, s, 5));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn round_trip_and_any_change_recovers_someone_else(
            key_byte in 1u8..=254, // 0xff… is above the curve order: not a key
            chain in 1u64..u64::MAX,
            contract in any::<[u8; 20]>(),
            channel in any::<[u8; 32]>(),
            amount in any::<u128>(),
            other in 1u128..,
        ) {
            let signer = key(key_byte);
            let (contract, channel, amount) = (Address::from(contract), B256::from(channel), U256::from(amount));
            let sig = sign_voucher(&signer, chain, contract, channel, amount);
            prop_assert_eq!(recover_voucher_signer(chain, contract, channel, amount, &sig), Ok(signer.address()));
            let changed = amount + U256::from(other);
            prop_assert_ne!(recover_voucher_signer(chain, contract, channel, changed, &sig).ok(), Some(signer.address()));
            let mut other_channel = channel;
            other_channel.0[0] ^= 1;
            prop_assert_ne!(recover_voucher_signer(chain, contract, other_channel, amount, &sig).ok(), Some(signer.address()));
            prop_assert_ne!(recover_voucher_signer(chain ^ 1, contract, channel, amount, &sig).ok(), Some(signer.address()));
            let mut other_contract = contract;
            other_contract.0[19] ^= 1;
            prop_assert_ne!(recover_voucher_signer(chain, other_contract, channel, amount, &sig).ok(), Some(signer.address()));
        }
    }
}
