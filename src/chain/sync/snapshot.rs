//! The state as of a summary height, kept servable while newer blocks are accepted.
//!
//! Taken when a block at a multiple of the summary interval is accepted: the accepted accounts
//! copied and sorted by address (48 bytes each), with the burned total and the buckets'
//! checksums of that moment. Immutable afterwards and shared behind an `Arc`, so peers are
//! served without the chain lock and without reading the store.

use super::wire::{SyncResponse, WireAccount, MAX_SYNC_MESSAGE_BYTES};
use super::StateSummary;
use crate::chain::block::SealedBlock;
use crate::chain::commitment::{bucket_of, Checksum, BUCKETS};
use crate::chain::ids::Address;
use crate::chain::state::Account;

/// Encoded bytes of one account in a response.
pub const MAX_RESPONSE_ENTRY_BYTES: usize = 48;

/// Bytes of accounts one bucket response aims at: half the message limit, so a response is
/// quick to send and to check, and a lost one costs little to fetch again.
const RESPONSE_BUDGET: usize = MAX_SYNC_MESSAGE_BYTES / 2;

/// The accounts at one summary height.
pub struct StateSnapshot {
    /// The summary this is the state of.
    summary: StateSummary,
    /// The accepted block at the summary height.
    block: SealedBlock,
    /// Fees burned up to it.
    burned: u64,
    /// Every bucket's checksum at that height.
    checksums: Vec<Checksum>,
    /// Every non-empty account, in address order (so in bucket order).
    accounts: Vec<(Address, Account)>,
    /// Where each bucket starts in `accounts`; `BUCKETS + 1` entries, the last the length.
    starts: Vec<usize>,
}

impl StateSnapshot {
    /// The snapshot of `accounts` (any order) as of `block`, whose state they are.
    pub fn new(
        block: SealedBlock,
        burned: u64,
        checksums: Vec<Checksum>,
        mut accounts: Vec<(Address, Account)>,
    ) -> Self {
        accounts.retain(|(_, account)| *account != Account::default());
        accounts.sort_unstable_by_key(|(address, _)| *address);
        let starts = (0..=BUCKETS)
            .map(|bucket| accounts.partition_point(|(address, _)| bucket_of(address) < bucket))
            .collect();
        StateSnapshot {
            summary: StateSummary {
                height: block.block.height,
                block_id: block.id,
                state_root: block.block.state_digest,
            },
            block,
            burned,
            checksums,
            accounts,
            starts,
        }
    }

    /// The summary it serves.
    pub fn summary(&self) -> StateSummary {
        self.summary
    }

    /// Accounts in it.
    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    /// The answer to a head request.
    pub fn head(&self) -> SyncResponse {
        SyncResponse::Head {
            block: self.block.bytes.clone(),
            burned: self.burned,
            checksums: self.checksums.clone(),
        }
    }

    /// The answer to a request for buckets `first..end`: whole buckets from `first` on, in
    /// order, while they fit in the response budget (always at least one; one too large for a
    /// message is refused).
    pub fn buckets(&self, first: usize, end: usize) -> SyncResponse {
        if first >= end || end > BUCKETS {
            return SyncResponse::Unavailable {
                reason: format!("buckets {first}..{end} are not a range of the {BUCKETS}"),
            };
        }
        let mut buckets = Vec::new();
        let mut bytes = 0usize;
        for bucket in first..end {
            let entries = &self.accounts[self.starts[bucket]..self.starts[bucket + 1]];
            let size = entries.len() * MAX_RESPONSE_ENTRY_BYTES;
            if !buckets.is_empty() && bytes + size > RESPONSE_BUDGET {
                break;
            }
            if size > MAX_SYNC_MESSAGE_BYTES - 1024 {
                return SyncResponse::Unavailable {
                    reason: format!(
                        "bucket {bucket} holds {} accounts, more than one message carries",
                        entries.len()
                    ),
                };
            }
            bytes += size;
            buckets.push(
                entries
                    .iter()
                    .map(|(address, account)| WireAccount {
                        address: *address,
                        balance: account.balance,
                        nonce: account.nonce,
                    })
                    .collect(),
            );
        }
        SyncResponse::Buckets {
            first: first as u16,
            buckets,
        }
    }
}
