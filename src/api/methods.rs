//! The `transfervm.*` methods: decode params, call the node, encode the answer.

use super::errors::{history_error, internal, invalid_params, not_found, tx_error, tx_error_code};
use super::openrpc;
use super::params::{AnyParams, MethodParams};
use super::types::*;
use crate::chain::{BlockStatus, SignedTx, TxError, TxStatus, MAX_HISTORY_PAGE};
use crate::node::{Node, Source};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::RpcModule;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// What the methods need.
pub struct ApiContext {
    /// The chain.
    pub node: Arc<Node>,
    /// `luxd` (hosted) or `dev` (single-node development chain).
    pub mode: &'static str,
    /// The rpcchainvm protocol spoken with the host (`None` on the dev chain).
    pub rpcchainvm: Option<u32>,
    /// Most transactions one `submitTxs` call may carry.
    pub max_txs_per_call: usize,
}

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// Builds the module with every method registered: one line per method, so the API's surface
/// reads as a table.
pub fn module(ctx: ApiContext) -> RpcModule<ApiContext> {
    let mut m = RpcModule::new(ctx);
    register(&mut m, "transfervm.info", CHEAP, info);
    register(&mut m, "transfervm.account", CHEAP, account);
    register(&mut m, "transfervm.balance", CHEAP, balance);
    register_async(&mut m, "transfervm.submitTx", submit_tx);
    register_async(&mut m, "transfervm.submitTxs", submit_txs);
    register(&mut m, "transfervm.simulateTx", BLOCKING, simulate_tx);
    register(&mut m, "transfervm.txStatus", CHEAP, tx_status);
    register(&mut m, "transfervm.getTx", CHEAP, get_tx);
    register(&mut m, "transfervm.getBlock", CHEAP, get_block);
    register(&mut m, "transfervm.lastAccepted", CHEAP, last_accepted);
    register(
        &mut m,
        "transfervm.accountTransfers",
        BLOCKING,
        account_transfers,
    );
    register(&mut m, openrpc::DISCOVER, CHEAP, discover);
    m
}

/// Runs on jsonrpsee's task: a quick read of the node.
const CHEAP: bool = false;
/// Runs on a blocking thread: a lone signature check (`Node::simulate`) and history scans (gRPC
/// round trips over rpcdb) would stall the async workers.
const BLOCKING: bool = true;

/// Registers `f` as `name`: reads its params (one parse) and hands them with the context to it.
fn register<P, R>(
    m: &mut RpcModule<ApiContext>,
    name: &'static str,
    blocking: bool,
    f: fn(&ApiContext, P) -> RpcResult<R>,
) where
    P: MethodParams + 'static,
    R: Serialize + Clone + 'static,
{
    let registered = if blocking {
        m.register_blocking_method(name, move |raw, ctx, _| f(&ctx, P::read(&raw)?))
    } else {
        m.register_method(name, move |raw, ctx, _| f(ctx, P::read(&raw)?))
    };
    registered.expect("method names are unique");
}

/// Registers the async `f` as `name`: for submits, which await the node's signature checker
/// rather than hold a thread (a blocking-pool hop per request cost more than the rest of a
/// one-transfer request's admission).
fn register_async<P, R, F, Fut>(m: &mut RpcModule<ApiContext>, name: &'static str, f: F)
where
    P: MethodParams + Send + 'static,
    R: Serialize + Clone + 'static,
    F: Fn(Arc<ApiContext>, P) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = RpcResult<R>> + Send,
{
    m.register_async_method(name, move |raw, ctx, _| async move {
        let params = P::read(&raw)?;
        f(ctx, params).await
    })
    .expect("method names are unique");
}

/// Entries per `accountTransfers` page when the call gives no `limit`.
pub const DEFAULT_HISTORY_LIMIT: u64 = 25;

/// Decodes a `0x`-hex transaction.
pub fn decode_tx_hex(text: &str) -> Result<SignedTx, TxError> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .ok_or_else(|| TxError::Malformed("transaction bytes must be 0x-prefixed hex".into()))?;
    if digits.len() > 4 * crate::chain::tx::SIGNED_TX_LEN {
        return Err(TxError::Malformed(format!(
            "{} hex digits is far longer than a transaction",
            digits.len()
        )));
    }
    let bad_hex = |e: hex::FromHexError| TxError::Malformed(format!("bad hex: {e}"));
    // A transfer's length, the case that matters, into a buffer on the stack: `hex::decode`
    // grows its vector from empty, which cost more than the rest of the decode. The errors are
    // the same either way.
    if digits.len() == 2 * crate::chain::tx::SIGNED_TX_LEN {
        let mut bytes = [0u8; crate::chain::tx::SIGNED_TX_LEN];
        hex::decode_to_slice(digits, &mut bytes).map_err(bad_hex)?;
        return SignedTx::decode_canonical(&bytes).map_err(|e| TxError::Malformed(e.to_string()));
    }
    let bytes = hex::decode(digits).map_err(bad_hex)?;
    SignedTx::decode_canonical(&bytes).map_err(|e| TxError::Malformed(e.to_string()))
}

fn entry(error: &TxError) -> ErrorEntry {
    ErrorEntry {
        code: tx_error_code(error),
        message: error.to_string(),
        reason: error.reason().to_string(),
    }
}

/// `rpc.discover`: the OpenRPC document describing every method.
fn discover(_: &ApiContext, _: AnyParams) -> RpcResult<Value> {
    Ok(openrpc::document().clone())
}

/// `info`: what this chain is and its limits, from one node summary.
fn info(ctx: &ApiContext, _: AnyParams) -> RpcResult<Value> {
    let node = &ctx.node;
    let summary = node.summary();
    let params = &summary.params;
    let limits = &summary.mempool_limits;
    let last = &summary.last_accepted;
    Ok(json!({
        "vm": "transfervm",
        "version": env!("CARGO_PKG_VERSION"),
        "rpcchainvm": ctx.rpcchainvm,
        "mode": ctx.mode,
        "networkId": node.rules().network_id,
        "chainId": node.rules().chain_id,
        "genesisBlockId": summary.genesis_id,
        "minFee": params.min_fee.to_string(),
        "supply": summary.supply.to_string(),
        "burned": summary.burned.to_string(),
        "limits": {
            "maxBlockTxs": params.max_block_txs,
            "maxBlockBytes": params.max_block_bytes,
            "maxExpirySecs": params.max_expiry_secs,
            "mempoolMaxTxs": limits.max_txs,
            "mempoolMaxPerSender": limits.max_per_sender,
            "mempoolMaxNonceGap": limits.max_nonce_gap,
            "maxTxsPerCall": ctx.max_txs_per_call,
        },
        "lastAccepted": {
            "id": last.id,
            "height": last.height,
            "timestamp": last.timestamp_ms,
        },
        "mempoolSize": summary.mempool_txs,
        "storeError": node.store_fault().map(|e| e.to_string()),
    }))
}

/// `account`: balance and nonces, with the nonce a wallet should use next.
fn account(ctx: &ApiContext, p: AddressParams) -> RpcResult<AccountResult> {
    let info = ctx.node.account(&p.address);
    Ok(AccountResult {
        address: p.address,
        balance: info.accepted.balance,
        nonce: info.accepted.nonce,
        pending_nonce: info.pending_nonce,
    })
}

/// `balance`: the accepted balance alone.
fn balance(ctx: &ApiContext, p: AddressParams) -> RpcResult<BalanceResult> {
    Ok(BalanceResult {
        address: p.address,
        balance: ctx.node.account(&p.address).accepted.balance,
    })
}

/// `submitTx`: one transfer into the mempool; refused ones are a JSON-RPC error.
async fn submit_tx(ctx: Arc<ApiContext>, p: TxParams) -> RpcResult<SubmitResult> {
    let tx = decode_tx_hex(&p.tx).map_err(|e| tx_error(&e))?;
    let verdict = ctx.node.submit_async(vec![Ok(tx)], Source::Api).await.pop();
    match verdict {
        Some(Ok(tx_id)) => Ok(SubmitResult { tx_id }),
        Some(Err(e)) => Err(tx_error(&e)),
        None => Err(internal("the node gave no verdict")),
    }
}

/// `submitTxs`: many transfers in one call, a verdict each (one refused does not fail the rest).
async fn submit_txs(ctx: Arc<ApiContext>, p: TxsParams) -> RpcResult<Vec<SubmitEntry>> {
    if p.txs.len() > ctx.max_txs_per_call {
        return Err(invalid_params(format!(
            "{} transactions in one call, limit {}",
            p.txs.len(),
            ctx.max_txs_per_call
        )));
    }
    let txs = p.txs.iter().map(|t| decode_tx_hex(t)).collect();
    Ok(ctx
        .node
        .submit_async(txs, Source::Api)
        .await
        .into_iter()
        .map(|verdict| match verdict {
            Ok(tx_id) => SubmitEntry {
                tx_id: Some(tx_id),
                error: None,
            },
            Err(e) => SubmitEntry {
                tx_id: None,
                error: Some(entry(&e)),
            },
        })
        .collect())
}

/// `simulateTx`: whether a transfer would be admitted now, as a result rather than an error.
fn simulate_tx(ctx: &ApiContext, p: TxParams) -> RpcResult<SimulateResult> {
    let tx = match decode_tx_hex(&p.tx) {
        Ok(tx) => tx,
        Err(e) => {
            return Ok(SimulateResult {
                ok: false,
                tx_id: None,
                error: Some(entry(&e)),
            })
        }
    };
    let tx_id = tx.id();
    let verdict = ctx.node.simulate(tx);
    Ok(SimulateResult {
        ok: verdict.is_ok(),
        tx_id: Some(tx_id),
        error: verdict.err().as_ref().map(entry),
    })
}

/// `txStatus`: where a transaction is (pending, in a block, dropped, unknown).
fn tx_status(ctx: &ApiContext, p: TxIdParams) -> RpcResult<TxStatusResult> {
    let status = ctx.node.tx_status(&p.tx_id);
    let known_from = match status {
        TxStatus::Unknown => ctx.node.synced_from(),
        _ => None,
    };
    Ok(TxStatusResult {
        tx_id: p.tx_id,
        status,
        known_from,
    })
}

/// What a node that state-synced to `from` says of a block or transfer it does not have.
fn not_known_here(what: String, from: Option<u64>) -> ErrorObjectOwned {
    match from {
        Some(height) => not_found(format!(
            "{what} is not known here: this node state-synced to height {height} and has no \
             blocks or transfers below it; ask a node that replayed the chain"
        )),
        None => not_found(format!("{what} not found")),
    }
}

/// `getTx`: a known transaction, decoded and as bytes, with its status.
fn get_tx(ctx: &ApiContext, p: TxIdParams) -> RpcResult<GetTxResult> {
    let (tx, status) = ctx.node.tx(&p.tx_id).ok_or_else(|| {
        not_known_here(format!("transaction {}", p.tx_id), ctx.node.synced_from())
    })?;
    Ok(GetTxResult {
        tx_id: p.tx_id,
        tx: TxView::from(&tx),
        bytes: format!("0x{}", hex::encode(tx.to_bytes())),
        status,
    })
}

fn status_label(status: BlockStatus) -> &'static str {
    match status {
        BlockStatus::Processing => "processing",
        BlockStatus::Rejected => "rejected",
        BlockStatus::Accepted => "accepted",
    }
}

/// `getBlock`: a block by ID or accepted height, or the last accepted one.
fn get_block(ctx: &ApiContext, p: BlockParams) -> RpcResult<BlockView> {
    let node = &ctx.node;
    let id = match (p.id, p.height) {
        (Some(_), Some(_)) => return Err(invalid_params("give either id or height, not both")),
        (Some(id), None) => id,
        (None, Some(height)) => node
            .block_id_at_height(height)
            .map_err(|e| internal(e.to_string()))?
            .ok_or_else(|| match ctx.node.synced_from() {
                Some(from) if height < from => {
                    not_known_here(format!("the block at height {height}"), Some(from))
                }
                _ => not_found(format!("no accepted block at height {height}")),
            })?,
        (None, None) => node.last_accepted().id,
    };
    let (block, status) = node
        .block_with_status(&id)
        .map_err(|e| internal(e.to_string()))?
        .ok_or_else(|| not_known_here(format!("block {id}"), node.synced_from()))?;
    Ok(BlockView::new(&block, status_label(status)))
}

/// `lastAccepted`: the accepted tip. Any object is accepted as params, as before.
fn last_accepted(ctx: &ApiContext, _: Map<String, Value>) -> RpcResult<LastAcceptedResult> {
    let last = ctx.node.last_accepted();
    Ok(LastAcceptedResult {
        id: last.id,
        height: last.height,
        timestamp: last.timestamp_ms,
    })
}

/// `accountTransfers`: a page of an account's accepted transfers, newest first, with the cursor
/// of the next page.
fn account_transfers(ctx: &ApiContext, p: HistoryParams) -> RpcResult<AccountTransfersResult> {
    let max = MAX_HISTORY_PAGE as u64;
    let limit = match p.limit.unwrap_or(DEFAULT_HISTORY_LIMIT) {
        n @ 1.. if n <= max => n as usize,
        n => {
            return Err(invalid_params(format!(
                "limit {n} is out of bounds: give 1 to {max} (default {DEFAULT_HISTORY_LIMIT})"
            )))
        }
    };
    let after = match p.cursor.as_deref() {
        Some(text) => Some(parse_cursor(text).ok_or_else(|| {
            invalid_params("invalid cursor: pass a previous page's nextCursor unchanged")
        })?),
        None => None,
    };
    let page = ctx
        .node
        .account_transfers(&p.address, limit, after)
        .map_err(|e| history_error(&e))?;
    Ok(AccountTransfersResult::new(p.address, &page))
}
