//! The fuzz target bodies, shared by the cargo-fuzz binaries (`tests/fuzz/fuzz_targets/`) and
//! the stable test that replays every corpus file (`tests/fuzz_corpus.rs`).
//!
//! Each body takes untrusted bytes, feeds them to one decoder of the node and asserts the
//! properties that must hold for *any* input: no panic, accepted inputs round-trip to the same
//! canonical bytes, and refused inputs change nothing. Each returns an [`Outcome`] so the stable
//! test can also check that the valid seeds reach the deep end of the pipeline.

pub mod block;
pub mod common;
pub mod genesis;
pub mod gossip;
pub mod rpc;
pub mod seeds;
pub mod sync;
pub mod tx;

/// How far an input got, for the stable test's checks on the seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// The decoder refused the bytes.
    Refused,
    /// Decoded, but refused by a later check (signature, state, rules).
    Rejected,
    /// Went all the way: admitted to the mempool, or verified and accepted, or opened.
    Accepted,
}
