//! Fuzz target `index`: see annscope::fuzzing.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| annscope::fuzzing::run("index", data));
