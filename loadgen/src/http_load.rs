//! Open-loop HTTP chunk clients: request i is due at `start + i / rate`, whatever happened to
//! the others, and its latency runs from that due time (no coordinated omission).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::stats::{Latencies, Summary};

#[derive(Debug, Clone)]
pub struct ChunkLoad {
    /// `http://HOST:PORT`
    pub base: String,
    pub cid: String,
    /// Requests rotate over chunks `0..chunks`, each `chunk_bytes` long.
    pub chunks: u64,
    pub chunk_bytes: u64,
    /// Requests per second, and for how long.
    pub rate: u64,
    pub duration: Duration,
}

#[derive(Debug)]
pub struct ChunkReport {
    pub sent: u64,
    pub ok: u64,
    pub errors: u64,
    pub latency: Summary,
    pub seconds: f64,
}

impl ChunkReport {
    pub fn json(&self) -> Value {
        json!({ "sent": self.sent, "ok": self.ok, "errors": self.errors, "latency": self.latency.json(),
                "rate": self.ok as f64 / self.seconds.max(1e-9) })
    }
}

pub async fn run(load: ChunkLoad) -> ChunkReport {
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(512).build_http();
    let latencies = Arc::new(Latencies::default());
    let (ok, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let total = load.rate * load.duration.as_secs();
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = start + Duration::from_nanos(i * 1_000_000_000 / load.rate.max(1));
        tokio::time::sleep_until(due).await;
        let uri = format!("{}/file/{}/chunk/{}", load.base, load.cid, i % load.chunks.max(1));
        let (client, latencies, ok, errors, want) = (client.clone(), latencies.clone(), ok.clone(), errors.clone(), load.chunk_bytes);
        tasks.spawn(async move {
            let good = tokio::time::timeout(Duration::from_secs(10), fetch(&client, &uri, want)).await.is_ok_and(|r| r);
            latencies.record(due.elapsed());
            if good { ok.fetch_add(1, Ordering::Relaxed) } else { errors.fetch_add(1, Ordering::Relaxed) };
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    ChunkReport {
        sent: total,
        ok: ok.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        latency: latencies.take(),
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// One GET; true if it answered 200 with exactly `want` bytes.
async fn fetch<C>(client: &Client<C, Empty<Bytes>>, uri: &str, want: u64) -> bool
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let Ok(uri) = uri.parse::<hyper::Uri>() else { return false };
    let Ok(response) = client.get(uri).await else { return false };
    if response.status() != hyper::StatusCode::OK {
        return false;
    }
    let mut body = response.into_body();
    let mut got = 0u64;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => got += f.data_ref().map_or(0, |d| d.len() as u64),
            Err(_) => return false,
        }
    }
    got == want
}
