//! Every reason a transaction or block can be refused (shared by admission, block verification
//! and the API, which maps each to a stable error code), and why a chain cannot be opened.

use super::genesis::GenesisError;
use super::ids::Id;
use crate::storage::StoreError;

/// Why a transaction was not admitted or could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The bytes are not a well-formed transaction.
    #[error("malformed transaction: {0}")]
    Malformed(String),
    /// Signed for another network.
    #[error("wrong network: this chain is on network {expected}, the transaction names {got}")]
    WrongNetwork {
        /// This node's network ID.
        expected: u32,
        /// The transaction's network ID.
        got: u32,
    },
    /// Signed for another chain.
    #[error("wrong chain: this chain is {expected}, the transaction names {got}")]
    WrongChain {
        /// This chain's ID.
        expected: Id,
        /// The transaction's chain ID.
        got: Id,
    },
    /// The signature does not verify against `from`.
    #[error("bad signature: the signature does not verify against the sender's key")]
    BadSignature,
    /// The fee is below the chain's minimum.
    #[error("fee too low: the minimum fee is {min}, the transaction offers {got}")]
    FeeTooLow {
        /// The chain's minimum fee.
        min: u64,
        /// The offered fee.
        got: u64,
    },
    /// `amount + fee` (or a resulting balance) does not fit in 64 bits.
    #[error("amount overflow: amount plus fee does not fit in 64 bits")]
    AmountOverflow,
    /// The sender cannot pay `amount + fee`.
    #[error("insufficient funds: balance {balance}, needed {needed}")]
    InsufficientFunds {
        /// Balance available (after the sender's other pending transfers, at admission).
        balance: u64,
        /// Amount plus fee.
        needed: u64,
    },
    /// The nonce was already used: a replay or a stale transaction.
    #[error("nonce too low: the sender's next nonce is {expected}, got {got} (already used)")]
    NonceTooLow {
        /// The sender's next nonce.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
    },
    /// The nonce is ahead of the sender's next nonce (in a block), or too far ahead (at admission).
    #[error("nonce gap: the sender's next nonce is {expected}, got {got}")]
    NonceGap {
        /// The sender's next nonce.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
    },
    /// Another pending transaction from the same sender already uses this nonce.
    #[error("nonce {nonce} is already taken by pending transaction {by}")]
    NonceTaken {
        /// The contested nonce.
        nonce: u64,
        /// The pending transaction holding it.
        by: Id,
    },
    /// `expires_at` is before the current time.
    #[error("expired: the transaction expired at {expires_at} (unix s), now is {now}")]
    Expired {
        /// The transaction's expiry.
        expires_at: u64,
        /// The time it was checked against.
        now: u64,
    },
    /// `expires_at` is further ahead than the chain allows.
    #[error("expiry too far ahead: {expires_at} is more than {max_secs}s after {now}")]
    ExpiryTooFar {
        /// The transaction's expiry.
        expires_at: u64,
        /// The time it was checked against.
        now: u64,
        /// The chain's bound.
        max_secs: u64,
    },
    /// The mempool (or the sender's share of it) is full; retrying later may succeed.
    #[error("mempool full: {0}; retry later")]
    MempoolFull(String),
    /// This exact transaction is already pending, processing or accepted.
    #[error("already known: transaction {0} was already submitted")]
    AlreadyKnown(Id),
    /// The node's last accept could not be written to its store (a full disk, a failing
    /// database): nothing is admitted until an accept is written again, since an admitted
    /// transfer could not become final meanwhile. Retrying later may succeed.
    #[error("store unavailable: the node cannot write its store ({0}); nothing is admitted until it can, retry later")]
    StoreUnavailable(String),
}

impl TxError {
    /// A short stable label for metrics and the `data.reason` field of API errors.
    pub fn reason(&self) -> &'static str {
        match self {
            TxError::Malformed(_) => "malformed",
            TxError::WrongNetwork { .. } | TxError::WrongChain { .. } => "wrong_chain",
            TxError::BadSignature => "bad_signature",
            TxError::FeeTooLow { .. } => "fee_too_low",
            TxError::AmountOverflow => "amount_overflow",
            TxError::InsufficientFunds { .. } => "insufficient_funds",
            TxError::NonceTooLow { .. } => "nonce_too_low",
            TxError::NonceGap { .. } => "nonce_gap",
            TxError::NonceTaken { .. } => "nonce_taken",
            TxError::Expired { .. } => "expired",
            TxError::ExpiryTooFar { .. } => "expiry_too_far",
            TxError::MempoolFull(_) => "mempool_full",
            TxError::AlreadyKnown(_) => "already_known",
            TxError::StoreUnavailable(_) => "store_unavailable",
        }
    }
}

/// Why a chain could not be opened on a store. Each case tells an operator what to do: retry
/// (the store), fix the genesis file, restore or wipe the data directory.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The store did not answer; nothing was written.
    #[error("cannot read or write the chain's store: {0}")]
    Store(#[from] StoreError),
    /// The genesis document is invalid.
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    /// The store holds something no chain writes: a missing key, a bad value, a digest that
    /// does not match its accounts.
    #[error("the store is corrupt: {0}")]
    Corrupt(String),
    /// The store was created from another genesis document.
    #[error(
        "the store holds a chain with genesis block {stored}, but the genesis given has \
         {given}; use a fresh data directory for a new genesis"
    )]
    OtherGenesis {
        /// The stored genesis block ID (hex when it is not an ID at all).
        stored: String,
        /// The genesis block ID of the document given.
        given: Id,
    },
    /// The store belongs to another chain ID.
    #[error("the store belongs to another chain than {0}; use a fresh data directory")]
    OtherChain(Id),
    /// Same allocations, other consensus parameters: another chain.
    #[error(
        "the store holds a chain created with other genesis parameters (fee, block limits or \
         expiry bound); use a fresh data directory for a new genesis"
    )]
    OtherParams,
}

/// Why a page of account history could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// This node does not keep the index (chain config `"accountHistory": true` turns it on).
    #[error("account history is not enabled on this node")]
    Disabled,
    /// The index holds an entry no chain writes.
    #[error("the account history index is corrupt: {0}")]
    Corrupt(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a block was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The bytes are not a well-formed block.
    #[error("malformed block: {0}")]
    Malformed(String),
    /// The parent is neither the last accepted block nor a processing block.
    #[error("unknown parent {0}")]
    UnknownParent(Id),
    /// Height is not parent height + 1.
    #[error("wrong height: expected {expected}, got {got}")]
    WrongHeight {
        /// Parent height + 1.
        expected: u64,
        /// The block's height.
        got: u64,
    },
    /// Timestamp before the parent's or too far in the future.
    #[error("bad timestamp {got} ms: must be within [{min}, {max}] ms")]
    BadTimestamp {
        /// The block's timestamp.
        got: u64,
        /// The parent's timestamp.
        min: u64,
        /// Local time plus the allowed skew.
        max: u64,
    },
    /// More transactions or bytes than the genesis caps allow.
    #[error("block too large: {0}")]
    TooLarge(String),
    /// A transaction does not apply.
    #[error("transaction {index} ({id}) is invalid: {error}")]
    InvalidTx {
        /// Position in the block.
        index: usize,
        /// Its ID.
        id: Id,
        /// Why.
        error: TxError,
    },
    /// The state digest does not match the state this node computes.
    #[error("state digest mismatch: block says {claimed}, computed {computed}")]
    DigestMismatch {
        /// The block's digest.
        claimed: Id,
        /// This node's.
        computed: Id,
    },
    /// The thread checking the block's signatures stopped without a verdict (it cannot on any
    /// input; if it ever did, the block is refused rather than accepted unchecked).
    #[error("the block's signature check stopped without a verdict")]
    SignatureCheckStopped,
    /// The block is not known to this node.
    #[error("block {0} not found")]
    NotFound(Id),
    /// Only a child of the last accepted block can be accepted.
    #[error("block {0} cannot be accepted: its parent is not the last accepted block")]
    NotNextToAccept(Id),
    /// The fees burned up to this block would not fit in 64 bits (they never can under a
    /// valid genesis supply, so such a block is invalid rather than a crash).
    #[error("burned total overflows 64 bits")]
    BurnedOverflow,
    /// The host asked to reject a block this node has accepted: a consensus fault to report,
    /// never to obey.
    #[error("block {0} is accepted and cannot be rejected")]
    AlreadyAccepted(Id),
    /// The block is being accepted (its batch is being written): it can be neither rejected
    /// nor accepted a second time meanwhile.
    #[error("block {0} is being accepted")]
    AcceptInProgress(Id),
    /// The store failed; the operation changed nothing.
    #[error(transparent)]
    Storage(#[from] StoreError),
    /// An empty mempool: there is nothing to build.
    #[error("no pending transactions to build a block from")]
    NothingToBuild,
}

impl BlockError {
    /// A short stable label for the `blocks_unparsable{reason}` and `blocks_invalid{reason}`
    /// metrics: one word per case, so the set of label values is closed. A transfer inside a
    /// block that fails its signature check is `bad_signature` (what a forger's block fails
    /// on, worth telling apart); any other invalid transfer is `invalid_tx`.
    pub fn reason(&self) -> &'static str {
        match self {
            BlockError::Malformed(_) => "malformed",
            BlockError::UnknownParent(_) => "unknown_parent",
            BlockError::WrongHeight { .. } => "wrong_height",
            BlockError::BadTimestamp { .. } => "bad_timestamp",
            BlockError::TooLarge(_) => "too_large",
            BlockError::InvalidTx {
                error: TxError::BadSignature,
                ..
            } => "bad_signature",
            BlockError::InvalidTx { .. } => "invalid_tx",
            BlockError::DigestMismatch { .. } => "digest_mismatch",
            BlockError::SignatureCheckStopped => "signature_check_stopped",
            BlockError::NotFound(_) => "not_found",
            BlockError::NotNextToAccept(_) => "not_next_to_accept",
            BlockError::BurnedOverflow => "burned_overflow",
            BlockError::AlreadyAccepted(_) => "already_accepted",
            BlockError::AcceptInProgress(_) => "accept_in_progress",
            BlockError::Storage(_) => "storage",
            BlockError::NothingToBuild => "nothing_to_build",
        }
    }
}
