//! cargo-fuzz binary for the `tx` target; the body lives in `targets/tx.rs`, shared with the
//! stable corpus test `tests/fuzz_corpus.rs`.
#![no_main]
#![allow(dead_code)]

#[path = "../targets/mod.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    targets::tx::run(data);
});
