//! Peer wire codecs: property round trips, arbitrary framing, hostile bytes.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use web_node::peer_wire::extension::{ExtendedHandshake, MetadataMessage, TorrentInfo};
use web_node::peer_wire::{BlockRef, Handshake, Message, WireError, MAX_MESSAGE_BYTES};

#[derive(Debug, Clone)]
enum Owned {
    KeepAlive,
    Choke,
    Unchoke,
    Interested,
    NotInterested,
    Have(u32),
    Bitfield(Vec<u8>),
    Request(u32, u32, u32),
    Piece(u32, u32, Vec<u8>),
    Cancel(u32, u32, u32),
    Port(u16),
    HaveAll,
    HaveNone,
    Reject(u32, u32, u32),
    Extended(u8, Vec<u8>),
}

impl Owned {
    fn as_message(&self) -> Message<'_> {
        match self {
            Owned::KeepAlive => Message::KeepAlive,
            Owned::Choke => Message::Choke,
            Owned::Unchoke => Message::Unchoke,
            Owned::Interested => Message::Interested,
            Owned::NotInterested => Message::NotInterested,
            Owned::Have(i) => Message::Have(*i),
            Owned::Bitfield(b) => Message::Bitfield(b),
            Owned::Request(index, begin, length) => Message::Request(BlockRef { index: *index, begin: *begin, length: *length }),
            Owned::Piece(index, begin, data) => Message::Piece { index: *index, begin: *begin, data },
            Owned::Cancel(index, begin, length) => Message::Cancel(BlockRef { index: *index, begin: *begin, length: *length }),
            Owned::Port(p) => Message::Port(*p),
            Owned::HaveAll => Message::HaveAll,
            Owned::HaveNone => Message::HaveNone,
            Owned::Reject(index, begin, length) => Message::Reject(BlockRef { index: *index, begin: *begin, length: *length }),
            Owned::Extended(id, payload) => Message::Extended { id: *id, payload },
        }
    }
}

fn message() -> impl Strategy<Value = Owned> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..2048);
    prop_oneof![
        Just(Owned::KeepAlive),
        Just(Owned::Choke),
        Just(Owned::Unchoke),
        Just(Owned::Interested),
        Just(Owned::NotInterested),
        any::<u32>().prop_map(Owned::Have),
        bytes().prop_map(Owned::Bitfield),
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(a, b, c)| Owned::Request(a, b, c)),
        (any::<u32>(), any::<u32>(), bytes()).prop_map(|(a, b, d)| Owned::Piece(a, b, d)),
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(a, b, c)| Owned::Cancel(a, b, c)),
        any::<u16>().prop_map(Owned::Port),
        Just(Owned::HaveAll),
        Just(Owned::HaveNone),
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(a, b, c)| Owned::Reject(a, b, c)),
        (any::<u8>(), bytes()).prop_map(|(id, p)| Owned::Extended(id, p)),
    ]
}

proptest! {
    #[test]
    fn messages_round_trip_in_any_framing(msgs in proptest::collection::vec(message(), 1..20), cut in 1usize..300) {
        let mut stream = Vec::new();
        for m in &msgs {
            m.as_message().encode_into(&mut stream);
        }
        // Feed the stream in `cut`-sized pieces, as a data channel might deliver it.
        let mut buf = Vec::new();
        let mut decoded = Vec::new();
        for part in stream.chunks(cut) {
            buf.extend_from_slice(part);
            let mut at = 0;
            while let Some((m, used)) = Message::parse(&buf[at..]).unwrap() {
                decoded.push(m.to_vec());
                at += used;
            }
            buf.drain(..at);
        }
        prop_assert!(buf.is_empty());
        let expected: Vec<Vec<u8>> = msgs.iter().map(|m| m.as_message().to_vec()).collect();
        prop_assert_eq!(decoded, expected);
    }

    #[test]
    fn arbitrary_bytes_parse_or_error_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        match Message::parse(&bytes) {
            Ok(Some((m, used))) => {
                prop_assert!(used <= bytes.len());
                prop_assert_eq!(m.to_vec(), bytes[..used].to_vec());
            }
            Ok(None) => {}
            Err(WireError::TooLarge(n)) => prop_assert!(n > MAX_MESSAGE_BYTES),
            Err(_) => {}
        }
        let _ = Handshake::parse(&bytes);
        let _ = ExtendedHandshake::parse(&bytes);
        let _ = MetadataMessage::parse(&bytes);
        let _ = TorrentInfo::parse(&bytes);
    }

    #[test]
    fn handshakes_round_trip(reserved in any::<[u8; 8]>(), ih in any::<[u8; 20]>(), id in any::<[u8; 20]>()) {
        let hs = Handshake { reserved, info_hash: ih, peer_id: id };
        let mut buf = Vec::new();
        hs.encode_into(&mut buf);
        prop_assert_eq!(Handshake::parse(&buf).unwrap(), Some((hs, 68)));
    }

    #[test]
    fn extension_messages_round_trip(size in proptest::option::of(0u64..1 << 40), reqq in proptest::option::of(any::<u32>()),
                                     piece in any::<u32>(), data in proptest::collection::vec(any::<u8>(), 0..16384)) {
        let hs = ExtendedHandshake {
            extensions: [("ut_metadata".to_string(), 3u8), ("ut_pex".to_string(), 0)].into_iter().collect(),
            metadata_size: size,
            hashes_size: size.map(|s| s * 32),
            client: Some("WebTorrent 3".into()),
            reqq,
            pay_to: size.map(|s| web_node::settlement::PayTo { wallet: [7; 20], price_per_mb_wei: u128::from(s) }),
        };
        prop_assert_eq!(ExtendedHandshake::parse(&hs.encode()).unwrap(), hs);
        for m in [MetadataMessage::Request { piece }, MetadataMessage::Reject { piece },
                  MetadataMessage::Data { piece, total_size: 99_999, data: &data }] {
            let encoded = m.encode();
            prop_assert_eq!(MetadataMessage::parse(&encoded).unwrap(), m);
        }
    }
}

#[test]
fn malformed_lengths_are_errors() {
    // `have` with 3 bytes, `request` with 11, `choke` with a payload.
    for bad in [&[0, 0, 0, 4, 4, 0, 0, 1][..], &[0, 0, 0, 12, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[0, 0, 0, 2, 0, 9]] {
        assert!(matches!(Message::parse(bad), Err(WireError::BadLength { .. })), "{bad:?}");
    }
    // Ids we do not speak (BEP 6 suggest / allowed fast) are skipped, not errors.
    assert!(matches!(Message::parse(&[0, 0, 0, 5, 0x11, 0, 0, 0, 1]), Ok(Some((Message::Unknown { id: 0x11, .. }, 9)))));
    assert!(matches!(Message::parse(&[0, 0, 0, 1, 0x0f]), Ok(Some((Message::HaveNone, 5)))));
}

#[test]
fn a_webtorrent_extended_handshake_parses() {
    // What bittorrent-protocol sends (bencode npm: sorted keys).
    let hs = ExtendedHandshake::parse(b"d1:md11:ut_metadatai1e6:ut_pexi2ee13:metadata_sizei1234ee").unwrap();
    assert_eq!(hs.ut_metadata_id(), Some(1));
    assert_eq!(hs.metadata_size, Some(1234));
}
