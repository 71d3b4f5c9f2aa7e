//! `transfervm genesis` and `transfervm spam`: a load generator that measures what a wallet
//! would see — accepted transfers per second and submit-to-accepted latency.
//!
//! Load-test keys are derived from public seeds (SHA-256("transfervm load key <i>")), so a
//! genesis written by `genesis` and the `spam` run agree without key files. Never fund them on
//! a real chain.

use super::rpc_client::{into_result, RpcClient};
use super::wallet::{self, ChainFacts};
use crate::chain::genesis::{Allocation, ChainParams, Genesis};
use crate::chain::tx::address_of;
use crate::chain::{Id, SignedTx};
use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Load-test key `index`.
pub fn load_key(index: u32) -> SigningKey {
    let seed: [u8; 32] = Sha256::digest(format!("transfervm load key {index}")).into();
    SigningKey::from_bytes(&seed)
}

/// A genesis funding `accounts` load-test keys (and the dev keys, so a dev chain started on it
/// still has them).
pub fn load_genesis(accounts: u32, balance: u64, network_id: u32) -> Genesis {
    let mut allocations: Vec<Allocation> = (0..crate::keys::DEV_KEY_COUNT)
        .map(|i| Allocation {
            address: address_of(&crate::keys::dev_key(i)),
            balance,
            label: Some(format!(
                "dev key {i} - public test key, never for real funds"
            )),
        })
        .collect();
    allocations.extend((0..accounts).map(|i| Allocation {
        address: address_of(&load_key(i)),
        balance,
        label: None,
    }));
    Genesis {
        network_id,
        timestamp_ms: 0,
        params: ChainParams::default(),
        allocations,
        comment: Some(format!(
            "LOAD-TEST GENESIS: {accounts} accounts with public seeds SHA-256(\"transfervm load key <i>\") \
             plus the public dev keys. Never use for real funds."
        )),
    }
}

/// Options of a load run.
#[derive(Clone, Debug)]
pub struct SpamOptions {
    /// JSON-RPC URL.
    pub rpc: String,
    /// Load-test accounts to send from (must be funded by the genesis).
    pub accounts: u32,
    /// Transfers to send.
    pub txs: u64,
    /// Target submissions per second; 0 = as fast as possible.
    pub rate: u64,
    /// Transfers per request: 1 uses `submitTx`, more uses `submitTxs`.
    pub batch: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Give up waiting for acceptance after this long.
    pub timeout: Duration,
    /// Print a live progress line to stderr.
    pub progress: bool,
}

/// What a load run measured.
#[derive(Clone, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpamReport {
    /// Transfers signed and sent.
    pub sent: u64,
    /// Admitted by the node.
    pub admitted: u64,
    /// Refused, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Seen in accepted blocks.
    pub accepted: u64,
    /// Seconds from the first submission to the last acceptance.
    pub seconds: f64,
    /// accepted / seconds.
    pub accepted_per_sec: f64,
    /// Submissions per second achieved.
    pub submitted_per_sec: f64,
    /// Submit-to-accepted latency, median, ms.
    pub latency_p50_ms: f64,
    /// Submit-to-accepted latency, 99th percentile, ms.
    pub latency_p99_ms: f64,
}

async fn batch_call(
    rpc: &RpcClient,
    calls: Vec<(String, Value)>,
) -> Result<Vec<Result<Value, String>>, String> {
    let body: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(id, (method, params))| json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
        .collect();
    let answer = rpc
        .post(&Value::Array(body))
        .await
        .map_err(|e| e.to_string())?;
    let mut answers = answer
        .as_array()
        .cloned()
        .ok_or_else(|| format!("not a batch answer: {answer}"))?;
    answers.sort_by_key(|a| a.get("id").and_then(Value::as_u64).unwrap_or(u64::MAX));
    Ok(answers
        .into_iter()
        .map(|a| into_result(a).map_err(|e| e.to_string()))
        .collect())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Signs every transfer up front so signing is not part of what is measured.
async fn presign(
    rpc: &RpcClient,
    facts: &ChainFacts,
    options: &SpamOptions,
) -> Result<Vec<SignedTx>, String> {
    let keys: Vec<SigningKey> = (0..options.accounts).map(load_key).collect();
    let mut nonces = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        let calls = chunk
            .iter()
            .map(|k| {
                (
                    "transfervm.account".to_string(),
                    json!({"address": address_of(k)}),
                )
            })
            .collect();
        for answer in batch_call(rpc, calls).await? {
            let account = answer?;
            let balance: u64 = account["balance"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            if balance == 0 {
                return Err(format!(
                    "load account {} has no funds: start the chain on a genesis from `transfervm genesis --accounts {}`",
                    account["address"], options.accounts
                ));
            }
            nonces.push(account["pendingNonce"].as_u64().ok_or("bad pendingNonce")?);
        }
    }
    let expires_at = wallet::now_secs() + 3_000;
    let mut txs = Vec::with_capacity(options.txs as usize);
    for i in 0..options.txs {
        let sender = (i % keys.len() as u64) as usize;
        let recipient = address_of(&keys[(sender + 1) % keys.len()]);
        let nonce = nonces[sender];
        nonces[sender] += 1;
        txs.push(wallet::sign_transfer(
            &keys[sender],
            facts,
            recipient,
            1,
            facts.min_fee,
            nonce,
            expires_at,
        ));
    }
    Ok(txs)
}

/// Runs a load test and reports what it measured.
pub async fn run(options: SpamOptions) -> Result<SpamReport, String> {
    if options.accounts == 0 || options.batch == 0 || options.concurrency == 0 {
        return Err("accounts, batch and concurrency must be at least 1".into());
    }
    let rpc = RpcClient::new(&options.rpc).map_err(|e| e.to_string())?;
    let facts = wallet::chain_facts(&rpc).await.map_err(|e| e.to_string())?;
    if options.progress {
        eprintln!(
            "signing {} transfers from {} accounts…",
            options.txs, options.accounts
        );
    }
    let txs = presign(&rpc, &facts, &options).await?;
    let start_height = rpc
        .call("transfervm.lastAccepted", json!({}))
        .await
        .map_err(|e| e.to_string())?["height"]
        .as_u64()
        .unwrap_or(0);

    let submitted_at: Arc<Mutex<HashMap<Id, Instant>>> =
        Arc::new(Mutex::new(HashMap::with_capacity(txs.len())));
    let rejected: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let admitted = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let chunks: Vec<Vec<SignedTx>> = txs
        .chunks(options.batch)
        .map(<[SignedTx]>::to_vec)
        .collect();
    let chunks = Arc::new(Mutex::new(chunks.into_iter()));
    let started = Instant::now();
    let interval = (options.rate > 0)
        .then(|| Duration::from_secs_f64(options.batch as f64 / options.rate as f64));
    let next_slot = Arc::new(Mutex::new(started));

    let mut workers = Vec::new();
    for _ in 0..options.concurrency {
        let (rpc, chunks, submitted_at, rejected, admitted, sent, next_slot) = (
            rpc.clone(),
            chunks.clone(),
            submitted_at.clone(),
            rejected.clone(),
            admitted.clone(),
            sent.clone(),
            next_slot.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let Some(chunk) = chunks.lock().map(|mut c| c.next()).unwrap_or(None) else {
                    return;
                };
                if let Some(interval) = interval {
                    let slot = {
                        let mut next = next_slot.lock().expect("slot lock");
                        let slot = *next;
                        *next += interval;
                        slot
                    };
                    tokio::time::sleep_until(slot.into()).await;
                }
                let now = Instant::now();
                {
                    let mut at = submitted_at.lock().expect("lock");
                    for tx in &chunk {
                        at.insert(tx.id(), now);
                    }
                }
                sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                let hexes: Vec<String> = chunk
                    .iter()
                    .map(|tx| format!("0x{}", hex::encode(tx.to_bytes())))
                    .collect();
                let outcome: Vec<Result<(), String>> = if chunk.len() == 1 {
                    vec![rpc
                        .call("transfervm.submitTx", json!({"tx": hexes[0]}))
                        .await
                        .map(|_| ())
                        .map_err(|e| reason_of(&e))]
                } else {
                    match rpc
                        .call("transfervm.submitTxs", json!({"txs": hexes}))
                        .await
                    {
                        Ok(Value::Array(entries)) => entries
                            .iter()
                            .map(|e| match e.get("error") {
                                None => Ok(()),
                                Some(err) => {
                                    Err(err["reason"].as_str().unwrap_or("unknown").to_string())
                                }
                            })
                            .collect(),
                        Ok(other) => vec![Err(format!("bad answer {other}")); chunk.len()],
                        Err(e) => vec![Err(reason_of(&e)); chunk.len()],
                    }
                };
                for (tx, verdict) in chunk.iter().zip(outcome) {
                    match verdict {
                        Ok(()) => {
                            admitted.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(reason) => {
                            submitted_at.lock().expect("lock").remove(&tx.id());
                            *rejected.lock().expect("lock").entry(reason).or_default() += 1;
                        }
                    }
                }
            }
        }));
    }

    // Follow accepted blocks until every admitted transfer is seen or the timeout passes.
    let mut latencies: Vec<f64> = Vec::new();
    let mut height = start_height;
    let mut last_accept = started;
    let deadline = Instant::now() + options.timeout;
    loop {
        let workers_done = workers.iter().all(|w| w.is_finished());
        let last = rpc
            .call("transfervm.lastAccepted", json!({}))
            .await
            .map_err(|e| e.to_string())?;
        let tip = last["height"].as_u64().unwrap_or(height);
        while height < tip {
            let upto = tip.min(height + 200);
            let calls = (height + 1..=upto)
                .map(|h| ("transfervm.getBlock".to_string(), json!({"height": h})))
                .collect();
            for block in batch_call(&rpc, calls).await? {
                let block = block?;
                let now = Instant::now();
                let mut at = submitted_at.lock().expect("lock");
                for id in block["txIds"].as_array().into_iter().flatten() {
                    if let Some(sent) = id
                        .as_str()
                        .and_then(|s| s.parse::<Id>().ok())
                        .and_then(|id| at.remove(&id))
                    {
                        latencies.push(now.duration_since(sent).as_secs_f64() * 1000.0);
                        last_accept = now;
                    }
                }
            }
            height = upto;
        }
        let done = admitted.load(Ordering::Relaxed);
        if options.progress {
            eprint!(
                "\r\x1b[2Ksent {}  admitted {}  accepted {}  rejected {}  height {}  {:.1}s",
                sent.load(Ordering::Relaxed),
                done,
                latencies.len(),
                rejected
                    .lock()
                    .map(|r| r.values().sum::<u64>())
                    .unwrap_or(0),
                height,
                started.elapsed().as_secs_f64()
            );
            let _ = std::io::stderr().flush();
        }
        if workers_done && latencies.len() as u64 >= done {
            break;
        }
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    if options.progress {
        eprintln!();
    }
    for w in workers {
        let _ = w.await;
    }
    latencies.sort_by(f64::total_cmp);
    let seconds = last_accept.duration_since(started).as_secs_f64().max(1e-9);
    let sent = sent.load(Ordering::Relaxed);
    let rejected = rejected.lock().map(|r| r.clone()).unwrap_or_default();
    Ok(SpamReport {
        sent,
        admitted: admitted.load(Ordering::Relaxed),
        accepted: latencies.len() as u64,
        seconds,
        accepted_per_sec: latencies.len() as f64 / seconds,
        submitted_per_sec: sent as f64 / seconds,
        latency_p50_ms: percentile(&latencies, 0.50),
        latency_p99_ms: percentile(&latencies, 0.99),
        rejected,
    })
}

fn reason_of(error: &super::rpc_client::RpcError) -> String {
    match error {
        super::rpc_client::RpcError::Node {
            reason: Some(r), ..
        } => r.clone(),
        super::rpc_client::RpcError::Node { code, .. } => format!("code {code}"),
        super::rpc_client::RpcError::Transport(_) => "transport".into(),
    }
}
