//! Stable JSON-RPC error codes: one per reason a wallet must handle differently.
//!
//! | code | name | meaning |
//! |---|---|---|
//! | -32700 | parse error | the body is not JSON (jsonrpsee) |
//! | -32600 | invalid request | JSON that is not a JSON-RPC 2.0 request (`envelope` says which); body over the size limit (HTTP 413) |
//! | -32010 | batch too large | a batch over the batch limit, refused before any call runs (jsonrpsee) |
//! | -32008 | response too large | one call's answer over the response cap (jsonrpsee) |
//! | -32011 | batch response too large | a batch's answers over the response cap; its calls ran (jsonrpsee) |
//! | -32601 | method not found | (jsonrpsee) |
//! | -32602 | invalid params | missing/unknown fields, bad address, bad ID, bad amount |
//! | 1001 | MALFORMED_TX | tx bytes are not a transaction (bad hex, length, version) |
//! | 1002 | WRONG_CHAIN | network or chain ID of another chain |
//! | 1003 | BAD_SIGNATURE | signature does not verify against `from` |
//! | 1004 | BAD_NONCE | nonce already used (replay), too far ahead, or taken by a pending tx |
//! | 1005 | INSUFFICIENT_FUNDS | balance (after pending spends) below amount + fee |
//! | 1006 | EXPIRED | `expiresAt` in the past, or further ahead than the chain allows |
//! | 1007 | MEMPOOL_FULL | the pool or the sender's share is full: retry later |
//! | 1008 | NOT_FOUND | no such transaction or block |
//! | 1009 | FEE_TOO_LOW | fee below the chain's minimum |
//! | 1010 | ALREADY_KNOWN | this exact transaction was already submitted |
//! | 1011 | AMOUNT_OVERFLOW | amount + fee does not fit in 64 bits |
//! | 1012 | HISTORY_DISABLED | `accountTransfers` on a node that does not keep account history |
//! | 1013 | STORE_UNAVAILABLE | the node cannot write its store (a full disk): nothing is admitted until it can; retry later |
//!
//! Every application error carries `data.reason`, a short machine-readable label.

use crate::chain::{HistoryError, TxError};
use jsonrpsee::types::ErrorObjectOwned;
use serde_json::json;

/// Standard JSON-RPC "invalid params".
pub const INVALID_PARAMS: i32 = -32602;
/// Tx bytes are not a transaction.
pub const MALFORMED_TX: i32 = 1001;
/// Network or chain mismatch.
pub const WRONG_CHAIN: i32 = 1002;
/// Signature does not verify.
pub const BAD_SIGNATURE: i32 = 1003;
/// Nonce used, too far ahead, or taken.
pub const BAD_NONCE: i32 = 1004;
/// Not enough balance.
pub const INSUFFICIENT_FUNDS: i32 = 1005;
/// Expired or expiry too far ahead.
pub const EXPIRED: i32 = 1006;
/// Pool full: retry later.
pub const MEMPOOL_FULL: i32 = 1007;
/// No such transaction or block.
pub const NOT_FOUND: i32 = 1008;
/// Fee below the minimum.
pub const FEE_TOO_LOW: i32 = 1009;
/// Already submitted.
pub const ALREADY_KNOWN: i32 = 1010;
/// amount + fee overflows.
pub const AMOUNT_OVERFLOW: i32 = 1011;
/// This node keeps no account history.
pub const HISTORY_DISABLED: i32 = 1012;
/// The node cannot write its store: retry later (another node, or once its operator freed space).
pub const STORE_UNAVAILABLE: i32 = 1013;

/// Every code this API sends itself (jsonrpsee sends the protocol ones): `rpc.discover`'s
/// document must describe each, and a test holds it to that.
pub const APPLICATION_CODES: &[i32] = &[
    INVALID_PARAMS,
    MALFORMED_TX,
    WRONG_CHAIN,
    BAD_SIGNATURE,
    BAD_NONCE,
    INSUFFICIENT_FUNDS,
    EXPIRED,
    MEMPOOL_FULL,
    NOT_FOUND,
    FEE_TOO_LOW,
    ALREADY_KNOWN,
    AMOUNT_OVERFLOW,
    HISTORY_DISABLED,
    STORE_UNAVAILABLE,
];

/// The code for a transaction error.
pub fn tx_error_code(error: &TxError) -> i32 {
    match error {
        TxError::Malformed(_) => MALFORMED_TX,
        TxError::WrongNetwork { .. } | TxError::WrongChain { .. } => WRONG_CHAIN,
        TxError::BadSignature => BAD_SIGNATURE,
        TxError::FeeTooLow { .. } => FEE_TOO_LOW,
        TxError::AmountOverflow => AMOUNT_OVERFLOW,
        TxError::InsufficientFunds { .. } => INSUFFICIENT_FUNDS,
        TxError::NonceTooLow { .. } | TxError::NonceGap { .. } | TxError::NonceTaken { .. } => {
            BAD_NONCE
        }
        TxError::Expired { .. } | TxError::ExpiryTooFar { .. } => EXPIRED,
        TxError::MempoolFull(_) => MEMPOOL_FULL,
        TxError::AlreadyKnown(_) => ALREADY_KNOWN,
        TxError::StoreUnavailable(_) => STORE_UNAVAILABLE,
    }
}

/// A transaction error as a JSON-RPC error object.
pub fn tx_error(error: &TxError) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(
        tx_error_code(error),
        error.to_string(),
        Some(json!({ "reason": error.reason() })),
    )
}

/// A history error as a JSON-RPC error object: "disabled" tells the operator how to turn it
/// on; a store failure or a corrupt index is internal.
pub fn history_error(error: &HistoryError) -> ErrorObjectOwned {
    match error {
        HistoryError::Disabled => ErrorObjectOwned::owned(
            HISTORY_DISABLED,
            "account history is not enabled on this node; its operator can turn it on with \
             \"accountHistory\": true in the chain config (the dev chain keeps it unless started \
             with --no-account-history)",
            Some(json!({ "reason": "history_disabled" })),
        ),
        other => internal(other.to_string()),
    }
}

/// "invalid params" with a human explanation.
pub fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(
        INVALID_PARAMS,
        message.into(),
        Some(json!({ "reason": "invalid_params" })),
    )
}

/// "not found".
pub fn not_found(what: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(
        NOT_FOUND,
        what.into(),
        Some(json!({ "reason": "not_found" })),
    )
}

/// An internal failure (e.g. the store did not answer).
pub fn internal(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(
        -32603,
        message.into(),
        Some(json!({ "reason": "internal" })),
    )
}
