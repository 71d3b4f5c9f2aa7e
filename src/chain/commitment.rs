//! The state commitment (block format 2): a lattice homomorphic hash per address bucket, and one
//! root over the buckets.
//!
//! Why this shape:
//! * **Cheap per block.** Each account contributes a leaf of [`LANES`] 16-bit lanes, read from
//!   BLAKE3's extendable output over the account; a bucket's hash is the lane-wise sum (modulo
//!   2^16) of its leaves. Changing an account subtracts its old leaf and adds its new one, so a
//!   block costs two leaves per touched account, whatever the number of accounts.
//! * **Order-independent.** Sums do not depend on the order accounts are visited in (consensus:
//!   no map iteration order may decide a block's validity).
//! * **Collision-resistant.** A sum of 256-bit hashes modulo 2^256 (block format 1) falls to
//!   generalised-birthday and lattice attacks far below 2^128 work. A sum of 1024 × 16-bit lanes
//!   is the LtHash of Bellare–Micciancio as deployed by Facebook and by Solana (SIMD-0215); its
//!   security rests on the short-integer-solution problem in dimension 1024.
//! * **Each synced chunk verifiable on its own.** Accounts fall into [`BUCKETS`] buckets by the
//!   first ten bits of their address; the root hashes every bucket's checksum (BLAKE3 of its
//!   lanes). A node that state-syncs fetches the 1024 checksums once, checks them against the
//!   root in the block, then checks each bucket it receives against its checksum: a bad chunk is
//!   caught on arrival, from whichever peer it came.
//!
//! Root = BLAKE3(`"transfervm/state/v2"` ‖ burned (u64 LE) ‖ checksum₀ ‖ … ‖ checksum₁₀₂₃).

use super::ids::{Address, Id};
use super::state::Account;
use std::sync::{Arc, LazyLock};

/// Lanes of one lattice hash (16 bits each: 2 KiB).
pub const LANES: usize = 1024;

/// Buckets the accounts are split into, by the first [`BUCKET_BITS`] bits of the address.
pub const BUCKETS: usize = 1 << BUCKET_BITS;

/// Address bits that choose an account's bucket.
pub const BUCKET_BITS: u32 = 10;

/// Domain of an account leaf's extendable output.
const LEAF_DOMAIN: &[u8] = b"transfervm/leaf/v2";

/// Domain of the root.
const ROOT_DOMAIN: &[u8] = b"transfervm/state/v2";

/// The bucket `address` belongs to: the first ten bits of the address, so a bucket is a
/// contiguous range of addresses (and of store keys).
pub fn bucket_of(address: &Address) -> usize {
    (usize::from(address.0[0]) << 2) | usize::from(address.0[1] >> 6)
}

/// A bucket's checksum: BLAKE3 of its lanes.
pub type Checksum = [u8; 32];

/// One lattice hash: [`LANES`] lanes summed modulo 2^16.
#[derive(Clone, PartialEq, Eq)]
pub struct LatticeHash(Box<[u16; LANES]>);

impl Default for LatticeHash {
    fn default() -> Self {
        LatticeHash(Box::new([0; LANES]))
    }
}

impl std::fmt::Debug for LatticeHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LatticeHash({})", hex::encode(self.checksum()))
    }
}

impl LatticeHash {
    /// The leaf of one account: BLAKE3's output over the domain, the address and the account,
    /// read as little-endian lanes. An empty account (no balance, no nonce) has no leaf: it is
    /// the same as an account that was never touched.
    fn leaf(address: &Address, account: Account) -> Option<[u16; LANES]> {
        if account == Account::default() {
            return None;
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update(LEAF_DOMAIN);
        hasher.update(&address.0);
        hasher.update(&account.to_bytes());
        let mut bytes = [0u8; LANES * 2];
        hasher.finalize_xof().fill(&mut bytes);
        let mut lanes = [0u16; LANES];
        for (lane, pair) in lanes.iter_mut().zip(bytes.chunks_exact(2)) {
            *lane = u16::from_le_bytes([pair[0], pair[1]]);
        }
        Some(lanes)
    }

    fn add_lanes(&mut self, lanes: &[u16; LANES]) {
        for (mine, theirs) in self.0.iter_mut().zip(lanes) {
            *mine = mine.wrapping_add(*theirs);
        }
    }

    fn sub_lanes(&mut self, lanes: &[u16; LANES]) {
        for (mine, theirs) in self.0.iter_mut().zip(lanes) {
            *mine = mine.wrapping_sub(*theirs);
        }
    }

    /// Adds an account's leaf.
    pub fn insert(&mut self, address: &Address, account: Account) {
        if let Some(leaf) = Self::leaf(address, account) {
            self.add_lanes(&leaf);
        }
    }

    /// Records that an account changed from `before` to `after`.
    pub fn update(&mut self, address: &Address, before: Account, after: Account) {
        if before == after {
            return;
        }
        if let Some(leaf) = Self::leaf(address, before) {
            self.sub_lanes(&leaf);
        }
        if let Some(leaf) = Self::leaf(address, after) {
            self.add_lanes(&leaf);
        }
    }

    /// Adds another hash (the sum of two disjoint sets of accounts).
    pub fn merge(&mut self, other: &LatticeHash) {
        self.add_lanes(&other.0);
    }

    /// BLAKE3 of the lanes (little-endian).
    pub fn checksum(&self) -> Checksum {
        // One call over the whole buffer: BLAKE3 hashes a 2 KiB input in parallel lanes, and
        // 1024 two-byte updates cost ten times the hash itself.
        let mut bytes = [0u8; LANES * 2];
        for (pair, lane) in bytes.chunks_exact_mut(2).zip(self.0.iter()) {
            pair.copy_from_slice(&lane.to_le_bytes());
        }
        *blake3::hash(&bytes).as_bytes()
    }
}

/// One bucket: its lattice hash and, once computed, its checksum.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Bucket {
    /// The sum of the bucket's leaves.
    hash: LatticeHash,
    /// The checksum of `hash`; `None` after a change until the root is next taken.
    checksum: Option<Checksum>,
}

/// The bucket of no accounts, shared by every empty bucket of every commitment.
static EMPTY_BUCKET: LazyLock<Arc<Bucket>> = LazyLock::new(|| {
    let hash = LatticeHash::default();
    Arc::new(Bucket {
        checksum: Some(hash.checksum()),
        hash,
    })
});

/// The commitment to a set of accounts: one lattice hash per bucket. Cloning shares the
/// buckets (a processing block's commitment copies only the 1024 pointers of its parent's, and
/// the buckets its transfers touch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateCommitment {
    /// Every bucket, by index; shared with the commitments it was cloned from until changed.
    buckets: Vec<Arc<Bucket>>,
}

impl Default for StateCommitment {
    fn default() -> Self {
        StateCommitment {
            buckets: vec![EMPTY_BUCKET.clone(); BUCKETS],
        }
    }
}

impl StateCommitment {
    fn bucket_mut(&mut self, address: &Address) -> &mut Bucket {
        let bucket = Arc::make_mut(&mut self.buckets[bucket_of(address)]);
        bucket.checksum = None;
        bucket
    }

    /// Records that `address` changed from `before` to `after`.
    pub fn update(&mut self, address: &Address, before: Account, after: Account) {
        if before != after {
            self.bucket_mut(address).hash.update(address, before, after);
        }
    }

    /// Records a block's changes, `(address, before, after)` each, on every core when there
    /// are enough of them: a leaf is 2 KiB of BLAKE3 output (~2.7 µs), and a block of 5 000
    /// transfers has 20 000 of them. Each core sums its share into a commitment of its own,
    /// starting from zero, and the shares are added; sums do not depend on how the work is
    /// split, so neither does the result.
    pub fn apply_changes(&mut self, changes: &[(Address, Account, Account)]) {
        const MIN_PER_THREAD: usize = 256;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = changes.len().div_ceil(threads).max(MIN_PER_THREAD);
        if changes.len() <= chunk {
            for (address, before, after) in changes {
                self.update(address, *before, *after);
            }
            return;
        }
        let share_of = |part: &[(Address, Account, Account)]| {
            let mut share = StateCommitment::default();
            for (address, before, after) in part {
                share.update(address, *before, *after);
            }
            share
        };
        let shares: Vec<StateCommitment> = std::thread::scope(|scope| {
            let mut parts = changes.chunks(chunk);
            let first = parts.next().unwrap_or_default();
            let others: Vec<_> = parts
                .map(|part| scope.spawn(move || share_of(part)))
                .collect();
            let mut shares = vec![share_of(first)];
            // Hashing cannot panic; if a thread ever did, a clear failure beats a wrong root.
            shares.extend(
                others
                    .into_iter()
                    .map(|h| h.join().expect("commitment thread")),
            );
            shares
        });
        for share in &shares {
            self.merge(share);
        }
    }

    /// Adds an account that was not there before (used when loading a whole state).
    pub fn insert(&mut self, address: &Address, account: Account) {
        if account != Account::default() {
            self.bucket_mut(address).hash.insert(address, account);
        }
    }

    /// Adds the accounts of another commitment (disjoint from this one's).
    pub fn merge(&mut self, other: &StateCommitment) {
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            if Arc::ptr_eq(theirs, &EMPTY_BUCKET) {
                continue;
            }
            let bucket = Arc::make_mut(mine);
            bucket.hash.merge(&theirs.hash);
            bucket.checksum = None;
        }
    }

    /// The commitment of a whole state, computed on every core: at start-up the chain hashes
    /// every account, and the sum does not depend on the order the leaves are added in, so
    /// splitting the work cannot change the result.
    pub fn of_accounts(accounts: &[(Address, Account)]) -> Self {
        const MIN_CHUNK: usize = 16_384;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = accounts.len().div_ceil(threads).max(MIN_CHUNK);
        let sum_of = |part: &[(Address, Account)]| {
            let mut commitment = StateCommitment::default();
            for (address, account) in part {
                commitment.insert(address, *account);
            }
            commitment
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
                // beats a wrong commitment, which would be reported as a corrupt store).
                total.merge(&handle.join().expect("commitment thread"));
            }
            total
        })
    }

    /// Every bucket's checksum, computing those changed since they were last taken.
    pub fn checksums(&mut self) -> Vec<Checksum> {
        self.buckets
            .iter_mut()
            .map(|bucket| match bucket.checksum {
                Some(checksum) => checksum,
                None => {
                    let bucket = Arc::make_mut(bucket);
                    let checksum = bucket.hash.checksum();
                    bucket.checksum = Some(checksum);
                    checksum
                }
            })
            .collect()
    }

    /// The root a block commits to: the buckets' checksums together with the burned total.
    pub fn finish(&mut self, burned: u64) -> Id {
        root_of(burned, &self.checksums())
    }
}

/// The root over `checksums` (one per bucket, in bucket order) and the burned total; what a
/// syncing node checks a fetched list of checksums against.
pub fn root_of(burned: u64, checksums: &[Checksum]) -> Id {
    let mut hasher = blake3::Hasher::new();
    hasher.update(ROOT_DOMAIN);
    hasher.update(&burned.to_le_bytes());
    for checksum in checksums {
        hasher.update(checksum);
    }
    Id(*hasher.finalize().as_bytes())
}

/// The checksum of one bucket holding exactly `accounts`: what a syncing node compares a
/// received chunk with.
pub fn bucket_checksum<'a>(accounts: impl IntoIterator<Item = &'a (Address, Account)>) -> Checksum {
    let mut hash = LatticeHash::default();
    for (address, account) in accounts {
        hash.insert(address, *account);
    }
    hash.checksum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(balance: u64, nonce: u64) -> Account {
        Account { balance, nonce }
    }

    fn address(first: u8, second: u8, rest: u8) -> Address {
        let mut a = [rest; 32];
        a[0] = first;
        a[1] = second;
        Address(a)
    }

    #[test]
    fn buckets_are_the_first_ten_address_bits() {
        assert_eq!(bucket_of(&address(0, 0, 9)), 0);
        assert_eq!(bucket_of(&address(0, 0x3f, 9)), 0);
        assert_eq!(bucket_of(&address(0, 0x40, 9)), 1);
        assert_eq!(bucket_of(&address(1, 0, 9)), 4);
        assert_eq!(bucket_of(&address(0xff, 0xff, 9)), BUCKETS - 1);
    }

    #[test]
    fn an_update_equals_removing_and_inserting() {
        let a = address(3, 4, 5);
        let mut updated = StateCommitment::default();
        updated.insert(&a, account(10, 0));
        updated.update(&a, account(10, 0), account(7, 1));
        let mut fresh = StateCommitment::default();
        fresh.insert(&a, account(7, 1));
        assert_eq!(updated.finish(3), fresh.finish(3));
        // Emptying an account takes it out altogether.
        updated.update(&a, account(7, 1), Account::default());
        assert_eq!(updated.finish(3), StateCommitment::default().finish(3));
    }

    #[test]
    fn the_root_binds_balances_nonces_addresses_and_burned() {
        let a = address(3, 4, 5);
        let b = address(3, 4, 6);
        let root = |entries: &[(Address, Account)], burned| {
            let mut c = StateCommitment::default();
            for (address, account) in entries {
                c.insert(address, *account);
            }
            c.finish(burned)
        };
        let base = root(&[(a, account(10, 1))], 0);
        assert_ne!(base, root(&[(a, account(11, 1))], 0));
        assert_ne!(base, root(&[(a, account(10, 2))], 0));
        assert_ne!(base, root(&[(b, account(10, 1))], 0));
        assert_ne!(base, root(&[(a, account(10, 1))], 1));
        assert_ne!(base, root(&[(a, account(10, 1)), (b, account(1, 0))], 0));
        // Order-independent.
        assert_eq!(
            root(&[(a, account(1, 0)), (b, account(2, 0))], 0),
            root(&[(b, account(2, 0)), (a, account(1, 0))], 0)
        );
    }

    #[test]
    fn a_bucket_checksum_from_its_accounts_matches_the_commitment() {
        let entries: Vec<_> = (0..50u8)
            .map(|i| (address(7, i, i), account(u64::from(i) + 1, 0)))
            .collect();
        let mut c = StateCommitment::default();
        for (address, account) in &entries {
            c.insert(address, *account);
        }
        let checksums = c.checksums();
        for bucket in [28, 29, 30, 31] {
            let mine: Vec<_> = entries
                .iter()
                .filter(|(a, _)| bucket_of(a) == bucket)
                .copied()
                .collect();
            assert_eq!(bucket_checksum(&mine), checksums[bucket]);
        }
        assert_eq!(root_of(9, &checksums), c.finish(9));
        assert_eq!(
            checksums[0],
            bucket_checksum(&[]),
            "an empty bucket has the empty checksum"
        );
    }

    #[test]
    fn changes_applied_on_every_core_equal_changes_applied_one_by_one() {
        let changes: Vec<(Address, Account, Account)> = (0..3_000u32)
            .map(|i| {
                let mut a = [0u8; 32];
                a[..4].copy_from_slice(&i.wrapping_mul(2_654_435_761).to_be_bytes());
                let before = if i % 3 == 0 {
                    Account::default()
                } else {
                    account(u64::from(i), 1)
                };
                (Address(a), before, account(u64::from(i) + 7, 2))
            })
            .collect();
        let mut base = StateCommitment::default();
        for (address, before, _) in &changes {
            base.insert(address, *before);
        }
        let mut serial = base.clone();
        for (address, before, after) in &changes {
            serial.update(address, *before, *after);
        }
        let mut parallel = base.clone();
        parallel.apply_changes(&changes);
        assert_eq!(parallel.finish(5), serial.finish(5));
        let mut fresh = StateCommitment::default();
        for (address, _, after) in &changes {
            fresh.insert(address, *after);
        }
        assert_eq!(fresh.finish(5), serial.finish(5));
    }

    #[test]
    fn whole_state_commitment_is_the_same_however_it_is_split() {
        let accounts: Vec<(Address, Account)> = (0..40_000u32)
            .map(|i| {
                let mut a = [0u8; 32];
                a[..4].copy_from_slice(&i.to_be_bytes());
                a[0] = (i % 251) as u8;
                (Address(a), account(u64::from(i) * 3 + 1, u64::from(i % 7)))
            })
            .collect();
        let mut serial = StateCommitment::default();
        for (address, account) in accounts.iter().rev() {
            serial.insert(address, *account);
        }
        let mut parallel = StateCommitment::of_accounts(&accounts);
        assert_eq!(parallel.finish(0), serial.finish(0));
    }
}
