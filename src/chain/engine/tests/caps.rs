//! Block caps from the genesis parameters: a verifier refuses a block over either cap, and the
//! builder never makes one.

use super::{admit, craft, deliver, unfunded, VerifyHere};
use crate::chain::{Block, BlockError, Chain, Id, SealedBlock, SignedTx};
use crate::test_utils::{
    chain_config, local_genesis_with_caps, open_chain_with_genesis, Transfer, NOW_MS,
};

/// A chain whose blocks hold at most `max_txs` transfers and `max_bytes` bytes.
fn capped(max_txs: u32, max_bytes: usize) -> Chain {
    open_chain_with_genesis(&local_genesis_with_caps(max_txs, max_bytes), chain_config())
}

/// Dev keys 0, 1 and 2 each send 1 to [`unfunded`] 1, and an (unbuilt) block on `chain`'s
/// genesis holding the three.
fn three_transfers(chain: &Chain) -> (Vec<SignedTx>, SealedBlock) {
    let txs: Vec<SignedTx> = (0..3)
        .map(|i| Transfer::from_dev(i).to(unfunded(1)).sign())
        .collect();
    let block = craft(chain.genesis_id(), 1, NOW_MS, txs.clone(), Id::default());
    (txs, block)
}

/// `chain` admits `txs` (three of them) and builds a block of two, leaving one pending;
/// `why` names the cap that holds the third back.
fn builds_two_of_three(chain: &mut Chain, txs: &[SignedTx], why: &str) -> SealedBlock {
    for tx in txs {
        admit(chain, *tx);
    }
    let built = chain.build_block(NOW_MS).unwrap();
    assert_eq!(built.block.txs.len(), 2, "{why}");
    assert_eq!(chain.mempool().len(), 1);
    built
}

#[test]
fn a_block_over_the_count_cap_is_refused_and_never_built() {
    let mut chain = capped(2, 1_500_000);
    let (txs, three) = three_transfers(&chain);
    assert!(matches!(
        chain.verify(three, NOW_MS),
        Err(BlockError::TooLarge(_))
    ));
    let built = builds_two_of_three(&mut chain, &txs, "the builder respects the count cap");
    // A block of exactly the cap is valid.
    let mut follower = capped(2, 1_500_000);
    deliver(&mut follower, &built, NOW_MS).unwrap();
}

#[test]
fn a_block_over_the_byte_cap_is_refused_and_never_built() {
    // Room for two transfers, count cap far away.
    let max_bytes = Block::encoded_len(2);
    let mut chain = capped(10, max_bytes);
    let (txs, three) = three_transfers(&chain);
    assert!(three.bytes.len() > max_bytes);
    assert!(matches!(
        chain.rules().decode_block(&three.bytes),
        Err(BlockError::TooLarge(_))
    ));
    assert!(matches!(
        chain.verify(three, NOW_MS),
        Err(BlockError::TooLarge(_))
    ));
    let built = builds_two_of_three(&mut chain, &txs, "the builder respects the byte cap");
    assert!(built.bytes.len() <= max_bytes);
    let mut follower = capped(10, max_bytes);
    deliver(&mut follower, &built, NOW_MS).unwrap();
}

#[test]
fn the_builder_fills_a_byte_cap_to_the_last_transfer_that_fits() {
    // A cap a byte short of a block of n has room for n - 1 transfers only: the header and
    // count prefix must fit too, not just n transfers' bytes.
    for (max_bytes, fits) in [
        (Block::encoded_len(2) - 1, 1),
        (Block::encoded_len(2), 2),
        (Block::encoded_len(3) - 1, 2),
    ] {
        let mut chain = capped(10, max_bytes);
        let (txs, _) = three_transfers(&chain);
        for tx in &txs {
            admit(&mut chain, *tx);
        }
        let built = chain.build_block(NOW_MS).unwrap();
        assert_eq!(built.block.txs.len(), fits, "{max_bytes} bytes");
        assert!(built.bytes.len() <= max_bytes, "{max_bytes} bytes");
    }
}
