//! Sharing a folder (or several files) as one torrent, and how Chiral names it.
//!
//! The torrent is BitTorrent v1 multi-file (BEP 3) with BEP 47 padding files after every
//! file whose length is not a multiple of the 256 KiB piece, so each file starts on a piece
//! and its pieces are exactly its own chunks: the SHA-1 piece hashes come from each file's
//! [`Manifest`] (ingested once, as a single file is); only a padded last chunk is hashed
//! again with its zeros ([`padded_piece_sha1`]). Files are ordered by path (bytewise).
//!
//! The folder manifest (canonical bencode, sorted keys) names every file:
//! `{version: 1, name, files: [{path: [component…], size, cid, ed2k}]}`, and the folder's
//! ID is the SHA-256 of those bytes ([`FolderManifest::id`]); each file keeps its own CID,
//! so any one file can be fetched and checked alone.

use std::borrow::Cow;
use std::collections::BTreeMap;

use sha1::Digest as _;
use sha2::Sha256;

use crate::bencode::Value;
use crate::manifest::Manifest;
use crate::torrent_paths::{self, PathError, PathRules};
use crate::CHUNK_SIZE;

/// Files one shared folder may hold.
pub const MAX_FOLDER_FILES: usize = 10_000;

/// Why a folder cannot be shared as one torrent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FolderShareError {
    #[error("a folder needs at least one file")]
    Empty,
    #[error("at most {MAX_FOLDER_FILES} files can be shared as one folder")]
    TooMany,
    #[error("{path}: {source}")]
    Path { path: String, source: PathError },
    #[error("two files would have the same path: {0}")]
    Duplicate(String),
    #[error("{path}: its manifest has {got} piece hashes, its size needs {want}")]
    Pieces { path: String, got: usize, want: usize },
}

/// One file of the folder: its path below the folder and its manifest; `padded_last` is the
/// SHA-1 of its last chunk followed by zeros up to the piece length ([`padded_piece_sha1`]),
/// needed when its size is not a multiple of the piece and it is not the last file.
pub struct FolderFile<'a> {
    pub path: Vec<String>,
    pub manifest: &'a Manifest,
    pub padded_last: Option<[u8; 20]>,
}

/// SHA-1 of `last_chunk` followed by zeros up to [`CHUNK_SIZE`]: the piece a padded file ends in.
pub fn padded_piece_sha1(last_chunk: &[u8]) -> [u8; 20] {
    let mut h = sha1::Sha1::new();
    h.update(last_chunk);
    h.update(&vec![0u8; CHUNK_SIZE.saturating_sub(last_chunk.len())]);
    h.finalize().into()
}

/// The files in torrent order (sorted by path) with the padding after each, as
/// `(path, length, padding)` for [`crate::torrent::folder_info_dict`]; which of `files` need
/// a padded last piece hash is `needs_padding` of each returned real entry.
pub fn layout(files: &[(Vec<String>, u64)]) -> Result<Vec<(Vec<String>, u64, bool)>, FolderShareError> {
    if files.is_empty() {
        return Err(FolderShareError::Empty);
    }
    if files.len() > MAX_FOLDER_FILES {
        return Err(FolderShareError::TooMany);
    }
    let mut sorted: Vec<&(Vec<String>, u64)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::with_capacity(sorted.len() * 2);
    for (i, (path, len)) in sorted.iter().enumerate() {
        torrent_paths::check_path(path, PathRules::ANY_HOST).map_err(|source| FolderShareError::Path { path: path.join("/"), source })?;
        if i > 0 && sorted[i - 1].0 == *path {
            return Err(FolderShareError::Duplicate(path.join("/")));
        }
        out.push((path.clone(), *len, false));
        let rem = len % CHUNK_SIZE as u64;
        if rem != 0 && i + 1 < sorted.len() {
            let pad = CHUNK_SIZE as u64 - rem;
            out.push((vec![".pad".to_string(), pad.to_string()], pad, true));
        }
    }
    Ok(out)
}

/// The folder's info dict bytes (canonical bencode) for `name` and `files` (any order).
pub fn info_bytes(name: &str, files: &[FolderFile<'_>]) -> Result<Vec<u8>, FolderShareError> {
    let sizes: Vec<(Vec<String>, u64)> = files.iter().map(|f| (f.path.clone(), f.manifest.size)).collect();
    let entries = layout(&sizes)?;
    let by_path: BTreeMap<&Vec<String>, &FolderFile<'_>> = files.iter().map(|f| (&f.path, f)).collect();
    let mut pieces = Vec::new();
    let last_real = entries.iter().rposition(|e| !e.2);
    for (i, (path, len, padding)) in entries.iter().enumerate() {
        if *padding || *len == 0 {
            continue;
        }
        let f = by_path[path];
        let want = (*len as usize).div_ceil(CHUNK_SIZE);
        if f.manifest.piece_hashes.len() != want {
            return Err(FolderShareError::Pieces { path: path.join("/"), got: f.manifest.piece_hashes.len(), want });
        }
        let padded = *len % CHUNK_SIZE as u64 != 0 && Some(i) != last_real;
        for (k, h) in f.manifest.piece_hashes.iter().enumerate() {
            let h = if padded && k + 1 == want { f.padded_last.ok_or(FolderShareError::Pieces { path: path.join("/"), got: 0, want: 1 })? } else { *h };
            pieces.extend_from_slice(&h);
        }
    }
    Ok(crate::torrent::folder_info_dict(name, &entries, CHUNK_SIZE as u64, &pieces).encode())
}

/// Whether `files[i]` needs [`FolderFile::padded_last`]: its size is not a multiple of the
/// piece and it is not the last file in path order.
pub fn needs_padded_last(files: &[(Vec<String>, u64)], i: usize) -> bool {
    let last = files.iter().enumerate().max_by(|a, b| a.1 .0.cmp(&b.1 .0)).map(|(k, _)| k);
    files[i].1 % CHUNK_SIZE as u64 != 0 && Some(i) != last
}

/// The folder manifest ([module docs](self)).
pub struct FolderManifest {
    pub bytes: Vec<u8>,
}

impl FolderManifest {
    pub fn new(name: &str, files: &[FolderFile<'_>]) -> Self {
        let mut sorted: Vec<&FolderFile<'_>> = files.iter().collect();
        sorted.sort_by(|a, b| a.path.cmp(&b.path));
        let list = sorted
            .iter()
            .map(|f| {
                let mut d = BTreeMap::new();
                d.insert(Cow::Borrowed(&b"cid"[..]), Value::bytes(hex::encode(f.manifest.cid).into_bytes()));
                d.insert(Cow::Borrowed(&b"ed2k"[..]), Value::bytes(hex::encode(f.manifest.ed2k).into_bytes()));
                d.insert(Cow::Borrowed(&b"path"[..]), Value::List(f.path.iter().map(|c| Value::bytes(c.as_bytes().to_vec())).collect()));
                d.insert(Cow::Borrowed(&b"size"[..]), Value::Int(f.manifest.size as i64));
                Value::Dict(d)
            })
            .collect();
        let mut top = BTreeMap::new();
        top.insert(Cow::Borrowed(&b"files"[..]), Value::List(list));
        top.insert(Cow::Borrowed(&b"name"[..]), Value::bytes(name.as_bytes().to_vec()));
        top.insert(Cow::Borrowed(&b"version"[..]), Value::Int(1));
        Self { bytes: Value::Dict(top).encode() }
    }

    /// The folder's ID: SHA-256 of the manifest bytes, hex.
    pub fn id(&self) -> String {
        hex::encode(Sha256::digest(&self.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer_wire::extension::TorrentInfo;

    fn manifest(bytes: &[u8], name: &str) -> Manifest {
        let mut ingest = crate::ingest::Ingest::new(crate::ingest::IngestOptions::new(name, bytes.len() as u64)).expect("ingest");
        ingest.push(bytes).expect("push");
        ingest.finish().expect("finish")
    }

    #[test]
    fn each_file_starts_on_a_piece_and_its_pieces_are_its_chunks() {
        let a: Vec<u8> = (0..CHUNK_SIZE + 100).map(|i| (i % 251) as u8).collect();
        let b: Vec<u8> = (0..CHUNK_SIZE * 2).map(|i| (i % 13) as u8).collect();
        let c: Vec<u8> = (0..777).map(|i| (i % 7) as u8).collect();
        let (ma, mb, mc, me) = (manifest(&a, "a"), manifest(&b, "b"), manifest(&c, "c"), manifest(&[], "e"));
        let files = [
            FolderFile { path: vec!["sub".into(), "c.txt".into()], manifest: &mc, padded_last: None },
            FolderFile { path: vec!["a.bin".into()], manifest: &ma, padded_last: Some(padded_piece_sha1(&a[CHUNK_SIZE..])) },
            FolderFile { path: vec!["b.bin".into()], manifest: &mb, padded_last: None },
            FolderFile { path: vec!["empty".into()], manifest: &me, padded_last: None },
        ];
        let bytes = info_bytes("folder ñ", &files).unwrap();
        let info = TorrentInfo::parse(&bytes).unwrap();
        let names: Vec<String> = info.files.iter().map(|f| f.path.join("/")).collect();
        assert_eq!(names, ["a.bin", &format!(".pad/{}", CHUNK_SIZE - 100), "b.bin", "empty", "sub/c.txt"]);
        assert_eq!(info.pieces(), 2 + 2 + 1);
        // The torrent's byte stream, padding included, hashes to the pieces the dict names.
        let mut stream = a.clone();
        stream.resize(CHUNK_SIZE * 2, 0);
        stream.extend_from_slice(&b);
        stream.extend_from_slice(&c);
        for (i, piece) in stream.chunks(CHUNK_SIZE).enumerate() {
            assert_eq!(<[u8; 20]>::from(sha1::Sha1::digest(piece)), info.piece_hashes[i], "piece {i}");
        }
        assert_eq!(info.file_pieces(0), 0..2);
        assert_eq!(info.file_pieces(2), 2..4);
        let sizes: Vec<(Vec<String>, u64)> = files.iter().map(|f| (f.path.clone(), f.manifest.size)).collect();
        assert_eq!((0..4).map(|i| needs_padded_last(&sizes, i)).collect::<Vec<_>>(), [false, true, false, false]);
        let m = FolderManifest::new("folder ñ", &files);
        assert_eq!(m.id().len(), 64);
        let again = FolderManifest::new("folder ñ", &[files[2].clone_ref(), files[0].clone_ref(), files[1].clone_ref(), files[3].clone_ref()]);
        assert_eq!(again.bytes, m.bytes, "the manifest does not depend on the order files were given in");
    }

    #[test]
    fn refusals() {
        let m = manifest(b"x", "x");
        let f = |p: &[&str]| FolderFile { path: p.iter().map(|s| s.to_string()).collect(), manifest: &m, padded_last: None };
        assert_eq!(info_bytes("n", &[]).unwrap_err(), FolderShareError::Empty);
        assert!(matches!(info_bytes("n", &[f(&["..", "x"])]).unwrap_err(), FolderShareError::Path { .. }));
        assert_eq!(info_bytes("n", &[f(&["x"]), f(&["x"])]).unwrap_err(), FolderShareError::Duplicate("x".into()));
    }

    impl FolderFile<'_> {
        fn clone_ref(&self) -> Self {
            FolderFile { path: self.path.clone(), manifest: self.manifest, padded_last: self.padded_last }
        }
    }
}
