//! Account history: what the index holds for each side of a transfer, its order and pages, and
//! that turning it on late, off and on again, or crashing half-way through its backfill, always
//! ends with the same pages as a chain that indexed every block as it was accepted.

use super::{admit, deliver, unfunded};
use crate::chain::engine::layout::{self, history_entry_count};
use crate::chain::tx::address_of;
use crate::chain::{
    Address, Chain, Direction, HistoryEntry, HistoryError, HistoryPosition, Id, SealedBlock,
    SignedTx, MAX_HISTORY_PAGE,
};
use crate::keys::dev_key;
use crate::storage::KvStore;
use crate::test_utils::{
    chain_config, history_config, memory_store, open_chain_on, open_chain_with, Transfer,
    WatchedStore, MIN_FEE, NOW_MS,
};
use std::sync::Arc;

fn dev(index: u32) -> Address {
    address_of(&dev_key(index))
}

/// Admits `txs`, builds one block holding all of them at `height` seconds after [`NOW_MS`]
/// and accepts it.
fn accept_txs(chain: &mut Chain, txs: Vec<SignedTx>, seconds: u64) -> SealedBlock {
    let count = txs.len();
    for tx in txs {
        admit(chain, tx);
    }
    let block = chain.build_block(NOW_MS + seconds * 1_000).unwrap();
    assert_eq!(block.block.txs.len(), count, "one block holds them all");
    chain.accept_block(block.id).unwrap();
    block
}

/// Every entry of `address`'s history, read page by page with cursors of `limit` entries,
/// checking that every page but the last is full and that the last one says so.
fn all_pages(chain: &Chain, address: &Address, limit: usize) -> Vec<HistoryEntry> {
    let mut entries = Vec::new();
    let mut after = None;
    loop {
        let page = chain.account_history().page(address, limit, after).unwrap();
        match page.next {
            Some(next) => {
                assert_eq!(page.entries.len(), limit, "only the last page is short");
                assert_eq!(Some(next), page.entries.last().map(|e| e.position));
                entries.extend(page.entries);
                after = Some(next);
            }
            None => {
                assert!(
                    !page.entries.is_empty() || entries.is_empty(),
                    "no empty last page"
                );
                entries.extend(page.entries);
                return entries;
            }
        }
    }
}

/// The transfer IDs of `address`'s entries, in page order.
fn tx_ids(entries: &[HistoryEntry]) -> Vec<Id> {
    entries.iter().map(|e| e.tx_id).collect()
}

/// The IDs of the transfers in `blocks` that `address` sent or received, newest first: what
/// its history must list.
fn newest_first(blocks: &[SealedBlock], address: &Address) -> Vec<Id> {
    let mut ids = Vec::new();
    for block in blocks.iter().rev() {
        for (tx, id) in block.block.txs.iter().zip(&block.tx_ids).rev() {
            if tx.body.from == *address || tx.body.to == *address {
                ids.push(*id);
            }
        }
    }
    ids
}

#[test]
fn the_sender_gets_out_the_recipient_in_and_a_transfer_to_oneself_one_self_entry() {
    let mut chain = open_chain_with(history_config());
    let paid = Transfer::from_dev(0)
        .to(unfunded(1))
        .amount(1_234)
        .fee(MIN_FEE + 5)
        .sign();
    let own = Transfer::from_dev(1).to(dev(1)).amount(77).sign();
    let block = accept_txs(&mut chain, vec![paid, own], 2);
    let index_of = |tx: &SignedTx| {
        let i = block.block.txs.iter().position(|t| t == tx).unwrap();
        HistoryPosition {
            height: 1,
            index: i as u32,
        }
    };
    let expected = |tx: SignedTx, counterparty, direction| HistoryEntry {
        position: index_of(&tx),
        tx_id: tx.id(),
        counterparty,
        amount: tx.body.amount,
        fee: tx.body.fee,
        nonce: tx.body.nonce,
        timestamp_ms: NOW_MS + 2_000,
        direction,
    };
    let page = |address| chain.account_history().page(&address, 25, None).unwrap();
    let sent = page(dev(0));
    assert_eq!(sent.entries, [expected(paid, unfunded(1), Direction::Out)]);
    assert_eq!(sent.next, None);
    assert_eq!(
        page(unfunded(1)).entries,
        [expected(paid, dev(0), Direction::In)]
    );
    assert_eq!(
        page(dev(1)).entries,
        [expected(own, dev(1), Direction::ToSelf)],
        "one entry, not an in and an out"
    );
    assert!(page(unfunded(2)).entries.is_empty());
    assert_eq!(
        Direction::ToSelf.label(),
        "self",
        "the label wallets are told"
    );
}

#[test]
fn newest_first_across_blocks_and_within_a_block() {
    let mut chain = open_chain_with(history_config());
    let mut blocks = Vec::new();
    let to = unfunded(1);
    let first: Vec<SignedTx> = (0..3)
        .map(|n| Transfer::from_dev(0).to(to).amount(10 + n).nonce(n).sign())
        .collect();
    blocks.push(accept_txs(&mut chain, first, 1));
    let second = vec![
        Transfer::from_dev(0).to(to).amount(20).nonce(3).sign(),
        Transfer::from_dev(1).to(to).amount(21).sign(),
        Transfer::from_dev(0).to(to).amount(22).nonce(4).sign(),
    ];
    blocks.push(accept_txs(&mut chain, second, 2));
    for address in [dev(0), dev(1), to] {
        let entries = chain
            .account_history()
            .page(&address, 100, None)
            .unwrap()
            .entries;
        assert_eq!(tx_ids(&entries), newest_first(&blocks, &address));
        let positions: Vec<HistoryPosition> = entries.iter().map(|e| e.position).collect();
        assert!(
            positions.windows(2).all(|w| w[0] > w[1]),
            "strictly newest first: {positions:?}"
        );
    }
    // dev 0's nonces come back in reverse: the block keeps a sender's transfers in nonce order.
    let nonces: Vec<u64> = chain
        .account_history()
        .page(&dev(0), 100, None)
        .unwrap()
        .entries[..]
        .iter()
        .map(|e| e.nonce)
        .collect();
    assert_eq!(nonces, [4, 3, 2, 1, 0]);
}

#[test]
fn pages_with_cursors_give_every_entry_once_even_while_blocks_are_accepted() {
    let mut chain = open_chain_with(history_config());
    let mut blocks = Vec::new();
    let mut nonce = 0;
    for (seconds, count) in [(1, 10), (2, 10), (3, 3)] {
        let txs = (0..count)
            .map(|i| {
                nonce += 1;
                // Every third one to itself: one entry as well.
                let to = if nonce % 3 == 0 { dev(0) } else { unfunded(i) };
                Transfer::from_dev(0).to(to).nonce(nonce - 1).sign()
            })
            .collect();
        blocks.push(accept_txs(&mut chain, txs, seconds));
    }
    let whole = chain.account_history().page(&dev(0), 100, None).unwrap();
    assert_eq!(whole.entries.len(), 23);
    assert_eq!(whole.next, None);
    assert_eq!(tx_ids(&whole.entries), newest_first(&blocks, &dev(0)));
    for limit in [1, 2, 5, 7, 22, 23, 24, MAX_HISTORY_PAGE] {
        assert_eq!(
            all_pages(&chain, &dev(0), limit),
            whole.entries,
            "limit {limit}"
        );
    }
    // Limits outside 1..=100 are clamped, never a panic or an unbounded read.
    assert_eq!(
        chain
            .account_history()
            .page(&dev(0), 0, None)
            .unwrap()
            .entries
            .len(),
        1
    );
    let huge = chain
        .account_history()
        .page(&dev(0), usize::MAX, None)
        .unwrap();
    assert_eq!(huge.entries, whole.entries);

    // A cursor taken before a block is accepted goes on where it was: the new entries are newer.
    let first = chain.account_history().page(&dev(0), 5, None).unwrap();
    let later = Transfer::from_dev(0).to(unfunded(9)).nonce(nonce).sign();
    blocks.push(accept_txs(&mut chain, vec![later], 4));
    let rest = chain
        .account_history()
        .page(&dev(0), 100, first.next)
        .unwrap()
        .entries;
    assert_eq!(rest, whole.entries[5..]);
    let newest = chain
        .account_history()
        .page(&dev(0), 1, None)
        .unwrap()
        .entries;
    assert_eq!(tx_ids(&newest), [later.id()]);
}

#[test]
fn with_history_off_nothing_is_written_and_pages_are_refused() {
    let txs = || vec![Transfer::from_dev(0).to(unfunded(1)).sign()];
    let off = memory_store();
    let mut chain = open_chain_on(off.clone(), chain_config());
    accept_txs(&mut chain, txs(), 1);
    assert_eq!(history_entry_count(&*off), 0);
    assert_eq!(
        chain.account_history().page(&dev(0), 25, None),
        Err(HistoryError::Disabled)
    );
    // The same block with history on writes its two entries: the count above means something.
    let on = memory_store();
    accept_txs(&mut open_chain_on(on.clone(), history_config()), txs(), 1);
    assert_eq!(history_entry_count(&*on), 2);
}

#[test]
fn processing_rejected_and_pending_transfers_never_appear() {
    let (mut x, mut y) = (
        open_chain_with(history_config()),
        open_chain_with(history_config()),
    );
    let t1 = Transfer::from_dev(0).to(unfunded(1)).sign();
    let t2 = Transfer::from_dev(1).to(unfunded(2)).sign();
    admit(&mut x, t1);
    admit(&mut y, t2);
    let a = x.build_block(NOW_MS).unwrap();
    let b = y.build_block(NOW_MS).unwrap();
    deliver(&mut x, &b, NOW_MS).unwrap();
    let everyone = [
        dev(0),
        dev(1),
        dev(2),
        unfunded(1),
        unfunded(2),
        unfunded(3),
    ];
    let count = |chain: &Chain, address: &Address| {
        chain
            .account_history()
            .page(address, 100, None)
            .unwrap()
            .entries
            .len()
    };
    for address in &everyone {
        assert_eq!(count(&x, address), 0, "processing blocks are not history");
    }
    x.accept_block(a.id).unwrap();
    x.reject_block(b.id, NOW_MS).unwrap();
    // Pending (admitted, in no block) is not history either.
    admit(&mut x, Transfer::from_dev(2).to(unfunded(3)).sign());
    let counts: Vec<usize> = everyone.iter().map(|a| count(&x, a)).collect();
    assert_eq!(counts, [1, 0, 0, 1, 0, 0]);
}

/// Blocks with transfers among dev keys 0 to 2 and unfunded 1 to 3, built on one chain.
fn some_blocks(chain: &mut Chain, first_height: u64, count: u64) -> Vec<SealedBlock> {
    (first_height..first_height + count)
        .map(|height| {
            let nonce = height - 1;
            let txs = vec![
                Transfer::from_dev(0).to(unfunded(1)).nonce(nonce).sign(),
                Transfer::from_dev(1)
                    .to(dev(0))
                    .amount(height)
                    .nonce(nonce)
                    .sign(),
                Transfer::from_dev(2).to(dev(2)).nonce(nonce).sign(),
            ];
            accept_txs(chain, txs, height)
        })
        .collect()
}

/// Delivers and accepts `blocks` on `chain`, as a follower does.
fn follow(chain: &mut Chain, blocks: &[SealedBlock]) {
    for block in blocks {
        deliver(chain, block, NOW_MS + 1_000_000).unwrap();
        chain.accept_block(block.id).unwrap();
    }
}

/// Asserts that `chain`'s pages equal `reference`'s for everyone the blocks touched.
fn same_pages(chain: &Chain, reference: &Chain) {
    for address in [dev(0), dev(1), dev(2), unfunded(1), unfunded(2)] {
        assert_eq!(
            all_pages(chain, &address, 4),
            all_pages(reference, &address, 4),
            "{address}"
        );
    }
}

#[test]
fn turning_history_on_later_gives_the_pages_of_a_chain_indexed_from_the_start() {
    let watched = Arc::new(WatchedStore::default());
    let store: Arc<dyn KvStore> = watched.clone();
    let mut indexed = open_chain_with(history_config());
    let mut chain = open_chain_on(store.clone(), chain_config());
    let blocks = some_blocks(&mut chain, 1, 5);
    follow(&mut indexed, &blocks);
    drop(chain);

    let chain = open_chain_on(store.clone(), history_config());
    same_pages(&chain, &indexed);
    assert_eq!(all_pages(&chain, &dev(0), 100).len(), 10);
    drop(chain);
    // Complete now: the next start writes nothing.
    let writes = watched.writes();
    drop(open_chain_on(store.clone(), history_config()));
    assert_eq!(watched.writes(), writes, "no second backfill");

    // Off for a while: the blocks accepted meanwhile are indexed when it is on again.
    let mut chain = open_chain_on(store.clone(), chain_config());
    let more = some_blocks(&mut chain, 6, 3);
    follow(&mut indexed, &more);
    drop(chain);
    let chain = open_chain_on(store, history_config());
    same_pages(&chain, &indexed);
    assert_eq!(all_pages(&chain, &dev(0), 100).len(), 16);
}

#[test]
fn a_backfill_cut_short_resumes_where_it_stopped() {
    let watched = Arc::new(WatchedStore::default());
    let store: Arc<dyn KvStore> = watched.clone();
    let mut chain = open_chain_on(store.clone(), chain_config());
    // More blocks than one backfill write takes (64), so it takes three.
    let blocks: Vec<SealedBlock> = (0..130)
        .map(|n| {
            let tx = Transfer::from_dev(0).to(unfunded(1)).nonce(n).sign();
            accept_txs(&mut chain, vec![tx], n + 1)
        })
        .collect();
    drop(chain);
    // The first write lands, the second fails: as if the node died between them.
    watched.fail_writes_after(1);
    assert!(Chain::open(
        store.clone(),
        crate::chain::genesis::LOCAL_GENESIS_JSON.as_bytes(),
        history_config()
    )
    .is_err());
    watched.fail_writes_after(usize::MAX);
    let writes = watched.writes();
    let chain = open_chain_on(store, history_config());
    assert_eq!(
        watched.writes() - writes,
        2,
        "the 64 newest blocks are not indexed again"
    );
    let expected = newest_first(&blocks, &dev(0));
    assert_eq!(expected.len(), 130);
    assert_eq!(tx_ids(&all_pages(&chain, &dev(0), 100)), expected);
    assert_eq!(tx_ids(&all_pages(&chain, &unfunded(1), 30)), expected);
}

#[test]
fn a_backfill_counts_what_it_indexed_and_marks_the_index_complete_from_height_1() {
    let store = memory_store();
    // A fresh chain with history on has nothing to index, yet is complete from height 1.
    drop(open_chain_on(store.clone(), history_config()));
    assert_eq!(layout::history_from(&*store).unwrap(), Some(1));
    layout::clear_history_from(&*store).unwrap();
    let mut chain = open_chain_on(store.clone(), chain_config());
    some_blocks(&mut chain, 1, 3);
    drop(chain);
    assert_eq!(layout::history_from(&*store).unwrap(), None);
    let chain = open_chain_on(store.clone(), history_config());
    // Genesis holds no transfer and is never read for the index.
    assert_eq!(layout::history_from(&*store).unwrap(), Some(1));
    layout::clear_history_from(&*store).unwrap();
    assert_eq!(
        chain.prepare_history().unwrap(),
        3,
        "the three accepted blocks"
    );
    assert_eq!(layout::history_from(&*store).unwrap(), Some(1));
    assert_eq!(
        chain.prepare_history().unwrap(),
        0,
        "complete: nothing to index"
    );
}

#[test]
fn a_stored_page_holds_at_most_what_was_asked() {
    let store = memory_store();
    let mut chain = open_chain_on(store.clone(), history_config());
    some_blocks(&mut chain, 1, 3);
    for take in 1..=4 {
        let page = layout::history_page(&*store, &dev(0), None, take).unwrap();
        assert_eq!(page.len(), take, "dev 0 has 6 entries");
    }
}
