//! Style 2: pay as you download over a unidirectional payment channel (the design's option B).
//!
//! | module | what it is |
//! | --- | --- |
//! | [`contract`] | the `ChiralChannels` contract: EIP-712 voucher, domain, calls and events |
//! | [`wire`] | `chiral_pay`, the BEP 10 extension messages: terms, open, accept, voucher, refuse |
//! | [`seller`] | one connection, seller side: the channel, vouchers checked locally, the credit window |
//! | [`buyer`] | one connection, buyer side: the channel, the cumulative amount owed per verified piece |
//! | [`book`] | the persisted channel books: the payer's (never sign lower or twice) and the payee's (what to close, when) |
//!
//! The swarm drives both sessions ([`crate::swarm`]'s `paid` module); keys, chain calls and
//! persistence stay in the driver.

pub mod book;
pub mod buyer;
pub mod contract;
pub mod seller;
pub mod wire;
