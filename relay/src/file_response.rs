//! The driver of [`crate::conditional`]: writes a [`Decision`] out as an HTTP response and
//! streams the content from where it lives: a chunk already in memory, or a file piece by
//! verified piece (one piece held at a time): a bridged file's from the tabs, a held file's
//! from the relay's chunk cache or disk. `multipart/byteranges` bodies are streamed part by part.
//!
//! Every 200, 206 and 304 carries `Accept-Ranges: bytes` (§14.3), `ETag` and, when known,
//! `Last-Modified`; a 416 carries `Content-Range: bytes */LEN` (§14.4); 412 and 416 are JSON
//! errors like every other error of the API.

use std::io;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::bridge::Bridge;
use crate::byte_ranges::{ByteRange, Multipart, Segment};
use crate::conditional::{Decision, Validators};
use crate::api_error::ApiError;

/// What is served: its length, media type, validators and, for whole files, a download name.
pub struct Representation {
    pub len: u64,
    pub content_type: HeaderValue,
    pub disposition: Option<HeaderValue>,
    pub validators: Validators,
}

/// Where the content's bytes come from.
pub enum Source {
    /// Already in memory (a chunk, verified).
    Memory(Bytes),
    /// A bridged file, fetched piece by piece.
    Pieces(Pieces),
}

impl Source {
    /// Between 1 and `max` bytes of the representation from `offset` (fewer when a block or
    /// piece ends first).
    async fn read(&mut self, offset: u64, max: u64) -> io::Result<Bytes> {
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        match self {
            Source::Memory(bytes) => {
                let from = usize::try_from(offset).ok().filter(|f| *f < bytes.len()).ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
                Ok(bytes.slice(from..bytes.len().min(from.saturating_add(max))))
            }
            Source::Pieces(pieces) => pieces.read(offset, max).await.map_err(|e| io::Error::other(e.message().to_string())),
        }
    }
}

/// `len` bytes of `file` from `offset`, read straight into a new buffer's spare capacity
/// (zeroing 256 KiB first was 12 % of the chunk route's CPU: perf, scripts/bench-http.sh).
/// Moves the file position: for a descriptor only one reader uses at a time.
/// Errors: `UnexpectedEof` if the file ends first, or the read's own error.
pub fn read_at(file: &std::fs::File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    use std::io::{Read, Seek};
    let mut file = file;
    file.seek(io::SeekFrom::Start(offset))?;
    let mut buf = Vec::with_capacity(len);
    file.take(len as u64).read_to_end(&mut buf)?;
    if buf.len() != len {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("the file ends {} bytes early", len - buf.len())));
    }
    Ok(buf)
}

/// A bridged file's bytes, piece by piece through [`Bridge::piece`], holding one piece.
pub struct Pieces {
    source: PieceSource,
    cid: String,
    piece_len: u64,
    held: Option<(u64, Bytes)>,
}

/// Where verified pieces come from.
enum PieceSource {
    /// A bridged file's pieces, fetched from the tabs that hold it.
    Bridge(Bridge),
    /// A file the relay holds: its chunks, read, checked against the manifest and kept in
    /// memory ([`crate::file_http::LocalFiles`]).
    Local(crate::file_http::LocalFiles),
}

impl Pieces {
    pub fn new(bridge: Bridge, cid: &str, piece_len: u32) -> Self {
        Self { source: PieceSource::Bridge(bridge), cid: cid.to_string(), piece_len: u64::from(piece_len), held: None }
    }

    /// The file with content ID `cid` that the relay holds, chunk by verified chunk.
    pub fn local(files: crate::file_http::LocalFiles, cid: &str) -> Self {
        Self { source: PieceSource::Local(files), cid: cid.to_string(), piece_len: web_node::CHUNK_SIZE as u64, held: None }
    }

    /// Fetches the piece that holds `offset` now, so that its failure (402, 504, …) can still
    /// be the response's status instead of a 200 that breaks off.
    pub async fn prime(&mut self, offset: u64) -> Result<(), ApiError> {
        self.read(offset, 1).await.map(drop)
    }

    async fn read(&mut self, offset: u64, max: usize) -> Result<Bytes, ApiError> {
        let bad = |what: &str| ApiError::new(StatusCode::BAD_GATEWAY, format!("the bridged file's {what}"));
        let index = offset.checked_div(self.piece_len).ok_or_else(|| bad("pieces have no length"))?;
        let piece = match self.held.take() {
            Some((held, bytes)) if held == index => bytes,
            stale => {
                drop(stale); // one piece in memory, not two
                match &self.source {
                    PieceSource::Bridge(bridge) => Bytes::from(bridge.piece(&self.cid, index).await?),
                    PieceSource::Local(files) => files.chunk_of(&self.cid, index).await?.0,
                }
            }
        };
        self.held = Some((index, piece.clone()));
        let from = (offset - index * self.piece_len) as usize;
        if from >= piece.len() {
            return Err(bad("piece is shorter than its torrent says"));
        }
        Ok(piece.slice(from..piece.len().min(from.saturating_add(max))))
    }
}

/// `attachment; filename*=UTF-8''…` (RFC 6266, any name).
pub fn disposition(name: &str) -> HeaderValue {
    let escaped = percent_encoding::utf8_percent_encode(name, web_node::torrent::URI_COMPONENT);
    HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{escaped}")).unwrap_or(HeaderValue::from_static("attachment"))
}

/// The response for `decision`; `head`: headers only.
pub fn respond(decision: Decision, rep: &Representation, head: bool, source: Source) -> Response {
    let len = rep.len;
    let (status, content_length, content_type, segments) = match decision {
        Decision::NotModified => {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            validator_headers(response.headers_mut(), &rep.validators);
            return response;
        }
        Decision::PreconditionFailed => {
            return ApiError::new(StatusCode::PRECONDITION_FAILED, "a precondition (If-Match, If-Unmodified-Since or If-None-Match) does not hold for this file".into()).into_response()
        }
        Decision::Unsatisfiable => {
            let mut response = ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, format!("no requested range starts inside the file's {len} bytes")).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return response;
        }
        Decision::Whole => {
            let all = len.checked_sub(1).map(|last| Segment::Range(ByteRange { first: 0, last }));
            (StatusCode::OK, len, rep.content_type.clone(), all.into_iter().collect())
        }
        Decision::Partial(range) => (StatusCode::PARTIAL_CONTENT, range.len(), rep.content_type.clone(), vec![Segment::Range(range)]),
        Decision::Multipart(ranges) => {
            let boundary = boundary();
            let multipart = Multipart::new(&ranges, len, rep.content_type.to_str().unwrap_or("application/octet-stream"), &boundary);
            let content_type = HeaderValue::from_str(&Multipart::content_type(&boundary)).unwrap_or(HeaderValue::from_static("multipart/byteranges"));
            (StatusCode::PARTIAL_CONTENT, multipart.content_length, content_type, multipart.segments)
        }
    };
    let single_range = match segments.as_slice() {
        [Segment::Range(r)] if status == StatusCode::PARTIAL_CONTENT => HeaderValue::from_str(&r.content_range(len)).ok(),
        _ => None,
    };
    let body = if head || segments.is_empty() { Body::empty() } else { body(source, segments) };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(content_length));
    if let Some(range) = single_range {
        headers.insert(header::CONTENT_RANGE, range);
    }
    if let Some(disposition) = &rep.disposition {
        headers.insert(header::CONTENT_DISPOSITION, disposition.clone());
    }
    validator_headers(headers, &rep.validators);
    response
}

fn validator_headers(headers: &mut HeaderMap, validators: &Validators) {
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(etag) = validators.etag_header() {
        headers.insert(header::ETAG, etag);
    }
    if let Some(modified) = validators.last_modified_header() {
        headers.insert(header::LAST_MODIFIED, modified);
    }
}

/// 32 random hex digits (RFC 2046 allows 70): content cannot be crafted to contain it.
fn boundary() -> String {
    let mut random = [0u8; 16];
    match getrandom::fill(&mut random) {
        Ok(()) => hex::encode(random),
        Err(_) => "chiral-byteranges-3d0c5e8a61f94b27".into(),
    }
}

/// The segments in order, each range read from `source` as it is sent.
fn body(source: Source, segments: Vec<Segment>) -> Body {
    if let (Source::Memory(bytes), [Segment::Range(r)]) = (&source, segments.as_slice()) {
        if let (Ok(first), Ok(end)) = (usize::try_from(r.first), usize::try_from(r.last + 1)) {
            if end <= bytes.len() {
                return Body::from(bytes.slice(first..end));
            }
        }
    }
    let start = Some((source, segments.into_iter(), None::<(u64, u64)>));
    Body::from_stream(futures::stream::unfold(start, |state| async move {
        let (mut source, mut segments, current) = state?;
        // `at..end`: what is left of the range being sent.
        let (at, end) = match current {
            Some(left) => left,
            None => match segments.next()? {
                Segment::Literal(text) => return Some((Ok(Bytes::from(text)), Some((source, segments, None)))),
                Segment::Range(r) => (r.first, r.last + 1),
            },
        };
        match source.read(at, end - at).await {
            Ok(mut bytes) if !bytes.is_empty() => {
                bytes.truncate(usize::try_from(end - at).unwrap_or(usize::MAX));
                let next = at + bytes.len() as u64;
                Some((Ok(bytes), Some((source, segments, (next < end).then_some((next, end))))))
            }
            Ok(_) => Some((Err(io::Error::from(io::ErrorKind::UnexpectedEof)), None)),
            // The status is sent: the connection is cut, so the client sees a short body.
            Err(e) => Some((Err(e), None)),
        }
    }))
}
