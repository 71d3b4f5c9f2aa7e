//! Admission against the mempool's caps: a full pool refuses (MEMPOOL_FULL) rather than
//! evicting, by count, by bytes and per sender.

use super::{admit, refused, unfunded};
use crate::chain::mempool::MempoolLimits;
use crate::chain::tx::SIGNED_TX_LEN;
use crate::chain::{Chain, SignedTx, TxError};
use crate::test_utils::{chain_config, open_chain_with, Transfer, NOW_MS};

/// A chain whose mempool holds at most `max_txs` transfers, `max_bytes` bytes and
/// `max_per_sender` transfers a sender.
fn pool_of(max_txs: usize, max_bytes: usize, max_per_sender: usize) -> Chain {
    let mut config = chain_config();
    config.mempool = MempoolLimits {
        max_txs,
        max_bytes,
        max_per_sender,
        max_nonce_gap: 16,
    };
    open_chain_with(config)
}

/// Dev key `sender`'s transfer of 1 with `nonce` to [`unfunded`] 1.
fn send(sender: u32, nonce: u64) -> SignedTx {
    Transfer::from_dev(sender)
        .to(unfunded(1))
        .nonce(nonce)
        .sign()
}

/// Asserts that `chain` refuses `tx` because its pool is full.
fn refused_as_full(chain: &mut Chain, tx: SignedTx) {
    let e = refused(chain, tx, NOW_MS);
    assert!(matches!(e, TxError::MempoolFull(_)), "{e:?}");
}

#[test]
fn admission_refuses_when_the_mempool_holds_its_count() {
    let mut chain = pool_of(2, 1 << 20, 8);
    admit(&mut chain, send(0, 0));
    admit(&mut chain, send(1, 0));
    refused_as_full(&mut chain, send(2, 0));
    refused_as_full(&mut chain, send(0, 1));
}

#[test]
fn admission_refuses_when_the_mempool_holds_its_bytes() {
    let mut chain = pool_of(100, 2 * SIGNED_TX_LEN + 10, 8);
    admit(&mut chain, send(0, 0));
    admit(&mut chain, send(1, 0));
    refused_as_full(&mut chain, send(2, 0));
}

/// A pool of 2 a sender where dev key 0 used its share and was refused a third transfer, while
/// dev key 1 still got one in.
fn sender_over_its_share() -> Chain {
    let mut chain = pool_of(100, 1 << 20, 2);
    admit(&mut chain, send(0, 0));
    admit(&mut chain, send(0, 1));
    refused_as_full(&mut chain, send(0, 2));
    admit(&mut chain, send(1, 0));
    chain
}

#[test]
fn admission_refuses_a_sender_over_its_share_but_not_the_others() {
    let chain = sender_over_its_share();
    assert_eq!(chain.mempool().len(), 3);
}

#[test]
fn a_sender_has_room_again_once_a_block_takes_its_transfers() {
    let mut chain = sender_over_its_share();
    let block = chain.build_block(NOW_MS).unwrap();
    assert_eq!(block.block.txs.len(), 3);
    chain.set_preference(block.id).unwrap();
    admit(&mut chain, send(0, 2));
}
