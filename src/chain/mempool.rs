//! Pending transfers waiting for a block: deduplicated, capped, ordered by sender and nonce.
//!
//! Admission is checked against the preferred branch's state plus the sender's other pending
//! transfers, so the pool only holds transfers that could be included in order. Caps bound the
//! memory a flood can take; a full pool answers "retry later" rather than evicting, so an
//! attacker cannot push out transfers that were already admitted.

use super::error::TxError;
use super::ids::{Address, Id};
use super::maps::IdMap;
use super::state::Account;
use super::tx::{SignedTx, SIGNED_TX_LEN};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Mempool caps, settable from the chain config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct MempoolLimits {
    /// Most transfers held at once.
    pub max_txs: usize,
    /// Most bytes held at once.
    pub max_bytes: usize,
    /// Most transfers one sender may have waiting.
    pub max_per_sender: usize,
    /// Highest accepted nonce distance ahead of the sender's next nonce.
    pub max_nonce_gap: u64,
}

impl Default for MempoolLimits {
    fn default() -> Self {
        // Sized for the throughput targets: a few seconds of 50k tx/s, about 40 MB at most.
        MempoolLimits {
            max_txs: 200_000,
            max_bytes: 200_000 * SIGNED_TX_LEN,
            max_per_sender: 4_096,
            max_nonce_gap: 4_096,
        }
    }
}

#[derive(Default)]
struct SenderQueue {
    by_nonce: BTreeMap<u64, Id>,
    total_cost: u64,
}

/// The pool itself.
#[derive(Default)]
pub struct Mempool {
    limits: MempoolLimits,
    txs: IdMap<SignedTx>,
    senders: BTreeMap<Address, SenderQueue>,
    by_expiry: BTreeSet<(u64, Id)>,
    bytes: usize,
}

impl Mempool {
    /// An empty pool with the given caps.
    pub fn new(limits: MempoolLimits) -> Self {
        Mempool {
            limits,
            ..Default::default()
        }
    }

    /// Number of pending transfers.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether `id` is pending.
    pub fn contains(&self, id: &Id) -> bool {
        self.txs.contains_key(id)
    }

    /// The pending transfer with this ID.
    pub fn get(&self, id: &Id) -> Option<&SignedTx> {
        self.txs.get(id)
    }

    /// Checks the caps and the sender's nonce and funds, then adds the transfer.
    /// `account` is the sender's state on the preferred branch.
    pub fn admit(&mut self, id: Id, tx: SignedTx, account: Account) -> Result<(), TxError> {
        let committed = self.check(id, &tx, account)?;
        let body = &tx.body;
        let queue = self.senders.entry(body.from).or_default();
        queue.by_nonce.insert(body.nonce, id);
        queue.total_cost = committed;
        self.by_expiry.insert((body.expires_at, id));
        self.bytes += SIGNED_TX_LEN;
        self.txs.insert(id, tx);
        Ok(())
    }

    /// Whether [`Mempool::admit`] would take the transfer; returns the sender's pending cost
    /// including it.
    pub fn check(&self, id: Id, tx: &SignedTx, account: Account) -> Result<u64, TxError> {
        if self.txs.contains_key(&id) {
            return Err(TxError::AlreadyKnown(id));
        }
        let body = &tx.body;
        let cost = body.total_cost().ok_or(TxError::AmountOverflow)?;
        if body.nonce < account.nonce {
            return Err(TxError::NonceTooLow {
                expected: account.nonce,
                got: body.nonce,
            });
        }
        if body.nonce - account.nonce >= self.limits.max_nonce_gap {
            return Err(TxError::NonceGap {
                expected: account.nonce,
                got: body.nonce,
            });
        }
        let queue = self.senders.get(&body.from);
        if let Some(queue) = queue {
            if let Some(by) = queue.by_nonce.get(&body.nonce) {
                return Err(TxError::NonceTaken {
                    nonce: body.nonce,
                    by: *by,
                });
            }
            if queue.by_nonce.len() >= self.limits.max_per_sender {
                return Err(TxError::MempoolFull(format!(
                    "sender already has {} pending transfers (limit {})",
                    queue.by_nonce.len(),
                    self.limits.max_per_sender
                )));
            }
        }
        if self.txs.len() >= self.limits.max_txs
            || self.bytes + SIGNED_TX_LEN > self.limits.max_bytes
        {
            return Err(TxError::MempoolFull(format!(
                "{} transfers / {} bytes pending (limits {} / {})",
                self.txs.len(),
                self.bytes,
                self.limits.max_txs,
                self.limits.max_bytes
            )));
        }
        let pending_cost = queue.map_or(0, |q| q.total_cost);
        let committed = pending_cost
            .checked_add(cost)
            .ok_or(TxError::AmountOverflow)?;
        if committed > account.balance {
            return Err(TxError::InsufficientFunds {
                balance: account.balance.saturating_sub(pending_cost),
                needed: cost,
            });
        }
        Ok(committed)
    }

    /// Removes a transfer (included in a block, expired or superseded).
    pub fn remove(&mut self, id: &Id) -> Option<SignedTx> {
        let tx = self.txs.remove(id)?;
        self.bytes -= SIGNED_TX_LEN;
        self.by_expiry.remove(&(tx.body.expires_at, *id));
        if let Some(queue) = self.senders.get_mut(&tx.body.from) {
            queue.by_nonce.remove(&tx.body.nonce);
            // Cannot underflow: the cost was added on admission.
            queue.total_cost -= tx.body.amount + tx.body.fee;
            if queue.by_nonce.is_empty() {
                self.senders.remove(&tx.body.from);
            }
        }
        Some(tx)
    }

    /// Removes every transfer that expired before `now_secs`, returning their IDs.
    pub fn remove_expired(&mut self, now_secs: u64) -> Vec<Id> {
        let expired: Vec<Id> = self
            .by_expiry
            .range(..(now_secs, Id::default()))
            .map(|(_, id)| *id)
            .collect();
        for id in &expired {
            self.remove(id);
        }
        expired
    }

    /// Removes the sender's transfers whose nonce is below `next_nonce` (now used on chain).
    pub fn remove_stale(&mut self, sender: &Address, next_nonce: u64) -> Vec<Id> {
        let stale: Vec<Id> = match self.senders.get(sender) {
            Some(queue) => queue
                .by_nonce
                .range(..next_nonce)
                .map(|(_, id)| *id)
                .collect(),
            None => return Vec::new(),
        };
        for id in &stale {
            self.remove(id);
        }
        stale
    }

    /// The highest nonce the sender can use next, counting consecutive pending transfers
    /// on top of `next_nonce`.
    pub fn pending_nonce(&self, sender: &Address, next_nonce: u64) -> u64 {
        let mut nonce = next_nonce;
        if let Some(queue) = self.senders.get(sender) {
            for pending in queue.by_nonce.range(next_nonce..).map(|(n, _)| *n) {
                if pending != nonce {
                    break;
                }
                nonce += 1;
            }
        }
        nonce
    }

    /// Senders with pending transfers, starting after `after` and wrapping round, so that
    /// successive blocks do not always favour the same senders.
    pub fn senders_from(&self, after: Option<Address>) -> Vec<Address> {
        let mut out: Vec<Address> = Vec::with_capacity(self.senders.len());
        match after {
            Some(start) => {
                use std::ops::Bound::{Excluded, Unbounded};
                out.extend(
                    self.senders
                        .range((Excluded(start), Unbounded))
                        .map(|(a, _)| *a),
                );
                out.extend(self.senders.range(..=start).map(|(a, _)| *a));
            }
            None => out.extend(self.senders.keys().copied()),
        }
        out
    }

    /// The sender's pending transfers in nonce order.
    pub fn sender_txs(&self, sender: &Address) -> Vec<(Id, SignedTx)> {
        self.senders.get(sender).map_or_else(Vec::new, |queue| {
            queue
                .by_nonce
                .values()
                .map(|id| (*id, self.txs[id]))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::Transfer;

    /// A transfer with a made-up signature (the pool never checks one) and fee 1.
    fn tx(from: u8, nonce: u64, amount: u64, expires_at: u64) -> (Id, SignedTx) {
        let tx = Transfer::from_address(Address([from; 32]))
            .to(Address([99; 32]))
            .amount(amount)
            .fee(1)
            .nonce(nonce)
            .expires_at(expires_at)
            .with_signature([0; 64]);
        (tx.id(), tx)
    }

    fn rich() -> Account {
        Account {
            balance: 1_000_000,
            nonce: 0,
        }
    }

    fn limits() -> MempoolLimits {
        MempoolLimits {
            max_txs: 10,
            max_bytes: 10 * SIGNED_TX_LEN,
            max_per_sender: 3,
            max_nonce_gap: 5,
        }
    }

    #[test]
    fn duplicate_and_taken_nonce_are_refused() {
        let mut pool = Mempool::new(limits());
        let (id, t) = tx(1, 0, 10, 100);
        pool.admit(id, t, rich()).unwrap();
        assert_eq!(pool.admit(id, t, rich()), Err(TxError::AlreadyKnown(id)));
        let (id2, t2) = tx(1, 0, 11, 100);
        assert_eq!(
            pool.admit(id2, t2, rich()),
            Err(TxError::NonceTaken { nonce: 0, by: id })
        );
    }

    #[test]
    fn nonce_bounds_are_enforced() {
        let mut pool = Mempool::new(limits());
        let (id, t) = tx(1, 2, 10, 100);
        assert!(matches!(
            pool.admit(
                id,
                t,
                Account {
                    balance: 100,
                    nonce: 3
                }
            ),
            Err(TxError::NonceTooLow { .. })
        ));
        let (id, t) = tx(1, 5, 10, 100);
        assert!(matches!(
            pool.admit(id, t, rich()),
            Err(TxError::NonceGap { .. })
        ));
        let (id, t) = tx(1, 4, 10, 100);
        pool.admit(id, t, rich()).unwrap();
    }

    #[test]
    fn per_sender_total_count_and_byte_caps_hold() {
        let mut pool = Mempool::new(limits());
        for n in 0..3 {
            let (id, t) = tx(1, n, 1, 100);
            pool.admit(id, t, rich()).unwrap();
        }
        let (id, t) = tx(1, 3, 1, 100);
        assert!(matches!(
            pool.admit(id, t, rich()),
            Err(TxError::MempoolFull(_))
        ));
        for sender in 2..=8 {
            let (id, t) = tx(sender, 0, 1, 100);
            pool.admit(id, t, rich()).unwrap();
        }
        assert_eq!(pool.len(), 10);
        let (id, t) = tx(9, 0, 1, 100);
        assert!(matches!(
            pool.admit(id, t, rich()),
            Err(TxError::MempoolFull(_))
        ));

        let mut byte_capped = Mempool::new(MempoolLimits {
            max_bytes: 2 * SIGNED_TX_LEN,
            ..limits()
        });
        for sender in 1..=2 {
            let (id, t) = tx(sender, 0, 1, 100);
            byte_capped.admit(id, t, rich()).unwrap();
        }
        let (id, t) = tx(3, 0, 1, 100);
        assert!(matches!(
            byte_capped.admit(id, t, rich()),
            Err(TxError::MempoolFull(_))
        ));
        assert_eq!(byte_capped.bytes(), 2 * SIGNED_TX_LEN);
    }

    #[test]
    fn funds_are_checked_against_all_pending_spends() {
        let mut pool = Mempool::new(limits());
        let account = Account {
            balance: 25,
            nonce: 0,
        };
        let (id, t) = tx(1, 0, 10, 100);
        pool.admit(id, t, account).unwrap();
        let (id2, t2) = tx(1, 1, 10, 100);
        pool.admit(id2, t2, account).unwrap();
        let short_of_funds = Err(TxError::InsufficientFunds {
            balance: 3,
            needed: 11,
        });
        let (id3, t3) = tx(1, 2, 10, 100);
        assert_eq!(pool.admit(id3, t3, account), short_of_funds);
        // A removal gives back exactly that transfer's cost: room for one more, not two.
        pool.remove(&id);
        pool.admit(id3, t3, account).unwrap();
        let (id4, t4) = tx(1, 3, 10, 100);
        assert_eq!(pool.admit(id4, t4, account), short_of_funds);
    }

    #[test]
    fn expiry_staleness_and_pending_nonce() {
        let mut pool = Mempool::new(limits());
        let (a, ta) = tx(1, 0, 1, 50);
        let (b, tb) = tx(1, 1, 1, 150);
        let (c, tc) = tx(1, 3, 1, 150);
        for (id, t) in [(a, ta), (b, tb), (c, tc)] {
            pool.admit(id, t, rich()).unwrap();
        }
        assert_eq!(pool.pending_nonce(&Address([1; 32]), 0), 2);
        assert_eq!(pool.remove_expired(100), vec![a]);
        assert_eq!(pool.remove_stale(&Address([1; 32]), 2), vec![b]);
        assert_eq!(pool.len(), 1);
        assert_eq!(pool.bytes(), SIGNED_TX_LEN);
        assert_eq!(pool.sender_txs(&Address([1; 32])), vec![(c, tc)]);
    }

    #[test]
    fn senders_rotate() {
        let mut pool = Mempool::new(limits());
        for sender in 1..=3 {
            let (id, t) = tx(sender, 0, 1, 100);
            pool.admit(id, t, rich()).unwrap();
        }
        let order = pool.senders_from(Some(Address([2; 32])));
        assert_eq!(
            order,
            vec![Address([3; 32]), Address([1; 32]), Address([2; 32])]
        );
    }
}
