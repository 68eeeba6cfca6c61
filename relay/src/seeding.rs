//! Seeding local files: their signed records go into the DHT, and are republished.

use std::path::PathBuf;
use std::time::Duration;

use web_node::file_record::{FileInfo, FileRecord, Protocol, Seeder, DEFAULT_TTL_SECS};
use web_node::manifest::Manifest;

use crate::config::ManifestArgs;
use crate::p2p::{now_secs, NodeHandle, REPUBLISH_EVERY};

pub struct SeededFile {
    pub path: PathBuf,
    pub manifest: Manifest,
}

/// Ingests every file (streaming) before the relay starts serving.
pub fn ingest_all(paths: &[PathBuf], public_url: &str) -> anyhow::Result<Vec<SeededFile>> {
    paths
        .iter()
        .map(|path| {
            let args = ManifestArgs {
                file: path.clone(),
                passphrase: None,
                iterations: 1,
                torrent: None,
                manifest_out: None,
                public_url: public_url.to_string(),
                ed2k_source: Vec::new(),
            };
            let manifest = crate::manifest_cmd::build_manifest(&args)?;
            tracing::info!(path = %path.display(), cid = %manifest.cid_hex(), "seeding");
            println!("seeding {} as {}", path.display(), manifest.cid_hex());
            Ok(SeededFile { path: path.clone(), manifest })
        })
        .collect()
}

/// This relay's record for a file it holds: every chunk, served over HTTP.
/// With `ed2k`, the relay is listed under eD2k too (`IP:PORT`, the whole file).
pub fn record_for(manifest: &Manifest, node: &NodeHandle, public_url: &str, now: u64, ed2k: Option<std::net::SocketAddrV4>) -> FileRecord {
    let http = Seeder {
        peer_id: node.peer_id.to_string(),
        protocol: Protocol::Http,
        endpoint: format!("{}/file/{}", public_url.trim_end_matches('/'), manifest.cid_hex()),
        wallet: None,
        available_chunks: vec![(0, manifest.chunks())],
        price_per_mb_wei: 0,
    };
    let ed2k = ed2k.map(|a| Seeder { protocol: Protocol::Ed2k, endpoint: a.to_string(), ..http.clone() });
    FileRecord {
        file: FileInfo::from_manifest(manifest),
        seeders: std::iter::once(http).chain(ed2k).collect(),
        published_at: now,
        expires_at: now + DEFAULT_TTL_SECS,
    }
}

/// Publishes once the node knows a peer (or after 10 s alone), again 30 s later (peers that
/// joined meanwhile), then every `REPUBLISH_EVERY`, each time freshly signed.
pub async fn publish_forever(files: Vec<SeededFile>, node: NodeHandle, keypair: libp2p::identity::Keypair, public_url: String, ed2k: Option<std::net::SocketAddrV4>) {
    for _ in 0..100 {
        if node.info().await.is_ok_and(|i| i.routing_table_size > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut delays = [Duration::from_secs(30)].into_iter().chain(std::iter::repeat(REPUBLISH_EVERY));
    loop {
        for f in &files {
            let record = record_for(&f.manifest, &node, &public_url, now_secs(), ed2k);
            let result = match record.sign(&keypair) {
                Ok(signed) => node.publish(&f.manifest.cid_hex(), signed, now_secs()).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match result {
                Ok(report) => {
                    tracing::info!(cid = %f.manifest.cid_hex(), ?report, "published");
                    println!("published {}", f.manifest.cid_hex());
                }
                Err(e) => tracing::warn!(cid = %f.manifest.cid_hex(), error = %e, "publishing failed"),
            }
        }
        tokio::time::sleep(delays.next().unwrap_or(REPUBLISH_EVERY)).await;
    }
}
