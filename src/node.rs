//! The chain as a shared service: one `Chain` behind a lock, with the expensive work
//! (decoding, signature checks) done before taking it, metrics kept in step, and hooks that
//! tell the host (or the dev chain's build loop) when to build and what to gossip.
//!
//! The API layer, the dev chain and the plugin layer all drive the chain through this type.

use crate::chain::engine::BlockSummary;
use crate::chain::{
    signature, Account, Address, BlockError, BlockStatus, Chain, Id, SealedBlock, SignedTx,
    StatelessRules, TxError, TxStatus,
};
use crate::metrics::Metrics;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Where local time comes from. Consensus code takes time as an argument; this is the one
/// place that reads the wall clock, so tests can substitute a fixed clock.
pub trait Clock: Send + Sync {
    /// Unix milliseconds now.
    fn now_ms(&self) -> u64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// What the node tells its environment (the host, or the dev chain's build loop).
pub trait NodeEvents: Send + Sync {
    /// There are pending transactions and no build was requested for them yet.
    fn build_wanted(&self);
    /// Transactions admitted from the API, to be gossiped to peers.
    fn gossip(&self, txs: &[SignedTx]);
}

/// Events that go nowhere (before the host has connected, and in tests).
pub struct NoEvents;

impl NodeEvents for NoEvents {
    fn build_wanted(&self) {}
    fn gossip(&self, _: &[SignedTx]) {}
}

/// Where a submitted transaction came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A wallet, through JSON-RPC: gossiped on admission.
    Api,
    /// A peer, through AppGossip: never echoed back.
    Gossip,
}

impl Source {
    fn label(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Gossip => "gossip",
        }
    }
}

/// An account as a wallet sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountInfo {
    /// Accepted balance and next nonce.
    pub accepted: Account,
    /// Nonce to use for the next transfer, counting pending and processing ones.
    pub pending_nonce: u64,
}

/// The shared chain service.
pub struct Node {
    chain: Mutex<Chain>,
    rules: StatelessRules,
    events: RwLock<Arc<dyn NodeEvents>>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
}

impl Node {
    /// Wraps an opened chain.
    pub fn new(chain: Chain, clock: Arc<dyn Clock>, metrics: Arc<Metrics>) -> Self {
        let rules = chain.rules().clone();
        metrics
            .accepted_height
            .set(chain.last_accepted().block.height as i64);
        Node {
            chain: Mutex::new(chain),
            rules,
            events: RwLock::new(Arc::new(NoEvents)),
            clock,
            metrics,
        }
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

    /// The chain, locked. A panic while holding the lock cannot leave half-applied state
    /// (every chain operation checks before it mutates), so a poisoned lock is recovered.
    pub fn chain(&self) -> MutexGuard<'_, Chain> {
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

    /// Admits transactions: stateless checks and batched signature checks first, without the
    /// lock; then state checks under it. One verdict per input, in order.
    pub fn submit(
        &self,
        txs: Vec<Result<SignedTx, TxError>>,
        source: Source,
    ) -> Vec<Result<Id, TxError>> {
        let now_ms = self.now_ms();
        let mut verdicts: Vec<Result<Id, TxError>> = Vec::with_capacity(txs.len());
        let mut candidates: Vec<(usize, SignedTx)> = Vec::new();
        {
            let chain = self.chain();
            for (index, tx) in txs.into_iter().enumerate() {
                let checked = tx.and_then(|tx| {
                    let id = tx.id();
                    if chain.knows_tx(&id) {
                        return Err(TxError::AlreadyKnown(id));
                    }
                    self.rules.check(&tx)?;
                    self.rules.check_time(&tx, now_ms)?;
                    Ok(tx)
                });
                match checked {
                    Ok(tx) => {
                        candidates.push((index, tx));
                        verdicts.push(Ok(Id::default()));
                    }
                    Err(e) => verdicts.push(Err(e)),
                }
            }
        }
        let signatures: Vec<SignedTx> = candidates.iter().map(|(_, tx)| *tx).collect();
        let valid = signature::verify_many(&signatures);
        let mut admitted_txs = Vec::new();
        let mut wake = false;
        {
            let mut chain = self.chain();
            for ((index, tx), ok) in candidates.into_iter().zip(valid) {
                verdicts[index] = if ok {
                    chain.admit(tx, true, now_ms).map(|admitted| {
                        wake |= admitted.pool_was_empty;
                        admitted_txs.push(tx);
                        admitted.id
                    })
                } else {
                    Err(TxError::BadSignature)
                };
            }
            self.metrics.mempool_size.set(chain.mempool().len() as i64);
        }
        for verdict in &verdicts {
            match verdict {
                Ok(_) => self
                    .metrics
                    .txs_admitted
                    .with_label_values(&[source.label()])
                    .inc(),
                Err(e) => self
                    .metrics
                    .txs_rejected
                    .with_label_values(&[e.reason()])
                    .inc(),
            }
        }
        let events = self.events();
        if source == Source::Api && !admitted_txs.is_empty() {
            events.gossip(&admitted_txs);
        }
        if wake {
            events.build_wanted();
        }
        verdicts
    }

    /// Checks a transaction without admitting it.
    pub fn simulate(&self, tx: &SignedTx) -> Result<(), TxError> {
        let now_ms = self.now_ms();
        self.chain().simulate(tx, now_ms)
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

    /// The last accepted block.
    pub fn last_accepted(&self) -> BlockSummary {
        BlockSummary::from(self.chain().last_accepted())
    }

    /// Builds a block on the preferred block. Asks for another build if transactions remain.
    pub fn build_block(&self) -> Result<SealedBlock, BlockError> {
        let started = Instant::now();
        let now_ms = self.now_ms();
        let (result, remaining) = {
            let mut chain = self.chain();
            let result = chain.build_block(now_ms);
            self.metrics.mempool_size.set(chain.mempool().len() as i64);
            (result, chain.mempool().len())
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

    /// Parses block bytes and reports the block's status.
    pub fn parse_block(&self, bytes: &[u8]) -> Result<(SealedBlock, BlockStatus), BlockError> {
        let chain = self.chain();
        let sealed = chain.parse_block(bytes)?;
        let status = chain.block_status(&sealed);
        Ok((sealed, status))
    }

    /// Verifies a block. Signatures this node has not seen are batch-checked before taking the
    /// lock; a block this node built or verified before is not verified again.
    pub fn verify_block(&self, sealed: SealedBlock) -> Result<(), BlockError> {
        let started = Instant::now();
        let unchecked: Vec<(Id, SignedTx)> = {
            let chain = self.chain();
            sealed
                .tx_ids
                .iter()
                .zip(&sealed.block.txs)
                .filter(|(id, _)| !chain.is_signature_verified(id))
                .map(|(id, tx)| (*id, *tx))
                .collect()
        };
        if !unchecked.is_empty() {
            let txs: Vec<SignedTx> = unchecked.iter().map(|(_, tx)| *tx).collect();
            let verdicts = signature::verify_many(&txs);
            let good = unchecked
                .iter()
                .zip(verdicts)
                .filter(|(_, ok)| *ok)
                .map(|((id, _), _)| *id);
            self.chain().mark_signatures_verified(good);
        }
        let now_ms = self.now_ms();
        let result = {
            let mut chain = self.chain();
            let r = chain.verify_block(sealed, now_ms);
            self.metrics.mempool_size.set(chain.mempool().len() as i64);
            r
        };
        match &result {
            Ok(()) => {
                self.metrics.blocks_verified.inc();
                self.metrics
                    .verify_seconds
                    .observe(started.elapsed().as_secs_f64());
            }
            Err(_) => self.metrics.blocks_invalid.inc(),
        }
        result
    }

    /// Accepts a block.
    pub fn accept_block(&self, id: Id) -> Result<SealedBlock, BlockError> {
        let started = Instant::now();
        let now_ms = self.now_ms();
        let (result, pending) = {
            let mut chain = self.chain();
            let r = chain.accept_block(id);
            if r.is_ok() {
                chain.reject_stale(now_ms);
            }
            self.metrics.mempool_size.set(chain.mempool().len() as i64);
            (r, chain.mempool().len())
        };
        if let Ok(block) = &result {
            self.metrics.blocks_accepted.inc();
            self.metrics
                .txs_accepted
                .inc_by(block.block.txs.len() as u64);
            self.metrics.accepted_height.set(block.block.height as i64);
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
            self.metrics.mempool_size.set(chain.mempool().len() as i64);
            (r, chain.mempool().len())
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
}
