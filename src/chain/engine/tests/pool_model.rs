//! An independent model of where the transfers a node holds go, for the property test: every
//! transfer a node ever held (admitted there, or seen in a block it verified) is followed
//! through each step (admit, build, verify, accept, reject), and every change of its status is
//! checked against what the model says that step may do, with the reason the model computes:
//!
//! * build: the block's transfers become processing; a pending transfer is dropped only if it
//!   expired, or if, at some point of the block, its nonce was used or its sender could not pay
//!   (the error text the model predicts); every expired one is dropped;
//! * verify: the block's transfers become processing there;
//! * accept: the block's transfers become accepted; a pending transfer is dropped exactly when
//!   the accepted state has used its nonce;
//! * reject: each of the block's transfers is processing in another block that still holds it,
//!   or returns to the pool, or is rejected, exactly as the model's own admission check on the
//!   preferred branch (expiry, nonce, nonce gap, nonce taken, caps, funds) predicts.
//!
//! Nothing else may change. So a transfer can only end accepted, pending, or dropped/rejected for
//! a reason the model confirmed, and the counts of each are what the test prints.

use crate::chain::mempool::MempoolLimits;
use crate::chain::{Account, Address, Chain, Id, SealedBlock, SignedTx, TxError, TxStatus};
use std::collections::BTreeMap;

/// Accounts as the model sees them.
pub(super) type State = BTreeMap<Address, Account>;

/// Applies one transfer to a model state (the transfer is known to apply: it is in a block
/// that was verified, or in the accepted model, which checks every rule itself).
pub(super) fn apply(state: &mut State, tx: &SignedTx) {
    let b = &tx.body;
    let sender = state.entry(b.from).or_default();
    sender.balance = sender
        .balance
        .checked_sub(b.amount + b.fee)
        .expect("a transfer of a verified block is paid for");
    sender.nonce += 1;
    state.entry(b.to).or_default().balance += b.amount;
}

/// A pool as it stood before a step: per sender, nonce → (ID, cost).
#[derive(Clone, Default)]
pub(super) struct PoolSnapshot {
    senders: BTreeMap<Address, BTreeMap<u64, (Id, u64)>>,
    len: usize,
}

impl PoolSnapshot {
    /// The node's pool now.
    pub(super) fn of(chain: &Chain) -> Self {
        let pool = chain.mempool();
        let mut snapshot = PoolSnapshot::default();
        for sender in pool.senders_from(None) {
            for (id, tx) in pool.sender_txs(&sender) {
                snapshot.add(id, &tx);
            }
        }
        snapshot
    }

    fn add(&mut self, id: Id, tx: &SignedTx) {
        let cost = tx.body.amount + tx.body.fee;
        self.senders
            .entry(tx.body.from)
            .or_default()
            .insert(tx.body.nonce, (id, cost));
        self.len += 1;
    }
}

/// What a transfer returned to the pool by a rejection should become.
#[derive(Debug, PartialEq)]
enum Readmission {
    Pending,
    /// Rejected with exactly this reason (and the error's kind, for the counts).
    Rejected(String, &'static str),
    /// Rejected because a cap of the pool is reached (the text names the counts).
    RejectedFull,
}

/// The model's admission check of a transfer returned to the pool at `now_ms`: the sender's
/// account on the preferred branch, the sender's other pending transfers, the pool's caps.
fn readmission(
    tx: &SignedTx,
    account: Account,
    pool: &PoolSnapshot,
    limits: &MempoolLimits,
    max_expiry_secs: u64,
    now_ms: u64,
) -> Readmission {
    let b = &tx.body;
    let rejected = |e: TxError| Readmission::Rejected(e.to_string(), e.reason());
    let now = now_ms / 1000;
    if b.expires_at * 1000 < now_ms {
        return rejected(TxError::Expired {
            expires_at: b.expires_at,
            now,
        });
    }
    if b.expires_at > now + max_expiry_secs {
        return rejected(TxError::ExpiryTooFar {
            expires_at: b.expires_at,
            now,
            max_secs: max_expiry_secs,
        });
    }
    if b.nonce < account.nonce {
        return rejected(TxError::NonceTooLow {
            expected: account.nonce,
            got: b.nonce,
        });
    }
    if b.nonce - account.nonce >= limits.max_nonce_gap {
        return rejected(TxError::NonceGap {
            expected: account.nonce,
            got: b.nonce,
        });
    }
    let queue = pool.senders.get(&b.from);
    if let Some((by, _)) = queue.and_then(|q| q.get(&b.nonce)) {
        return rejected(TxError::NonceTaken {
            nonce: b.nonce,
            by: *by,
        });
    }
    if queue.map_or(0, |q| q.len()) >= limits.max_per_sender || pool.len >= limits.max_txs {
        return Readmission::RejectedFull;
    }
    let pending: u64 = queue.map_or(0, |q| q.values().map(|(_, cost)| cost).sum());
    let cost = b.amount + b.fee;
    if pending + cost > account.balance {
        return rejected(TxError::InsufficientFunds {
            balance: account.balance.saturating_sub(pending),
            needed: cost,
        });
    }
    Readmission::Pending
}

/// One step a node took, with what the model needs to judge it.
pub(super) enum Step<'a> {
    /// The transfer was admitted (submitted to this node).
    Admit(SignedTx),
    /// The node built `built` (or nothing) on a tip whose state is `base`, at `timestamp_ms`.
    Build {
        base: State,
        timestamp_ms: u64,
        built: Option<&'a SealedBlock>,
    },
    /// The node verified a block; `fresh`: it was not processing there before (verifying a
    /// processing block again changes nothing).
    Verify { block: &'a SealedBlock, fresh: bool },
    /// The node accepted a block; `after` is the model's accepted state with it.
    Accept {
        block: &'a SealedBlock,
        after: &'a State,
    },
    /// The node rejected a block at `now_ms`. `preferred` is the model's state of the branch
    /// the node prefers afterwards, `pool` the node's pool before, `elsewhere` the lowest ID of
    /// another processing block holding each transfer.
    Reject {
        block: &'a SealedBlock,
        preferred: State,
        pool: PoolSnapshot,
        elsewhere: BTreeMap<Id, Id>,
        now_ms: u64,
    },
}

/// The reason `finish_accept` gives a pending transfer whose nonce an accepted one used.
const STALE: &str = "another transaction with the same nonce was accepted";
/// The reason `prune_expired` gives.
const PRUNED: &str = "expired before it was included";

/// The model: per node, every transfer it ever held and the status last observed.
pub(super) struct PoolModel {
    held: Vec<BTreeMap<Id, (SignedTx, TxStatus)>>,
    limits: MempoolLimits,
    /// Status changes the model confirmed, by kind (the figures the test prints).
    pub(super) transitions: BTreeMap<&'static str, usize>,
}

impl PoolModel {
    /// A model of `nodes` nodes whose pools have these caps.
    pub(super) fn new(nodes: usize, limits: MempoolLimits) -> Self {
        PoolModel {
            held: vec![BTreeMap::new(); nodes],
            limits,
            transitions: BTreeMap::new(),
        }
    }

    fn count(&mut self, kind: &'static str) {
        *self.transitions.entry(kind).or_default() += 1;
    }

    /// Checks every status change `step` made at `node` (whose chain is `chain`, after it).
    pub(super) fn observe(&mut self, node: usize, chain: &Chain, step: Step<'_>) {
        // Transfers the node holds from now on.
        match &step {
            Step::Admit(tx) => {
                self.held[node]
                    .entry(tx.id())
                    .or_insert((*tx, TxStatus::Unknown));
            }
            Step::Verify { block, .. } => {
                for tx in &block.block.txs {
                    self.held[node]
                        .entry(tx.id())
                        .or_insert((*tx, TxStatus::Unknown));
                }
            }
            _ => {}
        }
        let mut expected_readmissions: BTreeMap<Id, Readmission> = BTreeMap::new();
        if let Step::Reject {
            block,
            preferred,
            pool,
            elsewhere,
            now_ms,
        } = &step
        {
            let mut pool = pool.clone();
            for tx in &block.block.txs {
                let id = tx.id();
                let was = &self.held[node][&id].1;
                if *was != (TxStatus::Processing { block_id: block.id })
                    || elsewhere.contains_key(&id)
                {
                    continue;
                }
                let account = preferred.get(&tx.body.from).copied().unwrap_or_default();
                let verdict = readmission(
                    tx,
                    account,
                    &pool,
                    &self.limits,
                    chain.rules().params.max_expiry_secs,
                    *now_ms,
                );
                if verdict == Readmission::Pending {
                    pool.add(id, tx);
                }
                expected_readmissions.insert(id, verdict);
            }
        }
        let ids: Vec<Id> = self.held[node].keys().copied().collect();
        for id in ids {
            let (tx, was) = self.held[node][&id].clone();
            let now = chain.tx_status(&id);
            assert_eq!(
                now == TxStatus::Pending,
                chain.mempool().contains(&id),
                "{id}: pending exactly when in the pool ({now:?})"
            );
            let kind = self.judge(&tx, &was, &now, &step, &expected_readmissions);
            if let (Some(kind), true) = (kind, was != now) {
                self.count(kind);
            }
            self.held[node].insert(id, (tx, now));
        }
    }

    /// Whether `step` may move `tx` from `was` to `now`; the kind of change, if it changed.
    fn judge(
        &self,
        tx: &SignedTx,
        was: &TxStatus,
        now: &TxStatus,
        step: &Step<'_>,
        readmissions: &BTreeMap<Id, Readmission>,
    ) -> Option<&'static str> {
        let id = tx.id();
        let b = &tx.body;
        let unchanged = |kind| {
            assert_eq!(was, now, "{id}: only the step's transfers change ({kind})");
            None
        };
        match step {
            Step::Admit(admitted) if admitted.id() == id => {
                assert!(
                    matches!(
                        was,
                        TxStatus::Unknown | TxStatus::Dropped { .. } | TxStatus::Rejected { .. }
                    ),
                    "{id}: admitted from {was:?}"
                );
                assert_eq!(*now, TxStatus::Pending, "{id}: admitted");
                Some("admitted")
            }
            Step::Admit(_) => unchanged("admit"),
            Step::Build {
                base,
                timestamp_ms,
                built,
            } => {
                let in_block = built.is_some_and(|block| block.tx_ids.contains(&id));
                if in_block {
                    assert_eq!(*was, TxStatus::Pending, "{id}: built from the pool");
                    let block_id = built.expect("built").id;
                    assert_eq!(*now, TxStatus::Processing { block_id }, "{id}: built");
                    return Some("built into a block");
                }
                if *was != TxStatus::Pending {
                    return unchanged("build");
                }
                let expired = b.expires_at < timestamp_ms / 1000;
                let TxStatus::Dropped { reason } = now else {
                    assert!(!expired, "{id}: expired at the build, still {now:?}");
                    assert_eq!(now, was, "{id}: a build only drops or includes");
                    return None;
                };
                if reason == PRUNED {
                    assert!(
                        expired,
                        "{id}: dropped as expired, expires at {}",
                        b.expires_at
                    );
                    return Some("dropped: expired");
                }
                assert!(!expired, "{id}: expired but dropped for {reason}");
                let late = TxError::Expired {
                    expires_at: b.expires_at,
                    now: timestamp_ms / 1000,
                }
                .to_string();
                if *reason == late {
                    assert!(b.expires_at * 1000 < *timestamp_ms, "{id}: {reason}");
                    return Some("dropped: expired");
                }
                // The reason must hold at some point of the block the build applied.
                let mut state = base.clone();
                let mut points = vec![state.clone()];
                for included in built.iter().flat_map(|block| &block.block.txs) {
                    apply(&mut state, included);
                    points.push(state.clone());
                }
                let cost = b.amount + b.fee;
                for point in &points {
                    let account = point.get(&b.from).copied().unwrap_or_default();
                    if b.nonce < account.nonce
                        && *reason
                            == (TxError::NonceTooLow {
                                expected: account.nonce,
                                got: b.nonce,
                            })
                            .to_string()
                    {
                        return Some("dropped: nonce used on the branch");
                    }
                    if b.nonce == account.nonce
                        && account.balance < cost
                        && *reason
                            == (TxError::InsufficientFunds {
                                balance: account.balance,
                                needed: cost,
                            })
                            .to_string()
                    {
                        return Some("dropped: sender cannot pay");
                    }
                }
                panic!("{id}: dropped at a build for {reason:?}, which the model does not confirm");
            }
            Step::Verify { block, fresh } => {
                if *fresh && block.tx_ids.contains(&id) {
                    assert!(
                        !matches!(was, TxStatus::Accepted { .. }),
                        "{id}: accepted, then in a verified block"
                    );
                    assert_eq!(
                        *now,
                        TxStatus::Processing { block_id: block.id },
                        "{id}: verified"
                    );
                    Some("in a verified block")
                } else {
                    unchanged("verify")
                }
            }
            Step::Accept { block, after } => {
                if block.tx_ids.contains(&id) {
                    assert!(
                        matches!(was, TxStatus::Processing { .. }),
                        "{id}: accepted from {was:?}"
                    );
                    assert_eq!(
                        *now,
                        TxStatus::Accepted {
                            block_id: block.id,
                            height: block.block.height
                        },
                        "{id}: accepted"
                    );
                    return Some("accepted");
                }
                let used = after.get(&b.from).is_some_and(|a| a.nonce > b.nonce);
                if *was == TxStatus::Pending && used {
                    assert_eq!(
                        *now,
                        TxStatus::Dropped {
                            reason: STALE.into()
                        },
                        "{id}: its nonce {} was used by an accepted transfer",
                        b.nonce
                    );
                    return Some("dropped: nonce used by an accepted transfer");
                }
                unchanged("accept")
            }
            Step::Reject {
                block, elsewhere, ..
            } => {
                if *was != (TxStatus::Processing { block_id: block.id }) {
                    return unchanged("reject");
                }
                if let Some(other) = elsewhere.get(&id) {
                    assert_eq!(
                        *now,
                        TxStatus::Processing { block_id: *other },
                        "{id}: still held by block {other}"
                    );
                    return Some("still processing in a competing block");
                }
                match (&readmissions[&id], now) {
                    (Readmission::Pending, TxStatus::Pending) => Some("returned to the pool"),
                    (Readmission::Rejected(expected, kind), TxStatus::Rejected { reason })
                        if expected == reason =>
                    {
                        Some(match *kind {
                            "expired" => "rejected: expired",
                            "nonce_too_low" => "rejected: nonce used",
                            "nonce_gap" => "rejected: nonce gap",
                            "nonce_taken" => "rejected: nonce taken by a pending transfer",
                            "insufficient_funds" => "rejected: sender cannot pay",
                            _ => "rejected: other reason",
                        })
                    }
                    (Readmission::RejectedFull, TxStatus::Rejected { reason })
                        if reason.starts_with("mempool full") =>
                    {
                        Some("rejected: mempool full")
                    }
                    (expected, got) => panic!(
                        "{id}: its block was rejected; the model expects {expected:?}, the node \
                         says {got:?}"
                    ),
                }
            }
        }
    }

    /// The end state of every transfer every node held: accepted, pending (its nonce not used
    /// by the accepted state), dropped or rejected (for a reason confirmed when it happened);
    /// never processing (every block was decided) nor forgotten. Returns the counts by outcome.
    pub(super) fn final_outcomes(&self, accepted: &State) -> BTreeMap<&'static str, usize> {
        let mut outcomes = BTreeMap::new();
        for held in &self.held {
            for (id, (tx, status)) in held {
                let kind = match status {
                    TxStatus::Accepted { .. } => "accepted",
                    TxStatus::Pending => {
                        let next = accepted.get(&tx.body.from).map_or(0, |a| a.nonce);
                        assert!(tx.body.nonce >= next, "{id}: pending with a used nonce");
                        "pending"
                    }
                    TxStatus::Dropped { .. } => "dropped",
                    TxStatus::Rejected { .. } => "rejected",
                    other => panic!("{id}: ends {other:?}"),
                };
                *outcomes.entry(kind).or_default() += 1;
            }
        }
        outcomes
    }
}
