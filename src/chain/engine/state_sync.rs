//! State sync in the chain: the snapshots it keeps servable at summary heights, and the store
//! steps of a sync to a summary (begin, write verified buckets, finish and reload).

use super::super::commitment::root_of;
use super::super::error::OpenError;
use super::super::maps::AddressMap;
use super::super::state::AccountView;
use super::super::sync::{StateSnapshot, StateSummary, SyncHead, SyncedBucket};
use super::super::{Account, Address};
use super::{layout, Chain};
use crate::storage::StoreError;
use std::sync::Arc;
use tracing::{info, warn};

/// Snapshots kept: the latest and the one before, so a summary the host's vote settled on just
/// before a new one was taken can still be served.
const KEPT_SNAPSHOTS: usize = 2;

impl Chain {
    /// Takes the snapshot of the accepted state if the last accepted block is at a summary
    /// height (a multiple of the configured interval, above genesis). Called after each accept
    /// and once at open.
    pub(super) fn snapshot_if_due(&mut self) {
        let Some(interval) = self.config.summary_interval else {
            return;
        };
        if self.sync_pending {
            return;
        }
        let height = self.last_accepted.block.height;
        if height == 0 || interval == 0 || !height.is_multiple_of(interval) {
            return;
        }
        if self.snapshots.back().map(|s| s.summary().height) == Some(height) {
            return;
        }
        let accounts: Vec<(Address, Account)> =
            self.accounts.iter().map(|(a, b)| (*a, *b)).collect();
        let snapshot = StateSnapshot::new(
            self.last_accepted.clone(),
            self.burned,
            self.digest.checksums(),
            accounts,
        );
        self.snapshots.push_back(Arc::new(snapshot));
        while self.snapshots.len() > KEPT_SNAPSHOTS {
            self.snapshots.pop_front();
        }
    }

    /// At open, the snapshot of the latest summary height, so a restarted validator serves
    /// (and votes on) the summary it served before: taken from the accepted state when the last
    /// accepted block is at that height, else rebuilt by undoing the blocks accepted since (a
    /// transfer is undone exactly: the sender gets amount and fee back and its nonce, the
    /// recipient gives the amount back). The rebuilt commitment must hash to that block's state
    /// root; if it does not (or a block is missing), no snapshot is kept and a warning says why.
    pub(super) fn snapshot_at_open(&mut self) {
        let Some(interval) = self.config.summary_interval.filter(|i| *i > 0) else {
            return;
        };
        let last = self.last_accepted.block.height;
        let height = last - last % interval;
        if self.sync_pending || height == 0 || height < self.synced_from.unwrap_or(0) {
            return;
        }
        if height == last {
            self.snapshot_if_due();
            return;
        }
        match self.rebuild_snapshot(height) {
            Ok(snapshot) => self.snapshots.push_back(Arc::new(snapshot)),
            Err(why) => warn!(height, "no state summary served until the next one: {why}"),
        }
    }

    /// The state at `height` (below the last accepted one), from the accepted state and the
    /// blocks above it.
    fn rebuild_snapshot(&self, height: u64) -> Result<StateSnapshot, String> {
        let mut undone: AddressMap<Account> = AddressMap::default();
        let mut burned = self.burned;
        let last = self.last_accepted.block.height;
        for h in (height + 1..=last).rev() {
            let block = layout::stored_block_at(&*self.store, h).map_err(|e| e.to_string())?;
            for tx in block.block.txs.iter().rev() {
                let b = &tx.body;
                let cost = b.total_cost().ok_or("an accepted transfer overflows")?;
                let mut from = *undone
                    .entry(b.from)
                    .or_insert_with(|| self.accounts.account(&b.from));
                from.balance = from.balance.checked_add(cost).ok_or("balance overflow")?;
                from.nonce = from.nonce.checked_sub(1).ok_or("nonce underflow")?;
                undone.insert(b.from, from);
                let mut to = *undone
                    .entry(b.to)
                    .or_insert_with(|| self.accounts.account(&b.to));
                to.balance = to
                    .balance
                    .checked_sub(b.amount)
                    .ok_or("balance underflow")?;
                undone.insert(b.to, to);
                burned = burned.checked_sub(b.fee).ok_or("burned underflow")?;
            }
        }
        let block = layout::stored_block_at(&*self.store, height).map_err(|e| e.to_string())?;
        let changes: Vec<(Address, Account, Account)> = undone
            .iter()
            .map(|(address, then)| (*address, self.accounts.account(address), *then))
            .collect();
        let mut commitment = self.digest.clone();
        commitment.apply_changes(&changes);
        let checksums = commitment.checksums();
        if root_of(burned, &checksums) != block.block.state_digest {
            return Err(format!(
                "the state rebuilt at height {height} does not hash to its block's root"
            ));
        }
        let accounts = self
            .accounts
            .iter()
            .map(|(address, now)| (*address, undone.get(address).copied().unwrap_or(*now)))
            .chain(
                undone
                    .iter()
                    .filter(|(address, _)| !self.accounts.contains_key(*address))
                    .map(|(address, then)| (*address, *then)),
            )
            .collect();
        Ok(StateSnapshot::new(block, burned, checksums, accounts))
    }

    /// The newest summary this node can serve.
    pub fn last_state_summary(&self) -> Option<Arc<StateSnapshot>> {
        self.snapshots.back().cloned()
    }

    /// The summary at `height`, if this node keeps its state.
    pub fn state_summary_at(&self, height: u64) -> Option<Arc<StateSnapshot>> {
        self.snapshots
            .iter()
            .find(|s| s.summary().height == height)
            .cloned()
    }

    /// Whether a state sync began and has not ended (this run or an earlier one): the chain
    /// then holds no accounts, and only a sync (resumed or new) makes it usable.
    pub fn sync_pending(&self) -> bool {
        self.sync_pending
    }

    /// The height this node state-synced to, below which it never had blocks or transfers.
    pub fn synced_from(&self) -> Option<u64> {
        self.synced_from
    }

    /// The state sync under way, if a sync began and did not end (even in an earlier run).
    pub fn sync_target(&self) -> Result<Option<StateSummary>, OpenError> {
        layout::sync_target(&*self.store)
    }

    /// Prepares the store for a sync to `summary` and says which buckets are already written:
    /// those of an earlier run of the same sync (it resumes), or none (a new sync starts from
    /// scratch: the accounts go, and the last accepted block stays the old one until
    /// [`finish_sync`](Self::finish_sync), so nothing partial is ever reported as accepted).
    pub fn begin_sync(&mut self, summary: &StateSummary) -> Result<Vec<usize>, OpenError> {
        if layout::sync_target(&*self.store)?.as_ref() == Some(summary) {
            return Ok(layout::synced_buckets(&*self.store)?);
        }
        layout::begin_sync(&*self.store, summary)?;
        self.sync_pending = true;
        Ok(Vec::new())
    }

    /// Writes buckets a sync received and verified.
    pub fn write_synced_buckets(&self, buckets: &[SyncedBucket]) -> Result<(), StoreError> {
        layout::write_synced_buckets(&*self.store, buckets)
    }

    /// Ends a sync whose every bucket is written: the summary's block becomes the last
    /// accepted one and the chain reloads from the store, which checks the whole state against
    /// the block's root (and the supply), so a wrong state cannot be taken up here.
    pub fn finish_sync(&mut self, head: &SyncHead) -> Result<(), OpenError> {
        layout::finish_sync(
            &*self.store,
            &head.block,
            head.burned,
            self.config.account_history,
        )?;
        self.processing.clear();
        self.verified_sigs.clear();
        self.recent_blocks.clear();
        self.recent_order.clear();
        self.build_cursor = None;
        self.mempool = super::super::mempool::Mempool::new(self.config.mempool.clone());
        self.snapshots.clear();
        self.load()?;
        // The count the load found, for the next open's table (the stored one is the old
        // state's): one small write instead of a scan of its own.
        layout::record_account_count(&*self.store, self.accounts.len())?;
        let balances = self.total_balances();
        if balances.and_then(|b| b.checked_add(self.burned)) != Some(self.supply) {
            return Err(OpenError::Corrupt(format!(
                "the synced state's balances {balances:?} and burned {} do not add up to the \
                 supply {}",
                self.burned, self.supply
            )));
        }
        self.synced_from = Some(head.block.block.height);
        self.prepare_history()?;
        self.snapshot_if_due();
        info!(
            height = head.block.block.height,
            accounts = self.accounts.len(),
            "state sync finished: the summary's block is the last accepted one"
        );
        Ok(())
    }
}
