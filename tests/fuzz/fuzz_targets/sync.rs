//! cargo-fuzz binary for the `sync` target; the body lives in `targets/sync.rs`, shared with the
//! stable corpus test `tests/fuzz_corpus.rs`.
#![no_main]
#![allow(dead_code)]

#[path = "../targets/mod.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    targets::sync::run(data);
});
