//! What a wallet can learn about a transaction it submitted, and the bounded book that keeps
//! those answers for transactions that are not (or no longer) in a block.

use super::ids::Id;
use super::maps::IdMap;
use serde::Serialize;
use std::collections::VecDeque;

/// A transaction's life-cycle as reported by `txStatus`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(
    tag = "status",
    rename_all = "lowercase",
    rename_all_fields = "camelCase"
)]
pub enum TxStatus {
    /// In the mempool, waiting for a block.
    Pending,
    /// In a verified block that consensus has not decided yet.
    Processing {
        /// The block holding it.
        block_id: Id,
    },
    /// In an accepted block: final.
    Accepted {
        /// The block holding it.
        block_id: Id,
        /// That block's height.
        height: u64,
    },
    /// Its block was rejected and it no longer applies.
    Rejected {
        /// Why it could not be returned to the mempool.
        reason: String,
    },
    /// Left the mempool without being included (expired, nonce used by another transaction).
    Dropped {
        /// Why.
        reason: String,
    },
    /// Never seen by this node, or forgotten long ago.
    Unknown,
}

/// Statuses of transactions that are not accepted, bounded so a flood cannot grow it forever:
/// live entries (pending, processing) are kept; final ones are forgotten oldest-first.
pub struct StatusBook {
    statuses: IdMap<TxStatus>,
    final_order: VecDeque<Id>,
    max_final: usize,
}

impl StatusBook {
    /// A book keeping at most `max_final` rejected/dropped/accepted entries.
    pub fn new(max_final: usize) -> Self {
        StatusBook {
            statuses: IdMap::default(),
            final_order: VecDeque::new(),
            max_final,
        }
    }

    /// The recorded status, if any.
    pub fn get(&self, id: &Id) -> Option<&TxStatus> {
        self.statuses.get(id)
    }

    /// Forgets a status (before a transaction is re-admitted).
    pub fn forget(&mut self, id: &Id) {
        self.statuses.remove(id);
    }

    /// Records a live status (pending or processing).
    pub fn set_live(&mut self, id: Id, status: TxStatus) {
        self.statuses.insert(id, status);
    }

    /// Records a final status and forgets the oldest final ones beyond the bound.
    pub fn set_final(&mut self, id: Id, status: TxStatus) {
        self.statuses.insert(id, status);
        self.final_order.push_back(id);
        while self.final_order.len() > self.max_final {
            if let Some(old) = self.final_order.pop_front() {
                if self
                    .statuses
                    .get(&old)
                    .is_some_and(|s| !matches!(s, TxStatus::Pending | TxStatus::Processing { .. }))
                {
                    self.statuses.remove(&old);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dropped() -> TxStatus {
        TxStatus::Dropped {
            reason: "expired".into(),
        }
    }

    /// The book is a bound against floods: final statuses beyond the cap are forgotten oldest
    /// first, and live ones (pending, processing) are never forgotten.
    #[test]
    fn final_statuses_are_bounded_and_live_ones_kept() {
        let mut book = StatusBook::new(3);
        book.set_live(Id([100; 32]), TxStatus::Pending);
        for n in 0..10u8 {
            book.set_final(Id([n; 32]), dropped());
        }
        for n in 0..7u8 {
            assert_eq!(book.get(&Id([n; 32])), None, "entry {n} forgotten");
        }
        for n in 7..10u8 {
            assert_eq!(book.get(&Id([n; 32])), Some(&dropped()), "entry {n} kept");
        }
        assert_eq!(book.get(&Id([100; 32])), Some(&TxStatus::Pending));
        assert_eq!(book.statuses.len(), 4);
        // A final entry that went live again (re-admitted) survives its turn to be forgotten.
        book.set_live(Id([7; 32]), TxStatus::Pending);
        for n in 10..13u8 {
            book.set_final(Id([n; 32]), dropped());
        }
        assert_eq!(book.get(&Id([7; 32])), Some(&TxStatus::Pending));
        assert_eq!(book.get(&Id([8; 32])), None);
        assert!(book.statuses.len() <= 3 + 2);
    }
}
