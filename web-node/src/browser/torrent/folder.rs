//! Folder torrents in the page (BEP 3 `files`, BEP 47 padding files): which files the user
//! wants ([`Torrent::choose_file`], kept in OPFS across reloads), how far each is
//! ([`FileRow`]), each chosen file's SHA-256 once complete ([`FileHashes`]), and each file as
//! a Blob for saving ([`Torrent::file_blob`]).

use sha2::{Digest, Sha256};
use wasm_bindgen_futures::spawn_local;

use super::{now_ms, Torrent, TorrentError, TransferState};
use crate::browser::piece_store::PieceStore;
use crate::peer_wire::extension::TorrentInfo;
use crate::peer_wire::Bitfield;

/// Where the choice of files is kept in the torrent's OPFS folder (JSON list of booleans,
/// one per entry of the info dict's `files`).
pub(super) const CHOICE_FILE: &str = "chosen.json";

/// One file of a folder torrent, as the UI shows it (padding files are left out).
#[derive(Debug, Clone, PartialEq)]
pub struct FileRow {
    /// Index into the info dict's `files` (what [`Torrent::choose_file`] takes).
    pub index: usize,
    /// Path below the torrent's folder, components joined with `/`.
    pub path: String,
    /// Bytes.
    pub length: u64,
    /// Bytes of it inside verified, stored pieces.
    pub have_bytes: u64,
    /// Whether it is to be downloaded.
    pub chosen: bool,
    /// Its SHA-256 (hex) once it is complete and hashed.
    pub sha256: Option<String>,
}

/// The rows of a folder torrent; empty for a single file.
pub(super) fn rows(info: &TorrentInfo, have: Option<&Bitfield>, chosen: Option<&[bool]>, sha256: &[Option<String>]) -> Vec<FileRow> {
    if info.is_single_file() {
        return Vec::new();
    }
    let none = Bitfield::new(info.pieces());
    let have = have.unwrap_or(&none);
    info.files
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.padding)
        .map(|(i, f)| FileRow {
            index: i,
            path: f.path.join("/"),
            length: f.length,
            have_bytes: info.file_have_bytes(i, have),
            chosen: chosen.is_none_or(|c| c.get(i).copied().unwrap_or(true)),
            sha256: sha256.get(i).cloned().flatten(),
        })
        .collect()
}

/// Per-file SHA-256 over a folder torrent's pieces, fed in piece order.
pub(super) struct FileHashes<'a> {
    info: &'a TorrentInfo,
    hashers: Vec<Option<Sha256>>,
}

impl<'a> FileHashes<'a> {
    /// Hashes the chosen files (all when `chosen` is `None`); `None` for a single file.
    pub(super) fn new(info: &'a TorrentInfo, chosen: Option<&[bool]>) -> Option<Self> {
        if info.is_single_file() {
            return None;
        }
        let hashers = info.files.iter().enumerate().map(|(i, f)| (!f.padding && chosen.is_none_or(|c| c.get(i).copied().unwrap_or(true))).then(Sha256::new)).collect();
        Some(Self { info, hashers })
    }

    /// Whether piece `index` holds a byte of a file being hashed.
    pub(super) fn needs(&self, index: u32) -> bool {
        self.info.piece_spans(index).iter().any(|s| self.hashers[s.file].is_some())
    }

    pub(super) fn feed(&mut self, index: u32, data: &[u8]) {
        for span in self.info.piece_spans(index) {
            if let Some(h) = self.hashers[span.file].as_mut() {
                let at = span.piece_offset as usize;
                h.update(&data[at..at + span.len as usize]);
            }
        }
    }

    pub(super) fn finish(self) -> Vec<Option<String>> {
        self.hashers.into_iter().map(|h| h.map(|h| hex::encode(h.finalize()))).collect()
    }
}

impl Torrent {
    /// Chooses whether file `index` (of the info dict's `files`) is downloaded. At least one
    /// file stays chosen. A wider choice reopens a finished download; the choice is kept in
    /// OPFS. Ignored for a single-file torrent or before the info dict is known.
    pub fn choose_file(&self, index: usize, on: bool) {
        let current = {
            let inner = self.0.borrow();
            let Some(info) = inner.swarm.info() else { return };
            if info.is_single_file() || info.files.get(index).is_none_or(|f| f.padding) {
                return;
            }
            inner.chosen.clone().unwrap_or_else(|| vec![true; info.files.len()])
        };
        let mut chosen = current;
        chosen[index] = on;
        self.set_choice(chosen);
    }

    /// BEP 53: a magnet's `so` becomes the choice once the info dict is known, unless a
    /// choice was made already (indexes past the file list are ignored; a choice of no
    /// real file is ignored).
    pub(super) fn apply_select_only(&self) {
        let (select, info, chosen) = {
            let inner = self.0.borrow();
            (inner.options.select_only.clone(), inner.swarm.info().cloned(), inner.chosen.is_some())
        };
        let (Some(select), Some(info)) = (select, info) else { return };
        self.0.borrow_mut().options.select_only = None;
        if info.is_single_file() || chosen {
            return;
        }
        self.set_choice((0..info.files.len()).map(|i| select.binary_search(&(i as u32)).is_ok()).collect());
    }

    /// Makes `chosen` (one flag per entry of `files`) the choice, unless it names no real file.
    fn set_choice(&self, chosen: Vec<bool>) {
        let save = {
            let mut inner = self.0.borrow_mut();
            let Some(info) = inner.swarm.info().cloned() else { return };
            if chosen.len() != info.files.len() {
                return;
            }
            let real = |i: usize| !info.files[i].padding;
            if !(0..chosen.len()).any(|i| real(i) && chosen[i]) {
                return;
            }
            let all = (0..chosen.len()).all(|i| !real(i) || chosen[i]);
            inner.chosen = (!all).then(|| chosen.clone());
            let wanted = inner.chosen.as_ref().map(|c| info.wanted_pieces(c));
            inner.swarm.set_wanted(wanted, now_ms() as u64);
            if !inner.swarm.is_complete() && !inner.stopped {
                match inner.state {
                    TransferState::Seeding | TransferState::Complete => {
                        inner.state = TransferState::Downloading;
                        inner.finishing = false;
                        inner.sha256 = None;
                        inner.verdict = None;
                    }
                    // The running check sees the wider choice and steps back itself.
                    TransferState::Verifying => inner.state = TransferState::Downloading,
                    _ => {}
                }
            }
            inner.store.clone().map(|s| (s, serde_json::to_vec(&chosen).unwrap_or_default()))
        };
        if let Some((PieceStore::Opfs(t), bytes)) = save {
            spawn_local(async move {
                if let Err(e) = t.write(CHOICE_FILE, &bytes).await {
                    tracing::warn!("cannot keep the choice of files: {e}");
                }
            });
        }
        self.pump();
        self.publish();
    }

    /// File `index` of a folder torrent as a Blob backed by the stored pieces (no copy into
    /// memory) and its name, once that file is complete and hashed.
    pub async fn file_blob(&self, index: usize) -> Result<(web_sys::Blob, String), TorrentError> {
        let (store, info) = {
            let inner = self.0.borrow();
            let info = inner.swarm.info().cloned().ok_or(TorrentError::NotCheckedYet)?;
            if inner.file_sha256.get(index).cloned().flatten().is_none() {
                return Err(TorrentError::NotCheckedYet);
            }
            (inner.store.clone().ok_or(TorrentError::NoStorage)?, info)
        };
        let f = &info.files[index];
        let name = f.path.last().cloned().unwrap_or_else(|| info.name.clone());
        let t = match store {
            PieceStore::Opfs(t) => t,
            // A folder the user shared: the file itself.
            PieceStore::UserFolder { files, .. } => return files.get(index).cloned().flatten().map(|f| (f.into(), name)).ok_or(TorrentError::NoStorage),
            PieceStore::UserFile { .. } => return Err(TorrentError::NoStorage),
        };
        if f.length == 0 {
            let empty = web_sys::Blob::new().map_err(|_| TorrentError::NoStorage)?;
            return Ok((empty, name));
        }
        let pieces = info.file_pieces(index);
        let first = u64::from(pieces.start) * u64::from(info.piece_length);
        let blob = t.blob_range(pieces).await?;
        let start = (f.offset - first) as f64;
        let slice = blob.slice_with_f64_and_f64(start, start + f.length as f64).map_err(|_| TorrentError::NoStorage)?;
        Ok((slice, name))
    }
}
