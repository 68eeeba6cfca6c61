//! The HTTP protocol: `GET|HEAD /file/{cid}` (the whole file, with Range) and
//! `GET|HEAD /file/{cid}/chunk/{index}` (one raw 256 KiB chunk). Files the relay holds
//! (`relay seed`, `--seed`) are served from disk: whole-file requests by tower-http's
//! `ServeFile` (Range, HEAD, 416, conditional requests), chunks read at their offset and
//! checked against the manifest before they leave. Files only a browser tab holds are
//! fetched through the bridge ([`crate::bridge`]), verified piece by piece, and streamed.

use std::collections::HashMap;
use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tower::ServiceExt;
use web_node::manifest::Manifest;
use web_node::CHUNK_SIZE;

use crate::http::{ApiError, AppState};

/// A file on the relay's disk, with its manifest.
pub struct LocalFile {
    pub path: PathBuf,
    pub manifest: Manifest,
    verified: std::sync::Mutex<VerifiedChunks>,
}

impl LocalFile {
    pub fn new(path: PathBuf, manifest: Manifest) -> Self {
        Self { path, manifest, verified: Default::default() }
    }
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

pub type LocalFiles = Arc<HashMap<String, LocalFile>>;

fn not_found(cid: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("no file with content ID {cid} is available from this relay"))
}

fn valid_cid(cid: &str) -> bool {
    cid.len() == 64 && cid.bytes().all(|b| b.is_ascii_hexdigit())
}

fn disposition(name: &str) -> HeaderValue {
    let escaped = percent_encoding::utf8_percent_encode(name, web_node::torrent::URI_COMPONENT);
    HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{escaped}")).unwrap_or(HeaderValue::from_static("attachment"))
}

pub async fn whole_file(State(state): State<AppState>, Path(cid): Path<String>, request: Request) -> Response {
    let cid = cid.to_ascii_lowercase();
    if !valid_cid(&cid) {
        return not_found(&cid).into_response();
    }
    if let Some(file) = state.inner.files.get(&cid) {
        let mime = file.manifest.mime.clone().unwrap_or_else(|| "application/octet-stream".into());
        let mut response = match tower_http::services::ServeFile::new_with_mime(&file.path, &mime.parse().unwrap_or(mime_guess::mime::APPLICATION_OCTET_STREAM))
            .oneshot(request)
            .await
        {
            Ok(r) => r.into_response(),
            Err(e) => return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot read the file: {e}")).into_response(),
        };
        response.headers_mut().insert(header::CONTENT_DISPOSITION, disposition(&file.manifest.name));
        return response;
    }
    if let Some(bridge) = state.inner.bridge.as_ref() {
        if let Some(response) = bridge.serve_whole(&cid, request).await {
            return response;
        }
    }
    not_found(&cid).into_response()
}

pub async fn chunk(State(state): State<AppState>, Path((cid, index)): Path<(String, u64)>, method: Method) -> Response {
    let cid = cid.to_ascii_lowercase();
    if !valid_cid(&cid) {
        return not_found(&cid).into_response();
    }
    let bytes = if let Some(file) = state.inner.files.get(&cid) {
        match read_local_chunk(file, index).await {
            Ok(b) => b,
            Err(e) => return e.into_response(),
        }
    } else if let Some(bridge) = state.inner.bridge.as_ref().filter(|b| b.has(&cid)) {
        match bridge.piece(&cid, index).await {
            Ok(b) => b,
            Err(e) => return e.into_response(),
        }
    } else {
        return not_found(&cid).into_response();
    };
    let len = bytes.len();
    let body = if method == Method::HEAD { Body::empty() } else { Body::from(bytes) };
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream")), (header::CONTENT_LENGTH, HeaderValue::from(len))],
        body,
    )
        .into_response()
}

async fn read_local_chunk(file: &LocalFile, index: u64) -> Result<Vec<u8>, ApiError> {
    let m = &file.manifest;
    let Some(len) = m.chunk_len(index) else {
        return Err(ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, format!("chunk {index} does not exist: the file has {} chunks", m.chunks())));
    };
    let mut f = tokio::fs::File::open(&file.path)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot open the file: {e}")))?;
    let stamp = f.metadata().await.ok().and_then(|md| Some((md.len(), md.modified().ok()?)));
    f.seek(SeekFrom::Start(index * CHUNK_SIZE as u64)).await.map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let mut bytes = vec![0u8; len];
    f.read_exact(&mut bytes).await.map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot read chunk {index}: {e}")))?;
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
    Ok(bytes)
}
