//! The Chiral relay: a native node that serves the app and bridges browsers to the network.
//!
//! | module | what it is |
//! | --- | --- |
//! | [`config`] | flags and environment |
//! | [`http`] | the axum router: static app, health |
//! | [`manifest_cmd`] | `relay manifest FILE`: a file's identities as JSON |

pub mod config;
pub mod http;
pub mod manifest_cmd;
pub mod p2p;
pub mod seeding;
