#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| (chiral_fuzz::target("http_fields").expect("a target").run)(data));
