//! Verify + accept of blocks built by another node, against the raw ed25519 batch-verify rate
//! measured in the same run (issue #5's target: verify + accept ≥ 0.8 of the raw rate).
//!
//! `cargo bench --bench blocks` — 1M funded accounts, 10k senders, blocks of 1k/5k/10k
//! transfers. Four verifying nodes follow the same chain: one on the dev chain's fjall store in a
//! temp dir (`fjall_1M_accounts`: a durable commit per block, what `transfervm dev` runs), one on
//! a redb store (`redb_1M_accounts`: the dev chain's former store, a copy-on-write B-tree, kept so
//! the figures stay comparable from one change to the next), one on the in-memory store (the same
//! code without a durable store's cost), and one on its own redb store with the account-history
//! index on (`redb_1M_accounts_history`: the index's cost is its difference to `redb_1M_accounts`).
//!
//! A fifth, `hosted_1M_accounts`, runs when `TRANSFERVM_BENCH_RPCDB_ADDR` names a host
//! database server: the plugin's own rpcdb client writing to the real host's rpcdb server over
//! a real LevelDB, as on Luxd. `scripts/bench-hosted.sh` builds and starts that server
//! (`tests/host/cmd/rpcdbserver`) on a fresh directory and runs this bench with the raw
//! baseline; without the variable the bench says it skipped the hosted follower.

#[path = "support.rs"]
mod support;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{raw_batch_verify, raw_batch_verify_all_cores, scaled, Builder, Workload};
use transfervm::node::Node;
use transfervm::storage::fjall_store::FjallStore;
use transfervm::storage::redb_store::RedbStore;
use transfervm::test_utils::{memory_store, rpcdb_store_at};

/// Names the host database server (`host:port`) the hosted follower writes to; it must serve a
/// fresh database, since the follower starts at the bench genesis.
const RPCDB_ADDR_VAR: &str = "TRANSFERVM_BENCH_RPCDB_ADDR";

fn block_sizes() -> Vec<usize> {
    if support::full_run() {
        vec![1_000, 5_000, 10_000]
    } else {
        vec![64]
    }
}

/// A verifying node and how far along the shared sequence of built blocks it is.
struct Follower {
    node: Arc<Node>,
    applied: usize,
}

impl Follower {
    /// Verifies and accepts the next block of `chain`, returning how long that took.
    fn follow_one(&mut self, chain: &[Vec<u8>]) -> Duration {
        let start = Instant::now();
        // As the host drives it: ParseBlock, BlockVerify and BlockAccept.
        let bytes = &chain[self.applied];
        let (block, _) = self.node.parse_block(bytes).expect("parses");
        self.node.verify_block(bytes).expect("verifies");
        self.node.accept_block(block.id).expect("accepts");
        self.applied += 1;
        start.elapsed()
    }

    /// Follows, untimed, the blocks built while the other follower was measured.
    fn catch_up(&mut self, chain: &[Vec<u8>]) {
        while self.applied < chain.len() {
            self.follow_one(chain);
        }
    }
}

fn benches(c: &mut Criterion) {
    let accounts = scaled(1_000_000, 2_000);
    let senders = scaled(10_000, 100);
    let started = Instant::now();
    let mut workload = Workload::new(accounts, senders);
    let mut builder = Builder::new(&workload);
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(RedbStore::open(&dir.path().join("chain.redb")).expect("redb opens"));
    // The same chain on the durable store and in memory: the difference is the store's cost.
    let mut on_disk = Follower {
        node: workload.open_node(store),
        applied: 0,
    };
    let mut in_memory = Follower {
        node: workload.open_node(memory_store()),
        applied: 0,
    };
    let history_dir = tempfile::tempdir().expect("temp dir");
    let history_store =
        Arc::new(RedbStore::open(&history_dir.path().join("chain.redb")).expect("redb opens"));
    let mut with_history = Follower {
        node: workload.open_node_with_history(history_store),
        applied: 0,
    };
    // The dev chain's store: an LSM, where redb copies a page per random key.
    let fjall_dir = tempfile::tempdir().expect("temp dir");
    let fjall_store =
        Arc::new(FjallStore::open(&fjall_dir.path().join("chain.fjall")).expect("fjall opens"));
    let mut on_lsm = Follower {
        node: workload.open_node(fjall_store),
        applied: 0,
    };
    // The plugin's store on Luxd, when a host database server is given.
    let mut hosted = match std::env::var(RPCDB_ADDR_VAR) {
        Ok(addr) if !addr.is_empty() => {
            let store =
                rpcdb_store_at(&addr).unwrap_or_else(|e| panic!("{RPCDB_ADDR_VAR}={addr}: {e}"));
            Some(Follower {
                node: workload.open_node(store),
                applied: 0,
            })
        }
        _ => {
            eprintln!(
                "block_verify_accept/hosted_1M_accounts skipped: {RPCDB_ADDR_VAR} does not name \
                 a host database server (scripts/bench-hosted.sh starts one and sets it)"
            );
            None
        }
    };
    let mut chain: Vec<Vec<u8>> = Vec::new();
    eprintln!(
        "fixture: {accounts} accounts, {senders} senders, ready in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let mut raw = c.benchmark_group("raw_batch_verify");
    raw.sample_size(10).sampling_mode(SamplingMode::Flat);
    for &n in &block_sizes() {
        let txs = workload.preview(n);
        let payloads: Vec<Vec<u8>> = txs.iter().map(|t| t.body.signing_payload()).collect();
        raw.throughput(Throughput::Elements(n as u64));
        raw.bench_with_input(BenchmarkId::new("one_core", n), &n, |b, _| {
            b.iter(|| raw_batch_verify(&txs, &payloads))
        });
        raw.bench_with_input(BenchmarkId::new("all_cores", n), &n, |b, _| {
            b.iter(|| raw_batch_verify_all_cores(&txs, &payloads))
        });
    }
    raw.finish();

    let mut blocks = c.benchmark_group("block_verify_accept");
    blocks
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(10));
    for &n in &block_sizes() {
        blocks.throughput(Throughput::Elements(n as u64));
        let mut followers = vec![
            ("redb_1M_accounts", &mut on_disk),
            ("redb_1M_accounts_history", &mut with_history),
            ("memory_1M_accounts", &mut in_memory),
            ("fjall_1M_accounts", &mut on_lsm),
        ];
        if let Some(hosted) = hosted.as_mut() {
            followers.push(("hosted_1M_accounts", hosted));
        }
        for (name, follower) in followers {
            blocks.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        follower.catch_up(&chain);
                        // A block this node has not built: another validator's.
                        chain.push(builder.block_of(workload.transfers(n)));
                        total += follower.follow_one(&chain);
                    }
                    total
                })
            });
        }
    }
    blocks.finish();

    // Restart: reopen the chain the redb follower wrote (1M accounts after the blocks above):
    // read every account, recompute and check the state digest.
    let path = dir.path().join("chain.redb");
    drop(on_disk);
    let mut restart = c.benchmark_group("restart");
    restart.sample_size(10).sampling_mode(SamplingMode::Flat);
    restart.throughput(Throughput::Elements(accounts as u64));
    restart.bench_function(BenchmarkId::new("redb_open", accounts), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let store = Arc::new(RedbStore::open(&path).expect("redb reopens"));
                let chain = workload.open_chain(store);
                total += start.elapsed();
                assert!(chain.account_count() >= accounts);
                // Closed (untimed) before the next open: redb allows one open per file.
                drop(chain);
            }
            total
        })
    });
    restart.finish();
}

criterion_group!(block_benches, benches);
criterion_main!(block_benches);
