//! NAT traversal for the pages a relay serves: a STUN responder (RFC 8489 Binding) and a
//! TURN server (RFC 8656, UDP), both webrtc-rs's `turn` crate, plus `GET /api/ice`, which
//! gives each page its `RTCIceServer` list with short-lived TURN credentials
//! ([`credentials`], the TURN REST convention).
//!
//! Off unless asked for: `--stun-listen ADDR` answers STUN only; `--turn-listen ADDR`
//! runs TURN (which answers STUN too). Bounds: `--turn-max-allocations` live allocations,
//! `--turn-quota-mib` relayed per allocation ([`quota`]), `--turn-credential-ttl` seconds
//! per credential, `--ice-requests-per-minute` credentials per client address.

pub mod credentials;
pub mod quota;

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use clap::Args;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use turn::server::config::{ConnConfig, ServerConfig};
use turn::server::Server;
use webrtc_util::vnet::net::Net;

use crate::client_addr::ClientAddr;
use credentials::CredentialIssuer;
use quota::{LimitedRelays, NoRelays, Quotas, TurnStats};

/// STUN/TURN flags (flattened into the relay's serve flags).
#[derive(Debug, Clone, Args)]
pub struct IceArgs {
    /// UDP address of a STUN responder (pages learn their public address and port from it).
    /// Off by default; 3478 is STUN's port.
    #[arg(long = "stun-listen", env = "CHIRAL_STUN_LISTEN")]
    pub stun_listen: Option<SocketAddr>,
    /// UDP address of the TURN server (relays WebRTC for pages no direct path joins; it
    /// answers STUN too). Off by default.
    #[arg(long = "turn-listen", env = "CHIRAL_TURN_LISTEN")]
    pub turn_listen: Option<SocketAddr>,
    /// The IP peers reach the STUN/TURN sockets at, when it is not the one they listen on
    /// (behind NAT, or listening on 0.0.0.0): pages are told it, and TURN allocations are
    /// announced at it.
    #[arg(long = "ice-external", env = "CHIRAL_ICE_EXTERNAL")]
    pub external: Option<IpAddr>,
    /// The TURN realm (RFC 8489 §9.2).
    #[arg(long = "turn-realm", env = "CHIRAL_TURN_REALM", default_value = "chiral")]
    pub realm: String,
    /// The TURN REST shared secret (other TURN servers sharing it accept this relay's
    /// credentials, e.g. coturn's `static-auth-secret`). Default: made once and kept in
    /// DATA_DIR/turn.secret.
    #[arg(long = "turn-secret", env = "CHIRAL_TURN_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Seconds a TURN credential from /api/ice lives (pages fetch new ones before that).
    #[arg(long = "turn-credential-ttl", env = "CHIRAL_TURN_CREDENTIAL_TTL", default_value_t = 3600)]
    pub credential_ttl: u64,
    /// TURN allocations alive at once, all clients together.
    #[arg(long = "turn-max-allocations", env = "CHIRAL_TURN_MAX_ALLOCATIONS", default_value_t = 256)]
    pub max_allocations: usize,
    /// MiB one TURN allocation may relay (both directions); beyond it its packets are dropped.
    #[arg(long = "turn-quota-mib", env = "CHIRAL_TURN_QUOTA_MIB", default_value_t = 2048)]
    pub quota_mib: u64,
    /// /api/ice answers per client address per minute (each gives a new credential).
    #[arg(long = "ice-requests-per-minute", env = "CHIRAL_ICE_REQUESTS_PER_MINUTE", default_value_t = 30)]
    pub requests_per_minute: u32,
    /// More ICE servers for pages, as RTCIceServer URLs (repeatable; env comma-separated),
    /// e.g. `stun:stun.example.org:3478`; listed after the relay's own.
    #[arg(long = "ice-server", env = "CHIRAL_ICE_SERVERS", value_delimiter = ',')]
    pub extra: Vec<String>,
}

/// One `RTCIceServer` (W3C WebRTC §4.2.4) as pages receive it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// `GET /api/ice`'s body.
#[derive(Debug, Serialize)]
pub struct IceConfig {
    pub ice_servers: Vec<IceServer>,
    /// Seconds the TURN credential lives; pages ask again well before.
    pub ttl: u64,
    /// Unix seconds the TURN credential expires at (absent without TURN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
}

/// The running STUN/TURN servers and what `/api/ice` hands out.
pub struct IceService {
    stun_urls: Vec<String>,
    turn_urls: Vec<String>,
    extra: Vec<String>,
    issuer: CredentialIssuer,
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    sweeps: std::sync::atomic::AtomicU64,
    pub stats: Arc<TurnStats>,
    servers: Vec<Server>,
}

impl std::fmt::Debug for IceService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IceService").field("stun_urls", &self.stun_urls).field("turn_urls", &self.turn_urls).finish_non_exhaustive()
    }
}

/// `/api/ice`'s state: the service, when STUN, TURN or extra servers are configured.
#[derive(Clone, Default)]
pub struct IceState(pub Option<Arc<IceService>>);

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `stun:IP:PORT` / `turn:IP:PORT?transport=udp`, IPv6 in brackets (RFC 7064, RFC 7065).
fn ice_url(scheme: &str, ip: IpAddr, port: u16) -> String {
    let host = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    match scheme {
        "turn" => format!("turn:{host}:{port}?transport=udp"),
        _ => format!("{scheme}:{host}:{port}"),
    }
}

/// The shared secret: the flag's, else DATA_DIR/turn.secret (32 random bytes, hex; made once, mode 0600).
fn load_or_create_secret(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join("turn.secret");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let text = text.trim();
        anyhow::ensure!(text.len() >= 32, "{} holds no usable secret (delete it to make a new one)", path.display());
        return Ok(text.as_bytes().to_vec());
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for the TURN secret: {e}"))?;
    let text = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    use std::io::Write;
    options.open(&path).and_then(|mut f| f.write_all(text.as_bytes())).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(text.into_bytes())
}

/// Checks TURN usernames against the issuer and gives the server the RFC 8489 long-term key.
struct RestAuth {
    issuer: CredentialIssuer,
    stats: Arc<TurnStats>,
}

impl turn::auth::AuthHandler for RestAuth {
    fn auth_handle(&self, username: &str, realm: &str, src_addr: SocketAddr) -> Result<Vec<u8>, turn::Error> {
        match self.issuer.check(username, now_secs()) {
            Ok(password) => Ok(turn::auth::generate_auth_key(username, realm, &password)),
            Err(e) => {
                self.stats.auth_refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::debug!(%src_addr, "TURN credential refused: {e}");
                Err(turn::Error::Other(e.to_string()))
            }
        }
    }
}

impl IceService {
    /// Binds the configured sockets and starts the servers; `None` when nothing is asked for.
    /// `listen_ip` (the relay's `--listen` IP) names the sockets when `--ice-external` is
    /// absent; a wildcard listen address then is an error, as peers could not be told where to go.
    /// `outbound`: where the relay may connect; TURN relays only to and from those peers.
    pub async fn start(args: &IceArgs, data_dir: &Path, outbound: crate::outbound::OutboundPolicy) -> anyhow::Result<Option<Self>> {
        if args.stun_listen.is_none() && args.turn_listen.is_none() && args.extra.is_empty() {
            return Ok(None);
        }
        let advertised = |addr: SocketAddr, flag: &str| -> anyhow::Result<IpAddr> {
            match args.external {
                Some(ip) => Ok(ip),
                None if addr.ip().is_unspecified() => anyhow::bail!("{flag} {addr} listens on every address: name the one peers reach with --ice-external IP"),
                None => Ok(addr.ip()),
            }
        };
        let secret = match &args.secret {
            Some(s) if s.len() >= 16 => s.as_bytes().to_vec(),
            Some(_) => anyhow::bail!("--turn-secret must be at least 16 characters"),
            None => load_or_create_secret(data_dir)?,
        };
        let issuer = CredentialIssuer::new(secret, args.credential_ttl);
        let stats = Arc::new(TurnStats::default());
        let per_minute = NonZeroU32::new(args.requests_per_minute.max(1)).expect("max(1) is non-zero");
        let mut service = Self {
            stun_urls: vec![],
            turn_urls: vec![],
            extra: args.extra.clone(),
            issuer: issuer.clone(),
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            sweeps: std::sync::atomic::AtomicU64::new(0),
            stats: stats.clone(),
            servers: vec![],
        };
        if let Some(addr) = args.stun_listen {
            let ip = advertised(addr, "--stun-listen")?;
            let socket = tokio::net::UdpSocket::bind(addr).await.with_context(|| format!("cannot listen for STUN on {addr}"))?;
            let port = socket.local_addr()?.port();
            outbound.add_own(socket.local_addr()?);
            let refuse_all = RestAuth { issuer: CredentialIssuer::new(b"stun-only".to_vec(), 1), stats: Arc::default() };
            service.servers.push(
                Server::new(ServerConfig {
                    conn_configs: vec![ConnConfig { conn: Arc::new(socket), relay_addr_generator: Box::new(NoRelays) }],
                    realm: args.realm.clone(),
                    auth_handler: Arc::new(refuse_all),
                    channel_bind_timeout: std::time::Duration::ZERO,
                    alloc_close_notify: None,
                })
                .await?,
            );
            println!("stun listening on {}", SocketAddr::new(addr.ip(), port));
            service.stun_urls.push(ice_url("stun", ip, port));
        }
        if let Some(addr) = args.turn_listen {
            let ip = advertised(addr, "--turn-listen")?;
            let socket = tokio::net::UdpSocket::bind(addr).await.with_context(|| format!("cannot listen for TURN on {addr}"))?;
            let port = socket.local_addr()?.port();
            outbound.add_own(socket.local_addr()?);
            let relays = turn::relay::relay_static::RelayAddressGeneratorStatic { relay_address: ip, address: addr.ip().to_string(), net: Arc::new(Net::new(None)) };
            let quotas = Quotas { max_allocations: args.max_allocations, bytes_per_allocation: args.quota_mib.saturating_mul(1 << 20) };
            service.servers.push(
                Server::new(ServerConfig {
                    conn_configs: vec![ConnConfig { conn: Arc::new(socket), relay_addr_generator: Box::new(LimitedRelays { inner: relays, quotas, stats: stats.clone(), policy: outbound.clone() }) }],
                    realm: args.realm.clone(),
                    auth_handler: Arc::new(RestAuth { issuer, stats: stats.clone() }),
                    channel_bind_timeout: std::time::Duration::ZERO,
                    alloc_close_notify: None,
                })
                .await?,
            );
            println!("turn listening on {}", SocketAddr::new(addr.ip(), port));
            if service.stun_urls.is_empty() {
                service.stun_urls.push(ice_url("stun", ip, port));
            }
            service.turn_urls.push(ice_url("turn", ip, port));
        }
        Ok(Some(service))
    }

    /// The ICE servers for one page: the relay's STUN, its TURN with a fresh credential
    /// tagged with `tag`, then `--ice-server`s.
    pub fn config(&self, tag: &str, now: u64) -> IceConfig {
        self.config_with(Some(tag), now)
    }

    /// As [`IceService::config`], without a TURN credential when `tag` is `None`.
    fn config_with(&self, tag: Option<&str>, now: u64) -> IceConfig {
        let mut ice_servers = vec![];
        if !self.stun_urls.is_empty() {
            ice_servers.push(IceServer { urls: self.stun_urls.clone(), username: None, credential: None });
        }
        let mut expires = None;
        if let (false, Some(tag)) = (self.turn_urls.is_empty(), tag) {
            let c = self.issuer.issue(tag, now);
            expires = Some(c.expires);
            ice_servers.push(IceServer { urls: self.turn_urls.clone(), username: Some(c.username), credential: Some(c.password) });
        }
        ice_servers.extend(self.extra.iter().map(|u| IceServer { urls: vec![u.clone()], username: None, credential: None }));
        IceConfig { ice_servers, ttl: self.issuer.ttl(), expires }
    }

    /// Stops the servers (their sockets close).
    pub async fn close(&self) {
        for s in &self.servers {
            let _ = s.close().await;
        }
    }
}

/// `GET /api/ice`: this relay's ICE servers for the calling page (an empty list when it
/// runs none). Beyond `--ice-requests-per-minute` a client gets them without a TURN
/// credential (STUN costs the relay nothing) and a `Retry-After`.
pub async fn ice_servers(State(ice): State<IceState>, client: ClientAddr) -> Response {
    let Some(service) = ice.0.as_deref() else {
        return Json(IceConfig { ice_servers: vec![], ttl: 3600, expires: None }).into_response();
    };
    if let Err(wait) = service.limiter.check_key(&client.limit_key()) {
        let secs = wait.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default())).as_secs().max(1);
        return ([(header::RETRY_AFTER, secs.to_string()), (header::CACHE_CONTROL, "no-store".to_string())], Json(service.config_with(None, now_secs()))).into_response();
    }
    // Forget idle clients now and then (bounded memory), not on every request.
    if service.limiter.len() > 100_000 && service.sweeps.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 1024 == 0 {
        service.limiter.retain_recent();
    }
    let tag = format!("page-{}", client.ip()).replace(':', ".");
    ([(header::CACHE_CONTROL, "no-store")], Json(service.config(&tag, now_secs()))).into_response()
}

/// `GET /api/ice/stats`: live TURN numbers (allocations, relayed and dropped bytes, refusals).
pub async fn ice_stats(State(ice): State<IceState>) -> Json<serde_json::Value> {
    Json(ice.0.as_deref().map_or_else(|| serde_json::json!({ "enabled": false }), |s| {
        let mut v = s.stats.snapshot();
        v["enabled"] = true.into();
        v
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_rfc_7064_and_7065() {
        assert_eq!(ice_url("stun", "198.18.0.1".parse().unwrap(), 3478), "stun:198.18.0.1:3478");
        assert_eq!(ice_url("turn", "::1".parse().unwrap(), 3478), "turn:[::1]:3478?transport=udp");
    }
}
