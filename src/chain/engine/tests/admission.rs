//! Mempool admission, one test a rule: every error a wallet's transfer can be refused with
//! (leaving the chain as it was, and `simulate` agreeing), and the boundaries that are still
//! admitted.

use super::{admit, refused, unfunded};
use crate::chain::tx::address_of;
use crate::chain::{Chain, Id, SignedTx, TxError, TxStatus};
use crate::keys::dev_key;
use crate::test_utils::{
    chain_config, open_chain, unfunded_key, Transfer, CHAIN_ID, DEV_BALANCE, MAX_EXPIRY_SECS,
    MIN_FEE, NETWORK_ID, NOW_MS,
};

const NOW_S: u64 = NOW_MS / 1000;

/// A transfer from dev key 0 to [`unfunded`] 1, with the test chain's defaults otherwise.
fn send() -> Transfer {
    Transfer::from_dev(0).to(unfunded(1))
}

/// The mempool's default nonce gap: the furthest ahead a nonce may be, exclusive.
fn max_gap() -> u64 {
    chain_config().mempool.max_nonce_gap
}

/// [`send`] expiring as far ahead as the genesis allows.
fn furthest_expiry() -> SignedTx {
    send().expires_at(NOW_S + MAX_EXPIRY_SECS).sign()
}

/// What a fresh chain says to `tx` at `now_ms`: it must refuse it and keep nothing.
fn refused_by_a_fresh_chain(tx: SignedTx, now_ms: u64) -> TxError {
    let mut chain = open_chain();
    let err = refused(&mut chain, tx, now_ms);
    assert!(chain.mempool().is_empty());
    err
}

#[test]
fn an_admitted_signature_is_remembered_until_its_block_is_accepted() {
    let mut chain = open_chain();
    let id = admit(&mut chain, send().sign());
    assert!(
        chain.is_signature_verified(&id),
        "checked once, at admission"
    );
    let block = chain.build_block(NOW_MS).unwrap();
    chain.accept_block(block.id).unwrap();
    assert!(!chain.is_signature_verified(&id), "forgotten once accepted");
}

#[test]
fn admission_refuses_an_unknown_format_version() {
    let e = refused_by_a_fresh_chain(send().version(2).sign(), NOW_MS);
    assert!(matches!(e, TxError::Malformed(_)), "{e:?}");
}

#[test]
fn admission_refuses_a_wrong_network() {
    assert_eq!(
        refused_by_a_fresh_chain(send().network(1).sign(), NOW_MS),
        TxError::WrongNetwork {
            expected: NETWORK_ID,
            got: 1
        }
    );
}

#[test]
fn admission_refuses_a_wrong_chain() {
    assert_eq!(
        refused_by_a_fresh_chain(send().chain(Id([1; 32])).sign(), NOW_MS),
        TxError::WrongChain {
            expected: CHAIN_ID,
            got: Id([1; 32])
        }
    );
}

#[test]
fn admission_refuses_a_forged_signature() {
    let mut forged = send().sign();
    forged.signature[0] ^= 0x80;
    assert_eq!(
        refused_by_a_fresh_chain(forged, NOW_MS),
        TxError::BadSignature
    );
}

#[test]
fn admission_refuses_a_transfer_signed_by_a_key_other_than_its_sender() {
    let impostor = send().body().sign(&dev_key(1));
    assert_eq!(
        refused_by_a_fresh_chain(impostor, NOW_MS),
        TxError::BadSignature
    );
}

#[test]
fn admission_refuses_a_fee_below_the_minimum() {
    assert_eq!(
        refused_by_a_fresh_chain(send().fee(MIN_FEE - 1).sign(), NOW_MS),
        TxError::FeeTooLow {
            min: MIN_FEE,
            got: MIN_FEE - 1
        }
    );
}

#[test]
fn admission_refuses_an_amount_that_overflows_with_its_fee() {
    let tx = send().amount(u64::MAX - MIN_FEE + 1).sign();
    assert_eq!(
        refused_by_a_fresh_chain(tx, NOW_MS),
        TxError::AmountOverflow
    );
}

#[test]
fn admission_refuses_a_sender_without_the_funds() {
    let tx = send().amount(DEV_BALANCE - MIN_FEE + 1).sign();
    assert_eq!(
        refused_by_a_fresh_chain(tx, NOW_MS),
        TxError::InsufficientFunds {
            balance: DEV_BALANCE,
            needed: DEV_BALANCE + 1
        }
    );
}

#[test]
fn admission_refuses_an_unfunded_sender_even_for_nothing() {
    let tx = Transfer::from_key(&unfunded_key(5))
        .to(unfunded(1))
        .amount(0)
        .sign();
    assert_eq!(
        refused_by_a_fresh_chain(tx, NOW_MS),
        TxError::InsufficientFunds {
            balance: 0,
            needed: MIN_FEE
        }
    );
}

#[test]
fn admission_refuses_a_nonce_too_far_ahead() {
    assert_eq!(
        refused_by_a_fresh_chain(send().nonce(max_gap()).sign(), NOW_MS),
        TxError::NonceGap {
            expected: 0,
            got: max_gap()
        }
    );
}

#[test]
fn a_nonce_just_inside_the_gap_is_admitted_without_moving_the_next_one() {
    let mut chain = open_chain();
    let future = admit(&mut chain, send().nonce(max_gap() - 1).sign());
    assert_eq!(chain.mempool().len(), 1);
    assert_eq!(chain.tx_status(&future), TxStatus::Pending);
    assert_eq!(
        chain.pending_nonce(&address_of(&dev_key(0))),
        0,
        "a future nonce does not move the next one"
    );
}

#[test]
fn admission_refuses_an_expired_transfer() {
    assert_eq!(
        refused_by_a_fresh_chain(send().expires_at(NOW_S - 1).sign(), NOW_MS),
        TxError::Expired {
            expires_at: NOW_S - 1,
            now: NOW_S
        }
    );
}

#[test]
fn a_transfer_that_expired_a_fraction_of_a_second_ago_is_refused() {
    let e = refused_by_a_fresh_chain(send().expires_at(NOW_S).sign(), NOW_MS + 1);
    assert!(matches!(e, TxError::Expired { .. }), "{e:?}");
}

#[test]
fn admission_refuses_an_expiry_too_far_ahead() {
    let expires_at = NOW_S + MAX_EXPIRY_SECS + 1;
    assert_eq!(
        refused_by_a_fresh_chain(send().expires_at(expires_at).sign(), NOW_MS),
        TxError::ExpiryTooFar {
            expires_at,
            now: NOW_S,
            max_secs: MAX_EXPIRY_SECS
        }
    );
}

#[test]
fn the_furthest_and_the_nearest_expiry_are_admitted() {
    let mut chain = open_chain();
    let far = admit(&mut chain, furthest_expiry());
    assert_eq!(chain.tx_status(&far), TxStatus::Pending);
    let near = admit(&mut chain, send().nonce(1).expires_at(NOW_S).sign());
    assert_eq!(chain.tx_status(&near), TxStatus::Pending);
    assert_eq!(chain.pending_nonce(&address_of(&dev_key(0))), 2);
}

#[test]
fn admission_refuses_a_known_transfer_pending_in_a_block_or_accepted() {
    let mut chain = open_chain();
    let far = admit(&mut chain, furthest_expiry());
    let known = chain.mempool().get(&far).copied().unwrap();
    assert_eq!(
        refused(&mut chain, known, NOW_MS),
        TxError::AlreadyKnown(far)
    );
    let block = chain.build_block(NOW_MS).unwrap();
    assert_eq!(
        refused(&mut chain, known, NOW_MS),
        TxError::AlreadyKnown(far)
    );
    chain.accept_block(block.id).unwrap();
    assert_eq!(
        refused(&mut chain, known, NOW_MS),
        TxError::AlreadyKnown(far)
    );
}

#[test]
fn admission_refuses_a_nonce_taken_by_another_pending_transfer() {
    let mut chain = open_chain();
    let future = admit(&mut chain, send().nonce(max_gap() - 1).sign());
    assert_eq!(
        refused(
            &mut chain,
            send().amount(2).nonce(max_gap() - 1).sign(),
            NOW_MS
        ),
        TxError::NonceTaken {
            nonce: max_gap() - 1,
            by: future
        }
    );
}

/// A chain where dev key 0 has three pending transfers of 1 (nonces 0, 1 and the furthest
/// inside the gap), and what they spend.
fn three_pending_spends() -> (Chain, u64) {
    let mut chain = open_chain();
    for nonce in [0, 1, max_gap() - 1] {
        admit(&mut chain, send().nonce(nonce).sign());
    }
    (chain, 3 * (1 + MIN_FEE))
}

#[test]
fn admission_counts_funds_against_the_senders_other_pending_spends() {
    let (mut chain, spent) = three_pending_spends();
    let left = DEV_BALANCE - spent;
    assert_eq!(
        refused(
            &mut chain,
            send().amount(left - MIN_FEE + 1).nonce(2).sign(),
            NOW_MS
        ),
        TxError::InsufficientFunds {
            balance: left,
            needed: left + 1
        }
    );
    admit(&mut chain, send().amount(left - MIN_FEE).nonce(2).sign());
    let block = chain.build_block(NOW_MS).unwrap();
    assert_eq!(block.block.txs.len(), 3);
    chain.accept_block(block.id).unwrap();
    // What is left is exactly the cost of the far-future transfer still pending.
    let me = address_of(&dev_key(0));
    assert_eq!(chain.account(&me).balance, 1 + MIN_FEE);
    assert_eq!(
        chain.mempool().len(),
        1,
        "only the far-future nonce is left"
    );
}

#[test]
fn admission_refuses_a_nonce_used_by_an_accepted_transfer() {
    let (mut chain, _) = three_pending_spends();
    admit(&mut chain, send().nonce(2).sign());
    let block = chain.build_block(NOW_MS).unwrap();
    chain.accept_block(block.id).unwrap();
    assert_eq!(
        refused(&mut chain, send().amount(77).nonce(1).sign(), NOW_MS),
        TxError::NonceTooLow {
            expected: 3,
            got: 1
        }
    );
}

#[test]
fn a_transfer_is_found_pending_processing_and_accepted() {
    let mut chain = open_chain();
    let first = Transfer::from_dev(0).sign();
    let second = Transfer::from_dev(1).to(unfunded(2)).sign();
    admit(&mut chain, first);
    admit(&mut chain, second);
    assert_eq!(chain.find_tx(&second.id()), Some(second), "pending");
    let block = chain.build_block(NOW_MS).unwrap();
    assert_eq!(block.block.txs.len(), 2);
    for tx in [first, second] {
        assert_eq!(chain.find_tx(&tx.id()), Some(tx), "processing");
    }
    chain.accept_block(block.id).unwrap();
    for tx in [first, second] {
        assert_eq!(chain.find_tx(&tx.id()), Some(tx), "accepted");
    }
    assert_eq!(chain.find_tx(&Id([9; 32])), None);
}
