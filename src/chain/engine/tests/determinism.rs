//! Determinism: the same block bytes give the same state on every node, and the same mempool
//! contents, whatever order they arrived in, build byte-identical blocks.

use super::{admit, unfunded, VerifyHere};
use crate::chain::{Chain, SignedTx};
use crate::test_utils::{
    assert_accepted_invariants, chain_config, local_genesis_with_caps, open_chain,
    open_chain_with_genesis, Transfer, NOW_MS,
};

#[test]
fn the_same_block_bytes_give_the_same_state_everywhere() {
    let mut builder = open_chain();
    for i in 0..5 {
        let tx = Transfer::from_dev(i)
            .to(unfunded(i as u8))
            .amount(10 + u64::from(i));
        admit(&mut builder, tx.sign());
    }
    let block = builder.build_block(NOW_MS).unwrap();
    let (mut p, mut q) = (open_chain(), open_chain());
    for chain in [&mut p, &mut q] {
        chain
            .verify(chain.rules().decode_block(&block.bytes).unwrap(), NOW_MS)
            .unwrap();
        chain.accept_block(block.id).unwrap();
        assert_eq!(chain.recompute_digest(), block.block.state_digest);
        assert_accepted_invariants(chain);
    }
    assert_eq!(p.recompute_digest(), q.recompute_digest());
}

/// Dev keys 0 to 4 each send nonces 0 to 2, each to its own unfunded recipient.
fn fifteen_transfers() -> Vec<SignedTx> {
    let mut txs = Vec::new();
    for i in 0..5u32 {
        for nonce in 0..3 {
            let tx = Transfer::from_dev(i)
                .to(unfunded((i * 3 + nonce as u32) as u8))
                .amount(100 * u64::from(i) + nonce)
                .nonce(nonce);
            txs.push(tx.sign());
        }
    }
    txs
}

/// `p` and `q` admit `txs` in two arrival orders: in order, and reversed (senders reversed,
/// and each sender's nonces arriving out of order).
fn admit_in_two_orders(p: &mut Chain, q: &mut Chain, txs: &[SignedTx]) {
    for tx in txs {
        admit(p, *tx);
    }
    for tx in txs.iter().rev() {
        admit(q, *tx);
    }
}

#[test]
fn the_same_mempool_contents_build_byte_identical_blocks() {
    let txs = fifteen_transfers();
    let (mut p, mut q) = (open_chain(), open_chain());
    admit_in_two_orders(&mut p, &mut q, &txs);
    let bp = p.build_block(NOW_MS).unwrap();
    let bq = q.build_block(NOW_MS).unwrap();
    assert_eq!(bp.bytes, bq.bytes);
    assert_eq!(bp.block.txs.len(), txs.len());
}

#[test]
fn capped_blocks_from_the_same_mempool_contents_are_byte_identical_at_every_height() {
    // A capped block, so the rotation of senders matters.
    let capped = local_genesis_with_caps(4, 1_500_000);
    let mut p = open_chain_with_genesis(&capped, chain_config());
    let mut q = open_chain_with_genesis(&capped, chain_config());
    admit_in_two_orders(&mut p, &mut q, &fifteen_transfers());
    for round in 0..4u64 {
        let now = NOW_MS + round * 1_000;
        let bp = p.build_block(now).unwrap();
        let bq = q.build_block(now).unwrap();
        assert_eq!(bp.bytes, bq.bytes, "round {round}");
        p.accept_block(bp.id).unwrap();
        q.accept_block(bq.id).unwrap();
    }
}
