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
            .with_label_values(&["api", "store_unavailable"])
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

/// The value of one series of a labelled counter.
fn count(vec: &prometheus::IntCounterVec, labels: &[&str]) -> u64 {
    vec.with_label_values(labels).get()
}

#[test]
fn gossip_refusals_and_forged_transfers_are_counted_by_reason() {
    use crate::chain::gossip::{encode_gossip, GOSSIP_VERSION, MAX_GOSSIP_BYTES};
    let node = open_node();
    let metrics = node.metrics().clone();
    let refused = |reason| count(&metrics.gossip_refused, &[reason]);

    assert!(node.receive_gossip(&[]).is_err());
    assert!(node.receive_gossip(&[GOSSIP_VERSION, 0xff]).is_err());
    assert_eq!(refused("malformed"), 2);
    assert!(node.receive_gossip(&[GOSSIP_VERSION + 1, 0]).is_err());
    assert_eq!(refused("unsupported_version"), 1);
    assert!(node.receive_gossip(&vec![0; MAX_GOSSIP_BYTES + 1]).is_err());
    assert_eq!(refused("over_cap"), 1);
    let mut bad_tx = encode_gossip(&[Transfer::from_dev(1).sign()]);
    bad_tx[2] ^= 0xff; // the transfer's version byte
    assert!(node.receive_gossip(&bad_tx).is_err());
    assert_eq!(refused("malformed_tx"), 1);
    assert_eq!(node.inspect(|chain| chain.mempool().len()), 0);

    // Two forgeries beside one honest transfer: the honest one gets in.
    let honest = Transfer::from_dev(1).nonce(0).sign();
    let mut forged = [
        Transfer::from_dev(2).nonce(0).sign(),
        Transfer::from_dev(1).nonce(1).sign(),
    ];
    for tx in &mut forged {
        tx.signature[7] ^= 1;
    }
    let message = encode_gossip(&[forged[0], honest, forged[1]]);
    let receipt = node.receive_gossip(&message).unwrap();
    assert_eq!(
        receipt,
        GossipReceipt {
            carried: 3,
            admitted: 1
        }
    );
    assert_eq!(count(&metrics.txs_admitted, &["gossip"]), 1);
    assert_eq!(
        count(&metrics.txs_rejected, &["gossip", "bad_signature"]),
        2
    );
    // The same message again: forgeries are checked (and refused) again, the honest one is
    // known; nothing is counted as coming from the API.
    node.receive_gossip(&message).unwrap();
    assert_eq!(
        count(&metrics.txs_rejected, &["gossip", "bad_signature"]),
        4
    );
    assert_eq!(
        count(&metrics.txs_rejected, &["gossip", "already_known"]),
        1
    );
    assert_eq!(count(&metrics.txs_rejected, &["api", "bad_signature"]), 0);
    assert_eq!(node.inspect(|chain| chain.mempool().len()), 1);
    // An empty batch is no refusal.
    assert_eq!(
        node.receive_gossip(&encode_gossip(&[])).unwrap(),
        GossipReceipt {
            carried: 0,
            admitted: 0
        }
    );
    assert_eq!(refused("malformed"), 2);
}

#[test]
fn block_refusals_are_counted_by_reason_at_parse_and_at_verify() {
    let node = open_node();
    let metrics = node.metrics().clone();
    let good = peer_block(0);
    let variant = |change: &dyn Fn(&mut Block)| {
        let mut block = good.block.clone();
        change(&mut block);
        block.seal()
    };
    let cases: Vec<(&str, SealedBlock)> = vec![
        ("unknown_parent", variant(&|b| b.parent_id = Id([9; 32]))),
        ("wrong_height", variant(&|b| b.height = 2)),
        // Far beyond the allowed clock skew.
        (
            "bad_timestamp",
            variant(&|b| b.timestamp_ms = NOW_MS + 3_600_000),
        ),
        ("digest_mismatch", variant(&|b| b.state_digest.0[0] ^= 1)),
        ("bad_signature", variant(&|b| b.txs[0].signature[3] ^= 1)),
        // 7501 transfers fit the byte cap but not the count cap of the local genesis.
        ("too_large", variant(&|b| b.txs = vec![b.txs[0]; 7501])),
    ];
    for (reason, block) in &cases {
        // Each parses (its bytes are well-formed) and fails at verify, for its own reason.
        node.parse_block(&block.bytes).unwrap();
        let e = node.verify_block(&block.bytes).unwrap_err();
        assert_eq!(e.reason(), *reason, "{e}");
        assert_eq!(count(&metrics.blocks_invalid, &[reason]), 1, "{reason}");
    }
    // A block never parsed fails at verify too, counted once.
    assert!(node.verify_block(b"garbage").is_err());
    assert_eq!(count(&metrics.blocks_invalid, &["malformed"]), 1);
    assert_eq!(node.inspect(|chain| chain.processing_count()), 0);

    assert!(node.parse_block(b"garbage").is_err());
    let over = vec![0; node.rules().params.max_block_bytes as usize + 1];
    assert!(node.parse_block(&over).is_err());
    assert_eq!(count(&metrics.blocks_unparsable, &["malformed"]), 1);
    assert_eq!(count(&metrics.blocks_unparsable, &["too_large"]), 1);
    // The honest block still verifies, and nothing counted it.
    node.verify_block(&good.bytes).unwrap();
    assert_eq!(metrics.blocks_verified.get(), 1);
}

#[test]
fn a_failed_accept_write_is_remembered_until_an_accept_succeeds() {
    use crate::test_utils::{open_chain_on, WatchedStore};
    let store = Arc::new(WatchedStore::default());
    let chain = open_chain_on(store.clone(), crate::test_utils::chain_config());
    let node = node_on(chain);
    let block = peer_block(0);
    node.verify_block(&block.bytes).unwrap();
    assert_eq!(node.store_fault().map(|e| e.to_string()), None);

    store.fail_writes_after(0);
    let e = node.accept_block(block.id).unwrap_err();
    assert!(matches!(e, BlockError::Storage(_)), "{e}");
    let failure = node
        .store_fault()
        .map(|e| e.to_string())
        .expect("remembered");
    assert!(failure.contains("injected write failure"), "{failure}");
    assert_eq!(node.metrics().accept_failures.get(), 1);
    // Nothing half-done: the block is still the processing one, the tip unchanged.
    assert_eq!(node.last_accepted().height, 0);
    assert_eq!(
        node.block_with_status(&block.id).unwrap().unwrap().1,
        BlockStatus::Processing
    );
    // An unrelated refusal does not clear it; a successful accept does.
    assert!(node.accept_block(Id([9; 32])).is_err());
    assert!(node.store_fault().map(|e| e.to_string()).is_some());
    store.fail_writes_after(usize::MAX);
    node.accept_block(block.id).unwrap();
    assert_eq!(node.store_fault().map(|e| e.to_string()), None);
    assert_eq!(node.last_accepted().height, 1);
}

#[test]
fn a_misplaced_or_oversized_block_is_refused_before_its_signatures_are_checked() {
    let node = open_node();
    let good = large_peer_block(300);
    let forged = |change: &dyn Fn(&mut Block)| {
        let mut block = good.block.clone();
        for tx in &mut block.txs {
            tx.signature[5] ^= 1;
        }
        change(&mut block);
        block.seal()
    };
    // Every signature is bad, so a signature check would report bad_signature first.
    let misplaced = forged(&|b| b.parent_id = Id([9; 32]));
    let oversized = forged(&|b| b.txs = vec![b.txs[0]; 7501]);
    assert!(matches!(
        node.verify_block(&misplaced.bytes),
        Err(BlockError::UnknownParent(_))
    ));
    assert!(matches!(
        node.verify_block(&oversized.bytes),
        Err(BlockError::TooLarge(_))
    ));
    // Well placed, the same forgeries are refused for their signatures.
    assert!(matches!(
        node.verify_block(&forged(&|_| {}).bytes),
        Err(BlockError::InvalidTx {
            error: TxError::BadSignature,
            ..
        })
    ));
}

/// What the node asked of its environment.
#[derive(Default)]
struct RecordedEvents {
    builds: Mutex<usize>,
    gossiped: Mutex<Vec<Id>>,
    /// Gossip calls, empty ones included (a host would send an empty message for each).
    gossip_calls: Mutex<usize>,
}

impl NodeEvents for RecordedEvents {
    fn build_wanted(&self) {
        *self.builds.lock().unwrap() += 1;
    }
    fn gossip(&self, txs: &[SignedTx]) {
        *self.gossip_calls.lock().unwrap() += 1;
        self.gossiped
            .lock()
            .unwrap()
            .extend(txs.iter().map(SignedTx::id));
    }
}

impl RecordedEvents {
    fn seen(&self) -> (usize, Vec<Id>) {
        (
            *self.builds.lock().unwrap(),
            self.gossiped.lock().unwrap().clone(),
        )
    }
}

#[test]
fn the_environment_hears_of_builds_once_and_of_api_admissions_only() {
    use crate::test_utils::{chain_config, local_genesis_with_caps, open_chain_with_genesis};
    // Blocks of at most two transfers, so a build can leave some behind.
    let node = node_on(open_chain_with_genesis(
        &local_genesis_with_caps(2, 1 << 20),
        chain_config(),
    ));
    let events = Arc::new(RecordedEvents::default());
    node.set_events(events.clone());
    let ids = |txs: &[SignedTx]| txs.iter().map(SignedTx::id).collect::<Vec<_>>();

    // Admitted from the API into an empty pool: gossiped, and a build is asked for.
    let first = [Transfer::from_dev(0).nonce(0).sign()];
    node.submit(first.iter().copied().map(Ok).collect(), Source::Api);
    assert_eq!(events.seen(), (1, ids(&first)));
    assert_eq!(node.metrics().mempool_size.get(), 1);
    // Into a pool that already waits for its build: gossiped, no second request.
    let second = [Transfer::from_dev(0).nonce(1).sign()];
    node.submit(second.iter().copied().map(Ok).collect(), Source::Api);
    assert_eq!(events.seen(), (1, ids(&[first[0], second[0]])));
    // From gossip: admitted, never gossiped again; refused from the API: not gossiped.
    let from_peer = Transfer::from_dev(1).nonce(0).sign();
    node.submit(vec![Ok(from_peer)], Source::Gossip);
    let mut forged = Transfer::from_dev(2).sign();
    forged.signature[3] ^= 1;
    assert!(node.submit(vec![Ok(forged)], Source::Api)[0].is_err());
    assert_eq!(events.seen(), (1, ids(&[first[0], second[0]])));
    assert_eq!(*events.gossip_calls.lock().unwrap(), 2, "no empty gossip");
    assert_eq!(node.metrics().mempool_size.get(), 3);

    // A build that leaves one behind asks for the next; the last one does not.
    let first_block = node.build_block().unwrap();
    assert_eq!(events.seen().0, 2, "one transfer left: another build");
    node.set_preference(first_block.id).unwrap();
    assert_eq!(node.metrics().mempool_size.get(), 1);
    let block = node.build_block().unwrap();
    assert_eq!(events.seen().0, 2, "nothing left: no request");
    assert_eq!(node.metrics().mempool_size.get(), 0);
    assert_eq!(block.block.txs.len(), 1);
}

#[test]
fn simulate_checks_without_admitting_and_heights_map_to_their_blocks() {
    let node = open_node();
    let tx = Transfer::from_dev(0).sign();
    assert_eq!(node.simulate(tx), Ok(tx.id()));
    let mut forged = tx;
    forged.signature[0] ^= 1;
    assert_eq!(node.simulate(forged), Err(TxError::BadSignature));
    let unfunded = Transfer::from_key(&ed25519_dalek::SigningKey::from_bytes(&[7; 32])).sign();
    assert!(matches!(
        node.simulate(unfunded),
        Err(TxError::InsufficientFunds { .. })
    ));
    assert_eq!(
        node.inspect(|chain| chain.mempool().len()),
        0,
        "nothing admitted"
    );

    let genesis = node.last_accepted();
    assert_eq!(node.block_id_at_height(0).unwrap(), Some(genesis.id));
    assert_eq!(node.block_id_at_height(1).unwrap(), None);
    node.submit(vec![Ok(tx)], Source::Api);
    let block = node.build_block().unwrap();
    node.accept_block(block.id).unwrap();
    assert_eq!(node.block_id_at_height(1).unwrap(), Some(block.id));
    assert_eq!(node.block_id_at_height(2).unwrap(), None);
}

#[test]
fn accepts_and_rejects_that_leave_transfers_waiting_ask_for_a_build() {
    let node = open_node();
    let events = Arc::new(RecordedEvents::default());
    node.set_events(events.clone());
    assert!(matches!(
        node.set_preference(Id([9; 32])),
        Err(BlockError::NotFound(_))
    ));
    node.submit(vec![Ok(Transfer::from_dev(0).sign())], Source::Api);
    let built = node.build_block().unwrap();
    assert_eq!(events.seen().0, 1, "the first admission asked");
    // A transfer arriving while the block is processing: the pool was empty, so it asks too.
    node.submit(vec![Ok(Transfer::from_dev(1).sign())], Source::Api);
    assert_eq!(events.seen().0, 2);
    node.set_preference(built.id).unwrap();
    node.accept_block(built.id).unwrap();
    assert_eq!(
        events.seen().0,
        3,
        "accepted with a transfer waiting: build again"
    );
    // A block rejected: its transfer goes back to the pool, and a build is asked.
    let second = node.build_block().unwrap();
    assert_eq!(events.seen().0, 3, "built with nothing left: no request");
    node.reject_block(second.id).unwrap();
    assert_eq!(events.seen().0, 4, "its transfer waits again: build");
    let again = node.build_block().unwrap();
    node.set_preference(again.id).unwrap();
    node.accept_block(again.id).unwrap();
    assert_eq!(events.seen().0, 4, "nothing left: no request");
}

#[test]
fn a_rejected_block_whose_transfers_expired_asks_for_no_build() {
    use crate::test_utils::{open_chain, FixedClock};
    let clock = Arc::new(FixedClock::default());
    let node = Arc::new(Node::new(
        open_chain(),
        clock.clone(),
        Arc::new(crate::metrics::Metrics::new()),
    ));
    let events = Arc::new(RecordedEvents::default());
    node.set_events(events.clone());
    let tx = Transfer::from_dev(0).expires_at(NOW_MS / 1000 + 5).sign();
    node.submit(vec![Ok(tx)], Source::Api);
    let block = node.build_block().unwrap();
    assert_eq!(events.seen().0, 1);
    // The transfer expires while its block is processing: rejected, it is dropped, not pooled.
    clock.set(NOW_MS + 10_000);
    node.reject_block(block.id).unwrap();
    assert_eq!(node.inspect(|chain| chain.mempool().len()), 0);
    assert_eq!(events.seen().0, 1, "nothing waits: no build request");
}

#[test]
fn a_transfer_is_found_with_its_status_and_store_health_reports_a_failed_write() {
    use crate::test_utils::{chain_config, open_chain_on, WatchedStore};
    let store = Arc::new(WatchedStore::default());
    let node = node_on(open_chain_on(store.clone(), chain_config()));
    let tx = Transfer::from_dev(0).sign();
    assert!(
        node.tx(&tx.id()).is_none(),
        "unknown before it is submitted"
    );
    node.submit(vec![Ok(tx)], Source::Api);
    assert_eq!(node.tx(&tx.id()), Some((tx, TxStatus::Pending)));
    assert!(node.store_health().is_ok());
    let block = node.build_block().unwrap();
    store.fail_writes_after(0);
    assert!(node.accept_block(block.id).is_err());
    let unhealthy = node.store_health().unwrap_err();
    assert!(
        unhealthy.to_string().contains("injected write failure"),
        "{unhealthy}"
    );
    store.fail_writes_after(usize::MAX);
    node.accept_block(block.id).unwrap();
    assert!(node.store_health().is_ok(), "healthy once a write succeeds");
    assert!(matches!(
        node.tx(&tx.id()),
        Some((found, TxStatus::Accepted { height: 1, .. })) if found == tx
    ));
}
