//! Account history: every accepted transfer an account sent or received, newest first, read a
//! page at a time. Wallets need it and nothing else in the chain does, so the index is optional
//! ([`ChainConfig::account_history`](super::ChainConfig::account_history)): when on, it is
//! written in the same atomic batch as each accepted block (`layout::accept_batch`), so a page
//! never shows half a block; pending and processing transfers are never in it.
//!
//! Turning it on for a chain that already has blocks rebuilds it at open from the stored blocks
//! (newest first, a bounded batch at a time, resumable after a crash); turning it off clears the
//! store's marker, because the blocks accepted meanwhile will be missing.

use super::super::error::{HistoryError, OpenError};
use super::super::ids::{Address, Id};
use super::{layout, Chain};
use crate::storage::{KvStore, WriteBatch};
use parity_scale_codec::{Decode, Encode};
use std::sync::Arc;
use tracing::info;

/// Most entries one page holds: a page is read under no lock, but it is still one store scan.
pub const MAX_HISTORY_PAGE: usize = 100;

/// Blocks indexed per write while backfilling: few writes, bounded memory.
const BACKFILL_BLOCKS_PER_BATCH: usize = 64;

/// Entries per backfill write at most, whatever the blocks hold (a full block has 15 000).
const BACKFILL_MAX_ENTRIES: usize = 50_000;

/// Which side of a transfer the account was on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Direction {
    /// The account received it.
    #[codec(index = 0)]
    In,
    /// The account sent it.
    #[codec(index = 1)]
    Out,
    /// The account sent it to itself (one entry, not two).
    #[codec(index = 2)]
    ToSelf,
}

impl Direction {
    /// The label wallets see: `in`, `out` or `self`.
    pub fn label(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::ToSelf => "self",
        }
    }
}

/// Where an entry sits in an account's history: its block's height and its index in the block.
/// A page ends at one and the next starts after it, so it is what a cursor carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HistoryPosition {
    /// Height of the block.
    pub height: u64,
    /// Index of the transfer in the block.
    pub index: u32,
}

impl HistoryPosition {
    /// Twelve bytes (height and index, big-endian), for a cursor's text form.
    pub fn to_bytes(self) -> [u8; 12] {
        let mut bytes = [0u8; 12];
        bytes[..8].copy_from_slice(&self.height.to_be_bytes());
        bytes[8..].copy_from_slice(&self.index.to_be_bytes());
        bytes
    }

    /// Reads [`to_bytes`](Self::to_bytes)'s form back; `None` unless exactly twelve bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let bytes = <[u8; 12]>::try_from(bytes).ok()?;
        let (height, index) = bytes.split_at(8);
        Some(HistoryPosition {
            height: u64::from_be_bytes(height.try_into().ok()?),
            index: u32::from_be_bytes(index.try_into().ok()?),
        })
    }
}

/// One accepted transfer as one account sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Where it is.
    pub position: HistoryPosition,
    /// The transfer's ID.
    pub tx_id: Id,
    /// The other account (the account itself for [`Direction::ToSelf`]).
    pub counterparty: Address,
    /// Amount moved.
    pub amount: u64,
    /// Fee the sender paid (burned), whichever side this entry is.
    pub fee: u64,
    /// The sender's nonce.
    pub nonce: u64,
    /// The block's timestamp (unix ms).
    pub timestamp_ms: u64,
    /// Which side the account was on.
    pub direction: Direction,
}

/// An entry's stored value: every field of fixed size, so the encoding is too.
#[derive(Encode, Decode)]
struct StoredEntry {
    tx_id: Id,
    counterparty: Address,
    amount: u64,
    fee: u64,
    nonce: u64,
    timestamp_ms: u64,
    direction: Direction,
}

/// Bytes of a [`StoredEntry`]: 32 + 32 + 4 × 8 + 1.
const STORED_ENTRY_LEN: usize = 97;

impl HistoryEntry {
    /// The stored value (the position is in the key).
    pub(super) fn value_bytes(&self) -> Vec<u8> {
        StoredEntry {
            tx_id: self.tx_id,
            counterparty: self.counterparty,
            amount: self.amount,
            fee: self.fee,
            nonce: self.nonce,
            timestamp_ms: self.timestamp_ms,
            direction: self.direction,
        }
        .encode()
    }

    /// An entry from its position and stored value; `None` for a value no chain writes.
    pub(super) fn from_stored(position: HistoryPosition, value: &[u8]) -> Option<Self> {
        if value.len() != STORED_ENTRY_LEN {
            return None;
        }
        let stored = StoredEntry::decode(&mut &value[..]).ok()?;
        Some(HistoryEntry {
            position,
            tx_id: stored.tx_id,
            counterparty: stored.counterparty,
            amount: stored.amount,
            fee: stored.fee,
            nonce: stored.nonce,
            timestamp_ms: stored.timestamp_ms,
            direction: stored.direction,
        })
    }
}

/// One page of an account's history, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryPage {
    /// The entries.
    pub entries: Vec<HistoryEntry>,
    /// Where the next page starts (after it), or `None` when this page holds the oldest entry.
    pub next: Option<HistoryPosition>,
}

/// A read handle on the history index. It holds the store, not the chain: the index only
/// grows by atomic batches (a scan sees a block's entries all or none), so the node reads pages
/// without the chain lock, and a slow store (rpcdb, a gRPC round trip per batch) never holds up
/// consensus.
#[derive(Clone)]
pub struct AccountHistory {
    store: Arc<dyn KvStore>,
    enabled: bool,
}

impl AccountHistory {
    /// Up to `limit` (at most [`MAX_HISTORY_PAGE`], at least 1) of `address`'s accepted
    /// transfers, newest first, starting after `after` (from the newest when `None`).
    pub fn page(
        &self,
        address: &Address,
        limit: usize,
        after: Option<HistoryPosition>,
    ) -> Result<HistoryPage, HistoryError> {
        if !self.enabled {
            return Err(HistoryError::Disabled);
        }
        let limit = limit.clamp(1, MAX_HISTORY_PAGE);
        // One more than asked: whether a next page exists, without an empty last page.
        let mut entries = layout::history_page(&*self.store, address, after, limit + 1)?;
        let next = match entries.len() > limit {
            true => {
                entries.truncate(limit);
                entries.last().map(|e| e.position)
            }
            false => None,
        };
        Ok(HistoryPage { entries, next })
    }
}

// === impl Chain: history ===

impl Chain {
    /// A read handle on the history index, for reads outside the chain lock.
    pub fn account_history(&self) -> AccountHistory {
        AccountHistory {
            store: self.store.clone(),
            enabled: self.config.account_history,
        }
    }

    /// Brings the index in line with the configuration at open: on, it backfills whatever the
    /// marker says is missing; off, it clears the marker, since blocks accepted from now on
    /// will be missing. Returns how many blocks it indexed.
    pub(super) fn prepare_history(&self) -> Result<u64, OpenError> {
        let store = &*self.store;
        let marker = layout::history_from(store)?;
        if !self.config.account_history {
            if marker.is_some() {
                layout::clear_history_from(store)?;
                info!("account history is off: its index will be rebuilt when it is turned on");
            }
            return Ok(0);
        }
        // Complete for every height at or above `from`; below it, blocks are indexed newest
        // first so the marker can record progress.
        let last = self.last_accepted.block.height;
        let mut from = marker.unwrap_or(last.saturating_add(1));
        // A node that state-synced has no blocks below the height it synced to.
        let floor = self.synced_from.unwrap_or(1).max(1);
        let mut batch = WriteBatch::default();
        let mut blocks_in_batch = 0;
        let mut indexed = 0u64;
        while from > floor {
            let height = from - 1;
            let block = layout::stored_block_at(store, height)?;
            layout::add_history(&mut batch, &block);
            from = height;
            blocks_in_batch += 1;
            indexed += 1;
            if blocks_in_batch == BACKFILL_BLOCKS_PER_BATCH
                || batch.puts.len() >= BACKFILL_MAX_ENTRIES
            {
                layout::set_history_from(&mut batch, from);
                store.write(std::mem::take(&mut batch))?;
                blocks_in_batch = 0;
            }
        }
        if blocks_in_batch > 0 || marker != Some(from) {
            layout::set_history_from(&mut batch, from);
            store.write(batch)?;
        }
        if indexed > 0 {
            info!(blocks = indexed, "account history backfilled");
        }
        Ok(indexed)
    }
}
