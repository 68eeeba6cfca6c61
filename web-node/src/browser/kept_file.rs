//! The bytes of a file in the library ([`super::library`]): a copy in this origin's private
//! file system, or the user's own file through a File System Access handle.
//!
//! Copies live at `chiral/library/<infohash>` in the Origin Private File System, written
//! by streaming the chosen `File` slice by slice ([`COPY_SLICE`] bytes at a time, each slice
//! a `Blob` handed to the writable stream: its bytes never enter wasm memory). The writable
//! commits atomically on `close()`, so a copy cut short by a reload never appears.
//! Handles need read permission, which a browser may forget between visits:
//! [`permission`] asks without a prompt, [`request_permission`] prompts (it must run inside
//! a click). Either way the page gets a `File` to seed from, and [`check`] makes sure it is
//! still the file that was hashed.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetDirectoryOptions, FileSystemGetFileOptions, FileSystemWritableFileStream};

use super::js_message;
use super::library::LibraryEntry;

/// Bytes streamed into the copy per write.
pub const COPY_SLICE: f64 = 8.0 * 1024.0 * 1024.0;

/// What failed with a kept file.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeptFileError {
    #[error("no window")]
    NoWindow,
    #[error("this browser offers no private file system: {message}")]
    NoPrivateFs { message: String },
    /// The file (copy or the user's own) is gone.
    #[error("the file is gone")]
    Missing,
    /// A browser call threw; `message` is its text.
    #[error("{op}: {message}")]
    Browser { op: &'static str, message: String },
    #[error("copying failed (is the disk full?): {message}")]
    CopyFailed { message: String },
    #[error("this browser cannot keep file handles")]
    NoHandles,
}

impl KeptFileError {
    fn browser(op: &'static str) -> impl FnOnce(JsValue) -> Self {
        move |e| {
            let name = e.dyn_ref::<web_sys::DomException>().map(|d| d.name()).unwrap_or_default();
            if name == "NotFoundError" || name == "NotReadableError" {
                Self::Missing
            } else {
                Self::Browser { op, message: js_message(&e) }
            }
        }
    }
}

async fn await_js<T: JsCast>(op: &'static str, promise: js_sys::Promise) -> Result<T, KeptFileError> {
    JsFuture::from(promise)
        .await
        .map_err(KeptFileError::browser(op))?
        .dyn_into::<T>()
        .map_err(|_| KeptFileError::Browser { op, message: "unexpected value from the browser".into() })
}

async fn subdir(parent: &FileSystemDirectoryHandle, name: &str) -> Result<FileSystemDirectoryHandle, KeptFileError> {
    let options = FileSystemGetDirectoryOptions::new();
    options.set_create(true);
    await_js("opening a directory", parent.get_directory_handle_with_options(name, &options)).await
}

/// `chiral/library` in this origin's private file system.
async fn library_dir() -> Result<FileSystemDirectoryHandle, KeptFileError> {
    let storage = web_sys::window().ok_or(KeptFileError::NoWindow)?.navigator().storage();
    let root: FileSystemDirectoryHandle = JsFuture::from(storage.get_directory())
        .await
        .map_err(|e| KeptFileError::NoPrivateFs { message: js_message(&e) })?
        .dyn_into()
        .map_err(|_| KeptFileError::NoPrivateFs { message: "unexpected value from the browser".into() })?;
    subdir(&subdir(&root, "chiral").await?, "library").await
}

/// Streams `file` into the copy of `info_hash` (hex), calling `on_progress(done, total)`
/// after every slice. Memory stays flat: slices go from `Blob` to disk inside the browser.
pub async fn copy_to_opfs(file: &File, info_hash: &str, mut on_progress: impl FnMut(u64, u64)) -> Result<(), KeptFileError> {
    let options = FileSystemGetFileOptions::new();
    options.set_create(true);
    let handle: FileSystemFileHandle = await_js("creating the copy", library_dir().await?.get_file_handle_with_options(info_hash, &options)).await?;
    let stream: FileSystemWritableFileStream = await_js("opening the copy for writing", handle.create_writable()).await?;
    let size = file.size();
    let mut start = 0.0;
    while start < size {
        let end = (start + COPY_SLICE).min(size);
        let written = async {
            let slice = file.slice_with_f64_and_f64(start, end).map_err(|e| js_message(&e))?;
            let promise = stream.write_with_blob(&slice).map_err(|e| js_message(&e))?;
            JsFuture::from(promise).await.map_err(|e| js_message(&e))
        }
        .await;
        if let Err(message) = written {
            let _ = JsFuture::from(stream.abort()).await;
            let _ = delete_copy(info_hash).await;
            return Err(KeptFileError::CopyFailed { message });
        }
        start = end;
        on_progress(start as u64, size as u64);
    }
    JsFuture::from(stream.close()).await.map_err(|e| KeptFileError::CopyFailed { message: js_message(&e) })?;
    Ok(())
}

/// The copy of `info_hash` (hex), as a `File` to seed from.
pub async fn open_copy(info_hash: &str) -> Result<File, KeptFileError> {
    let options = FileSystemGetFileOptions::new();
    let handle: FileSystemFileHandle = await_js("opening the copy", library_dir().await?.get_file_handle_with_options(info_hash, &options)).await?;
    await_js("reading the copy", handle.get_file()).await
}

/// Deletes the copy of `info_hash` (hex); nothing if there is none.
pub async fn delete_copy(info_hash: &str) -> Result<(), KeptFileError> {
    match JsFuture::from(library_dir().await?.remove_entry(info_hash)).await.map_err(KeptFileError::browser("deleting the copy")) {
        Ok(_) | Err(KeptFileError::Missing) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Asks the browser to keep this origin's storage under pressure (best effort; the answer
/// is whether it will).
pub async fn request_persistence() -> bool {
    let Some(storage) = web_sys::window().map(|w| w.navigator().storage()) else { return false };
    match storage.persist() {
        Ok(p) => JsFuture::from(p).await.map(|v| v.is_truthy()).unwrap_or(false),
        Err(_) => false,
    }
}

/// Read permission on a handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Granted,
    /// The browser will ask the user ([`request_permission`], inside a click).
    Prompt,
    Denied,
}

fn call_permission(handle: &FileSystemFileHandle, method: &str) -> Result<js_sys::Promise, KeptFileError> {
    let f: js_sys::Function = js_sys::Reflect::get(handle, &method.into()).ok().and_then(|f| f.dyn_into().ok()).ok_or(KeptFileError::NoHandles)?;
    let descriptor = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&descriptor, &"mode".into(), &"read".into());
    f.call1(handle, &descriptor).map_err(KeptFileError::browser(if method == "queryPermission" { "asking for permission" } else { "requesting permission" }))?
        .dyn_into()
        .map_err(|_| KeptFileError::NoHandles)
}

async fn permission_answer(promise: js_sys::Promise) -> Result<Permission, KeptFileError> {
    let answer = JsFuture::from(promise).await.map_err(KeptFileError::browser("permission"))?.as_string().unwrap_or_default();
    Ok(match answer.as_str() {
        "granted" => Permission::Granted,
        "prompt" => Permission::Prompt,
        _ => Permission::Denied,
    })
}

/// `handle.queryPermission({mode: 'read'})`: no prompt. A browser without the call (the
/// handle then works as long as it exists) counts as granted.
pub async fn permission(handle: &FileSystemFileHandle) -> Result<Permission, KeptFileError> {
    match call_permission(handle, "queryPermission") {
        Ok(p) => permission_answer(p).await,
        Err(KeptFileError::NoHandles) => Ok(Permission::Granted),
        Err(e) => Err(e),
    }
}

/// `handle.requestPermission({mode: 'read'})`: prompts; call it from a click.
pub async fn request_permission(handle: &FileSystemFileHandle) -> Result<Permission, KeptFileError> {
    match call_permission(handle, "requestPermission") {
        Ok(p) => permission_answer(p).await,
        Err(KeptFileError::NoHandles) => Ok(Permission::Granted),
        Err(e) => Err(e),
    }
}

/// The file behind a handle (read permission granted).
pub async fn handle_file(handle: &FileSystemFileHandle) -> Result<File, KeptFileError> {
    await_js("reading the file", handle.get_file()).await
}

/// Whether `file` is still the file `entry` was hashed from.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    Same,
    /// Another size, or (for the user's own file) another modification time.
    Changed { why: String },
}

/// Cheap: size always, and `lastModified` for the user's own file (a copy in the private
/// file system gets its own time when written). Bytes are checked piece by piece against
/// the info dict's SHA-1 as they are served ([`super::torrent`]).
pub fn check(entry: &LibraryEntry, file: &File) -> Check {
    let size = file.size() as u64;
    if size != entry.file.size {
        return Check::Changed { why: format!("its size is now {size} bytes, was {}", entry.file.size) };
    }
    if entry.location == super::library::Location::Handle && file.last_modified() != entry.last_modified_ms {
        return Check::Changed { why: "it was modified since it was shared".into() };
    }
    Check::Same
}

/// The File System Access handle of a dropped item, where the browser offers one
/// (`DataTransferItem.getAsFileSystemHandle()`, Chromium). Call it inside the drop event:
/// the returned promise is what outlives the event.
pub fn dropped_handle_promise(item: &web_sys::DataTransferItem) -> Option<js_sys::Promise> {
    let f: js_sys::Function = js_sys::Reflect::get(item, &"getAsFileSystemHandle".into()).ok()?.dyn_into().ok()?;
    f.call0(item).ok()?.dyn_into().ok()
}

/// Resolves a [`dropped_handle_promise`] to a file handle (a dropped folder gives none).
pub async fn dropped_handle(promise: js_sys::Promise) -> Option<FileSystemFileHandle> {
    JsFuture::from(promise).await.ok()?.dyn_into().ok()
}

/// Whether `window.showOpenFilePicker` exists (Chromium, Edge, Opera).
pub fn has_file_picker() -> bool {
    web_sys::window().and_then(|w| js_sys::Reflect::get(&w, &"showOpenFilePicker".into()).ok()).is_some_and(|f| f.is_function())
}

/// `showOpenFilePicker()`: the chosen file's handle, or `None` if the user cancelled.
/// Call it from a click.
pub async fn pick_file() -> Result<Option<FileSystemFileHandle>, KeptFileError> {
    let window = web_sys::window().ok_or(KeptFileError::NoWindow)?;
    let f: js_sys::Function = js_sys::Reflect::get(&window, &"showOpenFilePicker".into()).ok().and_then(|f| f.dyn_into().ok()).ok_or(KeptFileError::NoHandles)?;
    let promise: js_sys::Promise = f.call0(&window).map_err(KeptFileError::browser("opening the file picker"))?.dyn_into().map_err(|_| KeptFileError::NoHandles)?;
    match JsFuture::from(promise).await {
        Ok(handles) => Ok(js_sys::Array::from(&handles).get(0).dyn_into().ok()),
        // AbortError: the user closed the picker.
        Err(_) => Ok(None),
    }
}
