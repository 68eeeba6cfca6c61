//! The built-in wallet: a secp256k1 key made from the page's CSPRNG, kept only encrypted
//! at rest (AES-256-GCM under PBKDF2-HMAC-SHA256 of a passphrase, the address as
//! associated data), and EIP-1559 / EIP-155 transactions signed with it (alloy). Pure:
//! randomness and the chain's numbers (nonce, fees) are inputs.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;

use crate::encryption::{derive_key, MAX_ITERATIONS};

/// PBKDF2 iterations for new keystores (OWASP 2023 for PBKDF2-HMAC-SHA256).
pub const KEYSTORE_ITERATIONS: u32 = 600_000;
/// Fewer than this is refused when opening a keystore: a weak file is a stolen key.
pub const MIN_ITERATIONS: u32 = 100_000;
pub const CHAIN_ID: u64 = 98765;

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    #[error("wrong passphrase (or the wallet file is damaged)")]
    WrongPassphrase,
    #[error("the wallet file is malformed: {0}")]
    Malformed(&'static str),
    #[error("the passphrase must be at least 8 characters")]
    WeakPassphrase,
    #[error("not a private key: 32 bytes of hex expected")]
    BadKey,
    #[error("signing failed")]
    Signing,
}

/// What is stored: never the key in clear.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Keystore {
    pub version: u32,
    /// `0x…` checksummed; also the AEAD's associated data.
    pub address: String,
    pub kdf: String,
    pub iterations: u32,
    pub salt: String,
    pub nonce: String,
    pub ciphertext: String,
}

fn cipher(passphrase: &str, salt: &[u8], iterations: u32) -> Result<Aes256Gcm, WalletError> {
    let key = derive_key(passphrase, salt, iterations).map_err(|_| WalletError::Malformed("iterations"))?;
    Ok(Aes256Gcm::new(&Key::<Aes256Gcm>::from(key)))
}

impl Keystore {
    /// Encrypts `secret` (a private key) under `passphrase`; `salt` and `nonce` must be fresh random bytes.
    pub fn seal(secret: &[u8; 32], passphrase: &str, salt: [u8; 16], nonce: [u8; 12], iterations: u32) -> Result<Self, WalletError> {
        if passphrase.chars().count() < 8 {
            return Err(WalletError::WeakPassphrase);
        }
        let signer = PrivateKeySigner::from_bytes(&B256::from(*secret)).map_err(|_| WalletError::BadKey)?;
        let address = signer.address().to_checksum(None);
        let ciphertext = cipher(passphrase, &salt, iterations)?
            .encrypt(&Nonce::from(nonce), Payload { msg: secret, aad: address.as_bytes() })
            .map_err(|_| WalletError::Signing)?;
        Ok(Self {
            version: 1,
            address,
            kdf: "pbkdf2-hmac-sha256".into(),
            iterations,
            salt: hex::encode(salt),
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ciphertext),
        })
    }

    pub fn open(&self, passphrase: &str) -> Result<PrivateKeySigner, WalletError> {
        if self.version != 1 || self.kdf != "pbkdf2-hmac-sha256" {
            return Err(WalletError::Malformed("version"));
        }
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&self.iterations) {
            return Err(WalletError::Malformed("iterations"));
        }
        let salt = hex::decode(&self.salt).map_err(|_| WalletError::Malformed("salt"))?;
        let nonce: [u8; 12] = hex::decode(&self.nonce).ok().and_then(|n| n.try_into().ok()).ok_or(WalletError::Malformed("nonce"))?;
        let ciphertext = hex::decode(&self.ciphertext).map_err(|_| WalletError::Malformed("ciphertext"))?;
        let secret = cipher(passphrase, &salt, self.iterations)?
            .decrypt(&Nonce::from(nonce), Payload { msg: &ciphertext, aad: self.address.as_bytes() })
            .map_err(|_| WalletError::WrongPassphrase)?;
        let signer = PrivateKeySigner::from_slice(&secret).map_err(|_| WalletError::Malformed("key"))?;
        if signer.address().to_checksum(None) != self.address {
            return Err(WalletError::Malformed("address"));
        }
        Ok(signer)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain struct")
    }

    pub fn from_json(text: &str) -> Result<Self, WalletError> {
        serde_json::from_str(text).map_err(|_| WalletError::Malformed("not a Chiral wallet file"))
    }
}

/// A private key typed or pasted by the user (`0x` optional).
pub fn parse_private_key(text: &str) -> Result<[u8; 32], WalletError> {
    let hex_part = text.trim().trim_start_matches("0x");
    let bytes: [u8; 32] = hex::decode(hex_part).ok().and_then(|b| b.try_into().ok()).ok_or(WalletError::BadKey)?;
    PrivateKeySigner::from_bytes(&B256::from(bytes)).map_err(|_| WalletError::BadKey)?;
    Ok(bytes)
}

/// A value transfer with data, as the chain's numbers make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentTx {
    pub to: [u8; 20],
    pub value_wei: u128,
    pub nonce: u64,
    pub gas_limit: u64,
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTx {
    /// EIP-2718 bytes for `eth_sendRawTransaction`.
    pub raw: Vec<u8>,
    pub hash: [u8; 32],
}

/// Gas a plain transfer with `data` costs (21,000 + 16 per non-zero, 4 per zero byte).
pub fn intrinsic_gas(data: &[u8]) -> u64 {
    21_000 + data.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum::<u64>()
}

/// Signs an EIP-1559 transaction for chain 98765 (EIP-155 replay protection by chain id).
pub fn sign_payment(signer: &PrivateKeySigner, tx: &PaymentTx) -> Result<SignedTx, WalletError> {
    sign_payment_on(CHAIN_ID, signer, tx)
}

/// [`sign_payment`] for another chain id (a relay talking to the chain node it was given).
pub fn sign_payment_on(chain_id: u64, signer: &PrivateKeySigner, tx: &PaymentTx) -> Result<SignedTx, WalletError> {
    let unsigned = TxEip1559 {
        chain_id,
        nonce: tx.nonce,
        gas_limit: tx.gas_limit,
        max_fee_per_gas: tx.max_fee_per_gas,
        max_priority_fee_per_gas: tx.max_priority_fee_per_gas,
        to: TxKind::Call(Address::from(tx.to)),
        value: U256::from(tx.value_wei),
        access_list: Default::default(),
        input: Bytes::from(tx.data.clone()),
    };
    let signature = signer.sign_hash_sync(&unsigned.signature_hash()).map_err(|_| WalletError::Signing)?;
    let envelope = TxEnvelope::from(unsigned.into_signed(signature));
    Ok(SignedTx { raw: envelope.encoded_2718(), hash: (*envelope.tx_hash()).into() })
}

pub fn address_of(signer: &PrivateKeySigner) -> String {
    signer.address().to_checksum(None)
}

pub fn parse_address(text: &str) -> Option<[u8; 20]> {
    let h = text.trim().strip_prefix("0x")?;
    hex::decode(h).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // anvil's well-known dev key #0.
    const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    #[test]
    fn keystore_round_trip_and_wrong_passphrase() {
        let key = parse_private_key(DEV_KEY).unwrap();
        let ks = Keystore::seal(&key, "correct horse", [1; 16], [2; 12], MIN_ITERATIONS).unwrap();
        assert_eq!(ks.address, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        let json = ks.to_json();
        assert!(!json.contains(&DEV_KEY[2..]), "the key must not be stored in clear");
        let opened = Keystore::from_json(&json).unwrap().open("correct horse").unwrap();
        assert_eq!(address_of(&opened), ks.address);
        assert!(matches!(ks.open("wrong horse"), Err(WalletError::WrongPassphrase)));
        let mut weak = ks.clone();
        weak.iterations = 1_000;
        assert!(matches!(weak.open("correct horse"), Err(WalletError::Malformed("iterations"))));
        let mut moved = ks.clone();
        moved.address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".into();
        assert_eq!(moved.open("correct horse").err(), Some(WalletError::WrongPassphrase), "the address is bound");
        assert_eq!(Keystore::seal(&key, "short", [1; 16], [2; 12], MIN_ITERATIONS).err(), Some(WalletError::WeakPassphrase));
    }

    #[test]
    fn payments_are_eip1559_for_chain_98765() {
        let signer = PrivateKeySigner::from_bytes(&B256::from(parse_private_key(DEV_KEY).unwrap())).unwrap();
        let tx = PaymentTx {
            to: [0x11; 20],
            value_wei: 4_194_304_000_000_000,
            nonce: 3,
            gas_limit: 30_000,
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            data: b"chiral-pay:v1".to_vec(),
        };
        let signed = sign_payment(&signer, &tx).unwrap();
        assert_eq!(signed.raw[0], 0x02, "EIP-1559 typed transaction");
        let again = sign_payment(&signer, &tx).unwrap();
        assert_eq!(signed, again, "RFC 6979: the same payment signs to the same bytes and hash");
        assert_eq!(intrinsic_gas(b"\x00a"), 21_020);
    }
}
