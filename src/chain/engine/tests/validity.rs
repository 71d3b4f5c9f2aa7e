//! Block validity rules, one test a rule: what a verifier refuses (and that a refusal keeps
//! nothing), the bounds it still accepts, and accepting blocks only in order.

use super::{admit, altered, craft, deliver, unfunded, VerifyHere};
use crate::chain::engine::MAX_BLOCK_SKEW_MS;
use crate::chain::{BlockError, Chain, Id, SealedBlock, SignatureProof, SignedTx, TxError};
use crate::keys::dev_key;
use crate::test_utils::{
    assert_accepted_invariants, open_chain, unfunded_key, Transfer, MIN_FEE, NOW_MS,
};

/// Dev 0's first two transfers to [`unfunded`] 1 (amounts 10 and 11, nonces 0 and 1), block A
/// holding the first on genesis and A's child holding the second; and a chain that has seen
/// none of it.
struct Line {
    t0: SignedTx,
    t1: SignedTx,
    a: SealedBlock,
    a_child: SealedBlock,
    chain: Chain,
}

fn line() -> Line {
    let t0 = Transfer::from_dev(0).to(unfunded(1)).amount(10).sign();
    let t1 = Transfer::from_dev(0)
        .to(unfunded(1))
        .amount(11)
        .nonce(1)
        .sign();
    let mut builder = open_chain();
    admit(&mut builder, t0);
    let a = builder.build_block(NOW_MS).unwrap();
    builder.set_preference(a.id).unwrap();
    admit(&mut builder, t1);
    let a_child = builder.build_block(NOW_MS + 1_000).unwrap();
    assert_eq!(a_child.block.parent_id, a.id);
    Line {
        t0,
        t1,
        a,
        a_child,
        chain: open_chain(),
    }
}

/// A chain that accepted `blocks` in order, each delivered at `now_ms`.
fn accepted_through(blocks: &[&SealedBlock], now_ms: u64) -> Chain {
    let mut chain = open_chain();
    for block in blocks {
        deliver(&mut chain, block, now_ms).unwrap();
        chain.accept_block(block.id).unwrap();
    }
    chain
}

/// Verifies `block` on `chain`, which must refuse it and keep nothing of it; returns the error.
fn invalid(chain: &mut Chain, block: SealedBlock, now_ms: u64) -> BlockError {
    let processing = chain.processing_count();
    let err = chain.verify(block, now_ms).expect_err("must be invalid");
    assert_eq!(
        chain.processing_count(),
        processing,
        "a refusal leaves nothing behind"
    );
    err
}

/// The error of a block whose transfer `tx` at `index` replays nonce `got` where the sender's
/// next nonce is `expected`.
fn nonce_too_low(index: usize, tx: &SignedTx, expected: u64, got: u64) -> BlockError {
    let error = TxError::NonceTooLow { expected, got };
    BlockError::InvalidTx {
        index,
        id: tx.id(),
        error,
    }
}

/// The transfer error a block was refused for.
fn tx_error(err: BlockError) -> TxError {
    match err {
        BlockError::InvalidTx { error, .. } => error,
        other => panic!("not refused for a transfer: {other:?}"),
    }
}

/// The error of a block on genesis (with A's digest) holding `txs`, on a fresh chain.
fn invalid_with_txs(txs: Vec<SignedTx>) -> BlockError {
    let Line { a, mut chain, .. } = line();
    let block = craft(chain.genesis_id(), 1, NOW_MS, txs, a.block.state_digest);
    invalid(&mut chain, block, NOW_MS)
}

#[test]
fn a_block_on_an_unknown_parent_is_refused() {
    let Line { a, mut chain, .. } = line();
    let orphan = altered(&a, |b| b.parent_id = Id([9; 32]));
    assert_eq!(
        invalid(&mut chain, orphan, NOW_MS),
        BlockError::UnknownParent(Id([9; 32]))
    );
}

#[test]
fn a_block_at_the_wrong_height_is_refused() {
    let Line { a, mut chain, .. } = line();
    for height in [0, 2] {
        assert_eq!(
            invalid(&mut chain, altered(&a, |b| b.height = height), NOW_MS),
            BlockError::WrongHeight {
                expected: 1,
                got: height
            }
        );
    }
}

#[test]
fn a_block_more_than_the_skew_ahead_of_local_time_is_refused() {
    let Line { a, mut chain, .. } = line();
    let ahead = NOW_MS + MAX_BLOCK_SKEW_MS + 1;
    assert_eq!(
        invalid(&mut chain, altered(&a, |b| b.timestamp_ms = ahead), NOW_MS),
        BlockError::BadTimestamp {
            got: ahead,
            min: 0,
            max: NOW_MS + MAX_BLOCK_SKEW_MS
        }
    );
}

#[test]
fn a_block_exactly_the_skew_ahead_is_valid_beside_its_sibling_and_child() {
    let Line {
        a,
        a_child,
        mut chain,
        ..
    } = line();
    let at_bound = altered(&a, |b| b.timestamp_ms = NOW_MS + MAX_BLOCK_SKEW_MS);
    chain.verify(at_bound, NOW_MS).unwrap();
    assert_eq!(chain.processing_count(), 1);
    deliver(&mut chain, &a, NOW_MS).unwrap();
    assert_eq!(chain.processing_count(), 2);
    deliver(&mut chain, &a_child, NOW_MS + 1_000).unwrap();
    assert_eq!(chain.processing_count(), 3);
}

#[test]
fn an_empty_block_is_malformed() {
    let err = invalid_with_txs(vec![]);
    assert!(matches!(err, BlockError::Malformed(_)), "{err:?}");
}

#[test]
fn a_forged_signature_makes_the_block_invalid() {
    let mut forged = line().t0;
    forged.signature[10] ^= 1;
    assert_eq!(
        invalid_with_txs(vec![forged]),
        BlockError::InvalidTx {
            index: 0,
            id: forged.id(),
            error: TxError::BadSignature
        }
    );
}

#[test]
fn a_transfer_edited_after_signing_later_in_the_block_makes_it_invalid() {
    let Line { t0, t1, .. } = line();
    let mut edited = t1;
    edited.body.amount += 1;
    assert_eq!(
        invalid_with_txs(vec![t0, edited]),
        BlockError::InvalidTx {
            index: 1,
            id: edited.id(),
            error: TxError::BadSignature
        }
    );
}

#[test]
fn a_transfer_signed_by_a_key_other_than_its_sender_makes_the_block_invalid() {
    let impostor = Transfer::from_dev(0)
        .to(unfunded(1))
        .body()
        .sign(&dev_key(1));
    let err = tx_error(invalid_with_txs(vec![impostor]));
    assert!(matches!(err, TxError::BadSignature), "{err:?}");
}

#[test]
fn the_same_transfer_twice_in_a_block_is_invalid() {
    let t0 = line().t0;
    assert_eq!(invalid_with_txs(vec![t0, t0]), nonce_too_low(1, &t0, 1, 0));
}

#[test]
fn a_transfer_for_another_chain_makes_the_block_invalid() {
    let wrong_chain = Transfer::from_dev(0).to(unfunded(1)).chain(Id([1; 32]));
    let err = tx_error(invalid_with_txs(vec![wrong_chain.sign()]));
    assert!(matches!(err, TxError::WrongChain { .. }), "{err:?}");
}

#[test]
fn a_fee_below_the_minimum_makes_the_block_invalid() {
    let cheap = Transfer::from_dev(0).to(unfunded(1)).fee(MIN_FEE - 1);
    let err = tx_error(invalid_with_txs(vec![cheap.sign()]));
    assert!(matches!(err, TxError::FeeTooLow { .. }), "{err:?}");
}

#[test]
fn an_expired_transfer_makes_the_block_invalid() {
    let stale = Transfer::from_dev(0)
        .to(unfunded(1))
        .expires_at(NOW_MS / 1000 - 1);
    let err = tx_error(invalid_with_txs(vec![stale.sign()]));
    assert!(matches!(err, TxError::Expired { .. }), "{err:?}");
}

#[test]
fn a_sender_without_the_funds_makes_the_block_invalid() {
    let broke = Transfer::from_key(&unfunded_key(7)).to(unfunded(1)).sign();
    let err = tx_error(invalid_with_txs(vec![broke]));
    assert!(matches!(err, TxError::InsufficientFunds { .. }), "{err:?}");
}

#[test]
fn a_wrong_state_digest_makes_the_block_invalid() {
    let Line { a, mut chain, .. } = line();
    let wrong_digest = altered(&a, |b| b.state_digest = Id([3; 32]));
    assert_eq!(
        invalid(&mut chain, wrong_digest, NOW_MS),
        BlockError::DigestMismatch {
            claimed: Id([3; 32]),
            computed: a.block.state_digest
        }
    );
}

#[test]
fn blocks_are_accepted_only_in_order_and_only_when_known() {
    let Line {
        a,
        a_child,
        mut chain,
        ..
    } = line();
    deliver(&mut chain, &a, NOW_MS).unwrap();
    deliver(&mut chain, &a_child, NOW_MS + 1_000).unwrap();
    assert_eq!(
        chain.accept_block(a_child.id),
        Err(BlockError::NotNextToAccept(a_child.id))
    );
    assert_eq!(
        chain.accept_block(Id([4; 32])),
        Err(BlockError::NotFound(Id([4; 32])))
    );
    assert_eq!(chain.last_accepted().id, chain.genesis_id());
    chain.accept_block(a.id).unwrap();
    chain.accept_block(a_child.id).unwrap();
    assert_accepted_invariants(&chain);
}

#[test]
fn a_sibling_of_an_accepted_block_can_be_neither_accepted_nor_built_on() {
    let Line {
        a,
        a_child,
        mut chain,
        ..
    } = line();
    let sibling = altered(&a, |b| b.timestamp_ms = NOW_MS + MAX_BLOCK_SKEW_MS);
    chain.verify(sibling.clone(), NOW_MS).unwrap();
    deliver(&mut chain, &a, NOW_MS).unwrap();
    chain.accept_block(a.id).unwrap();
    assert_eq!(
        chain.accept_block(sibling.id),
        Err(BlockError::NotNextToAccept(sibling.id))
    );
    let on_dead_branch = altered(&a_child, |b| b.parent_id = sibling.id);
    assert_eq!(
        invalid(&mut chain, on_dead_branch.clone(), NOW_MS + 1_000),
        BlockError::UnknownParent(sibling.id)
    );
    chain.reject_block(sibling.id, NOW_MS).unwrap();
    assert_eq!(
        invalid(&mut chain, on_dead_branch, NOW_MS + 1_000),
        BlockError::UnknownParent(sibling.id)
    );
}

#[test]
fn replaying_an_accepted_transfer_on_top_of_its_block_is_invalid() {
    let Line { t0, a, .. } = line();
    let mut chain = accepted_through(&[&a], NOW_MS);
    let replay = craft(a.id, 2, NOW_MS + 1_000, vec![t0], a.block.state_digest);
    assert_eq!(
        invalid(&mut chain, replay, NOW_MS + 1_000),
        nonce_too_low(0, &t0, 1, 0)
    );
}

#[test]
fn replaying_an_accepted_transfer_further_down_the_chain_is_invalid() {
    let Line { t1, a, a_child, .. } = line();
    let mut chain = accepted_through(&[&a, &a_child], NOW_MS + 1_000);
    assert_accepted_invariants(&chain);
    let replay = craft(
        a_child.id,
        3,
        NOW_MS + 2_000,
        vec![t1],
        a.block.state_digest,
    );
    assert_eq!(
        invalid(&mut chain, replay, NOW_MS + 2_000),
        nonce_too_low(0, &t1, 2, 1)
    );
}

#[test]
fn a_child_replaying_its_processing_parent_is_invalid() {
    let t0 = Transfer::from_dev(2).to(unfunded(1)).amount(10).sign();
    let mut builder = open_chain();
    admit(&mut builder, t0);
    let a = builder.build_block(NOW_MS).unwrap();
    let mut chain = open_chain();
    deliver(&mut chain, &a, NOW_MS).unwrap();
    assert_eq!(
        invalid(
            &mut chain,
            craft(a.id, 2, NOW_MS, vec![t0], a.block.state_digest),
            NOW_MS
        ),
        nonce_too_low(0, &t0, 1, 0)
    );
}

#[test]
fn a_timestamp_before_the_parents_is_refused_and_an_equal_one_is_valid() {
    let Line { a, a_child, .. } = line();
    let mut builder = accepted_through(&[&a, &a_child], NOW_MS + 1_000);
    let t2 = Transfer::from_dev(0)
        .to(unfunded(1))
        .amount(12)
        .nonce(2)
        .sign();
    admit(&mut builder, t2);
    let next = builder.build_block(NOW_MS + 1_000).unwrap();
    assert_eq!(next.block.timestamp_ms, NOW_MS + 1_000);
    let mut chain = accepted_through(&[&a, &a_child], NOW_MS + 1_000);
    assert_eq!(
        invalid(
            &mut chain,
            altered(&next, |b| b.timestamp_ms = NOW_MS + 999),
            NOW_MS + 1_000
        ),
        BlockError::BadTimestamp {
            got: NOW_MS + 999,
            min: NOW_MS + 1_000,
            max: NOW_MS + 1_000 + MAX_BLOCK_SKEW_MS
        }
    );
    deliver(&mut chain, &next, NOW_MS + 1_000).unwrap();
}

#[test]
fn recording_a_checked_block_checks_every_signature_no_proof_covers() {
    // A block whose state is right but whose transfer's signature is forged: the state checks
    // pass, and recording it with an empty proof must still find the forgery.
    let mut builder = open_chain();
    admit(&mut builder, Transfer::from_dev(0).to(unfunded(1)).sign());
    let honest = builder.build_block(NOW_MS).unwrap();
    let forged = altered(&honest, |b| b.txs[0].signature[0] ^= 1);
    let mut chain = open_chain();
    let checked = chain
        .check_block(&forged, NOW_MS)
        .expect("its state is right");
    let err = chain
        .record_verified(forged, checked, SignatureProof::default())
        .unwrap_err();
    assert_eq!(err.reason(), "bad_signature", "{err}");
    assert_eq!(chain.processing_count(), 0);
}
