//! Fuzz target `cache`: see annscope::fuzzing.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| annscope::fuzzing::run("cache", data));
