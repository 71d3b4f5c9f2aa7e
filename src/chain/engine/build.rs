//! Block building: pending transfers, taken sender by sender from where the last block left
//! off, applied on the preferred block's state until the block is full.

use super::super::block::{Block, SealedBlock};
use super::super::error::{BlockError, TxError};
use super::super::ids::Id;
use super::super::state::Transition;
use super::super::tx::{SignedTx, SIGNED_TX_LEN};
use super::{Chain, ProcessingBlock};

/// Largest n with `Block::encoded_len(n) <= max_bytes`.
fn max_txs_for_bytes(max_bytes: usize) -> usize {
    let mut n = max_bytes / SIGNED_TX_LEN;
    while n > 0 && Block::encoded_len(n) > max_bytes {
        n -= 1;
    }
    n
}

// === impl Chain: building ===

impl Chain {
    /// Builds a block on the preferred block from pending transactions and records it as
    /// processing (already verified: this node computed its state).
    pub fn build_block(&mut self, now_ms: u64) -> Result<SealedBlock, BlockError> {
        let parent_id = self.preferred;
        let parent = self
            .tip_state(parent_id)
            .ok_or(BlockError::UnknownParent(parent_id))?;
        let timestamp_ms = now_ms.max(parent.timestamp_ms);
        self.prune_expired(timestamp_ms);
        if self.mempool.is_empty() {
            return Err(BlockError::NothingToBuild);
        }
        let params = &self.rules.params;
        let max_txs =
            (params.max_block_txs as usize).min(max_txs_for_bytes(params.max_block_bytes as usize));
        let mut chosen: Vec<(Id, SignedTx)> = Vec::new();
        let mut dropped: Vec<(Id, TxError)> = Vec::new();
        let mut last_sender = self.build_cursor;
        let (overlay, mut digest) = {
            let view = self.branch_view(parent_id);
            let mut transition = Transition::new(&view, parent.digest);
            'senders: for sender in self.mempool.senders_from(self.build_cursor) {
                for (id, tx) in self.mempool.sender_txs(&sender) {
                    if chosen.len() >= max_txs {
                        break 'senders;
                    }
                    if let Err(e) = self.rules.check_time(&tx, timestamp_ms) {
                        dropped.push((id, e));
                        continue;
                    }
                    match transition.apply(&tx.body) {
                        Ok(()) => chosen.push((id, tx)),
                        // A gap: later nonces wait for the missing one.
                        Err(TxError::NonceGap { .. }) => break,
                        Err(e) => dropped.push((id, e)),
                    }
                }
                last_sender = Some(sender);
            }
            transition.finish()
        };
        self.build_cursor = last_sender;
        for (id, error) in dropped {
            self.mempool.remove(&id);
            self.drop_pending(id, error.to_string());
        }
        if chosen.is_empty() {
            return Err(BlockError::NothingToBuild);
        }
        let burned_total = parent
            .burned
            .checked_add(overlay.burned)
            .ok_or(BlockError::BurnedOverflow)?;
        let sealed = Block {
            parent_id,
            height: parent.height + 1,
            timestamp_ms,
            txs: chosen.iter().map(|(_, tx)| *tx).collect(),
            state_digest: digest.finish(burned_total),
        }
        .seal();
        self.record_processing(ProcessingBlock {
            sealed: sealed.clone(),
            overlay,
            digest,
            burned_total,
        });
        Ok(sealed)
    }
}
