//! The chain as a shared service: one `Chain` behind a lock that never leaves this module, with
//! the expensive work (decoding, stateless and signature checks) done before taking it, metrics
//! kept in step, and hooks that tell the host (or the dev chain's build loop) when to build and
//! what to gossip.
//!
//! The API layer, the dev chain and the plugin layer all drive the chain through [`Node`], and
//! only through it: each gets the answer it needs (a block with its status, a transfer with its
//! status, a [`ChainSummary`]), never the lock.

mod combiner;
mod environment;
mod parsed;
mod state_sync;

pub use environment::{Clock, NoEvents, NodeEvents, Source, SystemClock};
pub use state_sync::{sync_state, PeerId, PeerReply, SyncPeers};

use crate::chain::engine::{AcceptedBlock, BlockSummary};
use crate::chain::genesis::ChainParams;
use crate::chain::gossip::{decode_gossip, GossipError};
use crate::chain::mempool::MempoolLimits;
use crate::chain::{
    Account, AccountHistory, Address, BlockError, BlockStatus, Chain, CheckedTx, HistoryError,
    HistoryPage, HistoryPosition, Id, SealedBlock, SignedTx, StatelessRules, TxError, TxStatus,
};
use crate::metrics::Metrics;
use crate::storage::StoreError;
use combiner::SignatureCombiner;
use parsed::ParsedBlocks;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

/// An account as a wallet sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountInfo {
    /// Accepted balance and next nonce.
    pub accepted: Account,
    /// Nonce to use for the next transfer, counting pending and processing ones.
    pub pending_nonce: u64,
}

/// What `info` and health reports show about the chain, read in one short lock.
#[derive(Clone, Debug)]
pub struct ChainSummary {
    /// The genesis block ID.
    pub genesis_id: Id,
    /// The genesis parameters (fee, block caps, expiry bound).
    pub params: ChainParams,
    /// This node's mempool caps.
    pub mempool_limits: MempoolLimits,
    /// Total supply fixed at genesis.
    pub supply: u64,
    /// Fees burned up to the last accepted block.
    pub burned: u64,
    /// The last accepted block.
    pub last_accepted: BlockSummary,
    /// Transfers waiting for a block.
    pub mempool_txs: usize,
    /// Their encoded size.
    pub mempool_bytes: usize,
    /// Verified blocks consensus has not decided.
    pub processing_blocks: usize,
}

/// What one gossip message brought: how many transfers it carried and how many were admitted
/// (the others are counted in `txs_rejected` by reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GossipReceipt {
    /// Transfers in the message.
    pub carried: usize,
    /// Transfers admitted to the mempool.
    pub admitted: usize,
}

/// A submit between its steps: a verdict slot per input (refusals already in) and the input
/// positions of the fresh transfers whose signatures are being checked.
struct PendingSubmit {
    verdicts: Vec<Result<Id, TxError>>,
    positions: Vec<usize>,
}

/// The shared chain service: the only way into the [`Chain`]. Like mini-redis's `Db`, it never
/// hands out its lock, so every lock is held for one short, visible step, and nothing expensive
/// (decoding, signatures, hashing) happens under it.
pub struct Node {
    /// The chain, behind the one lock every caller shares.
    chain: Mutex<Chain>,
    /// A copy of the chain's stateless rules, so they can be checked without the lock.
    rules: StatelessRules,
    /// The chain's history index, read without the lock (see [`Node::account_transfers`]).
    history: AccountHistory,
    /// Where build requests and gossip go; replaced once the host connects.
    events: RwLock<Arc<dyn NodeEvents>>,
    /// Local time (the wall clock, or a fixed one in tests).
    clock: Arc<dyn Clock>,
    /// Counters and gauges kept in step with every change.
    metrics: Arc<Metrics>,
    /// Batches the signature checks of concurrent submits (one-transfer requests above all).
    signatures: SignatureCombiner,
    /// Held through each accept, so accepts run one at a time while the chain lock is free
    /// during their store write.
    accepting: Mutex<()>,
    /// Blocks `ParseBlock` decoded that `BlockVerify` has not taken yet (its own small lock,
    /// never held with the chain's).
    parsed: Mutex<ParsedBlocks>,
    /// Why the last accept could not be written to the store (a full disk, a failing
    /// database), until an accept is written again. Health reports it (a store that answers
    /// its health check may still refuse writes), and while it is set nothing is admitted: an
    /// admitted transfer could not become final, and a wallet should hear so at once rather
    /// than wait on a transfer stuck in a block that cannot be stored.
    store_fault: Mutex<Option<StoreError>>,
    /// `build_block` calls so far, whatever their outcome: two readings apart tell whether the
    /// engine acted on a build request at all (a host can drop one without a word; see
    /// [`Node::build_attempts`]).
    build_attempts: AtomicU64,
}

impl Node {
    /// Wraps an opened chain.
    pub fn new(chain: Chain, clock: Arc<dyn Clock>, metrics: Arc<Metrics>) -> Self {
        let rules = chain.rules().clone();
        let history = chain.account_history();
        let signatures = SignatureCombiner::new(rules.clone(), clock.clone());
        metrics
            .accepted_height
            .set(chain.last_accepted().block.height as i64);
        Node {
            chain: Mutex::new(chain),
            rules,
            history,
            events: RwLock::new(Arc::new(NoEvents)),
            clock,
            metrics,
            signatures,
            accepting: Mutex::new(()),
            parsed: Mutex::new(ParsedBlocks::default()),
            store_fault: Mutex::new(None),
            build_attempts: AtomicU64::new(0),
        }
    }

    /// Why the node cannot write its store, if its last accept failed to: health reports show
    /// it, and submissions are refused with it until an accept is written again.
    pub fn store_fault(&self) -> Option<StoreError> {
        self.store_fault
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_store_fault(&self, fault: Option<StoreError>) {
        *self.store_fault.lock().unwrap_or_else(|e| e.into_inner()) = fault;
    }

    /// Connects the node to its environment.
    pub fn set_events(&self, events: Arc<dyn NodeEvents>) {
        *self.events.write().unwrap_or_else(|e| e.into_inner()) = events;
    }

    fn events(&self) -> Arc<dyn NodeEvents> {
        self.events
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The chain, locked. Private: callers get answers, not the lock. A panic while holding it
    /// cannot leave half-applied state (every chain operation checks before it mutates), so a
    /// poisoned lock is recovered.
    fn chain(&self) -> MutexGuard<'_, Chain> {
        self.chain.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Local time.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The stateless rules (network, chain, fee).
    pub fn rules(&self) -> &StatelessRules {
        &self.rules
    }

    fn note_mempool(&self, chain: &Chain) -> usize {
        let len = chain.mempool().len();
        self.metrics.mempool_size.set(len as i64);
        len
    }

    // === transfers ===

    /// Admits transactions. Each is hashed once; transfers this node already holds are refused
    /// first (a short lock: gossip repeats them, and their signatures are the expensive part);
    /// the stateless rules and signatures are checked without the lock, in one batch with those of
    /// concurrent submits ([`SignatureCombiner`]); only the state checks
    /// run under it. One verdict per input, in order. Blocks the calling thread while the
    /// signatures are checked: for gossip and other callers on a blocking thread.
    pub fn submit(
        &self,
        txs: Vec<Result<SignedTx, TxError>>,
        source: Source,
    ) -> Vec<Result<Id, TxError>> {
        let (pending, fresh) = self.refuse_known(txs);
        let checked = self.signatures.check(fresh);
        self.admit_checked(pending, checked, source)
    }

    /// [`submit`](Self::submit) for async callers (the API): the signatures are checked by the
    /// combiner's thread while the caller's worker serves other requests, so a request needs
    /// neither a blocking-pool thread nor a worker blocked on curve arithmetic. The locks it
    /// takes are the same short ones.
    pub async fn submit_async(
        &self,
        txs: Vec<Result<SignedTx, TxError>>,
        source: Source,
    ) -> Vec<Result<Id, TxError>> {
        let (pending, fresh) = self.refuse_known(txs);
        let checked = self.signatures.check_async(fresh).await;
        self.admit_checked(pending, checked, source)
    }

    /// The first step of a submit: one verdict slot per input, the refusals of transfers
    /// malformed or already known filled in (under one short lock), and the fresh transfers to
    /// check, whose slots are filled by [`admit_checked`](Self::admit_checked).
    fn refuse_known(
        &self,
        txs: Vec<Result<SignedTx, TxError>>,
    ) -> (PendingSubmit, Vec<(Id, SignedTx)>) {
        let mut verdicts: Vec<Result<Id, TxError>> = Vec::with_capacity(txs.len());
        let mut positions = Vec::with_capacity(txs.len());
        let mut fresh = Vec::with_capacity(txs.len());
        let fault = self.store_fault();
        let chain = self.chain();
        for (index, tx) in txs.into_iter().enumerate() {
            let candidate = tx.and_then(|tx| {
                if let Some(fault) = &fault {
                    return Err(TxError::StoreUnavailable(fault.to_string()));
                }
                let id = tx.id();
                match chain.knows_tx(&id) {
                    true => Err(TxError::AlreadyKnown(id)),
                    false => Ok((id, tx)),
                }
            });
            match candidate {
                Ok(candidate) => {
                    verdicts.push(Ok(candidate.0));
                    positions.push(index);
                    fresh.push(candidate);
                }
                Err(e) => verdicts.push(Err(e)),
            }
        }
        (
            PendingSubmit {
                verdicts,
                positions,
            },
            fresh,
        )
    }

    /// The last step of a submit: the checked transfers admitted under one short lock, the
    /// metrics counted, gossip and a build asked for.
    fn admit_checked(
        &self,
        pending: PendingSubmit,
        checked: Vec<Result<CheckedTx, TxError>>,
        source: Source,
    ) -> Vec<Result<Id, TxError>> {
        let PendingSubmit {
            mut verdicts,
            positions,
        } = pending;
        let mut admitted_txs = Vec::with_capacity(positions.len());
        let mut wake = false;
        {
            let mut chain = self.chain();
            for (index, checked) in positions.into_iter().zip(checked) {
                if let Some(slot) = verdicts.get_mut(index) {
                    *slot = checked.and_then(|checked| {
                        let admitted = chain.admit(checked)?;
                        wake |= admitted.pool_was_empty;
                        admitted_txs.push(*checked.tx());
                        Ok(admitted.id)
                    });
                }
            }
            self.note_mempool(&chain);
        }
        if !admitted_txs.is_empty() {
            self.metrics
                .txs_admitted
                .with_label_values(&[source.label()])
                .inc_by(admitted_txs.len() as u64);
        }
        for e in verdicts.iter().filter_map(|v| v.as_ref().err()) {
            self.metrics
                .txs_rejected
                .with_label_values(&[source.label(), e.reason()])
                .inc();
        }
        let gossip = source == Source::Api && !admitted_txs.is_empty();
        if gossip || wake {
            // One read of the events lock for both.
            let events = self.events();
            if gossip {
                events.gossip(&admitted_txs);
            }
            if wake {
                events.build_wanted();
            }
        }
        verdicts
    }

    /// Takes one `AppGossip` message from a peer: decodes it (bounded, all or nothing) and
    /// submits its transfers as [`submit`](Self::submit) does. A message refused whole is
    /// counted in `gossip_refused` by reason; its transfers' refusals in `txs_rejected`. Blocks
    /// the calling thread while signatures are checked.
    pub fn receive_gossip(&self, bytes: &[u8]) -> Result<GossipReceipt, GossipError> {
        let txs = decode_gossip(bytes).inspect_err(|e| {
            self.metrics
                .gossip_refused
                .with_label_values(&[e.reason()])
                .inc();
        })?;
        let carried = txs.len();
        if carried == 0 {
            return Ok(GossipReceipt {
                carried,
                admitted: 0,
            });
        }
        let verdicts = self.submit(txs.into_iter().map(Ok).collect(), Source::Gossip);
        Ok(GossipReceipt {
            carried,
            admitted: verdicts.iter().filter(|v| v.is_ok()).count(),
        })
    }

    /// Checks a transaction without admitting it: rules and signature without the lock, state
    /// under it. Returns its ID.
    pub fn simulate(&self, tx: SignedTx) -> Result<Id, TxError> {
        let checked = CheckedTx::check(&self.rules, self.now_ms(), tx)?;
        self.chain().simulate(&checked)?;
        Ok(checked.id())
    }

    /// An account's accepted state and pending nonce.
    pub fn account(&self, address: &Address) -> AccountInfo {
        let chain = self.chain();
        AccountInfo {
            accepted: chain.account(address),
            pending_nonce: chain.pending_nonce(address),
        }
    }

    /// A transaction's status.
    pub fn tx_status(&self, id: &Id) -> TxStatus {
        self.chain().tx_status(id)
    }

    /// A transaction this node holds (pending, processing or accepted), with its status.
    pub fn tx(&self, id: &Id) -> Option<(SignedTx, TxStatus)> {
        let chain = self.chain();
        let tx = chain.find_tx(id)?;
        Some((tx, chain.tx_status(id)))
    }

    /// A page of `address`'s accepted transfers, newest first, after `after`. Read without
    /// the chain lock, through the store handle the chain gave at start: the index only grows
    /// by the atomic batch of each accept, so a page never shows half a block, and a page read
    /// over rpcdb (a gRPC round trip per batch of pairs) never holds up verify or accept.
    pub fn account_transfers(
        &self,
        address: &Address,
        limit: usize,
        after: Option<HistoryPosition>,
    ) -> Result<HistoryPage, HistoryError> {
        self.history.page(address, limit, after)
    }

    // === chain and block queries ===

    /// The last accepted block's identity and place.
    pub fn last_accepted(&self) -> BlockSummary {
        BlockSummary::from(self.chain().last_accepted())
    }

    /// The last accepted block itself (what the host asks for at `Initialize` and `SetState`).
    pub fn last_accepted_block(&self) -> SealedBlock {
        self.chain().last_accepted().clone()
    }

    /// What `info` and health reports show.
    pub fn summary(&self) -> ChainSummary {
        let chain = self.chain();
        ChainSummary {
            genesis_id: chain.genesis_id(),
            params: chain.params().clone(),
            mempool_limits: chain.config().mempool.clone(),
            supply: chain.supply(),
            burned: chain.burned(),
            last_accepted: BlockSummary::from(chain.last_accepted()),
            mempool_txs: chain.mempool().len(),
            mempool_bytes: chain.mempool().bytes(),
            processing_blocks: chain.processing_count(),
        }
    }

    /// A block this node knows (processing or accepted), without its status.
    pub fn block(&self, id: &Id) -> Result<Option<SealedBlock>, StoreError> {
        self.chain().get_block(id)
    }

    /// A block this node knows, with its consensus status.
    pub fn block_with_status(
        &self,
        id: &Id,
    ) -> Result<Option<(SealedBlock, BlockStatus)>, StoreError> {
        let chain = self.chain();
        Ok(chain.get_block(id)?.map(|block| {
            let status = chain.block_status(&block);
            (block, status)
        }))
    }

    /// The accepted block at `height`.
    pub fn block_id_at_height(&self, height: u64) -> Result<Option<Id>, StoreError> {
        self.chain().block_id_at_height(height)
    }

    /// Whether the store answers and took the last accept's write.
    pub fn store_health(&self) -> Result<(), StoreError> {
        if let Some(fault) = self.store_fault() {
            return Err(fault);
        }
        self.chain().store_health()
    }

    // === consensus ===

    /// How many times the engine has asked for a block so far. A host's consensus engine may
    /// consume a build request without ever calling `build_block` (luxd's proposervm refuses a
    /// build before this node's proposer window opens, and the engine drops the request); an
    /// environment that sees this count stand still while [`has_pending`](Self::has_pending)
    /// asks again, or the transfers would wait for an unrelated event.
    pub fn build_attempts(&self) -> u64 {
        self.build_attempts.load(Ordering::Relaxed)
    }

    /// Whether transfers wait in the mempool for a block.
    pub fn has_pending(&self) -> bool {
        !self.chain().mempool().is_empty()
    }

    /// Builds a block on the preferred block. Asks for another build if transactions remain.
    pub fn build_block(&self) -> Result<SealedBlock, BlockError> {
        self.build_attempts.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let now_ms = self.now_ms();
        let (result, remaining) = {
            let mut chain = self.chain();
            let result = chain.build_block(now_ms);
            (result, self.note_mempool(&chain))
        };
        if result.is_ok() {
            self.metrics.blocks_built.inc();
            self.metrics
                .build_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        if remaining > 0 {
            self.events().build_wanted();
        }
        result
    }

    /// Decodes block bytes (without the lock) and reports the block's status (a short lock):
    /// what `ParseBlock` answers. A block still to be verified is kept, decoded, for the
    /// `BlockVerify` that follows, which then only hashes the bytes to find it.
    /// Refusals are counted in `blocks_unparsable` by reason.
    pub fn parse_block(&self, bytes: &[u8]) -> Result<(BlockSummary, BlockStatus), BlockError> {
        let sealed = self.rules.decode_block(bytes).inspect_err(|e| {
            self.metrics
                .blocks_unparsable
                .with_label_values(&[e.reason()])
                .inc();
        })?;
        let summary = BlockSummary::from(&sealed);
        let (status, undecided) = {
            let chain = self.chain();
            let status = chain.block_status(&sealed);
            let verified = chain.processing_summary(&sealed.id).is_some();
            (status, status == BlockStatus::Processing && !verified)
        };
        // Kept after the chain lock is released: the two locks are never held together.
        if undecided {
            self.parsed().put(sealed);
        }
        Ok((summary, status))
    }

    /// Verifies a block given as bytes, as `BlockVerify` does: a block this node built or
    /// verified before is found by its hash and not decoded again; one `ParseBlock` decoded
    /// is taken from the parse cache; any other is decoded here (without the lock). Refusals,
    /// the decoder's included, are counted in `blocks_invalid` by reason.
    pub fn verify_block(&self, bytes: &[u8]) -> Result<BlockSummary, BlockError> {
        let id = Id::hash_of(bytes);
        if let Some(summary) = self.chain().processing_summary(&id) {
            return Ok(summary);
        }
        let taken = self.parsed().take(&id);
        let verified = taken
            .map_or_else(|| self.rules.decode_block(bytes), Ok)
            .and_then(|sealed| {
                let summary = BlockSummary::from(&sealed);
                self.verify_sealed(sealed).map(|()| summary)
            });
        if let Err(e) = &verified {
            self.metrics
                .blocks_invalid
                .with_label_values(&[e.reason()])
                .inc();
        }
        verified
    }

    fn parsed(&self) -> MutexGuard<'_, ParsedBlocks> {
        self.parsed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Verifies a decoded block. Its place and size are checked first, under a short lock that
    /// also names the signatures this node has not checked; those are checked without the
    /// lock, on every core, while this thread checks the block's state under it (the two are
    /// independent), so a block costs the longer of the two rather than their sum. The block is recorded once both passed.
    fn verify_sealed(&self, sealed: SealedBlock) -> Result<(), BlockError> {
        let started = Instant::now();
        let now_ms = self.now_ms();
        // A misplaced or oversized block is refused before a signature of it is checked: a
        // peer's block of thousands of unknown transfers with a wrong parent would otherwise
        // cost thousands of signature checks, where its place costs a few lookups.
        let work = {
            let chain = self.chain();
            chain.check_place(&sealed, now_ms)?;
            chain.signatures_to_check(&sealed)
        };
        let check_state = || self.chain().check_block(&sealed, now_ms);
        let (signatures, state) = if work.is_empty() {
            (work.run(), check_state())
        } else {
            std::thread::scope(|scope| {
                let signatures = scope.spawn(move || work.run());
                let state = check_state();
                // A signature thread cannot panic on any input; if one ever did, fail closed.
                let signatures = signatures
                    .join()
                    .unwrap_or(Err(BlockError::SignatureCheckStopped));
                (signatures, state)
            })
        };
        // A bad signature is reported before a bad state, as when the two ran one after the other.
        let result = signatures.and_then(|proof| {
            let checked = state?;
            let mut chain = self.chain();
            let verified = chain.record_verified(sealed, checked, proof);
            self.note_mempool(&chain);
            verified
        });
        if result.is_ok() {
            self.metrics.blocks_verified.inc();
            self.metrics
                .verify_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        result
    }

    /// Accepts a block. The durable write (a journal fsync on the dev chain's fjall, a gRPC round
    /// trip to the host's database) runs without the chain lock, so admission and verification
    /// go on meanwhile; only the checks before it and the in-memory commit after it hold the
    /// lock. Accepts are serialised among themselves (consensus orders them anyway).
    pub fn accept_block(&self, id: Id) -> Result<AcceptedBlock, BlockError> {
        let started = Instant::now();
        let _one_accept_at_a_time = self.accepting.lock().unwrap_or_else(|e| e.into_inner());
        let Some(write) = self.chain().begin_accept(id)? else {
            return Ok(AcceptedBlock::from(&self.last_accepted_block()));
        };
        let written = write.write();
        let now_ms = self.now_ms();
        let (result, pending) = {
            let mut chain = self.chain();
            let r = match written {
                Ok(written) => {
                    self.set_store_fault(None);
                    chain.finish_accept(written)
                }
                Err(e) => {
                    chain.abort_accept(id);
                    tracing::error!(
                        block = %id,
                        "the accepted block could not be written to the store, so the node \
                         admits nothing until a write succeeds: {e}"
                    );
                    self.metrics.accept_failures.inc();
                    self.set_store_fault(Some(e.clone()));
                    Err(e.into())
                }
            };
            if r.is_ok() {
                chain.reject_stale(now_ms);
            }
            (r, self.note_mempool(&chain))
        };
        if let Ok(block) = &result {
            self.metrics.blocks_accepted.inc();
            self.metrics.txs_accepted.inc_by(block.txs as u64);
            self.metrics.accepted_height.set(block.height as i64);
            self.metrics
                .accept_seconds
                .observe(started.elapsed().as_secs_f64());
            if pending > 0 {
                self.events().build_wanted();
            }
        }
        result
    }

    /// Rejects a block, returning its still-valid transactions to the mempool.
    pub fn reject_block(&self, id: Id) -> Result<(), BlockError> {
        let now_ms = self.now_ms();
        let (result, pending) = {
            let mut chain = self.chain();
            let r = chain.reject_block(id, now_ms);
            (r, self.note_mempool(&chain))
        };
        if result.is_ok() {
            self.metrics.blocks_rejected.inc();
            if pending > 0 {
                self.events().build_wanted();
            }
        }
        result
    }

    /// Sets the preferred block.
    pub fn set_preference(&self, id: Id) -> Result<(), BlockError> {
        self.chain().set_preference(id)
    }

    // === test support ===

    /// Runs `look` on the chain under the lock: tests and fuzz targets compare the whole state
    /// before and after. Not for production code, which asks for answers instead.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn inspect<R>(&self, look: impl FnOnce(&Chain) -> R) -> R {
        look(&self.chain())
    }

    /// Runs `change` on the chain under the lock: benches reset the mempool between rounds.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn inspect_mut<R>(&self, change: impl FnOnce(&mut Chain) -> R) -> R {
        change(&mut self.chain())
    }
}

#[cfg(test)]
mod tests;
