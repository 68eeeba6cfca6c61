#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| (chiral_fuzz::target("udp_tracker_reply").expect("a target").run)(data));
