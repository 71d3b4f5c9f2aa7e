//! State sync between two chains of the same genesis, driven by hand: the serving chain's
//! snapshot answers, the syncing chain checks every piece, writes it, and ends with the
//! serving chain's state; bad pieces are refused; a sync cut short resumes on reopen.

use super::admit;
use crate::chain::commitment::BUCKETS;
use crate::chain::sync::{verify_buckets, SyncError, SyncHead, SyncResponse};
use crate::chain::{Address, Chain, ChainConfig};
use crate::storage::KvStore;
use crate::test_utils::{
    assert_accepted_invariants, chain_config, memory_store, open_chain_on, Transfer, NOW_MS,
};
use std::sync::Arc;

const INTERVAL: u64 = 4;

fn config() -> ChainConfig {
    ChainConfig {
        summary_interval: Some(INTERVAL),
        ..chain_config()
    }
}

fn recipient(i: u32) -> Address {
    let mut a = [0u8; 32];
    a[..4].copy_from_slice(&i.wrapping_mul(2_654_435_761).to_be_bytes());
    a[31] = 1;
    Address(a)
}

/// A chain with `blocks` accepted blocks of transfers from dev key 0 to many new accounts.
fn served(blocks: u64) -> Chain {
    let mut chain = open_chain_on(memory_store(), config());
    let mut nonce = 0;
    for b in 0..blocks {
        for _ in 0..20 {
            admit(
                &mut chain,
                Transfer::from_dev(0)
                    .to(recipient(nonce as u32))
                    .amount(1_000 + nonce)
                    .nonce(nonce)
                    .sign(),
            );
            nonce += 1;
        }
        let block = chain.build_block(NOW_MS + b).unwrap();
        chain.accept_block(block.id).unwrap();
    }
    chain
}

/// Fetches every bucket from `serve` into `syncing`, skipping `done`; `tamper` may change a
/// response before it is checked. Returns how many responses were refused.
fn fetch_buckets(
    syncing: &Chain,
    head: &SyncHead,
    serve: &dyn Fn(usize) -> SyncResponse,
    done: &[usize],
) -> usize {
    let mut refused = 0;
    let mut next = 0;
    while next < BUCKETS {
        if done.contains(&next) {
            next += 1;
            continue;
        }
        match verify_buckets(head, next, BUCKETS, serve(next)) {
            Ok(buckets) => {
                next = buckets.last().unwrap().0 + 1;
                syncing.write_synced_buckets(&buckets).unwrap();
            }
            Err(_) => {
                refused += 1;
                assert!(refused < 10, "the honest answer is never refused");
            }
        }
    }
    refused
}

#[test]
fn a_synced_chain_ends_with_the_servers_state_and_follows_it() {
    let mut server = served(9);
    let snapshot = server.last_state_summary().expect("a summary at height 8");
    let summary = snapshot.summary();
    assert_eq!(summary.height, 8);
    assert_eq!(server.state_summary_at(4).unwrap().summary().height, 4);
    assert!(server.state_summary_at(5).is_none());

    let store = memory_store();
    let mut syncing = open_chain_on(store.clone(), config());
    assert_eq!(syncing.begin_sync(&summary).unwrap(), Vec::<usize>::new());
    let head = SyncHead::verify(summary, snapshot.head()).unwrap();
    fetch_buckets(
        &syncing,
        &head,
        &|first| snapshot.buckets(first, BUCKETS),
        &[],
    );
    syncing.finish_sync(&head).unwrap();

    assert_eq!(syncing.last_accepted().id, summary.block_id);
    assert_eq!(syncing.synced_from(), Some(8));
    assert!(!syncing.sync_pending());
    assert_accepted_invariants(&syncing);
    // The server has moved on by one block; the synced chain verifies and accepts it.
    let next_id = server.block_id_at_height(9).unwrap().unwrap();
    let next = server.get_block(&next_id).unwrap().unwrap();
    super::deliver(&mut syncing, &next, NOW_MS + 100).unwrap();
    syncing.accept_block(next.id).unwrap();
    assert_eq!(syncing.recompute_digest(), server.recompute_digest());
    for i in 0..180 {
        assert_eq!(
            syncing.account(&recipient(i)),
            server.account(&recipient(i))
        );
    }
    // Reopened, it is the same chain, still knowing where it synced from.
    drop(syncing);
    let reopened = open_chain_on(store, config());
    assert_eq!(reopened.last_accepted().id, next.id);
    assert_eq!(reopened.synced_from(), Some(8));
    let _ = &mut server;
}

#[test]
fn bad_heads_and_chunks_are_refused() {
    let server = served(4);
    let snapshot = server.last_state_summary().unwrap();
    let summary = snapshot.summary();
    let SyncResponse::Head {
        block,
        burned,
        checksums,
    } = snapshot.head()
    else {
        panic!("a head")
    };
    let bad_burned = SyncResponse::Head {
        block: block.clone(),
        burned: burned + 1,
        checksums: checksums.clone(),
    };
    assert!(matches!(
        SyncHead::verify(summary, bad_burned),
        Err(SyncError::Mismatch(_))
    ));
    let mut other = checksums.clone();
    other[5][0] ^= 1;
    let bad_checksums = SyncResponse::Head {
        block: block.clone(),
        burned,
        checksums: other,
    };
    assert!(SyncHead::verify(summary, bad_checksums).is_err());
    let head = SyncHead::verify(summary, snapshot.head()).unwrap();

    // Find a non-empty bucket and corrupt its answer in every way a peer could.
    let bucket = (0..BUCKETS)
        .find(|b| match snapshot.buckets(*b, BUCKETS) {
            SyncResponse::Buckets { buckets, .. } => !buckets[0].is_empty(),
            _ => false,
        })
        .unwrap();
    let answer = |change: &dyn Fn(&mut Vec<Vec<crate::chain::sync::WireAccount>>)| {
        let SyncResponse::Buckets { first, mut buckets } = snapshot.buckets(bucket, BUCKETS) else {
            panic!()
        };
        change(&mut buckets);
        SyncResponse::Buckets { first, buckets }
    };
    let corrupt = answer(&|b| b[0][0].balance += 1);
    assert!(matches!(
        verify_buckets(&head, bucket, BUCKETS, corrupt),
        Err(SyncError::Mismatch(_))
    ));
    let truncated = answer(&|b| {
        b[0].pop();
    });
    assert!(verify_buckets(&head, bucket, BUCKETS, truncated).is_err());
    let reordered = answer(&|b| b[0].reverse());
    if matches!(&snapshot.buckets(bucket, BUCKETS), SyncResponse::Buckets { buckets, .. } if buckets[0].len() > 1)
    {
        assert!(verify_buckets(&head, bucket, BUCKETS, reordered).is_err());
    }
    let none = answer(&|b| b.clear());
    assert!(verify_buckets(&head, bucket, BUCKETS, none).is_err());
    assert!(verify_buckets(
        &head,
        bucket + 1,
        BUCKETS,
        snapshot.buckets(bucket, BUCKETS)
    )
    .is_err());
    assert!(verify_buckets(&head, bucket, BUCKETS, snapshot.head()).is_err());
    assert!(verify_buckets(&head, bucket, BUCKETS, snapshot.buckets(bucket, BUCKETS)).is_ok());
    // More buckets than were asked for are refused.
    assert!(verify_buckets(&head, 0, bucket, snapshot.buckets(0, bucket + 1)).is_err());
}

#[test]
fn a_sync_cut_short_reports_nothing_partial_and_resumes() {
    let server = served(8);
    let snapshot = server.last_state_summary().unwrap();
    let summary = snapshot.summary();
    let store = memory_store();
    let mut syncing = open_chain_on(store.clone(), config());
    let genesis = syncing.last_accepted().clone();
    syncing.begin_sync(&summary).unwrap();
    let head = SyncHead::verify(summary, snapshot.head()).unwrap();
    // Half the buckets arrive, then the process dies.
    let mut written = Vec::new();
    let mut next = 0;
    while next < BUCKETS / 2 {
        let buckets =
            verify_buckets(&head, next, BUCKETS, snapshot.buckets(next, BUCKETS)).unwrap();
        next = buckets.last().unwrap().0 + 1;
        written.extend(buckets.iter().map(|(b, _)| *b));
        syncing.write_synced_buckets(&buckets).unwrap();
    }
    drop(syncing);
    let mut reopened = open_chain_on(store.clone(), config());
    assert!(reopened.sync_pending());
    assert_eq!(
        reopened.last_accepted().id,
        genesis.id,
        "not the partial state"
    );
    assert_eq!(reopened.account_count(), 0);
    assert!(reopened.last_state_summary().is_none());
    assert_eq!(reopened.sync_target().unwrap(), Some(summary));
    let mut done = reopened.begin_sync(&summary).unwrap();
    done.sort();
    assert_eq!(done, written, "the same sync resumes where it stopped");
    fetch_buckets(
        &reopened,
        &head,
        &|first| snapshot.buckets(first, BUCKETS),
        &done,
    );
    reopened.finish_sync(&head).unwrap();
    assert_eq!(reopened.recompute_digest(), server.recompute_digest());
    assert_accepted_invariants(&reopened);

    // A sync to another summary starts from scratch: nothing of the first is taken as done.
    let store2: Arc<dyn KvStore> = memory_store();
    let mut other = open_chain_on(store2, config());
    other.begin_sync(&summary).unwrap();
    other
        .write_synced_buckets(
            &verify_buckets(&head, 0, BUCKETS, snapshot.buckets(0, BUCKETS)).unwrap(),
        )
        .unwrap();
    let older = server.state_summary_at(4).unwrap().summary();
    assert_eq!(other.begin_sync(&older).unwrap(), Vec::<usize>::new());
}

#[test]
fn a_reopened_chain_serves_the_summary_it_served_before_by_undoing_the_blocks_since() {
    let store = memory_store();
    let mut chain = open_chain_on(store.clone(), config());
    let mut nonce = 0u64;
    for b in 0..7u64 {
        for i in 0..10u32 {
            // Self-transfers too: undone, they give back the fee alone.
            let to = if i == 3 {
                crate::chain::tx::address_of(&crate::keys::dev_key(0))
            } else {
                recipient(nonce as u32)
            };
            admit(
                &mut chain,
                Transfer::from_dev(0)
                    .to(to)
                    .amount(10 + nonce)
                    .nonce(nonce)
                    .sign(),
            );
            nonce += 1;
        }
        let block = chain.build_block(NOW_MS + b).unwrap();
        chain.accept_block(block.id).unwrap();
    }
    let before = chain.last_state_summary().unwrap();
    assert_eq!(before.summary().height, 4);
    drop(chain);
    let reopened = open_chain_on(store, config());
    assert_eq!(reopened.last_accepted().block.height, 7);
    let after = reopened.last_state_summary().expect("rebuilt at open");
    assert_eq!(after.summary(), before.summary());
    assert_eq!(after.head(), before.head());
    assert_eq!(after.buckets(0, BUCKETS), before.buckets(0, BUCKETS));
    assert_eq!(after.account_count(), before.account_count());
}
