//! Property tests: random transfer workloads over random forks on two builders and a
//! follower, checked at every accepted height against an independent model.

use super::pool_model::{self, PoolModel, PoolSnapshot, Step};
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

/// The mempool caps of every node: small, so caps and nonce gaps are reached.
fn pool_limits() -> MempoolLimits {
    MempoolLimits {
        max_txs: 48,
        max_bytes: 48 * SIGNED_TX_LEN,
        max_per_sender: 6,
        max_nonce_gap: 5,
    }
}

/// Two builders (X, Y) and a follower (Z) that only ever sees blocks, plus an independent
/// model of the accepted state replayed from the accepted blocks, and one of the pools
/// ([`PoolModel`]) that judges every status change of every transfer a node holds.
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
    /// Every block built, by ID (for the model's state of a branch).
    blocks: BTreeMap<Id, SealedBlock>,
    /// The model's accepted state after each accepted block (and genesis), by block ID.
    states: BTreeMap<Id, BTreeMap<Address, Account>>,
    /// Where each transfer each node held went, and why.
    pools: PoolModel,
}

impl Net {
    fn new() -> Self {
        let mut config = chain_config();
        config.mempool = pool_limits();
        let keys: Vec<SigningKey> = (0..5)
            .map(dev_key)
            .chain((0..(KEYS - 5) as u8).map(unfunded_key))
            .collect();
        let mut recipients: Vec<Address> = keys.iter().map(address_of).collect();
        recipients.push(Address([0xee; 32]));
        let model: BTreeMap<Address, Account> = (0..5)
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
        let nodes: Vec<Chain> = (0..3).map(|_| small_blocks(config.clone())).collect();
        let genesis = nodes[0].last_accepted().id;
        Net {
            keys,
            recipients,
            nodes,
            now: NOW_MS,
            accepted: Vec::new(),
            accepted_txs: HashSet::new(),
            submitted: Vec::new(),
            model: model.clone(),
            model_burned: 0,
            refused: 0,
            rejected_blocks: 0,
            blocks: BTreeMap::new(),
            states: BTreeMap::from([(genesis, model)]),
            pools: PoolModel::new(3, pool_limits()),
        }
    }

    /// The model's state at the tip `tip` of a branch node `n` holds: its accepted state plus
    /// the processing blocks from there to the tip.
    fn branch_state(&self, n: usize, tip: Id) -> BTreeMap<Address, Account> {
        let accepted = self.nodes[n].last_accepted().id;
        let mut path = Vec::new();
        let mut cursor = tip;
        while cursor != accepted {
            let block = &self.blocks[&cursor];
            path.push(block);
            cursor = block.block.parent_id;
        }
        let mut state = self.states[&accepted].clone();
        for block in path.iter().rev() {
            for tx in &block.block.txs {
                pool_model::apply(&mut state, tx);
            }
        }
        state
    }

    /// Node `n` builds on its preference, as the model watches.
    fn build_at(&mut self, n: usize) -> Result<SealedBlock, BlockError> {
        let parent = self.nodes[n].preferred();
        let base = self.branch_state(n, parent);
        let parent_ms = match self.blocks.get(&parent) {
            Some(block) if parent != self.nodes[n].last_accepted().id => block.block.timestamp_ms,
            _ => self.nodes[n].last_accepted().block.timestamp_ms,
        };
        let built = self.nodes[n].build_block(self.now);
        if let Ok(block) = &built {
            self.blocks.insert(block.id, block.clone());
        }
        self.pools.observe(
            n,
            &self.nodes[n],
            Step::Build {
                base,
                timestamp_ms: self.now.max(parent_ms),
                built: built.as_ref().ok(),
            },
        );
        built
    }

    /// Node `n` verifies `block` as a peer's block arrives, as the model watches.
    fn deliver_at(&mut self, n: usize, block: &SealedBlock) {
        let fresh = self.nodes[n].processing_summary(&block.id).is_none();
        deliver(&mut self.nodes[n], block, self.now).expect("a built block verifies everywhere");
        self.pools
            .observe(n, &self.nodes[n], Step::Verify { block, fresh });
    }

    /// Node `n` accepts `block`, whose model state [`Net::apply_to_model`] has recorded.
    fn accept_at(&mut self, n: usize, block: &SealedBlock) {
        assert_eq!(&self.nodes[n].accept_block(block.id).unwrap(), block);
        let after = &self.states[&block.id];
        self.pools
            .observe(n, &self.nodes[n], Step::Accept { block, after });
    }

    /// Node `n` rejects `block`, as the model watches.
    fn reject_at(&mut self, n: usize, block: &SealedBlock) {
        let pool = PoolSnapshot::of(&self.nodes[n]);
        self.nodes[n].reject_block(block.id, self.now).unwrap();
        let chain = &self.nodes[n];
        let preferred = self.branch_state(n, chain.preferred());
        let mut elsewhere: BTreeMap<Id, Id> = BTreeMap::new();
        for (id, other) in &self.blocks {
            if chain.processing_summary(id).is_some() {
                for tx_id in &other.tx_ids {
                    // Ascending block IDs: the first is the lowest, as the chain picks.
                    elsewhere.entry(*tx_id).or_insert(*id);
                }
            }
        }
        self.pools.observe(
            n,
            &self.nodes[n],
            Step::Reject {
                block,
                preferred,
                pool,
                elsewhere,
                now_ms: self.now,
            },
        );
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
                self.pools
                    .observe(*node, &self.nodes[*node], Step::Admit(tx));
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
        match self.build_at(node) {
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
        for n in 0..self.nodes.len() {
            for block in std::iter::once(&winner).chain(&loser) {
                self.deliver_at(n, block);
            }
        }
        self.apply_to_model(&winner);
        for n in 0..self.nodes.len() {
            if let (true, Some(loser)) = (reject_first, &loser) {
                self.reject_at(n, loser);
            }
            self.accept_at(n, &winner);
            if let (false, Some(loser)) = (reject_first, &loser) {
                self.reject_at(n, loser);
            }
            assert_eq!(self.nodes[n].processing_count(), 0);
        }
        self.rejected_blocks += usize::from(loser.is_some());
        self.accepted.push(winner);
        self.check();
    }

    /// See [`Op::Branches`]. Every node verifies every block of both branches.
    fn branches(&mut self, depths: [usize; 2], first_wins: bool, reject_at_once: bool) {
        let mut built: [Vec<SealedBlock>; 2] = [Vec::new(), Vec::new()];
        for (builder, branch) in built.iter_mut().enumerate() {
            let mut parent = self.nodes[builder].last_accepted().id;
            for _ in 0..depths[builder] {
                match self.build_at(builder) {
                    Ok(block) => {
                        assert_eq!(block.block.parent_id, parent, "built on the preference");
                        parent = block.id;
                        self.nodes[builder].set_preference(block.id).unwrap();
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
        for n in 0..self.nodes.len() {
            for block in &all {
                self.deliver_at(n, block);
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
            self.apply_to_model(block);
            for n in 0..self.nodes.len() {
                self.accept_at(n, block);
                assert_accepted_invariants(&self.nodes[n]);
            }
            self.accepted.push(block.clone());
            if reject_at_once {
                let (dead, alive): (Vec<_>, Vec<_>) =
                    losers.into_iter().partition(|l| conflicts(l, block));
                for loser in &dead {
                    for n in 0..self.nodes.len() {
                        self.reject_at(n, loser);
                    }
                }
                self.rejected_blocks += dead.len();
                losers = alive;
            }
        }
        for loser in &losers {
            for n in 0..self.nodes.len() {
                self.reject_at(n, loser);
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
        self.states.insert(block.id, self.model.clone());
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

/// The fewest property cases a run may ask for: enough that forks, rejections and every kind
/// of drop occur (the test asserts they do), so it cannot pass by running (almost) nothing.
const MIN_PROPERTY_CASES: u32 = 32;

/// Property cases run by [`random_workloads_with_forks_keep_every_invariant`]; set
/// `TRANSFERVM_PROPERTY_CASES` to run more (or fewer, down to [`MIN_PROPERTY_CASES`]; a value
/// that is not a number, or below the minimum, is refused rather than silently changed).
fn property_cases() -> u32 {
    let Ok(text) = std::env::var("TRANSFERVM_PROPERTY_CASES") else {
        return 256;
    };
    let cases: u32 = text
        .parse()
        .unwrap_or_else(|_| panic!("TRANSFERVM_PROPERTY_CASES={text:?} is not a case count"));
    assert!(
        cases >= MIN_PROPERTY_CASES,
        "TRANSFERVM_PROPERTY_CASES={cases}: at least {MIN_PROPERTY_CASES} cases, or the test \
         proves nothing"
    );
    cases
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
    for n in 0..2 {
        prop_assert!(net.nodes[n].mempool().len() <= 48);
        prop_assert_eq!(net.build_at(n), Err(BlockError::NothingToBuild));
    }
    if !net.accepted.is_empty() {
        net.check();
    }
    // Every transfer any node held ends accepted, pending, or dropped/rejected for a reason
    // the model confirmed when it happened; every admitted one was held by its node.
    let outcomes = net.pools.final_outcomes(&net.model);
    prop_assert!(outcomes.values().sum::<usize>() >= net.submitted.len());
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

/// Adds `more` to the counts in `into`.
fn add_counts(
    into: &std::cell::RefCell<BTreeMap<&'static str, usize>>,
    more: &BTreeMap<&'static str, usize>,
) {
    let mut into = into.borrow_mut();
    for (kind, n) in more {
        *into.entry(kind).or_default() += n;
    }
}

/// Random transfer workloads over random forks (competing blocks and multi-block branches,
/// accepted and rejected in random orders) on two builders and a follower: the supply
/// invariant and the digest cross-check hold at every accepted height, all nodes and a late
/// follower reach identical digests, and no accepted transfer is lost or applied twice; every
/// transfer a node held went only where the pool model ([`PoolModel`]) allowed, for the reason
/// it confirmed. Prints what the cases did (the figures in RELIABILITY.md).
#[test]
fn random_workloads_with_forks_keep_every_invariant() {
    use proptest::test_runner::TestRunner;
    use std::cell::{Cell, RefCell};
    let wanted = property_cases();
    let mut runner = TestRunner::new(ProptestConfig {
        cases: wanted,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let ops_run = Cell::new(0usize);
    let cases = Cell::new(0usize);
    let (admitted, refused) = (Cell::new(0usize), Cell::new(0usize));
    let (blocks, txs, rejected) = (Cell::new(0usize), Cell::new(0usize), Cell::new(0usize));
    let transitions = RefCell::new(BTreeMap::new());
    let outcomes = RefCell::new(BTreeMap::new());
    let result = runner.run(&prop::collection::vec(op_strategy(), 10..50), |ops| {
        let net = run_workload(&ops)?;
        add_counts(&transitions, &net.pools.transitions);
        add_counts(&outcomes, &net.pools.final_outcomes(&net.model));
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
    let (transitions, outcomes) = (transitions.into_inner(), outcomes.into_inner());
    eprintln!(
        "property cases: {} run ({} random ops): {} submissions admitted, {} refused; {} blocks \
         accepted holding {} transfers, {} competing blocks rejected; every invariant held at \
         every accepted height on 3 nodes and a late follower; status changes the pool model \
         confirmed: {transitions:?}; where each (node, transfer) ended: {outcomes:?}",
        cases.get(),
        ops_run.get(),
        admitted.get(),
        refused.get(),
        blocks.get(),
        txs.get(),
        rejected.get()
    );
    assert_eq!(cases.get(), wanted as usize, "every case ran");
    // The paths the model judges were all taken, so its checks were exercised (a transfer held
    // by two competing blocks is rarer: about one case in ten).
    let mut kinds = vec![
        "built into a block",
        "accepted",
        "returned to the pool",
        "rejected",
        "dropped: expired",
        "dropped: nonce used by an accepted transfer",
    ];
    if cases.get() >= 256 {
        kinds.push("still processing in a competing block");
    }
    for kind in kinds {
        assert!(
            transitions
                .iter()
                .any(|(k, n)| k.starts_with(kind) && *n > 0),
            "no status change of kind {kind:?} in {} cases",
            cases.get()
        );
    }
}
