//! Info dict parsing: real transmission-create dicts, folders with nested, unicode, empty
//! and padding files, the refusals, and property tests over random layouts.

use proptest::prelude::*;

use super::*;
use crate::torrent::{folder_info_dict, info_dict};

const PIECE: u64 = 16 * 1024;

fn entry(path: &[&str], length: u64, padding: bool) -> (Vec<String>, u64, bool) {
    (path.iter().map(|c| c.to_string()).collect(), length, padding)
}

/// A folder info dict with the right number of (dummy) piece hashes.
fn folder(name: &str, files: &[(Vec<String>, u64, bool)], piece_length: u64) -> Vec<u8> {
    let total: u64 = files.iter().map(|f| f.1).sum();
    let pieces = vec![7u8; 20 * total.div_ceil(piece_length) as usize];
    folder_info_dict(name, files, piece_length, &pieces).encode()
}

#[test]
fn a_single_file_is_one_entry() {
    let pieces = [1u8; 40];
    let info = TorrentInfo::parse(&info_dict("a.bin", PIECE + 5, PIECE, &pieces).encode()).unwrap();
    assert!(info.is_single_file());
    assert_eq!(info.files, vec![FileEntry { path: vec!["a.bin".into()], length: PIECE + 5, offset: 0, padding: false }]);
    assert_eq!(info.single_file().unwrap().length, info.length);
    assert_eq!(info.piece_spans(1), vec![FileSpan { file: 0, file_offset: PIECE, piece_offset: 0, len: 5 }]);
}

#[test]
fn a_real_transmission_folder_parses() {
    let info = TorrentInfo::parse(include_bytes!("../../../fuzz/corpus/torrent_info/real-transmission-folder-info")).unwrap();
    assert!(!info.is_single_file());
    assert_eq!(info.single_file(), Err(InfoError::MultiFile));
    assert_eq!(info.name, "folder");
    let paths: Vec<String> = info.files.iter().map(|f| f.path.join("/")).collect();
    assert_eq!(paths, ["a.txt", "sub/ñandú 文件.bin"]);
    assert_eq!(info.length, 90_000);
    assert_eq!(info.files[1].offset, 70_000);
    // Piece 4 (65536..81920) ends a.txt and starts the unicode file.
    assert_eq!(
        info.piece_spans(4),
        vec![FileSpan { file: 0, file_offset: 65_536, piece_offset: 0, len: 4_464 }, FileSpan { file: 1, file_offset: 0, piece_offset: 4_464, len: 11_920 }]
    );
}

#[test]
fn nested_empty_and_padding_files() {
    let files = [
        entry(&["docs", "deep", "ñ.txt"], 10, false),
        entry(&[".pad", "16374"], PIECE - 10, true),
        entry(&["empty"], 0, false),
        entry(&["b.bin"], PIECE + 1, false),
        entry(&["_____padding_file_0"], 3, false),
        entry(&[".pad", "x"], 1, false), // BEP 47's path alone marks padding too
    ];
    let info = TorrentInfo::parse(&folder("top", &files, PIECE)).unwrap();
    assert_eq!(info.length, 2 * PIECE + 5);
    let pads: Vec<bool> = info.files.iter().map(|f| f.padding).collect();
    assert_eq!(pads, [false, true, false, false, false, true]);
    assert_eq!(info.real_files().count(), 4);
    assert_eq!(info.files[3].offset, PIECE);
    assert_eq!(info.piece_spans(0).iter().map(|s| s.file).collect::<Vec<_>>(), [0, 1], "the empty file takes no bytes");
    assert_eq!(info.piece_spans(2).iter().map(|s| (s.file, s.len)).collect::<Vec<_>>(), [(3, 1), (4, 3), (5, 1)]);
    assert!(info.piece_spans(3).is_empty());
}

#[test]
fn unsafe_paths_are_refused() {
    let cases: [(&str, &[&str]); 7] = [
        ("top", &["..", "escape.txt"]),
        ("top", &["a", "..", "..", "b"]),
        ("top", &["a/../../b"]),
        ("top", &["/etc/passwd"]),
        ("top", &["C:", "x"]),
        ("top", &["nul\0byte"]),
        ("..", &["a"]),
    ];
    for (name, path) in cases {
        let got = TorrentInfo::parse(&folder(name, &[entry(path, 5, false)], PIECE));
        assert!(matches!(got, Err(InfoError::Path(_))), "{name}/{path:?}: {got:?}");
    }
    assert!(matches!(TorrentInfo::parse(&folder("top", &[entry(&[], 5, false)], PIECE)), Err(InfoError::Path(PathError::Empty))));
}

#[test]
fn clashing_paths_are_refused() {
    let dup = [entry(&["a"], 1, false), entry(&["a"], 2, false)];
    assert_eq!(TorrentInfo::parse(&folder("t", &dup, PIECE)), Err(InfoError::PathClash("a".into())));
    let file_then_dir = [entry(&["a"], 1, false), entry(&["a", "b"], 2, false)];
    assert_eq!(TorrentInfo::parse(&folder("t", &file_then_dir, PIECE)), Err(InfoError::PathClash("a".into())));
    let dir_then_file = [entry(&["a", "b"], 1, false), entry(&["a"], 2, false)];
    assert_eq!(TorrentInfo::parse(&folder("t", &dir_then_file, PIECE)), Err(InfoError::PathClash("a".into())));
    // Padding files may repeat (some creators name them all alike).
    let pads = [entry(&["a"], 1, false), entry(&[".pad", "1"], 1, true), entry(&[".pad", "1"], 1, true)];
    TorrentInfo::parse(&folder("t", &pads, PIECE)).unwrap();
}

#[test]
fn sizes_are_bounded() {
    let many: Vec<_> = (0..=MAX_FILES).map(|i| (vec![format!("{i}")], 0u64, false)).collect();
    let pieces = [0u8; 20];
    let bytes = folder_info_dict("t", &many, PIECE, &pieces).encode();
    assert_eq!(TorrentInfo::parse(&bytes), Err(InfoError::TooManyFiles));
    let huge = [entry(&["a"], i64::MAX as u64, false), entry(&["b"], i64::MAX as u64, false), entry(&["c"], i64::MAX as u64, false)];
    assert_eq!(TorrentInfo::parse(&folder_info_dict("t", &huge, PIECE, &pieces).encode()), Err(InfoError::TooLarge));
    let all_empty = [entry(&["a"], 0, false)];
    assert_eq!(TorrentInfo::parse(&folder_info_dict("t", &all_empty, PIECE, &[]).encode()), Err(InfoError::Field("length")));
    assert_eq!(TorrentInfo::parse(&folder("t", &[entry(&["a"], PIECE * 2, false)], PIECE)[..]).map(|i| i.pieces()), Ok(2));
    let short = folder_info_dict("t", &[entry(&["a"], PIECE * 2, false)], PIECE, &pieces).encode();
    assert_eq!(TorrentInfo::parse(&short), Err(InfoError::PieceCount));
}

fn component() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z]{1,8}", "[ñú文件🎵 ._-]{1,6}", Just(".hidden".to_string())].prop_filter("safe", |c| c != "." && c != "..")
}

fn layout() -> impl Strategy<Value = Vec<(Vec<String>, u64, bool)>> {
    let file = (proptest::collection::vec(component(), 1..4), prop_oneof![Just(0u64), 1..3 * PIECE], proptest::bool::weighted(0.15));
    proptest::collection::vec(file, 1..12).prop_map(|mut files| {
        // Unique paths, none another's folder: number every file's last component.
        for (i, f) in files.iter_mut().enumerate() {
            let last = f.0.last_mut().expect("non-empty");
            *last = format!("{i}-{last}");
            f.0.insert(0, format!("d{i}"));
        }
        files
    })
}

proptest! {
    /// A folder parses to its files, back to back; the pieces' spans cover every byte of
    /// the torrent once, in order, and every file's bytes exactly once.
    #[test]
    fn folders_parse_and_pieces_map_onto_files(files in layout(), shift in 0u32..3) {
        let piece_length = PIECE << shift;
        let total: u64 = files.iter().map(|f| f.1).sum();
        prop_assume!(total > 0);
        let info = TorrentInfo::parse(&folder("top ñ", &files, piece_length)).unwrap();
        prop_assert_eq!(info.length, total);
        prop_assert_eq!(info.files.len(), files.len());
        let mut offset = 0;
        for (got, (path, length, padding)) in info.files.iter().zip(&files) {
            prop_assert_eq!(&got.path, path);
            prop_assert_eq!(got.length, *length);
            prop_assert_eq!(got.offset, offset);
            prop_assert_eq!(got.padding, *padding);
            offset += length;
        }
        let mut covered = vec![0u64; files.len()];
        let mut at = 0u64;
        for index in 0..info.pieces() {
            let mut in_piece = 0u32;
            for s in info.piece_spans(index) {
                prop_assert_eq!(s.piece_offset, in_piece);
                prop_assert_eq!(info.files[s.file].offset + s.file_offset, at);
                prop_assert_eq!(s.file_offset, covered[s.file]);
                prop_assert!(s.len > 0);
                covered[s.file] += u64::from(s.len);
                in_piece += s.len;
                at += u64::from(s.len);
            }
            prop_assert_eq!(in_piece, info.piece_len(index));
        }
        prop_assert_eq!(at, total);
        for (c, f) in covered.iter().zip(&info.files) {
            prop_assert_eq!(*c, f.length);
        }
    }

    /// Whatever bytes come in, an accepted dict is self-consistent and its paths safe.
    #[test]
    fn any_accepted_dict_is_consistent(files in layout(), cut in 0usize..400, junk in proptest::collection::vec(any::<u8>(), 0..8)) {
        let mut bytes = folder("t", &files, PIECE);
        let at = cut.min(bytes.len());
        bytes.splice(at..at, junk);
        if let Ok(info) = TorrentInfo::parse(&bytes) {
            prop_assert_eq!(info.files.iter().map(|f| f.length).sum::<u64>(), info.length);
            for f in &info.files {
                prop_assert!(crate::torrent_paths::check_path(&f.path, crate::torrent_paths::PathRules::ANY_HOST).is_ok());
            }
        }
    }
}

#[test]
fn pieces_and_progress_per_file() {
    // a + padding | b | empty | c, pieces of 16 KiB: a = piece 0, b = pieces 1-2, c = piece 2.
    let bytes = folder("f", &[entry(&["a"], 10_000, false), entry(&[".pad", "6"], PIECE - 10_000, true), entry(&["b"], 20_000, false), entry(&["e"], 0, false), entry(&["c"], 3, false)], PIECE);
    let info = TorrentInfo::parse(&bytes).unwrap();
    assert_eq!(info.pieces(), 3);
    assert_eq!([info.file_pieces(0), info.file_pieces(2), info.file_pieces(3), info.file_pieces(4), info.file_pieces(9)], [0..1, 1..3, 0..0, 2..3, 0..0]);
    let mut have = Bitfield::new(3);
    have.set(1);
    assert_eq!([info.file_have_bytes(0, &have), info.file_have_bytes(2, &have), info.file_have_bytes(4, &have)], [0, PIECE, 0]);
    have.set(2);
    assert_eq!([info.file_have_bytes(2, &have), info.file_have_bytes(4, &have)], [20_000, 3]);
    let only_c = info.wanted_pieces(&[false, true, false, false, true]);
    assert_eq!(only_c.ones().collect::<Vec<_>>(), [2]);
    assert_eq!(info.wanted_pieces(&[]).count(), 3, "missing choices count as chosen");
}
