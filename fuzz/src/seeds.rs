//! Seed inputs made by our own encoders (what real Chiral peers, trackers and pages send),
//! per target. `seed-corpus` writes them into `fuzz/corpus/<target>/`; files captured from
//! third-party tools live beside them (`fuzz/seeds/capture.sh`).

use libp2p_identity::Keypair;
use web_node::file_record::{FileInfo, FileRecord, Protocol, Seeder, DEFAULT_TTL_SECS};
use web_node::peer_wire::extension::{ExtendedHandshake, MetadataMessage, UT_METADATA, CHIRAL_HASHES};
use web_node::peer_wire::{BlockRef, Handshake, Message};
use web_node::torrent::Sources;
use web_node::tracker::{ConnId, Tracker};
use web_node::tracker_client::{answer_json, AnnounceRequest};

/// A realistic WebRTC offer: what Chromium puts in a data-channel-only offer.
pub const SDP: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=candidate:1467250027 1 udp 2122260223 192.168.1.7 46243 typ host generation 0 network-id 1\r\na=candidate:842163049 1 udp 1686052607 198.51.100.9 46243 typ srflx raddr 192.168.1.7 rport 46243 generation 0\r\na=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\na=ice-options:trickle\r\na=fingerprint:sha-256 D7:C8:6E:5F:39:36:0B:D6:6D:1B:A8:33:36:CE:6D:72:33:0E:3B:6B:F1:56:8E:2B:1E:29:04:2B:55:4B:0C:61\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";

fn file() -> &'static web_node::manifest::Manifest {
    crate::swarm::file_manifest()
}

fn lines(records: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (sel, rec) in records {
        out.push(*sel);
        out.extend_from_slice(rec);
        out.push(b'\n');
    }
    out
}

fn announce(peer: u8, offers: usize, left: Option<u64>) -> String {
    AnnounceRequest {
        info_hash: file().infohash,
        peer_id: [peer; 20],
        event: Some("started"),
        left,
        uploaded: 0,
        downloaded: 0,
        offers: (0..offers).map(|i| ([peer ^ i as u8; 20], SDP.to_string())).collect(),
    }
    .to_json()
}

fn wire(messages: &[Message<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    Handshake::new(file().infohash, *b"-TR4060-abcdefghijkl").encode_into(&mut out);
    for m in messages {
        m.encode_into(&mut out);
    }
    out
}

fn ext_handshake() -> ExtendedHandshake {
    let mut hs = ExtendedHandshake::default();
    hs.extensions.insert(UT_METADATA.into(), 3);
    hs.extensions.insert(CHIRAL_HASHES.into(), 4);
    hs.metadata_size = Some(file().info_dict_bytes().len() as u64);
    hs.hashes_size = Some(32 * file().chunk_hashes.len() as u64);
    hs.client = Some("Transmission 4.0.6".into());
    hs.reqq = Some(500);
    hs
}

/// A signed DHT record for the fuzz file.
fn record() -> Vec<u8> {
    let key = Keypair::ed25519_from_bytes([7; 32]).expect("a key");
    let peer = key.public().to_peer_id().to_string();
    let seeder = |protocol, endpoint: &str| Seeder { peer_id: peer.clone(), protocol, endpoint: endpoint.into(), wallet: Some(format!("0x{}", "12".repeat(20))), available_chunks: vec![(0, 2)], price_per_mb_wei: 1_000_000_000_000_000 };
    let record = FileRecord {
        file: FileInfo::from_manifest(file()),
        seeders: vec![seeder(Protocol::Http, "http://127.0.0.1:8080/file/x"), seeder(Protocol::WebTorrent, "ws://127.0.0.1:8080/announce")],
        published_at: 1_800_000_000,
        expires_at: 1_800_000_000 + DEFAULT_TTL_SECS,
    };
    record.sign(&key).expect("a record signs")
}

/// Swarm steps (see [`crate::swarm::swarm`]): `[op, len, bytes]`, data cut into ≤ 255-byte steps.
fn steps(start: u8, script: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = vec![start];
    for (op, data) in script {
        if data.is_empty() {
            out.extend_from_slice(&[*op, 0]);
        }
        for cut in data.chunks(255) {
            out.push(*op);
            out.push(cut.len() as u8);
            out.extend_from_slice(cut);
        }
    }
    out
}

/// Seed inputs for the target called `name`.
pub fn for_target(name: &str) -> Vec<Vec<u8>> {
    let m = file();
    let info = m.info_dict_bytes();
    let ext = ext_handshake().encode();
    match name {
        "bencode_strict" | "bencode_lenient" => vec![info.clone(), m.to_bytes(), ext, m.torrent_file(&Sources::relay("http://127.0.0.1:8080", &m.cid_hex())), b"d1:ad1:bi-3ee1:cl0:4:spame4:spami0ee".to_vec()],
        "peer_wire" => vec![wire(&[
            Message::Extended { id: 0, payload: &ext },
            Message::Bitfield(&[0xc0]),
            Message::Interested,
            Message::Unchoke,
            Message::Request(BlockRef { index: 0, begin: 16384, length: 16384 }),
            Message::Piece { index: 1, begin: 0, data: b"0123456789" },
            Message::Have(1),
            Message::Cancel(BlockRef { index: 0, begin: 0, length: 16384 }),
            Message::HaveAll,
            Message::Reject(BlockRef { index: 1, begin: 0, length: 100 }),
            Message::Port(6881),
            Message::KeepAlive,
        ])],
        "extension" => vec![
            ext,
            MetadataMessage::Request { piece: 0 }.encode(),
            MetadataMessage::Data { piece: 0, total_size: info.len() as u64, data: &info }.encode(),
            MetadataMessage::Reject { piece: 3 }.encode(),
        ],
        "torrent_info" => vec![info],
        "manifest" => vec![m.to_bytes()],
        "file_record" => vec![record()],
        "ws_tracker" => {
            let a = announce(1, 5, Some(0));
            let b = announce(2, 5, Some(1000));
            let ans = answer_json(&m.infohash, &[2; 20], &[1; 20], &[1; 20], SDP);
            let scrape = format!("{{\"action\":\"scrape\",\"info_hash\":[{}]}}", serde_json::to_string(&web_node::tracker::id_to_binary_string(&m.infohash)).expect("json"));
            vec![lines(&[(8, a.as_bytes()), (9, b.as_bytes()), (9, ans.as_bytes()), (10, scrape.as_bytes()), (4, &[5]), (1, b"")])]
        }
        "ws_frame" => {
            // What a browser sends: masked text frames (one whole, one in two fragments), a ping.
            let announce = announce(1, 5, Some(0));
            let (a, b) = announce.as_bytes().split_at(100);
            let mut fragmented = vec![64];
            relay::ws_frame::encode_frame(false, relay::ws_frame::Opcode::Text, Some([1, 2, 3, 4]), a, &mut fragmented);
            relay::ws_frame::encode_frame(true, relay::ws_frame::Opcode::Continuation, Some([5, 6, 7, 8]), b, &mut fragmented);
            relay::ws_frame::encode_frame(true, relay::ws_frame::Opcode::Ping, Some([9, 9, 9, 9]), b"hi", &mut fragmented);
            let mut whole = vec![255];
            relay::ws_frame::encode_frame(true, relay::ws_frame::Opcode::Text, Some([0xde, 0xad, 0xbe, 0xef]), announce.as_bytes(), &mut whole);
            vec![fragmented, whole]
        }
        "tracker_response" => {
            // What our tracker core says to a peer, in order: interval, a forwarded offer, an answer.
            let mut t = Tracker::new();
            let mut said = Vec::new();
            for (conn, text) in [(1, announce(1, 5, Some(0))), (2, announce(2, 5, Some(1000)))] {
                for out in t.handle_message(ConnId(conn), text.as_bytes(), 1000) {
                    said.push(out.message.to_string());
                }
            }
            let mut script: Vec<(u8, &[u8])> = vec![(0, b"")];
            script.extend(said.iter().map(|s| (6u8, s.as_bytes())));
            vec![lines(&script)]
        }
        "magnet" => vec![m.magnet(&Sources::relay("http://127.0.0.1:8080", &m.cid_hex())), format!("magnet:?xt=urn:btih:{}&dn=a%20b&tr=wss%3A%2F%2Ftracker.example&x.pe=[::1]:6881&x.pe=10.0.0.1:51413", hex_encode(&m.infohash))].into_iter().map(String::into_bytes).collect(),
        "ed2k_wire" => {
            use web_node::ed2k_wire::message::{ClientMsg, ServerMsg};
            let me = web_node::ed2k_wire::Identity::new([3; 16], 0x0100_000a, 4662, "seed");
            let h = [0x42; 16];
            let stream = |msgs: Vec<web_node::ed2k_wire::Packet>| msgs.iter().flat_map(|p| p.encode()).collect::<Vec<u8>>();
            let packed = web_node::ed2k_wire::Packet::new(0xD4, 0x40, miniz_oxide::deflate::compress_to_vec_zlib(&[0u8; 64], 6));
            vec![
                stream(vec![
                    ClientMsg::Hello(me.hello()).to_packet(),
                    ClientMsg::RequestFileName(h).to_packet(),
                    ClientMsg::SetReqFileId(h).to_packet(),
                    ClientMsg::HashSetRequest(h).to_packet(),
                    ClientMsg::StartUpload(Some(h)).to_packet(),
                    ClientMsg::RequestParts { hash: h, ranges: [(0, 184_320), (184_320, 368_640), (0, 0)] }.to_packet(),
                ]),
                stream(vec![
                    ClientMsg::HelloAnswer(me.hello()).to_packet(),
                    ClientMsg::FileName { hash: [1; 16], name: b"f".to_vec() }.to_packet(),
                    ClientMsg::FileStatus { hash: [1; 16], parts: 0, bits: vec![] }.to_packet(),
                    ClientMsg::AcceptUpload.to_packet(),
                    ClientMsg::SendingPart { hash: [1; 16], start: 0, end: 4, data: vec![1, 2, 3, 4] }.to_packet(),
                    packed,
                ]),
                stream(vec![
                    ServerMsg::Login { user_hash: [5; 16], client_id: 0, port: 4662, tags: me.hello().tags }.to_packet(),
                    ServerMsg::GetSources { hash: h, size: 1 << 33 }.to_packet(),
                ]),
            ]
        }
        "stream_range" => [&b"bytes=0-"[..], b"bytes=100-199", b"bytes=-500", b"bytes=0-1,5-9", b"bytes=99999999999-"]
            .iter()
            .map(|h| [&1_000_000u64.to_le_bytes()[..], h].concat())
            .collect(),
        "ed2k_link" => vec![
            b"ed2k://|file|a%20b.bin|20983865|84ed5d686ff4e5f04b81540dd5b3cd53|/".to_vec(),
            b"ed2k://|file|x|5|84ed5d686ff4e5f04b81540dd5b3cd53|/|sources,10.66.0.1:4662,host.example:4663|/".to_vec(),
            b"ed2k://|server|1.2.3.4|4661|/".to_vec(),
        ],
        "chiral_pay" => {
            use web_node::pay::wire::{PayMessage, Terms};
            let terms = Terms { price_per_mb_wei: 1_000_000_000_000_000, payee: [0xaa; 20], chain_id: 98765, contract: [0xcc; 20], credit_bytes: 2 << 20 };
            vec![
                PayMessage::Terms(terms).encode(),
                PayMessage::Open { channel: [0x11; 32] }.encode(),
                PayMessage::Accept { channel: [0x11; 32], paid_wei: 5 }.encode(),
                PayMessage::Voucher { channel: [0x11; 32], amount_wei: 262_144_000_000_000, signature: [0x1b; 65] }.encode(),
                PayMessage::Refuse { reason: "no wallet".into() }.encode(),
            ]
        }
        "ice_config" => vec![
            br#"{"ice_servers":[{"urls":["stun:198.18.0.1:3478"]},{"urls":["turn:198.18.0.1:3478?transport=udp"],"username":"1700003600:page-10.1.0.2","credential":"Sfm03yD6/7BgtysfN/OMbFcHCks="},{"urls":["stun:stun.example.org:3478"]}],"ttl":3600,"expires":1700003600}"#.to_vec(),
            br#"{"ice_servers":[],"ttl":3600}"#.to_vec(),
            b"stun:stun.example.org:3478\nturn:turn.example.org:3478?transport=udp alice secret # mine\n".to_vec(),
        ],
        "http_announce_query" => vec![format!("info_hash={}&peer_id=-TR4060-abcdefghijkl&port=51413&uploaded=0&downloaded=0&left=0&compact=1&numwant=80&event=started&key=1&cid={}&tr=ws%3A%2F%2Fa&pe=127.0.0.1:1&want=1", pct(&m.infohash), m.cid_hex()).into_bytes()],
        "http_announce_reply" => vec![
            relay::http_tracker::response(&["127.0.0.1:51413".parse().expect("addr"), "[::1]:6881".parse().expect("addr")], 3, 4),
            relay::http_tracker::failure("unregistered torrent"),
            b"d8:intervali1800e5:peersld2:ip9:127.0.0.17:peer id20:-TR4060-abcdefghijkl4:porti51413eeee".to_vec(),
        ],
        "udp_tracker_reply" => {
            let mut announce = vec![0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 0, 0, 7, 8, 0, 0, 0, 1, 0, 0, 0, 2];
            announce.extend_from_slice(&[127, 0, 0, 1, 0xc8, 0xd5, 10, 0, 0, 2, 0x1a, 0xe1]);
            vec![vec![0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8], announce, [&[0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef][..], b"torrent not registered"].concat()]
        }
        "rpc_guard" => [
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}"#,
            r#"[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":"a","method":"eth_getBalance","params":["0x1212121212121212121212121212121212121212","latest"]}]"#,
            r#"{"jsonrpc":"2.0","id":7,"method":"eth_sendRawTransaction","params":["0x02f86c8301812d80843b9aca00847735940082520894"]}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"eth_call","params":[{"to":"0x1212121212121212121212121212121212121212","data":"0x70a08231"},"latest"]}"#,
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect(),
        "byte_ranges" => ["bytes=0-99", "bytes=-500", "bytes=0-1, 5-9,,", "bytes=262144-", "BYTES = 1-2,3-4"].iter().map(|s| s.as_bytes().to_vec()).collect(),
        "http_fields" => vec![lines(&[
            (0, b"\"sha256-abc\", W/\"x\""),
            (1, b"*"),
            (2, b"Tue, 14 Nov 2023 22:13:20 GMT"),
            (4, b"\"sha256-abc\""),
            (5, b"bytes=0-99"),
            (6, b"for=192.0.2.60;proto=http;by=203.0.113.43, for=\"[2001:db8:cafe::17]:4711\""),
            (7, b"203.0.113.195, 70.41.3.18, 150.172.238.178"),
        ])],
        "swarm" => {
            let hs = wire(&[]);
            let request = Message::Request(BlockRef { index: 1, begin: 0, length: 16384 }).to_vec();
            let interested = Message::Interested.to_vec();
            let ext_msg = Message::Extended { id: 0, payload: &ext_handshake().encode() }.to_vec();
            let meta = Message::Extended { id: web_node::peer_wire::extension::OUR_UT_METADATA_ID, payload: &MetadataMessage::Data { piece: 0, total_size: info.len() as u64, data: &info }.encode() }.to_vec();
            let bitfield = Message::Bitfield(&[0xc0]).to_vec();
            let unchoke = Message::Unchoke.to_vec();
            let block = Message::Piece { index: 1, begin: 0, data: &crate::swarm::piece(1)[..16384] }.to_vec();
            vec![
                // A leecher asks the seeder for a block; storage answers the read.
                steps(0, &[(0x08, b""), (0x02, &hs), (0x02, &ext_msg), (0x02, &interested), (0x02, &request), (0x07, b""), (0x06, &[64])]),
                // A seeder feeds the leecher the first block of piece 1.
                steps(1, &[(0x00, b""), (0x02, &hs), (0x02, &ext_msg), (0x02, &bitfield), (0x02, &unchoke), (0x02, &block), (0x05, &[30])]),
                // A magnet leecher gets the info dict over ut_metadata, then a second peer comes.
                steps(2, &[(0x08, b""), (0x02, &hs), (0x02, &ext_msg), (0x02, &meta), (0x18, b""), (0x12, &hs), (0x11, b"")]),
            ]
        }
        _ => Vec::new(),
    }
}

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn pct(b: &[u8]) -> String {
    b.iter().map(|x| format!("%{x:02X}")).collect()
}
