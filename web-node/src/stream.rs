//! Streaming a file while it downloads, pure: the answer to a media element's `Range`
//! request (RFC 9110 §14 and §15.3.7, parsed by `http-range-header`), the reads that make
//! up its body, piece by piece, and the deadlines that put the playhead's pieces first.
//!
//! The page's Service Worker (`www/sw.js`) forwards `GET /stream/<infohash>/<name>` to the
//! page; [`crate::browser::stream`] answers with [`head`], then reads [`next_read`] after
//! [`next_read`] from verified stored pieces, setting [`readahead`] as the swarm's piece
//! deadlines ([`crate::swarm::Swarm::set_deadlines`]) before waiting for one.

use std::ops::RangeInclusive;

/// The most bytes one read returns (one message to the Service Worker).
pub const MAX_READ: u32 = 256 * 1024;
/// Pieces after the playhead given deadlines ([`readahead`]).
pub const READAHEAD_PIECES: u32 = 16;
/// Milliseconds between the deadlines of consecutive read-ahead pieces.
pub const READAHEAD_STEP_MS: u64 = 500;

/// The status, headers and byte range of a stream's response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// 200 (whole file), 206 (one range) or 416 (none satisfiable).
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    /// The bytes to send, inclusive; `None` for an empty body.
    pub range: Option<RangeInclusive<u64>>,
}

/// The `Content-Type` for a file name: by extension (`mime_guess`), else
/// `application/octet-stream`.
pub fn content_type(name: &str) -> String {
    mime_guess::from_path(name).first().map_or_else(|| "application/octet-stream".to_owned(), |m| m.essence_str().to_owned())
}

/// The answer to `GET` with this `Range` header (or none) for a file of `length` bytes.
/// A malformed or rejected header is ignored (RFC 9110 §14.2: a server MAY ignore it) and
/// the whole file sent; an unsatisfiable one gets 416 with `Content-Range: bytes */LEN`;
/// several ranges get the first (media elements ask one at a time; no multipart here).
pub fn head(range: Option<&str>, length: u64, name: &str) -> Head {
    let mut headers = vec![("Content-Type", content_type(name)), ("Accept-Ranges", "bytes".to_owned()), ("Cache-Control", "no-store".to_owned())];
    let whole = |mut headers: Vec<(&'static str, String)>| {
        headers.push(("Content-Length", length.to_string()));
        Head { status: 200, headers, range: (length > 0).then(|| 0..=length - 1) }
    };
    let Some(range) = range else { return whole(headers) };
    match http_range_header::parse_range_header(range).and_then(|r| r.validate(length)) {
        Ok(ranges) => match ranges.into_iter().next() {
            Some(r) => {
                headers.push(("Content-Range", format!("bytes {}-{}/{length}", r.start(), r.end())));
                headers.push(("Content-Length", (r.end() - r.start() + 1).to_string()));
                Head { status: 206, headers, range: Some(r) }
            }
            None => whole(headers),
        },
        Err(http_range_header::RangeUnsatisfiableError::Unsatisfiable) => {
            headers.push(("Content-Range", format!("bytes */{length}")));
            headers.push(("Content-Length", "0".to_owned()));
            Head { status: 416, headers, range: None }
        }
        Err(_) => whole(headers),
    }
}

/// One read of a stream's body: `len` bytes at `offset` inside piece `piece`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    pub piece: u32,
    pub offset: u32,
    pub len: u32,
}

/// The read at file position `pos` of a body ending at `end` (inclusive): within one
/// piece, at most [`MAX_READ`] bytes; `None` when `pos` is past `end`.
pub fn next_read(pos: u64, end: u64, piece_length: u32) -> Option<Read> {
    if pos > end || piece_length == 0 {
        return None;
    }
    let piece_length = u64::from(piece_length);
    let piece = pos / piece_length;
    let offset = pos % piece_length;
    let len = (piece_length - offset).min(end - pos + 1).min(u64::from(MAX_READ));
    Some(Read { piece: u32::try_from(piece).ok()?, offset: offset as u32, len: len as u32 })
}

/// Deadlines for a playhead in `piece`: that piece now, the next [`READAHEAD_PIECES`]
/// (within `pieces`) [`READAHEAD_STEP_MS`] apart. Several streams' lists are merged by
/// the caller (earliest deadline per piece).
pub fn readahead(piece: u32, pieces: u32, now: u64) -> Vec<(u32, u64)> {
    (0..=READAHEAD_PIECES).map(|i| (piece.saturating_add(i), now + u64::from(i) * READAHEAD_STEP_MS)).filter(|&(p, _)| p < pieces).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_element_ranges() {
        let h = head(Some("bytes=0-"), 1000, "clip.webm");
        assert_eq!(h.status, 206);
        assert_eq!(h.range, Some(0..=999));
        assert!(h.headers.contains(&("Content-Range", "bytes 0-999/1000".into())));
        assert!(h.headers.contains(&("Content-Type", "video/webm".into())));
        let h = head(Some("bytes=800-899"), 1000, "song.mp3");
        assert_eq!((h.status, h.range), (206, Some(800..=899)));
        assert!(h.headers.contains(&("Content-Length", "100".into())));
        assert!(h.headers.contains(&("Content-Type", "audio/mpeg".into())));
        let h = head(Some("bytes=-100"), 1000, "x");
        assert_eq!(h.range, Some(900..=999));
        let h = head(Some("bytes=1000-"), 1000, "x");
        assert_eq!((h.status, h.range), (416, None));
        assert!(h.headers.contains(&("Content-Range", "bytes */1000".into())));
        let h = head(Some("pages=1-2"), 1000, "x.bin");
        assert_eq!((h.status, h.range), (200, Some(0..=999)));
        assert!(h.headers.contains(&("Content-Type", "application/octet-stream".into())));
        assert_eq!(head(None, 0, "x").range, None);
    }

    #[test]
    fn reads_stay_inside_pieces_and_the_range() {
        assert_eq!(next_read(0, 999, 300), Some(Read { piece: 0, offset: 0, len: 300 }));
        assert_eq!(next_read(250, 270, 300), Some(Read { piece: 0, offset: 250, len: 21 }));
        assert_eq!(next_read(600, 10_000_000, 1 << 20), Some(Read { piece: 0, offset: 600, len: MAX_READ }));
        assert_eq!(next_read(1000, 999, 300), None);
    }

    #[test]
    fn readahead_stops_at_the_last_piece() {
        let r = readahead(8, 10, 1000);
        assert_eq!(r, vec![(8, 1000), (9, 1000 + READAHEAD_STEP_MS)]);
        assert_eq!(readahead(0, 100, 0).len() as u32, READAHEAD_PIECES + 1);
    }
}
