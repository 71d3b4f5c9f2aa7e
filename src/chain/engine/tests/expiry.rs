//! Expiry: a pending transfer past its expiry second is dropped at the next build (the second
//! itself still counts), and a rejected block gives back only its unexpired transfers.

use super::{admit, unfunded};
use crate::chain::tx::address_of;
use crate::chain::{BlockError, SignedTx, TxStatus};
use crate::keys::dev_key;
use crate::test_utils::{open_chain, Transfer, NOW_MS};

const NOW_S: u64 = NOW_MS / 1000;

/// Dev key `sender`'s transfer of 1 to [`unfunded`] 1, nonce 0, expiring at `expires_at`.
fn expiring(sender: u32, expires_at: u64) -> SignedTx {
    Transfer::from_dev(sender)
        .to(unfunded(1))
        .expires_at(expires_at)
        .sign()
}

#[test]
fn expired_pending_transfers_are_dropped_at_the_next_build() {
    let mut chain = open_chain();
    let short = admit(&mut chain, expiring(0, NOW_S + 5));
    let edge = admit(&mut chain, expiring(1, NOW_S + 10));
    let long = admit(&mut chain, expiring(2, NOW_S + 60));
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
    assert_eq!(chain.pending_nonce(&address_of(&dev_key(0))), 0);
}

#[test]
fn a_transfer_expiring_in_the_build_second_is_included() {
    let mut chain = open_chain();
    let edge = admit(&mut chain, expiring(1, NOW_S + 10));
    let block = chain.build_block((NOW_S + 10) * 1_000).unwrap();
    assert_eq!(block.block.txs[0].id(), edge);
    chain.accept_block(block.id).unwrap();
}

#[test]
fn a_pool_of_only_expired_transfers_builds_nothing_and_they_may_be_sent_again() {
    let mut chain = open_chain();
    let gone = admit(&mut chain, expiring(0, NOW_S + 20));
    assert_eq!(
        chain.build_block(NOW_MS + 21_000),
        Err(BlockError::NothingToBuild)
    );
    assert!(matches!(chain.tx_status(&gone), TxStatus::Dropped { .. }));
    assert!(chain.mempool().is_empty());
    // And it can be sent again with a new expiry.
    chain
        .check_and_admit(expiring(0, NOW_S + 100), NOW_MS + 21_000)
        .unwrap();
}

#[test]
fn a_rejected_block_returns_only_unexpired_transfers() {
    let mut chain = open_chain();
    let short = expiring(0, NOW_S + 5);
    let long = Transfer::from_dev(1).to(unfunded(1)).sign();
    admit(&mut chain, short);
    admit(&mut chain, long);
    let block = chain.build_block(NOW_MS).unwrap();
    assert_eq!(block.block.txs.len(), 2);
    chain.reject_block(block.id, NOW_MS + 6_000).unwrap();
    assert!(matches!(
        chain.tx_status(&short.id()),
        TxStatus::Rejected { .. }
    ));
    assert_eq!(chain.tx_status(&long.id()), TxStatus::Pending);
    assert_eq!(chain.mempool().len(), 1);
    assert_eq!(chain.preferred(), chain.genesis_id());
}
