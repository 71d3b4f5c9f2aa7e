//! Crash recovery: `transfervm dev` under load, killed with SIGKILL at seeded-random points
//! (while serving, between blocks, inside block commits, during start-up and genesis), then
//! restarted on the same data directory, again and again.
//!
//! After every restart: the store opens (opening cross-checks the state digest against the
//! last accepted block), the accepted height never went backwards, every transaction the node
//! reported accepted before any kill is still accepted in the same block at the same height,
//! each sender's nonce covers its accepted transfers, and the balances of every account the
//! load touches plus the burned fees equal the genesis supply.
//!
//! `TRANSFERVM_CRASH_SEED=<n>` replays a seed; `TRANSFERVM_CRASH_KILLS=<n>` changes the count.

#[path = "common/dev_process.rs"]
mod dev_process;

use dev_process::{balances, batch, hex_of, start, supply_and_burned, DevProcess};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use transfervm::chain::tx::address_of;
use transfervm::chain::{Address, Id, SignedTx};
use transfervm::cli::rpc_client::RpcClient;
use transfervm::cli::wallet::{self, ChainFacts};
use transfervm::keys::dev_key;

/// splitmix64: a small seeded generator, so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const SENDERS: u32 = 5;

fn recipients() -> Vec<Address> {
    (1..=3u8).map(|n| Address([0xc0 | n; 32])).collect()
}

/// Where an accepted transaction was reported to be.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Accepted {
    block_id: String,
    height: u64,
    sender: u32,
    nonce: u64,
}

/// What the load saw the node report, across all runs.
#[derive(Clone, Default)]
struct Ledger {
    /// Every transaction the node reported accepted, and where.
    accepted: BTreeMap<Id, Accepted>,
    /// Submitted (admitted) and not yet seen accepted.
    pending: BTreeMap<Id, (u32, u64)>,
    /// Highest accepted height the node reported.
    max_height: u64,
    submitted: u64,
}

/// Sends transfers from every sender in rounds and records what the node reports, until told
/// to stop or the node goes away.
async fn load(
    rpc: RpcClient,
    facts: ChainFacts,
    mut nonces: Vec<u64>,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let mut rng = Rng(seed);
    let recipients = recipients();
    while !stop.load(Ordering::Relaxed) {
        // A round of submissions: a few consecutive nonces per sender, in one submitTxs each.
        for sender in 0..SENDERS {
            let key = dev_key(sender);
            let count = 1 + rng.below(8);
            let txs: Vec<SignedTx> = (0..count)
                .map(|i| {
                    wallet::sign_transfer(
                        &key,
                        &facts,
                        recipients[rng.below(recipients.len() as u64) as usize],
                        1 + rng.below(1_000),
                        facts.min_fee,
                        nonces[sender as usize] + i,
                        wallet::now_secs() + 600,
                    )
                })
                .collect();
            let hexes: Vec<String> = txs.iter().map(hex_of).collect();
            let Ok(results) = rpc
                .call("transfervm.submitTxs", json!({ "txs": hexes }))
                .await
            else {
                return;
            };
            let results = results.as_array().cloned().unwrap_or_default();
            let mut ledger = ledger.lock().unwrap();
            for (tx, result) in txs.iter().zip(&results) {
                if result.get("txId").is_none() {
                    break;
                }
                ledger.pending.insert(tx.id(), (sender, tx.body.nonce));
                ledger.submitted += 1;
                nonces[sender as usize] += 1;
            }
        }
        // Ask about everything not yet seen accepted, and the tip.
        let ids: Vec<Id> = ledger.lock().unwrap().pending.keys().copied().collect();
        let mut body: Vec<Value> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                json!({"jsonrpc": "2.0", "id": i, "method": "transfervm.txStatus", "params": {"txId": id}})
            })
            .take(900)
            .collect();
        body.push(json!({"jsonrpc": "2.0", "id": "tip", "method": "transfervm.lastAccepted"}));
        let Ok(answers) = rpc.post(&Value::Array(body)).await else {
            return;
        };
        let Some(answers) = answers.as_array() else {
            return;
        };
        let mut ledger = ledger.lock().unwrap();
        for answer in answers {
            let result = &answer["result"];
            if answer["id"] == "tip" {
                let height = result["height"].as_u64().expect("tip height");
                assert!(height >= ledger.max_height, "the tip went backwards");
                ledger.max_height = height;
                continue;
            }
            let Some(index) = answer["id"].as_u64() else {
                continue;
            };
            let id = ids[index as usize];
            if result["status"] == "accepted" {
                let (sender, nonce) = ledger.pending.remove(&id).expect("pending");
                let height = result["height"].as_u64().expect("height");
                ledger.max_height = ledger.max_height.max(height);
                ledger.accepted.insert(
                    id,
                    Accepted {
                        block_id: result["blockId"].as_str().expect("blockId").to_string(),
                        height,
                        sender,
                        nonce,
                    },
                );
            }
        }
    }
}

/// Everything that must hold after a restart.
async fn check_recovered(node: &DevProcess, ledger: &Ledger, facts: &ChainFacts) -> u64 {
    let rpc = &node.rpc;
    let tip = rpc
        .call("transfervm.lastAccepted", json!({}))
        .await
        .expect("lastAccepted");
    let height = tip["height"].as_u64().expect("height");
    assert!(
        height >= ledger.max_height,
        "accepted height went backwards: {height} < {}",
        ledger.max_height
    );
    // Every transaction reported accepted is still accepted, in the same block.
    let calls: Vec<(&str, Value)> = ledger
        .accepted
        .keys()
        .map(|id| ("transfervm.txStatus", json!({ "txId": id })))
        .collect();
    let answers = batch(rpc, &calls).await;
    for ((id, seen), answer) in ledger.accepted.iter().zip(&answers) {
        let status = &answer["result"];
        assert_eq!(status["status"], "accepted", "{id} lost: {status}");
        assert_eq!(status["blockId"], seen.block_id.as_str(), "{id} moved");
        assert_eq!(status["height"], seen.height, "{id} moved");
    }
    // Nonces cover every accepted transfer (none lost, none applied twice: a nonce is used once).
    let senders: Vec<Address> = (0..SENDERS).map(|i| address_of(&dev_key(i))).collect();
    for (i, sender) in senders.iter().enumerate() {
        let account = rpc
            .call("transfervm.account", json!({ "address": sender }))
            .await
            .expect("account");
        let nonce = account["nonce"].as_u64().expect("nonce");
        let highest = ledger
            .accepted
            .values()
            .filter(|a| a.sender == i as u32)
            .map(|a| a.nonce + 1)
            .max()
            .unwrap_or(0);
        assert!(nonce >= highest, "sender {i}: nonce {nonce} < {highest}");
    }
    // The supply invariant over every account the load touches.
    let mut everyone = senders;
    everyone.extend(recipients());
    let total: u64 = balances(rpc, &everyone).await.iter().sum();
    let (supply, burned) = supply_and_burned(rpc).await;
    assert_eq!(total + burned, supply, "balances + burned = supply");
    assert_eq!(burned % facts.min_fee, 0);
    height
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_nothing() {
    let seed = std::env::var("TRANSFERVM_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let kills: u32 = std::env::var("TRANSFERVM_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    eprintln!("crash recovery: seed {seed} (TRANSFERVM_CRASH_SEED={seed} replays the kill points)");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let log = dir.path().join("dev.log");
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let started = Instant::now();
    let mut startup_kills = 0;
    let mut load_kills = 0;
    let mut heights = Vec::new();
    let mut facts = None;

    for round in 0..kills {
        // One in five kills lands during start-up (the first one while genesis is written).
        if round == 0 || rng.below(5) == 0 {
            let mut child = dev_process::spawn(&data, &log);
            tokio::time::sleep(Duration::from_millis(rng.below(40))).await;
            child.start_kill().expect("SIGKILL");
            child.wait().await.expect("wait");
            startup_kills += 1;
            continue;
        }
        let node = start(&data, &log).await;
        if facts.is_none() {
            facts = Some(wallet::chain_facts(&node.rpc).await.expect("facts"));
        }
        let chain_facts = facts.as_ref().expect("facts");
        let seen = ledger.lock().unwrap().clone();
        let height = check_recovered(&node, &seen, chain_facts).await;
        heights.push(height);
        // The mempool is memory only: after a restart, senders continue from accepted nonces.
        let mut nonces = Vec::new();
        for i in 0..SENDERS {
            let account = node
                .rpc
                .call(
                    "transfervm.account",
                    json!({ "address": address_of(&dev_key(i)) }),
                )
                .await
                .unwrap();
            nonces.push(account["nonce"].as_u64().unwrap());
        }
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(load(
            node.rpc.clone(),
            chain_facts.clone(),
            nonces,
            ledger.clone(),
            stop.clone(),
            rng.next(),
        ));
        tokio::time::sleep(Duration::from_millis(50 + rng.below(450))).await;
        node.kill9().await;
        load_kills += 1;
        stop.store(true, Ordering::Relaxed);
        task.await.expect("the load task does not panic");
    }
    // A last restart, checked, then a transfer still goes through.
    let node = start(&data, &log).await;
    let facts = facts.expect("at least one run served");
    let ledger = Arc::try_unwrap(ledger).ok().unwrap().into_inner().unwrap();
    let final_height = check_recovered(&node, &ledger, &facts).await;
    assert!(heights.windows(2).all(|w| w[0] <= w[1]), "{heights:?}");
    let nonce = node
        .rpc
        .call(
            "transfervm.account",
            json!({ "address": address_of(&dev_key(0)) }),
        )
        .await
        .unwrap()["nonce"]
        .as_u64()
        .unwrap();
    let tx = wallet::sign_transfer(
        &dev_key(0),
        &facts,
        recipients()[0],
        1,
        facts.min_fee,
        nonce,
        wallet::now_secs() + 600,
    );
    wallet::submit(&node.rpc, &tx).await.expect("submit");
    let status = wallet::wait_final(&node.rpc, &tx.id(), Duration::from_secs(20), |_| {})
        .await
        .expect("final");
    assert_eq!(status["status"], "accepted");
    node.kill9().await;
    assert!(
        ledger.accepted.len() >= 100,
        "the load got too little accepted to prove anything: {}",
        ledger.accepted.len()
    );
    eprintln!(
        "crash recovery: {} kills ({load_kills} under load, {startup_kills} during start-up), \
         {} transfers admitted, {} reported accepted before a kill and all still accepted \
         after every restart; final height {final_height}; {:.1} s",
        load_kills + startup_kills,
        ledger.submitted,
        ledger.accepted.len(),
        started.elapsed().as_secs_f64()
    );
}
