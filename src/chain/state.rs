//! Account state: balances and nonces, and the transfer rule. A transition collects, per
//! touched account, its state before and after, and updates the block's state commitment
//! (`commitment.rs`) once per account.

use super::commitment::StateCommitment;
use super::error::TxError;
use super::ids::Address;
use super::maps::{address_map_with_capacity, AddressMap};
use super::tx::TxBody;

/// One account's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Account {
    /// Spendable base units.
    pub balance: u64,
    /// The nonce the account's next transfer must carry.
    pub nonce: u64,
}

impl Account {
    /// Fixed-size storage encoding: balance then nonce, little-endian.
    pub fn to_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.balance.to_le_bytes());
        out[8..].copy_from_slice(&self.nonce.to_le_bytes());
        out
    }

    /// Reads the storage encoding; `None` unless exactly 16 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; 16] = bytes.try_into().ok()?;
        Some(Account {
            balance: u64::from_le_bytes(bytes[..8].try_into().ok()?),
            nonce: u64::from_le_bytes(bytes[8..].try_into().ok()?),
        })
    }
}

/// Read access to the accounts as of some block.
pub trait AccountView {
    /// The account's state, default (zero) when it has never been touched.
    fn account(&self, address: &Address) -> Account;
}

impl AccountView for AddressMap<Account> {
    fn account(&self, address: &Address) -> Account {
        self.get(address).copied().unwrap_or_default()
    }
}

/// The changes one block makes on top of its parent's state.
#[derive(Clone, Debug, Default)]
pub struct Overlay {
    /// New state of every account the block touched.
    pub accounts: AddressMap<Account>,
    /// Fees burned by this block alone.
    pub burned: u64,
}

/// One account's state before a transition touched it and after its last change: its leaf
/// leaves the digest and its new one enters once per block, however many transfers touch it.
#[derive(Clone, Copy, Debug)]
struct Change {
    before: Account,
    after: Account,
}

/// Applies transfers on top of a parent view, collecting the changes; [`finish`](Self::finish)
/// turns them into the block's overlay and digest accumulator.
pub struct Transition<'a, V: AccountView + ?Sized> {
    parent: &'a V,
    /// Every touched account, before and after.
    changes: AddressMap<Change>,
    /// Fees burned by the transfers applied so far.
    burned: u64,
    /// The parent's accumulator.
    parent_digest: StateCommitment,
}

impl<'a, V: AccountView + ?Sized> Transition<'a, V> {
    /// Starts an empty transition on `parent`, whose accumulator is `digest`.
    pub fn new(parent: &'a V, digest: StateCommitment) -> Self {
        Transition {
            parent,
            changes: AddressMap::default(),
            burned: 0,
            parent_digest: digest,
        }
    }

    /// The account as of the transition so far.
    pub fn account(&self, address: &Address) -> Account {
        match self.changes.get(address) {
            Some(change) => change.after,
            None => self.parent.account(address),
        }
    }

    /// Fees burned by the transfers applied so far.
    pub fn burned(&self) -> u64 {
        self.burned
    }

    /// Sets `address` to `account`; `current` is what [`account`](Self::account) gave for it
    /// (the parent's state when the transition has not touched it yet).
    fn set(&mut self, address: Address, current: Account, account: Account) {
        self.changes
            .entry(address)
            .or_insert(Change {
                before: current,
                after: current,
            })
            .after = account;
    }

    /// The block's overlay and the commitment after it: two leaves per changed account, summed
    /// in whatever order the map gives, on every core (the sum depends on neither).
    pub fn finish(self) -> (Overlay, StateCommitment) {
        let mut digest = self.parent_digest;
        let mut accounts = address_map_with_capacity(self.changes.len());
        let mut changes = Vec::with_capacity(self.changes.len());
        for (address, change) in self.changes {
            changes.push((address, change.before, change.after));
            accounts.insert(address, change.after);
        }
        digest.apply_changes(&changes);
        let overlay = Overlay {
            accounts,
            burned: self.burned,
        };
        (overlay, digest)
    }

    /// Checks the nonce and balance rules and applies the transfer, or changes nothing.
    pub fn apply(&mut self, tx: &TxBody) -> Result<(), TxError> {
        let cost = tx.total_cost().ok_or(TxError::AmountOverflow)?;
        let sender_before = self.account(&tx.from);
        let mut sender = sender_before;
        if tx.nonce != sender.nonce {
            return Err(if tx.nonce < sender.nonce {
                TxError::NonceTooLow {
                    expected: sender.nonce,
                    got: tx.nonce,
                }
            } else {
                TxError::NonceGap {
                    expected: sender.nonce,
                    got: tx.nonce,
                }
            });
        }
        if sender.balance < cost {
            return Err(TxError::InsufficientFunds {
                balance: sender.balance,
                needed: cost,
            });
        }
        let burned = self
            .burned
            .checked_add(tx.fee)
            .ok_or(TxError::AmountOverflow)?;
        sender.balance -= cost;
        sender.nonce = sender.nonce.checked_add(1).ok_or(TxError::AmountOverflow)?;
        // Work out both new accounts before writing either, so a failure changes nothing.
        let recipient_before = if tx.to == tx.from {
            sender
        } else {
            self.account(&tx.to)
        };
        let recipient = Account {
            balance: recipient_before
                .balance
                .checked_add(tx.amount)
                .ok_or(TxError::AmountOverflow)?,
            ..recipient_before
        };
        if tx.to != tx.from {
            self.set(tx.from, sender_before, sender);
            self.set(tx.to, recipient_before, recipient);
        } else {
            // One account: what it was before this transfer is the sender's state.
            self.set(tx.to, sender_before, recipient);
        }
        self.burned = burned;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::Transfer;

    fn transfer(from: u8, to: u8, amount: u64, fee: u64, nonce: u64) -> TxBody {
        Transfer::from_address(Address([from; 32]))
            .to(Address([to; 32]))
            .amount(amount)
            .fee(fee)
            .nonce(nonce)
            .body()
    }

    fn base() -> AddressMap<Account> {
        AddressMap::from_iter([(
            Address([1; 32]),
            Account {
                balance: 100,
                nonce: 0,
            },
        )])
    }

    fn full_digest(state: &AddressMap<Account>) -> StateCommitment {
        let mut acc = StateCommitment::default();
        for (address, account) in state {
            acc.insert(address, *account);
        }
        acc
    }

    #[test]
    fn a_transfer_moves_amount_burns_fee_and_bumps_nonce() {
        let state = base();
        let mut t = Transition::new(&state, full_digest(&state));
        t.apply(&transfer(1, 2, 60, 5, 0)).unwrap();
        assert_eq!(
            t.account(&Address([1; 32])),
            Account {
                balance: 35,
                nonce: 1
            }
        );
        assert_eq!(
            t.account(&Address([2; 32])),
            Account {
                balance: 60,
                nonce: 0
            }
        );
        assert_eq!(t.burned(), 5);
    }

    #[test]
    fn failed_transfers_change_nothing() {
        let state = base();
        let before = full_digest(&state);
        let mut t = Transition::new(&state, before.clone());
        assert!(matches!(
            t.apply(&transfer(1, 2, 96, 5, 0)),
            Err(TxError::InsufficientFunds { .. })
        ));
        assert!(matches!(
            t.apply(&transfer(1, 2, 1, 1, 1)),
            Err(TxError::NonceGap { .. })
        ));
        assert!(matches!(
            t.apply(&transfer(1, 2, u64::MAX, 1, 0)),
            Err(TxError::AmountOverflow)
        ));
        let (overlay, digest) = t.finish();
        assert!(overlay.accounts.is_empty());
        assert_eq!(digest, before);
    }

    #[test]
    fn incremental_digest_equals_digest_of_the_whole_state() {
        let mut state = base();
        let mut t = Transition::new(&state, full_digest(&state));
        t.apply(&transfer(1, 2, 10, 1, 0)).unwrap();
        t.apply(&transfer(1, 1, 10, 1, 1)).unwrap();
        t.apply(&transfer(1, 3, 78, 0, 2)).unwrap();
        let (overlay, digest) = t.finish();
        state.extend(overlay.accounts);
        assert_eq!(digest, full_digest(&state));
        assert_eq!(
            state[&Address([1; 32])],
            Account {
                balance: 10,
                nonce: 3
            }
        );
    }

    #[test]
    fn an_account_first_touched_by_a_transfer_to_itself_leaves_the_digest_once() {
        let mut state = base();
        let mut t = Transition::new(&state, full_digest(&state));
        t.apply(&transfer(1, 1, 10, 2, 0)).unwrap();
        t.apply(&transfer(1, 2, 5, 1, 1)).unwrap();
        let (overlay, digest) = t.finish();
        assert_eq!(overlay.burned, 3);
        state.extend(overlay.accounts);
        assert_eq!(digest, full_digest(&state));
        assert_eq!(
            state[&Address([1; 32])],
            Account {
                balance: 92,
                nonce: 2
            }
        );
    }

    #[test]
    fn account_bytes_round_trip_and_reject_other_lengths() {
        let account = Account {
            balance: 7,
            nonce: 9,
        };
        assert_eq!(Account::from_bytes(&account.to_bytes()), Some(account));
        assert_eq!(Account::from_bytes(&[0; 15]), None);
    }
}
