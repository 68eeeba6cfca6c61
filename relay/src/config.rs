//! Command line and environment. Every flag has a `CHIRAL_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use libp2p::multiaddr::Protocol;
use libp2p::Multiaddr;

use crate::outbound::{OutboundPolicy, Scope};

#[derive(Debug, Parser)]
#[command(name = "relay", version, about = "Chiral community relay", args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the relay (the default when no subcommand is given).
    Serve(ServeArgs),
    /// Print a file's manifest summary (CID, chunks, infohash, magnet, ed2k) as JSON.
    Manifest(ManifestArgs),
    /// Run the relay and publish these files' records to the DHT, the relay as their seeder.
    Seed(SeedArgs),
    /// Find a file's record in the DHT and print it as JSON (exit 1 when none is found).
    Lookup(LookupArgs),
    /// Download a magnet from BitTorrent peers (its HTTP/UDP trackers and the mainline DHT)
    /// with the bridge's engine, every piece verified, and write it to a file.
    Fetch(FetchArgs),
    /// Deploy the ChiralChannels payment-channel contract (or find the key's earlier deploy)
    /// and print its address on the last line.
    ChannelsDeploy(ChannelsDeployArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ChannelsDeployArgs {
    /// The chain node's JSON-RPC URL (http://).
    #[arg(long, env = "CHIRAL_ETH_RPC")]
    pub eth_rpc: String,
    /// A file holding the deploying account's private key (64 hex, 0x optional).
    #[arg(long, env = "CHIRAL_DEPLOY_KEY_FILE")]
    pub key_file: PathBuf,
    /// Seconds to wait for the deploy transaction to be mined.
    #[arg(long, default_value_t = 120)]
    pub wait: u64,
}

#[derive(Debug, Clone, Args)]
pub struct FetchArgs {
    /// magnet:?xt=urn:btih:… (its tr= HTTP and UDP trackers are used; WebSocket ones skipped),
    /// or ed2k://|file|NAME|SIZE|HASH|/|sources,HOST:PORT|/ (fetched from its eD2k sources).
    pub magnet: String,
    /// Where to write the file, or for a multi-file torrent the folder that receives its
    /// files as `OUTPUT/<path…>` (default: the magnet's name, else its infohash, in the
    /// current directory).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// The whole file must hash to this content ID (SHA-256, 64 hex).
    #[arg(long)]
    pub cid: Option<String>,
    /// Where other BitTorrent clients reach this download (TCP); also the tracker traffic's source IP.
    #[arg(long = "bt-listen", default_value = "0.0.0.0:0")]
    pub bt_listen: SocketAddr,
    /// DHT nodes to join through, host:port (comma-separated); default: the public routers.
    #[arg(long = "dht-bootstrap", value_delimiter = ',')]
    pub dht_bootstrap: Vec<String>,
    /// Trackers only, no mainline DHT.
    #[arg(long = "no-dht")]
    pub no_dht: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
    /// Style 2: pay sellers from this key.
    #[command(flatten)]
    pub pay: crate::paid::args::PayArgs,
}

impl FetchArgs {
    /// Peers come from trackers and the DHT, so `relay fetch` keeps to public addresses
    /// unless it listens on loopback (development, tests).
    pub fn outbound_scope(&self) -> Scope {
        if self.bt_listen.ip().is_loopback() {
            Scope::Loopback
        } else {
            Scope::Public
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// Files to seed.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Clone, Args)]
pub struct LookupArgs {
    /// The file's content ID (64 hex digits).
    pub cid: String,
    /// A relay to enter the DHT through (repeatable; env CHIRAL_BOOTSTRAP, comma-separated).
    #[arg(long, env = "CHIRAL_BOOTSTRAP", value_delimiter = ',', required = true)]
    pub bootstrap: Vec<Multiaddr>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address for HTTP (the app, APIs and WebSocket endpoints).
    #[arg(long, env = "CHIRAL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Where the relay keeps its state (identity, seeded files, ledgers).
    #[arg(long, env = "CHIRAL_DATA_DIR", default_value = "chiral-data")]
    pub data_dir: PathBuf,
    /// The static app: index.html plus the built bundle in pkg/. Defaults to the source tree's www/.
    #[arg(long, env = "CHIRAL_WWW")]
    pub www: Option<PathBuf>,
    /// The URL browsers use to reach this relay (for magnets and web seeds); default http://LISTEN.
    #[arg(long, env = "CHIRAL_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// libp2p listen addresses (repeatable; env CHIRAL_P2P_LISTEN, comma-separated).
    /// Default: TCP and QUIC on 4001 and WebSocket (for pages) on 4002, on the --listen IP.
    #[arg(long = "p2p-listen", env = "CHIRAL_P2P_LISTEN", value_delimiter = ',')]
    pub p2p_listen: Vec<Multiaddr>,
    /// Other relays to join the DHT through, as /ip4/…/tcp/…/p2p/<peer id>
    /// (repeatable; env CHIRAL_BOOTSTRAP, comma-separated).
    #[arg(long, env = "CHIRAL_BOOTSTRAP", value_delimiter = ',')]
    pub bootstrap: Vec<Multiaddr>,
    /// Addresses other relays and pages reach this relay's libp2p host at, when they differ
    /// from --p2p-listen (behind NAT or a proxy; e.g. /dns4/relay.example.org/tcp/443/wss).
    #[arg(long = "p2p-external", env = "CHIRAL_P2P_EXTERNAL", value_delimiter = ',')]
    pub p2p_external: Vec<Multiaddr>,
    /// Seed these files as well (repeatable; env CHIRAL_SEED, comma-separated), as `relay seed` does.
    #[arg(long = "seed", env = "CHIRAL_SEED", value_delimiter = ',')]
    pub seed: Vec<PathBuf>,
    /// Upload cap per bridge connection (tabs and TCP BitTorrent peers), bytes per second;
    /// unlimited by default.
    #[arg(long = "bridge-rate", env = "CHIRAL_BRIDGE_RATE")]
    pub bridge_rate: Option<u64>,
    /// Files the bridge serves at once (tabs' files and magnets it fetches for tabs).
    #[arg(long = "bridge-max-files", env = "CHIRAL_BRIDGE_MAX_FILES", default_value_t = 64)]
    pub bridge_max_files: usize,
    /// Memory for verified chunks of the files the relay holds, kept for the `/file`
    /// routes, in MiB (0: read every chunk from disk).
    #[arg(long = "chunk-cache-mib", env = "CHIRAL_CHUNK_CACHE_MIB", default_value_t = 64)]
    pub chunk_cache_mib: u64,
    /// Disk for the bridge's cached pieces, all files together, in MiB.
    #[arg(long = "bridge-disk-mib", env = "CHIRAL_BRIDGE_DISK_MIB", default_value_t = 16 * 1024)]
    pub bridge_disk_mib: u64,
    /// Where TCP BitTorrent clients connect (the bridge's BitTorrent side); default: the
    /// --listen IP, port 6881.
    #[arg(long = "bt-listen", env = "CHIRAL_BT_LISTEN")]
    pub bt_listen: Option<std::net::SocketAddr>,
    /// Where the mainline DHT node listens (UDP; BEP 5), which finds BitTorrent peers for
    /// magnets and announces the relay's files; default: the --listen IP, port 6881.
    #[arg(long = "dht-listen", env = "CHIRAL_DHT_LISTEN")]
    pub dht_listen: Option<SocketAddr>,
    /// Where eD2k clients (aMule, eMule) connect: the eDonkey2000 client protocol, and a
    /// minimal eD2k server on the same port; default: the --listen IP, port 4662.
    #[arg(long = "ed2k-listen", env = "CHIRAL_ED2K_LISTEN")]
    pub ed2k_listen: Option<SocketAddr>,
    /// No eD2k.
    #[arg(long = "no-ed2k", env = "CHIRAL_NO_ED2K")]
    pub no_ed2k: bool,
    /// DHT nodes to join through, host:port (repeatable; env comma-separated); default: the
    /// public routers (router.bittorrent.com, dht.transmissionbt.com, dht.libtorrent.org).
    #[arg(long = "dht-bootstrap", env = "CHIRAL_DHT_BOOTSTRAP", value_delimiter = ',')]
    pub dht_bootstrap: Vec<String>,
    /// No mainline DHT: BitTorrent peers come from trackers only.
    #[arg(long = "no-dht", env = "CHIRAL_NO_DHT")]
    pub no_dht: bool,
    /// The DHT node's id (40 hex digits); random by default. Nodes store announces only for
    /// infohashes near their id, so a fixed id makes a node the rendezvous for those torrents.
    #[arg(long = "dht-node-id", env = "CHIRAL_DHT_NODE_ID", value_parser = parse_id20)]
    pub dht_node_id: Option<[u8; 20]>,
    /// The chain node's JSON-RPC URL (http://), proxied at POST /rpc with an allowlist.
    /// Geth in production; scripts/run.sh starts anvil (chain id 98765) and passes it.
    #[arg(long = "eth-rpc", env = "CHIRAL_ETH_RPC")]
    pub eth_rpc: Option<String>,
    /// Fund new wallets with 10 ETH at POST /api/faucet (refused unless the chain is 98765;
    /// for the development chain only).
    #[arg(long = "dev-faucet", env = "CHIRAL_DEV_FAUCET")]
    pub dev_faucet: bool,
    /// A reverse proxy (TLS) in front of the relay, as a CIDR or an address (repeatable; env
    /// CHIRAL_TRUSTED_PROXY, comma-separated). Only requests from these take the client's
    /// address from `Forwarded: for=` or `X-Forwarded-For` (rate limits, per-client caps, the
    /// HTTP tracker's peer list); from anyone else those headers are ignored.
    #[arg(long = "trusted-proxy", env = "CHIRAL_TRUSTED_PROXY", value_delimiter = ',', value_parser = crate::client_addr::parse_cidr)]
    pub trusted_proxy: Vec<ipnet::IpNet>,
    /// A TOML file of these flags' values (keys are the long names: `listen = "0.0.0.0:8080"`,
    /// `trusted-proxy = ["127.0.0.1"]`); flags and CHIRAL_* variables override it
    /// ([`crate::config_file`]).
    #[arg(long, env = "CHIRAL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the effective configuration as TOML, each value's source in a comment, and exit.
    #[arg(long = "print-config")]
    pub print_config: bool,
    /// Logs on stderr as text, or as JSON (one object per line, for log shippers). RUST_LOG
    /// filters either.
    #[arg(long = "log-format", env = "CHIRAL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// STUN and TURN for pages behind NATs.
    #[command(flatten)]
    pub ice: crate::ice::IceArgs,
    /// Style 2: selling the relay's own files over payment channels.
    #[command(flatten)]
    pub sell: crate::paid::args::SellArgs,
}

/// How the relay writes its logs (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per event (tracing-subscriber's JSON format).
    Json,
}

/// A 20-byte id given on the command line was not 40 hex digits.
#[derive(Debug, thiserror::Error)]
#[error("expected 40 hex digits")]
pub struct BadId20;

fn parse_id20(s: &str) -> Result<[u8; 20], BadId20> {
    hex::decode(s).ok().and_then(|v| v.try_into().ok()).ok_or(BadId20)
}

impl ServeArgs {
    pub fn www_dir(&self) -> PathBuf {
        self.www.clone().unwrap_or_else(|| {
            let here = PathBuf::from("www");
            if here.join("index.html").exists() {
                here
            } else {
                PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../www"))
            }
        })
    }

    pub fn trusted_proxies(&self) -> crate::client_addr::TrustedProxies {
        crate::client_addr::TrustedProxies::new(self.trusted_proxy.clone())
    }

    pub fn bridge_limits(&self) -> crate::bridge::BridgeLimits {
        crate::bridge::BridgeLimits { rate: self.bridge_rate, max_files: self.bridge_max_files, disk_bytes: self.bridge_disk_mib.saturating_mul(1 << 20), ..Default::default() }
    }

    /// How far the relay may connect because of untrusted input ([`crate::outbound`]): the
    /// most exposed of its HTTP, BitTorrent and DHT listen addresses and its public URL's
    /// host decides, so a relay on loopback behind a TLS proxy, named by a public URL, is a
    /// public relay. A host name other than `localhost` counts as public.
    pub fn outbound_scope(&self) -> Scope {
        let listening = [Some(self.listen), self.bt_listen, self.dht_listen].into_iter().flatten().map(|a| Scope::of_ip(a.ip()));
        let named = self.public_url.as_deref().map(url_host_scope);
        listening.chain(named).max().unwrap_or(Scope::Public)
    }

    /// The outbound policy of a relay whose HTTP side listens at `http`: its scope, and its
    /// own addresses (HTTP, libp2p, the IPs of its public URL and external addresses). The
    /// BitTorrent and DHT sockets are added as they are bound.
    pub fn outbound_policy(&self, http: SocketAddr) -> OutboundPolicy {
        let policy = OutboundPolicy::new(self.outbound_scope());
        policy.add_own(http);
        for addr in self.p2p_listen_addrs() {
            if let Some(socket) = multiaddr_socket(&addr) {
                policy.add_own(socket);
            }
        }
        for addr in &self.p2p_external {
            if let Some(ip) = multiaddr_socket(addr).map(|s| s.ip()) {
                policy.add_own_ip(ip);
            }
        }
        if let Some(ip) = self.public_url.as_deref().and_then(url_host).and_then(|h| h.parse().ok()) {
            policy.add_own_ip(ip);
        }
        policy
    }

    pub fn p2p_listen_addrs(&self) -> Vec<Multiaddr> {
        if !self.p2p_listen.is_empty() {
            return self.p2p_listen.clone();
        }
        let ip = match self.listen.ip() {
            std::net::IpAddr::V4(ip) => format!("/ip4/{ip}"),
            std::net::IpAddr::V6(ip) => format!("/ip6/{ip}"),
        };
        [format!("{ip}/tcp/4001"), format!("{ip}/udp/4001/quic-v1"), format!("{ip}/tcp/4002/ws")]
            .iter()
            .map(|a| a.parse().expect("well-formed default multiaddr"))
            .collect()
    }
}

/// The IP and TCP or UDP port of a multiaddr (port 0 when it names none).
fn multiaddr_socket(addr: &Multiaddr) -> Option<SocketAddr> {
    let mut ip = None;
    let mut port = 0;
    for p in addr.iter() {
        match p {
            Protocol::Ip4(a) => ip = Some(std::net::IpAddr::V4(a)),
            Protocol::Ip6(a) => ip = Some(std::net::IpAddr::V6(a)),
            Protocol::Tcp(p) | Protocol::Udp(p) if port == 0 => port = p,
            _ => {}
        }
    }
    ip.map(|ip| SocketAddr::new(ip, port))
}

/// The host of an `http(s)://` URL, without IPv6 brackets.
fn url_host(url: &str) -> Option<String> {
    let uri: hyper::Uri = url.parse().ok()?;
    Some(uri.host()?.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase())
}

/// The scope a public URL gives the relay: its IP's, loopback for `localhost`, public for any other name.
fn url_host_scope(url: &str) -> Scope {
    match url_host(url) {
        Some(host) => match host.parse() {
            Ok(ip) => Scope::of_ip(ip),
            Err(_) if host == "localhost" || host.ends_with(".localhost") => Scope::Loopback,
            Err(_) => Scope::Public,
        },
        None => Scope::Public,
    }
}

#[derive(Debug, Clone, Args)]
pub struct ManifestArgs {
    /// The file to describe.
    pub file: PathBuf,
    /// Encrypt with AES-256-GCM under this passphrase first (the CID then names the ciphertext).
    #[arg(long, env = "CHIRAL_PASSPHRASE")]
    pub passphrase: Option<String>,
    /// PBKDF2 iterations for --passphrase.
    #[arg(long, default_value_t = web_node::encryption::DEFAULT_ITERATIONS)]
    pub iterations: u32,
    /// Also write the .torrent here.
    #[arg(long)]
    pub torrent: Option<PathBuf>,
    /// Also write the canonical manifest bytes here.
    #[arg(long)]
    pub manifest_out: Option<PathBuf>,
    /// The relay named as tracker and web seed in the magnet and .torrent.
    #[arg(long, env = "CHIRAL_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,
    /// Where a relay serving the file takes eD2k clients (`IP:PORT`, repeatable): the ed2k
    /// link names it as a source (`|sources,IP:PORT|/`).
    #[arg(long = "ed2k-source", env = "CHIRAL_ED2K_SOURCE", value_delimiter = ',')]
    pub ed2k_source: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> ServeArgs {
        let cli = Cli::try_parse_from(std::iter::once("relay").chain(args.iter().copied())).unwrap();
        cli.serve
    }

    #[test]
    fn the_most_exposed_address_decides_the_outbound_scope() {
        assert_eq!(serve(&["--listen", "127.0.0.1:0"]).outbound_scope(), Scope::Loopback);
        assert_eq!(serve(&["--listen", "0.0.0.0:8080"]).outbound_scope(), Scope::Public);
        assert_eq!(serve(&["--listen", "192.168.1.5:8080"]).outbound_scope(), Scope::Lan);
        assert_eq!(serve(&["--listen", "127.0.0.1:8080", "--bt-listen", "0.0.0.0:6881"]).outbound_scope(), Scope::Public);
        // On loopback behind a TLS proxy, yet public.
        assert_eq!(serve(&["--listen", "127.0.0.1:8080", "--public-url", "https://relay.example.org"]).outbound_scope(), Scope::Public);
        assert_eq!(serve(&["--listen", "127.0.0.1:8080", "--public-url", "http://localhost:8080"]).outbound_scope(), Scope::Loopback);
        assert_eq!(serve(&["--listen", "127.0.0.1:8080", "--public-url", "http://[::1]:8080"]).outbound_scope(), Scope::Loopback);
    }

    #[test]
    fn trusted_proxies_repeat_or_come_comma_separated() {
        let args = serve(&["--trusted-proxy", "127.0.0.1", "--trusted-proxy", "10.0.0.0/8,fd00::/8"]);
        assert_eq!(args.trusted_proxy.iter().map(ToString::to_string).collect::<Vec<_>>(), ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"]);
        assert!(Cli::try_parse_from(["relay", "--trusted-proxy", "proxy.example"]).is_err());
    }

    #[test]
    fn a_relay_never_dials_its_own_sockets() {
        let args = serve(&["--listen", "127.0.0.1:8080", "--p2p-listen", "/ip4/127.0.0.1/tcp/4001,/ip4/127.0.0.1/udp/4001/quic-v1"]);
        let policy = args.outbound_policy("127.0.0.1:8080".parse().unwrap());
        assert!(policy.check("127.0.0.1:8080".parse().unwrap()).is_err());
        assert!(policy.check("127.0.0.1:4001".parse().unwrap()).is_err());
        assert!(policy.check("127.0.0.1:51413".parse().unwrap()).is_ok());
        let behind_nat = serve(&["--listen", "0.0.0.0:8080", "--public-url", "http://203.0.114.9:8080"]);
        let policy = behind_nat.outbound_policy("0.0.0.0:8080".parse().unwrap());
        assert!(policy.check("203.0.114.9:8080".parse().unwrap()).is_err());
        assert!(policy.check("203.0.114.9:8081".parse().unwrap()).is_ok());
    }
}
