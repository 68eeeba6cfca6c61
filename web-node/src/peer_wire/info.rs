//! What a BitTorrent v1 info dict says (BEP 3), single-file or folder, with BEP 47 padding
//! files tolerated. Parsed with the bounded [`crate::bencode`] parser (lenient: any key
//! order) from peer input (BEP 9 `ut_metadata`) or a .torrent's `info`.
//!
//! ```text
//! single file  d6:lengthi5e4:name5:a.txt12:piece lengthi16384e6:pieces20:<sha1>e
//! folder       d5:filesld6:lengthi3e4:pathl3:sub5:b.binee d4:attr1:p6:lengthi9e4:pathl4:.pad1:9eee
//!               4:name6:folder12:piece lengthi16384e6:pieces20:<sha1>e
//! ```
//! Both give one shape: [`TorrentInfo::files`], each file's path below the torrent's
//! folder (a single-file torrent: one entry, path `[name]`), length and byte offset in the
//! torrent's byte space (the files back to back, in dict order; pieces run across file
//! boundaries). Every `name` and path component passes [`crate::torrent_paths`]'
//! [`PathRules::ANY_HOST`] rules, no two files share a path and no file is another's
//! folder, so the files can be written under one target folder and nowhere else.
//! Bounded: [`MAX_FILES`] files, path depth and length per [`crate::torrent_paths`], total
//! length without overflow and at most `i64::MAX`, piece length [`MAX_PIECE_LENGTH`].

use std::collections::HashSet;

use super::Bitfield;

use crate::bencode::{self, DictExt, Value};
use crate::torrent_paths::{self, PathError, PathRules};

/// Most files one torrent may list (padding files count).
pub const MAX_FILES: usize = 100_000;
/// Largest piece accepted from an info dict (the whole piece is held while it downloads).
pub const MAX_PIECE_LENGTH: u32 = 16 * 1024 * 1024;

/// One file of a torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Components below the torrent's folder (`name`); a single-file torrent's one entry is
    /// `[name]`. Each passes [`torrent_paths::check_path`] with [`PathRules::ANY_HOST`].
    pub path: Vec<String>,
    /// Bytes (0 allowed: an empty file is still created).
    pub length: u64,
    /// Where the file's first byte sits in the torrent's byte space (the concatenation of
    /// every file, padding included), bytes.
    pub offset: u64,
    /// A BEP 47 padding file (`attr` holds `p`, or the path starts with `.pad`): its bytes
    /// are zeros that align the next file to a piece; it is never written to disk.
    pub padding: bool,
}

/// A piece's bytes that fall in one file: bytes `piece_offset..piece_offset + len` of the
/// piece are bytes `file_offset..file_offset + len` of `files[file]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSpan {
    pub file: usize,
    pub file_offset: u64,
    pub piece_offset: u32,
    pub len: u32,
}

/// A parsed info dict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorrentInfo {
    /// The file's name (single file) or the top folder's (multi-file).
    pub name: String,
    /// Total bytes, padding included: the sum of `files`' lengths; always > 0.
    pub length: u64,
    pub piece_length: u32,
    pub piece_hashes: Vec<[u8; 20]>,
    /// Every file, in the info dict's order (offsets ascending, back to back).
    pub files: Vec<FileEntry>,
    /// The dict has a `files` list (a folder), even if it names one file.
    folder: bool,
}

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfoError {
    #[error("info dict is not bencode: {0}")]
    Bencode(#[from] bencode::BencodeError),
    #[error("info dict field `{0}` is missing or malformed")]
    Field(&'static str),
    /// Said by a caller that cannot take folders yet ([`TorrentInfo::single_file`]).
    #[error("multi-file torrents are not supported yet")]
    MultiFile,
    #[error("the piece hashes do not cover the file length")]
    PieceCount,
    #[error("the torrent lists more than {MAX_FILES} files")]
    TooManyFiles,
    #[error("the torrent's total length overflows")]
    TooLarge,
    #[error("unsafe path in the torrent: {0}")]
    Path(#[from] PathError),
    #[error("two files of the torrent have the path {0:?}, or one is the other's folder")]
    PathClash(String),
}

impl TorrentInfo {
    pub fn parse(info: &[u8]) -> Result<Self, InfoError> {
        let value = bencode::parse_lenient(info)?;
        let d = value.as_dict().ok_or(InfoError::Field("info"))?;
        let name = utf8_field(d, "name").ok_or(InfoError::Field("name"))?;
        torrent_paths::check_component(&name, PathRules::ANY_HOST)?;
        let piece_length = d
            .u64_field("piece length")
            .and_then(|p| u32::try_from(p).ok())
            .filter(|p| *p >= super::BLOCK_SIZE && *p <= MAX_PIECE_LENGTH && p.is_power_of_two())
            .ok_or(InfoError::Field("piece length"))?;
        let (files, folder) = match d.field("files") {
            None => {
                let length = d.u64_field("length").ok_or(InfoError::Field("length"))?;
                (vec![FileEntry { path: vec![name.clone()], length, offset: 0, padding: false }], false)
            }
            Some(list) => (parse_files(list)?, true),
        };
        let length = files.last().map_or(0, |f| f.offset + f.length);
        if length == 0 || i64::try_from(length).is_err() {
            return Err(InfoError::Field("length"));
        }
        let pieces = d.bytes_field("pieces").filter(|p| p.len() % 20 == 0).ok_or(InfoError::Field("pieces"))?;
        if (pieces.len() / 20) as u64 != length.div_ceil(u64::from(piece_length)) {
            return Err(InfoError::PieceCount);
        }
        let piece_hashes = pieces.chunks_exact(20).map(|c| c.try_into().expect("20-byte chunk")).collect();
        Ok(Self { name, length, piece_length, piece_hashes, files, folder })
    }

    pub fn pieces(&self) -> u32 {
        self.piece_hashes.len() as u32
    }

    pub fn piece_len(&self, index: u32) -> u32 {
        let start = u64::from(index) * u64::from(self.piece_length);
        (self.length - start).min(u64::from(self.piece_length)) as u32
    }

    /// A single-file torrent (no `files` list): the one layout the page and the bridge
    /// handle so far.
    pub fn is_single_file(&self) -> bool {
        !self.folder
    }

    /// The torrent's one file, or [`InfoError::MultiFile`] for a folder: for callers that
    /// cannot write folders yet.
    pub fn single_file(&self) -> Result<&FileEntry, InfoError> {
        if self.folder {
            return Err(InfoError::MultiFile);
        }
        self.files.first().ok_or(InfoError::MultiFile)
    }

    /// Files that are written (not padding), zero-length ones included.
    pub fn real_files(&self) -> impl Iterator<Item = &FileEntry> {
        self.files.iter().filter(|f| !f.padding)
    }

    /// Where piece `index`'s bytes go, in order, covering the whole piece: one span per
    /// file it touches (padding files included, so a caller skips them; zero-length files
    /// never appear). Empty when `index` is out of range.
    pub fn piece_spans(&self, index: u32) -> Vec<FileSpan> {
        if index >= self.pieces() {
            return Vec::new();
        }
        let start = u64::from(index) * u64::from(self.piece_length);
        let end = start + u64::from(self.piece_len(index));
        let first = self.files.partition_point(|f| f.offset + f.length <= start);
        let mut spans = Vec::new();
        for (i, f) in self.files.iter().enumerate().skip(first) {
            if f.offset >= end {
                break;
            }
            if f.length == 0 {
                continue;
            }
            let from = start.max(f.offset);
            let to = end.min(f.offset + f.length);
            spans.push(FileSpan { file: i, file_offset: from - f.offset, piece_offset: (from - start) as u32, len: (to - from) as u32 });
        }
        spans
    }

    /// The pieces holding any byte of `files[file]`, as a half-open range (empty for an
    /// empty file or an index out of range).
    pub fn file_pieces(&self, file: usize) -> std::ops::Range<u32> {
        let Some(f) = self.files.get(file).filter(|f| f.length > 0) else { return 0..0 };
        let pl = u64::from(self.piece_length);
        (f.offset / pl) as u32..(f.offset + f.length).div_ceil(pl) as u32
    }

    /// Bytes of `files[file]` inside pieces `have` marks stored.
    pub fn file_have_bytes(&self, file: usize, have: &Bitfield) -> u64 {
        let Some(f) = self.files.get(file) else { return 0 };
        let pl = u64::from(self.piece_length);
        self.file_pieces(file)
            .filter(|p| have.get(*p))
            .map(|p| {
                let (start, end) = (u64::from(p) * pl, u64::from(p) * pl + u64::from(self.piece_len(p)));
                end.min(f.offset + f.length) - start.max(f.offset)
            })
            .sum()
    }

    /// The pieces needed for the files `chosen[i]` marks (indexes into `files`; missing
    /// entries count as chosen): every piece holding a byte of a chosen file.
    pub fn wanted_pieces(&self, chosen: &[bool]) -> Bitfield {
        let mut wanted = Bitfield::new(self.pieces());
        for (i, f) in self.files.iter().enumerate() {
            if !f.padding && chosen.get(i).copied().unwrap_or(true) {
                for p in self.file_pieces(i) {
                    wanted.set(p);
                }
            }
        }
        wanted
    }
}

/// A UTF-8 string field, or its BEP-less but common `<key>.utf-8` twin when the plain one is
/// not UTF-8.
fn utf8_field(d: &bencode::Dict<'_>, key: &'static str) -> Option<String> {
    d.str_field(key).or_else(|| d.str_field(&format!("{key}.utf-8")))
}

fn utf8_list(v: &Value<'_>) -> Option<Vec<String>> {
    match v {
        Value::List(items) => items.iter().map(|i| i.as_bytes().and_then(|b| String::from_utf8(b.to_vec()).ok())).collect(),
        _ => None,
    }
}

/// The BEP 3 `files` list: `[{length, path: [component…], attr?}]`.
fn parse_files(list: &Value<'_>) -> Result<Vec<FileEntry>, InfoError> {
    let Value::List(items) = list else { return Err(InfoError::Field("files")) };
    if items.is_empty() {
        return Err(InfoError::Field("files"));
    }
    if items.len() > MAX_FILES {
        return Err(InfoError::TooManyFiles);
    }
    let mut files = Vec::with_capacity(items.len());
    let mut offset = 0u64;
    for item in items {
        let f = item.as_dict().ok_or(InfoError::Field("files"))?;
        let length = f.u64_field("length").ok_or(InfoError::Field("length"))?;
        let path = [f.field("path"), f.field("path.utf-8")].into_iter().flatten().find_map(utf8_list).ok_or(InfoError::Field("path"))?;
        torrent_paths::check_path(&path, PathRules::ANY_HOST)?;
        let attr_pad = f.bytes_field("attr").is_some_and(|a| a.contains(&b'p'));
        let padding = attr_pad || path.first().is_some_and(|c| c == ".pad");
        files.push(FileEntry { path, length, offset, padding });
        offset = offset.checked_add(length).ok_or(InfoError::TooLarge)?;
    }
    check_clashes(&files)?;
    Ok(files)
}

/// No two written files share a path, and none is another's folder.
fn check_clashes(files: &[FileEntry]) -> Result<(), InfoError> {
    let mut paths: HashSet<&[String]> = HashSet::with_capacity(files.len());
    let mut folders: HashSet<&[String]> = HashSet::new();
    for f in files.iter().filter(|f| !f.padding) {
        let clash = || InfoError::PathClash(f.path.join("/"));
        if !paths.insert(&f.path) || folders.contains(&f.path[..]) {
            return Err(clash());
        }
        for depth in 1..f.path.len() {
            folders.insert(&f.path[..depth]);
        }
    }
    if let Some(f) = files.iter().filter(|f| !f.padding).find(|f| folders.contains(&f.path[..])) {
        return Err(InfoError::PathClash(f.path.join("/")));
    }
    Ok(())
}

#[cfg(test)]
#[path = "info_tests.rs"]
mod tests;
