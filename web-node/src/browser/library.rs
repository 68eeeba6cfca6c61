//! The page's library: what it shares, kept in IndexedDB so seeding survives a reload or a
//! browser restart.
//!
//! One record per shared file, keyed by its infohash (hex) in the object store `files` of
//! the database `chiral-library`. A record is a plain JS object, stored by structured clone:
//! `meta` (the JSON of [`LibraryEntry`]), `info` (the BitTorrent info dict, a `Uint8Array`),
//! `chunks` (the chunk SHA-256s back to back, a `Uint8Array`) and, for a file the browser
//! gave a File System Access handle for, `handle` (the `FileSystemFileHandle` itself: handles
//! survive only as structured clones, never serialized). With those the page seeds again
//! without rehashing. Where the bytes are is [`Location`]; reading them is
//! [`super::kept_file`].
//!
//! Run loop: [`Library::open`] once, [`Library::list`] at load, [`Library::put`] when a
//! file is kept and when its upload total moves, [`Library::remove`] on "Stop sharing".

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{FileSystemFileHandle, IdbDatabase, IdbObjectStore, IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode};

use crate::file_record::FileInfo;

const DB_NAME: &str = "chiral-library";
const DB_VERSION: u32 = 1;
const STORE: &str = "files";
/// At most this many files in the library: `list` reads no more.
pub const MAX_ENTRIES: u32 = 10_000;
/// A record's `meta` JSON above this is refused (it names one file; KiBs at most).
const MAX_META_BYTES: usize = 64 * 1024;

/// What failed reading or writing the library.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LibraryError {
    #[error("no window")]
    NoWindow,
    #[error("this browser offers no IndexedDB: {message}")]
    NoIndexedDb { message: String },
    /// An IndexedDB call threw or its request failed; `message` is the browser's text.
    #[error("{op}: {message}")]
    Idb { op: &'static str, message: String },
    #[error("opening the library is blocked by another tab holding an older version")]
    Blocked,
    #[error("a library record is malformed: {0}")]
    BadRecord(String),
}

impl LibraryError {
    fn idb(op: &'static str) -> impl FnOnce(JsValue) -> Self {
        move |e| Self::Idb { op, message: super::js_message(&e) }
    }
}

/// Where a kept file's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// The user's own file, through a File System Access handle (read permission may have
    /// to be granted again after a restart).
    Handle,
    /// A copy in this origin's private file system ([`super::kept_file::open_copy`]).
    OpfsCopy,
}

/// A kept file's plain data (the record's `meta`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LibraryEntry {
    /// The identities the page publishes (CID, infohash, name, size, Merkle root, …).
    pub file: FileInfo,
    pub location: Location,
    /// When it was added, seconds since the Unix epoch.
    pub added_at: u64,
    /// Bytes uploaded to peers in earlier visits (this visit's are the torrent's own count).
    pub uploaded: u64,
    /// The file's `lastModified` (ms since the epoch) when it was hashed: a handle whose
    /// file has another size or time has changed and is not seeded.
    pub last_modified_ms: f64,
    /// Wei received for this file (payments whose data names its CID).
    #[serde(default)]
    pub earned_wei: u128,
    /// The payments counted in `earned_wei` (tx hashes), newest last, at most
    /// [`MAX_EARNED_TXS`]: a payment seen again is not counted twice.
    #[serde(default)]
    pub earned_txs: Vec<String>,
}

/// Payments remembered per entry to count each once.
pub const MAX_EARNED_TXS: usize = 256;

impl LibraryEntry {
    /// Counts a payment of `wei` in transaction `tx` once; returns whether it was new.
    pub fn add_earning(&mut self, tx: &str, wei: u128) -> bool {
        if self.earned_txs.iter().any(|t| t.eq_ignore_ascii_case(tx)) {
            return false;
        }
        self.earned_wei = self.earned_wei.saturating_add(wei);
        if self.earned_txs.len() >= MAX_EARNED_TXS {
            self.earned_txs.remove(0);
        }
        self.earned_txs.push(tx.to_string());
        true
    }
}

/// One record: the entry, what seeding needs, and the handle when there is one.
#[derive(Debug, Clone)]
pub struct Kept {
    pub entry: LibraryEntry,
    /// The BitTorrent info dict (its SHA-1 is the infohash).
    pub info_bytes: Vec<u8>,
    /// Every chunk's SHA-256, in order.
    pub chunk_hashes: Vec<[u8; 32]>,
    /// For [`Location::Handle`].
    pub handle: Option<FileSystemFileHandle>,
}

impl Kept {
    /// The record's key: the infohash, lower-case hex.
    pub fn key(&self) -> &str {
        &self.entry.file.infohash
    }

    fn to_js(&self) -> Result<JsValue, LibraryError> {
        let meta = serde_json::to_string(&self.entry).map_err(|e| LibraryError::BadRecord(e.to_string()))?;
        let obj = Object::new();
        let set = |k: &str, v: &JsValue| Reflect::set(&obj, &k.into(), v).map(|_| ()).map_err(LibraryError::idb("building a record"));
        set("meta", &meta.into())?;
        set("info", &Uint8Array::from(self.info_bytes.as_slice()).into())?;
        set("chunks", &Uint8Array::from(self.chunk_hashes.concat().as_slice()).into())?;
        if let Some(handle) = &self.handle {
            set("handle", handle.as_ref())?;
        }
        Ok(obj.into())
    }

    fn from_js(value: &JsValue) -> Result<Self, LibraryError> {
        let get = |k: &str| Reflect::get(value, &k.into()).unwrap_or(JsValue::UNDEFINED);
        let meta = get("meta").as_string().ok_or_else(|| LibraryError::BadRecord("no meta".into()))?;
        if meta.len() > MAX_META_BYTES {
            return Err(LibraryError::BadRecord(format!("meta of {} bytes", meta.len())));
        }
        let entry: LibraryEntry = serde_json::from_str(&meta).map_err(|e| LibraryError::BadRecord(e.to_string()))?;
        let bytes = |k: &str| get(k).dyn_into::<Uint8Array>().map(|a| a.to_vec()).map_err(|_| LibraryError::BadRecord(format!("no {k}")));
        let info_bytes = bytes("info")?;
        let chunks = bytes("chunks")?;
        if chunks.len() % 32 != 0 || chunks.len() as u64 / 32 != entry.file.chunks {
            return Err(LibraryError::BadRecord("chunk hash list does not match the chunk count".into()));
        }
        let chunk_hashes = chunks.chunks_exact(32).map(|c| <[u8; 32]>::try_from(c).expect("32 bytes")).collect();
        let handle = get("handle").dyn_into::<FileSystemFileHandle>().ok();
        Ok(Self { entry, info_bytes, chunk_hashes, handle })
    }
}

/// The open database.
#[derive(Clone)]
pub struct Library {
    db: IdbDatabase,
}

/// Sets one listener as every handler in `set`, waits for the first event, unhooks it and
/// gives that event's type. Later events (an `abort` after an `error`) find no one waiting.
async fn first_event(set: &[&dyn Fn(Option<&js_sys::Function>)]) -> String {
    let resolver: Rc<RefCell<Option<js_sys::Function>>> = Rc::default();
    let promise = js_sys::Promise::new(&mut |resolve, _reject| *resolver.borrow_mut() = Some(resolve));
    let waiting = resolver.clone();
    let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
        if let Some(resolve) = waiting.borrow_mut().take() {
            let _ = resolve.call1(&JsValue::NULL, &event.type_().into());
        }
    });
    for s in set {
        s(Some(listener.as_ref().unchecked_ref()));
    }
    // The promise only ever resolves, with a string.
    let fired = JsFuture::from(promise).await.ok().and_then(|v| v.as_string()).unwrap_or_default();
    for s in set {
        s(None);
    }
    drop(listener);
    fired
}

/// The result of `request`, or its error.
async fn request(op: &'static str, request: IdbRequest) -> Result<JsValue, LibraryError> {
    let fired = first_event(&[&|f| request.set_onsuccess(f), &|f| request.set_onerror(f)]).await;
    if fired == "success" {
        request.result().map_err(LibraryError::idb(op))
    } else {
        let message = request.error().ok().flatten().map_or_else(|| "failed".to_string(), |e| e.message());
        Err(LibraryError::Idb { op, message })
    }
}

/// Waits until `tx` has committed.
async fn committed(op: &'static str, tx: &IdbTransaction) -> Result<(), LibraryError> {
    let fired = first_event(&[&|f| tx.set_oncomplete(f), &|f| tx.set_onerror(f), &|f| tx.set_onabort(f)]).await;
    if fired == "complete" {
        Ok(())
    } else {
        Err(LibraryError::Idb { op, message: tx.error().map_or_else(|| "aborted".to_string(), |e| e.message()) })
    }
}

impl Library {
    /// Opens (creating on first use) this origin's library.
    pub async fn open() -> Result<Self, LibraryError> {
        let factory = web_sys::window()
            .ok_or(LibraryError::NoWindow)?
            .indexed_db()
            .map_err(|e| LibraryError::NoIndexedDb { message: super::js_message(&e) })?
            .ok_or_else(|| LibraryError::NoIndexedDb { message: "unavailable (private mode?)".into() })?;
        let open: IdbOpenDbRequest = factory.open_with_u32(DB_NAME, DB_VERSION).map_err(LibraryError::idb("opening the library"))?;
        let blocked = Rc::new(RefCell::new(false));
        let upgrade = {
            let open = open.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                if let Ok(db) = open.result().and_then(|r| r.dyn_into::<IdbDatabase>().map_err(JsValue::from)) {
                    if !db.object_store_names().contains(STORE) {
                        let _ = db.create_object_store(STORE);
                    }
                }
            })
        };
        let on_blocked = {
            let blocked = blocked.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| *blocked.borrow_mut() = true)
        };
        open.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
        open.set_onblocked(Some(on_blocked.as_ref().unchecked_ref()));
        let result = request("opening the library", open.clone().into()).await;
        open.set_onupgradeneeded(None);
        open.set_onblocked(None);
        drop((upgrade, on_blocked));
        match result {
            Ok(db) => Ok(Self { db: db.dyn_into().map_err(|_| LibraryError::Idb { op: "opening the library", message: "not a database".into() })? }),
            Err(_) if *blocked.borrow() => Err(LibraryError::Blocked),
            Err(e) => Err(e),
        }
    }

    fn store(&self, mode: IdbTransactionMode) -> Result<(IdbTransaction, IdbObjectStore), LibraryError> {
        let tx = self.db.transaction_with_str_and_mode(STORE, mode).map_err(LibraryError::idb("starting a transaction"))?;
        let store = tx.object_store(STORE).map_err(LibraryError::idb("opening the store"))?;
        Ok((tx, store))
    }

    /// Every record (at most [`MAX_ENTRIES`]); malformed ones come back as errors beside
    /// the good ones, so one bad record never hides the rest.
    pub async fn list(&self) -> Result<Vec<Result<Kept, LibraryError>>, LibraryError> {
        let (_tx, store) = self.store(IdbTransactionMode::Readonly)?;
        let all = request("reading the library", store.get_all_with_key_and_limit(&JsValue::UNDEFINED, MAX_ENTRIES).map_err(LibraryError::idb("reading the library"))?).await?;
        let all: js_sys::Array = all.dyn_into().map_err(|_| LibraryError::BadRecord("getAll gave no array".into()))?;
        Ok(all.iter().map(|v| Kept::from_js(&v)).collect())
    }

    /// Adds or replaces a record; returns once it is committed.
    pub async fn put(&self, kept: &Kept) -> Result<(), LibraryError> {
        let (tx, store) = self.store(IdbTransactionMode::Readwrite)?;
        let value = kept.to_js()?;
        store.put_with_key(&value, &kept.key().into()).map_err(LibraryError::idb("writing a record"))?;
        committed("writing a record", &tx).await
    }

    /// Deletes the record of `info_hash` (hex); nothing if there is none.
    pub async fn remove(&self, info_hash: &str) -> Result<(), LibraryError> {
        let (tx, store) = self.store(IdbTransactionMode::Readwrite)?;
        store.delete(&info_hash.into()).map_err(LibraryError::idb("deleting a record"))?;
        committed("deleting a record", &tx).await
    }
}
