//! How the chain lies in its key-value store: the keys, the batches written at genesis and at
//! each accept, and the reads that load it back. Nothing else in the core knows a key.
//!
//! | key | value |
//! |---|---|
//! | `a/<address>` | account (balance, nonce) |
//! | `b/<block id>` | accepted block bytes |
//! | `h/<height, big-endian>` | accepted block ID at that height |
//! | `t/<tx id>` | height (big-endian) and index (little-endian u32) of an accepted transfer |
//! | `m/last`, `m/burned` | last accepted block ID, fees burned up to it |
//! | `m/genesis`, `m/chain`, `m/params` | what the store is bound to: genesis block, chain ID, parameters |
//! | `m/genesis-source`, `m/supply` | hash of the genesis document and its supply (the quick restart) |
//! | `m/genesis-header` | the hash of the document it was read from, then the document's network ID and parameters (JSON), so a restart on the same document reads none of it but its hash |
//! | `m/account-count` | accounts at the last open (little-endian u64): a hint to size the account table, trusted for nothing else |
//! | `x/<address><u64::MAX − height, big-endian><u32::MAX − index, big-endian>` | account history entry (only when enabled): tx ID, counterparty, amount, fee, nonce, block timestamp, direction (SCALE, 97 bytes); the inverted position makes a forward scan newest first |
//! | `m/history-from` | history index marker: complete for every height at or above it (little-endian u64); absent when the index is off or was never built |
//! | `m/sync-target` | the state summary a state sync is writing (its bytes), while one is under way: the accounts are then partial and the last accepted block is not theirs |
//! | `y/<bucket, big-endian u16>` | a bucket the state sync under way has written (empty value) |
//! | `m/synced-from` | the height this node state-synced to (little-endian u64): blocks and transfers below it were never here |

use super::super::block::SealedBlock;
use super::super::error::HistoryError;
use super::super::error::OpenError;
use super::super::genesis::ChainParams;
use super::super::ids::{Address, Id};
use super::super::maps::AddressMap;
use super::super::state::Account;
use super::super::sync::{StateSummary, SyncedBucket};
use super::history::{Direction, HistoryEntry, HistoryPosition};
use super::{ProcessingBlock, TxLocation};
use crate::storage::{KvStore, StoreError, WriteBatch};
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;

const KEY_ACCOUNT: &[u8] = b"a/";
const KEY_BLOCK: &[u8] = b"b/";
const KEY_HEIGHT: &[u8] = b"h/";
const KEY_TX: &[u8] = b"t/";
const KEY_LAST: &[u8] = b"m/last";
const KEY_BURNED: &[u8] = b"m/burned";
const KEY_GENESIS: &[u8] = b"m/genesis";
const KEY_CHAIN: &[u8] = b"m/chain";
const KEY_PARAMS: &[u8] = b"m/params";
/// SHA-256 of the genesis document the store was created from.
const KEY_GENESIS_SOURCE: &[u8] = b"m/genesis-source";
/// The genesis supply (sum of allocations).
const KEY_SUPPLY: &[u8] = b"m/supply";
/// The genesis document's network ID and parameters.
const KEY_GENESIS_HEADER: &[u8] = b"m/genesis-header";
/// How many accounts the last open loaded: a sizing hint.
const KEY_ACCOUNT_COUNT: &[u8] = b"m/account-count";
/// Account history entries, by address then inverted position.
const KEY_HISTORY: &[u8] = b"x/";
/// The lowest height from which the history index is complete.
const KEY_HISTORY_FROM: &[u8] = b"m/history-from";
/// The summary of the state sync under way.
const KEY_SYNC_TARGET: &[u8] = b"m/sync-target";
/// Buckets the state sync under way has written.
const KEY_SYNCED_BUCKET: &[u8] = b"y/";
/// The height the node state-synced to.
const KEY_SYNCED_FROM: &[u8] = b"m/synced-from";
/// `x/` + address + height + index.
const HISTORY_KEY_LEN: usize = 2 + 32 + 8 + 4;

fn key(prefix: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + rest.len());
    k.extend_from_slice(prefix);
    k.extend_from_slice(rest);
    k
}

fn corrupt(what: impl std::fmt::Display) -> OpenError {
    OpenError::Corrupt(what.to_string())
}

fn read_u64(store: &dyn KvStore, key: &[u8]) -> Result<Option<u64>, StoreError> {
    Ok(store
        .get(key)?
        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
        .map(u64::from_le_bytes))
}

fn read_id(store: &dyn KvStore, key: &[u8]) -> Result<Option<Id>, StoreError> {
    Ok(store.get(key)?.as_deref().and_then(Id::from_slice))
}

/// A digest of the genesis parameters, stored with the chain so a store is never reopened
/// under other consensus rules.
pub(super) fn params_fingerprint(params: &ChainParams) -> Id {
    let json = serde_json::to_vec(params).expect("parameters serialize");
    let mut bytes = b"transfervm/genesis-params/v1".to_vec();
    bytes.extend_from_slice(&json);
    Id::hash_of(&bytes)
}

/// What a genesis document says besides its allocations and timestamp (which its block
/// commits to): kept in the store so a restart on the same document need not parse it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct KnownHeader {
    /// The network the document names.
    pub(super) network_id: u32,
    /// Its consensus parameters.
    pub(super) params: ChainParams,
}

impl KnownHeader {
    /// The stored form: the document's hash, then the header as JSON. The hash ties the header
    /// to its document: a build from before the header was kept updates the hash alone when it
    /// opens the store with another document of the same genesis block.
    fn to_bytes(&self, source: &Id) -> Vec<u8> {
        let mut bytes = source.0.to_vec();
        bytes.extend(serde_json::to_vec(self).expect("a header serializes"));
        bytes
    }

    /// The header stored for the document hashing to `source`; `None` if it was stored for
    /// another document (it is then read from the document again).
    fn from_bytes(bytes: &[u8], source: &Id) -> Result<Option<Self>, OpenError> {
        let (hash, json) = bytes
            .split_at_checked(source.0.len())
            .ok_or_else(|| corrupt("stored genesis header too short"))?;
        if hash != source.0 {
            return Ok(None);
        }
        serde_json::from_slice(json)
            .map(Some)
            .map_err(|e| corrupt(format!("stored genesis header: {e}")))
    }
}

/// What the store keeps about the genesis document it was created from.
pub(super) struct KnownGenesis {
    /// The genesis block.
    pub(super) block: SealedBlock,
    /// The sum of its allocations.
    pub(super) supply: u64,
    /// Its network ID and parameters; `None` in a store written before they were kept.
    pub(super) header: Option<KnownHeader>,
}

impl KnownGenesis {
    /// The stored genesis, if the store was created from the document hashing to `source`.
    pub(super) fn read(store: &dyn KvStore, source: &Id) -> Result<Option<Self>, OpenError> {
        if store.get(KEY_GENESIS_SOURCE)?.as_deref() != Some(&source.0[..]) {
            return Ok(None);
        }
        let id = read_id(store, KEY_GENESIS)?.ok_or_else(|| corrupt("genesis block ID missing"))?;
        let bytes = store
            .get(&key(KEY_BLOCK, &id.0))?
            .ok_or_else(|| corrupt("genesis block missing"))?;
        let block = SealedBlock::decode(&bytes).map_err(corrupt)?;
        let supply =
            read_u64(store, KEY_SUPPLY)?.ok_or_else(|| corrupt("genesis supply missing"))?;
        if block.id != id {
            return Err(corrupt("genesis block does not match its ID"));
        }
        let header = match store.get(KEY_GENESIS_HEADER)? {
            Some(bytes) => KnownHeader::from_bytes(&bytes, source)?,
            None => None,
        };
        Ok(Some(KnownGenesis {
            block,
            supply,
            header,
        }))
    }

    /// Records the genesis document's hash, supply and header, for the quick path on the next
    /// start.
    pub(super) fn record(
        store: &dyn KvStore,
        source: &Id,
        supply: u64,
        header: &KnownHeader,
    ) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        Self::add_to(&mut batch, source, supply, header);
        store.write(batch)
    }

    fn add_to(batch: &mut WriteBatch, source: &Id, supply: u64, header: &KnownHeader) {
        batch.put(KEY_GENESIS_SOURCE.to_vec(), source.0.to_vec());
        batch.put(KEY_SUPPLY.to_vec(), supply.to_le_bytes().to_vec());
        batch.put(KEY_GENESIS_HEADER.to_vec(), header.to_bytes(source));
    }
}

/// The hash of the genesis document a store was created from, if it keeps one.
pub(super) fn stored_source(store: &dyn KvStore) -> Result<Option<Id>, StoreError> {
    read_id(store, KEY_GENESIS_SOURCE)
}

/// The genesis block ID a store was created with, if any (raw: it may not even be an ID).
pub(super) fn stored_genesis(store: &dyn KvStore) -> Result<Option<Vec<u8>>, StoreError> {
    store.get(KEY_GENESIS)
}

/// Everything a fresh store needs, in one batch: the genesis accounts and block, and what binds
/// the store to this chain.
pub(super) struct GenesisRecord<'a> {
    /// Hash of the genesis document.
    pub(super) source: &'a Id,
    /// Its network ID and parameters.
    pub(super) header: &'a KnownHeader,
    /// Sum of the allocations.
    pub(super) supply: u64,
    /// The funded accounts.
    pub(super) accounts: &'a AddressMap<Account>,
    /// The genesis block.
    pub(super) block: &'a SealedBlock,
    /// The chain the store belongs to.
    pub(super) chain_id: &'a Id,
}

impl GenesisRecord<'_> {
    /// Writes the record atomically.
    pub(super) fn write(&self, store: &dyn KvStore) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        KnownGenesis::add_to(&mut batch, self.source, self.supply, self.header);
        set_account_count(&mut batch, self.accounts.len());
        for (address, account) in self.accounts {
            batch.put(key(KEY_ACCOUNT, &address.0), account.to_bytes().to_vec());
        }
        let block = self.block;
        batch.put(key(KEY_BLOCK, &block.id.0), block.bytes.clone());
        batch.put(key(KEY_HEIGHT, &0u64.to_be_bytes()), block.id.0.to_vec());
        batch.put(KEY_LAST.to_vec(), block.id.0.to_vec());
        batch.put(KEY_BURNED.to_vec(), 0u64.to_le_bytes().to_vec());
        batch.put(KEY_GENESIS.to_vec(), block.id.0.to_vec());
        batch.put(KEY_CHAIN.to_vec(), self.chain_id.0.to_vec());
        batch.put(
            KEY_PARAMS.to_vec(),
            params_fingerprint(&self.header.params).0.to_vec(),
        );
        store.write(batch)
    }
}

/// The head of the accepted state as the store holds it, checked against what the node was
/// opened with; the accounts are read after it with [`scan_accounts`].
pub(super) struct AcceptedHead {
    /// The last accepted block.
    pub(super) last_accepted: SealedBlock,
    /// Fees burned up to it.
    pub(super) burned: u64,
}

/// Reads the last accepted block and burned total back, refusing a store of another chain or
/// other parameters.
pub(super) fn load_head(
    store: &dyn KvStore,
    chain_id: &Id,
    params: &ChainParams,
) -> Result<AcceptedHead, OpenError> {
    if store.get(KEY_CHAIN)?.as_deref() != Some(&chain_id.0[..]) {
        return Err(OpenError::OtherChain(*chain_id));
    }
    // The genesis block commits to the allocations but not to the parameters, so they are
    // checked on their own: other parameters over the same state are another chain.
    if store.get(KEY_PARAMS)?.as_deref() != Some(&params_fingerprint(params).0[..]) {
        return Err(OpenError::OtherParams);
    }
    let last = read_id(store, KEY_LAST)?.ok_or_else(|| corrupt("no last accepted block"))?;
    let bytes = store
        .get(&key(KEY_BLOCK, &last.0))?
        .ok_or_else(|| corrupt("last accepted block missing"))?;
    let last_accepted = SealedBlock::decode(&bytes).map_err(corrupt)?;
    let burned = read_u64(store, KEY_BURNED)?.ok_or_else(|| corrupt("burned total missing"))?;
    Ok(AcceptedHead {
        last_accepted,
        burned,
    })
}

/// Accounts handed to the visitor of [`scan_accounts`] at a time.
pub(super) const ACCOUNT_CHUNK: usize = 8192;

/// Reads every stored account, in key order, handing them to `visit` in chunks of
/// [`ACCOUNT_CHUNK`] (the last one shorter) so the caller can digest and file each chunk while
/// the next is read, without a million of them in memory at once. `visit` may stop the scan by
/// breaking: the scan then ends early without error.
pub(super) fn scan_accounts(
    store: &dyn KvStore,
    visit: &mut dyn FnMut(Vec<(Address, Account)>) -> ControlFlow<()>,
) -> Result<(), OpenError> {
    let mut chunk = Vec::with_capacity(ACCOUNT_CHUNK);
    let mut stopped = false;
    // A bad entry is corruption; a failing read is the store's (retry, not restore).
    let mut bad_entry = false;
    let scanned = store.scan_prefix_from(KEY_ACCOUNT, None, &mut |k, v| {
        let address = <[u8; 32]>::try_from(&k[KEY_ACCOUNT.len()..]).map(Address);
        match (address, Account::from_bytes(v)) {
            (Ok(address), Some(account)) => {
                chunk.push((address, account));
                if chunk.len() < ACCOUNT_CHUNK {
                    return Ok(ControlFlow::Continue(()));
                }
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(ACCOUNT_CHUNK));
                let flow = visit(full);
                stopped = flow.is_break();
                Ok(flow)
            }
            _ => {
                bad_entry = true;
                Err(StoreError::new(format!(
                    "bad account entry {}",
                    hex::encode(k)
                )))
            }
        }
    });
    match scanned {
        Err(e) if bad_entry => return Err(corrupt(e.context())),
        Err(e) => return Err(e.into()),
        Ok(()) => {}
    }
    if !stopped && !chunk.is_empty() {
        let _ = visit(chunk);
    }
    Ok(())
}

/// How many accounts the last open found (or the genesis wrote): what to size the account
/// table for before reading them. `None` in a store written before it was kept.
pub(super) fn account_count(store: &dyn KvStore) -> Result<Option<u64>, StoreError> {
    read_u64(store, KEY_ACCOUNT_COUNT)
}

/// Puts the account-count hint in `batch`.
fn set_account_count(batch: &mut WriteBatch, count: usize) {
    batch.put(
        KEY_ACCOUNT_COUNT.to_vec(),
        (count as u64).to_le_bytes().to_vec(),
    );
}

/// Records how many accounts an open found, for the next open's table.
pub(super) fn record_account_count(store: &dyn KvStore, count: usize) -> Result<(), StoreError> {
    let mut batch = WriteBatch::default();
    set_account_count(&mut batch, count);
    store.write(batch)
}

/// The batch that makes a processing block accepted: its accounts, the block, its height and
/// transfer index, its account history entries when `history` is on, the new last accepted
/// block and burned total. Written in one atomic write.
pub(super) fn accept_batch(block: &ProcessingBlock, history: bool) -> WriteBatch {
    let sealed = &block.sealed;
    let mut batch = WriteBatch::default();
    for (address, account) in &block.overlay.accounts {
        batch.put(key(KEY_ACCOUNT, &address.0), account.to_bytes().to_vec());
    }
    add_block(&mut batch, sealed);
    if history {
        add_history(&mut batch, sealed);
    }
    batch.put(KEY_LAST.to_vec(), sealed.id.0.to_vec());
    batch.put(
        KEY_BURNED.to_vec(),
        block.burned_total.to_le_bytes().to_vec(),
    );
    batch
}

/// Puts an accepted block in `batch`: its bytes, its height entry and its transfers' locations.
fn add_block(batch: &mut WriteBatch, sealed: &SealedBlock) {
    let height = sealed.block.height;
    batch.put(key(KEY_BLOCK, &sealed.id.0), sealed.bytes.clone());
    batch.put(key(KEY_HEIGHT, &height.to_be_bytes()), sealed.id.0.to_vec());
    for (index, tx_id) in sealed.tx_ids.iter().enumerate() {
        let mut location = height.to_be_bytes().to_vec();
        location.extend_from_slice(&(index as u32).to_le_bytes());
        batch.put(key(KEY_TX, &tx_id.0), location);
    }
}

/// An accepted block from the store.
pub(super) fn stored_block(
    store: &dyn KvStore,
    id: &Id,
) -> Result<Option<SealedBlock>, StoreError> {
    match store.get(&key(KEY_BLOCK, &id.0))? {
        Some(bytes) => SealedBlock::decode(&bytes)
            .map(Some)
            .map_err(|e| StoreError::with_source(format!("stored block {id} is corrupt"), e)),
        None => Ok(None),
    }
}

/// The accepted block ID at `height`, from the store.
pub(super) fn stored_block_id_at(
    store: &dyn KvStore,
    height: u64,
) -> Result<Option<Id>, StoreError> {
    read_id(store, &key(KEY_HEIGHT, &height.to_be_bytes()))
}

/// Where an accepted transfer is, from the store.
pub(super) fn stored_tx_location(
    store: &dyn KvStore,
    id: &Id,
) -> Result<Option<TxLocation>, StoreError> {
    Ok(store.get(&key(KEY_TX, &id.0))?.and_then(|v| {
        let height = u64::from_be_bytes(v.get(..8)?.try_into().ok()?);
        let index = u32::from_le_bytes(v.get(8..12)?.try_into().ok()?);
        Some(TxLocation { height, index })
    }))
}

/// The history key of `address`'s entry at `position`: inverted, so newer sorts first.
fn history_key(address: &Address, position: HistoryPosition) -> Vec<u8> {
    let mut k = Vec::with_capacity(HISTORY_KEY_LEN);
    k.extend_from_slice(KEY_HISTORY);
    k.extend_from_slice(&address.0);
    k.extend_from_slice(&(u64::MAX - position.height).to_be_bytes());
    k.extend_from_slice(&(u32::MAX - position.index).to_be_bytes());
    k
}

/// The position a history key holds; `None` for a key no chain writes.
fn history_position(k: &[u8]) -> Option<HistoryPosition> {
    if k.len() != HISTORY_KEY_LEN {
        return None;
    }
    let height = u64::from_be_bytes(k[34..42].try_into().ok()?);
    let index = u32::from_be_bytes(k[42..46].try_into().ok()?);
    Some(HistoryPosition {
        height: u64::MAX - height,
        index: u32::MAX - index,
    })
}

/// Adds `block`'s history entries to `batch`: the sender's (`out`) and the recipient's (`in`)
/// for each transfer, or one (`self`) when they are the same account.
pub(super) fn add_history(batch: &mut WriteBatch, sealed: &SealedBlock) {
    let block = &sealed.block;
    for ((index, tx), tx_id) in (0u32..).zip(&block.txs).zip(&sealed.tx_ids) {
        let body = &tx.body;
        let position = HistoryPosition {
            height: block.height,
            index,
        };
        let entry = |counterparty: Address, direction: Direction| HistoryEntry {
            position,
            tx_id: *tx_id,
            counterparty,
            amount: body.amount,
            fee: body.fee,
            nonce: body.nonce,
            timestamp_ms: block.timestamp_ms,
            direction,
        };
        let mut put = |account: &Address, entry: HistoryEntry| {
            batch.put(history_key(account, position), entry.value_bytes());
        };
        if body.from == body.to {
            put(&body.from, entry(body.to, Direction::ToSelf));
        } else {
            put(&body.from, entry(body.to, Direction::Out));
            put(&body.to, entry(body.from, Direction::In));
        }
    }
}

/// Up to `take` (at least one) of `address`'s history entries, newest first, after `after`.
/// An entry no chain writes is a corrupt index, never a panic.
pub(super) fn history_page(
    store: &dyn KvStore,
    address: &Address,
    after: Option<HistoryPosition>,
    take: usize,
) -> Result<Vec<HistoryEntry>, HistoryError> {
    let prefix = key(KEY_HISTORY, &address.0);
    let start = after.map(|position| history_key(address, position));
    let mut entries = Vec::with_capacity(take.min(1024));
    let mut bad_entry = None;
    let scanned = store.scan_prefix_from(&prefix, start.as_deref(), &mut |k, v| {
        let entry = history_position(k).and_then(|p| HistoryEntry::from_stored(p, v));
        match entry {
            Some(entry) => {
                entries.push(entry);
                Ok(match entries.len() < take {
                    true => ControlFlow::Continue(()),
                    false => ControlFlow::Break(()),
                })
            }
            None => {
                bad_entry = Some(hex::encode(k));
                Err(StoreError::new("a bad history entry"))
            }
        }
    });
    match (scanned, bad_entry) {
        (_, Some(k)) => Err(HistoryError::Corrupt(format!("bad history entry {k}"))),
        (Err(e), None) => Err(e.into()),
        (Ok(()), None) => Ok(entries),
    }
}

/// The height from which the history index is complete, if it was built.
pub(super) fn history_from(store: &dyn KvStore) -> Result<Option<u64>, StoreError> {
    read_u64(store, KEY_HISTORY_FROM)
}

/// Records in `batch` that the index is complete from `height` up.
pub(super) fn set_history_from(batch: &mut WriteBatch, height: u64) {
    batch.put(KEY_HISTORY_FROM.to_vec(), height.to_le_bytes().to_vec());
}

/// Forgets that the index was built: blocks accepted from now on will not be in it.
pub(super) fn clear_history_from(store: &dyn KvStore) -> Result<(), StoreError> {
    store.write(WriteBatch {
        puts: Vec::new(),
        deletes: vec![KEY_HISTORY_FROM.to_vec()],
    })
}

/// The accepted block at `height`, which must be stored (a backfill reads every one).
pub(super) fn stored_block_at(store: &dyn KvStore, height: u64) -> Result<SealedBlock, OpenError> {
    let id = stored_block_id_at(store, height)?
        .ok_or_else(|| corrupt(format!("no accepted block at height {height}")))?;
    stored_block(store, &id)?.ok_or_else(|| corrupt(format!("accepted block {id} missing")))
}

/// How many history entries the store holds, for tests that check none were written.
#[cfg(test)]
pub(super) fn history_entry_count(store: &dyn KvStore) -> usize {
    let mut count = 0;
    store
        .scan_prefix(KEY_HISTORY, &mut |_, _| {
            count += 1;
            Ok(())
        })
        .expect("the store scans");
    count
}

/// The summary of the state sync under way, if one is (its stored bytes must read back).
pub(super) fn sync_target(store: &dyn KvStore) -> Result<Option<StateSummary>, OpenError> {
    match store.get(KEY_SYNC_TARGET)? {
        Some(bytes) => StateSummary::from_bytes(&bytes)
            .map(Some)
            .map_err(|e| corrupt(format!("stored state sync target: {e}"))),
        None => Ok(None),
    }
}

/// Buckets already written by the sync under way.
pub(super) fn synced_buckets(store: &dyn KvStore) -> Result<Vec<usize>, StoreError> {
    let mut done = Vec::new();
    store.scan_prefix(KEY_SYNCED_BUCKET, &mut |k, _| {
        if let Ok(bytes) = <[u8; 2]>::try_from(&k[KEY_SYNCED_BUCKET.len()..]) {
            done.push(usize::from(u16::from_be_bytes(bytes)));
        }
        Ok(())
    })?;
    Ok(done)
}

/// Every key under `prefix`, for a batch that deletes them.
fn keys_under(store: &dyn KvStore, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut keys = Vec::new();
    store.scan_prefix(prefix, &mut |k, _| {
        keys.push(k.to_vec());
        Ok(())
    })?;
    Ok(keys)
}

/// Starts a state sync to `summary` from scratch: every account and bucket mark goes, the
/// target is recorded, in one batch. The last accepted block stays what it was until the sync
/// ends, so a node killed now never reports the partial accounts as accepted state.
pub(super) fn begin_sync(store: &dyn KvStore, summary: &StateSummary) -> Result<(), StoreError> {
    let mut batch = WriteBatch {
        deletes: keys_under(store, KEY_ACCOUNT)?,
        ..WriteBatch::default()
    };
    batch.deletes.extend(keys_under(store, KEY_SYNCED_BUCKET)?);
    batch.put(KEY_SYNC_TARGET.to_vec(), summary.to_bytes());
    store.write(batch)
}

/// Writes verified buckets of the sync under way, each with its mark, in one batch.
pub(super) fn write_synced_buckets(
    store: &dyn KvStore,
    buckets: &[SyncedBucket],
) -> Result<(), StoreError> {
    let mut batch = WriteBatch::default();
    for (bucket, accounts) in buckets {
        for (address, account) in accounts {
            batch.put(key(KEY_ACCOUNT, &address.0), account.to_bytes().to_vec());
        }
        batch.put(
            key(KEY_SYNCED_BUCKET, &(*bucket as u16).to_be_bytes()),
            Vec::new(),
        );
    }
    batch.sort_puts();
    store.write(batch)
}

/// Ends the sync under way: the summary's block becomes the last accepted one, with its burned
/// total, height and transfer index, and the marks go, in one batch.
pub(super) fn finish_sync(
    store: &dyn KvStore,
    block: &SealedBlock,
    burned: u64,
    history: bool,
) -> Result<(), StoreError> {
    let height = block.block.height;
    let mut batch = WriteBatch::default();
    add_block(&mut batch, block);
    batch.put(KEY_LAST.to_vec(), block.id.0.to_vec());
    batch.put(KEY_BURNED.to_vec(), burned.to_le_bytes().to_vec());
    batch.put(KEY_SYNCED_FROM.to_vec(), height.to_le_bytes().to_vec());
    if history {
        add_history(&mut batch, block);
        set_history_from(&mut batch, height);
    } else {
        batch.deletes.push(KEY_HISTORY_FROM.to_vec());
    }
    batch.deletes.push(KEY_SYNC_TARGET.to_vec());
    batch.deletes.extend(keys_under(store, KEY_SYNCED_BUCKET)?);
    store.write(batch)
}

/// The height this node state-synced to, if it did.
pub(super) fn synced_from(store: &dyn KvStore) -> Result<Option<u64>, StoreError> {
    read_u64(store, KEY_SYNCED_FROM)
}
