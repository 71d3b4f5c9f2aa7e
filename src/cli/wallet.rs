//! Wallet steps shared by `transfer`, `tx sign` and `spam`: learn the chain, sign, submit,
//! and follow a transaction to a final status.

use super::rpc_client::{RpcClient, RpcError};
use crate::chain::ids::amount_string::parse_amount;
use crate::chain::tx::{address_of, TX_VERSION};
use crate::chain::{Address, Id, SignedTx, TxBody};
use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a wallet needs to know about the chain.
#[derive(Clone, Debug)]
pub struct ChainFacts {
    /// Network ID.
    pub network_id: u32,
    /// Chain ID.
    pub chain_id: Id,
    /// Minimum fee.
    pub min_fee: u64,
}

fn field<'a>(value: &'a Value, name: &str) -> Result<&'a Value, RpcError> {
    value
        .get(name)
        .ok_or_else(|| RpcError::Transport(format!("the node's answer lacks {name}: {value}")))
}

/// Reads network, chain and fee from `transfervm.info`.
pub async fn chain_facts(rpc: &RpcClient) -> Result<ChainFacts, RpcError> {
    let info = rpc.call("transfervm.info", json!({})).await?;
    let bad = |what: &str| RpcError::Transport(format!("bad {what} in transfervm.info"));
    Ok(ChainFacts {
        network_id: field(&info, "networkId")?
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad("networkId"))?,
        chain_id: field(&info, "chainId")?
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("chainId"))?,
        min_fee: field(&info, "minFee")?
            .as_str()
            .and_then(|s| parse_amount(s).ok())
            .ok_or_else(|| bad("minFee"))?,
    })
}

/// The nonce the next transfer from `address` should carry.
pub async fn pending_nonce(rpc: &RpcClient, address: &Address) -> Result<u64, RpcError> {
    let account = rpc
        .call("transfervm.account", json!({"address": address}))
        .await?;
    field(&account, "pendingNonce")?
        .as_u64()
        .ok_or_else(|| RpcError::Transport("bad pendingNonce".into()))
}

/// Unix seconds now.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Signs a transfer.
#[allow(clippy::too_many_arguments)]
pub fn sign_transfer(
    key: &SigningKey,
    facts: &ChainFacts,
    to: Address,
    amount: u64,
    fee: u64,
    nonce: u64,
    expires_at: u64,
) -> SignedTx {
    TxBody {
        version: TX_VERSION,
        network_id: facts.network_id,
        chain_id: facts.chain_id,
        from: address_of(key),
        to,
        amount,
        fee,
        nonce,
        expires_at,
    }
    .sign(key)
}

/// Submits one transaction and returns its ID.
pub async fn submit(rpc: &RpcClient, tx: &SignedTx) -> Result<Id, RpcError> {
    let result = rpc
        .call(
            "transfervm.submitTx",
            json!({"tx": format!("0x{}", hex::encode(tx.to_bytes()))}),
        )
        .await?;
    field(&result, "txId")?
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| RpcError::Transport("bad txId".into()))
}

/// Polls `txStatus` until the status is final or `timeout` passes, calling `progress` on each
/// change. Returns the last status object.
pub async fn wait_final(
    rpc: &RpcClient,
    tx_id: &Id,
    timeout: Duration,
    mut progress: impl FnMut(&Value),
) -> Result<Value, RpcError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = String::new();
    loop {
        let status = rpc
            .call("transfervm.txStatus", json!({"txId": tx_id}))
            .await?;
        let label = status
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if label != last {
            progress(&status);
            last = label.clone();
        }
        if matches!(label.as_str(), "accepted" | "rejected" | "dropped")
            || tokio::time::Instant::now() >= deadline
        {
            return Ok(status);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
