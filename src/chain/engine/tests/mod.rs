//! Unit tests of the [`Chain`] state machine as consensus and wallets drive it, one concept a
//! file:
//!
//! | file | what |
//! |---|---|
//! | `competing.rs` | competing blocks and branches: accept, reject, where their transfers go |
//! | `validity.rs` | block validity rules, and accepting in order |
//! | `caps.rs` | block caps on count and bytes, for verifier and builder |
//! | `admission.rs` | mempool admission: every refusal, and the boundaries admitted |
//! | `mempool_full.rs` | admission against the mempool's caps |
//! | `restart.rs` | reopening a store: resuming, refusing another chain, damage |
//! | `expiry.rs` | expired transfers at build and at reject |
//! | `determinism.rs` | the same bytes give the same state; the same pool the same block |
//! | `properties.rs` | random workloads with random forks against a model |
//! | `pool_model.rs` | the property test's model of where each held transfer may go, and why |
//! | `history.rs` | the account-history index: entries, order, pages, backfill |
//! | `state_sync.rs` | a sync between two chains by hand: pieces checked, resumed after a kill |
//!
//! Chains, transfers and the clock come from [`crate::test_utils`]; this file holds only what
//! is particular to engine tests. Time is always passed in; every test uses fixed times around
//! [`NOW_MS`].

mod accept;
mod admission;
mod caps;
mod competing;
mod determinism;
mod expiry;
mod history;
mod mempool_full;
mod pool_model;
mod properties;
mod restart;
mod state_sync;
mod validity;

use crate::chain::tx::address_of;
use crate::chain::{
    Address, Block, BlockError, Chain, CheckedTx, Id, SealedBlock, SignatureProof, SignedTx,
    TxError, TxStatus,
};
use crate::test_utils::{unfunded_key, NOW_MS};

/// The address of [`unfunded_key`] `index`: a recipient nobody funded.
fn unfunded(index: u8) -> Address {
    address_of(&unfunded_key(index))
}

/// Admits `tx` at [`NOW_MS`], which must succeed; returns its ID.
fn admit(chain: &mut Chain, tx: SignedTx) -> Id {
    chain.check_and_admit(tx, NOW_MS).expect("admit").id
}

/// Verifies a block as a chain holding it directly does: signatures it has not seen are
/// checked inside `verify_block`.
trait VerifyHere {
    fn verify(&mut self, block: SealedBlock, now_ms: u64) -> Result<(), BlockError>;
}

impl VerifyHere for Chain {
    fn verify(&mut self, block: SealedBlock, now_ms: u64) -> Result<(), BlockError> {
        self.verify_block(block, SignatureProof::default(), now_ms)
    }
}

/// Hands `block` to `chain` the way a peer's block arrives: as bytes, parsed, then verified.
fn deliver(chain: &mut Chain, block: &SealedBlock, now_ms: u64) -> Result<(), BlockError> {
    let parsed = chain.rules().decode_block(&block.bytes)?;
    assert_eq!(parsed, *block, "parsing gives back the same block");
    chain.verify(parsed, now_ms)
}

/// A block with the given fields (not necessarily valid), sealed.
fn craft(
    parent: Id,
    height: u64,
    timestamp_ms: u64,
    txs: Vec<SignedTx>,
    digest: Id,
) -> SealedBlock {
    Block {
        parent_id: parent,
        height,
        timestamp_ms,
        txs,
        state_digest: digest,
    }
    .seal()
}

/// A copy of `block` with one field changed, resealed.
fn altered(block: &SealedBlock, change: impl FnOnce(&mut Block)) -> SealedBlock {
    let mut b = block.block.clone();
    change(&mut b);
    b.seal()
}

/// Admits a transfer that must be refused, checks that nothing changed and that `simulate`
/// agrees, and returns the error.
fn refused(chain: &mut Chain, tx: SignedTx, now_ms: u64) -> TxError {
    let len = chain.mempool().len();
    let bytes = chain.mempool().bytes();
    let nonce = chain.pending_nonce(&tx.body.from);
    let status = chain.tx_status(&tx.id());
    let simulated =
        CheckedTx::check(chain.rules(), now_ms, tx).and_then(|checked| chain.simulate(&checked));
    let err = chain
        .check_and_admit(tx, now_ms)
        .expect_err("must be refused");
    assert_eq!(simulated, Err(err.clone()), "simulate agrees with admit");
    assert_eq!(chain.mempool().len(), len);
    assert_eq!(chain.mempool().bytes(), bytes);
    assert_eq!(chain.pending_nonce(&tx.body.from), nonce);
    assert_eq!(chain.tx_status(&tx.id()), status);
    if status == TxStatus::Unknown {
        assert!(
            !chain.is_signature_verified(&tx.id()),
            "a refused transfer leaves no verified-signature entry behind"
        );
    }
    err
}

/// The status of a transfer accepted in `block`.
fn accepted_at(block: &SealedBlock) -> TxStatus {
    TxStatus::Accepted {
        block_id: block.id,
        height: block.block.height,
    }
}
