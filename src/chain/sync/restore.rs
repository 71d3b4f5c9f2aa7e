//! The syncing side's checks: a fetched head must be the summary's block with checksums that
//! hash to its state root; a fetched chunk must hold, for each bucket it claims, exactly
//! accounts of that bucket, in strictly increasing address order, whose lattice hash has the
//! checksum the head gave. A piece that fails is not kept, and is fetched from another peer.

use super::wire::SyncResponse;
use super::StateSummary;
use crate::chain::block::SealedBlock;
use crate::chain::commitment::{bucket_checksum, bucket_of, root_of, Checksum, BUCKETS};
use crate::chain::ids::Address;
use crate::chain::state::Account;

/// Why a fetched piece was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// The peer said it cannot serve the summary.
    #[error("the peer cannot serve it: {0}")]
    Unavailable(String),
    /// The bytes are not a response of the kind asked for.
    #[error("unexpected or malformed response: {0}")]
    Malformed(String),
    /// The response does not match the summary.
    #[error("the response does not match the summary: {0}")]
    Mismatch(String),
}

/// The summary's block and bucket checksums, checked against the summary.
#[derive(Clone, Debug)]
pub struct SyncHead {
    /// The summary synced to.
    pub summary: StateSummary,
    /// The accepted block at the summary height.
    pub block: SealedBlock,
    /// Fees burned up to it.
    pub burned: u64,
    /// Every bucket's checksum.
    pub checksums: Vec<Checksum>,
}

impl SyncHead {
    /// Checks a head response for `summary`.
    pub fn verify(summary: StateSummary, response: SyncResponse) -> Result<Self, SyncError> {
        let (bytes, burned, checksums) = match response {
            SyncResponse::Head {
                block,
                burned,
                checksums,
            } => (block, burned, checksums),
            SyncResponse::Unavailable { reason } => return Err(SyncError::Unavailable(reason)),
            SyncResponse::Buckets { .. } => {
                return Err(SyncError::Malformed(
                    "buckets where a head was asked".into(),
                ))
            }
        };
        let block = SealedBlock::decode(&bytes).map_err(|e| SyncError::Malformed(e.to_string()))?;
        if block.id != summary.block_id || block.block.height != summary.height {
            return Err(SyncError::Mismatch(format!(
                "block {} at height {} is not the summary's {} at {}",
                block.id, block.block.height, summary.block_id, summary.height
            )));
        }
        if checksums.len() != BUCKETS {
            return Err(SyncError::Malformed(format!(
                "{} bucket checksums, not {BUCKETS}",
                checksums.len()
            )));
        }
        if root_of(burned, &checksums) != summary.state_root
            || block.block.state_digest != summary.state_root
        {
            return Err(SyncError::Mismatch(
                "the checksums and burned total do not hash to the state root".into(),
            ));
        }
        Ok(SyncHead {
            summary,
            block,
            burned,
            checksums,
        })
    }
}

/// A bucket's index and its accounts, in address order.
pub type SyncedBucket = (usize, Vec<(Address, Account)>);

/// Checks a response to a request for buckets `first..end`: returns the buckets it holds, each
/// with its accounts, every one verified against `head`. At least one bucket, none at or
/// beyond `end`.
pub fn verify_buckets(
    head: &SyncHead,
    first: usize,
    end: usize,
    response: SyncResponse,
) -> Result<Vec<SyncedBucket>, SyncError> {
    let (got_first, buckets) = match response {
        SyncResponse::Buckets { first, buckets } => (usize::from(first), buckets),
        SyncResponse::Unavailable { reason } => return Err(SyncError::Unavailable(reason)),
        SyncResponse::Head { .. } => {
            return Err(SyncError::Malformed(
                "a head where buckets were asked".into(),
            ))
        }
    };
    if got_first != first || buckets.is_empty() || first + buckets.len() > end.min(BUCKETS) {
        return Err(SyncError::Malformed(format!(
            "buckets {got_first}..+{} do not answer a request from bucket {first}",
            buckets.len()
        )));
    }
    let mut verified = Vec::with_capacity(buckets.len());
    for (offset, entries) in buckets.into_iter().enumerate() {
        let bucket = first + offset;
        let accounts: Vec<(Address, Account)> = entries.into_iter().map(|e| e.pair()).collect();
        let in_order = accounts.windows(2).all(|w| w[0].0 < w[1].0);
        let in_bucket = accounts.iter().all(|(address, account)| {
            bucket_of(address) == bucket && *account != Account::default()
        });
        if !in_order || !in_bucket {
            return Err(SyncError::Malformed(format!(
                "bucket {bucket}: accounts out of order, empty, or of another bucket"
            )));
        }
        if bucket_checksum(&accounts) != head.checksums[bucket] {
            return Err(SyncError::Mismatch(format!(
                "bucket {bucket}'s accounts do not have its checksum"
            )));
        }
        verified.push((bucket, accounts));
    }
    Ok(verified)
}
