//! Fixtures shared by the criterion benches: a genesis with many funded accounts, a stream of
//! signed transfers over it, and chains/nodes opened on it.
//!
//! `cargo bench` passes `--bench`; without it (`cargo test --all-targets` runs every bench once
//! as a smoke test in a debug build) the fixtures shrink so the test suite stays fast.
#![allow(dead_code)]

use ed25519_dalek::SigningKey;
use ed25519_zebra::{batch, Signature, VerificationKeyBytes};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use transfervm::chain::genesis::{Allocation, ChainParams, Genesis};
use transfervm::chain::tx::address_of;
use transfervm::chain::{Address, Chain, CheckedTx, SignedTx};
use transfervm::cli::spam::load_key;
use transfervm::node::Node;
use transfervm::storage::KvStore;
use transfervm::test_utils::{chain_config, memory_store, node_on, Transfer, NETWORK_ID, NOW_MS};

/// Balance of every genesis account: enough for any bench's transfers, and 1M of them
/// still fit the 64-bit supply.
const BALANCE: u64 = 1_000_000_000_000;

/// Whether this is a real measurement (`cargo bench`) rather than a smoke run.
pub fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// `full` in a measurement, `smoke` in a smoke run.
pub fn scaled(full: usize, smoke: usize) -> usize {
    if full_run() {
        full
    } else {
        smoke
    }
}

/// A genesis and the keys that can spend from it.
pub struct Workload {
    /// Genesis JSON.
    pub genesis_json: Vec<u8>,
    senders: Vec<(SigningKey, Address)>,
    recipients: Vec<Address>,
    nonces: Vec<u64>,
    cursor: usize,
}

impl Workload {
    /// `accounts` funded accounts, the first `senders` of them with keys (load keys 0..).
    pub fn new(accounts: usize, senders: usize) -> Self {
        assert!(senders <= accounts && senders > 0);
        let senders: Vec<(SigningKey, Address)> = (0..senders as u32)
            .map(|i| {
                let key = load_key(i);
                let address = address_of(&key);
                (key, address)
            })
            .collect();
        // Recipients without keys: addresses derived from a public counter.
        let recipients: Vec<Address> = (senders.len()..accounts)
            .map(|i| Address(Sha256::digest(format!("bench recipient {i}")).into()))
            .collect();
        let allocations = senders
            .iter()
            .map(|(_, a)| *a)
            .chain(recipients.iter().copied())
            .map(|address| Allocation {
                address,
                balance: BALANCE,
                label: None,
            })
            .collect();
        let genesis = Genesis {
            network_id: NETWORK_ID,
            timestamp_ms: 0,
            params: ChainParams {
                max_block_txs: 10_000,
                // 10 000 transfers and the block header, under the host's 2 MiB message cap.
                max_block_bytes: 2_000_000,
                ..ChainParams::default()
            },
            allocations,
            comment: None,
        };
        let nonces = vec![0; senders.len()];
        let recipients = if recipients.is_empty() {
            senders.iter().map(|(_, a)| *a).collect()
        } else {
            recipients
        };
        Workload {
            genesis_json: serde_json::to_vec(&genesis).expect("genesis serialises"),
            senders,
            recipients,
            nonces,
            cursor: 0,
        }
    }

    /// The next `count` transfers: senders in rotation (so a block of up to `senders`
    /// transfers has one per sender), each to a recipient picked by a fixed stride.
    pub fn transfers(&mut self, count: usize) -> Vec<SignedTx> {
        (0..count)
            .map(|_| {
                let index = self.cursor % self.senders.len();
                let recipient = self.recipients[(self.cursor * 7919) % self.recipients.len()];
                self.cursor += 1;
                let (key, _) = &self.senders[index];
                let nonce = self.nonces[index];
                self.nonces[index] += 1;
                Transfer::from_key(key)
                    .to(recipient)
                    .amount(1_000)
                    .nonce(nonce)
                    .expires_at(NOW_MS / 1000 + 3_000)
                    .sign()
            })
            .collect()
    }

    /// The next `count` transfers without consuming them (for benches that only verify).
    pub fn preview(&mut self, count: usize) -> Vec<SignedTx> {
        let (cursor, nonces) = (self.cursor, self.nonces.clone());
        let txs = self.transfers(count);
        self.cursor = cursor;
        self.nonces = nonces;
        txs
    }

    /// Opens a chain on this genesis over `store`.
    pub fn open_chain(&self, store: Arc<dyn KvStore>) -> Chain {
        self.open_chain_with(store, false)
    }

    /// Opens a chain on this genesis over `store`, with the account-history index on or off.
    pub fn open_chain_with(&self, store: Arc<dyn KvStore>, account_history: bool) -> Chain {
        let mut config = chain_config();
        config.mempool.max_txs = 1_000_000;
        config.mempool.max_bytes = 1 << 30;
        config.account_history = account_history;
        Chain::open(store, &self.genesis_json, config).expect("bench chain opens")
    }

    /// Opens a node (the layer the plugin drives) on this genesis over `store`, at [`NOW_MS`].
    pub fn open_node(&self, store: Arc<dyn KvStore>) -> Arc<Node> {
        node_on(self.open_chain(store))
    }

    /// [`open_node`](Self::open_node) with the account-history index on.
    pub fn open_node_with_history(&self, store: Arc<dyn KvStore>) -> Arc<Node> {
        node_on(self.open_chain_with(store, true))
    }
}

/// Builds blocks of exactly the transfers it is given, as another validator would.
pub struct Builder {
    chain: Chain,
}

impl Builder {
    /// A builder on `workload`'s genesis (in memory: its cost is not measured).
    pub fn new(workload: &Workload) -> Self {
        Builder {
            chain: workload.open_chain(memory_store()),
        }
    }

    /// Builds and accepts a block of `txs`, returning its bytes.
    pub fn block_of(&mut self, txs: Vec<SignedTx>) -> Vec<u8> {
        let count = txs.len();
        for tx in txs {
            let tx = CheckedTx::check_without_signature(self.chain.rules(), NOW_MS, tx)
                .expect("bench tx meets the rules");
            self.chain.admit(tx).expect("bench tx admits");
        }
        let block = self.chain.build_block(NOW_MS).expect("bench block builds");
        assert_eq!(block.block.txs.len(), count, "the whole pool fits a block");
        self.chain.accept_block(block.id).expect("builder accepts");
        block.bytes
    }
}

/// The baseline: ed25519-zebra's batch verifier alone over the same signatures (payloads
/// prepared outside the timing), on one core.
pub fn raw_batch_verify(txs: &[SignedTx], payloads: &[Vec<u8>]) {
    let mut verifier = batch::Verifier::new();
    for (tx, payload) in txs.iter().zip(payloads) {
        verifier.queue((
            VerificationKeyBytes::from(tx.body.from.0),
            Signature::from(tx.signature),
            payload,
        ));
    }
    verifier
        .verify(rand_core::OsRng)
        .expect("bench signatures are valid");
}

/// The same baseline split across every core, as a node with all cores free could do it.
pub fn raw_batch_verify_all_cores(txs: &[SignedTx], payloads: &[Vec<u8>]) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = txs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        for (txs, payloads) in txs.chunks(chunk).zip(payloads.chunks(chunk)) {
            scope.spawn(move || raw_batch_verify(txs, payloads));
        }
    });
}
