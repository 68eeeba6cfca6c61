//! `web_node::stream`: whatever `Range` header a media element (or anything else) sends,
//! the answer is consistent and its reads cover exactly the bytes promised.

use proptest::prelude::*;
use web_node::stream::{head, next_read, readahead, MAX_READ, READAHEAD_PIECES};

fn header() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        (any::<u32>(), any::<u32>()).prop_map(|(a, b)| format!("bytes={a}-{b}")),
        any::<u32>().prop_map(|a| format!("bytes={a}-")),
        any::<u32>().prop_map(|a| format!("bytes=-{a}")),
        (any::<u16>(), any::<u16>(), any::<u16>()).prop_map(|(a, b, c)| format!("bytes={a}-{b}, {c}-")),
    ]
}

proptest! {
    #[test]
    fn every_answer_is_consistent(range in proptest::option::of(header()), length in 0u64..10_000_000, piece_length in prop::sample::select(vec![16_384u32, 262_144, 1 << 20])) {
        let h = head(range.as_deref(), length, "clip.webm");
        let get = |k: &str| h.headers.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        prop_assert!(matches!(h.status, 200 | 206 | 416));
        match &h.range {
            Some(r) => {
                prop_assert!(r.start() <= r.end() && *r.end() < length);
                prop_assert_eq!(get("Content-Length"), Some((r.end() - r.start() + 1).to_string()));
                if h.status == 206 {
                    prop_assert_eq!(get("Content-Range"), Some(format!("bytes {}-{}/{length}", r.start(), r.end())));
                } else {
                    prop_assert_eq!((*r.start(), *r.end() + 1), (0, length));
                }
                // The reads are back to back, inside pieces, bounded, and cover the range.
                let mut pos = *r.start();
                let mut reads = 0u64;
                while let Some(read) = next_read(pos, *r.end(), piece_length) {
                    prop_assert!(read.len > 0 && read.len <= MAX_READ && read.offset + read.len <= piece_length);
                    prop_assert_eq!(u64::from(read.piece) * u64::from(piece_length) + u64::from(read.offset), pos);
                    pos += u64::from(read.len);
                    reads += 1;
                    prop_assert!(reads <= 100_000);
                }
                prop_assert_eq!(pos, r.end() + 1);
            }
            None => {
                prop_assert!(h.status == 416 || length == 0);
                if h.status == 416 {
                    prop_assert_eq!(get("Content-Length"), Some("0".to_string()));
                    prop_assert_eq!(get("Content-Range"), Some(format!("bytes */{length}")));
                }
            }
        }
    }

    #[test]
    fn readahead_is_ordered_and_bounded(piece in any::<u32>(), pieces in any::<u32>(), now in 0u64..1 << 50) {
        let r = readahead(piece, pieces, now);
        prop_assert!(r.len() as u32 <= READAHEAD_PIECES + 1);
        prop_assert!(r.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
        prop_assert!(r.iter().all(|&(p, at)| p < pieces && p >= piece && at >= now));
    }
}
