//! The tree of processing blocks: verified blocks consensus has not decided, each with the
//! state its branch reaches (an overlay over its parent's). Preference, accept and reject move
//! through it; accepted blocks leave it for the store.

use super::super::block::SealedBlock;
use super::super::commitment::StateCommitment;
use super::super::error::BlockError;
use super::super::ids::{Address, Id};
use super::super::state::{Account, AccountView, Overlay};
use super::super::status::TxStatus;
use super::{layout, BlockStatus, Chain};
use crate::storage::{KvStore, StoreError, WriteBatch};
use std::collections::HashMap;
use std::sync::Arc;

/// A verified block that consensus has not decided.
pub(super) struct ProcessingBlock {
    /// The block.
    pub(super) sealed: SealedBlock,
    /// The accounts it changes, over its parent's state.
    pub(super) overlay: Overlay,
    /// The state digest accumulated up to it (before the burned total is folded in).
    pub(super) digest: StateCommitment,
    /// Fees burned up to and including it.
    pub(super) burned_total: u64,
}

/// An accepted block's store batch, to be written without the chain lock. Made by
/// [`Chain::begin_accept`]; writing it is the only way to the [`AcceptWritten`] that
/// [`Chain::finish_accept`] takes, so the in-memory commit never runs before the durable one.
pub struct AcceptWrite {
    /// The block being accepted.
    id: Id,
    /// Everything its accept stores, in one atomic write.
    batch: WriteBatch,
    /// The chain's store.
    store: Arc<dyn KvStore>,
}

impl AcceptWrite {
    /// The block being accepted.
    pub fn id(&self) -> Id {
        self.id
    }

    /// Writes the batch, durably and atomically.
    pub fn write(self) -> Result<AcceptWritten, StoreError> {
        self.store.write(self.batch)?;
        Ok(AcceptWritten { id: self.id })
    }
}

/// What an accept reports: the block's place and size, without a copy of the block (whose
/// transfers and bytes are megabytes at 10 000 transfers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcceptedBlock {
    /// The block.
    pub id: Id,
    /// Its height.
    pub height: u64,
    /// How many transfers it holds.
    pub txs: usize,
}

impl From<&SealedBlock> for AcceptedBlock {
    fn from(sealed: &SealedBlock) -> Self {
        AcceptedBlock {
            id: sealed.id,
            height: sealed.block.height,
            txs: sealed.block.txs.len(),
        }
    }
}

/// Proof that an accepted block's batch is in the store.
#[derive(Debug)]
pub struct AcceptWritten {
    id: Id,
}

/// A view of the accounts as of the tip of a branch: overlays down to the accepted state.
pub(super) struct BranchView<'a> {
    chain: &'a Chain,
    tip: Id,
}

impl AccountView for BranchView<'_> {
    fn account(&self, address: &Address) -> Account {
        let mut cursor = self.tip;
        while let Some(block) = self.chain.processing.get(&cursor) {
            if let Some(account) = block.overlay.accounts.get(address) {
                return *account;
            }
            cursor = block.sealed.block.parent_id;
        }
        self.chain.accounts.account(address)
    }
}

/// The state a new block on a tip starts from.
pub(super) struct TipState {
    /// Height of the tip.
    pub(super) height: u64,
    /// Timestamp of the tip (a child may not be older).
    pub(super) timestamp_ms: u64,
    /// Digest accumulated up to the tip.
    pub(super) digest: StateCommitment,
    /// Fees burned up to the tip.
    pub(super) burned: u64,
}

// === impl Chain: the tree ===

impl Chain {
    /// The accounts as of the tip of a branch.
    pub(super) fn branch_view(&self, tip: Id) -> BranchView<'_> {
        BranchView { chain: self, tip }
    }

    /// Whether `id` is the last accepted block or a processing block descending from it.
    pub(super) fn is_live(&self, id: Id) -> bool {
        let mut cursor = id;
        loop {
            if cursor == self.last_accepted.id {
                return true;
            }
            match self.processing.get(&cursor) {
                Some(block) => cursor = block.sealed.block.parent_id,
                None => return false,
            }
        }
    }

    /// The state a child of `id` starts from, if `id` is a live tip.
    pub(super) fn tip_state(&self, id: Id) -> Option<TipState> {
        let (sealed, digest, burned) = if id == self.last_accepted.id {
            (&self.last_accepted, self.digest.clone(), self.burned)
        } else {
            let p = self.processing.get(&id)?;
            (&p.sealed, p.digest.clone(), p.burned_total)
        };
        Some(TipState {
            height: sealed.block.height,
            timestamp_ms: sealed.block.timestamp_ms,
            digest,
            burned,
        })
    }

    /// Records a built or verified block as processing: its transfers leave the mempool and
    /// report the block as theirs.
    pub(super) fn record_processing(&mut self, block: ProcessingBlock) {
        for id in &block.sealed.tx_ids {
            self.mempool.remove(id);
            self.statuses.set_live(
                *id,
                TxStatus::Processing {
                    block_id: block.sealed.id,
                },
            );
        }
        self.processing.insert(block.sealed.id, block);
    }

    /// Sets the block new blocks are built on.
    pub fn set_preference(&mut self, id: Id) -> Result<(), BlockError> {
        if !self.is_live(id) {
            return Err(BlockError::NotFound(id));
        }
        self.preferred = id;
        Ok(())
    }

    /// Accepts a processing child of the last accepted block: writes its state to the store in
    /// one batch, then commits its overlay in memory. On a store error nothing changes.
    ///
    /// The same three steps as [`begin_accept`](Self::begin_accept), [`AcceptWrite::write`]
    /// and [`finish_accept`](Self::finish_accept), for a caller that holds the chain alone.
    pub fn accept_block(&mut self, id: Id) -> Result<SealedBlock, BlockError> {
        let Some(write) = self.begin_accept(id)? else {
            return Ok(self.last_accepted.clone());
        };
        match write.write() {
            Ok(written) => {
                self.finish_accept(written)?;
                Ok(self.last_accepted.clone())
            }
            Err(e) => {
                self.abort_accept(id);
                Err(e.into())
            }
        }
    }

    /// The first step of an accept: checks that `id` is the processing child of the last
    /// accepted block and prepares its store batch. The durable write ([`AcceptWrite::write`])
    /// needs no chain state, so the node runs it without the chain lock: blocks are verified
    /// and transfers admitted meanwhile, on top of the block being accepted, which stays
    /// processing (and cannot be rejected) until [`finish_accept`](Self::finish_accept).
    /// `None`: the block is already the last accepted one.
    pub fn begin_accept(&mut self, id: Id) -> Result<Option<AcceptWrite>, BlockError> {
        let block = match self.processing.get(&id) {
            Some(block) => block,
            None if id == self.last_accepted.id => return Ok(None),
            None => return Err(BlockError::NotFound(id)),
        };
        if block.sealed.block.parent_id != self.last_accepted.id {
            return Err(BlockError::NotNextToAccept(id));
        }
        if self.accepting.is_some() {
            return Err(BlockError::AcceptInProgress(id));
        }
        let batch = layout::accept_batch(block, self.config.account_history);
        self.accepting = Some(id);
        Ok(Some(AcceptWrite {
            id,
            batch,
            store: self.store.clone(),
        }))
    }

    /// Ends an accept whose write failed: nothing was stored, the block stays processing.
    pub fn abort_accept(&mut self, id: Id) {
        if self.accepting == Some(id) {
            self.accepting = None;
        }
    }

    /// The last step of an accept: the block's batch is in the store; commit its overlay in
    /// memory, mark its transfers accepted, and make it the last accepted block.
    pub fn finish_accept(&mut self, written: AcceptWritten) -> Result<AcceptedBlock, BlockError> {
        let id = written.id;
        if self.accepting != Some(id) {
            return Err(BlockError::NotFound(id));
        }
        self.accepting = None;
        // Cannot fail: a block being accepted is neither rejected nor stale (its parent is the
        // last accepted block, which only this accept changes).
        let block = self
            .processing
            .remove(&id)
            .ok_or(BlockError::NotFound(id))?;
        let height = block.sealed.block.height;
        let touched: Vec<Address> = block.overlay.accounts.keys().copied().collect();
        self.accounts.extend(block.overlay.accounts);
        self.digest = block.digest;
        self.burned = block.burned_total;
        for &tx_id in &block.sealed.tx_ids {
            self.verified_sigs.remove(&tx_id);
            self.statuses.set_final(
                tx_id,
                TxStatus::Accepted {
                    block_id: id,
                    height,
                },
            );
        }
        // Pending transfers whose nonce an accepted transfer just used can never apply.
        for address in touched {
            let next = self.accounts.account(&address).nonce;
            for stale in self.mempool.remove_stale(&address, next) {
                self.drop_pending(
                    stale,
                    "another transaction with the same nonce was accepted".into(),
                );
            }
        }
        let accepted = AcceptedBlock::from(&block.sealed);
        let previous = std::mem::replace(&mut self.last_accepted, block.sealed);
        self.remember_block(previous);
        // Checked against the new last accepted block: a preference for its parent, or for a
        // branch this block ends, moves to it.
        if !self.is_live(self.preferred) {
            self.preferred = id;
        }
        self.snapshot_if_due();
        Ok(accepted)
    }

    /// Rejects the processing blocks that can no longer be accepted, returning their
    /// transfers to the mempool as `reject_block` does: those at or below the last accepted
    /// height and those whose parent is gone. The host rejects the blocks it issued, but a
    /// block this node built and the host never issued (its parent was decided while it was
    /// being built) is never rejected, and its transfers would stay processing for ever; on a
    /// live network that left a nonce gap that stalled the sender (tests/host/e2e_test.go).
    /// Call after each accept. Returns how many blocks it rejected.
    pub fn reject_stale(&mut self, now_ms: u64) -> usize {
        let mut count = 0;
        loop {
            let height = self.last_accepted.block.height;
            let mut stale: Vec<Id> = self
                .processing
                .iter()
                .filter(|(_, b)| {
                    b.sealed.block.height <= height || !self.is_live(b.sealed.block.parent_id)
                })
                .map(|(id, _)| *id)
                .collect();
            if stale.is_empty() {
                return count;
            }
            // Parents before children, so their transfers return to the mempool in nonce
            // order; then by ID, so every node ends with the same mempool.
            stale.sort_by_key(|id| (self.processing[id].sealed.block.height, *id));
            for id in stale {
                // Only fails for an accepted block, which is never processing.
                let _ = self.reject_block(id, now_ms);
                count += 1;
            }
        }
    }

    /// Rejects a processing block: drops its overlay and returns its still-valid transfers to
    /// the mempool.
    pub fn reject_block(&mut self, id: Id, now_ms: u64) -> Result<(), BlockError> {
        if self.accepting == Some(id) {
            return Err(BlockError::AcceptInProgress(id));
        }
        let Some(block) = self.processing.remove(&id) else {
            return match self.get_block(&id)? {
                Some(b) if self.block_status(&b) == BlockStatus::Accepted => {
                    Err(BlockError::AlreadyAccepted(id))
                }
                _ => Ok(()),
            };
        };
        if self.preferred == id || !self.is_live(self.preferred) {
            self.preferred = self.last_accepted.id;
        }
        // Transfers also held by another processing block (a competing branch) stay processing
        // there: returning them to the mempool would let that block's acceptance report them
        // dropped, or mark them rejected while they may still be accepted.
        let mut elsewhere: HashMap<Id, Id> = HashMap::new();
        for (block_id, other) in &self.processing {
            for &tx_id in &other.sealed.tx_ids {
                elsewhere
                    .entry(tx_id)
                    .and_modify(|b| *b = (*b).min(*block_id))
                    .or_insert(*block_id);
            }
        }
        for (tx, tx_id) in block.sealed.block.txs.into_iter().zip(block.sealed.tx_ids) {
            if matches!(self.statuses.get(&tx_id), Some(TxStatus::Processing { block_id }) if *block_id == id)
            {
                if let Some(other) = elsewhere.get(&tx_id) {
                    self.statuses
                        .set_live(tx_id, TxStatus::Processing { block_id: *other });
                    continue;
                }
                self.readmit(tx_id, tx, now_ms);
            }
        }
        Ok(())
    }

    /// The consensus status of a known or parsed block.
    pub fn block_status(&self, block: &SealedBlock) -> BlockStatus {
        let height = block.block.height;
        if height <= self.last_accepted.block.height {
            return match self.block_id_at_height(height) {
                Ok(Some(id)) if id == block.id => BlockStatus::Accepted,
                _ => BlockStatus::Rejected,
            };
        }
        BlockStatus::Processing
    }

    fn remember_block(&mut self, block: SealedBlock) {
        self.recent_order.push_back(block.id);
        self.recent_blocks.insert(block.id, block);
        while self.recent_order.len() > self.config.block_cache {
            if let Some(old) = self.recent_order.pop_front() {
                self.recent_blocks.remove(&old);
            }
        }
    }

    /// A block this node knows: processing, or accepted (from memory or the store).
    pub fn get_block(&self, id: &Id) -> Result<Option<SealedBlock>, StoreError> {
        if let Some(p) = self.processing.get(id) {
            return Ok(Some(p.sealed.clone()));
        }
        if *id == self.last_accepted.id {
            return Ok(Some(self.last_accepted.clone()));
        }
        if let Some(block) = self.recent_blocks.get(id) {
            return Ok(Some(block.clone()));
        }
        layout::stored_block(&*self.store, id)
    }

    /// The accepted block at `height`.
    pub fn block_id_at_height(&self, height: u64) -> Result<Option<Id>, StoreError> {
        if height == self.last_accepted.block.height {
            return Ok(Some(self.last_accepted.id));
        }
        if height > self.last_accepted.block.height {
            return Ok(None);
        }
        layout::stored_block_id_at(&*self.store, height)
    }

    /// A processing block's identity and place, if `id` is processing (built or verified here).
    pub fn processing_summary(&self, id: &Id) -> Option<super::BlockSummary> {
        self.processing
            .get(id)
            .map(|p| super::BlockSummary::from(&p.sealed))
    }

    /// A transfer held by a processing block, by ID.
    pub(super) fn processing_tx(&self, block_id: &Id, tx_id: &Id) -> Option<super::SignedTx> {
        let p = self.processing.get(block_id)?;
        let index = p.sealed.tx_ids.iter().position(|id| id == tx_id)?;
        p.sealed.block.txs.get(index).copied()
    }
}
