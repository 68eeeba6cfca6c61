//! `relay manifest FILE`: the same ingest as the page, natively.

use std::fs::File;
use std::io::BufReader;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use web_node::encryption::FileCipher;
use web_node::ingest::{ingest_reader, Ingest, IngestOptions};
use web_node::manifest::{Manifest, ManifestSummary};
use web_node::torrent::Sources;

use crate::config::ManifestArgs;

pub fn build_manifest(args: &ManifestArgs) -> anyhow::Result<Manifest> {
    let file = File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let size = file.metadata()?.len();
    if size == 0 {
        anyhow::bail!("{} is empty: there is nothing to share", args.file.display());
    }
    let name = args
        .file
        .file_name()
        .and_then(|n| n.to_str())
        .context("the file name is not valid UTF-8")?
        .to_string();
    let options = IngestOptions {
        mime: mime_guess::from_path(&args.file).first().map(|m| m.to_string()),
        created_at: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        ..IngestOptions::new(name, size)
    };
    let ingest = match &args.passphrase {
        None => Ingest::new(options)?,
        Some(passphrase) => {
            let mut salt = [0u8; 16];
            let mut nonce_prefix = [0u8; 7];
            getrandom::fill(&mut salt).and_then(|()| getrandom::fill(&mut nonce_prefix))
                .map_err(|e| anyhow::anyhow!("no randomness available: {e}"))?;
            let cipher = FileCipher::create(passphrase, args.iterations, salt, nonce_prefix, size)?;
            Ingest::encrypted(options, cipher)?
        }
    };
    let manifest = ingest_reader(BufReader::with_capacity(1 << 20, file), ingest, |_, _| {})
        .with_context(|| format!("cannot ingest {}", args.file.display()))?;
    Ok(manifest)
}

pub fn run(args: &ManifestArgs) -> anyhow::Result<ManifestSummary> {
    let manifest = build_manifest(args)?;
    let mut summary = manifest.summary(&args.public_url);
    if let Some(bad) = args.ed2k_source.iter().find(|s| s.contains(['|', ',', '/']) || s.rsplit_once(':').is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())) {
        anyhow::bail!("--ed2k-source {bad:?} is not HOST:PORT");
    }
    if !args.ed2k_source.is_empty() {
        summary.ed2k_link = web_node::ed2k::ed2k_link_with_sources(&manifest.name, manifest.size, &manifest.ed2k, &args.ed2k_source);
    }
    if let Some(out) = &args.torrent {
        let sources = Sources::relay(&args.public_url, &summary.cid);
        std::fs::write(out, manifest.torrent_file(&sources)).with_context(|| format!("cannot write {}", out.display()))?;
    }
    if let Some(out) = &args.manifest_out {
        std::fs::write(out, manifest.to_bytes()).with_context(|| format!("cannot write {}", out.display()))?;
    }
    Ok(summary)
}
