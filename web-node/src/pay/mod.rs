//! Style 2: pay as you download over a unidirectional payment channel (the design's option B).
//!
//! | module | what it is |
//! | --- | --- |
//! | [`contract`] | the `ChiralChannels` contract: EIP-712 voucher, domain, calls and events |

pub mod contract;
