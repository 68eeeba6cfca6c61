//! Fetches the relay runs for pages: `POST /api/ed2k/fetch` with an ed2k link starts (or
//! joins) a download from the link's eD2k sources (dialled under the outbound policy, like
//! every address a page names); `GET /api/ed2k/fetch/{hash}` reports it. Parts are
//! checked against the hashset as they land; once the whole file is in, the relay ingests
//! it (CID, chunk hashes, infohash) and serves it like its own files, so the page downloads
//! it by magnet from the relay's bridge (and checks every piece and the CID itself).
//! Bounded: [`MAX_JOBS`] running at once and [`MAX_STORED`] remembered, files up to
//! [`MAX_FILE`] bytes, a fetch at most [`JOB_DEADLINE`]; failed jobs are forgotten after
//! [`KEEP`] and their bytes deleted at once. A finished file stays served (and its job
//! answers later posts of the same hash).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use web_node::ed2k::Ed2kLink;

use super::{Ed2kService, Ed2kState};
use crate::api_error::ApiError;

pub const MAX_JOBS: usize = 8;
pub const MAX_STORED: usize = 256;
pub const MAX_FILE: u64 = 16 << 30;
pub const JOB_DEADLINE: Duration = Duration::from_secs(3 * 3600);
const KEEP: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    Fetching,
    Done { cid: String, infohash: String, magnet: String },
    Failed { error: String },
}

pub struct Job {
    pub name: String,
    pub size: u64,
    pub sources: std::sync::atomic::AtomicUsize,
    verified: AtomicU64,
    state: Mutex<JobState>,
    liars: Mutex<Vec<String>>,
    started: Instant,
}

#[derive(Serialize)]
struct JobView {
    name: String,
    size: u64,
    sources: usize,
    verified: u64,
    liars: Vec<String>,
    #[serde(flatten)]
    state: JobState,
}

impl Job {
    fn view(&self) -> JobView {
        JobView {
            name: self.name.clone(),
            size: self.size,
            sources: self.sources.load(Ordering::Relaxed),
            verified: self.verified.load(Ordering::Relaxed),
            liars: self.liars.lock().expect("liars lock").clone(),
            state: self.state.lock().expect("job lock").clone(),
        }
    }
}

/// The page-requested fetches of one relay.
pub struct Jobs {
    dir: PathBuf,
    public_url: String,
    jobs: Mutex<HashMap<[u8; 16], Arc<Job>>>,
}

impl Jobs {
    pub fn new(dir: PathBuf, public_url: String) -> Self {
        Self { dir, public_url, jobs: Mutex::default() }
    }
}

/// `POST /api/ed2k/fetch` (body: the ed2k link) → the job's state, 202 while fetching.
pub async fn start(State(state): State<Ed2kState>, body: String) -> Response {
    let Some(svc) = state.0 else { return ApiError::new(StatusCode::NOT_FOUND, "this relay does not speak eD2k".into()).into_response() };
    match start_job(&svc, body.trim()).await {
        Ok(job) => (StatusCode::ACCEPTED, axum::Json(job.view())).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /api/ed2k/fetch/{hash}` → `{"state": "fetching" | "done" | "failed", "verified", "size", …}`.
pub async fn status(State(state): State<Ed2kState>, Path(hash): Path<String>) -> Response {
    let Some(svc) = state.0 else { return ApiError::new(StatusCode::NOT_FOUND, "this relay does not speak eD2k".into()).into_response() };
    let hash: Option<[u8; 16]> = hex::decode(&hash).ok().and_then(|b| b.try_into().ok());
    let job = hash.and_then(|h| svc.jobs.jobs.lock().expect("jobs lock").get(&h).cloned());
    match job {
        Some(job) => axum::Json(job.view()).into_response(),
        None => ApiError::new(StatusCode::NOT_FOUND, "no such ed2k fetch".into()).into_response(),
    }
}

async fn start_job(svc: &Arc<Ed2kService>, link: &str) -> Result<Arc<Job>, ApiError> {
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, m);
    let link: Ed2kLink = link.parse().map_err(|e: web_node::ed2k::Ed2kLinkError| bad(e.to_string()))?;
    if link.size == 0 || link.size > MAX_FILE {
        return Err(bad(format!("the relay fetches files of 1 byte to {MAX_FILE} bytes over eD2k")));
    }
    if link.name.len() > 1024 {
        return Err(bad("the link's file name is longer than 1024 bytes".into()));
    }
    let job = Arc::new(Job {
        name: link.name.clone(),
        size: link.size,
        sources: Default::default(),
        verified: AtomicU64::new(0),
        state: Mutex::new(JobState::Fetching),
        liars: Mutex::default(),
        started: Instant::now(),
    });
    // Check and claim the hash under one lock: one fetch per hash at a time.
    {
        let mut jobs = svc.jobs.jobs.lock().expect("jobs lock");
        let state = |j: &Job| j.state.lock().expect("job lock").clone();
        if let Some(existing) = jobs.get(&link.hash) {
            if !matches!(state(existing), JobState::Failed { .. }) {
                return Ok(existing.clone());
            }
        }
        jobs.retain(|_, j| !matches!(state(j), JobState::Failed { .. }) || j.started.elapsed() < KEEP);
        let running = jobs.values().filter(|j| matches!(state(j), JobState::Fetching)).count();
        if running >= MAX_JOBS || jobs.len() >= MAX_STORED {
            return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("the relay runs at most {MAX_JOBS} eD2k fetches at once (and remembers {MAX_STORED}); try again later")));
        }
        jobs.insert(link.hash, job.clone());
    }
    let named: Vec<String> = link.sources.iter().map(|(h, p)| format!("{h}:{p}")).collect();
    let outbound = svc.catalog.bridge.outbound().clone();
    let sources: Vec<SocketAddr> = crate::bridge::resolve_peers(&named).await.into_iter().filter(|a| outbound.check(*a).is_ok()).collect();
    if sources.is_empty() {
        let error = "the link names no eD2k source this relay may connect to (|sources,HOST:PORT|)".to_string();
        *job.state.lock().expect("job lock") = JobState::Failed { error: error.clone() };
        return Err(bad(error));
    }
    job.sources.store(sources.len(), Ordering::Relaxed);
    tokio::spawn(run(svc.clone(), job.clone(), link, sources));
    Ok(job)
}

async fn run(svc: Arc<Ed2kService>, job: Arc<Job>, link: Ed2kLink, sources: Vec<SocketAddr>) {
    let path = svc.jobs.dir.join(hex::encode(link.hash));
    // Fetched beside, moved into place only once verified and ingested.
    let partial = svc.jobs.dir.join(format!("{}.part", hex::encode(link.hash)));
    let result = async {
        std::fs::create_dir_all(&svc.jobs.dir).map_err(|e| e.to_string())?;
        let progress = {
            let job = job.clone();
            move |v: u64| job.verified.store(v, Ordering::Relaxed)
        };
        let fetch = super::fetch::fetch(svc.me.clone(), link.hash, link.size, sources, &partial, progress);
        let report = tokio::time::timeout(JOB_DEADLINE, fetch).await.map_err(|_| format!("not done within {JOB_DEADLINE:?}"))?.map_err(|e| e.to_string())?;
        *job.liars.lock().expect("liars lock") = report.liars.iter().map(|a| a.to_string()).collect();
        let (p, name) = (partial.clone(), link.name.clone());
        let manifest = tokio::task::spawn_blocking(move || ingest(&p, &name)).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
        if manifest.ed2k != link.hash {
            return Err("the fetched file does not hash to the link's ed2k hash".to_string());
        }
        std::fs::rename(&partial, &path).map_err(|e| e.to_string())?;
        svc.catalog.bridge.add_local(&path, &manifest).map_err(|e| e.to_string())?;
        let url = svc.jobs.public_url.clone();
        let summary = manifest.summary(&url);
        if let Some((node, keypair)) = svc.publisher.get() {
            let file = crate::seeding::SeededFile { path: path.clone(), manifest };
            tokio::spawn(crate::seeding::publish_forever(vec![file], node.clone(), keypair.clone(), url, svc.advertised));
        }
        Ok::<_, String>(JobState::Done { cid: summary.cid, infohash: summary.infohash, magnet: summary.magnet })
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    let state = result.unwrap_or_else(|error| JobState::Failed { error });
    tracing::info!(name = %job.name, ?state, "ed2k fetch for a page ended");
    *job.state.lock().expect("job lock") = state;
}

/// The manifest of a fetched file, named as the link names it.
fn ingest(path: &std::path::Path, name: &str) -> anyhow::Result<web_node::manifest::Manifest> {
    use web_node::ingest::{ingest_reader, Ingest, IngestOptions};
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let options = IngestOptions { mime: mime_guess::from_path(name).first().map(|m| m.to_string()), ..IngestOptions::new(name.to_string(), size) };
    Ok(ingest_reader(std::io::BufReader::with_capacity(1 << 20, file), Ingest::new(options)?, |_, _| {})?)
}
