//! Test fixtures, written once: a fixed clock, a transfer builder over the dev keys, chains
//! and nodes opened on the local genesis in memory, and in-process stand-ins for the host's
//! gRPC services (its database and its Messenger/AppSender).
//!
//! Unit tests get this module through `cfg(test)`; integration tests, benches and the fuzz
//! crate through the `test-utils` cargo feature (the crate is its own dev-dependency with the
//! feature on). Release builds never contain it.

mod host;
mod rpcdb;
mod tx;

pub use host::{serve_on_loopback, RecordingHost};
pub use rpcdb::MemDb;
pub use tx::{tx_hex, unchecked_tx, Transfer};

use crate::chain::genesis::LOCAL_GENESIS_JSON;
use crate::chain::{Chain, ChainConfig, Id};
use crate::metrics::Metrics;
use crate::node::{Clock, Node};
use crate::storage::memory::MemoryStore;
use crate::storage::KvStore;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The local time tests run at (unix ms, 2023-11-14): fixed, so block timestamps, expiry and
/// every byte derived from them are reproducible.
pub const NOW_MS: u64 = 1_700_000_000_000;

/// The network of `genesis/local.json`, which test chains are opened on.
pub const NETWORK_ID: u32 = 12345;

/// The chain ID test chains are opened with (a dev chain derives its own; tests need not).
pub const CHAIN_ID: Id = Id([3; 32]);

/// A clock that reads [`NOW_MS`] unless a test moves it, so nothing a test checks depends on
/// when it runs.
#[derive(Debug)]
pub struct FixedClock(AtomicU64);

impl FixedClock {
    /// A clock stopped at `now_ms`.
    pub fn at(now_ms: u64) -> Self {
        FixedClock(AtomicU64::new(now_ms))
    }

    /// Moves the clock to `now_ms` (forwards or back), for tests of time-dependent rules.
    pub fn set(&self, now_ms: u64) {
        self.0.store(now_ms, Ordering::SeqCst);
    }
}

impl Default for FixedClock {
    /// A clock stopped at [`NOW_MS`].
    fn default() -> Self {
        FixedClock::at(NOW_MS)
    }
}

impl Clock for FixedClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The configuration test chains use: [`NETWORK_ID`], [`CHAIN_ID`], default limits. Tests that
/// vary a limit change the returned value and open with [`open_chain_with`].
pub fn chain_config() -> ChainConfig {
    ChainConfig::new(NETWORK_ID, CHAIN_ID)
}

/// A fresh in-memory store, as the type chains are opened on.
pub fn memory_store() -> Arc<dyn KvStore> {
    Arc::new(MemoryStore::default())
}

/// A fresh chain on the local genesis, in memory, with [`chain_config`].
pub fn open_chain() -> Chain {
    open_chain_with(chain_config())
}

/// A fresh chain on the local genesis, in memory, with `config`.
pub fn open_chain_with(config: ChainConfig) -> Chain {
    open_chain_on(memory_store(), config)
}

/// The chain on `store` (fresh or reopened) with the local genesis and `config`, for tests
/// that reopen a store or count what reaches it.
pub fn open_chain_on(store: Arc<dyn KvStore>, config: ChainConfig) -> Chain {
    Chain::open(store, LOCAL_GENESIS_JSON.as_bytes(), config).expect("the local genesis opens")
}

/// A node on a fresh chain from [`open_chain`], at [`NOW_MS`].
pub fn open_node() -> Arc<Node> {
    node_on(open_chain())
}

/// `chain` as a node (the layer the API and the plugin drive): a [`FixedClock`] at
/// [`NOW_MS`] and fresh metrics.
pub fn node_on(chain: Chain) -> Arc<Node> {
    Arc::new(Node::new(
        chain,
        Arc::new(FixedClock::default()),
        Arc::new(Metrics::new()),
    ))
}
