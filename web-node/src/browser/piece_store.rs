//! Where a torrent's pieces live in the page.
//!
//! Downloads go to the Origin Private File System, one file per piece under
//! `chiral/torrents/<infohash>/p<index>`, beside `info` (the info dict) and `meta.json`.
//! Each piece is written through its own `createWritable()`, which commits atomically on
//! `close()`, so a reload mid-write loses at most that piece, and a piece file of the right
//! size was verified before it was written. Multi-GiB files never sit in memory: the saved
//! file is a `Blob` composed of the piece `File`s, which the browser reads from disk.
//! A file the user shares is served straight from its `File` with `Blob.slice`.

use js_sys::{Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, File, FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetDirectoryOptions, FileSystemGetFileOptions, FileSystemWritableFileStream};

use super::rtc::js_error;

#[derive(Clone)]
pub enum PieceStore {
    /// A file the user chose to share: read-only.
    UserFile { file: File, piece_length: u32 },
    Opfs(OpfsTorrent),
}

#[derive(Clone)]
pub struct OpfsTorrent {
    dir: FileSystemDirectoryHandle,
}

async fn await_js<T: JsCast>(promise: js_sys::Promise) -> Result<T, String> {
    JsFuture::from(promise).await.map_err(|e| js_error(&e))?.dyn_into::<T>().map_err(|_| "unexpected value from the browser".to_string())
}

async fn subdir(parent: &FileSystemDirectoryHandle, name: &str) -> Result<FileSystemDirectoryHandle, String> {
    let options = FileSystemGetDirectoryOptions::new();
    options.set_create(true);
    await_js(parent.get_directory_handle_with_options(name, &options)).await
}

/// `chiral/torrents` in this origin's private file system.
async fn torrents_dir() -> Result<FileSystemDirectoryHandle, String> {
    let storage = web_sys::window().ok_or("no window")?.navigator().storage();
    let root: FileSystemDirectoryHandle = await_js(storage.get_directory()).await.map_err(|e| format!("this browser offers no private file system: {e}"))?;
    subdir(&subdir(&root, "chiral").await?, "torrents").await
}

/// The names of the entries of a directory.
async fn entry_names(dir: &FileSystemDirectoryHandle) -> Result<Vec<String>, String> {
    let iter = dir.keys();
    let mut names = Vec::new();
    loop {
        let step = JsFuture::from(iter.next().map_err(|e| js_error(&e))?).await.map_err(|e| js_error(&e))?;
        if js_sys::Reflect::get(&step, &"done".into()).map(|d| d.is_truthy()).unwrap_or(true) {
            break;
        }
        if let Some(name) = js_sys::Reflect::get(&step, &"value".into()).ok().and_then(|v| v.as_string()) {
            names.push(name);
        }
    }
    Ok(names)
}

/// Infohashes (hex) of the torrents stored in this page's origin.
pub async fn stored_torrents() -> Result<Vec<String>, String> {
    let dir = torrents_dir().await?;
    Ok(entry_names(&dir).await?.into_iter().filter(|n| n.len() == 40 && n.bytes().all(|b| b.is_ascii_hexdigit())).collect())
}

/// Deletes a torrent's directory (its pieces, info dict and metadata) from this origin.
pub async fn delete_torrent(info_hash_hex: &str) -> Result<(), String> {
    OpfsTorrent::open(info_hash_hex).await?.remove_all().await?;
    JsFuture::from(torrents_dir().await?.remove_entry(info_hash_hex)).await.map_err(|e| js_error(&e))?;
    Ok(())
}

impl OpfsTorrent {
    pub async fn open(info_hash_hex: &str) -> Result<Self, String> {
        Ok(Self { dir: subdir(&torrents_dir().await?, info_hash_hex).await? })
    }

    async fn file_handle(&self, name: &str, create: bool) -> Result<FileSystemFileHandle, String> {
        let options = FileSystemGetFileOptions::new();
        options.set_create(create);
        await_js(self.dir.get_file_handle_with_options(name, &options)).await
    }

    pub async fn write(&self, name: &str, data: &[u8]) -> Result<(), String> {
        let handle = self.file_handle(name, true).await?;
        let stream: FileSystemWritableFileStream = await_js(handle.create_writable()).await?;
        let written = JsFuture::from(stream.write_with_js_u8_array(&Uint8Array::from(data)).map_err(|e| js_error(&e))?).await;
        if let Err(e) = written {
            let _ = JsFuture::from(stream.abort()).await;
            return Err(format!("writing {name} failed (is the disk full?): {}", js_error(&e)));
        }
        JsFuture::from(stream.close()).await.map_err(|e| js_error(&e))?;
        Ok(())
    }

    async fn file(&self, name: &str) -> Result<File, String> {
        await_js(self.file_handle(name, false).await?.get_file()).await
    }

    pub async fn read(&self, name: &str) -> Result<Vec<u8>, String> {
        let buffer = JsFuture::from(self.file(name).await?.array_buffer()).await.map_err(|e| js_error(&e))?;
        Ok(Uint8Array::new(&buffer).to_vec())
    }

    /// Pieces on disk with their expected length (shorter files are unfinished writes).
    pub async fn stored_pieces(&self, piece_len: impl Fn(u32) -> u32) -> Result<Vec<u32>, String> {
        let mut pieces = Vec::new();
        for name in entry_names(&self.dir).await? {
            let Some(index) = name.strip_prefix('p').and_then(|i| i.parse::<u32>().ok()) else { continue };
            if let Ok(file) = self.file(&name).await {
                if file.size() as u64 == u64::from(piece_len(index)) {
                    pieces.push(index);
                }
            }
        }
        Ok(pieces)
    }

    /// The whole file as a Blob made of the piece files (no copy into memory).
    pub async fn blob(&self, pieces: u32) -> Result<Blob, String> {
        let parts = Array::new();
        for index in 0..pieces {
            let file: wasm_bindgen::JsValue = self.file(&format!("p{index}")).await?.into();
            parts.push(&file);
        }
        Blob::new_with_blob_sequence(&parts).map_err(|e| js_error(&e))
    }

    pub async fn remove_all(&self) -> Result<(), String> {
        for name in entry_names(&self.dir).await? {
            JsFuture::from(self.dir.remove_entry(&name)).await.map_err(|e| js_error(&e))?;
        }
        Ok(())
    }
}

impl PieceStore {
    pub async fn read_piece(&self, index: u32, len: u32) -> Result<Vec<u8>, String> {
        match self {
            PieceStore::UserFile { file, piece_length } => {
                let start = f64::from(index) * f64::from(*piece_length);
                let slice = file.slice_with_f64_and_f64(start, start + f64::from(len)).map_err(|e| js_error(&e))?;
                let buffer = JsFuture::from(slice.array_buffer()).await.map_err(|e| js_error(&e))?;
                let bytes = Uint8Array::new(&buffer).to_vec();
                if bytes.len() != len as usize {
                    return Err("the shared file changed on disk".into());
                }
                Ok(bytes)
            }
            PieceStore::Opfs(t) => t.read(&format!("p{index}")).await,
        }
    }

    pub async fn write_piece(&self, index: u32, data: &[u8]) -> Result<(), String> {
        match self {
            PieceStore::UserFile { .. } => Err("a shared file is read-only".into()),
            PieceStore::Opfs(t) => t.write(&format!("p{index}"), data).await,
        }
    }

    /// The whole file, for saving or hashing.
    pub async fn blob(&self, pieces: u32) -> Result<Blob, String> {
        match self {
            PieceStore::UserFile { file, .. } => Ok(file.clone().into()),
            PieceStore::Opfs(t) => t.blob(pieces).await,
        }
    }
}

pub fn js_value_error(value: JsValue) -> String {
    js_error(&value)
}
