//! Accept in three steps (`begin_accept`, the write, `finish_accept`), so the node can write a
//! block's batch without the chain lock: what the chain allows while a write is in flight, and
//! what a failed write leaves.

use super::{admit, VerifyHere};
use crate::chain::{BlockError, BlockStatus, TxStatus};
use crate::storage::KvStore;
use crate::test_utils::{
    chain_config, memory_store, open_chain, open_chain_on, Transfer, WatchedStore, NOW_MS,
};
use std::sync::Arc;

#[test]
fn a_block_being_written_can_be_built_on_but_not_rejected_or_accepted_twice() {
    let mut chain = open_chain();
    admit(&mut chain, Transfer::from_dev(0).sign());
    let block = chain.build_block(NOW_MS).unwrap();
    let write = chain
        .begin_accept(block.id)
        .unwrap()
        .expect("a processing block");
    assert_eq!(write.id(), block.id);
    assert_eq!(
        chain.reject_block(block.id, NOW_MS),
        Err(BlockError::AcceptInProgress(block.id))
    );
    assert!(matches!(
        chain.begin_accept(block.id),
        Err(BlockError::AcceptInProgress(_))
    ));
    // Preference, admission and building go on, on top of the block being accepted.
    chain.set_preference(block.id).unwrap();
    admit(&mut chain, Transfer::from_dev(0).nonce(1).sign());
    let child = chain.build_block(NOW_MS + 1).unwrap();
    assert_eq!(child.block.parent_id, block.id);
    // Nothing is accepted until the write is done and the accept finished.
    assert_eq!(chain.last_accepted().id, chain.genesis_id());
    let accepted = chain.finish_accept(write.write().unwrap()).unwrap();
    assert_eq!(accepted.id, block.id);
    assert_eq!(chain.last_accepted().id, block.id);
    assert_eq!(chain.block_status(&block), BlockStatus::Accepted);
    chain.accept_block(child.id).unwrap();
    assert_eq!(chain.last_accepted().block.height, 2);
}

#[test]
fn a_failed_write_leaves_the_block_processing_and_acceptable_later() {
    let watched = Arc::new(WatchedStore::default());
    let store: Arc<dyn KvStore> = watched.clone();
    let mut chain = open_chain_on(store.clone(), chain_config());
    let tx = admit(&mut chain, Transfer::from_dev(0).sign());
    let block = chain.build_block(NOW_MS).unwrap();
    watched.fail_writes_after(0);
    assert!(matches!(
        chain.accept_block(block.id),
        Err(BlockError::Storage(_))
    ));
    assert_eq!(chain.last_accepted().id, chain.genesis_id());
    assert_eq!(chain.block_status(&block), BlockStatus::Processing);
    assert_eq!(
        chain.tx_status(&tx),
        TxStatus::Processing { block_id: block.id }
    );
    // The store answers again: the same block is accepted, and a reopen finds it.
    watched.fail_writes_after(usize::MAX);
    chain.accept_block(block.id).unwrap();
    drop(chain);
    let reopened = open_chain_on(store, chain_config());
    assert_eq!(reopened.last_accepted().id, block.id);
}

#[test]
fn a_write_for_a_block_no_longer_being_accepted_is_refused() {
    let mut chain = open_chain_on(memory_store(), chain_config());
    admit(&mut chain, Transfer::from_dev(0).sign());
    let block = chain.build_block(NOW_MS).unwrap();
    let write = chain.begin_accept(block.id).unwrap().unwrap();
    let written = write.write().unwrap();
    chain.abort_accept(block.id);
    assert_eq!(
        chain.finish_accept(written),
        Err(BlockError::NotFound(block.id))
    );
    // Accepting it again writes the same batch and finishes.
    chain.accept_block(block.id).unwrap();
    assert_eq!(chain.last_accepted().id, block.id);
    // Verifying a block on top still works through the usual path.
    let mut follower = open_chain();
    follower.verify(block.clone(), NOW_MS).unwrap();
    follower.accept_block(block.id).unwrap();
}

#[test]
fn accepting_the_last_accepted_block_again_writes_nothing_and_answers_it() {
    let watched = Arc::new(WatchedStore::default());
    let mut chain = open_chain_on(watched.clone(), chain_config());
    admit(&mut chain, Transfer::from_dev(0).sign());
    let block = chain.build_block(NOW_MS).unwrap();
    chain.accept_block(block.id).unwrap();
    let writes = watched.writes();
    // The host may repeat an Accept (a retry after a lost answer).
    let again = chain.accept_block(block.id).unwrap();
    assert_eq!(again.id, block.id);
    assert_eq!(chain.last_accepted().id, block.id);
    assert_eq!(watched.writes(), writes, "nothing written twice");
}

#[test]
fn the_recent_block_cache_keeps_the_newest_accepted_blocks_up_to_its_size() {
    let config = crate::chain::ChainConfig {
        block_cache: 3,
        ..chain_config()
    };
    let mut chain = open_chain_on(memory_store(), config);
    let mut accepted = Vec::new();
    for nonce in 0..6 {
        admit(&mut chain, Transfer::from_dev(0).nonce(nonce).sign());
        let block = chain.build_block(NOW_MS).unwrap();
        chain.accept_block(block.id).unwrap();
        accepted.push(block.id);
        let held = chain.recent_blocks.len();
        assert_eq!(
            held,
            (nonce as usize + 1).min(3),
            "after {} accepts",
            nonce + 1
        );
        assert_eq!(chain.recent_order.len(), held);
    }
    // The three accepted before the last one (which the chain holds apart); older ones are
    // still found, in the store.
    for id in &accepted[2..5] {
        assert!(chain.recent_blocks.contains_key(id));
    }
    for id in &accepted {
        assert_eq!(chain.get_block(id).unwrap().map(|b| b.id), Some(*id));
    }
}
