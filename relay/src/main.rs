use anyhow::Context;
use clap::Parser;
use relay::config::{Cli, Command, ServeArgs};
use relay::http::{app, AppState};
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Manifest(args)) => {
            let summary = relay::manifest_cmd::run(&args)?;
            println!("{}", serde_json::to_string_pretty(&summary)?);
            Ok(())
        }
        Some(Command::Serve(args)) => serve(args),
        None => serve(cli.serve),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=info")))
        .init();
    tokio::runtime::Runtime::new()?.block_on(async move {
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
        tracing::info!(%local, www = %www.display(), data_dir = %args.data_dir.display(), "relay listening");
        // A machine-readable line for scripts and tests that start the relay on port 0.
        println!("relay listening on http://{local}");
        axum::serve(listener, app(AppState::new(www, public_url)))
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        tracing::info!("relay stopped");
        Ok(())
    })
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
