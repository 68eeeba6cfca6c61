#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| (chiral_fuzz::target("byte_ranges").expect("a target").run)(data));
