//! Browser drivers (wasm32 only): thin loops that feed the sans-IO cores.

use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::ingest::{Ingest, IngestError};
use crate::manifest::Manifest;

/// Bytes per `Blob.slice` read: large enough to amortise the promise round trip, small
/// enough that hashing one read (~10 ms) never makes the page feel stuck.
const READ_CHUNKS: usize = 4;

#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum BrowserIngestError {
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("the browser could not read the file: {0}")]
    Read(String),
}

fn js_error(value: wasm_bindgen::JsValue) -> BrowserIngestError {
    let message = value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"));
    BrowserIngestError::Read(message)
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
    let read_len = (ingest.segment_len() * READ_CHUNKS) as u64;
    let start_read = |offset: u64| -> Result<JsFuture, BrowserIngestError> {
        let end = (offset + read_len).min(size);
        let slice = blob.slice_with_f64_and_f64(offset as f64, end as f64).map_err(js_error)?;
        Ok(JsFuture::from(slice.array_buffer()))
    };
    let mut buf = vec![0u8; read_len as usize];
    let mut offset = 0u64;
    let mut pending = if size > 0 { Some(start_read(0)?) } else { None };
    while let Some(read) = pending.take() {
        let array = Uint8Array::new(&read.await.map_err(js_error)?);
        let len = array.length() as usize;
        if len == 0 {
            break;
        }
        offset += len as u64;
        if offset < size {
            pending = Some(start_read(offset)?);
        }
        array.copy_to(&mut buf[..len]);
        ingest.push(&buf[..len])?;
        progress(ingest.consumed(), size);
    }
    Ok(ingest.finish()?)
}
