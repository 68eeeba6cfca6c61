//! The data side of Share: a plain async fn, no signals.

use web_node::browser::ingest_blob;
use web_node::encryption::{FileCipher, DEFAULT_ITERATIONS};
use web_node::ingest::{Ingest, IngestOptions};
use web_node::file_record::FileInfo;
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
    /// What the page publishes to the DHT about the file.
    pub file: FileInfo,
    pub elapsed_ms: f64,
    /// The BitTorrent info dict, for seeding.
    pub info_bytes: Vec<u8>,
    /// Each chunk's SHA-256, which the seeding tab serves to downloaders (`chiral_hashes`).
    pub chunk_hashes: Vec<[u8; 32]>,
    /// The file as chosen, to seed from (plain files only: encrypted shares name the
    /// ciphertext, which is not on disk).
    pub source: Option<web_sys::File>,
    /// The File System Access handle the file came with (dropped, or picked with
    /// `showOpenFilePicker`): the library keeps it instead of a copy.
    pub handle: Option<web_sys::FileSystemFileHandle>,
}

pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

use web_node::browser::random_bytes as random;

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
    let encrypted = passphrase.is_some();
    let ingest = match passphrase {
        None => web_node::browser::plain_ingest(options),
        Some(p) => {
            let cipher = FileCipher::create(&p, DEFAULT_ITERATIONS, random().map_err(|e| e.to_string())?, random().map_err(|e| e.to_string())?, size).map_err(|e| e.to_string())?;
            Ingest::encrypted(options, cipher)
        }
    }
    .map_err(|e| e.to_string())?;
    let manifest = ingest_blob(&file, ingest, on_progress).await.map_err(|e| match e {
        web_node::browser::BrowserIngestError::Read(why) => {
            crate::i18n::t_args("hash-unreadable", &[("name", file.name().into()), ("error", why.to_string().into())])
        }
        other => other.to_string(),
    })?;
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    Ok(Hashed {
        summary: manifest.summary(&origin),
        file: FileInfo::from_manifest(&manifest),
        elapsed_ms: now_ms() - started,
        info_bytes: manifest.info_dict_bytes(),
        chunk_hashes: manifest.chunk_hashes.clone(),
        source: (!encrypted).then_some(file),
        handle: None,
    })
}
