#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| (chiral_fuzz::target("ed2k_wire").expect("a target").run)(data));
