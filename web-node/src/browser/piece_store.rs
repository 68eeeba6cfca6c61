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

use super::js_message;

/// What failed reading or writing a torrent's pieces.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("no window")]
    NoWindow,
    #[error("this browser offers no private file system: {message}")]
    NoPrivateFs { message: String },
    /// An Origin Private File System call threw; `message` is the exception's text.
    #[error("{op}: {message}")]
    Opfs { op: &'static str, message: String },
    #[error("{op}: unexpected value from the browser")]
    UnexpectedValue { op: &'static str },
    #[error("writing {name} failed (is the disk full?): {message}")]
    WriteFailed { name: String, message: String },
    /// Reading from the `File` the user shared failed.
    #[error("{op}: {message}")]
    SharedFile { op: &'static str, message: String },
    #[error("the shared file changed on disk")]
    SharedFileChanged,
    #[error("a shared file is read-only")]
    ReadOnly,
}

impl StoreError {
    fn opfs(op: &'static str) -> impl FnOnce(JsValue) -> Self {
        move |e| Self::Opfs { op, message: js_message(&e) }
    }

    fn shared_file(op: &'static str) -> impl FnOnce(JsValue) -> Self {
        move |e| Self::SharedFile { op, message: js_message(&e) }
    }
}

#[derive(Clone)]
pub enum PieceStore {
    /// A file the user chose to share: read-only.
    UserFile { file: File, piece_length: u32 },
    /// A folder the user chose, shared as one torrent: its files in the info dict's order
    /// (`None` for padding, read as zeros): read-only.
    UserFolder { files: std::rc::Rc<Vec<Option<File>>>, info: std::rc::Rc<crate::peer_wire::extension::TorrentInfo> },
    Opfs(OpfsTorrent),
}

#[derive(Clone)]
pub struct OpfsTorrent {
    dir: FileSystemDirectoryHandle,
}

async fn await_js<T: JsCast>(op: &'static str, promise: js_sys::Promise) -> Result<T, StoreError> {
    JsFuture::from(promise).await.map_err(StoreError::opfs(op))?.dyn_into::<T>().map_err(|_| StoreError::UnexpectedValue { op })
}

async fn subdir(parent: &FileSystemDirectoryHandle, name: &str) -> Result<FileSystemDirectoryHandle, StoreError> {
    let options = FileSystemGetDirectoryOptions::new();
    options.set_create(true);
    await_js("opening a directory", parent.get_directory_handle_with_options(name, &options)).await
}

/// `chiral/torrents` in this origin's private file system.
async fn torrents_dir() -> Result<FileSystemDirectoryHandle, StoreError> {
    let storage = web_sys::window().ok_or(StoreError::NoWindow)?.navigator().storage();
    let root: FileSystemDirectoryHandle = JsFuture::from(storage.get_directory())
        .await
        .map_err(|e| StoreError::NoPrivateFs { message: js_message(&e) })?
        .dyn_into()
        .map_err(|_| StoreError::NoPrivateFs { message: "unexpected value from the browser".into() })?;
    subdir(&subdir(&root, "chiral").await?, "torrents").await
}

/// The names of the entries of a directory.
async fn entry_names(dir: &FileSystemDirectoryHandle) -> Result<Vec<String>, StoreError> {
    let iter = dir.keys();
    let mut names = Vec::new();
    loop {
        let step = JsFuture::from(iter.next().map_err(StoreError::opfs("listing a directory"))?).await.map_err(StoreError::opfs("listing a directory"))?;
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
pub async fn stored_torrents() -> Result<Vec<String>, StoreError> {
    let dir = torrents_dir().await?;
    Ok(entry_names(&dir).await?.into_iter().filter(|n| n.len() == 40 && n.bytes().all(|b| b.is_ascii_hexdigit())).collect())
}

/// Deletes a torrent's directory (its pieces, info dict and metadata) from this origin.
pub async fn delete_torrent(info_hash_hex: &str) -> Result<(), StoreError> {
    OpfsTorrent::open(info_hash_hex).await?.remove_all().await?;
    JsFuture::from(torrents_dir().await?.remove_entry(info_hash_hex)).await.map_err(StoreError::opfs("deleting a torrent"))?;
    Ok(())
}

impl OpfsTorrent {
    pub async fn open(info_hash_hex: &str) -> Result<Self, StoreError> {
        Ok(Self { dir: subdir(&torrents_dir().await?, info_hash_hex).await? })
    }

    async fn file_handle(&self, name: &str, create: bool) -> Result<FileSystemFileHandle, StoreError> {
        let options = FileSystemGetFileOptions::new();
        options.set_create(create);
        await_js("opening a file", self.dir.get_file_handle_with_options(name, &options)).await
    }

    pub async fn write(&self, name: &str, data: &[u8]) -> Result<(), StoreError> {
        let handle = self.file_handle(name, true).await?;
        let stream: FileSystemWritableFileStream = await_js("opening a file for writing", handle.create_writable()).await?;
        let written = JsFuture::from(stream.write_with_js_u8_array(&Uint8Array::from(data)).map_err(StoreError::opfs("writing a file"))?).await;
        if let Err(e) = written {
            let _ = JsFuture::from(stream.abort()).await;
            return Err(StoreError::WriteFailed { name: name.to_string(), message: js_message(&e) });
        }
        JsFuture::from(stream.close()).await.map_err(StoreError::opfs("closing a written file"))?;
        Ok(())
    }

    async fn file(&self, name: &str) -> Result<File, StoreError> {
        await_js("opening a file", self.file_handle(name, false).await?.get_file()).await
    }

    pub async fn read(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let buffer = JsFuture::from(self.file(name).await?.array_buffer()).await.map_err(StoreError::opfs("reading a file"))?;
        Ok(Uint8Array::new(&buffer).to_vec())
    }

    /// Pieces on disk with their expected length (shorter files are unfinished writes).
    pub async fn stored_pieces(&self, piece_len: impl Fn(u32) -> u32) -> Result<Vec<u32>, StoreError> {
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
    pub async fn blob(&self, pieces: u32) -> Result<Blob, StoreError> {
        self.blob_range(0..pieces).await
    }

    /// Pieces `range` as one Blob made of the piece files (no copy into memory).
    pub async fn blob_range(&self, range: std::ops::Range<u32>) -> Result<Blob, StoreError> {
        let parts = Array::new();
        for index in range {
            let file: wasm_bindgen::JsValue = self.file(&format!("p{index}")).await?.into();
            parts.push(&file);
        }
        Blob::new_with_blob_sequence(&parts).map_err(StoreError::opfs("composing the file from its pieces"))
    }

    pub async fn remove_all(&self) -> Result<(), StoreError> {
        for name in entry_names(&self.dir).await? {
            JsFuture::from(self.dir.remove_entry(&name)).await.map_err(StoreError::opfs("deleting a piece"))?;
        }
        Ok(())
    }
}

impl PieceStore {
    pub async fn read_piece(&self, index: u32, len: u32) -> Result<Vec<u8>, StoreError> {
        match self {
            PieceStore::UserFile { file, piece_length } => {
                let start = f64::from(index) * f64::from(*piece_length);
                let slice = file.slice_with_f64_and_f64(start, start + f64::from(len)).map_err(StoreError::shared_file("slicing the shared file"))?;
                let buffer = JsFuture::from(slice.array_buffer()).await.map_err(StoreError::shared_file("reading the shared file"))?;
                let bytes = Uint8Array::new(&buffer).to_vec();
                if bytes.len() != len as usize {
                    return Err(StoreError::SharedFileChanged);
                }
                Ok(bytes)
            }
            PieceStore::UserFolder { files, info } => {
                let mut piece = vec![0u8; len as usize];
                for span in info.piece_spans(index) {
                    let Some(Some(file)) = files.get(span.file) else { continue };
                    let start = span.file_offset as f64;
                    let slice = file.slice_with_f64_and_f64(start, start + f64::from(span.len)).map_err(StoreError::shared_file("slicing a shared file"))?;
                    let buffer = JsFuture::from(slice.array_buffer()).await.map_err(StoreError::shared_file("reading a shared file"))?;
                    let bytes = Uint8Array::new(&buffer);
                    if bytes.length() != span.len || span.piece_offset + span.len > len {
                        return Err(StoreError::SharedFileChanged);
                    }
                    bytes.copy_to(&mut piece[span.piece_offset as usize..(span.piece_offset + span.len) as usize]);
                }
                Ok(piece)
            }
            PieceStore::Opfs(t) => t.read(&format!("p{index}")).await,
        }
    }

    pub async fn write_piece(&self, index: u32, data: &[u8]) -> Result<(), StoreError> {
        match self {
            PieceStore::UserFile { .. } | PieceStore::UserFolder { .. } => Err(StoreError::ReadOnly),
            PieceStore::Opfs(t) => t.write(&format!("p{index}"), data).await,
        }
    }

    /// The whole file, for saving or hashing.
    pub async fn blob(&self, pieces: u32) -> Result<Blob, StoreError> {
        match self {
            PieceStore::UserFile { file, .. } => Ok(file.clone().into()),
            PieceStore::UserFolder { .. } => Err(StoreError::ReadOnly),
            PieceStore::Opfs(t) => t.blob(pieces).await,
        }
    }
}

pub fn js_value_error(value: JsValue) -> String {
    js_message(&value)
}
