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

use super::super::block::SealedBlock;
use super::super::error::OpenError;
use super::super::genesis::ChainParams;
use super::super::ids::{Address, Id};
use super::super::state::Account;
use super::{ProcessingBlock, TxLocation};
use crate::storage::{KvStore, StoreError, WriteBatch};
use std::collections::HashMap;

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

/// What the store keeps about the genesis document it was created from.
pub(super) struct KnownGenesis {
    /// The genesis block.
    pub(super) block: SealedBlock,
    /// The sum of its allocations.
    pub(super) supply: u64,
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
        Ok(Some(KnownGenesis { block, supply }))
    }

    /// Records the genesis document's hash and supply, for the quick path on the next start.
    pub(super) fn record(store: &dyn KvStore, source: &Id, supply: u64) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        Self::add_to(&mut batch, source, supply);
        store.write(batch)
    }

    fn add_to(batch: &mut WriteBatch, source: &Id, supply: u64) {
        batch.put(KEY_GENESIS_SOURCE.to_vec(), source.0.to_vec());
        batch.put(KEY_SUPPLY.to_vec(), supply.to_le_bytes().to_vec());
    }
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
    /// Sum of the allocations.
    pub(super) supply: u64,
    /// The funded accounts.
    pub(super) accounts: &'a HashMap<Address, Account>,
    /// The genesis block.
    pub(super) block: &'a SealedBlock,
    /// The chain the store belongs to.
    pub(super) chain_id: &'a Id,
    /// The consensus parameters.
    pub(super) params: &'a ChainParams,
}

impl GenesisRecord<'_> {
    /// Writes the record atomically.
    pub(super) fn write(&self, store: &dyn KvStore) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        KnownGenesis::add_to(&mut batch, self.source, self.supply);
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
            params_fingerprint(self.params).0.to_vec(),
        );
        store.write(batch)
    }
}

/// The accepted state as the store holds it, checked against what the node was opened with.
pub(super) struct LoadedState {
    /// The last accepted block.
    pub(super) last_accepted: SealedBlock,
    /// Fees burned up to it.
    pub(super) burned: u64,
    /// Every account with state, in key order.
    pub(super) accounts: Vec<(Address, Account)>,
}

/// Reads the accepted state back, refusing a store of another chain or other parameters.
pub(super) fn load(
    store: &dyn KvStore,
    chain_id: &Id,
    params: &ChainParams,
) -> Result<LoadedState, OpenError> {
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
    let mut accounts: Vec<(Address, Account)> = Vec::new();
    // A bad entry is corruption; a failing read is the store's (retry, not restore).
    let mut bad_entry = false;
    let scanned = store.scan_prefix(KEY_ACCOUNT, &mut |k, v| {
        let address = <[u8; 32]>::try_from(&k[KEY_ACCOUNT.len()..]).map(Address);
        match (address, Account::from_bytes(v)) {
            (Ok(address), Some(account)) => {
                accounts.push((address, account));
                Ok(())
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
    Ok(LoadedState {
        last_accepted,
        burned,
        accounts,
    })
}

/// The batch that makes a processing block accepted: its accounts, the block, its height and
/// transfer index, the new last accepted block and burned total. Written in one atomic write.
pub(super) fn accept_batch(block: &ProcessingBlock) -> WriteBatch {
    let sealed = &block.sealed;
    let height = sealed.block.height;
    let mut batch = WriteBatch::default();
    for (address, account) in &block.overlay.accounts {
        batch.put(key(KEY_ACCOUNT, &address.0), account.to_bytes().to_vec());
    }
    batch.put(key(KEY_BLOCK, &sealed.id.0), sealed.bytes.clone());
    batch.put(key(KEY_HEIGHT, &height.to_be_bytes()), sealed.id.0.to_vec());
    for (index, tx_id) in sealed.tx_ids.iter().enumerate() {
        let mut location = height.to_be_bytes().to_vec();
        location.extend_from_slice(&(index as u32).to_le_bytes());
        batch.put(key(KEY_TX, &tx_id.0), location);
    }
    batch.put(KEY_LAST.to_vec(), sealed.id.0.to_vec());
    batch.put(
        KEY_BURNED.to_vec(),
        block.burned_total.to_le_bytes().to_vec(),
    );
    batch
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
