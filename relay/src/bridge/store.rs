//! Where a bridged file's verified pieces live: one file (piece `i` at byte
//! `i × piece length`), or, for `relay fetch` of a multi-file torrent, the torrent's folder,
//! each piece split over the files it spans ([`TorrentInfo::piece_spans`]). Pieces arrive
//! already SHA-1 checked by the swarm; this only places bytes. One piece in memory at a time.
//!
//! A folder is laid out as `root/<path…>` for every file of the torrent (`root` is the
//! output the user named, or the torrent's `name`): every non-padding file is created at
//! once at its full length (sparse; zero-length files too), so a finished fetch leaves
//! exactly the torrent's files. BEP 47 padding files are never written; read back as zeros.
//! Paths were checked on every host by [`TorrentInfo::parse`]; here they are checked
//! again under this host's rules ([`PathRules::host`]: Windows reserved names on Windows),
//! and nothing is written through a symlink, so nothing lands outside `root`.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use web_node::peer_wire::extension::TorrentInfo;
use web_node::torrent_paths::{self, PathRules};

use super::BridgeError;

pub(super) enum PieceStore {
    /// One file holding the torrent's bytes back to back.
    File(tokio::fs::File),
    Folder(Folder),
}

/// A multi-file torrent's files under `root`.
pub(super) struct Folder {
    root: PathBuf,
    info: TorrentInfo,
}

impl PieceStore {
    /// Reads piece `index` (`len` bytes at byte `offset` of the torrent).
    pub(super) async fn read(&mut self, index: u32, offset: u64, len: usize) -> Result<Vec<u8>, BridgeError> {
        let mut buf = vec![0u8; len];
        match self {
            PieceStore::File(file) => {
                file.seek(std::io::SeekFrom::Start(offset)).await.map_err(BridgeError::storage)?;
                file.read_exact(&mut buf).await.map_err(BridgeError::storage)?;
            }
            PieceStore::Folder(folder) => {
                for span in folder.info.piece_spans(index) {
                    let f = &folder.info.files[span.file];
                    if f.padding {
                        continue; // zeros
                    }
                    let mut file = tokio::fs::File::open(folder.path_of(span.file)).await.map_err(BridgeError::storage)?;
                    file.seek(std::io::SeekFrom::Start(span.file_offset)).await.map_err(BridgeError::storage)?;
                    let at = span.piece_offset as usize;
                    file.read_exact(&mut buf[at..at + span.len as usize]).await.map_err(BridgeError::storage)?;
                }
            }
        }
        Ok(buf)
    }

    /// Writes verified piece `index` (its bytes `data`, at byte `offset` of the torrent).
    pub(super) async fn write(&mut self, index: u32, offset: u64, data: &[u8]) -> Result<(), BridgeError> {
        match self {
            PieceStore::File(file) => {
                file.seek(std::io::SeekFrom::Start(offset)).await.map_err(BridgeError::storage)?;
                file.write_all(data).await.map_err(BridgeError::storage)
            }
            PieceStore::Folder(folder) => {
                for span in folder.info.piece_spans(index) {
                    if folder.info.files[span.file].padding {
                        continue;
                    }
                    let at = span.piece_offset as usize;
                    let bytes = data.get(at..at + span.len as usize).ok_or(BridgeError::NoMetadata)?;
                    let mut file = tokio::fs::OpenOptions::new().write(true).open(folder.path_of(span.file)).await.map_err(BridgeError::storage)?;
                    file.seek(std::io::SeekFrom::Start(span.file_offset)).await.map_err(BridgeError::storage)?;
                    file.write_all(bytes).await.map_err(BridgeError::storage)?;
                }
                Ok(())
            }
        }
    }
}

impl Folder {
    /// Checks every path under this host's rules, then creates `root` and every
    /// non-padding file (truncated, at its full length). Refuses a path that would pass
    /// through a symlink, or an existing folder where a file goes.
    pub(super) async fn create(root: PathBuf, info: &TorrentInfo) -> Result<Self, BridgeError> {
        let unsafe_path = |e: torrent_paths::PathError| BridgeError::Unsupported(format!("unsafe path in the torrent: {e}"));
        for f in info.real_files() {
            torrent_paths::check_path(&f.path, PathRules::host()).map_err(unsafe_path)?;
        }
        tokio::fs::create_dir_all(&root).await.map_err(BridgeError::storage)?;
        let folder = Self { root, info: info.clone() };
        for (i, f) in info.files.iter().enumerate().filter(|(_, f)| !f.padding) {
            let path = folder.path_of(i);
            let mut at = folder.root.clone();
            for c in &f.path[..f.path.len() - 1] {
                at.push(c);
                refuse_symlink(&at).await?;
                if let Err(e) = tokio::fs::create_dir(&at).await {
                    let a_folder = tokio::fs::metadata(&at).await.is_ok_and(|m| m.is_dir());
                    if e.kind() != std::io::ErrorKind::AlreadyExists || !a_folder {
                        return Err(BridgeError::storage(e));
                    }
                }
            }
            refuse_symlink(&path).await?;
            let file = tokio::fs::OpenOptions::new().write(true).create(true).truncate(true).open(&path).await.map_err(BridgeError::storage)?;
            file.set_len(f.length).await.map_err(BridgeError::storage)?;
        }
        Ok(folder)
    }

    fn path_of(&self, file: usize) -> PathBuf {
        let mut path = self.root.clone();
        path.extend(&self.info.files[file].path);
        path
    }
}

/// An existing symlink at `path` could point anywhere: refused.
async fn refuse_symlink(path: &Path) -> Result<(), BridgeError> {
    match tokio::fs::symlink_metadata(path).await {
        Ok(m) if m.file_type().is_symlink() => Err(BridgeError::Unsupported(format!("{} is a symlink; the relay does not write through it", path.display()))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use web_node::torrent::folder_info_dict;

    const PIECE: u64 = 16 * 1024;

    fn info(files: &[(Vec<String>, u64, bool)]) -> TorrentInfo {
        let total: u64 = files.iter().map(|f| f.1).sum();
        let pieces = vec![0u8; 20 * total.div_ceil(PIECE) as usize];
        TorrentInfo::parse(&folder_info_dict("top", files, PIECE, &pieces).encode()).unwrap()
    }

    fn e(path: &[&str], len: u64, padding: bool) -> (Vec<String>, u64, bool) {
        (path.iter().map(|c| c.to_string()).collect(), len, padding)
    }

    /// Pieces that straddle files (and padding) land in the right files, which read back.
    #[tokio::test]
    async fn pieces_are_split_over_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let info = info(&[e(&["a.txt"], 5_000, false), e(&[".pad", "1"], PIECE - 5_000, true), e(&["sub", "ñ 文件"], PIECE + 10, false), e(&["empty"], 0, false), e(&["z"], 7, false)]);
        let root = dir.path().join("top");
        let mut store = PieceStore::Folder(Folder::create(root.clone(), &info).await.unwrap());
        let all: Vec<u8> = (0..info.length).map(|i| if (5_000..PIECE).contains(&i) { 0 } else { (i % 251) as u8 }).collect();
        for index in (0..info.pieces()).rev() {
            let start = u64::from(index) * PIECE;
            let piece = &all[start as usize..(start + u64::from(info.piece_len(index))) as usize];
            store.write(index, start, piece).await.unwrap();
            assert_eq!(store.read(index, start, piece.len()).await.unwrap(), piece);
        }
        assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), &all[..5_000]);
        assert_eq!(std::fs::read(root.join("sub").join("ñ 文件")).unwrap(), &all[PIECE as usize..(2 * PIECE + 10) as usize]);
        assert_eq!(std::fs::read(root.join("empty")).unwrap(), b"");
        assert_eq!(std::fs::read(root.join("z")).unwrap(), &all[(2 * PIECE + 10) as usize..]);
        assert!(!root.join(".pad").exists(), "padding is never written");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_symlink_in_the_way_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        let root = dir.path().join("top");
        std::fs::create_dir_all(&root).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("sub")).unwrap();
        let info = info(&[e(&["sub", "x"], 5, false)]);
        assert!(matches!(Folder::create(root, &info).await, Err(BridgeError::Unsupported(_))));
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    }
}
