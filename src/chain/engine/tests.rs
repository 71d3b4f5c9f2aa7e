//! Unit tests of the [`Chain`] state machine as consensus and wallets drive it: competing
//! blocks, block validity rules, admission, restart from a store, expiry, determinism, and
//! property tests over random workloads with random forks.
//!
//! Time is always passed in; every test uses fixed times around [`NOW`].

use super::super::block::{Block, SealedBlock};
use super::super::error::{BlockError, OpenError, TxError};
use super::super::genesis::LOCAL_GENESIS_JSON;
use super::super::ids::{Address, Id};
use super::super::mempool::MempoolLimits;
use super::super::state::Account;
use super::super::status::TxStatus;
use super::super::tx::{address_of, SignedTx, TxBody, SIGNED_TX_LEN, TX_VERSION};
use super::{Chain, ChainConfig, CheckedTx, GenesisFacts, SignatureProof, MAX_BLOCK_SKEW_MS};
use crate::keys::dev_key;
use crate::storage::memory::MemoryStore;
use crate::storage::{KvStore, WriteBatch};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

const NETWORK: u32 = 12345;
const CHAIN_ID: Id = Id([0xc7; 32]);
/// Local time of most tests, unix ms.
const NOW: u64 = 1_700_000_000_000;
const NOW_S: u64 = NOW / 1000;
/// `minFee` of the local genesis.
const MIN_FEE: u64 = 100;
/// `maxExpirySecs` of the local genesis.
const MAX_EXPIRY: u64 = 3600;
/// Genesis balance of each dev key.
const DEV_BALANCE: u64 = 1_000_000_000_000_000_000;

// ----- helpers -----

fn config() -> ChainConfig {
    ChainConfig::new(NETWORK, CHAIN_ID)
}

fn open_with(genesis: &str, config: ChainConfig) -> Chain {
    Chain::open(Arc::new(MemoryStore::default()), genesis.as_bytes(), config).expect("open")
}

fn open() -> Chain {
    open_with(LOCAL_GENESIS_JSON, config())
}

/// The local genesis with other block caps.
fn genesis_with_caps(max_txs: u32, max_bytes: usize) -> String {
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

fn dev(i: u32) -> SigningKey {
    dev_key(i)
}

/// A key the genesis does not fund.
fn fresh(i: u8) -> SigningKey {
    SigningKey::from_bytes(&[0xa0 ^ i; 32])
}

fn addr(key: &SigningKey) -> Address {
    address_of(key)
}

fn body(from: &SigningKey, to: Address, amount: u64, nonce: u64) -> TxBody {
    TxBody {
        version: TX_VERSION,
        network_id: NETWORK,
        chain_id: CHAIN_ID,
        from: address_of(from),
        to,
        amount,
        fee: MIN_FEE,
        nonce,
        expires_at: NOW_S + 600,
    }
}

fn transfer(from: &SigningKey, to: Address, amount: u64, nonce: u64) -> SignedTx {
    body(from, to, amount, nonce).sign(from)
}

fn admit(chain: &mut Chain, tx: SignedTx) -> Id {
    chain.check_and_admit(tx, NOW).expect("admit").id
}

/// Verifies a block as a chain holding it directly does: signatures it has not seen are
/// checked inside `verify_block`.
trait VerifyHere {
    fn verify(&mut self, block: SealedBlock, now_ms: u64) -> Result<(), BlockError>;
}

impl VerifyHere for Chain {
    fn verify(&mut self, block: SealedBlock, now_ms: u64) -> Result<(), BlockError> {
        self.verify_block(block, SignatureProof::default(), now_ms)
    }
}

/// Hands `block` to `chain` the way a peer's block arrives: as bytes, parsed, then verified.
fn deliver(chain: &mut Chain, block: &SealedBlock, now_ms: u64) -> Result<(), BlockError> {
    let parsed = chain.rules().decode_block(&block.bytes)?;
    assert_eq!(parsed, *block, "parsing gives back the same block");
    chain.verify(parsed, now_ms)
}

/// A block with the given fields (not necessarily valid), sealed.
fn craft(
    parent: Id,
    height: u64,
    timestamp_ms: u64,
    txs: Vec<SignedTx>,
    digest: Id,
) -> SealedBlock {
    Block {
        parent_id: parent,
        height,
        timestamp_ms,
        txs,
        state_digest: digest,
    }
    .seal()
}

/// A copy of `block` with one field changed, resealed.
fn altered(block: &SealedBlock, change: impl FnOnce(&mut Block)) -> SealedBlock {
    let mut b = block.block.clone();
    change(&mut b);
    b.seal()
}

/// Supply and digest invariants of the accepted state.
fn check_accepted_state(chain: &Chain) {
    let total = chain.total_balances().expect("balances fit in u64");
    assert_eq!(
        total.checked_add(chain.burned()),
        Some(chain.supply()),
        "balances + burned == supply"
    );
    assert_eq!(
        chain.recompute_digest(),
        chain.last_accepted().block.state_digest,
        "recomputed digest == last accepted block's digest"
    );
}

fn accepted_at(block: &SealedBlock) -> TxStatus {
    TxStatus::Accepted {
        block_id: block.id,
        height: block.block.height,
    }
}

// ----- 1. competing blocks -----

/// X builds A from t1, Y builds B from t2 on the same parent; both verify both; A wins.
fn competing_blocks(conflict: bool) {
    let mut x = open();
    let mut y = open();
    let to_a = addr(&fresh(1));
    let to_b = addr(&fresh(2));
    let t1 = transfer(&dev(0), to_a, 1_000, 0);
    let t2 = if conflict {
        // Same sender, same nonce, different recipient: only one can ever apply.
        transfer(&dev(0), to_b, 2_000, 0)
    } else {
        transfer(&dev(1), to_b, 2_000, 0)
    };
    admit(&mut x, t1);
    admit(&mut y, t2);
    let a = x.build_block(NOW).unwrap();
    let b = y.build_block(NOW).unwrap();
    assert_ne!(a.id, b.id);
    assert_eq!(a.block.parent_id, x.genesis_id());
    assert_eq!(b.block.parent_id, y.genesis_id());
    assert_eq!(a.block.txs, vec![t1]);
    assert_eq!(b.block.txs, vec![t2]);
    deliver(&mut x, &b, NOW).unwrap();
    deliver(&mut y, &a, NOW).unwrap();
    // Y liked its own block better for a while.
    y.set_preference(b.id).unwrap();

    // A pending transfer on Y that A makes impossible (dev 0's nonce 0 once more).
    let t3 = transfer(&dev(0), addr(&fresh(3)), 3_000, 0);
    if conflict {
        // Y's mempool no longer holds t2 (it is in B), and on B's branch nonce 0 is used.
        assert!(!y.mempool().contains(&t2.id()));
        assert!(matches!(
            y.check_and_admit(t3, NOW),
            Err(TxError::NonceTooLow { .. })
        ));
        y.set_preference(y.genesis_id()).unwrap();
        admit(&mut y, t3);
        y.set_preference(b.id).unwrap();
    }

    for chain in [&mut x, &mut y] {
        assert_eq!(chain.processing_count(), 2);
        assert_eq!(chain.accept_block(a.id).unwrap(), a);
        assert_eq!(chain.preferred(), a.id, "preference leaves the dead branch");
        chain.reject_block(b.id, NOW).unwrap();
        assert_eq!(chain.processing_count(), 0);
        assert_eq!(chain.last_accepted().id, a.id);
        assert_eq!(chain.recompute_digest(), a.block.state_digest);
        check_accepted_state(chain);
        assert_eq!(chain.tx_status(&t1.id()), accepted_at(&a));
    }
    let touched = [addr(&dev(0)), addr(&dev(1)), to_a, to_b, addr(&fresh(3))];
    for address in &touched {
        assert_eq!(x.account(address), y.account(address));
    }
    assert_eq!(x.recompute_digest(), y.recompute_digest());
    assert_eq!(
        x.account(&addr(&dev(0))),
        Account {
            balance: DEV_BALANCE - 1_000 - MIN_FEE,
            nonce: 1
        }
    );
    assert_eq!(x.account(&to_a).balance, 1_000);
    assert_eq!(x.account(&to_b), Account::default());
    assert_eq!(x.burned(), MIN_FEE);

    if conflict {
        for chain in [&x, &y] {
            assert!(
                matches!(
                    chain.tx_status(&t2.id()),
                    TxStatus::Rejected { .. } | TxStatus::Dropped { .. }
                ),
                "{:?}",
                chain.tx_status(&t2.id())
            );
            assert!(!chain.mempool().contains(&t2.id()));
        }
        assert!(matches!(y.tx_status(&t3.id()), TxStatus::Dropped { .. }));
        assert!(y.mempool().is_empty());
        assert_eq!(y.pending_nonce(&addr(&dev(0))), 1);
        assert_eq!(y.build_block(NOW + 1_000), Err(BlockError::NothingToBuild));
    } else {
        // B's transfer still applies after A: it is pending again, on both nodes.
        for chain in [&x, &y] {
            assert_eq!(chain.tx_status(&t2.id()), TxStatus::Pending);
            assert!(chain.mempool().contains(&t2.id()));
            assert_eq!(chain.pending_nonce(&addr(&dev(1))), 1);
        }
        let c = y.build_block(NOW + 1_000).unwrap();
        assert_eq!(c.block.parent_id, a.id);
        assert_eq!(c.block.height, 2);
        assert_eq!(c.block.txs, vec![t2]);
        deliver(&mut x, &c, NOW + 1_000).unwrap();
        assert!(x.mempool().is_empty(), "the verified block took t2 out");
        for chain in [&mut x, &mut y] {
            chain.accept_block(c.id).unwrap();
            check_accepted_state(chain);
            assert_eq!(chain.tx_status(&t2.id()), accepted_at(&c));
        }
        assert_eq!(x.account(&to_b).balance, 2_000);
        assert_eq!(x.account(&to_b), y.account(&to_b));
        assert_eq!(x.recompute_digest(), y.recompute_digest());
    }
}

#[test]
fn competing_blocks_with_conflicting_transfers() {
    competing_blocks(true);
}

#[test]
fn competing_blocks_with_independent_transfers() {
    competing_blocks(false);
}

#[test]
fn a_transfer_in_two_competing_blocks_is_reported_accepted_whatever_the_decision_order() {
    // t is in both A (built by X) and B (built by Y, with one more transfer). Whether the host
    // rejects B before or after accepting A, t ends up accepted, not pending, not dropped.
    for reject_first in [false, true] {
        let mut x = open();
        let mut y = open();
        let t = transfer(&dev(0), addr(&fresh(1)), 5, 0);
        let other = transfer(&dev(1), addr(&fresh(2)), 6, 0);
        admit(&mut x, t);
        admit(&mut y, t);
        admit(&mut y, other);
        let a = x.build_block(NOW).unwrap();
        let b = y.build_block(NOW).unwrap();
        assert_ne!(a.id, b.id);
        deliver(&mut x, &b, NOW).unwrap();
        deliver(&mut y, &a, NOW).unwrap();
        for chain in [&mut x, &mut y] {
            if reject_first {
                chain.reject_block(b.id, NOW).unwrap();
                assert!(
                    matches!(chain.tx_status(&t.id()), TxStatus::Processing { block_id } if block_id == a.id),
                    "t is still in A: {:?}",
                    chain.tx_status(&t.id())
                );
                assert!(!chain.mempool().contains(&t.id()));
                chain.accept_block(a.id).unwrap();
            } else {
                chain.accept_block(a.id).unwrap();
                chain.reject_block(b.id, NOW).unwrap();
            }
            assert_eq!(chain.tx_status(&t.id()), accepted_at(&a), "{reject_first}");
            assert!(!chain.mempool().contains(&t.id()));
            assert_eq!(chain.tx_status(&other.id()), TxStatus::Pending);
            check_accepted_state(chain);
        }
    }
}

#[test]
fn a_transfer_still_held_by_a_live_block_is_not_returned_by_a_rejection() {
    // Branch 1: S, then A holding t. Branch 2: B holding t and another transfer. S is accepted,
    // so B is rejected while A is still undecided: t must stay processing in A (not pending,
    // not rejected), and be reported accepted once A is.
    let t = transfer(&dev(0), addr(&fresh(1)), 5, 0);
    let s_tx = transfer(&dev(2), addr(&fresh(2)), 6, 0);
    let other = transfer(&dev(1), addr(&fresh(3)), 7, 0);
    let mut x = open();
    admit(&mut x, s_tx);
    let s = x.build_block(NOW).unwrap();
    x.set_preference(s.id).unwrap();
    admit(&mut x, t);
    let a = x.build_block(NOW + 1_000).unwrap();
    assert_eq!(a.block.parent_id, s.id);
    let mut y = open();
    admit(&mut y, t);
    admit(&mut y, other);
    let b = y.build_block(NOW).unwrap();

    for prefer_b in [false, true] {
        let mut z = open();
        deliver(&mut z, &s, NOW + 1_000).unwrap();
        deliver(&mut z, &a, NOW + 1_000).unwrap();
        deliver(&mut z, &b, NOW + 1_000).unwrap();
        z.set_preference(if prefer_b { b.id } else { a.id })
            .unwrap();
        z.accept_block(s.id).unwrap();
        assert_eq!(z.preferred(), if prefer_b { s.id } else { a.id });
        z.reject_block(b.id, NOW + 1_000).unwrap();
        assert_eq!(
            z.tx_status(&t.id()),
            TxStatus::Processing { block_id: a.id },
            "prefer B: {prefer_b}"
        );
        assert!(!z.mempool().contains(&t.id()));
        assert_eq!(z.tx_status(&other.id()), TxStatus::Pending);
        z.accept_block(a.id).unwrap();
        assert_eq!(z.tx_status(&t.id()), accepted_at(&a));
        assert!(!z.mempool().contains(&t.id()));
        check_accepted_state(&z);
        // The other transfer of B is built into the next block.
        let next = z.build_block(NOW + 2_000).unwrap();
        assert_eq!(next.block.txs, vec![other]);
    }
}

// ----- 3. determinism -----

#[test]
fn the_same_block_bytes_give_the_same_state_everywhere() {
    let mut builder = open();
    for i in 0..5 {
        admit(
            &mut builder,
            transfer(&dev(i), addr(&fresh(i as u8)), 10 + u64::from(i), 0),
        );
    }
    let block = builder.build_block(NOW).unwrap();
    let mut p = open();
    let mut q = open();
    for chain in [&mut p, &mut q] {
        chain
            .verify(chain.rules().decode_block(&block.bytes).unwrap(), NOW)
            .unwrap();
        chain.accept_block(block.id).unwrap();
        assert_eq!(chain.recompute_digest(), block.block.state_digest);
        check_accepted_state(chain);
    }
    assert_eq!(p.recompute_digest(), q.recompute_digest());
}

#[test]
fn the_same_mempool_contents_build_byte_identical_blocks() {
    let mut txs = Vec::new();
    for i in 0..5u32 {
        for nonce in 0..3 {
            txs.push(transfer(
                &dev(i),
                addr(&fresh((i * 3 + nonce as u32) as u8)),
                100 * u64::from(i) + nonce,
                nonce,
            ));
        }
    }
    let mut p = open();
    let mut q = open();
    for tx in &txs {
        admit(&mut p, *tx);
    }
    // Another arrival order: reversed senders, and nonces arriving out of order.
    for tx in txs.iter().rev() {
        admit(&mut q, *tx);
    }
    let bp = p.build_block(NOW).unwrap();
    let bq = q.build_block(NOW).unwrap();
    assert_eq!(bp.bytes, bq.bytes);
    assert_eq!(bp.block.txs.len(), txs.len());
    // And again one level up, with a capped block so the rotation of senders matters.
    let capped = genesis_with_caps(4, 1_500_000);
    let mut p = open_with(&capped, config());
    let mut q = open_with(&capped, config());
    for tx in &txs {
        admit(&mut p, *tx);
    }
    for tx in txs.iter().rev() {
        admit(&mut q, *tx);
    }
    for round in 0..4u64 {
        let now = NOW + round * 1_000;
        let bp = p.build_block(now).unwrap();
        let bq = q.build_block(now).unwrap();
        assert_eq!(bp.bytes, bq.bytes, "round {round}");
        p.accept_block(bp.id).unwrap();
        q.accept_block(bq.id).unwrap();
    }
}

// ----- 4. block validity rules -----

#[test]
fn block_validity_rules() {
    let key = dev(0);
    let to = addr(&fresh(1));
    let t0 = transfer(&key, to, 10, 0);
    let t1 = transfer(&key, to, 11, 1);
    let mut builder = open();
    admit(&mut builder, t0);
    let a = builder.build_block(NOW).unwrap();
    builder.set_preference(a.id).unwrap();
    admit(&mut builder, t1);
    let a_child = builder.build_block(NOW + 1_000).unwrap();
    assert_eq!(a_child.block.parent_id, a.id);

    let mut chain = open();
    let genesis = chain.genesis_id();
    let digest = a.block.state_digest;

    // Unknown parent.
    let orphan = altered(&a, |b| b.parent_id = Id([9; 32]));
    assert_eq!(
        chain.verify(orphan, NOW),
        Err(BlockError::UnknownParent(Id([9; 32])))
    );
    // Wrong height, both ways.
    for height in [0, 2] {
        assert_eq!(
            chain.verify(altered(&a, |b| b.height = height), NOW),
            Err(BlockError::WrongHeight {
                expected: 1,
                got: height
            })
        );
    }
    // Too far in the future: 10 s of skew is allowed, not more.
    assert_eq!(
        chain.verify(
            altered(&a, |b| b.timestamp_ms = NOW + MAX_BLOCK_SKEW_MS + 1),
            NOW
        ),
        Err(BlockError::BadTimestamp {
            got: NOW + MAX_BLOCK_SKEW_MS + 1,
            min: 0,
            max: NOW + MAX_BLOCK_SKEW_MS
        })
    );
    // Empty.
    assert!(matches!(
        chain.verify(craft(genesis, 1, NOW, vec![], digest), NOW),
        Err(BlockError::Malformed(_))
    ));
    // A bad signature, first or later in the block.
    let mut forged = t0;
    forged.signature[10] ^= 1;
    assert_eq!(
        chain.verify(craft(genesis, 1, NOW, vec![forged], digest), NOW),
        Err(BlockError::InvalidTx {
            index: 0,
            id: forged.id(),
            error: TxError::BadSignature
        })
    );
    let mut edited = t1;
    edited.body.amount += 1;
    assert_eq!(
        chain.verify(craft(genesis, 1, NOW, vec![t0, edited], digest), NOW),
        Err(BlockError::InvalidTx {
            index: 1,
            id: edited.id(),
            error: TxError::BadSignature
        })
    );
    // Signed by a key other than `from`.
    let impostor = body(&key, to, 1, 0).sign(&dev(1));
    assert!(matches!(
        chain.verify(craft(genesis, 1, NOW, vec![impostor], digest), NOW),
        Err(BlockError::InvalidTx {
            error: TxError::BadSignature,
            ..
        })
    ));
    // The same transfer twice in one block.
    assert_eq!(
        chain.verify(craft(genesis, 1, NOW, vec![t0, t0], digest), NOW),
        Err(BlockError::InvalidTx {
            index: 1,
            id: t0.id(),
            error: TxError::NonceTooLow {
                expected: 1,
                got: 0
            }
        })
    );
    // Stateless and time rules apply inside blocks too.
    let wrong_chain = TxBody {
        chain_id: Id([1; 32]),
        ..body(&key, to, 1, 0)
    }
    .sign(&key);
    assert!(matches!(
        chain.verify(craft(genesis, 1, NOW, vec![wrong_chain], digest), NOW),
        Err(BlockError::InvalidTx {
            error: TxError::WrongChain { .. },
            ..
        })
    ));
    let cheap = TxBody {
        fee: MIN_FEE - 1,
        ..body(&key, to, 1, 0)
    }
    .sign(&key);
    assert!(matches!(
        chain.verify(craft(genesis, 1, NOW, vec![cheap], digest), NOW),
        Err(BlockError::InvalidTx {
            error: TxError::FeeTooLow { .. },
            ..
        })
    ));
    let stale = TxBody {
        expires_at: NOW_S - 1,
        ..body(&key, to, 1, 0)
    }
    .sign(&key);
    assert!(matches!(
        chain.verify(craft(genesis, 1, NOW, vec![stale], digest), NOW),
        Err(BlockError::InvalidTx {
            error: TxError::Expired { .. },
            ..
        })
    ));
    let broke = transfer(&fresh(7), to, 1, 0);
    assert!(matches!(
        chain.verify(craft(genesis, 1, NOW, vec![broke], digest), NOW),
        Err(BlockError::InvalidTx {
            error: TxError::InsufficientFunds { .. },
            ..
        })
    ));
    // A wrong state digest.
    let wrong_digest = altered(&a, |b| b.state_digest = Id([3; 32]));
    assert_eq!(
        chain.verify(wrong_digest, NOW),
        Err(BlockError::DigestMismatch {
            claimed: Id([3; 32]),
            computed: digest
        })
    );
    // None of the refusals left anything behind.
    assert_eq!(chain.processing_count(), 0);

    // The genuine block, with its timestamp exactly at the skew bound, is fine.
    let at_bound = altered(&a, |b| b.timestamp_ms = NOW + MAX_BLOCK_SKEW_MS);
    chain.verify(at_bound.clone(), NOW).unwrap();
    assert_eq!(chain.processing_count(), 1);
    deliver(&mut chain, &a, NOW).unwrap();
    assert_eq!(chain.processing_count(), 2);
    deliver(&mut chain, &a_child, NOW + 1_000).unwrap();

    // Accepting out of order, or something unknown.
    assert_eq!(
        chain.accept_block(a_child.id),
        Err(BlockError::NotNextToAccept(a_child.id))
    );
    assert_eq!(
        chain.accept_block(Id([4; 32])),
        Err(BlockError::NotFound(Id([4; 32])))
    );
    assert_eq!(chain.last_accepted().id, genesis);
    chain.accept_block(a.id).unwrap();
    // `at_bound` is now a sibling of an accepted block: it cannot be accepted, nor built on.
    assert_eq!(
        chain.accept_block(at_bound.id),
        Err(BlockError::NotNextToAccept(at_bound.id))
    );
    let on_dead_branch = altered(&a_child, |b| b.parent_id = at_bound.id);
    assert_eq!(
        chain.verify(on_dead_branch.clone(), NOW + 1_000),
        Err(BlockError::UnknownParent(at_bound.id))
    );
    chain.reject_block(at_bound.id, NOW).unwrap();
    assert_eq!(
        chain.verify(on_dead_branch, NOW + 1_000),
        Err(BlockError::UnknownParent(at_bound.id))
    );

    // Replaying an accepted transfer on top of its block.
    assert_eq!(
        chain.verify(craft(a.id, 2, NOW + 1_000, vec![t0], digest), NOW + 1_000),
        Err(BlockError::InvalidTx {
            index: 0,
            id: t0.id(),
            error: TxError::NonceTooLow {
                expected: 1,
                got: 0
            }
        })
    );
    // Replaying an accepted transfer from further down the chain.
    chain.accept_block(a_child.id).unwrap();
    check_accepted_state(&chain);
    assert_eq!(
        chain.verify(
            craft(a_child.id, 3, NOW + 2_000, vec![t1], digest),
            NOW + 2_000
        ),
        Err(BlockError::InvalidTx {
            index: 0,
            id: t1.id(),
            error: TxError::NonceTooLow {
                expected: 2,
                got: 1
            }
        })
    );
    // A timestamp before the parent's (equal is fine).
    let t2 = transfer(&key, to, 12, 2);
    let mut builder2 = open();
    for block in [&a, &a_child] {
        deliver(&mut builder2, block, NOW + 1_000).unwrap();
        builder2.accept_block(block.id).unwrap();
    }
    admit(&mut builder2, t2);
    let next = builder2.build_block(NOW + 1_000).unwrap();
    assert_eq!(next.block.timestamp_ms, NOW + 1_000);
    assert_eq!(
        chain.verify(altered(&next, |b| b.timestamp_ms = NOW + 999), NOW + 1_000),
        Err(BlockError::BadTimestamp {
            got: NOW + 999,
            min: NOW + 1_000,
            max: NOW + 1_000 + MAX_BLOCK_SKEW_MS
        })
    );
    deliver(&mut chain, &next, NOW + 1_000).unwrap();
}

#[test]
fn a_child_replaying_its_processing_parent_is_invalid() {
    let key = dev(2);
    let t0 = transfer(&key, addr(&fresh(1)), 10, 0);
    let mut builder = open();
    admit(&mut builder, t0);
    let a = builder.build_block(NOW).unwrap();
    let mut chain = open();
    deliver(&mut chain, &a, NOW).unwrap();
    assert_eq!(
        chain.verify(craft(a.id, 2, NOW, vec![t0], a.block.state_digest), NOW),
        Err(BlockError::InvalidTx {
            index: 0,
            id: t0.id(),
            error: TxError::NonceTooLow {
                expected: 1,
                got: 0
            }
        })
    );
}

#[test]
fn block_caps_on_count_and_bytes() {
    let txs: Vec<SignedTx> = (0..3)
        .map(|i| transfer(&dev(i), addr(&fresh(1)), 1, 0))
        .collect();
    // Count cap.
    let mut chain = open_with(&genesis_with_caps(2, 1_500_000), config());
    let genesis = chain.genesis_id();
    let three = craft(genesis, 1, NOW, txs.clone(), Id::default());
    assert!(matches!(
        chain.verify(three.clone(), NOW),
        Err(BlockError::TooLarge(_))
    ));
    for tx in &txs {
        admit(&mut chain, *tx);
    }
    let built = chain.build_block(NOW).unwrap();
    assert_eq!(
        built.block.txs.len(),
        2,
        "the builder respects the count cap"
    );
    assert_eq!(chain.mempool().len(), 1);

    // Byte cap: room for two transfers, count cap far away.
    let max_bytes = Block::encoded_len(2);
    let mut chain = open_with(&genesis_with_caps(10, max_bytes), config());
    assert!(three.bytes.len() > max_bytes);
    assert!(matches!(
        chain.rules().decode_block(&three.bytes),
        Err(BlockError::TooLarge(_))
    ));
    assert!(matches!(
        chain.verify(three, NOW),
        Err(BlockError::TooLarge(_))
    ));
    for tx in &txs {
        admit(&mut chain, *tx);
    }
    let built = chain.build_block(NOW).unwrap();
    assert_eq!(
        built.block.txs.len(),
        2,
        "the builder respects the byte cap"
    );
    assert!(built.bytes.len() <= max_bytes);
    let mut follower = open_with(&genesis_with_caps(10, max_bytes), config());
    deliver(&mut follower, &built, NOW).unwrap();
}

// ----- 5. admission -----

/// Admits a transfer that must be refused, checks that nothing changed and that `simulate`
/// agrees, and returns the error.
fn refused(chain: &mut Chain, tx: SignedTx, now_ms: u64) -> TxError {
    let len = chain.mempool().len();
    let bytes = chain.mempool().bytes();
    let nonce = chain.pending_nonce(&tx.body.from);
    let status = chain.tx_status(&tx.id());
    let simulated =
        CheckedTx::check(chain.rules(), now_ms, tx).and_then(|checked| chain.simulate(&checked));
    let err = chain
        .check_and_admit(tx, now_ms)
        .expect_err("must be refused");
    assert_eq!(simulated, Err(err.clone()), "simulate agrees with admit");
    assert_eq!(chain.mempool().len(), len);
    assert_eq!(chain.mempool().bytes(), bytes);
    assert_eq!(chain.pending_nonce(&tx.body.from), nonce);
    assert_eq!(chain.tx_status(&tx.id()), status);
    if status == TxStatus::Unknown {
        assert!(
            !chain.is_signature_verified(&tx.id()),
            "a refused transfer leaves no verified-signature entry behind"
        );
    }
    err
}

#[test]
fn admission_refuses_with_every_error() {
    let key = dev(0);
    let me = addr(&key);
    let to = addr(&fresh(1));
    let mut chain = open();
    let sign = |b: TxBody| b.sign(&key);

    let e = refused(
        &mut chain,
        sign(TxBody {
            version: 2,
            ..body(&key, to, 1, 0)
        }),
        NOW,
    );
    assert!(matches!(e, TxError::Malformed(_)), "{e:?}");
    assert_eq!(
        refused(
            &mut chain,
            sign(TxBody {
                network_id: 1,
                ..body(&key, to, 1, 0)
            }),
            NOW
        ),
        TxError::WrongNetwork {
            expected: NETWORK,
            got: 1
        }
    );
    assert_eq!(
        refused(
            &mut chain,
            sign(TxBody {
                chain_id: Id([1; 32]),
                ..body(&key, to, 1, 0)
            }),
            NOW
        ),
        TxError::WrongChain {
            expected: CHAIN_ID,
            got: Id([1; 32])
        }
    );
    let mut forged = transfer(&key, to, 1, 0);
    forged.signature[0] ^= 0x80;
    assert_eq!(refused(&mut chain, forged, NOW), TxError::BadSignature);
    assert_eq!(
        refused(&mut chain, body(&key, to, 1, 0).sign(&dev(1)), NOW),
        TxError::BadSignature
    );
    assert_eq!(
        refused(
            &mut chain,
            sign(TxBody {
                fee: MIN_FEE - 1,
                ..body(&key, to, 1, 0)
            }),
            NOW
        ),
        TxError::FeeTooLow {
            min: MIN_FEE,
            got: MIN_FEE - 1
        }
    );
    assert_eq!(
        refused(
            &mut chain,
            transfer(&key, to, u64::MAX - MIN_FEE + 1, 0),
            NOW
        ),
        TxError::AmountOverflow
    );
    assert_eq!(
        refused(
            &mut chain,
            transfer(&key, to, DEV_BALANCE - MIN_FEE + 1, 0),
            NOW
        ),
        TxError::InsufficientFunds {
            balance: DEV_BALANCE,
            needed: DEV_BALANCE + 1
        }
    );
    assert_eq!(
        refused(&mut chain, transfer(&fresh(5), to, 0, 0), NOW),
        TxError::InsufficientFunds {
            balance: 0,
            needed: MIN_FEE
        }
    );
    let max_gap = chain.config().mempool.max_nonce_gap;
    assert_eq!(
        refused(&mut chain, transfer(&key, to, 1, max_gap), NOW),
        TxError::NonceGap {
            expected: 0,
            got: max_gap
        }
    );
    assert_eq!(
        refused(
            &mut chain,
            sign(TxBody {
                expires_at: NOW_S - 1,
                ..body(&key, to, 1, 0)
            }),
            NOW
        ),
        TxError::Expired {
            expires_at: NOW_S - 1,
            now: NOW_S
        }
    );
    // Expiring a fraction of a second ago is expired too.
    assert!(matches!(
        refused(
            &mut chain,
            sign(TxBody {
                expires_at: NOW_S,
                ..body(&key, to, 1, 0)
            }),
            NOW + 1
        ),
        TxError::Expired { .. }
    ));
    assert_eq!(
        refused(
            &mut chain,
            sign(TxBody {
                expires_at: NOW_S + MAX_EXPIRY + 1,
                ..body(&key, to, 1, 0)
            }),
            NOW
        ),
        TxError::ExpiryTooFar {
            expires_at: NOW_S + MAX_EXPIRY + 1,
            now: NOW_S,
            max_secs: MAX_EXPIRY
        }
    );
    assert!(chain.mempool().is_empty());

    // The boundaries themselves are admitted.
    let far = admit(
        &mut chain,
        sign(TxBody {
            expires_at: NOW_S + MAX_EXPIRY,
            ..body(&key, to, 1, 0)
        }),
    );
    let future = admit(&mut chain, transfer(&key, to, 1, max_gap - 1));
    assert_eq!(chain.mempool().len(), 2);
    assert_eq!(
        chain.pending_nonce(&me),
        1,
        "a future nonce does not move the next one"
    );
    assert_eq!(chain.tx_status(&far), TxStatus::Pending);
    chain
        .check_and_admit(
            sign(TxBody {
                expires_at: NOW_S,
                ..body(&key, to, 1, 1)
            }),
            NOW,
        )
        .unwrap();
    assert_eq!(chain.pending_nonce(&me), 2);

    // Known and taken.
    let known = chain.mempool().get(&far).copied().unwrap();
    assert_eq!(refused(&mut chain, known, NOW), TxError::AlreadyKnown(far));
    assert_eq!(
        refused(&mut chain, transfer(&key, to, 2, max_gap - 1), NOW),
        TxError::NonceTaken {
            nonce: max_gap - 1,
            by: future
        }
    );
    // Funds are counted against the sender's other pending spends.
    let spent = 1 + MIN_FEE + 1 + MIN_FEE + 1 + MIN_FEE;
    assert_eq!(
        refused(
            &mut chain,
            transfer(&key, to, DEV_BALANCE - spent - MIN_FEE + 1, 2),
            NOW
        ),
        TxError::InsufficientFunds {
            balance: DEV_BALANCE - spent,
            needed: DEV_BALANCE - spent + 1
        }
    );
    admit(
        &mut chain,
        transfer(&key, to, DEV_BALANCE - spent - MIN_FEE, 2),
    );

    // Still known once in a block, and once accepted; a new transfer with a used nonce is too low.
    let block = chain.build_block(NOW).unwrap();
    assert_eq!(block.block.txs.len(), 3);
    assert_eq!(refused(&mut chain, known, NOW), TxError::AlreadyKnown(far));
    chain.accept_block(block.id).unwrap();
    assert_eq!(refused(&mut chain, known, NOW), TxError::AlreadyKnown(far));
    assert_eq!(
        refused(&mut chain, transfer(&dev(0), to, 77, 1), NOW),
        TxError::NonceTooLow {
            expected: 3,
            got: 1
        }
    );
    // What is left is exactly the cost of the far-future transfer still pending.
    assert_eq!(chain.account(&me).balance, 1 + MIN_FEE);
    assert_eq!(
        chain.mempool().len(),
        1,
        "only the far-future nonce is left"
    );
}

#[test]
fn admission_refuses_when_the_mempool_is_full() {
    let to = addr(&fresh(1));
    let limits = |max_txs, max_bytes, max_per_sender| {
        let mut c = config();
        c.mempool = MempoolLimits {
            max_txs,
            max_bytes,
            max_per_sender,
            max_nonce_gap: 16,
        };
        c
    };
    let full = |e: TxError| assert!(matches!(e, TxError::MempoolFull(_)), "{e:?}");

    // Count.
    let mut chain = open_with(LOCAL_GENESIS_JSON, limits(2, 1 << 20, 8));
    admit(&mut chain, transfer(&dev(0), to, 1, 0));
    admit(&mut chain, transfer(&dev(1), to, 1, 0));
    full(refused(&mut chain, transfer(&dev(2), to, 1, 0), NOW));
    full(refused(&mut chain, transfer(&dev(0), to, 1, 1), NOW));

    // Bytes.
    let mut chain = open_with(LOCAL_GENESIS_JSON, limits(100, 2 * SIGNED_TX_LEN + 10, 8));
    admit(&mut chain, transfer(&dev(0), to, 1, 0));
    admit(&mut chain, transfer(&dev(1), to, 1, 0));
    full(refused(&mut chain, transfer(&dev(2), to, 1, 0), NOW));

    // Per sender: the sender is refused, others are not.
    let mut chain = open_with(LOCAL_GENESIS_JSON, limits(100, 1 << 20, 2));
    admit(&mut chain, transfer(&dev(0), to, 1, 0));
    admit(&mut chain, transfer(&dev(0), to, 1, 1));
    full(refused(&mut chain, transfer(&dev(0), to, 1, 2), NOW));
    admit(&mut chain, transfer(&dev(1), to, 1, 0));
    // Room again once a block takes the sender's transfers.
    let block = chain.build_block(NOW).unwrap();
    assert_eq!(block.block.txs.len(), 3);
    chain.set_preference(block.id).unwrap();
    admit(&mut chain, transfer(&dev(0), to, 1, 2));
}

// ----- 6. restart -----

#[test]
fn a_chain_reopened_on_its_store_resumes_where_it_was() {
    let store = Arc::new(MemoryStore::default());
    let mut chain = Chain::open(store.clone(), LOCAL_GENESIS_JSON.as_bytes(), config()).unwrap();
    let mut blocks = vec![chain.last_accepted().clone()];
    let mut accepted = Vec::new();
    let to = addr(&fresh(1));
    for height in 1..=3u64 {
        for i in 0..3u32 {
            let tx = transfer(&dev(i), to, height * 10 + u64::from(i), height - 1);
            accepted.push((admit(&mut chain, tx), height));
        }
        let block = chain.build_block(NOW + height * 1_000).unwrap();
        chain.accept_block(block.id).unwrap();
        blocks.push(block);
    }
    // Something pending and something processing are not persisted; that is fine.
    admit(&mut chain, transfer(&dev(3), to, 1, 0));
    let processing = chain.build_block(NOW + 4_000).unwrap();
    admit(&mut chain, transfer(&dev(4), to, 1, 0));

    let addresses: Vec<Address> = (0..5).map(|i| addr(&dev(i))).chain([to]).collect();
    let accounts: Vec<Account> = addresses.iter().map(|a| chain.account(a)).collect();
    let nonces: Vec<u64> = addresses.iter().map(|a| chain.pending_nonce(a)).collect();
    let (last, burned, digest) = (
        chain.last_accepted().clone(),
        chain.burned(),
        chain.recompute_digest(),
    );
    let count = chain.account_count();
    drop(chain);

    let chain = Chain::open(store.clone(), LOCAL_GENESIS_JSON.as_bytes(), config()).unwrap();
    assert_eq!(*chain.last_accepted(), last);
    assert_eq!(chain.preferred(), last.id);
    assert_eq!(chain.burned(), burned);
    assert_eq!(chain.burned(), 9 * MIN_FEE);
    assert_eq!(chain.recompute_digest(), digest);
    assert_eq!(chain.account_count(), count);
    check_accepted_state(&chain);
    for (address, account) in addresses.iter().zip(&accounts) {
        assert_eq!(chain.account(address), *account);
    }
    for (i, address) in addresses.iter().enumerate().take(3) {
        assert_eq!(chain.pending_nonce(address), nonces[i]);
        assert_eq!(chain.pending_nonce(address), 3);
    }
    assert_eq!(chain.pending_nonce(&addresses[3]), 0);
    for (id, height) in &accepted {
        let block = &blocks[*height as usize];
        assert_eq!(chain.tx_status(id), accepted_at(block));
        assert!(chain.find_tx(id).is_some());
    }
    for block in &blocks {
        assert_eq!(chain.get_block(&block.id).unwrap().as_ref(), Some(block));
        assert_eq!(
            chain.block_id_at_height(block.block.height).unwrap(),
            Some(block.id)
        );
    }
    assert_eq!(chain.block_id_at_height(4).unwrap(), None);
    assert_eq!(chain.get_block(&processing.id).unwrap(), None);
    assert!(chain.mempool().is_empty());
    drop(chain);

    // Another chain ID or another genesis on the same store: refused, with a clear message.
    let err = Chain::open(
        store.clone(),
        LOCAL_GENESIS_JSON.as_bytes(),
        ChainConfig::new(NETWORK, Id([1; 32])),
    )
    .err()
    .expect("other chain id");
    assert!(matches!(err, OpenError::OtherChain(_)), "{err}");
    assert!(err.to_string().contains("another chain"), "{err}");
    let other_allocations = LOCAL_GENESIS_JSON.replacen("\"1000000000000000000\"", "\"1\"", 1);
    assert_ne!(other_allocations, LOCAL_GENESIS_JSON);
    let err = Chain::open(store.clone(), other_allocations.as_bytes(), config())
        .err()
        .expect("other genesis");
    assert!(matches!(err, OpenError::OtherGenesis { .. }), "{err}");
    assert!(err.to_string().contains("fresh data directory"), "{err}");
    // A genesis that differs only in its parameters is another chain as well.
    let other_params = genesis_with_caps(10, 1_500_000);
    let err = Chain::open(store.clone(), other_params.as_bytes(), config())
        .err()
        .expect("other genesis parameters");
    assert!(matches!(err, OpenError::OtherParams), "{err}");
    assert!(err.to_string().contains("genesis parameters"), "{err}");

    // The refusals left the store usable.
    let chain = Chain::open(store.clone(), LOCAL_GENESIS_JSON.as_bytes(), config()).unwrap();
    assert_eq!(chain.last_accepted().id, last.id);
    drop(chain);

    // A store whose state was changed behind the chain's back.
    let mut key = b"a/".to_vec();
    key.extend_from_slice(&to.0);
    assert!(store.get(&key).unwrap().is_some(), "account key layout");
    let tampered = Account {
        balance: accounts[5].balance + 1,
        ..accounts[5]
    };
    let mut batch = WriteBatch::default();
    batch.put(key, tampered.to_bytes().to_vec());
    store.write(batch).unwrap();
    let err = Chain::open(store, LOCAL_GENESIS_JSON.as_bytes(), config())
        .err()
        .expect("tampered store");
    assert!(matches!(err, OpenError::Corrupt(_)), "{err}");
    assert!(err.to_string().contains("digest"), "{err}");
}

#[test]
fn a_restart_on_a_reformatted_genesis_derives_it_again_and_agrees() {
    let store = Arc::new(MemoryStore::default());
    let mut chain = Chain::open(store.clone(), LOCAL_GENESIS_JSON.as_bytes(), config()).unwrap();
    let supply = chain.supply();
    let tx = admit(&mut chain, transfer(&dev(0), addr(&fresh(2)), 5, 0));
    let block = chain.build_block(NOW).unwrap();
    chain.accept_block(block.id).unwrap();
    drop(chain);
    // Same document, other bytes: not the stored hash, so it is parsed and derived in full,
    // and must name the same genesis block.
    let reformatted = serde_json::to_vec_pretty(
        &serde_json::from_str::<serde_json::Value>(LOCAL_GENESIS_JSON).unwrap(),
    )
    .unwrap();
    assert_ne!(reformatted, LOCAL_GENESIS_JSON.as_bytes());
    for genesis in [
        &reformatted[..],
        &reformatted[..],
        LOCAL_GENESIS_JSON.as_bytes(),
    ] {
        let mut facts = None;
        let chain = Chain::open_with(store.clone(), genesis, |f| {
            facts = Some(*f);
            config()
        })
        .unwrap();
        assert_eq!(
            facts,
            Some(GenesisFacts {
                network_id: NETWORK,
                genesis_id: derived_genesis_id(genesis)
            })
        );
        assert_eq!(chain.last_accepted().id, block.id);
        assert_eq!(chain.supply(), supply);
        assert_eq!(chain.tx_status(&tx), accepted_at(&block));
        check_accepted_state(&chain);
    }
    // A store that lost what the quick path reads is reported, not guessed around.
    let mut batch = WriteBatch::default();
    batch.put(b"m/supply".to_vec(), b"short".to_vec());
    store.write(batch).unwrap();
    let err = Chain::open(store, LOCAL_GENESIS_JSON.as_bytes(), config())
        .err()
        .expect("damaged supply");
    assert!(matches!(err, OpenError::Corrupt(_)), "{err}");
    assert!(err.to_string().contains("corrupt"), "{err}");
}

/// The genesis block ID of a document, derived in full.
fn derived_genesis_id(genesis: &[u8]) -> Id {
    crate::chain::genesis::Genesis::from_json(genesis)
        .and_then(crate::chain::genesis::Genesis::into_state)
        .unwrap()
        .block
        .id
}

// ----- 7. expiry -----

#[test]
fn expired_pending_transfers_are_dropped_at_the_next_build() {
    let to = addr(&fresh(1));
    let mut chain = open();
    let soon = |key: &SigningKey, expires_at: u64| {
        TxBody {
            expires_at,
            ..body(key, to, 1, 0)
        }
        .sign(key)
    };
    let short = admit(&mut chain, soon(&dev(0), NOW_S + 5));
    let edge = admit(&mut chain, soon(&dev(1), NOW_S + 10));
    let long = admit(&mut chain, soon(&dev(2), NOW_S + 60));
    // At exactly the expiry second the transfer is still valid; a millisecond later it is not.
    let block = chain.build_block((NOW_S + 10) * 1_000 + 1).unwrap();
    assert_eq!(block.block.txs.len(), 1);
    assert_eq!(block.block.txs[0].id(), long);
    for id in [short, edge] {
        assert!(
            matches!(chain.tx_status(&id), TxStatus::Dropped { .. }),
            "{:?}",
            chain.tx_status(&id)
        );
        assert!(!chain.mempool().contains(&id));
    }
    assert!(chain.mempool().is_empty());
    assert_eq!(chain.pending_nonce(&addr(&dev(0))), 0);

    // The boundary itself is included; an expired-only pool builds nothing.
    let mut chain = open();
    let edge = admit(&mut chain, soon(&dev(1), NOW_S + 10));
    let block = chain.build_block((NOW_S + 10) * 1_000).unwrap();
    assert_eq!(block.block.txs[0].id(), edge);
    chain.accept_block(block.id).unwrap();
    let gone = admit(&mut chain, soon(&dev(0), NOW_S + 20));
    assert_eq!(
        chain.build_block(NOW + 21_000),
        Err(BlockError::NothingToBuild)
    );
    assert!(matches!(chain.tx_status(&gone), TxStatus::Dropped { .. }));
    assert!(chain.mempool().is_empty());
    // And it can be sent again with a new expiry.
    chain
        .check_and_admit(soon(&dev(0), NOW_S + 100), NOW + 21_000)
        .unwrap();
}

#[test]
fn a_rejected_block_returns_only_unexpired_transfers() {
    let to = addr(&fresh(1));
    let mut chain = open();
    let short = TxBody {
        expires_at: NOW_S + 5,
        ..body(&dev(0), to, 1, 0)
    }
    .sign(&dev(0));
    let long = transfer(&dev(1), to, 1, 0);
    admit(&mut chain, short);
    admit(&mut chain, long);
    let block = chain.build_block(NOW).unwrap();
    assert_eq!(block.block.txs.len(), 2);
    chain.reject_block(block.id, NOW + 6_000).unwrap();
    assert!(matches!(
        chain.tx_status(&short.id()),
        TxStatus::Rejected { .. }
    ));
    assert_eq!(chain.tx_status(&long.id()), TxStatus::Pending);
    assert_eq!(chain.mempool().len(), 1);
    assert_eq!(chain.preferred(), chain.genesis_id());
}

// ----- 2. property tests -----

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
        let mut config = config();
        config.mempool = MempoolLimits {
            max_txs: 48,
            max_bytes: 48 * SIGNED_TX_LEN,
            max_per_sender: 6,
            max_nonce_gap: 5,
        };
        let keys: Vec<SigningKey> = (0..5)
            .map(dev)
            .chain((0..(KEYS - 5) as u8).map(fresh))
            .collect();
        let mut recipients: Vec<Address> = keys.iter().map(addr).collect();
        recipients.push(Address([0xee; 32]));
        let model = (0..5)
            .map(|i| {
                (
                    addr(&dev(i)),
                    Account {
                        balance: DEV_BALANCE,
                        nonce: 0,
                    },
                )
            })
            .collect();
        // Small blocks, so pools often hold more than one block's worth.
        let genesis = genesis_with_caps(6, 1_500_000);
        Net {
            keys,
            recipients,
            nodes: (0..3)
                .map(|_| open_with(&genesis, config.clone()))
                .collect(),
            now: NOW,
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
        let from = addr(key);
        let chain = &mut self.nodes[*node];
        let next = chain.pending_nonce(&from);
        let balance = chain.account(&from).balance;
        let body = TxBody {
            version: TX_VERSION,
            network_id: NETWORK,
            chain_id: CHAIN_ID,
            from,
            to: self.recipients[*to],
            amount: match amount {
                Amount::Small(a) | Amount::Any(a) => *a,
                Amount::All => balance.saturating_sub(*fee),
                Amount::Overflowing => u64::MAX - fee / 2,
            },
            fee: *fee,
            nonce: match nonce {
                Nonce::Next => next,
                Nonce::Replay(back) => next.saturating_sub(*back),
                Nonce::Gap(ahead) => next + ahead,
            },
            expires_at: (self.now / 1000).saturating_add_signed(*expires_in),
        };
        let tx = body.sign(key);
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
                check_accepted_state(chain);
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
            check_accepted_state(chain);
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
    let mut late = open_with(&genesis_with_caps(6, 1_500_000), config());
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

#[test]
fn an_orphaned_block_the_host_never_rejects_gives_its_transfers_back() {
    // Y builds B, then C on B; the host never issued C (B was decided while C was built), so
    // it will reject B but never C. X's A wins. Without the sweep, t2 (nonce 1) stayed
    // processing in C for ever and every later transfer of that sender waited behind it.
    let mut x = open();
    let mut y = open();
    let t0 = transfer(&dev(0), addr(&fresh(1)), 1_000, 0);
    let t1 = transfer(&dev(1), addr(&fresh(2)), 2_000, 0);
    let t2 = transfer(&dev(1), addr(&fresh(2)), 3_000, 1);
    admit(&mut x, t0);
    admit(&mut y, t1);
    let b = y.build_block(NOW).unwrap();
    y.set_preference(b.id).unwrap();
    admit(&mut y, t2);
    let c = y.build_block(NOW).unwrap();
    assert_eq!(c.block.parent_id, b.id);
    let a = x.build_block(NOW).unwrap();
    deliver(&mut y, &a, NOW).unwrap();
    assert_eq!(y.processing_count(), 3);

    y.accept_block(a.id).unwrap();
    assert_eq!(
        y.reject_stale(NOW),
        2,
        "B (height 1) and then C (parent gone)"
    );
    assert_eq!(y.processing_count(), 0);
    // The host's own Reject of B comes after, and is harmless.
    y.reject_block(b.id, NOW).unwrap();
    assert_eq!(y.reject_stale(NOW), 0);
    for t in [t1, t2] {
        assert_eq!(y.tx_status(&t.id()), TxStatus::Pending);
        assert!(y.mempool().contains(&t.id()));
    }
    let next = y.build_block(NOW).unwrap();
    assert_eq!(next.block.parent_id, a.id);
    assert_eq!(next.block.txs, vec![t1, t2]);
}
