#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sessionscope_fuzz::settings(data));
