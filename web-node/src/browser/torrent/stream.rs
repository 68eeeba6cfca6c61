//! A torrent's side of streaming ([`crate::stream`], [`crate::browser::stream`]): which file
//! a stream plays, the playhead of every open stream as the swarm's piece deadlines, and
//! verified piece bytes as soon as they are stored.

use sha1::Digest;

use super::{now_ms, Torrent, TorrentError};
use crate::stream::readahead;

/// How long one piece may take to arrive before the stream gives up (the media element
/// then shows an error, and may ask again).
const PIECE_WAIT_MS: f64 = 120_000.0;
/// How often a waiting read looks again.
const POLL_MS: u64 = 50;
/// Streams open at once per torrent (a media element opens two or three while seeking).
pub const MAX_STREAMS: usize = 8;

/// The file a stream plays: its name, where it starts in the torrent, its length, and the
/// torrent's piece length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFile {
    pub name: String,
    pub offset: u64,
    pub length: u64,
    pub piece_length: u32,
}

impl Torrent {
    /// File `index` of the torrent (0 for a single file), once the info dict is known;
    /// waits up to `wait_ms` for it. Errors: stopped, no info in time, no such file.
    pub async fn stream_file(&self, index: usize, wait_ms: f64) -> Result<StreamFile, TorrentError> {
        let until = now_ms() + wait_ms;
        loop {
            {
                let inner = self.0.borrow();
                if inner.stopped {
                    return Err(TorrentError::Stopped);
                }
                if let Some(info) = inner.swarm.info() {
                    let file = info.files.get(index).filter(|f| !f.padding).ok_or(TorrentError::NoSuchFile { index })?;
                    let name = file.path.last().cloned().unwrap_or_else(|| info.name.clone());
                    return Ok(StreamFile { name, offset: file.offset, length: file.length, piece_length: info.piece_length });
                }
            }
            if now_ms() > until {
                return Err(TorrentError::StreamStalled { what: "the torrent's metadata".into() });
            }
            futures_timer::Delay::new(std::time::Duration::from_millis(POLL_MS)).await;
        }
    }

    /// Opens a stream (a media element's request); `None` when [`MAX_STREAMS`] are open.
    pub fn stream_open(&self) -> Option<u64> {
        let mut inner = self.0.borrow_mut();
        if inner.streams.len() >= MAX_STREAMS {
            return None;
        }
        inner.next_stream += 1;
        let id = inner.next_stream;
        inner.streams.insert(id, None);
        Some(id)
    }

    /// Stream `id`'s playhead is in `piece`: the swarm's deadlines become every open
    /// stream's read-ahead ([`readahead`]), earliest per piece.
    pub fn stream_at(&self, id: u64, piece: u32) {
        {
            let mut inner = self.0.borrow_mut();
            if let Some(at) = inner.streams.get_mut(&id) {
                *at = Some(piece);
            }
        }
        self.set_stream_deadlines();
    }

    /// The stream ended (body sent, cancelled, failed): its deadlines go.
    pub fn stream_close(&self, id: u64) {
        self.0.borrow_mut().streams.remove(&id);
        self.set_stream_deadlines();
    }

    fn set_stream_deadlines(&self) {
        let now = now_ms() as u64;
        {
            let mut inner = self.0.borrow_mut();
            let Some(pieces) = inner.swarm.info().map(|i| i.pieces()) else { return };
            let mut merged: std::collections::BTreeMap<u32, u64> = Default::default();
            for piece in inner.streams.values().flatten() {
                for (p, at) in readahead(*piece, pieces, now) {
                    let e = merged.entry(p).or_insert(at);
                    *e = (*e).min(at);
                }
            }
            let list: Vec<(u32, u64)> = merged.into_iter().collect();
            inner.swarm.set_deadlines(&list, now);
        }
        self.pump();
    }

    /// Bytes `offset..offset + len` of piece `index`, once it is verified and stored (the
    /// stored copy is checked against the info dict's SHA-1 again before use). Waits up to
    /// [`PIECE_WAIT_MS`]. Errors: stopped, not in time, storage.
    pub async fn stream_read(&self, index: u32, offset: u32, len: u32) -> Result<Vec<u8>, TorrentError> {
        let until = now_ms() + PIECE_WAIT_MS;
        loop {
            let (held, store, piece_len, expected) = {
                let inner = self.0.borrow();
                if inner.stopped {
                    return Err(TorrentError::Stopped);
                }
                let info = inner.swarm.info();
                (inner.swarm.has_piece(index), inner.store.clone(), info.map(|i| i.piece_len(index)), info.and_then(|i| i.piece_hashes.get(index as usize).copied()))
            };
            if let (true, Some(store), Some(piece_len)) = (held, store, piece_len) {
                // Stored a moment after it is verified: until the write is done the read fails.
                if let Ok(data) = store.read_piece(index, piece_len).await {
                    let actual: [u8; 20] = sha1::Sha1::digest(&data).into();
                    if Some(actual) == expected && (offset + len) as usize <= data.len() {
                        return Ok(data[offset as usize..(offset + len) as usize].to_vec());
                    }
                }
            }
            if now_ms() > until {
                return Err(TorrentError::StreamStalled { what: format!("piece {index}") });
            }
            futures_timer::Delay::new(std::time::Duration::from_millis(POLL_MS)).await;
        }
    }
}
