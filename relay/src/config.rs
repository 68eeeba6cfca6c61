//! Command line and environment. Every flag has a `CHIRAL_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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

    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.listen))
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
}
