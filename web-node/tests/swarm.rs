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

/// A folder torrent (three files, one empty, a BEP 47 padding file) between two swarms over
/// BEP 9: a swarm that takes folders (the page, the bridge, `relay fetch`) gets every piece,
/// or only the chosen files' pieces; one configured without (`SwarmConfig::folders` off)
/// refuses it at once with the reason.
mod folders {
    use sha1::Digest as _;
    use web_node::peer_wire::extension::InfoError;
    use web_node::swarm::{Event, Output};

    use super::*;

    const PIECE: usize = 16 * 1024;

    fn folder() -> (Vec<u8>, Vec<u8>) {
        let files = vec![
            (vec!["a.txt".to_string()], 5_000u64, false),
            (vec![".pad".to_string(), "1".to_string()], (PIECE - 5_000) as u64, true),
            (vec!["sub".to_string(), "ñandú 文件.bin".to_string()], 40_000, false),
            (vec!["empty".to_string()], 0, false),
        ];
        let mut bytes = file_bytes(PIECE + 40_000, 3);
        bytes[5_000..PIECE].fill(0);
        let sha1: Vec<u8> = bytes.chunks(PIECE).flat_map(|c| <[u8; 20]>::from(sha1::Sha1::digest(c))).collect();
        (web_node::torrent::folder_info_dict("folder", &files, PIECE as u64, &sha1).encode(), bytes)
    }

    /// Runs a seeder and a magnet leecher until neither has output; the leecher's events.
    fn exchange(folders: bool) -> Vec<Event> {
        exchange_wanting(folders, None)
    }

    /// As [`exchange`], the leecher wanting only `wanted` pieces once it has the info dict.
    fn exchange_wanting(folders: bool, wanted: Option<&[u32]>) -> Vec<Event> {
        let (info_bytes, bytes) = folder();
        let info_hash: [u8; 20] = sha1::Sha1::digest(&info_bytes).into();
        let mut seed_config = SwarmConfig::new(info_hash, [1; 20]);
        seed_config.folders = true;
        let pieces = bytes.len().div_ceil(PIECE) as u32;
        assert!(Swarm::with_info(SwarmConfig::new(info_hash, [1; 20]), info_bytes.clone(), None).is_err_and(|e| e == InfoError::MultiFile));
        let mut seeder = Swarm::with_info(seed_config, info_bytes, Some(Bitfield::full(pieces))).unwrap();
        let mut config = SwarmConfig::new(info_hash, [2; 20]);
        config.folders = folders;
        let mut leecher = Swarm::magnet(config);
        seeder.handle_connected(PeerKey(1), false, 0);
        leecher.handle_connected(PeerKey(1), true, 0);
        let mut events = Vec::new();
        for round in 0..200u64 {
            let now = round * 1_000;
            seeder.handle_timeout(now);
            leecher.handle_timeout(now);
            let mut moved = true;
            while moved {
                moved = false;
                while let Some(out) = seeder.poll_output() {
                    moved = true;
                    match out {
                        Output::Transmit { data, .. } => leecher.handle_data(PeerKey(1), &data, now),
                        Output::Event(Event::ReadPiece { index }) => {
                            let at = index as usize * PIECE;
                            seeder.handle_piece_read(index, bytes[at..(at + PIECE).min(bytes.len())].to_vec(), now);
                        }
                        Output::Event(_) => {}
                    }
                }
                while let Some(out) = leecher.poll_output() {
                    moved = true;
                    match out {
                        Output::Transmit { data, .. } => seeder.handle_data(PeerKey(1), &data, now),
                        Output::Event(e) => {
                            if let (Event::MetadataReady { info, .. }, Some(w)) = (&e, wanted) {
                                let mut bits = Bitfield::new(info.pieces());
                                w.iter().for_each(|i| {
                                    bits.set(*i);
                                });
                                leecher.set_wanted(Some(bits), now);
                            }
                            events.push(e)
                        }
                    }
                }
            }
            if events.iter().any(|e| matches!(e, Event::Complete | Event::Unsupported { .. })) {
                break;
            }
        }
        events
    }

    #[test]
    fn a_swarm_that_takes_folders_downloads_one() {
        let events = exchange(true);
        let info = events.iter().find_map(|e| match e {
            Event::MetadataReady { info, .. } => Some(info.clone()),
            _ => None,
        });
        let info = info.expect("metadata");
        assert!(!info.is_single_file());
        assert_eq!(info.real_files().map(|f| f.path.join("/")).collect::<Vec<_>>(), ["a.txt", "sub/ñandú 文件.bin", "empty"]);
        let verified = events.iter().filter(|e| matches!(e, Event::PieceVerified { .. })).count();
        assert_eq!(verified, 4);
        assert!(events.contains(&Event::Complete));
    }

    #[test]
    fn only_the_chosen_files_pieces_are_fetched() {
        // a.txt (and its padding) is piece 0; the other file is pieces 1-3.
        let events = exchange_wanting(true, Some(&[0]));
        let verified: Vec<u32> = events.iter().filter_map(|e| if let Event::PieceVerified { index, .. } = e { Some(*index) } else { None }).collect();
        assert_eq!(verified, [0]);
        assert_eq!(events.iter().filter(|e| **e == Event::Complete).count(), 1, "complete once the chosen file is");
    }

    #[test]
    fn a_leecher_with_its_choice_done_is_no_longer_interested() {
        let (info_bytes, bytes) = folder();
        let info_hash: [u8; 20] = sha1::Sha1::digest(&info_bytes).into();
        let pieces = bytes.len().div_ceil(PIECE) as u32;
        let mut config = SwarmConfig::new(info_hash, [2; 20]);
        config.folders = true;
        let mut have = Bitfield::new(pieces);
        have.set(0);
        let mut leecher = Swarm::with_info(config, info_bytes, Some(have)).unwrap();
        let mut wanted = Bitfield::new(pieces);
        wanted.set(0);
        leecher.set_wanted(Some(wanted), 0);
        leecher.handle_connected(PeerKey(1), true, 0);
        let mut seeder_bytes = Vec::new();
        web_node::peer_wire::Handshake::new(info_hash, [1; 20]).encode_into(&mut seeder_bytes);
        Message::Bitfield(Bitfield::full(pieces).as_bytes()).encode_into(&mut seeder_bytes);
        leecher.handle_data(PeerKey(1), &seeder_bytes, 0);
        let sent: Vec<u8> = std::iter::from_fn(|| leecher.poll_output()).filter_map(|o| if let Output::Transmit { data, .. } = o { Some(data) } else { None }).flatten().collect();
        let mut interested = Vec::new();
        Message::Interested.encode_into(&mut interested);
        assert!(!sent.windows(interested.len()).any(|w| w == interested.as_slice()), "interested in a seeder though every wanted piece is here");
    }

    #[test]
    fn a_swarm_that_does_not_refuses_a_folder_with_the_reason() {
        let events = exchange(false);
        assert!(
            events.iter().any(|e| matches!(e, Event::Unsupported { reason } if reason == "cannot download this torrent: multi-file torrents are not supported yet")),
            "{events:?}"
        );
        assert!(!events.iter().any(|e| matches!(e, Event::MetadataReady { .. } | Event::PieceVerified { .. })));
    }
}
