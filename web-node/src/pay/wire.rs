//! `chiral_pay`: the Style 2 messages, carried as a BEP 10 extension of the BitTorrent peer
//! wire (so the same exchange runs over WebRTC data channels, TCP and the relay's bridge).
//! Each message is one bencoded dict; `msg_type` says which. Amounts are wei, 16-byte
//! big-endian (bencode integers stop at 2^63); addresses 20 bytes, channel ids 32.
//!
//! ```text
//! seller → buyer  0 terms    d8:msg_typei0e5:price16:…5:payee20:…5:chaini98765e8:contract20:…6:crediti4194304ee
//! buyer → seller  1 open     d7:channel32:…8:msg_typei1ee
//! seller → buyer  2 accept   d7:channel32:…8:msg_typei2e4:paid16:…e     (the highest voucher it holds)
//! buyer → seller  3 voucher  d6:amount16:…7:channel32:…8:msg_typei3e3:sig65:…e
//! either          4 refuse   d8:msg_typei4e6:reason…e                  (then the sender stops serving/paying)
//! ```
//! Parsing is bounded (the peer wire's message limit, and a 256-byte reason) and total:
//! any input gives a message or a [`PayWireError`].

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::bencode::{self, Dict, DictExt, Value};

/// The BEP 10 extension name.
pub const CHIRAL_PAY: &str = "chiral_pay";
/// The id we ask peers to use when they send us `chiral_pay` messages.
pub const OUR_CHIRAL_PAY_ID: u8 = 3;
/// Longest refusal reason kept.
pub const MAX_REASON: usize = 256;
/// Largest encoded message we accept (they are all well under 300 bytes).
pub const MAX_PAY_MESSAGE: usize = 1024;

/// A seller's Style 2 terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Terms {
    /// Wei per 10^6 bytes of piece data.
    pub price_per_mb_wei: u128,
    /// Who closing the channel pays.
    pub payee: [u8; 20],
    pub chain_id: u64,
    /// The `ChiralChannels` contract.
    pub contract: [u8; 20],
    /// Bytes the seller sends ahead of what is paid.
    pub credit_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayMessage {
    Terms(Terms),
    Open { channel: [u8; 32] },
    Accept { channel: [u8; 32], paid_wei: u128 },
    Voucher { channel: [u8; 32], amount_wei: u128, signature: [u8; 65] },
    Refuse { reason: String },
}

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayWireError {
    #[error("chiral_pay message of {0} bytes is over the limit")]
    TooLong(usize),
    #[error("chiral_pay message is not bencode: {0}")]
    Bencode(#[from] bencode::BencodeError),
    #[error("chiral_pay field `{0}` is missing or malformed")]
    Field(&'static str),
    #[error("unknown chiral_pay msg_type {0}")]
    Kind(i64),
}

fn key(k: &'static str) -> Cow<'static, [u8]> {
    Cow::Borrowed(k.as_bytes())
}

fn fixed<const N: usize>(d: &Dict<'_>, name: &'static str) -> Result<[u8; N], PayWireError> {
    d.bytes_field(name).and_then(|b| <[u8; N]>::try_from(b).ok()).ok_or(PayWireError::Field(name))
}

fn wei(d: &Dict<'_>, name: &'static str) -> Result<u128, PayWireError> {
    fixed::<16>(d, name).map(u128::from_be_bytes)
}

impl PayMessage {
    pub fn encode(&self) -> Vec<u8> {
        let mut d: Dict<'_> = BTreeMap::new();
        let kind = match self {
            PayMessage::Terms(t) => {
                d.insert(key("price"), Value::bytes(t.price_per_mb_wei.to_be_bytes().to_vec()));
                d.insert(key("payee"), Value::bytes(t.payee.to_vec()));
                d.insert(key("chain"), Value::Int(i64::try_from(t.chain_id).unwrap_or(i64::MAX)));
                d.insert(key("contract"), Value::bytes(t.contract.to_vec()));
                d.insert(key("credit"), Value::Int(i64::try_from(t.credit_bytes).unwrap_or(i64::MAX)));
                0
            }
            PayMessage::Open { channel } => {
                d.insert(key("channel"), Value::bytes(channel.to_vec()));
                1
            }
            PayMessage::Accept { channel, paid_wei } => {
                d.insert(key("channel"), Value::bytes(channel.to_vec()));
                d.insert(key("paid"), Value::bytes(paid_wei.to_be_bytes().to_vec()));
                2
            }
            PayMessage::Voucher { channel, amount_wei, signature } => {
                d.insert(key("channel"), Value::bytes(channel.to_vec()));
                d.insert(key("amount"), Value::bytes(amount_wei.to_be_bytes().to_vec()));
                d.insert(key("sig"), Value::bytes(signature.to_vec()));
                3
            }
            PayMessage::Refuse { reason } => {
                let cut = reason.char_indices().map(|(i, c)| i + c.len_utf8()).take_while(|end| *end <= MAX_REASON).last().unwrap_or(0);
                d.insert(key("reason"), Value::bytes(reason.as_bytes()[..cut].to_vec()));
                4
            }
        };
        d.insert(key("msg_type"), Value::Int(kind));
        Value::Dict(d).encode()
    }

    /// One message, the whole payload (unknown keys ignored, as BEP 10 asks).
    pub fn parse(payload: &[u8]) -> Result<Self, PayWireError> {
        if payload.len() > MAX_PAY_MESSAGE {
            return Err(PayWireError::TooLong(payload.len()));
        }
        let value = bencode::parse_lenient(payload)?;
        let d = value.as_dict().ok_or(PayWireError::Field("msg_type"))?;
        let kind = d.int_field("msg_type").ok_or(PayWireError::Field("msg_type"))?;
        Ok(match kind {
            0 => PayMessage::Terms(Terms {
                price_per_mb_wei: wei(d, "price")?,
                payee: fixed(d, "payee")?,
                chain_id: d.u64_field("chain").ok_or(PayWireError::Field("chain"))?,
                contract: fixed(d, "contract")?,
                credit_bytes: d.u64_field("credit").ok_or(PayWireError::Field("credit"))?,
            }),
            1 => PayMessage::Open { channel: fixed(d, "channel")? },
            2 => PayMessage::Accept { channel: fixed(d, "channel")?, paid_wei: wei(d, "paid")? },
            3 => PayMessage::Voucher { channel: fixed(d, "channel")?, amount_wei: wei(d, "amount")?, signature: fixed(d, "sig")? },
            4 => {
                let reason = d.bytes_field("reason").ok_or(PayWireError::Field("reason"))?;
                let reason = String::from_utf8_lossy(&reason[..reason.len().min(MAX_REASON)]).into_owned();
                PayMessage::Refuse { reason }
            }
            other => return Err(PayWireError::Kind(other)),
        })
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn message() -> impl Strategy<Value = PayMessage> {
        let terms = (any::<u128>(), any::<[u8; 20]>(), 0u64..=i64::MAX as u64, any::<[u8; 20]>(), 0u64..=i64::MAX as u64).prop_map(
            |(price_per_mb_wei, payee, chain_id, contract, credit_bytes)| {
                PayMessage::Terms(Terms { price_per_mb_wei, payee, chain_id, contract, credit_bytes })
            },
        );
        prop_oneof![
            terms,
            any::<[u8; 32]>().prop_map(|channel| PayMessage::Open { channel }),
            (any::<[u8; 32]>(), any::<u128>()).prop_map(|(channel, paid_wei)| PayMessage::Accept { channel, paid_wei }),
            (any::<[u8; 32]>(), any::<u128>(), proptest::collection::vec(any::<u8>(), 65)).prop_map(|(channel, amount_wei, sig)| {
                PayMessage::Voucher { channel, amount_wei, signature: sig.try_into().expect("65") }
            }),
            "[a-z ]{0,256}".prop_map(|reason| PayMessage::Refuse { reason }),
        ]
    }

    proptest! {
        #[test]
        fn round_trips(msg in message()) {
            let bytes = msg.encode();
            prop_assert!(bytes.len() <= MAX_PAY_MESSAGE);
            prop_assert_eq!(PayMessage::parse(&bytes).unwrap(), msg);
        }

        #[test]
        fn any_bytes_give_a_message_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = PayMessage::parse(&bytes);
        }
    }

    #[test]
    fn malformed_messages_are_named() {
        assert_eq!(PayMessage::parse(b"d8:msg_typei9ee"), Err(PayWireError::Kind(9)));
        assert_eq!(PayMessage::parse(b"d7:channel3:abc8:msg_typei1ee"), Err(PayWireError::Field("channel")));
        assert!(matches!(PayMessage::parse(&[b'x'; 2000]), Err(PayWireError::TooLong(2000))));
        let long = PayMessage::Refuse { reason: "é".repeat(300) }.encode();
        let PayMessage::Refuse { reason } = PayMessage::parse(&long).unwrap() else { panic!() };
        assert!(reason.len() <= MAX_REASON && reason.chars().all(|c| c == 'é'));
    }
}
