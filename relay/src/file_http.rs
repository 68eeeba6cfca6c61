//! The HTTP protocol: `GET|HEAD /file/{cid}` (the whole file) and
//! `GET|HEAD /file/{cid}/chunk/{index}` (one raw 256 KiB chunk), both with conditional
//! requests and ranges ([`crate::conditional`], written out by [`crate::file_response`]).
//! Files the relay holds (`relay seed`, `--seed`) are served chunk by chunk, each read at
//! its offset and checked against the manifest before it leaves, and kept in a bounded
//! memory cache ([`LocalFiles`]): whole files (ETag the CID, Last-Modified the file's mtime;
//! a 500 if its length no longer matches the manifest or its first chunk its hash) and
//! single chunks (ETag `"<cid>-<index>"`). Files only a
//! browser tab holds are fetched through the bridge ([`crate::bridge`]), verified piece by
//! piece, and streamed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use web_node::manifest::Manifest;
use web_node::CHUNK_SIZE;

use crate::conditional::{decide, Validators};
use crate::file_response::{disposition, read_at, respond, Representation, Source};
use crate::api_error::ApiError;
use crate::state::BridgeState;

/// A file on the relay's disk, with its manifest.
pub struct LocalFile {
    pub path: PathBuf,
    pub manifest: Manifest,
    verified: std::sync::Mutex<VerifiedChunks>,
    /// Sold in Style 2 only: HTTP clients get 402 and these terms.
    pub price: Option<web_node::pay::wire::Terms>,
}

impl LocalFile {
    pub fn new(path: PathBuf, manifest: Manifest) -> Self {
        Self { path, manifest, verified: Default::default(), price: None }
    }
}

/// RFC 9110 §15.5.3 402 Payment Required for a priced file, with the terms as JSON
/// (`price_per_mb_wei`, `payee`, `chain_id`, `contract`, `credit_bytes`, and the magnet to
/// buy it with over `chiral_pay`).
fn payment_required(file: &LocalFile, terms: &web_node::pay::wire::Terms) -> Response {
    let body = serde_json::json!({
        "error": "payment required: this file is sold over a payment channel (BitTorrent extension chiral_pay)",
        "cid": file.manifest.cid_hex(),
        "magnet": web_node::torrent::magnet_uri(&file.manifest.infohash, &file.manifest.name, file.manifest.size, &web_node::torrent::Sources::default()),
        "price_per_mb_wei": terms.price_per_mb_wei.to_string(),
        "payee": format!("0x{}", hex::encode(terms.payee)),
        "chain_id": terms.chain_id,
        "contract": format!("0x{}", hex::encode(terms.contract)),
        "credit_bytes": terms.credit_bytes,
    });
    (StatusCode::PAYMENT_REQUIRED, axum::Json(body)).into_response()
}

/// Chunks already checked against the manifest while the file kept one length and
/// modification time: a chunk is hashed once, not on every request, and any write to the
/// file (which moves its mtime) makes every chunk be checked again.
#[derive(Default)]
struct VerifiedChunks {
    stamp: Option<(u64, std::time::SystemTime)>,
    chunks: std::collections::HashSet<u64>,
}

impl VerifiedChunks {
    /// Whether `index` was verified under `stamp` (forgetting everything if the file changed).
    fn check(&mut self, stamp: (u64, std::time::SystemTime), index: u64) -> bool {
        if self.stamp != Some(stamp) {
            self.stamp = Some(stamp);
            self.chunks.clear();
        }
        self.chunks.contains(&index)
    }
}

/// The files the relay holds, by CID, and the verified chunks of them kept in memory.
#[derive(Clone)]
pub struct LocalFiles {
    files: Arc<HashMap<String, LocalFile>>,
    /// `(cid, index)` → the chunk's verified bytes and the file's mtime when read. Bounded
    /// in bytes ([`DEFAULT_CHUNK_CACHE_BYTES`] unless configured), least recently used out
    /// first (moka's TinyLFU). Verified bytes stay right for their CID whatever happens to
    /// the file later, so a hit needs no disk access at all: no open, stat or read, which
    /// were most of the chunk route's cost beside nginx's sendfile (perf, bench-http.sh).
    chunks: moka::sync::Cache<(String, u64), (Bytes, Option<SystemTime>)>,
}

/// Memory for cached chunks when not configured: 64 MiB (256 chunks).
pub const DEFAULT_CHUNK_CACHE_BYTES: u64 = 64 << 20;

impl Default for LocalFiles {
    fn default() -> Self {
        Self::new(Vec::new(), DEFAULT_CHUNK_CACHE_BYTES)
    }
}

impl LocalFiles {
    /// Files served, by CID.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// `files` by CID, with at most `cache_bytes` of verified chunks in memory (0: none).
    pub fn new(files: Vec<LocalFile>, cache_bytes: u64) -> Self {
        let chunks = moka::sync::Cache::builder()
            .max_capacity(cache_bytes)
            .weigher(|_: &(String, u64), (bytes, _): &(Bytes, Option<SystemTime>)| u32::try_from(bytes.len()).unwrap_or(u32::MAX))
            .build();
        Self { files: Arc::new(files.into_iter().map(|f| (f.manifest.cid_hex(), f)).collect()), chunks }
    }

    pub fn get(&self, cid: &str) -> Option<&LocalFile> {
        self.files.get(cid)
    }

    /// Chunk `index` of the held file `cid`, verified, and the file's mtime.
    /// Errors: 404 when the relay does not hold `cid`, else as [`Self::chunk`].
    pub async fn chunk_of(&self, cid: &str, index: u64) -> Result<(Bytes, Option<SystemTime>), ApiError> {
        let file = self.get(cid).ok_or_else(|| not_found(cid))?;
        self.chunk(file, cid, index).await
    }

    /// Chunk `index` of `file`, verified, and the file's mtime: from memory, or read,
    /// checked and kept.
    async fn chunk(&self, file: &LocalFile, cid: &str, index: u64) -> Result<(Bytes, Option<SystemTime>), ApiError> {
        let key = (cid.to_string(), index);
        if let Some(hit) = self.chunks.get(&key) {
            return Ok(hit);
        }
        let (bytes, modified) = read_local_chunk(file, index).await?;
        let value = (Bytes::from(bytes), modified);
        self.chunks.insert(key, value.clone());
        Ok(value)
    }
}

fn not_found(cid: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("no file with content ID {cid} is available from this relay"))
}

fn valid_cid(cid: &str) -> bool {
    cid.len() == 64 && cid.bytes().all(|b| b.is_ascii_hexdigit())
}

pub async fn whole_file(State(files): State<LocalFiles>, State(bridge): State<BridgeState>, Path(cid): Path<String>, method: Method, headers: HeaderMap) -> Response {
    let cid = cid.to_ascii_lowercase();
    if !valid_cid(&cid) {
        return not_found(&cid).into_response();
    }
    if let Some(file) = files.get(&cid) {
        if let Some(terms) = &file.price {
            return payment_required(file, terms);
        }
        return serve_local(&files, file, &cid, &method, &headers).await.unwrap_or_else(IntoResponse::into_response);
    }
    if let Some(bridge) = bridge.0.as_ref() {
        if let Some(response) = bridge.serve_whole(&cid, &method, &headers).await {
            return response;
        }
    }
    not_found(&cid).into_response()
}

/// A file the relay holds, streamed chunk by verified chunk (from the chunk cache or read
/// and checked), never read whole; a chunk that fails its hash ends the response.
async fn serve_local(files: &LocalFiles, file: &LocalFile, cid: &str, method: &Method, headers: &HeaderMap) -> Result<Response, ApiError> {
    let path = file.path.clone();
    let metadata = tokio::task::spawn_blocking(move || std::fs::metadata(&path))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot open the file: {e}")))?;
    let m = &file.manifest;
    if metadata.len() != m.size {
        return Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("the file changed on disk since it was shared: {} bytes, not {}", metadata.len(), m.size)));
    }
    let mime = m.mime.as_deref().and_then(|m| HeaderValue::from_str(m).ok()).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let rep = Representation { len: m.size, content_type: mime, disposition: Some(disposition(&m.name)), validators: Validators::new(cid, metadata.modified().ok().map(not_after_now)) };
    let decision = decide(method, headers, rep.len, &rep.validators);
    let mut pieces = crate::file_response::Pieces::local(files.clone(), cid);
    if let (false, Some(first)) = (method == Method::HEAD, decision.first_byte(rep.len)) {
        // The first chunk now: if it fails its hash, that is the response's status (500).
        pieces.prime(first).await?;
    }
    Ok(respond(decision, &rep, method == Method::HEAD, Source::Pieces(pieces)))
}

/// RFC 9110 §8.8.2.1: a modification time in the future is sent as the present.
fn not_after_now(t: SystemTime) -> SystemTime {
    t.min(SystemTime::now())
}

pub async fn chunk(State(files): State<LocalFiles>, State(bridge): State<BridgeState>, Path((cid, index)): Path<(String, u64)>, method: Method, headers: HeaderMap) -> Response {
    let cid = cid.to_ascii_lowercase();
    if !valid_cid(&cid) {
        return not_found(&cid).into_response();
    }
    let (bytes, modified) = if let Some(file) = files.get(&cid) {
        if let Some(terms) = &file.price {
            return payment_required(file, terms);
        }
        match files.chunk(file, &cid, index).await {
            Ok(read) => read,
            Err(e) => return e.into_response(),
        }
    } else if let Some(bridge) = bridge.0.as_ref().filter(|b| b.has(&cid)) {
        match bridge.piece(&cid, index).await {
            Ok(b) => (Bytes::from(b), None),
            Err(e) => return e.into_response(),
        }
    } else {
        return not_found(&cid).into_response();
    };
    let rep = Representation {
        len: bytes.len() as u64,
        content_type: HeaderValue::from_static("application/octet-stream"),
        disposition: None,
        validators: Validators::new(format!("{cid}-{index}"), modified.map(not_after_now)),
    };
    let decision = decide(&method, &headers, rep.len, &rep.validators);
    respond(decision, &rep, method == Method::HEAD, Source::Memory(bytes))
}

/// One chunk, verified, and the file's mtime; opened, stat'ed and read in one blocking step.
async fn read_local_chunk(file: &LocalFile, index: u64) -> Result<(Vec<u8>, Option<SystemTime>), ApiError> {
    let m = &file.manifest;
    let Some(len) = m.chunk_len(index) else {
        return Err(ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, format!("chunk {index} does not exist: the file has {} chunks", m.chunks())));
    };
    let path = file.path.clone();
    let (bytes, metadata) = tokio::task::spawn_blocking(move || {
        let f = std::fs::File::open(&path).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot open the file: {e}")))?;
        let metadata = f.metadata().ok();
        let bytes = read_at(&f, index * CHUNK_SIZE as u64, len).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot read chunk {index}: {e}")))?;
        Ok::<_, ApiError>((bytes, metadata))
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    let stamp = metadata.and_then(|md| Some((md.len(), md.modified().ok()?)));
    // The file may have changed since it was ingested: never serve bytes that do not verify.
    let known_good = stamp.is_some_and(|s| file.verified.lock().expect("verified lock").check(s, index));
    if !known_good {
        m.verify_chunk(index, &bytes)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("the file changed on disk since it was shared: {e}")))?;
        if let Some(s) = stamp {
            let mut v = file.verified.lock().expect("verified lock");
            if v.stamp == Some(s) {
                v.chunks.insert(index);
            }
        }
    }
    Ok((bytes, stamp.map(|(_, modified)| modified)))
}
