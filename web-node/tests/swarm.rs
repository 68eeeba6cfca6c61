//! The swarm core in memory, natively: the shared cases (`swarm_cases`, also run in
//! headless Chromium by `tests/wasm.rs`) and property tests with hostile bytes.
#![cfg(not(target_arch = "wasm32"))]

mod swarm_cases;

use proptest::prelude::*;
use swarm_cases::{file_bytes, manifest};
use web_node::peer_wire::{Bitfield, Message};
use web_node::swarm::{PeerKey, Swarm, SwarmConfig};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever a peer sends after a valid handshake, the core answers or disconnects;
    /// it never panics and never buffers more than one maximal message.
    #[test]
    fn hostile_bytes_never_panic(garbage in proptest::collection::vec(any::<u8>(), 0..4096), cut in 1usize..600) {
        let bytes = file_bytes(2 * 262_144 + 3, 8);
        let m = manifest(&bytes);
        for known in [true, false] {
            let config = SwarmConfig::new(m.infohash, [1; 20]);
            let mut swarm = if known {
                Swarm::with_info(config, m.info_dict_bytes(), Some(Bitfield::full(3))).unwrap()
            } else {
                Swarm::magnet(config)
            };
            swarm.handle_connected(PeerKey(1), false, 0);
            let mut input = Vec::new();
            web_node::peer_wire::Handshake::new(m.infohash, [2; 20]).encode_into(&mut input);
            Message::Interested.encode_into(&mut input);
            input.extend_from_slice(&garbage);
            for part in input.chunks(cut) {
                swarm.handle_data(PeerKey(1), part, 10);
            }
            swarm.handle_timeout(100_000);
            while swarm.poll_output().is_some() {}
        }
    }
}
