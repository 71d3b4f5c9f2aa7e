//! Block verification: a block from a peer checked against its parent's state, its
//! signatures checked once, and recorded as processing.
//!
//! Signatures are the expensive part, so verification comes in two steps that let the caller
//! check them without the chain lock: [`Chain::signatures_to_check`] names the transfers this
//! node has not verified yet, [`SignatureWork::run`] checks them (on every core), and
//! [`Chain::verify_block`] takes the result.

use super::super::block::SealedBlock;
use super::super::commitment::StateCommitment;
use super::super::error::{BlockError, TxError};
use super::super::ids::Id;
use super::super::signature;
use super::super::state::{Overlay, Transition};
use super::super::tx::SignedTx;
use super::tree::TipState;
use super::{Chain, ProcessingBlock};

/// How far ahead of local time a block's timestamp may be.
pub const MAX_BLOCK_SKEW_MS: u64 = 10_000;

/// The transfers of one block whose signatures this node has not checked yet.
#[derive(Debug, Default)]
pub struct SignatureWork {
    /// (position in the block, transfer).
    unchecked: Vec<(usize, SignedTx)>,
}

impl SignatureWork {
    /// Whether every signature is already known good (a block of transfers this node admitted):
    /// nothing to run.
    pub fn is_empty(&self) -> bool {
        self.unchecked.is_empty()
    }

    /// Checks every signature in one batch. Needs no chain state: run it without the lock.
    pub fn run(self) -> Result<SignatureProof, BlockError> {
        let txs: Vec<SignedTx> = self.unchecked.iter().map(|(_, tx)| *tx).collect();
        let verdicts = signature::verify_many(&txs);
        if let Some(bad) = verdicts.iter().position(|ok| !ok) {
            let (index, tx) = self.unchecked[bad];
            return Err(BlockError::InvalidTx {
                index,
                id: tx.id(),
                error: TxError::BadSignature,
            });
        }
        Ok(SignatureProof {
            verified: self.unchecked.into_iter().map(|(i, _)| i).collect(),
        })
    }
}

/// A block whose place, rules and state [`Chain::check_block`] found good: the state it
/// reaches, waiting for its signatures. Only `check_block` makes one.
#[derive(Debug)]
pub struct CheckedBlock {
    /// The block checked: a check is never recorded for another.
    block_id: Id,
    /// The accounts it changes over its parent's state.
    overlay: Overlay,
    /// The accumulator after it (before the burned total is folded in).
    digest: StateCommitment,
    /// Fees burned up to and including it.
    burned_total: u64,
}

/// Positions in a block whose signatures were checked and are valid. Made only by
/// [`SignatureWork::run`]; an empty proof (the default) makes `verify_block` check what it must.
#[derive(Debug, Default)]
pub struct SignatureProof {
    /// Ascending positions.
    verified: Vec<usize>,
}

impl SignatureProof {
    /// The positions of both proofs.
    fn with(mut self, other: SignatureProof) -> SignatureProof {
        if !other.verified.is_empty() {
            self.verified.extend(other.verified);
            self.verified.sort_unstable();
            self.verified.dedup();
        }
        self
    }
}

// === impl Chain: verification ===

impl Chain {
    /// The transfers of `sealed` whose signatures still need checking: those this node has not
    /// admitted or verified in another block.
    pub fn signatures_to_check(&self, sealed: &SealedBlock) -> SignatureWork {
        SignatureWork {
            unchecked: sealed
                .tx_ids
                .iter()
                .zip(&sealed.block.txs)
                .enumerate()
                .filter(|(_, (id, _))| !self.verified_sigs.contains(id))
                .map(|(index, (_, tx))| (index, *tx))
                .collect(),
        }
    }

    /// Verifies a block against its parent's state and records it as processing. A block this
    /// node built or already verified is not verified again. `proof` covers the signatures
    /// [`signatures_to_check`](Self::signatures_to_check) named; any other this node has not
    /// verified (one that left the mempool since) is checked here.
    ///
    /// The two steps of [`check_block`](Self::check_block) and
    /// [`record_verified`](Self::record_verified), for a caller that holds the chain alone.
    pub fn verify_block(
        &mut self,
        sealed: SealedBlock,
        proof: SignatureProof,
        now_ms: u64,
    ) -> Result<(), BlockError> {
        if self.processing.contains_key(&sealed.id) {
            return Ok(());
        }
        // Signatures first: a block that is wrong in both ways is reported for its signature.
        let extra = self.missing_signatures(&sealed, &proof).run()?;
        let checked = self.check_block(&sealed, now_ms)?;
        self.record_verified(sealed, checked, proof.with(extra))
    }

    /// The signatures of `sealed` neither `proof` covers nor this node verified before.
    fn missing_signatures(&self, sealed: &SealedBlock, proof: &SignatureProof) -> SignatureWork {
        let ids = &sealed.tx_ids;
        SignatureWork {
            unchecked: (0..ids.len())
                .filter(|i| {
                    proof.verified.binary_search(i).is_err()
                        && !self.verified_sigs.contains(&ids[*i])
                })
                .map(|i| (i, sealed.block.txs[i]))
                .collect(),
        }
    }

    /// Checks what a block claims about its place and size (a live parent, the next height, a
    /// timestamp in range, the genesis caps) and changes nothing: each is a few lookups, so the
    /// node runs it before it spends a signature check on any of the block's transfers, and a
    /// peer's misplaced or oversized block costs no more than its decoding. [`check_block`]
    /// checks the same again (the chain may have moved in between).
    ///
    /// [`check_block`]: Self::check_block
    pub fn check_place(&self, sealed: &SealedBlock, now_ms: u64) -> Result<(), BlockError> {
        self.place_of(sealed, now_ms).map(|_| ())
    }

    /// [`check_place`](Self::check_place), returning the parent's state.
    fn place_of(&self, sealed: &SealedBlock, now_ms: u64) -> Result<TipState, BlockError> {
        let block = &sealed.block;
        let parent = self
            .tip_state(block.parent_id)
            .filter(|_| self.is_live(block.parent_id))
            .ok_or(BlockError::UnknownParent(block.parent_id))?;
        let expected_height = parent.height + 1;
        if block.height != expected_height {
            return Err(BlockError::WrongHeight {
                expected: expected_height,
                got: block.height,
            });
        }
        let max_ts = now_ms.saturating_add(MAX_BLOCK_SKEW_MS);
        if block.timestamp_ms < parent.timestamp_ms || block.timestamp_ms > max_ts {
            return Err(BlockError::BadTimestamp {
                got: block.timestamp_ms,
                min: parent.timestamp_ms,
                max: max_ts,
            });
        }
        let params = &self.rules.params;
        if block.txs.len() > params.max_block_txs as usize
            || sealed.bytes.len() > params.max_block_bytes as usize
        {
            return Err(BlockError::TooLarge(format!(
                "{} transactions / {} bytes, limits {} / {}",
                block.txs.len(),
                sealed.bytes.len(),
                params.max_block_txs,
                params.max_block_bytes
            )));
        }
        Ok(parent)
    }

    /// Checks everything about a block but the signatures, and changes nothing: its place
    /// (live parent, height, timestamp), its size, each transfer's rules, and the state its
    /// transfers reach against the digest it claims. It reads the chain only, so the node runs
    /// it while the block's signatures are checked on other cores: the two are independent
    /// until [`record_verified`](Self::record_verified) joins them.
    pub fn check_block(
        &self,
        sealed: &SealedBlock,
        now_ms: u64,
    ) -> Result<CheckedBlock, BlockError> {
        let block = &sealed.block;
        let parent = self.place_of(sealed, now_ms)?;
        if block.txs.is_empty() {
            return Err(BlockError::Malformed(
                "a block must hold at least one transaction".into(),
            ));
        }
        let ids = &sealed.tx_ids;
        let (overlay, mut digest) = {
            let view = self.branch_view(block.parent_id);
            let mut transition = Transition::new(&view, parent.digest);
            for (index, tx) in block.txs.iter().enumerate() {
                let invalid = |error| BlockError::InvalidTx {
                    index,
                    id: ids[index],
                    error,
                };
                self.rules
                    .check_at(tx, block.timestamp_ms)
                    .map_err(invalid)?;
                // Nonces make a repeated transaction (in this block or on the branch) fail here.
                transition.apply(&tx.body).map_err(invalid)?;
            }
            transition.finish()
        };
        let burned_total = parent
            .burned
            .checked_add(overlay.burned)
            .ok_or(BlockError::BurnedOverflow)?;
        let computed = digest.finish(burned_total);
        if computed != block.state_digest {
            return Err(BlockError::DigestMismatch {
                claimed: block.state_digest,
                computed,
            });
        }
        Ok(CheckedBlock {
            block_id: sealed.id,
            overlay,
            digest,
            burned_total,
        })
    }

    /// Records a block [`check_block`](Self::check_block) passed as processing, once its
    /// signatures are known good: `proof` covers those
    /// [`signatures_to_check`](Self::signatures_to_check) named, and any other this node has
    /// not verified (one that left the mempool since) is checked here. The chain may have
    /// moved since the check: a parent rejected meanwhile makes the block unknown-parent; a
    /// parent accepted meanwhile changes nothing (its state is the same, now accepted).
    pub fn record_verified(
        &mut self,
        sealed: SealedBlock,
        checked: CheckedBlock,
        proof: SignatureProof,
    ) -> Result<(), BlockError> {
        if self.processing.contains_key(&sealed.id) {
            return Ok(());
        }
        if checked.block_id != sealed.id {
            return Err(BlockError::Malformed(format!(
                "the state check was of block {}, not {}",
                checked.block_id, sealed.id
            )));
        }
        let parent_id = sealed.block.parent_id;
        if !self.is_live(parent_id) {
            return Err(BlockError::UnknownParent(parent_id));
        }
        let missing = self.missing_signatures(&sealed, &proof);
        if !missing.is_empty() {
            missing.run()?;
        }
        self.verified_sigs.extend(sealed.tx_ids.iter().copied());
        self.record_processing(ProcessingBlock {
            sealed,
            overlay: checked.overlay,
            digest: checked.digest,
            burned_total: checked.burned_total,
        });
        Ok(())
    }
}
