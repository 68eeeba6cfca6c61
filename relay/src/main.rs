use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches};
use relay::config::{Cli, Command, FetchArgs, LogFormat, LookupArgs, ServeArgs};
use relay::http::{app, AppState};
use relay::p2p::{self, NodeConfig};
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    // A config file (--config / CHIRAL_CONFIG) fills the variables the environment leaves
    // unset, before clap parses and before any thread starts.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let from_file = match relay::config_file::path_from(&argv, std::env::var_os("CHIRAL_CONFIG")) {
        Some(path) => relay::config_file::apply(relay::config_file::read(&Cli::command(), &path)?),
        None => Vec::new(),
    };
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches)?;
    let serve_matches = match matches.subcommand() {
        Some(("serve" | "seed", sub)) => sub,
        _ => &matches,
    };
    if matches!(cli.command, None | Some(Command::Serve(_)) | Some(Command::Seed(_))) && serve_matches.get_flag("print_config") {
        print!("{}", relay::config_file::render(&Cli::command(), serve_matches, &from_file));
        return Ok(());
    }
    match cli.command {
        Some(Command::Manifest(args)) => {
            let summary = relay::manifest_cmd::run(&args)?;
            println!("{}", serde_json::to_string_pretty(&summary)?);
            Ok(())
        }
        Some(Command::Lookup(args)) => {
            init_logs("warn", LogFormat::Text);
            runtime()?.block_on(lookup(args))
        }
        Some(Command::Fetch(args)) => {
            init_logs("warn", LogFormat::Text);
            runtime()?.block_on(fetch(args))
        }
        Some(Command::ChannelsDeploy(args)) => {
            init_logs("warn", LogFormat::Text);
            runtime()?.block_on(relay::channels_cmd::run(args))
        }
        Some(Command::Seed(args)) => {
            let mut serve_args = args.serve;
            serve_args.seed.extend(args.paths);
            serve(serve_args)
        }
        Some(Command::Serve(args)) => serve(args),
        None => serve(cli.serve),
    }
}

fn init_logs(default: &str, format: LogFormat) {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default)))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).with_current_span(false).init(),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Runtime::new()?)
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logs("info,tower_http=info,libp2p_kad=warn", args.log_format);
    runtime()?.block_on(async move {
        std::fs::create_dir_all(&args.data_dir)
            .with_context(|| format!("cannot create data dir {}", args.data_dir.display()))?;
        let www = args.www_dir();
        if !www.join("index.html").exists() {
            anyhow::bail!("{} has no index.html: pass --www or build the app first", www.display());
        }
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let local = listener.local_addr()?;
        let public_url = args.public_url.clone().unwrap_or_else(|| format!("http://{local}"));
        let seeded = relay::seeding::ingest_all(&args.seed, &public_url)?;
        let (ed2k_listener, ed2k_source) = bind_ed2k(&args, &public_url).await;

        let keypair = p2p::identity::load_or_create(&args.data_dir)?;
        let (node, node_task) = p2p::spawn(NodeConfig {
            keypair: keypair.clone(),
            listen: args.p2p_listen_addrs(),
            bootstrap: args.bootstrap.clone(),
            external: args.p2p_external.clone(),
            server: true,
        })
        .await?;
        tracing::info!(peer_id = %node.peer_id, "p2p node started");
        println!("relay peer id {}", node.peer_id);
        let local_files: Vec<_> = seeded.iter().map(|f| relay::file_http::LocalFile::new(f.path.clone(), f.manifest.clone())).collect();
        let publisher = (!seeded.is_empty())
            .then(|| tokio::spawn(relay::seeding::publish_forever(seeded, node.clone(), keypair.clone(), public_url.clone(), ed2k_source)));

        tracing::info!(%local, www = %www.display(), data_dir = %args.data_dir.display(), "relay listening");
        // A machine-readable line for scripts and tests that start the relay on port 0.
        println!("relay listening on http://{local}");
        // Where the relay may connect because of what pages, trackers and peers tell it.
        let outbound = args.outbound_policy(local);
        tracing::info!(scope = %outbound.scope(), "outbound connections to trackers and peers");
        let mut state = AppState::with_node(www, public_url, node)
            .with_bridge(&args.data_dir, args.bridge_limits(), outbound.clone())
            .with_trusted_proxies(args.trusted_proxies());
        if let (Some(bridge), Some(node)) = (&state.bridge.0, &state.node.0) {
            bridge.set_records(node.clone());
        }
        let seller = relay::paid::seller_from_args(&args).await?;
        let mut local_files = local_files;
        if let Some(s) = &seller {
            for f in &mut local_files {
                f.price = Some(s.terms);
            }
            tokio::spawn(s.clone().close_due_forever());
        }
        if let Some(bridge) = &state.bridge.0 {
            for f in &local_files {
                bridge.add_local_sold(&f.path, &f.manifest, seller.clone())?;
            }
        }
        if let (Some(bridge), Some(listener)) = (&state.bridge.0, ed2k_listener) {
            let svc = relay::ed2k::Ed2kService::new(bridge.clone(), ed2k_source, &args.data_dir, &state.site.public_url);
            outbound.add_own(listener.local_addr()?);
            if let Some(node) = &state.node.0 {
                svc.set_publisher(node.clone(), keypair.clone());
            }
            println!("ed2k listening on {}", listener.local_addr()?);
            if seller.is_none() {
                for f in &local_files {
                    println!("ed2k link {}", svc.link(&f.manifest.name, f.manifest.size, &f.manifest.ed2k));
                }
            }
            tokio::spawn(svc.clone().serve(listener));
            state = state.with_ed2k(svc);
        }
        state = state.with_files_cached(local_files, args.chunk_cache_mib.saturating_mul(1 << 20));
        if let Some(ice) = relay::ice::IceService::start(&args.ice, &args.data_dir, outbound.clone()).await? {
            state = state.with_ice(ice);
        }
        if let Some(url) = &args.eth_rpc {
            let proxy = relay::rpc_proxy::RpcProxy::new(url.clone(), args.dev_faucet)?;
            let chain_id = match proxy.call("eth_chainId", serde_json::json!([])).await {
                Ok(id) => {
                    tracing::info!(%url, chain_id = %id, "chain node reachable; proxied at /rpc");
                    id.as_str().and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
                }
                Err(e) => {
                    tracing::warn!(%url, "chain node not reachable yet (pages will see a clear error): {e}");
                    None
                }
            };
            let chain_id = chain_id.unwrap_or(web_node::wallet::CHAIN_ID);
            match relay::paid::args::contract_address(args.sell.channel_contract.as_deref(), chain_id) {
                Ok(contract) => state = state.with_channels(contract, chain_id),
                Err(e) => tracing::warn!("no payment channels for pages: {e}"),
            }
            state = state.with_rpc(proxy);
        }
        if let Some(bridge) = state.bridge.0.clone() {
            let bt = args.bt_listen.unwrap_or_else(|| std::net::SocketAddr::new(args.listen.ip(), 6881));
            match tokio::net::TcpListener::bind(bt).await {
                Ok(l) => {
                    let addr = l.local_addr()?;
                    outbound.add_own(addr);
                    let _ = state.bt.addr.set(addr);
                    println!("bittorrent listening on {addr}");
                    tokio::spawn(relay::bt_tcp::serve(l, bridge.clone()));
                    let discovery = relay::peer_discovery::Discovery::start(discovery_config(&args, bridge.peer_id(), addr.port(), outbound.clone())).await;
                    if let Some(dht) = discovery.dht_addr() {
                        println!("mainline dht listening on {dht}");
                    }
                    bridge.set_discovery(discovery, addr);
                }
                Err(e) => tracing::warn!("no TCP BitTorrent on {bt}: {e}"),
            }
        }
        axum::serve(listener, app(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        if let Some(p) = publisher {
            p.abort();
        }
        node_task.abort();
        tracing::info!("relay stopped");
        Ok(())
    })
}

/// The eD2k listener (none with --no-ed2k or when the port is taken: the relay runs on
/// without eD2k) and the address links name.
async fn bind_ed2k(args: &ServeArgs, public_url: &str) -> (Option<tokio::net::TcpListener>, Option<std::net::SocketAddrV4>) {
    if args.no_ed2k {
        return (None, None);
    }
    let addr = args.ed2k_listen.unwrap_or_else(|| std::net::SocketAddr::new(args.listen.ip(), 4662));
    match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => {
            let public = public_url.split("://").nth(1).and_then(|h| h.split(['/', ':']).next()).and_then(|h| h.parse().ok());
            let source = l.local_addr().ok().and_then(|a| relay::ed2k::advertised(a, public));
            (Some(l), source)
        }
        Err(e) => {
            tracing::warn!("no eD2k on {addr}: {e}");
            (None, None)
        }
    }
}

/// Where the DHT node listens, if it runs: not with --no-dht, and not on a loopback address
/// with the public routers as bootstrap (a loopback socket cannot reach them).
fn dht_listen(args: &ServeArgs) -> Option<std::net::SocketAddr> {
    let listen = args.dht_listen.unwrap_or_else(|| std::net::SocketAddr::new(args.listen.ip(), 6881));
    if args.no_dht {
        return None;
    }
    if listen.ip().is_loopback() && args.dht_bootstrap.is_empty() {
        tracing::info!("no mainline DHT: {listen} is a loopback address and cannot reach the public DHT (pass --dht-bootstrap to join a local one)");
        return None;
    }
    Some(listen)
}

fn discovery_config(args: &ServeArgs, peer_id: [u8; 20], announce_port: u16, outbound: relay::outbound::OutboundPolicy) -> relay::peer_discovery::DiscoveryConfig {
    relay::peer_discovery::DiscoveryConfig {
        peer_id,
        announce_port,
        bind_ip: args.listen.ip(),
        dht_listen: dht_listen(args),
        dht_bootstrap: relay::peer_discovery::bootstrap_or_default(&args.dht_bootstrap),
        dht_node_id: args.dht_node_id,
        outbound,
    }
}

async fn fetch(args: FetchArgs) -> anyhow::Result<()> {
    if args.magnet.to_ascii_lowercase().starts_with("ed2k://") {
        return fetch_ed2k(args).await;
    }
    let magnet = web_node::tracker_client::parse_magnet(&args.magnet)?;
    // The magnet's `dn` names the output only if it is one safe path component.
    let safe_dn = magnet.name.clone().filter(|n| web_node::torrent_paths::check_component(n, web_node::torrent_paths::PathRules::host()).is_ok());
    let output = args.output.clone().unwrap_or_else(|| PathBuf::from(safe_dn.unwrap_or_else(|| hex::encode(magnet.info_hash))));
    let scratch = tempfile_dir()?;
    let listener = tokio::net::TcpListener::bind(args.bt_listen).await.with_context(|| format!("cannot listen on {}", args.bt_listen))?;
    let bt = listener.local_addr()?;
    // Peers come from trackers and the DHT: public addresses only, unless on loopback.
    let outbound = relay::outbound::OutboundPolicy::new(args.outbound_scope());
    outbound.add_own(bt);
    let bridge = relay::bridge::Bridge::new(&scratch, relay::bridge::BridgeLimits::default(), outbound.clone());
    tokio::spawn(relay::bt_tcp::serve(listener, bridge.clone()));
    let config = relay::peer_discovery::DiscoveryConfig {
        peer_id: bridge.peer_id(),
        announce_port: bt.port(),
        bind_ip: bt.ip(),
        dht_listen: (!args.no_dht).then(|| std::net::SocketAddr::new(bt.ip(), 0)),
        dht_bootstrap: relay::peer_discovery::bootstrap_or_default(&args.dht_bootstrap),
        dht_node_id: None,
        outbound,
    };
    bridge.set_discovery(relay::peer_discovery::Discovery::start(config).await, bt);
    let started = std::time::Instant::now();
    let trackers: Vec<String> = magnet.trackers.iter().filter(|t| relay::peer_discovery::speaks(t)).cloned().collect();
    let peers = relay::bridge::resolve_peers(&magnet.peers).await;
    let buyer = relay::paid::buyer_from_args(&args.pay).await?;
    let info = tokio::time::timeout(Duration::from_secs(args.timeout), bridge.fetch_paying(magnet.info_hash, &trackers, peers, output.clone(), args.cid.map(|c| c.to_ascii_lowercase()), buyer))
        .await
        .map_err(|_| anyhow::anyhow!("the download did not finish within {} s", args.timeout))?
        .map_err(|e| anyhow::anyhow!(e))?;
    let secs = started.elapsed().as_secs_f64();
    let rate = info.length as f64 / 1048576.0 / secs;
    if info.is_single_file() {
        println!("fetched {} ({} bytes) to {} in {secs:.2} s ({rate:.1} MiB/s)", info.name, info.length, output.display());
    } else {
        let files: Vec<_> = info.real_files().collect();
        let bytes: u64 = files.iter().map(|f| f.length).sum();
        println!("fetched folder {} ({} files, {bytes} bytes) to {} in {secs:.2} s ({rate:.1} MiB/s)", info.name, files.len(), output.display());
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// `relay fetch ed2k://|file|…|/|sources,…|/`: from the link's eD2k sources, every part
/// checked against the hashset, the hashset against the link's hash.
async fn fetch_ed2k(args: FetchArgs) -> anyhow::Result<()> {
    let link: web_node::ed2k::Ed2kLink = args.magnet.parse()?;
    let safe = web_node::torrent_paths::check_component(&link.name, web_node::torrent_paths::PathRules::host()).is_ok();
    let output = args.output.clone().unwrap_or_else(|| PathBuf::from(if safe { link.name.clone() } else { hex::encode(link.hash) }));
    let sources = relay::bridge::resolve_peers(&link.sources.iter().map(|(h, p)| format!("{h}:{p}")).collect::<Vec<_>>()).await;
    let mut random = [0u8; 16];
    let _ = getrandom::fill(&mut random);
    let me = web_node::ed2k_wire::Identity::new(random, 0, 0, "Chiral relay fetch");
    let started = std::time::Instant::now();
    let report = tokio::time::timeout(Duration::from_secs(args.timeout), relay::ed2k::fetch::fetch(me, link.hash, link.size, sources, &output, |_| {}))
        .await
        .map_err(|_| anyhow::anyhow!("the download did not finish within {} s", args.timeout))??;
    let secs = started.elapsed().as_secs_f64();
    for liar in &report.liars {
        println!("dropped {liar}: it sent a part that failed its MD4");
    }
    println!("fetched {} ({} bytes) to {} in {secs:.2} s ({:.1} MiB/s) over ed2k", link.name, link.size, output.display(), link.size as f64 / 1048576.0 / secs);
    Ok(())
}

/// A private scratch directory for `relay fetch` (the bridge's cache dir, unused there).
fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let mut tag = [0u8; 8];
    let _ = getrandom::fill(&mut tag);
    let dir = std::env::temp_dir().join(format!("chiral-fetch-{}", hex::encode(tag)));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

async fn lookup(args: LookupArgs) -> anyhow::Result<()> {
    let cid = args.cid.to_ascii_lowercase();
    if cid.len() != 64 || !cid.bytes().all(|c| c.is_ascii_hexdigit()) {
        anyhow::bail!("{} is not a content ID (64 hex digits)", args.cid);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout);
    let (node, _task) = p2p::spawn(NodeConfig {
        keypair: libp2p::identity::Keypair::generate_ed25519(),
        listen: Vec::new(),
        bootstrap: args.bootstrap.clone(),
        external: Vec::new(),
        server: false,
    })
    .await?;
    // Enter the DHT: wait until a bootstrap relay is in the routing table.
    loop {
        if node.info().await?.routing_table_size > 0 {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("could not reach any bootstrap relay within {} s", args.timeout);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let found = tokio::time::timeout_at(deadline, node.lookup(&cid, p2p::now_secs()))
        .await
        .map_err(|_| anyhow::anyhow!("the DHT lookup timed out after {} s", args.timeout))??;
    match found {
        Some(view) => {
            println!("{}", serde_json::to_string_pretty(&view)?);
            Ok(())
        }
        None => anyhow::bail!("no record for {cid} in the DHT"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
