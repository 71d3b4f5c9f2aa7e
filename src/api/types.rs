//! Request parameters and result shapes of the JSON-RPC methods.
//!
//! Amounts are decimal strings (JavaScript loses precision above 2^53); nonces, heights and
//! timestamps are JSON numbers; bytes are `0x`-hex; IDs are cb58 (hex accepted on input).

use crate::chain::ids::amount_string;
use crate::chain::{Address, HistoryEntry, HistoryPage, HistoryPosition, Id, SealedBlock};
use crate::chain::{SignedTx, TxStatus};
use serde::{Deserialize, Serialize};

/// `{address}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressParams {
    /// The account.
    pub address: Address,
}

/// `{tx}`: one signed transaction as `0x`-hex.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxParams {
    /// Canonical transaction bytes, hex.
    pub tx: String,
}

/// `{txs}`: several signed transactions.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxsParams {
    /// Canonical transaction bytes, hex, each.
    pub txs: Vec<String>,
}

/// `{txId}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TxIdParams {
    /// The transaction ID.
    pub tx_id: Id,
}

/// `{id}` or `{height}` or `{}` (latest accepted).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockParams {
    /// Block ID.
    pub id: Option<Id>,
    /// Accepted height.
    pub height: Option<u64>,
}

/// `{address, limit?, cursor?}` of `accountTransfers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// The account.
    pub address: Address,
    /// Entries per page (1 to 100, default 25).
    pub limit: Option<u64>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// What every history cursor starts with: a version, so the format can change without an old
/// cursor being misread.
const CURSOR_PREFIX: &str = "h1.";

/// A cursor's text: opaque to wallets, the position of the last entry of a page.
pub fn cursor_text(position: HistoryPosition) -> String {
    format!("{CURSOR_PREFIX}{}", hex::encode(position.to_bytes()))
}

/// Reads a cursor's text back; `None` for anything [`cursor_text`] does not write.
pub fn parse_cursor(text: &str) -> Option<HistoryPosition> {
    let digits = text.strip_prefix(CURSOR_PREFIX)?;
    if digits.len() != 24 {
        return None;
    }
    HistoryPosition::from_bytes(&hex::decode(digits).ok()?)
}

/// One accepted transfer in `accountTransfers`, from the account's side.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TransferView {
    /// The transfer's ID.
    pub tx_id: Id,
    /// Height of its block.
    pub height: u64,
    /// Its block's timestamp (unix ms).
    pub timestamp: u64,
    /// `in`, `out` or `self`.
    pub direction: String,
    /// The other account (the account itself for `self`).
    pub counterparty: Address,
    /// Amount moved.
    #[serde(with = "amount_string")]
    pub amount: u64,
    /// Fee the sender paid.
    #[serde(with = "amount_string")]
    pub fee: u64,
    /// The sender's nonce.
    pub nonce: u64,
}

impl From<&HistoryEntry> for TransferView {
    fn from(e: &HistoryEntry) -> Self {
        TransferView {
            tx_id: e.tx_id,
            height: e.position.height,
            timestamp: e.timestamp_ms,
            direction: e.direction.label().to_string(),
            counterparty: e.counterparty,
            amount: e.amount,
            fee: e.fee,
            nonce: e.nonce,
        }
    }
}

/// `accountTransfers` result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AccountTransfersResult {
    /// The account.
    pub address: Address,
    /// Its accepted transfers, newest first.
    pub transfers: Vec<TransferView>,
    /// The cursor of the next page, `null` when this one holds the oldest transfer.
    pub next_cursor: Option<String>,
}

impl AccountTransfersResult {
    /// The answer for `address` from one page.
    pub fn new(address: Address, page: &HistoryPage) -> Self {
        AccountTransfersResult {
            address,
            transfers: page.entries.iter().map(TransferView::from).collect(),
            next_cursor: page.next.map(cursor_text),
        }
    }
}

/// `account` result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AccountResult {
    /// The account.
    pub address: Address,
    /// Accepted balance.
    #[serde(with = "amount_string")]
    pub balance: u64,
    /// Next nonce in the accepted state.
    pub nonce: u64,
    /// Nonce for the next new transfer, counting pending ones.
    pub pending_nonce: u64,
}

/// `balance` result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BalanceResult {
    /// The account.
    pub address: Address,
    /// Accepted balance.
    #[serde(with = "amount_string")]
    pub balance: u64,
}

/// `submitTx` result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SubmitResult {
    /// The transaction ID.
    pub tx_id: Id,
}

/// One entry of `submitTxs`: a result or an error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SubmitEntry {
    /// Set when admitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<Id>,
    /// Set when refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorEntry>,
}

/// An error inside a result (per-tx errors of `submitTxs`, verdict of `simulateTx`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorEntry {
    /// Stable code (see the error table).
    pub code: i32,
    /// Human explanation.
    pub message: String,
    /// Machine-readable label.
    pub reason: String,
}

/// `simulateTx` result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SimulateResult {
    /// Whether the transaction would be admitted now.
    pub ok: bool,
    /// Its ID (when the bytes decoded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<Id>,
    /// Why not, when `ok` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorEntry>,
}

/// `txStatus` result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TxStatusResult {
    /// The transaction ID.
    pub tx_id: Id,
    /// Status with its details (`status`, and `blockId`/`height`/`reason` where they apply).
    #[serde(flatten)]
    pub status: TxStatus,
    /// On a node that state-synced, the height it synced to, given with `unknown`: a transfer
    /// accepted below it is not known here, which is not the same as never accepted.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub known_from: Option<u64>,
}

/// A decoded transaction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TxView {
    /// Format version.
    pub version: u8,
    /// Network.
    pub network_id: u32,
    /// Chain.
    pub chain_id: Id,
    /// Sender.
    pub from: Address,
    /// Recipient.
    pub to: Address,
    /// Amount.
    #[serde(with = "amount_string")]
    pub amount: u64,
    /// Fee.
    #[serde(with = "amount_string")]
    pub fee: u64,
    /// Nonce.
    pub nonce: u64,
    /// Expiry (unix seconds).
    pub expires_at: u64,
    /// Signature, hex.
    pub signature: String,
}

impl From<&SignedTx> for TxView {
    fn from(tx: &SignedTx) -> Self {
        let b = &tx.body;
        TxView {
            version: b.version,
            network_id: b.network_id,
            chain_id: b.chain_id,
            from: b.from,
            to: b.to,
            amount: b.amount,
            fee: b.fee,
            nonce: b.nonce,
            expires_at: b.expires_at,
            signature: format!("0x{}", hex::encode(tx.signature)),
        }
    }
}

/// `getTx` result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetTxResult {
    /// The transaction ID.
    pub tx_id: Id,
    /// The decoded transaction.
    pub tx: TxView,
    /// Canonical bytes, hex.
    pub bytes: String,
    /// Status.
    #[serde(flatten)]
    pub status: TxStatus,
}

/// `getBlock` result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BlockView {
    /// Block ID.
    pub id: Id,
    /// Parent ID.
    pub parent_id: Id,
    /// Height.
    pub height: u64,
    /// Unix milliseconds.
    pub timestamp: u64,
    /// State digest after the block.
    pub state_digest: Id,
    /// `accepted` or `processing`.
    pub status: String,
    /// Number of transactions.
    pub tx_count: usize,
    /// Their IDs, in order.
    pub tx_ids: Vec<Id>,
}

impl BlockView {
    /// A view of `block` with the given status.
    pub fn new(block: &SealedBlock, status: &str) -> Self {
        BlockView {
            id: block.id,
            parent_id: block.block.parent_id,
            height: block.block.height,
            timestamp: block.block.timestamp_ms,
            state_digest: block.block.state_digest,
            status: status.to_string(),
            tx_count: block.block.txs.len(),
            tx_ids: block.tx_ids.clone(),
        }
    }
}

/// `lastAccepted` result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LastAcceptedResult {
    /// Block ID.
    pub id: Id,
    /// Height.
    pub height: u64,
    /// Unix milliseconds.
    pub timestamp: u64,
}
