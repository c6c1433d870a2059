//! Fuzz target `text`: see annscope::fuzzing.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| annscope::fuzzing::run("text", data));
