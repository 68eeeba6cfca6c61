//! The data side of Share: a plain async fn, no signals.

use web_node::browser::ingest_blob;
use web_node::encryption::{FileCipher, DEFAULT_ITERATIONS};
use web_node::ingest::{Ingest, IngestOptions};
use web_node::manifest::ManifestSummary;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// What the page knows about a hashed file.
#[derive(Debug, Clone, PartialEq)]
pub struct Hashed {
    pub summary: ManifestSummary,
    pub elapsed_ms: f64,
}

pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

fn random<const N: usize>() -> Result<[u8; N], String> {
    let mut out = [0u8; N];
    web_sys::window()
        .ok_or("no window")?
        .crypto()
        .and_then(|c| c.get_random_values_with_u8_array(&mut out).map(|_| ()))
        .map_err(|_| "the browser offers no secure randomness".to_string())?;
    Ok(out)
}

/// Hashes `file` in this tab (optionally encrypting it first) and describes it for
/// the relay this page was served from.
pub async fn hash_file(
    file: web_sys::File,
    passphrase: Option<String>,
    on_progress: impl FnMut(u64, u64),
) -> Result<Hashed, String> {
    let size = file.size() as u64;
    if size == 0 {
        return Err(format!("“{}” is empty: there is nothing to share.", file.name()));
    }
    let mime = Some(file.type_()).filter(|m| !m.is_empty());
    let options = IngestOptions {
        mime,
        created_at: (js_sys::Date::now() / 1000.0) as u64,
        ..IngestOptions::new(file.name(), size)
    };
    let started = now_ms();
    let ingest = match passphrase {
        None => web_node::browser::plain_ingest(options),
        Some(p) => {
            let cipher = FileCipher::create(&p, DEFAULT_ITERATIONS, random()?, random()?, size).map_err(|e| e.to_string())?;
            Ingest::encrypted(options, cipher)
        }
    }
    .map_err(|e| e.to_string())?;
    let manifest = ingest_blob(&file, ingest, on_progress).await.map_err(|e| match e {
        web_node::browser::BrowserIngestError::Read(why) => {
            format!("“{}” could not be read ({why}). Was it moved or deleted?", file.name())
        }
        other => other.to_string(),
    })?;
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    Ok(Hashed { summary: manifest.summary(&origin), elapsed_ms: now_ms() - started })
}
