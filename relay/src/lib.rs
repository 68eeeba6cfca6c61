//! The Chiral relay: a native node that serves the app and bridges browsers to the network.
//!
//! | module | what it is |
//! | --- | --- |
//! | [`bridge`] | files only browser tabs hold, fetched over `/bridge` WebSockets by a native `Swarm` |
//! | [`file_http`] | `/file/{cid}` and `/file/{cid}/chunk/{i}` (GET, HEAD), from disk or the bridge |
//! | [`conditional`] | RFC 9110 preconditions (ETag = CID, Last-Modified) and Range → a plain `Decision` (pure) |
//! | [`byte_ranges`] | the `Range` grammar, satisfiable ranges, `multipart/byteranges` framing (pure) |
//! | [`file_response`] | writes a `Decision` out, streaming from disk, memory or bridged pieces |
//! | [`bt_tcp`] | TCP BitTorrent: clients connect here and join the bridge's swarm for their infohash |
//! | [`ed2k`] | eDonkey2000 on `--ed2k-listen`: serving aMule/eMule, a minimal eD2k server, fetching from eD2k sources for `relay fetch` and pages |
//! | [`channels_cmd`] | `relay channels-deploy`: puts the `ChiralChannels` payment-channel contract on a chain, idempotently |
//! | [`client_addr`] | who a request comes from: `--trusted-proxy` and `Forwarded`/`X-Forwarded-For` (pure), the `ClientAddr` extractor |
//! | [`client_caps`] | what one client address may hold at once (bridge files, TCP peers) |
//! | [`http_tracker`] | BEP 3 HTTP announces at `/announce` (compact peers), pure |
//! | [`config`] | flags and environment |
//! | [`http`] | the axum router: static app, health |
//! | [`ice`] | STUN and TURN (webrtc-rs `turn`) for pages behind NATs, `/api/ice` credentials (TURN REST) |
//! | [`metrics`] | `GET /metrics`: Prometheus text format, counters where things happen, gauges read at scrape |
//! | [`config_file`] | `--config relay.toml`: a TOML file under the flags and environment; `--print-config` |
//! | [`manifest_cmd`] | `relay manifest FILE`: a file's identities as JSON |
//! | [`outbound`] | where the relay may connect because of untrusted input (trackers, peers): one policy, pure |
//! | [`peer_discovery`] | peers from HTTP/UDP trackers (BEP 3/15) and the mainline DHT (BEP 5) for the bridge |
//! | [`p2p`] | the libp2p host: Kademlia server, circuit relay v2, identify, ping, AutoNAT |
//! | [`seeding`] | `relay seed`: records for local files, published and republished |
//! | [`rpc_guard`] | what `/rpc` lets through: method allowlist, batch and size bounds, rate buckets (pure) |
//! | [`rpc_proxy`] | `POST /rpc` to the chain node, `POST /api/faucet` on the dev chain |
//! | [`tracker_ws`] | `/announce`: WebTorrent's WebSocket tracker over `web_node::tracker` |
//! | [`socket_outbox`] | one tracker socket's bounded queue, unallocated while empty |
//! | [`ws_frame`] | RFC 6455 framing, server side (pure): a decoder that holds nothing between messages |
//! | [`ws_upgrade`] | the WebSocket opening handshake on hyper's upgrade, handing over the raw connection |

pub mod api_error;
pub mod bridge;
pub mod byte_ranges;
pub mod conditional;
pub mod ed2k;
pub mod config;
pub mod file_http;
pub mod file_response;
pub mod bt_tcp;
pub mod channels_cmd;
pub mod client_addr;
pub mod client_caps;
pub mod http;
pub mod http_tracker;
pub mod ice;
pub mod manifest_cmd;
pub mod metrics;
pub mod config_file;
pub mod outbound;
pub mod p2p;
pub mod paid;
pub mod peer_discovery;
pub mod rpc_guard;
pub mod rpc_proxy;
pub mod seeding;
pub mod state;
pub mod socket_outbox;
pub mod tracker_ws;
pub mod ws_frame;
pub mod ws_upgrade;
