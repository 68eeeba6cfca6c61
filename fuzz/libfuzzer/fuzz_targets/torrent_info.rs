#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| (chiral_fuzz::target("torrent_info").expect("a target").run)(data));
