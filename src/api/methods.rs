//! The `transfervm.*` methods: decode params, call the node, encode the answer.

use super::errors::{internal, invalid_params, not_found, tx_error, tx_error_code};
use super::types::*;
use crate::chain::{BlockStatus, SignedTx, TxError};
use crate::node::{Node, Source};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use jsonrpsee::RpcModule;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::sync::Arc;

/// The rpcchainvm protocol version this build speaks.
pub const RPCCHAINVM_PROTOCOL: u32 = 30;

/// What the methods need.
pub struct ApiContext {
    /// The chain.
    pub node: Arc<Node>,
    /// `luxd` (hosted) or `dev` (single-node development chain).
    pub mode: &'static str,
    /// Most transactions one `submitTxs` call may carry.
    pub max_txs_per_call: usize,
}

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// Reads params as one named object; `[{…}]`, `[]`, `{}` and no params are accepted too.
fn params<T: DeserializeOwned>(raw: &Params<'_>) -> RpcResult<T> {
    let value: Value = match raw.as_str() {
        None => json!({}),
        Some(text) => serde_json::from_str(text).map_err(|e| invalid_params(e.to_string()))?,
    };
    let object = match value {
        Value::Object(_) => value,
        Value::Null => json!({}),
        Value::Array(mut items) if items.len() == 1 && items[0].is_object() => items.remove(0),
        Value::Array(items) if items.is_empty() => json!({}),
        _ => {
            return Err(invalid_params(
                "params must be one object, e.g. {\"address\": \"0x…\"}",
            ))
        }
    };
    serde_json::from_value(object).map_err(|e| invalid_params(format!("invalid params: {e}")))
}

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
    let bytes = hex::decode(digits).map_err(|e| TxError::Malformed(format!("bad hex: {e}")))?;
    SignedTx::decode_canonical(&bytes).map_err(|e| TxError::Malformed(e.to_string()))
}

fn entry(error: &TxError) -> ErrorEntry {
    ErrorEntry {
        code: tx_error_code(error),
        message: error.to_string(),
        reason: error.reason().to_string(),
    }
}

fn info(ctx: &ApiContext) -> Value {
    let node = &ctx.node;
    let summary = node.summary();
    let params = &summary.params;
    let limits = &summary.mempool_limits;
    let last = &summary.last_accepted;
    json!({
        "vm": "transfervm",
        "version": env!("CARGO_PKG_VERSION"),
        "rpcchainvm": RPCCHAINVM_PROTOCOL,
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
    })
}

fn status_label(status: BlockStatus) -> &'static str {
    match status {
        BlockStatus::Processing => "processing",
        BlockStatus::Rejected => "rejected",
        BlockStatus::Accepted => "accepted",
    }
}

fn get_block(ctx: &ApiContext, p: BlockParams) -> RpcResult<BlockView> {
    let node = &ctx.node;
    let id = match (p.id, p.height) {
        (Some(_), Some(_)) => return Err(invalid_params("give either id or height, not both")),
        (Some(id), None) => id,
        (None, Some(height)) => node
            .block_id_at_height(height)
            .map_err(|e| internal(e.to_string()))?
            .ok_or_else(|| not_found(format!("no accepted block at height {height}")))?,
        (None, None) => node.last_accepted().id,
    };
    let (block, status) = node
        .block_with_status(&id)
        .map_err(|e| internal(e.to_string()))?
        .ok_or_else(|| not_found(format!("block {id} not found")))?;
    Ok(BlockView::new(&block, status_label(status)))
}

/// Builds the module with every method registered.
pub fn module(ctx: ApiContext) -> RpcModule<ApiContext> {
    let mut m = RpcModule::new(ctx);
    let reg = "method names are unique";
    m.register_method("transfervm.info", |_, ctx, _| -> RpcResult<Value> {
        Ok(info(ctx))
    })
    .expect(reg);
    m.register_method(
        "transfervm.account",
        |raw, ctx, _| -> RpcResult<AccountResult> {
            let p: AddressParams = params(&raw)?;
            let info = ctx.node.account(&p.address);
            Ok(AccountResult {
                address: p.address,
                balance: info.accepted.balance,
                nonce: info.accepted.nonce,
                pending_nonce: info.pending_nonce,
            })
        },
    )
    .expect(reg);
    m.register_method(
        "transfervm.balance",
        |raw, ctx, _| -> RpcResult<BalanceResult> {
            let p: AddressParams = params(&raw)?;
            Ok(BalanceResult {
                address: p.address,
                balance: ctx.node.account(&p.address).accepted.balance,
            })
        },
    )
    .expect(reg);
    m.register_blocking_method(
        "transfervm.submitTx",
        |raw, ctx, _| -> RpcResult<SubmitResult> {
            let p: TxParams = params(&raw)?;
            let tx = decode_tx_hex(&p.tx).map_err(|e| tx_error(&e))?;
            match ctx.node.submit(vec![Ok(tx)], Source::Api).remove(0) {
                Ok(tx_id) => Ok(SubmitResult { tx_id }),
                Err(e) => Err(tx_error(&e)),
            }
        },
    )
    .expect(reg);
    m.register_blocking_method(
        "transfervm.submitTxs",
        |raw, ctx, _| -> RpcResult<Vec<SubmitEntry>> {
            let p: TxsParams = params(&raw)?;
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
                .submit(txs, Source::Api)
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
        },
    )
    .expect(reg);
    m.register_blocking_method(
        "transfervm.simulateTx",
        |raw, ctx, _| -> RpcResult<SimulateResult> {
            let p: TxParams = params(&raw)?;
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
        },
    )
    .expect(reg);
    m.register_method(
        "transfervm.txStatus",
        |raw, ctx, _| -> RpcResult<TxStatusResult> {
            let p: TxIdParams = params(&raw)?;
            Ok(TxStatusResult {
                tx_id: p.tx_id,
                status: ctx.node.tx_status(&p.tx_id),
            })
        },
    )
    .expect(reg);
    m.register_method(
        "transfervm.getTx",
        |raw, ctx, _| -> RpcResult<GetTxResult> {
            let p: TxIdParams = params(&raw)?;
            let (tx, status) = ctx
                .node
                .tx(&p.tx_id)
                .ok_or_else(|| not_found(format!("transaction {} not found", p.tx_id)))?;
            Ok(GetTxResult {
                tx_id: p.tx_id,
                tx: TxView::from(&tx),
                bytes: format!("0x{}", hex::encode(tx.to_bytes())),
                status,
            })
        },
    )
    .expect(reg);
    m.register_method(
        "transfervm.getBlock",
        |raw, ctx, _| -> RpcResult<BlockView> { get_block(ctx, params(&raw)?) },
    )
    .expect(reg);
    m.register_method(
        "transfervm.lastAccepted",
        |raw, ctx, _| -> RpcResult<LastAcceptedResult> {
            let _: serde_json::Map<String, Value> = params(&raw)?;
            let last = ctx.node.last_accepted();
            Ok(LastAcceptedResult {
                id: last.id,
                height: last.height,
                timestamp: last.timestamp_ms,
            })
        },
    )
    .expect(reg);
    m
}
