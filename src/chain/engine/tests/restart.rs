//! Restart from a store: a reopened chain resumes where it was (accepted work only), a store
//! is bound to one chain ID and one genesis, and damage is reported rather than guessed around.

use super::{accepted_at, admit, unfunded};
use crate::chain::engine::layout::{scan_accounts, ACCOUNT_CHUNK};
use crate::chain::engine::GenesisFacts;
use crate::chain::engine::{presized_accounts, MAX_PRESIZED_ACCOUNTS};
use crate::chain::genesis::{source_hash, Allocation, Genesis, LOCAL_GENESIS_JSON};
use crate::chain::maps::address_map_with_capacity;
use crate::chain::tx::address_of;
use crate::chain::{Account, Address, Chain, ChainConfig, Id, OpenError, SealedBlock};
use crate::keys::dev_key;
use crate::storage::{KvStore, WriteBatch};
use crate::test_utils::{
    assert_accepted_invariants, chain_config, local_genesis_with_caps, memory_store, open_chain_on,
    Transfer, WatchedStore, MIN_FEE, NETWORK_ID, NOW_MS,
};
use std::ops::ControlFlow;
use std::sync::Arc;

/// A store whose chain accepted three blocks (dev keys 0, 1 and 2 each sent their nonces 0 to
/// 2 to unfunded 1), then was closed holding one block processing (dev 3's transfer) and one
/// transfer pending (dev 4's); with what the chain said before it closed.
struct History {
    store: Arc<dyn KvStore>,
    /// Genesis, then the accepted blocks by height.
    blocks: Vec<SealedBlock>,
    /// Every accepted transfer with the height of its block.
    accepted: Vec<(Id, u64)>,
    processing: SealedBlock,
    /// Dev keys 0 to 4, then unfunded 1, with their accounts and next nonces.
    addresses: Vec<Address>,
    accounts: Vec<Account>,
    nonces: Vec<u64>,
    last: SealedBlock,
    burned: u64,
    digest: Id,
    account_count: usize,
}

fn history() -> History {
    let store = memory_store();
    let mut chain = open_chain_on(store.clone(), chain_config());
    let mut blocks = vec![chain.last_accepted().clone()];
    let mut accepted = Vec::new();
    let to = unfunded(1);
    for height in 1..=3u64 {
        for i in 0..3u32 {
            let tx = Transfer::from_dev(i)
                .to(to)
                .amount(height * 10 + u64::from(i));
            accepted.push((admit(&mut chain, tx.nonce(height - 1).sign()), height));
        }
        let block = chain.build_block(NOW_MS + height * 1_000).unwrap();
        chain.accept_block(block.id).unwrap();
        blocks.push(block);
    }
    // Something pending and something processing are not persisted; that is fine.
    admit(&mut chain, Transfer::from_dev(3).to(to).sign());
    let processing = chain.build_block(NOW_MS + 4_000).unwrap();
    admit(&mut chain, Transfer::from_dev(4).to(to).sign());
    let addresses: Vec<Address> = (0..5)
        .map(|i| address_of(&dev_key(i)))
        .chain([to])
        .collect();
    History {
        accounts: addresses.iter().map(|a| chain.account(a)).collect(),
        nonces: addresses.iter().map(|a| chain.pending_nonce(a)).collect(),
        last: chain.last_accepted().clone(),
        burned: chain.burned(),
        digest: chain.recompute_digest(),
        account_count: chain.account_count(),
        store,
        blocks,
        accepted,
        processing,
        addresses,
    }
}

/// Opening `store` with `genesis` and `config`, which must be refused.
fn open_error(store: &Arc<dyn KvStore>, genesis: &[u8], config: ChainConfig) -> OpenError {
    Chain::open(store.clone(), genesis, config)
        .err()
        .expect("must be refused")
}

/// The same, then checks that the refusal left the store usable.
fn refused_and_usable(history: &History, genesis: &[u8], config: ChainConfig) -> OpenError {
    let err = open_error(&history.store, genesis, config);
    let chain = open_chain_on(history.store.clone(), chain_config());
    assert_eq!(chain.last_accepted().id, history.last.id);
    err
}

#[test]
fn a_chain_reopened_on_its_store_resumes_its_accepted_state() {
    let h = history();
    let chain = open_chain_on(h.store.clone(), chain_config());
    assert_eq!(*chain.last_accepted(), h.last);
    assert_eq!(chain.preferred(), h.last.id);
    assert_eq!(chain.burned(), h.burned);
    assert_eq!(chain.burned(), 9 * MIN_FEE);
    assert_eq!(chain.recompute_digest(), h.digest);
    assert_eq!(chain.account_count(), h.account_count);
    assert_accepted_invariants(&chain);
    for (address, account) in h.addresses.iter().zip(&h.accounts) {
        assert_eq!(chain.account(address), *account);
    }
    for (i, address) in h.addresses.iter().enumerate().take(3) {
        assert_eq!(chain.pending_nonce(address), h.nonces[i]);
        assert_eq!(chain.pending_nonce(address), 3);
    }
}

#[test]
fn a_chain_reopened_on_its_store_finds_every_accepted_block_and_transfer() {
    let h = history();
    let chain = open_chain_on(h.store.clone(), chain_config());
    for (id, height) in &h.accepted {
        let block = &h.blocks[*height as usize];
        assert_eq!(chain.tx_status(id), accepted_at(block));
        assert!(chain.find_tx(id).is_some());
    }
    for block in &h.blocks {
        assert_eq!(chain.get_block(&block.id).unwrap().as_ref(), Some(block));
        assert_eq!(
            chain.block_id_at_height(block.block.height).unwrap(),
            Some(block.id)
        );
    }
}

#[test]
fn a_chain_reopened_on_its_store_has_forgotten_its_pending_and_processing_work() {
    let h = history();
    let chain = open_chain_on(h.store.clone(), chain_config());
    assert_eq!(chain.pending_nonce(&h.addresses[3]), 0);
    assert_eq!(chain.block_id_at_height(4).unwrap(), None);
    assert_eq!(chain.get_block(&h.processing.id).unwrap(), None);
    assert!(chain.mempool().is_empty());
}

#[test]
fn a_store_refuses_another_chain_id() {
    let h = history();
    let other_chain = ChainConfig::new(NETWORK_ID, Id([1; 32]));
    let err = refused_and_usable(&h, LOCAL_GENESIS_JSON.as_bytes(), other_chain);
    assert!(matches!(err, OpenError::OtherChain(_)), "{err}");
    assert!(err.to_string().contains("another chain"), "{err}");
}

#[test]
fn a_store_refuses_another_genesis() {
    let h = history();
    let other_allocations = LOCAL_GENESIS_JSON.replacen("\"1000000000000000000\"", "\"1\"", 1);
    assert_ne!(other_allocations, LOCAL_GENESIS_JSON);
    let err = refused_and_usable(&h, other_allocations.as_bytes(), chain_config());
    assert!(matches!(err, OpenError::OtherGenesis { .. }), "{err}");
    assert!(err.to_string().contains("fresh data directory"), "{err}");
}

#[test]
fn a_store_refuses_a_genesis_that_differs_only_in_its_parameters() {
    let h = history();
    let other_params = local_genesis_with_caps(10, 1_500_000);
    let err = refused_and_usable(&h, other_params.as_bytes(), chain_config());
    assert!(matches!(err, OpenError::OtherParams), "{err}");
    assert!(err.to_string().contains("genesis parameters"), "{err}");
}

#[test]
fn a_store_whose_state_was_changed_behind_the_chains_back_is_corrupt() {
    let h = history();
    let mut key = b"a/".to_vec();
    key.extend_from_slice(&unfunded(1).0);
    assert!(h.store.get(&key).unwrap().is_some(), "account key layout");
    let tampered = Account {
        balance: h.accounts[5].balance + 1,
        ..h.accounts[5]
    };
    let mut batch = WriteBatch::default();
    batch.put(key, tampered.to_bytes().to_vec());
    h.store.write(batch).unwrap();
    let err = open_error(&h.store, LOCAL_GENESIS_JSON.as_bytes(), chain_config());
    assert!(matches!(err, OpenError::Corrupt(_)), "{err}");
    assert!(err.to_string().contains("digest"), "{err}");
}

#[test]
fn a_store_that_lost_what_the_quick_path_reads_is_corrupt() {
    let h = history();
    let mut batch = WriteBatch::default();
    batch.put(b"m/supply".to_vec(), b"short".to_vec());
    h.store.write(batch).unwrap();
    let err = open_error(&h.store, LOCAL_GENESIS_JSON.as_bytes(), chain_config());
    assert!(matches!(err, OpenError::Corrupt(_)), "{err}");
    assert!(err.to_string().contains("corrupt"), "{err}");
}

/// The genesis block ID of a document, derived in full.
fn derived_genesis_id(genesis: &[u8]) -> Id {
    Genesis::from_json(genesis)
        .and_then(Genesis::into_state)
        .unwrap()
        .block
        .id
}

#[test]
fn a_restart_on_a_reformatted_genesis_derives_it_again_and_agrees() {
    let store = memory_store();
    let mut chain = open_chain_on(store.clone(), chain_config());
    let supply = chain.supply();
    let tx = admit(
        &mut chain,
        Transfer::from_dev(0).to(unfunded(2)).amount(5).sign(),
    );
    let block = chain.build_block(NOW_MS).unwrap();
    chain.accept_block(block.id).unwrap();
    drop(chain);
    // Same document, other bytes: not the stored hash, so it is parsed and derived in full,
    // and must name the same genesis block.
    let reformatted = serde_json::to_vec_pretty(
        &serde_json::from_str::<serde_json::Value>(LOCAL_GENESIS_JSON).unwrap(),
    )
    .unwrap();
    assert_ne!(reformatted, LOCAL_GENESIS_JSON.as_bytes());
    for genesis in [
        &reformatted[..],
        &reformatted[..],
        LOCAL_GENESIS_JSON.as_bytes(),
    ] {
        let mut facts = None;
        let chain = Chain::open_with(store.clone(), genesis, |f| {
            facts = Some(*f);
            chain_config()
        })
        .unwrap();
        assert_eq!(
            facts,
            Some(GenesisFacts {
                network_id: NETWORK_ID,
                genesis_id: derived_genesis_id(genesis)
            })
        );
        assert_eq!(chain.last_accepted().id, block.id);
        assert_eq!(chain.supply(), supply);
        assert_eq!(chain.tx_status(&tx), accepted_at(&block));
        assert_accepted_invariants(&chain);
    }
}

/// What a chain opened from the stored genesis alone says about itself.
fn facts_of_known_open(store: &Arc<dyn KvStore>, source: &Id) -> Option<(GenesisFacts, Id)> {
    let mut facts = None;
    let chain = Chain::open_known(store.clone(), source, |f| {
        facts = Some(*f);
        chain_config()
    })
    .expect("opens or declines")?;
    assert_accepted_invariants(&chain);
    Some((
        facts.expect("the configuration was asked for"),
        chain.last_accepted().id,
    ))
}

#[test]
fn a_restart_needs_only_the_genesis_documents_hash() {
    let h = history();
    let source = source_hash(LOCAL_GENESIS_JSON.as_bytes());
    let (facts, last) = facts_of_known_open(&h.store, &source).expect("the store knows it");
    assert_eq!(
        facts,
        GenesisFacts {
            network_id: NETWORK_ID,
            genesis_id: h.blocks[0].id,
        }
    );
    assert_eq!(last, h.last.id);
    // Another document, or a store that holds no chain yet: the document's bytes are needed.
    assert!(facts_of_known_open(&h.store, &Id([7; 32])).is_none());
    assert!(facts_of_known_open(&memory_store(), &source).is_none());
}

#[test]
fn a_store_from_before_the_genesis_header_was_kept_learns_it_on_its_next_open() {
    let h = history();
    let source = source_hash(LOCAL_GENESIS_JSON.as_bytes());
    h.store
        .write(WriteBatch {
            puts: Vec::new(),
            deletes: vec![b"m/genesis-header".to_vec()],
        })
        .unwrap();
    assert!(facts_of_known_open(&h.store, &source).is_none());
    let chain = open_chain_on(h.store.clone(), chain_config());
    assert_eq!(chain.last_accepted().id, h.last.id);
    drop(chain);
    let (facts, last) = facts_of_known_open(&h.store, &source).expect("kept now");
    assert_eq!(facts.network_id, NETWORK_ID);
    assert_eq!(last, h.last.id);
}

#[test]
fn a_genesis_header_stored_for_another_document_is_read_again_from_this_one() {
    // What a build from before the header was kept leaves when it opens the store with another
    // document of the same genesis block (here: another network): a new hash, the old header.
    let h = history();
    let source = source_hash(LOCAL_GENESIS_JSON.as_bytes());
    let mut stale = Id([9; 32]).0.to_vec();
    stale.extend_from_slice(br#"{"networkId":999,"params":{"minFee":"100","maxBlockTxs":7500,"maxBlockBytes":1500000,"maxExpirySecs":3600}}"#);
    let mut batch = WriteBatch::default();
    batch.put(b"m/genesis-header".to_vec(), stale);
    h.store.write(batch).unwrap();
    assert!(facts_of_known_open(&h.store, &source).is_none());
    drop(open_chain_on(h.store.clone(), chain_config()));
    let (facts, _) = facts_of_known_open(&h.store, &source).expect("read again and kept");
    assert_eq!(facts.network_id, NETWORK_ID);
}

#[test]
fn a_stored_genesis_header_no_chain_writes_is_corrupt() {
    let h = history();
    let mut batch = WriteBatch::default();
    batch.put(b"m/genesis-header".to_vec(), b"{\"networkId\":".to_vec());
    h.store.write(batch).unwrap();
    let source = source_hash(LOCAL_GENESIS_JSON.as_bytes());
    let err = Chain::open_known(h.store.clone(), &source, |_| chain_config())
        .err()
        .expect("refused");
    assert!(matches!(err, OpenError::Corrupt(_)), "{err}");
    let err = open_error(&h.store, LOCAL_GENESIS_JSON.as_bytes(), chain_config());
    assert!(matches!(err, OpenError::Corrupt(_)), "{err}");
}

/// The `i`th of the accounts [`genesis_with_accounts`] adds.
fn filler(i: u32) -> Address {
    let mut address = [0x5a; 32];
    address[..4].copy_from_slice(&i.to_be_bytes());
    Address(address)
}

/// The local genesis with `extra` more funded accounts (addresses no key controls).
fn genesis_with_accounts(extra: u32) -> Vec<u8> {
    let mut genesis = Genesis::from_json(LOCAL_GENESIS_JSON.as_bytes()).unwrap();
    genesis.allocations.extend((0..extra).map(|i| Allocation {
        address: filler(i),
        balance: 1_000 + u64::from(i),
        label: None,
    }));
    serde_json::to_vec(&genesis).unwrap()
}

#[test]
fn a_store_of_many_chunks_of_accounts_reloads_the_same_state() {
    // Two and a half chunks of the load, so full chunks and a short last one are both read.
    let genesis = genesis_with_accounts(5 * ACCOUNT_CHUNK as u32 / 2);
    let store = memory_store();
    let mut chain = Chain::open(store.clone(), &genesis, chain_config()).unwrap();
    let block = {
        admit(&mut chain, Transfer::from_dev(0).to(unfunded(3)).sign());
        let block = chain.build_block(NOW_MS).unwrap();
        chain.accept_block(block.id).unwrap();
        block
    };
    let (count, digest) = (chain.account_count(), chain.recompute_digest());
    let sample: Vec<(Address, Account)> = [unfunded(3), address_of(&dev_key(0))]
        .into_iter()
        .chain((0..3).map(|i| filler(i * 9_000)))
        .map(|a| (a, chain.account(&a)))
        .collect();
    drop(chain);
    let chain = Chain::open(store.clone(), &genesis, chain_config()).unwrap();
    assert_eq!(chain.last_accepted().id, block.id);
    assert_eq!(chain.account_count(), count);
    assert_eq!(chain.recompute_digest(), digest);
    for (address, account) in &sample {
        assert_ne!(*account, Account::default(), "{address} is funded");
        assert_eq!(chain.account(address), *account, "{address}");
    }
    assert_accepted_invariants(&chain);
    drop(chain);
    // The digest is still checked over every chunk: one account changed in the last is found.
    let last = filler(5 * ACCOUNT_CHUNK as u32 / 2 - 1);
    let mut key = b"a/".to_vec();
    key.extend_from_slice(&last.0);
    let mut batch = WriteBatch::default();
    batch.put(
        key,
        Account {
            balance: 1,
            nonce: 0,
        }
        .to_bytes()
        .to_vec(),
    );
    store.write(batch).unwrap();
    let err = open_error(&store, &genesis, chain_config());
    assert!(matches!(err, OpenError::Corrupt(_)), "{err}");
    assert!(err.to_string().contains("digest"), "{err}");
}

#[test]
fn the_stored_account_count_is_only_a_hint() {
    let h = history();
    let count = |store: &Arc<dyn KvStore>| {
        store
            .get(b"m/account-count")
            .unwrap()
            .map(|v| u64::from_le_bytes(v.try_into().unwrap()))
    };
    assert_eq!(
        count(&h.store),
        Some(h.account_count as u64 - 1),
        "as written at genesis"
    );
    // Too small, larger than the chain, absent: the state is the same whatever the hint, and
    // the count is recorded again only when the table had to grow or no count was kept.
    let real = Some(h.account_count as u64);
    for (hint, recorded) in [
        (Some(0u64), real),
        (Some(1 << 20), Some(1 << 20)),
        (None, real),
    ] {
        let mut batch = WriteBatch::default();
        match hint {
            Some(n) => batch.put(b"m/account-count".to_vec(), n.to_le_bytes().to_vec()),
            None => batch.deletes.push(b"m/account-count".to_vec()),
        }
        h.store.write(batch).unwrap();
        let chain = open_chain_on(h.store.clone(), chain_config());
        assert_eq!(chain.account_count(), h.account_count, "hint {hint:?}");
        assert_eq!(chain.recompute_digest(), h.digest, "hint {hint:?}");
        assert_eq!(count(&h.store), recorded, "hint {hint:?}");
    }
    // A count no chain could reach sizes the table for the most any could.
    for absurd in [u64::MAX, 1 << 40] {
        assert_eq!(presized_accounts(Some(absurd)), MAX_PRESIZED_ACCOUNTS);
    }
    assert_eq!(presized_accounts(None), 0);
    assert_eq!(presized_accounts(Some(12)), 12);
}

#[test]
fn a_chain_reports_the_parameters_of_its_genesis_when_opened_and_reopened() {
    let genesis = local_genesis_with_caps(17, 40_000);
    let params = Genesis::from_json(genesis.as_bytes()).unwrap().params;
    assert_eq!((params.max_block_txs, params.max_block_bytes), (17, 40_000));
    let store = memory_store();
    let chain = Chain::open(store.clone(), genesis.as_bytes(), chain_config()).unwrap();
    assert_eq!(chain.params(), &params);
    drop(chain);
    let chain = Chain::open(store, genesis.as_bytes(), chain_config()).unwrap();
    assert_eq!(chain.params(), &params);
}

#[test]
fn store_health_reports_a_store_that_cannot_be_read() {
    let watched = Arc::new(WatchedStore::default());
    let chain = open_chain_on(watched.clone(), chain_config());
    assert!(chain.store_health().is_ok());
    watched.fail_reads(true);
    let err = chain.store_health().expect_err("unreadable");
    assert!(err.to_string().contains("injected read failure"), "{err}");
    watched.fail_reads(false);
    assert!(chain.store_health().is_ok());
}

#[test]
fn a_steady_restart_writes_nothing_even_when_the_count_fills_its_table_exactly() {
    // The table sized for the stored count can hold exactly that many accounts: the chain did
    // not outgrow it, so nothing is to be written again.
    let local = Genesis::from_json(LOCAL_GENESIS_JSON.as_bytes())
        .unwrap()
        .allocations
        .len();
    let exact = (local + 1..4096)
        .find(|&n| address_map_with_capacity::<Account>(n).capacity() == n)
        .expect("some count fills a table exactly");
    let genesis = genesis_with_accounts((exact - local) as u32);
    let watched = Arc::new(WatchedStore::default());
    let store: Arc<dyn KvStore> = watched.clone();
    let chain = Chain::open(store.clone(), &genesis, chain_config()).unwrap();
    assert_eq!(chain.account_count(), exact);
    drop(chain);
    let writes = watched.writes();
    let chain = Chain::open(store, &genesis, chain_config()).unwrap();
    assert_eq!(chain.account_count(), exact);
    assert_eq!(
        watched.writes(),
        writes,
        "a restart with nothing new writes nothing"
    );
}

#[test]
fn a_chain_loaded_before_its_genesis_hash_is_known_opens_only_on_that_hash() {
    let watched = Arc::new(WatchedStore::default());
    let store: Arc<dyn KvStore> = watched.clone();
    let mut chain = open_chain_on(store.clone(), chain_config());
    admit(&mut chain, Transfer::from_dev(0).to(unfunded(4)).sign());
    let block = chain.build_block(NOW_MS).unwrap();
    chain.accept_block(block.id).unwrap();
    drop(chain);
    // Without a stored count the open has something to write: it must wait for the hash.
    store
        .write(WriteBatch {
            puts: Vec::new(),
            deletes: vec![b"m/account-count".to_vec()],
        })
        .unwrap();
    let source = source_hash(LOCAL_GENESIS_JSON.as_bytes());
    let load = || {
        Chain::load_known(store.clone(), |_| chain_config())
            .unwrap()
            .expect("the store knows its genesis")
    };
    let writes = watched.writes();
    assert!(load().open_if_from(&Id([7; 32])).unwrap().is_none());
    assert_eq!(
        watched.writes(),
        writes,
        "another document: nothing written"
    );
    let chain = load()
        .open_if_from(&source)
        .unwrap()
        .expect("its own document");
    assert_eq!(
        watched.writes(),
        writes + 1,
        "the account count, kept again"
    );
    assert_eq!(chain.last_accepted().id, block.id);
    assert_accepted_invariants(&chain);
    drop(chain);
    // A store that holds no chain yet has nothing to load.
    assert!(Chain::load_known(memory_store(), |_| chain_config())
        .unwrap()
        .is_none());
}

#[test]
fn accounts_are_scanned_in_full_chunks_then_the_rest_and_the_scan_stops_when_asked() {
    let genesis = genesis_with_accounts(5 * ACCOUNT_CHUNK as u32 / 2);
    let watched = Arc::new(WatchedStore::default());
    let store: Arc<dyn KvStore> = watched.clone();
    let chain = Chain::open(store.clone(), &genesis, chain_config()).unwrap();
    let total = chain.account_count();
    drop(chain);
    let mut sizes = Vec::new();
    scan_accounts(&*store, &mut |chunk| {
        sizes.push(chunk.len());
        ControlFlow::Continue(())
    })
    .unwrap();
    let full = total / ACCOUNT_CHUNK;
    assert_eq!(sizes.len(), full + 1);
    assert!(
        sizes[..full].iter().all(|&n| n == ACCOUNT_CHUNK),
        "{sizes:?}"
    );
    assert_eq!(sizes[full], total % ACCOUNT_CHUNK);
    // A count that fills its last chunk exactly: no empty chunk after it.
    let local = total - 5 * ACCOUNT_CHUNK / 2;
    let exact = genesis_with_accounts((2 * ACCOUNT_CHUNK - local) as u32);
    let exact_store = memory_store();
    drop(Chain::open(exact_store.clone(), &exact, chain_config()).unwrap());
    let mut exact_sizes = Vec::new();
    scan_accounts(&*exact_store, &mut |chunk| {
        exact_sizes.push(chunk.len());
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(exact_sizes, vec![ACCOUNT_CHUNK, ACCOUNT_CHUNK]);
    // A visitor that has enough hears of nothing more.
    let mut calls = 0;
    scan_accounts(&*store, &mut |_| {
        calls += 1;
        ControlFlow::Break(())
    })
    .unwrap();
    assert_eq!(calls, 1);
    // A store that cannot be read is the store's failure, to retry.
    watched.fail_reads(true);
    let err = scan_accounts(&*store, &mut |_| ControlFlow::Continue(())).unwrap_err();
    assert!(matches!(err, OpenError::Store(_)), "{err}");
    watched.fail_reads(false);
    // An entry that is no account is damage, to restore from elsewhere.
    let mut batch = WriteBatch::default();
    batch.put([b"a/".as_slice(), &[7; 31]].concat(), vec![0; 16]);
    store.write(batch).unwrap();
    let err = scan_accounts(&*store, &mut |_| ControlFlow::Continue(())).unwrap_err();
    assert!(matches!(err, OpenError::Corrupt(_)), "{err}");
}
