//! Admission: transfers into the mempool, and the questions wallets ask about them (status,
//! where it is, the next nonce).
//!
//! The chain admits only a [`CheckedTx`]: a transfer whose stateless rules and signature were
//! checked, once, before the caller took the chain lock. Under the lock only the state is
//! checked (nonce, balance, mempool caps).

use super::super::error::TxError;
use super::super::ids::{Address, Id};
use super::super::rules::StatelessRules;
use super::super::signature;
use super::super::state::AccountView;
use super::super::status::TxStatus;
use super::super::tx::SignedTx;
use super::{layout, Admitted, Chain, TxLocation};
use crate::storage::StoreError;

/// A transfer that meets the stateless rules at the time it was checked and carries a valid
/// signature. Only [`CheckedTx::check_batch`] (and the chain itself, for transfers it verified
/// in a block) makes one, so the chain never checks the same transfer's signature twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckedTx {
    tx: SignedTx,
    id: Id,
}

impl CheckedTx {
    /// Checks a batch: the stateless rules at `now_ms` for each, then every signature that
    /// passed them in one batch (on every core). One verdict per input, in order. Needs no
    /// chain state, so it runs without the chain lock.
    pub fn check_batch(
        rules: &StatelessRules,
        now_ms: u64,
        txs: Vec<(Id, SignedTx)>,
    ) -> Vec<Result<CheckedTx, TxError>> {
        let mut verdicts: Vec<Result<CheckedTx, TxError>> = txs
            .into_iter()
            .map(|(id, tx)| rules.check_at(&tx, now_ms).map(|()| CheckedTx { tx, id }))
            .collect();
        let unsigned: Vec<SignedTx> = verdicts
            .iter()
            .filter_map(|v| v.as_ref().ok().map(|c| c.tx))
            .collect();
        let mut signatures = signature::verify_many(&unsigned).into_iter();
        for verdict in verdicts.iter_mut().filter(|v| v.is_ok()) {
            if signatures.next() != Some(true) {
                *verdict = Err(TxError::BadSignature);
            }
        }
        verdicts
    }

    /// [`check_batch`](Self::check_batch) for one transfer.
    pub fn check(rules: &StatelessRules, now_ms: u64, tx: SignedTx) -> Result<CheckedTx, TxError> {
        let id = tx.id();
        Self::check_batch(rules, now_ms, vec![(id, tx)]).remove(0)
    }

    /// The stateless rules only, trusting the signature: for tests and benches that put
    /// thousands of transfers through admission and test signatures on their own.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn check_without_signature(
        rules: &StatelessRules,
        now_ms: u64,
        tx: SignedTx,
    ) -> Result<CheckedTx, TxError> {
        rules.check_at(&tx, now_ms)?;
        Ok(CheckedTx { tx, id: tx.id() })
    }

    /// The transfer.
    pub fn tx(&self) -> &SignedTx {
        &self.tx
    }

    /// Its ID, hashed once.
    pub fn id(&self) -> Id {
        self.id
    }
}

// === impl Chain: admission and transfer queries ===

impl Chain {
    /// Admits a checked transfer: state checks only (nonce, balance, mempool caps) against the
    /// preferred branch and the sender's other pending transfers.
    pub fn admit(&mut self, checked: CheckedTx) -> Result<Admitted, TxError> {
        let id = checked.id;
        // Checked again here, not only before the signature check: another caller may have
        // admitted the same transfer while this one's signature was being checked.
        if self.knows_tx(&id) {
            return Err(TxError::AlreadyKnown(id));
        }
        let account = self
            .branch_view(self.preferred)
            .account(&checked.tx.body.from);
        let pool_was_empty = self.mempool.is_empty();
        self.mempool.admit(id, checked.tx, account)?;
        self.verified_sigs.insert(id);
        self.statuses.set_live(id, TxStatus::Pending);
        Ok(Admitted { id, pool_was_empty })
    }

    /// Checks a transfer against the preferred state without admitting it.
    pub fn simulate(&self, checked: &CheckedTx) -> Result<(), TxError> {
        if self.knows_tx(&checked.id) {
            return Err(TxError::AlreadyKnown(checked.id));
        }
        let account = self
            .branch_view(self.preferred)
            .account(&checked.tx.body.from);
        self.mempool
            .check(checked.id, &checked.tx, account)
            .map(|_| ())
    }

    /// Returns a transfer of a rejected block to the mempool. Its signature and stateless
    /// rules were checked when its block was verified; only time has moved on since.
    pub(super) fn readmit(&mut self, id: Id, tx: SignedTx, now_ms: u64) {
        // Remove the processing status so admission does not see it as known.
        self.statuses.forget(&id);
        let admitted = self
            .rules
            .check_time(&tx, now_ms)
            .and_then(|()| self.admit(CheckedTx { tx, id }));
        if let Err(e) = admitted {
            self.verified_sigs.remove(&id);
            self.statuses.set_final(
                id,
                TxStatus::Rejected {
                    reason: e.to_string(),
                },
            );
        }
    }

    /// Records that a pending transfer left the mempool without a block, and why.
    pub(super) fn drop_pending(&mut self, id: Id, reason: String) {
        self.verified_sigs.remove(&id);
        self.statuses.set_final(id, TxStatus::Dropped { reason });
    }

    /// Drops expired transactions from the mempool.
    pub fn prune_expired(&mut self, now_ms: u64) -> usize {
        let expired = self.mempool.remove_expired(now_ms / 1000);
        for id in &expired {
            self.drop_pending(*id, "expired before it was included".into());
        }
        expired.len()
    }

    /// Whether this node already holds `id` (pending, processing, or recently accepted).
    pub fn knows_tx(&self, id: &Id) -> bool {
        self.mempool.contains(id)
            || matches!(
                self.statuses.get(id),
                Some(TxStatus::Pending | TxStatus::Processing { .. } | TxStatus::Accepted { .. })
            )
    }

    /// The next nonce a wallet should use: on the preferred branch, after pending transfers.
    pub fn pending_nonce(&self, address: &Address) -> u64 {
        let on_branch = self.branch_view(self.preferred).account(address).nonce;
        self.mempool.pending_nonce(address, on_branch)
    }

    /// A transaction's status.
    pub fn tx_status(&self, id: &Id) -> TxStatus {
        if let Some(status) = self.statuses.get(id) {
            return status.clone();
        }
        match self.tx_location(id) {
            Ok(Some(location)) => match self.block_id_at_height(location.height) {
                Ok(Some(block_id)) => TxStatus::Accepted {
                    block_id,
                    height: location.height,
                },
                _ => TxStatus::Unknown,
            },
            _ => TxStatus::Unknown,
        }
    }

    /// Where an accepted transaction is stored.
    pub fn tx_location(&self, id: &Id) -> Result<Option<TxLocation>, StoreError> {
        layout::stored_tx_location(&*self.store, id)
    }

    /// Finds a transaction in the mempool, a processing block or an accepted block.
    pub fn find_tx(&self, id: &Id) -> Option<SignedTx> {
        if let Some(tx) = self.mempool.get(id) {
            return Some(*tx);
        }
        if let Some(TxStatus::Processing { block_id }) = self.statuses.get(id) {
            if let Some(tx) = self.processing_tx(block_id, id) {
                return Some(tx);
            }
        }
        let location = self.tx_location(id).ok()??;
        let block_id = self.block_id_at_height(location.height).ok()??;
        let block = self.get_block(&block_id).ok()??;
        block.block.txs.get(location.index as usize).copied()
    }
}
