//! Test fixtures, written once: a fixed clock, a transfer builder over the dev keys, chains
//! and nodes opened on the local genesis in memory, and in-process stand-ins for the host's
//! gRPC services (its database and its Messenger/AppSender).
//!
//! Unit tests get this module through `cfg(test)`; integration tests, benches and the fuzz
//! crate through the `test-utils` cargo feature (the crate is its own dev-dependency with the
//! feature on). Release builds never contain it.

mod host;
pub mod jsonrpc;
mod rpcdb;
mod store;
mod tx;

pub use host::{serve_on_loopback, RecordingHost};
pub use rpcdb::{rpcdb_store_at, MemDb};
pub use store::WatchedStore;
pub use tx::{tx_hex, unchecked_tx, Transfer};

use crate::chain::genesis::LOCAL_GENESIS_JSON;
use crate::chain::{Chain, ChainConfig, Id};
use crate::metrics::Metrics;
use crate::node::{Clock, Node};
use crate::storage::memory::MemoryStore;
use crate::storage::KvStore;
use ed25519_dalek::SigningKey;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The local time tests run at (unix ms, 2023-11-14): fixed, so block timestamps, expiry and
/// every byte derived from them are reproducible.
pub const NOW_MS: u64 = 1_700_000_000_000;

/// The network of `genesis/local.json`, which test chains are opened on.
pub const NETWORK_ID: u32 = 12345;

/// The chain ID test chains are opened with (a dev chain derives its own; tests need not).
pub const CHAIN_ID: Id = Id([3; 32]);

/// The genesis balance of each dev key in `genesis/local.json`, for tests that check what an
/// account holds after it paid.
pub const DEV_BALANCE: u64 = 1_000_000_000_000_000_000;

/// `minFee` of `genesis/local.json` (and the fee [`Transfer`] defaults to), for tests of the
/// fee rule and of what a block burns.
pub const MIN_FEE: u64 = 100;

/// `maxExpirySecs` of `genesis/local.json`, for tests of the expiry bound.
pub const MAX_EXPIRY_SECS: u64 = 3600;

/// Key `index` of a fixed family of keys the local genesis does not fund: for recipients, and
/// for senders that only spend what transfers brought them. Distinct per `index` and from the
/// dev keys.
pub fn unfunded_key(index: u8) -> SigningKey {
    SigningKey::from_bytes(&[0xa0 ^ index; 32])
}

/// `genesis/local.json` with other block caps (`maxBlockTxs`, `maxBlockBytes`): for tests of
/// the caps, of builders that fill several blocks, and of a genesis that differs only in its
/// parameters. Open it with [`open_chain_with_genesis`].
///
/// # Panics
/// If the local genesis no longer spells its caps as this expects.
pub fn local_genesis_with_caps(max_txs: u32, max_bytes: usize) -> String {
    let json = LOCAL_GENESIS_JSON
        .replace(
            "\"maxBlockTxs\": 7500",
            &format!("\"maxBlockTxs\": {max_txs}"),
        )
        .replace(
            "\"maxBlockBytes\": 1500000",
            &format!("\"maxBlockBytes\": {max_bytes}"),
        );
    assert!(json.contains(&format!("\"maxBlockTxs\": {max_txs}")));
    assert!(json.contains(&format!("\"maxBlockBytes\": {max_bytes}")));
    json
}

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

/// [`chain_config`] with the account-history index on, as the dev chain runs.
pub fn history_config() -> ChainConfig {
    ChainConfig {
        account_history: true,
        ..chain_config()
    }
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

/// A fresh chain in memory on another genesis document (such as
/// [`local_genesis_with_caps`]), with `config`.
pub fn open_chain_with_genesis(genesis: &str, config: ChainConfig) -> Chain {
    Chain::open(memory_store(), genesis.as_bytes(), config).expect("the genesis opens")
}

/// Asserts the two invariants of `chain`'s accepted state: balances plus burned fees equal the
/// genesis supply, and the state digest recomputed from every account matches the last
/// accepted block's. Engine tests and fuzz targets check them after every step that accepts
/// or reopens, so they are written once here.
pub fn assert_accepted_invariants(chain: &Chain) {
    let balances = chain
        .total_balances()
        .expect("balances sum without overflow");
    assert_eq!(
        balances.checked_add(chain.burned()),
        Some(chain.supply()),
        "sum of balances + burned must equal the genesis supply"
    );
    assert_eq!(
        chain.recompute_digest(),
        chain.last_accepted().block.state_digest,
        "the accepted state must match the last accepted block's digest"
    );
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

/// A dev chain in this process on 127.0.0.1:0 with its store under `dir` and no banner: what
/// every integration test that talks HTTP to a chain starts from.
pub async fn start_dev_chain(dir: &std::path::Path) -> crate::dev::DevChain {
    crate::dev::start(crate::dev::DevOptions {
        addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.to_path_buf(),
        genesis: None,
        banner: false,
        account_history: true,
        http: crate::dev::HttpLimits::default(),
    })
    .await
    .expect("the dev chain starts")
}
