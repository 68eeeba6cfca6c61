//! Chiral's fuzz targets: one function per parser of network or file input, taking the raw
//! bytes a peer, tracker, HTTP client or file could hand us. Each checks the parser's own
//! invariants (round trips, bounds) and panics on a violation, so libFuzzer reports it.
//!
//! The same functions run two ways:
//! - `scripts/fuzz.sh [SECONDS]`: libFuzzer (cargo-fuzz, nightly) explores from the corpora
//!   in `fuzz/corpus/<target>/`; the binaries are the one-liners in `fuzz/libfuzzer/`.
//! - the test command replays every committed corpus and regression input
//!   (`fuzz/tests/replay.rs`) on the stable toolchain, in seconds.
//!
//! Seeds come from real inputs: our encoders' output (`cargo run -p chiral-fuzz --bin
//! seed-corpus`) and files captured from real tools (`fuzz/seeds/capture.sh` writes them as `real-*`).

pub mod codecs;
pub mod http;
pub mod seeds;
pub mod swarm;
pub mod trackers;

/// A fuzz target: its name (the corpus directory and libFuzzer binary) and its body.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
}

/// Every target, in the order `scripts/fuzz.sh` runs them.
pub const TARGETS: &[Target] = &[
    Target { name: "bencode_strict", run: codecs::bencode_strict },
    Target { name: "bencode_lenient", run: codecs::bencode_lenient },
    Target { name: "peer_wire", run: codecs::peer_wire },
    Target { name: "extension", run: codecs::extension },
    Target { name: "chiral_pay", run: codecs::chiral_pay },
    Target { name: "ed2k_wire", run: codecs::ed2k_wire },
    Target { name: "ed2k_link", run: codecs::ed2k_link },
    Target { name: "stream_range", run: codecs::stream_range },
    Target { name: "torrent_info", run: codecs::torrent_info },
    Target { name: "manifest", run: codecs::manifest },
    Target { name: "file_record", run: codecs::file_record },
    Target { name: "ws_tracker", run: trackers::ws_tracker },
    Target { name: "ws_frame", run: trackers::ws_frame },
    Target { name: "tracker_response", run: trackers::tracker_response },
    Target { name: "magnet", run: trackers::magnet },
    Target { name: "ice_config", run: trackers::ice_config },
    Target { name: "http_announce_query", run: trackers::http_announce_query },
    Target { name: "http_announce_reply", run: trackers::http_announce_reply },
    Target { name: "udp_tracker_reply", run: trackers::udp_tracker_reply },
    Target { name: "rpc_guard", run: http::rpc_guard },
    Target { name: "byte_ranges", run: http::byte_ranges },
    Target { name: "http_fields", run: http::http_fields },
    Target { name: "swarm", run: swarm::swarm },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
