//! The state commitment's share of a block, against the raw ed25519 batch-verify rate of the
//! same run (the baseline every pipeline figure is divided by).
//!
//! `cargo bench --bench commitment` — for blocks of 1k/5k/10k transfers, each touching two
//! accounts no other transfer of the block touches (the worst case: four leaves per transfer),
//! on a commitment of 1M accounts: the block's leaves (on every core, as `Transition::finish`
//! does), the touched buckets' checksums and the root. Baseline: ed25519-zebra's batch verify
//! of as many signatures, on every core.

#[path = "support.rs"]
mod support;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use support::{raw_batch_verify_all_cores, scaled, Workload};
use transfervm::chain::commitment::StateCommitment;
use transfervm::chain::{Account, Address};

fn block_sizes() -> Vec<usize> {
    if support::full_run() {
        vec![1_000, 5_000, 10_000]
    } else {
        vec![64]
    }
}

/// An address for account `i`, spread over every bucket as random keys are.
fn spread_address(i: u64) -> Address {
    let mut a = [0u8; 32];
    a[..8].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
    a[8..16].copy_from_slice(&i.to_le_bytes());
    Address(a)
}

fn benches(c: &mut Criterion) {
    let accounts = scaled(1_000_000, 2_000);
    let base: Vec<(Address, Account)> = (0..accounts as u64)
        .map(|i| {
            let account = Account {
                balance: 1_000 + i,
                nonce: 0,
            };
            (spread_address(i), account)
        })
        .collect();
    let mut committed = StateCommitment::of_accounts(&base);
    committed.finish(0);
    let mut workload = Workload::new(scaled(10_000, 200), scaled(10_000, 200));

    let mut group = c.benchmark_group("state_commitment");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    for &n in &block_sizes() {
        group.throughput(Throughput::Elements(n as u64));
        let txs = workload.preview(n);
        let payloads: Vec<Vec<u8>> = txs.iter().map(|t| t.body.signing_payload()).collect();
        group.bench_with_input(
            BenchmarkId::new("raw_batch_verify_all_cores", n),
            &n,
            |b, _| b.iter(|| raw_batch_verify_all_cores(&txs, &payloads)),
        );
        group.bench_with_input(BenchmarkId::new("block_update", n), &n, |b, &n| {
            let mut round = 0usize;
            b.iter(|| {
                round += 1;
                let start = (round * 2 * n) % base.len();
                let changes: Vec<(Address, Account, Account)> = base
                    .iter()
                    .cycle()
                    .skip(start)
                    .take(2 * n)
                    .map(|(address, before)| {
                        let after = Account {
                            balance: before.balance - 1,
                            nonce: before.nonce + 1,
                        };
                        (*address, *before, after)
                    })
                    .collect();
                let mut c = committed.clone();
                c.apply_changes(&changes);
                c.finish(round as u64)
            })
        });
    }
    group.finish();
}

criterion_group!(commitment_benches, benches);
criterion_main!(commitment_benches);
