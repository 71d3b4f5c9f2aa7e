//! The node's own behaviour: the parse cache between `ParseBlock` and `BlockVerify`, a block's
//! state checked beside its signature check, and the
//! chain lock left free while an accepted block is written.

use super::parsed::PARSED_BLOCKS;
use super::*;
use crate::chain::{Block, SignatureProof};
use crate::storage::StoreError;
use crate::test_utils::{node_on, open_chain, open_node, Transfer, NOW_MS};
use std::time::Duration;

/// A block built on another node's copy of the local genesis, as a peer would send it.
fn peer_block(nonce: u64) -> SealedBlock {
    let mut peer = open_chain();
    for n in 0..=nonce {
        let tx = Transfer::from_dev(1).nonce(n).sign();
        peer.check_and_admit(tx, NOW_MS).expect("admitted");
        if n < nonce {
            let block = peer.build_block(NOW_MS).expect("built");
            peer.accept_block(block.id).expect("accepted");
        }
    }
    peer.build_block(NOW_MS).expect("built")
}

#[test]
fn a_parsed_block_is_verified_from_the_parse_cache_and_leaves_it() {
    let node = open_node();
    let block = peer_block(0);
    let (summary, status) = node.parse_block(&block.bytes).unwrap();
    assert_eq!(
        (summary, status),
        (BlockSummary::from(&block), BlockStatus::Processing)
    );
    assert_eq!(node.parsed().blocks.len(), 1, "kept for BlockVerify");
    assert_eq!(node.verify_block(&block.bytes).unwrap(), summary);
    assert!(node.parsed().blocks.is_empty(), "taken by BlockVerify");
    // Verified again (the host may ask twice): found among the processing blocks.
    assert_eq!(node.verify_block(&block.bytes).unwrap(), summary);
    node.accept_block(block.id).unwrap();
    assert_eq!(node.last_accepted(), summary);
}

#[test]
fn a_block_never_parsed_is_decoded_at_verify_and_bad_bytes_are_refused() {
    let node = open_node();
    let block = peer_block(0);
    assert_eq!(node.verify_block(&block.bytes).unwrap().id, block.id);
    let mut bad = block.bytes.clone();
    bad.truncate(bad.len() - 1);
    assert!(matches!(
        node.verify_block(&bad),
        Err(BlockError::Malformed(_))
    ));
    assert!(node.parse_block(&bad).is_err());
    assert!(
        node.parsed().blocks.is_empty(),
        "a refused block is not kept"
    );
}

#[test]
fn a_built_block_verifies_without_decoding_and_accepted_ones_are_not_cached() {
    let node = node_on(open_chain());
    node.submit(vec![Ok(Transfer::from_dev(0).sign())], Source::Api);
    let built = node.build_block().unwrap();
    assert_eq!(node.verify_block(&built.bytes).unwrap().id, built.id);
    node.accept_block(built.id).unwrap();
    let (_, status) = node.parse_block(&built.bytes).unwrap();
    assert_eq!(status, BlockStatus::Accepted);
    assert!(
        node.parsed().blocks.is_empty(),
        "only undecided blocks are kept"
    );
}

#[test]
fn the_parse_cache_is_bounded_oldest_first() {
    let node = open_node();
    let blocks: Vec<SealedBlock> = (0..PARSED_BLOCKS as u64 + 1).map(peer_block).collect();
    for block in &blocks {
        node.parse_block(&block.bytes).unwrap();
    }
    let kept: Vec<Id> = node.parsed().blocks.iter().map(|b| b.id).collect();
    assert_eq!(kept.len(), PARSED_BLOCKS);
    assert!(!kept.contains(&blocks[0].id), "the oldest was evicted");
    assert!(kept.contains(&blocks[PARSED_BLOCKS].id));
}

/// A store whose writes wait for the test to let them through, and say when one starts.
struct GatedStore {
    inner: crate::storage::memory::MemoryStore,
    started: std::sync::mpsc::SyncSender<()>,
    release: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl crate::storage::KvStore for GatedStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }

    fn write(&self, batch: crate::storage::WriteBatch) -> Result<(), StoreError> {
        let _ = self.started.try_send(());
        let released = self
            .release
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(10));
        released.map_err(|_| StoreError::new("the test never released the write"))?;
        self.inner.write(batch)
    }

    fn scan_prefix_from(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        visit: &mut crate::storage::PageVisitor<'_>,
    ) -> Result<(), StoreError> {
        self.inner.scan_prefix_from(prefix, start_after, visit)
    }
}

#[test]
fn the_chain_lock_is_free_while_an_accepted_block_is_written() {
    use crate::test_utils::{chain_config, open_chain_on};
    use std::sync::mpsc::sync_channel;
    let (started_tx, started) = sync_channel(4);
    let (release, release_rx) = sync_channel(4);
    let store = Arc::new(GatedStore {
        inner: Default::default(),
        started: started_tx,
        release: Mutex::new(release_rx),
    });
    // Genesis is written before the gate matters.
    release.send(()).unwrap();
    let node = node_on(open_chain_on(store, chain_config()));
    let _ = started.try_recv();
    node.submit(vec![Ok(Transfer::from_dev(0).sign())], Source::Api);
    let block = node.build_block().unwrap();
    let accepting = {
        let node = node.clone();
        std::thread::spawn(move || node.accept_block(block.id))
    };
    started
        .recv_timeout(Duration::from_secs(10))
        .expect("the accept reached the store");
    // The write is held: the chain still answers, admits and builds on the block.
    let verdicts = node.submit(vec![Ok(Transfer::from_dev(1).sign())], Source::Api);
    assert!(verdicts[0].is_ok(), "{verdicts:?}");
    assert_eq!(
        node.last_accepted().height,
        0,
        "not accepted before its write"
    );
    assert!(matches!(
        node.reject_block(block.id),
        Err(BlockError::AcceptInProgress(_))
    ));
    release.send(()).unwrap();
    let accepted = accepting.join().unwrap().unwrap();
    assert_eq!(accepted.id, block.id);
    assert_eq!(node.last_accepted().height, 1);
}

/// A peer's block of `count` transfers from dev 1: enough for the signature check to split
/// across threads while the state check runs beside it.
fn large_peer_block(count: u64) -> SealedBlock {
    let mut peer = open_chain();
    for n in 0..count {
        let tx = Transfer::from_dev(1).nonce(n).amount(1 + n).sign();
        peer.check_and_admit(tx, NOW_MS).expect("admitted");
    }
    let block = peer.build_block(NOW_MS).expect("built");
    assert_eq!(block.block.txs.len() as u64, count);
    block
}

#[test]
fn a_block_verified_beside_its_signature_check_ends_where_a_serial_verify_does() {
    let block = large_peer_block(700);
    let node = open_node();
    node.verify_block(&block.bytes).unwrap();
    node.accept_block(block.id).unwrap();
    let mut serial = open_chain();
    serial
        .verify_block(block.clone(), SignatureProof::default(), NOW_MS)
        .unwrap();
    serial.accept_block(block.id).unwrap();
    let digest = node.inspect(|chain| chain.recompute_digest());
    assert_eq!(digest, serial.recompute_digest());
    assert_eq!(digest, block.block.state_digest);
}

#[test]
fn one_bad_signature_among_many_refuses_the_block_and_records_nothing() {
    let good = large_peer_block(700);
    let mut txs = good.block.txs.clone();
    txs[450].signature[10] ^= 1;
    let bad = Block { txs, ..good.block }.seal();
    let node = open_node();
    assert_eq!(
        node.verify_block(&bad.bytes),
        Err(BlockError::InvalidTx {
            index: 450,
            id: bad.tx_ids[450],
            error: TxError::BadSignature
        })
    );
    assert_eq!(node.inspect(|chain| chain.processing_count()), 0);
    // The honest block still verifies: nothing of the bad one was kept.
    node.verify_block(&good.bytes).unwrap();
}

#[test]
fn a_failed_accept_write_refuses_submissions_until_a_write_succeeds() {
    use crate::test_utils::{chain_config, open_chain_on, WatchedStore};
    let store = Arc::new(WatchedStore::default());
    let node = node_on(open_chain_on(store.clone(), chain_config()));
    let first = node.submit(vec![Ok(Transfer::from_dev(0).sign())], Source::Api);
    let first = first[0].clone().expect("admitted");
    let block = node.build_block().unwrap();
    store.fail_writes_after(0);
    assert!(matches!(
        node.accept_block(block.id),
        Err(BlockError::Storage(_))
    ));
    assert!(node.store_fault().is_some(), "the fault is reported");
    assert_eq!(node.last_accepted().height, 0, "nothing accepted");
    assert!(
        matches!(node.tx_status(&first), TxStatus::Processing { .. }),
        "the transfer waits in its block"
    );
    let refused = node.submit(vec![Ok(Transfer::from_dev(1).sign())], Source::Api);
    assert!(
        matches!(&refused[0], Err(TxError::StoreUnavailable(_))),
        "{refused:?}"
    );
    assert_eq!(
        node.metrics()
            .txs_rejected
            .with_label_values(&["store_unavailable"])
            .get(),
        1
    );
    // The store takes writes again: the same block is accepted, and submissions are admitted.
    store.fail_writes_after(usize::MAX);
    node.accept_block(block.id).expect("accepted on retry");
    assert!(node.store_fault().is_none(), "the fault is cleared");
    let admitted = node.submit(vec![Ok(Transfer::from_dev(1).sign())], Source::Api);
    assert!(admitted[0].is_ok(), "{admitted:?}");
}
