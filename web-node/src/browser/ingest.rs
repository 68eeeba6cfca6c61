//! Ingest driver: `Blob.slice` reads fed to the sans-IO [`Ingest`].

use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::ingest::{ChunkDigests, Ingest, IngestError};
use crate::manifest::Manifest;
use crate::CHUNK_SIZE;

/// Chunks per `Blob.slice` read: large enough to amortise the promise round trip, small
/// enough that hashing one read (~10 ms) never makes the page feel stuck.
const READ_CHUNKS: usize = 4;

#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum BrowserIngestError {
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("the browser could not read the file: {0}")]
    Read(String),
    #[error("Web Crypto failed: {0}")]
    Crypto(String),
}

fn js_message(value: &wasm_bindgen::JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}

fn read_error(value: wasm_bindgen::JsValue) -> BrowserIngestError {
    BrowserIngestError::Read(js_message(&value))
}

fn crypto_error(value: wasm_bindgen::JsValue) -> BrowserIngestError {
    BrowserIngestError::Crypto(js_message(&value))
}

/// Web Crypto's SubtleCrypto, where the page has it (secure contexts: https or localhost).
fn subtle() -> Option<web_sys::SubtleCrypto> {
    web_sys::window()?.crypto().ok().map(|c| c.subtle())
}

/// Starts a plain ingest of `size` bytes, picking the fastest route this page offers:
/// with Web Crypto, per-chunk SHA-256/SHA-1 run on the browser's crypto threads while wasm
/// hashes the whole file (CID, ed2k) on the main thread.
pub fn plain_ingest(options: crate::ingest::IngestOptions) -> Result<Ingest, IngestError> {
    if subtle().is_some() {
        Ingest::with_external_chunk_digests(options)
    } else {
        Ingest::new(options)
    }
}

/// Streams `blob` through `ingest` with `Blob.slice`, one read ahead of the hashing so
/// disk and CPU overlap. Every read is an `await`, which hands the event loop back to the
/// page between reads. `progress(consumed, total)` is called after every read.
pub async fn ingest_blob(
    blob: &web_sys::Blob,
    mut ingest: Ingest,
    mut progress: impl FnMut(u64, u64),
) -> Result<Manifest, BrowserIngestError> {
    let size = ingest.total();
    if blob.size() as u64 != size {
        return Err(IngestError::Truncated { expected: size, got: blob.size() as u64 }.into());
    }
    let subtle = if ingest.expects_chunk_digests() {
        Some(subtle().ok_or_else(|| BrowserIngestError::Crypto("Web Crypto is not available".into()))?)
    } else {
        None
    };
    // Reads stay chunk-aligned (external digests need whole chunks).
    let read_len = (ingest.segment_len() * READ_CHUNKS) as u64;
    let start_read = |offset: u64| -> Result<JsFuture, BrowserIngestError> {
        let end = (offset + read_len).min(size);
        let slice = blob.slice_with_f64_and_f64(offset as f64, end as f64).map_err(read_error)?;
        Ok(JsFuture::from(slice.array_buffer()))
    };
    let mut buf = vec![0u8; read_len as usize];
    let mut offset = 0u64;
    let mut pending = if size > 0 { Some(start_read(0)?) } else { None };
    while let Some(read) = pending.take() {
        let array = Uint8Array::new(&read.await.map_err(read_error)?);
        let len = array.length() as usize;
        if len == 0 {
            break;
        }
        offset += len as u64;
        if offset < size {
            pending = Some(start_read(offset)?);
        }
        // Start the chunk digests first: they run off the main thread while wasm works.
        let digests = match &subtle {
            Some(subtle) => Some(start_chunk_digests(subtle, &array, len)?),
            None => None,
        };
        array.copy_to(&mut buf[..len]);
        ingest.push(&buf[..len])?;
        if let Some(digests) = digests {
            let mut done = Vec::with_capacity(digests.len());
            for (sha256, sha1) in digests {
                done.push(ChunkDigests { sha256: digest_bytes(sha256).await?, sha1: digest_bytes(sha1).await? });
            }
            ingest.add_chunk_digests(&done)?;
        }
        progress(ingest.consumed(), size);
    }
    Ok(ingest.finish()?)
}

fn start_chunk_digests(
    subtle: &web_sys::SubtleCrypto,
    array: &Uint8Array,
    len: usize,
) -> Result<Vec<(JsFuture, JsFuture)>, BrowserIngestError> {
    (0..len.div_ceil(CHUNK_SIZE))
        .map(|i| {
            let chunk = array.subarray((i * CHUNK_SIZE) as u32, ((i + 1) * CHUNK_SIZE).min(len) as u32);
            let sha256 = subtle.digest_with_str_and_buffer_source("SHA-256", &chunk).map_err(crypto_error)?;
            let sha1 = subtle.digest_with_str_and_buffer_source("SHA-1", &chunk).map_err(crypto_error)?;
            Ok((JsFuture::from(sha256), JsFuture::from(sha1)))
        })
        .collect()
}

async fn digest_bytes<const N: usize>(digest: JsFuture) -> Result<[u8; N], BrowserIngestError> {
    let buffer: ArrayBuffer = digest.await.map_err(crypto_error)?.unchecked_into();
    let bytes = Uint8Array::new(&buffer).to_vec();
    bytes.try_into().map_err(|_| BrowserIngestError::Crypto("digest has the wrong length".into()))
}
