//! Property tests: random transfer workloads over random forks on two builders and a
//! follower, checked at every accepted height against an independent model.

use super::{accepted_at, deliver};
use crate::chain::mempool::MempoolLimits;
use crate::chain::tx::{address_of, SIGNED_TX_LEN};
use crate::chain::{
    Account, Address, BlockError, Chain, ChainConfig, CheckedTx, Id, SealedBlock, TxStatus,
};
use crate::keys::dev_key;
use crate::test_utils::{
    assert_accepted_invariants, chain_config, local_genesis_with_caps, open_chain_with_genesis,
    unfunded_key, Transfer, DEV_BALANCE, MIN_FEE, NOW_MS,
};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashSet};

/// The keys a workload uses: the five funded dev keys and three unfunded ones.
const KEYS: usize = 8;
/// Recipients: every key, plus one address nobody holds.
const RECIPIENTS: usize = KEYS + 1;

#[derive(Clone, Debug)]
enum Amount {
    Small(u64),
    Any(u64),
    All,
    Overflowing,
}

#[derive(Clone, Debug)]
enum Nonce {
    Next,
    Replay(u64),
    Gap(u64),
}

#[derive(Clone, Debug)]
enum Op {
    /// A wallet sends a transfer to one of the two building nodes.
    Submit {
        node: usize,
        sender: usize,
        to: usize,
        amount: Amount,
        fee: u64,
        nonce: Nonce,
        /// Expiry relative to local time, seconds.
        expires_in: i64,
    },
    /// One height: a block from one builder, or two competing ones.
    Height {
        fork: bool,
        builder: usize,
        first_wins: bool,
        reject_first: bool,
    },
    /// Two competing branches, each up to `depths` blocks deep, built by X and Y on their
    /// own processing blocks; one is accepted block by block, the other rejected root first,
    /// either as soon as a winning block conflicts with it or after the whole winner.
    Branches {
        depths: [usize; 2],
        first_wins: bool,
        reject_at_once: bool,
    },
    /// Time passes.
    Wait { secs: u64 },
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let amount = prop_oneof![
        8 => (0u64..5_000).prop_map(Amount::Small),
        1 => (0u64..2 * DEV_BALANCE).prop_map(Amount::Any),
        1 => Just(Amount::All),
        1 => Just(Amount::Overflowing),
    ];
    let fee = prop_oneof![
        1 => 0u64..MIN_FEE,
        5 => Just(MIN_FEE),
        2 => MIN_FEE..10_000,
    ];
    let nonce = prop_oneof![
        6 => Just(Nonce::Next),
        1 => (1u64..3).prop_map(Nonce::Replay),
        2 => (1u64..6).prop_map(Nonce::Gap),
    ];
    let expires_in = prop_oneof![
        6 => 30i64..3_600,
        2 => -3i64..40,
        1 => 3_590i64..3_610,
    ];
    // Mostly funded senders; the unfunded ones only spend what transfers bring them.
    let sender = prop_oneof![4 => 0..5usize, 1 => 5..KEYS];
    let submit = (
        0..2usize,
        sender,
        0..RECIPIENTS,
        amount,
        fee,
        nonce,
        expires_in,
    )
        .prop_map(
            |(node, sender, to, amount, fee, nonce, expires_in)| Op::Submit {
                node,
                sender,
                to,
                amount,
                fee,
                nonce,
                expires_in,
            },
        );
    let height = (any::<bool>(), 0..2usize, any::<bool>(), any::<bool>()).prop_map(
        |(fork, builder, first_wins, reject_first)| Op::Height {
            fork,
            builder,
            first_wins,
            reject_first,
        },
    );
    let branches = ([1..4usize, 1..4usize], any::<bool>(), any::<bool>()).prop_map(
        |(depths, first_wins, reject_at_once)| Op::Branches {
            depths,
            first_wins,
            reject_at_once,
        },
    );
    prop_oneof![
        12 => submit,
        3 => height,
        2 => branches,
        1 => prop_oneof![3 => 0u64..5, 1 => 5u64..60].prop_map(|secs| Op::Wait { secs }),
    ]
}

/// A chain whose blocks hold at most 6 transfers, so pools often hold more than one block's
/// worth.
fn small_blocks(config: ChainConfig) -> Chain {
    open_chain_with_genesis(&local_genesis_with_caps(6, 1_500_000), config)
}

/// Two builders (X, Y) and a follower (Z) that only ever sees blocks, plus an independent
/// model of the accepted state replayed from the accepted blocks.
struct Net {
    keys: Vec<SigningKey>,
    recipients: Vec<Address>,
    nodes: Vec<Chain>,
    now: u64,
    accepted: Vec<SealedBlock>,
    accepted_txs: HashSet<Id>,
    submitted: Vec<Id>,
    model: BTreeMap<Address, Account>,
    model_burned: u64,
    /// Submissions the nodes refused (admitted ones are `submitted`).
    refused: usize,
    /// Competing blocks verified everywhere and then rejected.
    rejected_blocks: usize,
}

impl Net {
    fn new() -> Self {
        let mut config = chain_config();
        config.mempool = MempoolLimits {
            max_txs: 48,
            max_bytes: 48 * SIGNED_TX_LEN,
            max_per_sender: 6,
            max_nonce_gap: 5,
        };
        let keys: Vec<SigningKey> = (0..5)
            .map(dev_key)
            .chain((0..(KEYS - 5) as u8).map(unfunded_key))
            .collect();
        let mut recipients: Vec<Address> = keys.iter().map(address_of).collect();
        recipients.push(Address([0xee; 32]));
        let model = (0..5)
            .map(|i| {
                (
                    address_of(&dev_key(i)),
                    Account {
                        balance: DEV_BALANCE,
                        nonce: 0,
                    },
                )
            })
            .collect();
        Net {
            keys,
            recipients,
            nodes: (0..3).map(|_| small_blocks(config.clone())).collect(),
            now: NOW_MS,
            accepted: Vec::new(),
            accepted_txs: HashSet::new(),
            submitted: Vec::new(),
            model,
            model_burned: 0,
            refused: 0,
            rejected_blocks: 0,
        }
    }

    fn submit(&mut self, op: &Op) {
        let Op::Submit {
            node,
            sender,
            to,
            amount,
            fee,
            nonce,
            expires_in,
        } = op
        else {
            unreachable!()
        };
        let key = &self.keys[*sender];
        let from = address_of(key);
        let chain = &mut self.nodes[*node];
        let next = chain.pending_nonce(&from);
        let balance = chain.account(&from).balance;
        let tx = Transfer::from_key(key)
            .to(self.recipients[*to])
            .amount(match amount {
                Amount::Small(a) | Amount::Any(a) => *a,
                Amount::All => balance.saturating_sub(*fee),
                Amount::Overflowing => u64::MAX - fee / 2,
            })
            .fee(*fee)
            .nonce(match nonce {
                Nonce::Next => next,
                Nonce::Replay(back) => next.saturating_sub(*back),
                Nonce::Gap(ahead) => next + ahead,
            })
            .expires_at((self.now / 1000).saturating_add_signed(*expires_in))
            .sign();
        let len = chain.mempool().len();
        let status = chain.tx_status(&tx.id());
        // As the node does: the signature is checked outside the chain (a debug-build ed25519
        // check costs milliseconds; signature rules have their own tests).
        match CheckedTx::check_without_signature(chain.rules(), self.now, tx)
            .and_then(|checked| chain.admit(checked))
        {
            Ok(admitted) => {
                assert_eq!(admitted.id, tx.id());
                assert_eq!(chain.mempool().len(), len + 1);
                assert_eq!(chain.tx_status(&tx.id()), TxStatus::Pending);
                assert!(chain.pending_nonce(&from) >= next);
                self.submitted.push(tx.id());
            }
            Err(_) => {
                assert_eq!(chain.mempool().len(), len);
                assert_eq!(chain.pending_nonce(&from), next);
                assert_eq!(chain.tx_status(&tx.id()), status);
                self.refused += 1;
            }
        }
    }

    fn build(&mut self, node: usize) -> Option<SealedBlock> {
        match self.nodes[node].build_block(self.now) {
            Ok(block) => {
                let parent = self.nodes[node].last_accepted().id;
                assert_eq!(block.block.parent_id, parent);
                Some(block)
            }
            Err(BlockError::NothingToBuild) => None,
            Err(e) => panic!("build failed: {e}"),
        }
    }

    fn height(&mut self, fork: bool, builder: usize, first_wins: bool, reject_first: bool) {
        let first = self.build(builder);
        let second = if fork { self.build(1 - builder) } else { None };
        let (winner, loser) = match (first, second) {
            (None, None) => return,
            (Some(b), None) | (None, Some(b)) => (b, None),
            (Some(a), Some(b)) if a.id == b.id => (a, None),
            (Some(a), Some(b)) if first_wins => (a, Some(b)),
            (Some(a), Some(b)) => (b, Some(a)),
        };
        // Every node verifies every block (its own builds are already verified).
        let now = self.now;
        for chain in &mut self.nodes {
            for block in std::iter::once(&winner).chain(&loser) {
                deliver(chain, block, now).expect("a built block verifies everywhere");
            }
        }
        for chain in &mut self.nodes {
            if let (true, Some(loser)) = (reject_first, &loser) {
                chain.reject_block(loser.id, now).unwrap();
            }
            assert_eq!(chain.accept_block(winner.id).unwrap(), winner);
            if let (false, Some(loser)) = (reject_first, &loser) {
                chain.reject_block(loser.id, now).unwrap();
            }
            assert_eq!(chain.processing_count(), 0);
        }
        self.rejected_blocks += usize::from(loser.is_some());
        self.apply_to_model(&winner);
        self.accepted.push(winner);
        self.check();
    }

    /// See [`Op::Branches`]. Every node verifies every block of both branches.
    fn branches(&mut self, depths: [usize; 2], first_wins: bool, reject_at_once: bool) {
        let now = self.now;
        let mut built: [Vec<SealedBlock>; 2] = [Vec::new(), Vec::new()];
        for (builder, branch) in built.iter_mut().enumerate() {
            let chain = &mut self.nodes[builder];
            let mut parent = chain.last_accepted().id;
            for _ in 0..depths[builder] {
                match chain.build_block(now) {
                    Ok(block) => {
                        assert_eq!(block.block.parent_id, parent, "built on the preference");
                        parent = block.id;
                        chain.set_preference(block.id).unwrap();
                        branch.push(block);
                    }
                    Err(BlockError::NothingToBuild) => break,
                    Err(e) => panic!("build failed: {e}"),
                }
            }
        }
        let winner = match (built[0].is_empty(), built[1].is_empty()) {
            (true, true) => return,
            (false, true) => 0,
            (true, false) => 1,
            (false, false) => usize::from(!first_wins),
        };
        // Every block once (the builders may have built identical blocks), parents first.
        let mut all: Vec<SealedBlock> = Vec::new();
        for block in built.iter().flatten() {
            if !all.iter().any(|b| b.id == block.id) {
                all.push(block.clone());
            }
        }
        all.sort_by_key(|b| b.block.height);
        for chain in &mut self.nodes {
            for block in &all {
                deliver(chain, block, now).expect("a built block verifies everywhere");
            }
        }
        let winners = built[winner].clone();
        let mut losers: Vec<SealedBlock> = all
            .into_iter()
            .filter(|b| !winners.iter().any(|w| w.id == b.id))
            .collect();
        let parents: BTreeMap<Id, (Id, u64)> = winners
            .iter()
            .chain(&losers)
            .map(|b| (b.id, (b.block.parent_id, b.block.height)))
            .collect();
        // Whether `block` cannot be accepted once `accepted` is (it does not descend from it).
        let conflicts = |block: &SealedBlock, accepted: &SealedBlock| {
            let mut cursor = (block.id, block.block.height);
            while cursor.1 > accepted.block.height {
                cursor = parents[&cursor.0];
            }
            cursor.1 == accepted.block.height && cursor.0 != accepted.id
        };
        for block in &winners {
            for chain in &mut self.nodes {
                assert_eq!(&chain.accept_block(block.id).unwrap(), block);
                assert_accepted_invariants(chain);
            }
            self.apply_to_model(block);
            self.accepted.push(block.clone());
            if reject_at_once {
                let (dead, alive): (Vec<_>, Vec<_>) =
                    losers.into_iter().partition(|l| conflicts(l, block));
                for loser in &dead {
                    for chain in &mut self.nodes {
                        chain.reject_block(loser.id, now).unwrap();
                    }
                }
                self.rejected_blocks += dead.len();
                losers = alive;
            }
        }
        for loser in &losers {
            for chain in &mut self.nodes {
                chain.reject_block(loser.id, now).unwrap();
            }
        }
        self.rejected_blocks += losers.len();
        for chain in &self.nodes {
            assert_eq!(chain.processing_count(), 0);
        }
        self.check();
    }

    /// Replays an accepted block on the model, checking every rule independently of the core.
    fn apply_to_model(&mut self, block: &SealedBlock) {
        assert_eq!(block.block.height, self.accepted.len() as u64 + 1);
        assert!(!block.block.txs.is_empty());
        for tx in &block.block.txs {
            assert!(
                self.accepted_txs.insert(tx.id()),
                "transfer {} accepted twice",
                tx.id()
            );
            let b = &tx.body;
            assert!(b.fee >= MIN_FEE);
            assert!(b.expires_at * 1000 >= block.block.timestamp_ms);
            let mut sender = self.model.get(&b.from).copied().unwrap_or_default();
            assert_eq!(b.nonce, sender.nonce, "nonce order");
            let cost = b.amount.checked_add(b.fee).expect("no overflow");
            assert!(sender.balance >= cost, "funds");
            sender.balance -= cost;
            sender.nonce += 1;
            self.model.insert(b.from, sender);
            let mut recipient = self.model.get(&b.to).copied().unwrap_or_default();
            recipient.balance += b.amount;
            self.model.insert(b.to, recipient);
            self.model_burned += b.fee;
        }
    }

    fn check(&self) {
        let reference = &self.nodes[0];
        let last = self.accepted.last().expect("something accepted");
        for chain in &self.nodes {
            assert_eq!(chain.last_accepted(), last);
            assert_accepted_invariants(chain);
            assert_eq!(chain.recompute_digest(), reference.recompute_digest());
            assert_eq!(chain.burned(), self.model_burned);
            for address in &self.recipients {
                assert_eq!(
                    chain.account(address),
                    self.model.get(address).copied().unwrap_or_default(),
                    "account {address}"
                );
            }
            // Every transfer of an accepted block is reported accepted at its block.
            for block in &self.accepted {
                for tx in &block.block.txs {
                    assert_eq!(chain.tx_status(&tx.id()), accepted_at(block));
                    assert!(!chain.mempool().contains(&tx.id()));
                }
            }
            // Every transfer reported accepted is in the block at the reported height;
            // pending ones are exactly those in the mempool.
            for id in &self.submitted {
                match chain.tx_status(id) {
                    TxStatus::Accepted { block_id, height } => {
                        assert_eq!(chain.block_id_at_height(height).unwrap(), Some(block_id));
                        let block = chain.get_block(&block_id).unwrap().expect("block");
                        assert!(block.block.txs.iter().any(|tx| tx.id() == *id));
                    }
                    TxStatus::Pending => assert!(chain.mempool().contains(id)),
                    TxStatus::Processing { .. } => panic!("nothing is processing"),
                    _ => assert!(!chain.mempool().contains(id)),
                }
            }
        }
    }
}

/// Property cases run by [`random_workloads_with_forks_keep_every_invariant`]; set
/// `TRANSFERVM_PROPERTY_CASES` to run more (or fewer).
fn property_cases() -> u32 {
    std::env::var("TRANSFERVM_PROPERTY_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

/// Runs one random workload (see [`op_strategy`]) and checks every invariant; returns the net
/// so the caller can count what it did.
fn run_workload(ops: &[Op]) -> Result<Net, TestCaseError> {
    let mut net = Net::new();
    for op in ops {
        match op {
            Op::Submit { .. } => net.submit(op),
            Op::Height {
                fork,
                builder,
                first_wins,
                reject_first,
            } => {
                net.height(*fork, *builder, *first_wins, *reject_first);
                net.now += 1_000;
            }
            Op::Branches {
                depths,
                first_wins,
                reject_at_once,
            } => {
                net.branches(*depths, *first_wins, *reject_at_once);
                net.now += 1_000;
            }
            Op::Wait { secs } => net.now += secs * 1_000,
        }
    }
    // Drain: the builders take turns, without forks.
    for round in 0..40 {
        net.height(false, round % 2, true, false);
        net.now += 1_000;
    }
    // Whatever is left waits for a missing nonce: neither builder can make a block of it.
    let now = net.now;
    for chain in &mut net.nodes[..2] {
        prop_assert!(chain.mempool().len() <= 48);
        prop_assert_eq!(chain.build_block(now), Err(BlockError::NothingToBuild));
    }
    if !net.accepted.is_empty() {
        net.check();
    }
    // A fresh follower fed only the accepted blocks reaches the same state.
    let mut late = small_blocks(chain_config());
    for block in &net.accepted {
        deliver(&mut late, block, block.block.timestamp_ms).unwrap();
        late.accept_block(block.id).unwrap();
    }
    prop_assert_eq!(late.recompute_digest(), net.nodes[0].recompute_digest());
    prop_assert_eq!(late.last_accepted(), net.nodes[0].last_accepted());
    Ok(net)
}

/// Random transfer workloads over random forks (competing blocks and multi-block branches,
/// accepted and rejected in random orders) on two builders and a follower: the supply
/// invariant and the digest cross-check hold at every accepted height, all nodes and a late
/// follower reach identical digests, and no accepted transfer is lost or applied twice.
/// Prints what the cases did (the figures in RELIABILITY.md).
#[test]
fn random_workloads_with_forks_keep_every_invariant() {
    use proptest::test_runner::TestRunner;
    use std::cell::Cell;
    let mut runner = TestRunner::new(ProptestConfig {
        cases: property_cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let ops_run = Cell::new(0usize);
    let cases = Cell::new(0usize);
    let (admitted, refused) = (Cell::new(0usize), Cell::new(0usize));
    let (blocks, txs, rejected) = (Cell::new(0usize), Cell::new(0usize), Cell::new(0usize));
    let result = runner.run(&prop::collection::vec(op_strategy(), 10..50), |ops| {
        let net = run_workload(&ops)?;
        cases.set(cases.get() + 1);
        ops_run.set(ops_run.get() + ops.len());
        admitted.set(admitted.get() + net.submitted.len());
        refused.set(refused.get() + net.refused);
        blocks.set(blocks.get() + net.accepted.len());
        txs.set(txs.get() + net.accepted_txs.len());
        rejected.set(rejected.get() + net.rejected_blocks);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "property cases: {} run ({} random ops): {} submissions admitted, {} refused; {} blocks \
         accepted holding {} transfers, {} competing blocks rejected; every invariant held at \
         every accepted height on 3 nodes and a late follower",
        cases.get(),
        ops_run.get(),
        admitted.get(),
        refused.get(),
        blocks.get(),
        txs.get(),
        rejected.get()
    );
}
