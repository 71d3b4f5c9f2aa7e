//! Account state: balances and nonces, the transfer rule, and the state digest.
//!
//! The digest must be cheap to update per block (1M accounts cannot be re-hashed for every
//! block) and independent of iteration order (consensus). It is a sum, modulo 2^256, of one
//! SHA-256 leaf per non-empty account: updating an account subtracts its old leaf and adds its
//! new one. It detects diverged state; it is not a Merkle root and gives no inclusion proofs.

use super::error::TxError;
use super::ids::{Address, Id};
use super::maps::{address_map_with_capacity, AddressMap};
use super::tx::TxBody;
use sha2::{Digest, Sha256};

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

    fn is_empty(self) -> bool {
        self == Account::default()
    }
}

/// A 256-bit accumulator of account leaves (wrapping arithmetic, little-endian limbs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DigestAccumulator([u64; 4]);

impl DigestAccumulator {
    fn leaf(address: &Address, account: Account) -> [u64; 4] {
        if account.is_empty() {
            return [0; 4];
        }
        let mut hasher = Sha256::new();
        hasher.update(b"transfervm/leaf/v1");
        hasher.update(address.0);
        hasher.update(account.to_bytes());
        let hash: [u8; 32] = hasher.finalize().into();
        let mut limbs = [0u64; 4];
        for (limb, chunk) in limbs.iter_mut().zip(hash.chunks_exact(8)) {
            *limb = u64::from_le_bytes(chunk.try_into().expect("8-byte chunk"));
        }
        limbs
    }

    fn add(&mut self, other: [u64; 4]) {
        let mut carry = false;
        for (limb, add) in self.0.iter_mut().zip(other) {
            let (sum, c1) = limb.overflowing_add(add);
            let (sum, c2) = sum.overflowing_add(carry as u64);
            *limb = sum;
            carry = c1 || c2;
        }
    }

    fn sub(&mut self, other: [u64; 4]) {
        let mut borrow = false;
        for (limb, sub) in self.0.iter_mut().zip(other) {
            let (diff, b1) = limb.overflowing_sub(sub);
            let (diff, b2) = diff.overflowing_sub(borrow as u64);
            *limb = diff;
            borrow = b1 || b2;
        }
    }

    /// Records that `address` changed from `before` to `after`.
    pub fn update(&mut self, address: &Address, before: Account, after: Account) {
        if before != after {
            self.sub(Self::leaf(address, before));
            self.add(Self::leaf(address, after));
        }
    }

    /// Adds an account that was not there before (used when loading a whole state).
    pub fn insert(&mut self, address: &Address, account: Account) {
        self.add(Self::leaf(address, account));
    }

    /// The accumulator of a whole state, computed on every core: at start-up the chain hashes
    /// every account (1M accounts are ~1M SHA-256 leaves), and the sum does not depend on the
    /// order the leaves are added in, so splitting the work cannot change the result.
    pub fn of_accounts(accounts: &[(Address, Account)]) -> Self {
        const MIN_CHUNK: usize = 16_384;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = accounts.len().div_ceil(threads).max(MIN_CHUNK);
        let sum_of = |part: &[(Address, Account)]| {
            let mut acc = DigestAccumulator::default();
            for (address, account) in part {
                acc.insert(address, *account);
            }
            acc
        };
        if accounts.len() <= chunk {
            return sum_of(accounts);
        }
        std::thread::scope(|scope| {
            let mut parts = accounts.chunks(chunk);
            let first = parts.next().unwrap_or_default();
            let others: Vec<_> = parts
                .map(|part| scope.spawn(move || sum_of(part)))
                .collect();
            let mut total = sum_of(first);
            for handle in others {
                // Hashing cannot panic; if a thread ever did, so does start-up (a clear error
                // beats a wrong digest, which would be reported as a corrupt store).
                let part = handle.join().expect("digest thread");
                total.add(part.0);
            }
            total
        })
    }

    /// The digest a block commits to: the accumulator together with the burned total.
    pub fn finish(&self, burned: u64) -> Id {
        let mut hasher = Sha256::new();
        hasher.update(b"transfervm/state/v1");
        for limb in self.0 {
            hasher.update(limb.to_le_bytes());
        }
        hasher.update(burned.to_le_bytes());
        Id(hasher.finalize().into())
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
    parent_digest: DigestAccumulator,
}

impl<'a, V: AccountView + ?Sized> Transition<'a, V> {
    /// Starts an empty transition on `parent`, whose accumulator is `digest`.
    pub fn new(parent: &'a V, digest: DigestAccumulator) -> Self {
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

    /// The block's overlay and the accumulator after it: two leaves per changed account,
    /// summed in whatever order the map gives (the sum does not depend on it).
    pub fn finish(self) -> (Overlay, DigestAccumulator) {
        let mut digest = self.parent_digest;
        let mut accounts = address_map_with_capacity(self.changes.len());
        for (address, change) in self.changes {
            digest.update(&address, change.before, change.after);
            accounts.insert(address, change.after);
        }
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

    fn full_digest(state: &AddressMap<Account>) -> DigestAccumulator {
        let mut acc = DigestAccumulator::default();
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
        let mut t = Transition::new(&state, before);
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
    fn whole_state_digest_is_the_same_however_it_is_split() {
        let accounts: Vec<(Address, Account)> = (0..40_000u32)
            .map(|i| {
                let mut a = [0u8; 32];
                a[..4].copy_from_slice(&i.to_le_bytes());
                (
                    Address(a),
                    Account {
                        balance: u64::from(i) * 3 + 1,
                        nonce: u64::from(i % 7),
                    },
                )
            })
            .collect();
        let mut serial = DigestAccumulator::default();
        for (address, account) in accounts.iter().rev() {
            serial.insert(address, *account);
        }
        assert_eq!(DigestAccumulator::of_accounts(&accounts), serial);
        assert_eq!(
            DigestAccumulator::of_accounts(&accounts[..10]),
            full_digest(&accounts[..10].iter().copied().collect())
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
