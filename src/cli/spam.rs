//! `transfervm genesis` and `transfervm spam`: a load generator that measures what a wallet
//! would see — accepted transfers per second and submit-to-accepted latency.
//!
//! Load-test keys are derived from public seeds (SHA-256("transfervm load key <i>")), so a
//! genesis written by `genesis` and the `spam` run agree without key files. Never fund them on
//! a real chain.

use super::rpc_client::{into_result, RpcClient, RpcConnection, RpcError};
use super::wallet::{self, ChainFacts};
use crate::chain::genesis::{Allocation, ChainParams, Genesis};
use crate::chain::tx::address_of;
use crate::chain::{Id, SignedTx};
use ed25519_dalek::SigningKey;
use hyper::body::Bytes;
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
    /// The chain's process, when it runs on this machine: its CPU seconds over the timed part
    /// are reported beside the client's, since both share the cores.
    pub chain_pid: Option<u32>,
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
    /// CPU seconds this load generator used over the timed part (signing and encoding happen
    /// before it): what the chain did not get of the shared cores.
    pub client_cpu_seconds: Option<f64>,
    /// CPU seconds the chain's process used over the timed part (with `chain_pid`).
    pub chain_cpu_seconds: Option<f64>,
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

/// One request of a load run, encoded before the timed part: the transfers' IDs (to match
/// them in accepted blocks) and the JSON-RPC body.
struct PreparedRequest {
    /// The IDs of the transfers it carries, in order.
    ids: Vec<Id>,
    /// The request body, ready to send.
    body: Bytes,
}

/// Encodes `txs` as `submitTx` (one per request) or `submitTxs` bodies of `batch` transfers.
fn prepare_requests(txs: &[SignedTx], batch: usize) -> Vec<PreparedRequest> {
    txs.chunks(batch)
        .enumerate()
        .map(|(n, chunk)| {
            let hexes: Vec<String> = chunk
                .iter()
                .map(|tx| format!("0x{}", hex::encode(tx.to_bytes())))
                .collect();
            let (method, params) = match hexes.as_slice() {
                [one] => ("transfervm.submitTx", json!({ "tx": one })),
                _ => ("transfervm.submitTxs", json!({ "txs": hexes })),
            };
            let body = json!({"jsonrpc": "2.0", "id": n, "method": method, "params": params});
            PreparedRequest {
                ids: chunk.iter().map(SignedTx::id).collect(),
                body: Bytes::from(body.to_string()),
            }
        })
        .collect()
}

/// The verdicts of a `submitTx` (`batch` 1) or `submitTxs` answer, one per transfer sent:
/// `Ok` when admitted, else the refusal's reason.
fn verdicts(answer: Result<Value, RpcError>, batch: usize) -> Vec<Result<(), String>> {
    let answer = match answer.and_then(into_result) {
        Ok(answer) => answer,
        Err(e) => return vec![Err(reason_of(&e)); batch],
    };
    if batch == 1 {
        return vec![Ok(())];
    }
    match answer {
        Value::Array(entries) if entries.len() == batch => entries
            .iter()
            .map(|e| match e.get("error") {
                None => Ok(()),
                Some(err) => Err(err["reason"].as_str().unwrap_or("unknown").to_string()),
            })
            .collect(),
        other => vec![Err(format!("bad answer {other}")); batch],
    }
}

/// CPU time used so far by the process `pid` (this one when `None`), user plus system, in
/// seconds: fields 14 and 15 of `/proc/<pid>/stat`, counted in the kernel's user ticks. `None`
/// where there is no such file (not Linux, or the process is gone).
pub fn process_cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    parse_cpu_seconds(&stat)
}

/// Linux's `USER_HZ`, the unit of `/proc/<pid>/stat`'s times: 100 on every architecture Rust
/// targets (the kernel converts from its internal tick rate).
const USER_HZ: f64 = 100.0;

/// Utime plus stime of a `/proc/<pid>/stat` line, in seconds. The command name (field 2) may
/// hold spaces and parentheses, so the fields are counted after its last `)`.
fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // After the name come state (field 3), …, utime (14) and stime (15).
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

/// CPU seconds of the client and of the chain at one instant, to difference over a timed part.
#[derive(Clone, Copy)]
struct CpuMark {
    client: Option<f64>,
    chain: Option<f64>,
}

impl CpuMark {
    fn now(chain_pid: Option<u32>) -> Self {
        CpuMark {
            client: process_cpu_seconds(None),
            chain: chain_pid.and_then(|pid| process_cpu_seconds(Some(pid))),
        }
    }

    /// (client, chain) CPU seconds from `self` to now, to the tick (1/100 s).
    fn since(self, chain_pid: Option<u32>) -> (Option<f64>, Option<f64>) {
        let now = CpuMark::now(chain_pid);
        let used = |a: Option<f64>, b: Option<f64>| Some(((b? - a?) * USER_HZ).round() / USER_HZ);
        (used(self.client, now.client), used(self.chain, now.chain))
    }
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
    let requests = prepare_requests(&txs, options.batch);
    drop(txs);
    let start_height = rpc
        .call("transfervm.lastAccepted", json!({}))
        .await
        .map_err(|e| e.to_string())?["height"]
        .as_u64()
        .unwrap_or(0);

    let submitted_at: Arc<Mutex<HashMap<Id, Instant>>> =
        Arc::new(Mutex::new(HashMap::with_capacity(options.txs as usize)));
    let rejected: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let admitted = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(Mutex::new(requests.into_iter()));
    let cpu_start = CpuMark::now(options.chain_pid);
    let started = Instant::now();
    let interval = (options.rate > 0)
        .then(|| Duration::from_secs_f64(options.batch as f64 / options.rate as f64));
    let next_slot = Arc::new(Mutex::new(started));

    let mut workers = Vec::new();
    for _ in 0..options.concurrency {
        let (rpc, requests, submitted_at, rejected, admitted, sent, next_slot) = (
            rpc.clone(),
            requests.clone(),
            submitted_at.clone(),
            rejected.clone(),
            admitted.clone(),
            sent.clone(),
            next_slot.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut connection = RpcConnection::new(&rpc);
            loop {
                let Some(request) = requests.lock().map(|mut r| r.next()).unwrap_or(None) else {
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
                    for id in &request.ids {
                        at.insert(*id, now);
                    }
                }
                sent.fetch_add(request.ids.len() as u64, Ordering::Relaxed);
                let answer = connection.post_bytes(request.body).await;
                for (id, verdict) in request.ids.iter().zip(verdicts(answer, request.ids.len())) {
                    match verdict {
                        Ok(()) => {
                            admitted.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(reason) => {
                            submitted_at.lock().expect("lock").remove(id);
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
    let (client_cpu_seconds, chain_cpu_seconds) = cpu_start.since(options.chain_pid);
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
        client_cpu_seconds,
        chain_cpu_seconds,
    })
}

/// Options of a no-op load run: the same request again and again, to measure what the server
/// answers per second when a request does nothing (the ceiling of one-transfer requests).
#[derive(Clone, Debug)]
pub struct NoopOptions {
    /// JSON-RPC URL.
    pub rpc: String,
    /// The method called, with `{}` as params (`transfervm.` is added to a bare name).
    pub method: String,
    /// Requests to send.
    pub requests: u64,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// The chain's process, for its CPU seconds beside the client's.
    pub chain_pid: Option<u32>,
}

/// What a no-op load run measured.
#[derive(Clone, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoopReport {
    /// The method called.
    pub method: String,
    /// Requests answered with a result.
    pub answered: u64,
    /// Requests that failed (transport error, HTTP error or a JSON-RPC error).
    pub failed: u64,
    /// Seconds from the first request to the last answer.
    pub seconds: f64,
    /// answered / seconds.
    pub requests_per_sec: f64,
    /// Request-to-answer latency, median, ms.
    pub latency_p50_ms: f64,
    /// Request-to-answer latency, 99th percentile, ms.
    pub latency_p99_ms: f64,
    /// CPU seconds this client used over the timed part.
    pub client_cpu_seconds: Option<f64>,
    /// CPU seconds the chain's process used over the timed part (with `chain_pid`).
    pub chain_cpu_seconds: Option<f64>,
}

/// Sends `requests` calls of one method as fast as `concurrency` clients can, and reports the
/// rate at which they were answered.
pub async fn run_noop(options: NoopOptions) -> Result<NoopReport, String> {
    if options.concurrency == 0 {
        return Err("concurrency must be at least 1".into());
    }
    let method = match options.method.contains('.') {
        true => options.method.clone(),
        false => format!("transfervm.{}", options.method),
    };
    let rpc = RpcClient::new(&options.rpc).map_err(|e| e.to_string())?;
    // One call first, so a wrong method or URL fails at once rather than N times.
    rpc.call(&method, json!({}))
        .await
        .map_err(|e| format!("{method}: {e}"))?;
    let body =
        Bytes::from(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": {}}).to_string());
    let remaining = Arc::new(AtomicU64::new(options.requests));
    let cpu_start = CpuMark::now(options.chain_pid);
    let started = Instant::now();
    let workers: Vec<_> = (0..options.concurrency)
        .map(|_| {
            let (rpc, body, remaining) = (rpc.clone(), body.clone(), remaining.clone());
            tokio::spawn(async move {
                let mut connection = RpcConnection::new(&rpc);
                let mut latencies = Vec::new();
                let mut failed = 0u64;
                while remaining
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_ok()
                {
                    let sent = Instant::now();
                    match connection
                        .post_bytes(body.clone())
                        .await
                        .and_then(into_result)
                    {
                        Ok(_) => latencies.push(sent.elapsed().as_secs_f64() * 1000.0),
                        Err(_) => failed += 1,
                    }
                }
                (latencies, failed)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(options.requests as usize);
    let mut failed = 0;
    for worker in workers {
        let (l, f) = worker.await.map_err(|e| e.to_string())?;
        latencies.extend(l);
        failed += f;
    }
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    let (client_cpu_seconds, chain_cpu_seconds) = cpu_start.since(options.chain_pid);
    latencies.sort_by(f64::total_cmp);
    Ok(NoopReport {
        method,
        answered: latencies.len() as u64,
        failed,
        seconds,
        requests_per_sec: latencies.len() as f64 / seconds,
        latency_p50_ms: percentile(&latencies, 0.50),
        latency_p99_ms: percentile(&latencies, 0.99),
        client_cpu_seconds,
        chain_cpu_seconds,
    })
}

fn reason_of(error: &RpcError) -> String {
    match error {
        RpcError::Node {
            reason: Some(r), ..
        } => r.clone(),
        RpcError::Node { code, .. } => format!("code {code}"),
        RpcError::Transport(_) => "transport".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_seconds_are_read_after_the_command_name() {
        // A name with a space and a parenthesis, as `comm` may be.
        let stat = "4242 (tokio (x) y) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 75 0 0 20 0 9 0";
        assert_eq!(parse_cpu_seconds(stat), Some(3.25));
        assert_eq!(parse_cpu_seconds("4242 (short) S 1 2"), None);
        assert_eq!(parse_cpu_seconds("no name at all"), None);
        assert!(process_cpu_seconds(None).is_some_and(|s| s >= 0.0));
    }

    #[test]
    fn requests_are_encoded_before_the_timed_part_with_their_ids() {
        let txs: Vec<SignedTx> = (0..5)
            .map(|n| crate::test_utils::Transfer::from_dev(0).nonce(n).sign())
            .collect();
        let requests = prepare_requests(&txs, 2);
        assert_eq!(
            requests.iter().map(|r| r.ids.len()).collect::<Vec<_>>(),
            [2, 2, 1]
        );
        let first: Value = serde_json::from_slice(&requests[0].body).unwrap();
        assert_eq!(first["method"], "transfervm.submitTxs");
        assert_eq!(first["params"]["txs"].as_array().unwrap().len(), 2);
        assert_eq!(requests[0].ids, [txs[0].id(), txs[1].id()]);
        let last: Value = serde_json::from_slice(&requests[2].body).unwrap();
        assert_eq!(last["method"], "transfervm.submitTx");
        assert_eq!(
            last["params"]["tx"],
            format!("0x{}", hex::encode(txs[4].to_bytes()))
        );
    }

    #[test]
    fn verdicts_are_one_per_transfer_sent() {
        let ok = |result: Value| Ok(json!({"jsonrpc": "2.0", "id": 1, "result": result}));
        assert_eq!(verdicts(ok(json!({"txId": "x"})), 1), [Ok(())]);
        let refused = json!({"jsonrpc": "2.0", "id": 1,
            "error": {"code": -32010, "message": "m", "data": {"reason": "NONCE_TOO_LOW"}}});
        assert_eq!(verdicts(Ok(refused), 1), [Err("NONCE_TOO_LOW".into())]);
        let mixed = json!([{"txId": "x"}, {"error": {"reason": "MEMPOOL_FULL"}}]);
        assert_eq!(
            verdicts(ok(mixed), 2),
            [Ok(()), Err("MEMPOOL_FULL".to_string())]
        );
        // An answer of the wrong length fails every transfer rather than guessing.
        assert!(verdicts(ok(json!([{"txId": "x"}])), 2)
            .iter()
            .all(Result::is_err));
        let lost = Err(RpcError::Transport("gone".into()));
        assert_eq!(
            verdicts(lost, 2),
            [Err("transport".into()), Err("transport".into())]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_noop_run_counts_answers_and_the_chains_cpu() {
        let dir = tempfile::tempdir().unwrap();
        let chain = crate::test_utils::start_dev_chain(dir.path()).await;
        let report = run_noop(NoopOptions {
            rpc: chain.rpc_url(),
            method: "lastAccepted".into(),
            requests: 200,
            concurrency: 4,
            chain_pid: Some(std::process::id()),
        })
        .await
        .unwrap();
        assert_eq!(report.method, "transfervm.lastAccepted");
        assert_eq!((report.answered, report.failed), (200, 0));
        assert!(report.requests_per_sec > 0.0);
        assert!(report.client_cpu_seconds.is_some() && report.chain_cpu_seconds.is_some());
        let wrong = run_noop(NoopOptions {
            method: "noSuchMethod".into(),
            ..NoopOptions {
                rpc: chain.rpc_url(),
                method: String::new(),
                requests: 1,
                concurrency: 1,
                chain_pid: None,
            }
        })
        .await;
        assert!(wrong.unwrap_err().contains("transfervm.noSuchMethod"));
        chain.stop().await;
    }
}
