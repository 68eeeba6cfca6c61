//! Byte codecs peers and files feed us: bencode (both modes), the peer-wire messages
//! (BEP 3, 6, 10), the extension messages (BEP 9 `ut_metadata`, our `chiral_hashes`, the
//! extended handshake), info dicts, manifests and signed DHT file records.
//!
//! Each body parses and, where a parser has an encoder, checks the round trip: what was
//! accepted encodes back to the same bytes (canonical codecs) or to bytes that parse to the
//! same value (lenient ones). A panic here is a bug either way.

use web_node::bencode;
use web_node::file_record;
use web_node::manifest::Manifest;
use web_node::peer_wire::extension::{ExtendedHandshake, MetadataMessage, TorrentInfo};
use web_node::peer_wire::{Handshake, Message};

/// Strict (canonical) bencode, as hashed and signed: what parses re-encodes byte for byte.
pub fn bencode_strict(data: &[u8]) {
    if let Ok(v) = bencode::parse(data) {
        assert_eq!(v.encode(), data, "strict bencode must round-trip exactly");
    }
    if let Ok((v, used)) = bencode::parse_prefix(data) {
        assert!(used <= data.len());
        assert_eq!(v.encode(), &data[..used]);
    }
}

/// Lenient bencode (any key order), as peers and trackers send it: the value re-encodes
/// canonically, and that encoding parses strictly to the same value.
pub fn bencode_lenient(data: &[u8]) {
    if let Ok(v) = bencode::parse_lenient(data) {
        let canonical = v.encode();
        let again = bencode::parse(&canonical).expect("our own encoding is canonical");
        assert_eq!(again, v);
    }
    if let Ok((_, used)) = bencode::parse_prefix_lenient(data) {
        assert!(used <= data.len());
    }
}

/// A peer-wire byte stream: the handshake, then length-prefixed messages until the input
/// runs out or is malformed. Every message parsed re-encodes to the bytes it came from.
pub fn peer_wire(data: &[u8]) {
    let mut rest = data;
    if let Ok(Some((hs, used))) = Handshake::parse(rest) {
        let mut out = Vec::new();
        hs.encode_into(&mut out);
        assert_eq!(Handshake::parse(&out).ok().flatten(), Some((hs, out.len())));
        rest = &rest[used..];
    }
    while let Ok(Some((msg, used))) = Message::parse(rest) {
        assert!(used > 0 && used <= rest.len());
        assert_eq!(msg.to_vec(), &rest[..used], "peer-wire messages must round-trip exactly");
        if let Message::Extended { id: 0, payload } = msg {
            extension(payload);
        }
        rest = &rest[used..];
    }
}

/// One extension payload read every way a peer's may be: the extended handshake and a
/// `ut_metadata` / `chiral_hashes` message (both use the BEP 9 shape).
pub fn extension(data: &[u8]) {
    if let Ok(hs) = ExtendedHandshake::parse(data) {
        let again = ExtendedHandshake::parse(&hs.encode()).expect("our own handshake parses");
        assert_eq!(again, hs);
    }
    if let Ok(msg) = MetadataMessage::parse(data) {
        let encoded = msg.encode();
        let again = MetadataMessage::parse(&encoded).expect("our own message parses");
        assert_eq!(again, msg);
    }
}

/// A `chiral_pay` message (Style 2 terms, open, accept, voucher, refuse) from a peer: what
/// is accepted re-encodes to a message that parses to the same thing, within the size bound.
pub fn chiral_pay(data: &[u8]) {
    use web_node::pay::wire::{PayMessage, MAX_PAY_MESSAGE};
    if let Ok(msg) = PayMessage::parse(data) {
        assert!(data.len() <= MAX_PAY_MESSAGE);
        let encoded = msg.encode();
        assert!(encoded.len() <= MAX_PAY_MESSAGE);
        assert_eq!(PayMessage::parse(&encoded).expect("our own message parses"), msg);
    }
}

/// A byte stream from an eD2k peer: framed (packed packets inflated within bounds), parsed
/// as client and server messages, whose encodings are stable (parse ∘ encode is a fixed
/// point), and fed to the uploading, downloading and server sessions, which never panic.
pub fn ed2k_wire(data: &[u8]) {
    use web_node::ed2k_wire::download::DownloadSession;
    use web_node::ed2k_wire::server::ServerSession;
    use web_node::ed2k_wire::upload::{ServedFile, UploadOutput, UploadSession};
    use web_node::ed2k_wire::{ClientMsg, Decoder, Identity, ServerMsg};
    let me = Identity::new([7; 16], 0x0100_000a, 4662, "fuzz");
    let mut dec = Decoder::new();
    let mut up = UploadSession::new(me.clone());
    let mut down = DownloadSession::new(me, [1; 16], 20_000_000, false);
    let mut server = ServerSession::new(std::net::Ipv4Addr::new(10, 0, 0, 2));
    for piece in data.chunks(97) {
        dec.push(piece);
        loop {
            let p = match dec.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) | Err(_) => break,
            };
            assert!(p.payload.len() < web_node::ed2k_wire::packet::MAX_PACKET);
            if let Ok(m) = ClientMsg::parse(&p) {
                let once = m.to_packet();
                let again = ClientMsg::parse(&once).expect("our own packet parses").to_packet();
                assert_eq!(once, again);
            }
            if let Ok(m) = ServerMsg::parse(&p) {
                let once = m.to_packet();
                assert_eq!(ServerMsg::parse(&once).expect("our own packet parses").to_packet(), once);
            }
            let _ = up.on_packet(&p);
            while let Some(o) = up.poll() {
                match o {
                    UploadOutput::Lookup(h) => up.file_found(h, Some(ServedFile { hash: h, name: "f".into(), size: 30_000_000 })),
                    UploadOutput::NeedHashset(h) => up.hashset_ready(h, None),
                    UploadOutput::WantSlot => up.slot_granted(),
                    UploadOutput::Read { start, end, .. } => {
                        assert!(end > start && end - start <= web_node::ed2k_wire::upload::MAX_RANGE && end <= 30_000_000);
                        up.on_data(start, &vec![0; (end - start) as usize]);
                    }
                    UploadOutput::Send(_) | UploadOutput::ReleaseSlot => {}
                }
            }
            let _ = down.on_packet(&p);
            while down.poll().is_some() {}
            let _ = server.on_packet(&p, 1, "fuzz");
        }
    }
}

/// An ed2k link a page or a user pastes: bounded, and what parses names a hash and sources
/// with ports.
pub fn ed2k_link(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(link) = text.parse::<web_node::ed2k::Ed2kLink>() {
        assert!(text.len() <= web_node::ed2k::MAX_LINK_LEN);
        assert!(link.sources.len() <= web_node::ed2k::MAX_LINK_SOURCES);
        assert!(link.sources.iter().all(|(h, p)| !h.is_empty() && *p != 0));
    }
}

/// An info dict from a peer (BEP 9) or a .torrent file's `info`, single file or folder:
/// what is accepted is self-consistent (the piece hashes cover the length, the files lie
/// back to back and sum to it, each piece's file spans cover it) and its paths are safe.
pub fn torrent_info(data: &[u8]) {
    if let Ok(info) = TorrentInfo::parse(data) {
        assert!(info.piece_length > 0);
        let pieces = info.pieces();
        assert_eq!(pieces as usize, info.piece_hashes.len());
        let covered: u64 = (0..pieces).map(|i| u64::from(info.piece_len(i))).sum();
        assert_eq!(covered, info.length);
        let mut offset = 0;
        for f in &info.files {
            assert_eq!(f.offset, offset);
            offset += f.length;
            assert!(web_node::torrent_paths::check_path(&f.path, web_node::torrent_paths::PathRules::ANY_HOST).is_ok());
        }
        assert_eq!(offset, info.length);
        // Inputs are small, so are their piece counts: every piece's spans are checked.
        for i in 0..pieces {
            let spanned: u64 = info.piece_spans(i).iter().map(|s| u64::from(s.len)).sum();
            assert_eq!(spanned, u64::from(info.piece_len(i)));
        }
    }
}

/// A manifest fetched from a peer or the DHT: what is accepted re-serializes to a manifest
/// that parses to the same value.
pub fn manifest(data: &[u8]) {
    if let Ok(m) = Manifest::from_bytes(data) {
        let again = Manifest::from_bytes(&m.to_bytes()).expect("our own manifest parses");
        assert_eq!(again, m);
    }
}

/// A signed file record from the DHT, with and without the key it was stored under, at a
/// time inside and far outside any validity window.
pub fn file_record(data: &[u8]) {
    for now in [0, 1_800_000_000, u64::MAX] {
        if let Ok(rec) = file_record::verify_unkeyed(data, now) {
            let key = file_record::record_key(&rec.record.file.cid, &rec.publisher);
            assert!(file_record::verify(&key, data, now).is_ok(), "a record verifies under its own key");
        }
    }
    let _ = file_record::verify(b"/chiral/file/x", data, 1_800_000_000);
}

/// A `Range` header a media element sends the page's stream (`web_node::stream::head`):
/// the answer's range lies inside the file and its reads cover exactly that range.
pub fn stream_range(data: &[u8]) {
    if data.len() < 8 {
        return;
    }
    let length = u64::from_le_bytes(data[..8].try_into().expect("8 bytes")) % (1 << 40);
    let Ok(text) = std::str::from_utf8(&data[8..]) else { return };
    let h = web_node::stream::head(Some(text), length, "x.webm");
    if let Some(r) = h.range {
        assert!(r.start() <= r.end() && *r.end() < length);
        let first = web_node::stream::next_read(*r.start(), *r.end(), 1 << 18).expect("a first read");
        assert!(first.len > 0 && first.len <= web_node::stream::MAX_READ);
    } else {
        assert!(h.status == 416 || length == 0);
    }
}
