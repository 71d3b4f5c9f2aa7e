//! Crash recovery: `transfervm dev` under load, killed with SIGKILL at seeded-random points of
//! every phase (store creation, genesis write, start-up on an existing store, block commit,
//! serving), then restarted on the same data directory, again and again.
//!
//! Which phase a kill hit is read afterwards from the killed process's own log: the dev chain
//! writes a debug marker as each phase begins (`transfervm::dev::PHASE_LOG_TARGET`), and the
//! last marker before death names the phase. Start-up kills are aimed: the test waits for the
//! marker of the phase it wants (seen in the log as it is written) and kills after a random
//! part of that phase's duration, measured on a probe run beforehand; some kills under load wait
//! for a block commit to begin.
//!
//! After every restart: the store opens (opening cross-checks the state digest against the
//! last accepted block), the accepted height never went backwards, every transaction the node
//! reported accepted before any kill is still accepted in the same block at the same height;
//! then every transfer the load ever sent is resolved (accepted, or unknown: the mempool is
//! memory only), and the accounts the test controls are checked exactly: each sender's nonce is
//! the number of its accepted transfers (nonces 0, 1, … each once), every balance is its genesis
//! balance plus its accepted incoming amounts minus its accepted outgoing amounts and fees, and
//! the burned total is the sum of the accepted transfers' fees. A transfer applied twice, or
//! lost, or a fee burned twice, fails one of these.
//!
//! `TRANSFERVM_CRASH_SEED=<n>` replays a seed; `TRANSFERVM_CRASH_KILLS=<n>` changes the count.

#[path = "common/dev_process.rs"]
mod dev_process;

use dev_process::{balances, batch, hex_of, start, supply_and_burned, DevProcess};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::process::Child;
use transfervm::chain::genesis::{Genesis, LOCAL_GENESIS_JSON};
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

/// The accounts the test controls: the senders, then the recipients.
fn controlled() -> Vec<Address> {
    let mut all: Vec<Address> = (0..SENDERS).map(|i| address_of(&dev_key(i))).collect();
    all.extend(recipients());
    all
}

/// A transfer the load sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sent {
    sender: u32,
    nonce: u64,
    to: Address,
    amount: u64,
    fee: u64,
}

/// Where an accepted transaction was reported to be.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Accepted {
    block_id: String,
    height: u64,
    tx: Sent,
}

/// What the load saw the node report, across all runs.
#[derive(Clone, Default)]
struct Ledger {
    /// Every transaction the node reported accepted, and where.
    accepted: BTreeMap<Id, Accepted>,
    /// Sent and not yet seen accepted (recorded before the call, so a transfer admitted just
    /// before a kill, its answer lost, is still followed).
    sent: BTreeMap<Id, Sent>,
    /// Highest accepted height the node reported.
    max_height: u64,
    /// Submissions the node answered admitted.
    admitted: u64,
    /// Sent transfers found neither accepted nor known after a restart (refused, or admitted
    /// and lost with the memory-only mempool at a kill).
    never_accepted: u64,
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
                        facts.min_fee + rng.below(3),
                        nonces[sender as usize] + i,
                        wallet::now_secs() + 600,
                    )
                })
                .collect();
            {
                let mut ledger = ledger.lock().unwrap();
                for tx in &txs {
                    let b = &tx.body;
                    ledger.sent.insert(
                        tx.id(),
                        Sent {
                            sender,
                            nonce: b.nonce,
                            to: b.to,
                            amount: b.amount,
                            fee: b.fee,
                        },
                    );
                }
            }
            let hexes: Vec<String> = txs.iter().map(hex_of).collect();
            let Ok(results) = rpc
                .call("transfervm.submitTxs", json!({ "txs": hexes }))
                .await
            else {
                return;
            };
            let results = results.as_array().cloned().unwrap_or_default();
            let mut ledger = ledger.lock().unwrap();
            for result in &results {
                if result.get("txId").is_none() {
                    break;
                }
                ledger.admitted += 1;
                nonces[sender as usize] += 1;
            }
        }
        // Ask about everything not yet seen accepted, and the tip.
        let ids: Vec<Id> = ledger.lock().unwrap().sent.keys().copied().collect();
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
            if result["status"] == "accepted" {
                ledger.record_accepted(ids[index as usize], result);
            }
        }
    }
}

impl Ledger {
    /// Moves a sent transfer to the accepted ones, where `status` (a `txStatus` answer) says.
    fn record_accepted(&mut self, id: Id, status: &Value) {
        let tx = self.sent.remove(&id).expect("sent");
        let height = status["height"].as_u64().expect("height");
        self.max_height = self.max_height.max(height);
        let block_id = status["blockId"].as_str().expect("blockId").to_string();
        self.accepted.insert(
            id,
            Accepted {
                block_id,
                height,
                tx,
            },
        );
    }

    /// After a restart: every sent transfer not yet seen accepted is either accepted (the kill
    /// came before the load saw it) or unknown for good (refused, or lost with the memory-only
    /// mempool; nobody sends it again). Nothing can be pending or processing in a process that
    /// has only just started. Returns how many it found accepted.
    async fn resolve(&mut self, rpc: &RpcClient) -> usize {
        let ids: Vec<Id> = self.sent.keys().copied().collect();
        let calls: Vec<(&str, Value)> = ids
            .iter()
            .map(|id| ("transfervm.txStatus", json!({ "txId": id })))
            .collect();
        let answers = batch(rpc, &calls).await;
        let mut found = 0;
        for (id, answer) in ids.iter().zip(&answers) {
            let status = &answer["result"];
            match status["status"].as_str() {
                Some("accepted") => {
                    self.record_accepted(*id, status);
                    found += 1;
                }
                Some("unknown") => {
                    self.sent.remove(id);
                    self.never_accepted += 1;
                }
                _ => panic!("{id} after a restart: {status}"),
            }
        }
        found
    }
}

/// The genesis balances of the accounts the test controls.
fn genesis_balances() -> BTreeMap<Address, u64> {
    let genesis = Genesis::from_json(LOCAL_GENESIS_JSON.as_bytes()).expect("local genesis");
    controlled()
        .into_iter()
        .map(|a| {
            let balance = genesis
                .allocations
                .iter()
                .filter(|alloc| alloc.address == a)
                .map(|alloc| alloc.balance)
                .sum();
            (a, balance)
        })
        .collect()
}

/// Everything that must hold after a restart; resolves the ledger's sent transfers first.
/// Returns the accepted height.
async fn check_recovered(node: &DevProcess, ledger: &mut Ledger) -> u64 {
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
    ledger.resolve(rpc).await;
    // The ledger now holds every accepted transfer the load ever sent: the accounts the test
    // controls follow from it exactly.
    let genesis = genesis_balances();
    let mut expected = genesis.clone();
    let mut burned_expected = 0u64;
    let mut nonces: Vec<Vec<u64>> = vec![Vec::new(); SENDERS as usize];
    for accepted in ledger.accepted.values() {
        let tx = accepted.tx;
        let from = address_of(&dev_key(tx.sender));
        let sender = expected.get_mut(&from).expect("a sender");
        *sender = sender
            .checked_sub(tx.amount + tx.fee)
            .expect("an accepted transfer was paid for");
        *expected.get_mut(&tx.to).expect("a recipient") += tx.amount;
        burned_expected += tx.fee;
        nonces[tx.sender as usize].push(tx.nonce);
    }
    let everyone = controlled();
    for (i, sender) in everyone.iter().take(SENDERS as usize).enumerate() {
        let account = rpc
            .call("transfervm.account", json!({ "address": sender }))
            .await
            .expect("account");
        let nonce = account["nonce"].as_u64().expect("nonce");
        let used = &mut nonces[i];
        used.sort_unstable();
        assert!(
            used.iter().copied().eq(0..used.len() as u64),
            "sender {i}: accepted nonces {used:?} are not 0, 1, … each once"
        );
        assert_eq!(
            nonce,
            used.len() as u64,
            "sender {i}: nonce {nonce}, {} accepted transfers",
            used.len()
        );
    }
    let actual = balances(rpc, &everyone).await;
    for (address, balance) in everyone.iter().zip(&actual) {
        assert_eq!(
            *balance, expected[address],
            "{address}: balance {balance}, genesis {} + accepted in − out − fees = {}",
            genesis[address], expected[address]
        );
    }
    let (supply, burned) = supply_and_burned(rpc).await;
    assert_eq!(
        burned, burned_expected,
        "burned = the accepted transfers' fees"
    );
    assert_eq!(
        actual.iter().sum::<u64>() + burned,
        genesis.values().sum::<u64>(),
        "the controlled accounts hold their genesis total less the fees burned"
    );
    assert!(burned <= supply);
    height
}

/// The phase a kill hit, from the last phase marker the killed process logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// No marker yet: the process was starting (runtime, arguments).
    ProcessStart,
    /// Creating the store (its directory built under a temporary name, then renamed).
    StoreCreation,
    /// Opening a new store's chain: the genesis state written.
    GenesisWrite,
    /// Start-up on an existing store: opening it, loading the chain, binding.
    Reopen,
    /// Between the start of an accept and its end (the store write and the in-memory commit).
    BlockCommit,
    /// Serving, between blocks or building one.
    ServingIdle,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::ProcessStart => "process start",
            Phase::StoreCreation => "store creation",
            Phase::GenesisWrite => "genesis write",
            Phase::Reopen => "start-up on an existing store",
            Phase::BlockCommit => "block commit",
            Phase::ServingIdle => "serving/idle",
        }
    }

    /// The phase a process was in when it died, from what it logged (`run_log`, its lines
    /// only); `genesis_written`: whether an earlier run opened the chain (so opening now loads
    /// it rather than writing genesis).
    fn at_death(run_log: &str, genesis_written: bool) -> Phase {
        let mut phase = Phase::ProcessStart;
        for line in run_log.lines() {
            let marker = match line.split_once(PHASE_MARKER) {
                Some((_, marker)) => marker,
                // The line the build loop logs after each accept (info, always on).
                None if line.contains("accepted block") => "accepted block",
                None => continue,
            };
            phase = if marker.starts_with("opening the store") {
                if marker.contains("exists=true") {
                    Phase::Reopen
                } else {
                    Phase::StoreCreation
                }
            } else if marker.starts_with("creating the store") {
                Phase::StoreCreation
            } else if marker.starts_with("opening the chain") {
                if genesis_written {
                    Phase::Reopen
                } else {
                    Phase::GenesisWrite
                }
            } else if marker.starts_with("chain opened") {
                Phase::Reopen
            } else if marker.starts_with("committing block") {
                Phase::BlockCommit
            } else if marker.starts_with("serving") || marker.starts_with("accepted block") {
                Phase::ServingIdle
            } else {
                continue;
            };
        }
        phase
    }
}

/// What precedes a phase marker's text in a log line: the target and its colon, as
/// tracing's default format writes them.
const PHASE_MARKER: &str = "transfervm::dev::phase: ";

fn log_len(log: &Path) -> u64 {
    std::fs::metadata(log).map_or(0, |m| m.len())
}

/// What `log` holds after `offset`.
fn log_since(log: &Path, offset: u64) -> String {
    let bytes = std::fs::read(log).unwrap_or_default();
    String::from_utf8_lossy(&bytes[(offset as usize).min(bytes.len())..]).into_owned()
}

/// Waits (polling the file closely, on a blocking thread) until the log holds, after
/// `offset`, a line with `marker`, then waits `delay` more, or less if the log shows
/// `until` first (the next phase's marker: a kill aimed at a phase lands in it, or at the
/// latest as the next one begins, however the phase's length differs from the probe's); the
/// time the marker was seen. Panics after 30 s: the process would have failed.
async fn after_marker(
    log: &Path,
    offset: u64,
    marker: &'static str,
    delay: Duration,
    until: Option<&'static str>,
) -> Instant {
    let log = log.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if log_since(&log, offset).contains(marker) {
                let seen = Instant::now();
                while seen.elapsed() < delay {
                    if until.is_some_and(|next| log_since(&log, offset).contains(next)) {
                        break;
                    }
                    let left = delay.saturating_sub(seen.elapsed());
                    std::thread::sleep(Duration::from_micros(100).min(left));
                }
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "no {marker:?} in the log: {}",
                log_since(&log, offset)
            );
            std::thread::sleep(Duration::from_micros(100));
        }
    })
    .await
    .expect("marker watch")
}

async fn kill9(child: &mut Child) {
    child.start_kill().expect("SIGKILL");
    child.wait().await.expect("wait");
}

/// How long each start-up phase takes, measured on probe runs in their own directories (the
/// shorter of two: the first start of a freshly built binary is slower), so the aimed kills
/// land at random points inside them.
struct Durations {
    store_creation: Duration,
    genesis_write: Duration,
}

async fn probe(dir: &Path) -> Durations {
    let (a, b) = (
        probe_once(&dir.join("probe-1")).await,
        probe_once(&dir.join("probe-2")).await,
    );
    Durations {
        store_creation: a.store_creation.min(b.store_creation),
        genesis_write: a.genesis_write.min(b.genesis_write),
    }
}

async fn probe_once(dir: &Path) -> Durations {
    let data = dir.join("data");
    let log = dir.join("dev.log");
    std::fs::create_dir_all(&data).unwrap();
    let mut child = dev_process::spawn(&data, &log);
    let created = after_marker(&log, 0, "creating the store", Duration::ZERO, None).await;
    let opening = after_marker(&log, 0, "opening the chain", Duration::ZERO, None).await;
    let opened = after_marker(&log, 0, "chain opened", Duration::ZERO, None).await;
    kill9(&mut child).await;
    Durations {
        store_creation: opening - created,
        genesis_write: opened - opening,
    }
}

/// A uniformly random duration in `[0, max]`, at microsecond resolution.
fn up_to(rng: &mut Rng, max: Duration) -> Duration {
    Duration::from_micros(rng.below(max.as_micros() as u64 + 1))
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
    assert!(kills >= 2, "TRANSFERVM_CRASH_KILLS={kills}: at least 2");
    assert!(PHASE_MARKER.starts_with(transfervm::dev::PHASE_LOG_TARGET));
    assert!(
        dev_process::LOG_FILTER.contains(&format!("{}=debug", transfervm::dev::PHASE_LOG_TARGET))
    );
    eprintln!("crash recovery: seed {seed} (TRANSFERVM_CRASH_SEED={seed} replays the kill points)");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let durations = probe(dir.path()).await;
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let log = dir.path().join("dev.log");
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let started = Instant::now();
    let mut phases: BTreeMap<Phase, u32> = BTreeMap::new();
    let mut heights = Vec::new();
    let mut facts = None;
    let mut genesis_written = false;
    let (mut creation_tries, mut genesis_tries) = (0, 0);
    // The last start-up's length (spawn to serving), for start-up kills on an existing store.
    let mut last_startup = Duration::from_millis(50);
    let mut found_after_restart = 0;

    for _ in 0..kills {
        let offset = log_len(&log);
        let store_made = data.join("chain.fjall").exists();
        // Aimed start-up kills: the store's creation until one completes (3 tries), then the
        // genesis write likewise, then one kill in five during start-up on the existing store.
        let startup_kill = if !store_made && creation_tries < 3 {
            creation_tries += 1;
            Some((
                "creating the store",
                up_to(&mut rng, durations.store_creation),
                "opening the chain",
            ))
        } else if !genesis_written && genesis_tries < 3 {
            genesis_tries += 1;
            Some((
                "opening the chain",
                up_to(&mut rng, durations.genesis_write),
                "chain opened",
            ))
        } else if rng.below(5) == 0 {
            Some((
                "opening the store",
                up_to(&mut rng, last_startup),
                "serving",
            ))
        } else {
            None
        };
        if let Some((marker, delay, next)) = startup_kill {
            let mut child = dev_process::spawn(&data, &log);
            after_marker(&log, offset, marker, delay, Some(next)).await;
            kill9(&mut child).await;
        } else {
            let spawned = Instant::now();
            let node = start(&data, &log).await;
            last_startup = spawned.elapsed();
            let served_from = log_len(&log);
            if facts.is_none() {
                facts = Some(wallet::chain_facts(&node.rpc).await.expect("facts"));
            }
            let chain_facts = facts.as_ref().expect("facts");
            let mut seen = ledger.lock().unwrap().clone();
            let height = check_recovered(&node, &mut seen).await;
            found_after_restart += seen.accepted.len() - ledger.lock().unwrap().accepted.len();
            *ledger.lock().unwrap() = seen;
            heights.push(height);
            // The mempool is memory only: after a restart, senders continue from accepted
            // nonces.
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
            // One kill in four waits for a block commit to begin, then kills within a
            // millisecond; the others at a random time under load.
            if rng.below(4) == 0 {
                tokio::time::sleep(Duration::from_millis(rng.below(200))).await;
                let delay = up_to(&mut rng, Duration::from_millis(1));
                after_marker(
                    &log,
                    log_len(&log).max(served_from),
                    "committing block",
                    delay,
                    Some("accepted block"),
                )
                .await;
            } else {
                tokio::time::sleep(Duration::from_millis(50 + rng.below(450))).await;
            }
            node.kill9().await;
            stop.store(true, Ordering::Relaxed);
            task.await.expect("the load task does not panic");
        }
        let run_log = log_since(&log, offset);
        *phases
            .entry(Phase::at_death(&run_log, genesis_written))
            .or_default() += 1;
        genesis_written |= run_log.contains("chain opened");
    }
    // A last restart, checked, then a transfer still goes through.
    let node = start(&data, &log).await;
    let facts = facts.expect("at least one run served");
    let mut ledger = Arc::try_unwrap(ledger).ok().unwrap().into_inner().unwrap();
    let before = ledger.accepted.len();
    let final_height = check_recovered(&node, &mut ledger).await;
    found_after_restart += ledger.accepted.len() - before;
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
    let per_phase: Vec<String> = phases
        .iter()
        .map(|(phase, n)| format!("{} {n}", phase.name()))
        .collect();
    eprintln!(
        "crash recovery: {kills} kills by phase hit: {} (probe: store creation {:?}, genesis \
         write {:?}); {} transfers admitted, {} accepted and checked exactly after every \
         restart (balances, nonces, burned fees; {found_after_restart} of them accepted \
         before a kill but first seen after the restart), {} sent never accepted (refused, or \
         lost with the memory-only mempool); final height {final_height}; {:.1} s",
        per_phase.join(", "),
        durations.store_creation,
        durations.genesis_write,
        ledger.admitted,
        ledger.accepted.len(),
        ledger.never_accepted,
        started.elapsed().as_secs_f64()
    );
    // The first kills are aimed at the store's creation and the genesis write.
    assert!(
        phases.contains_key(&Phase::StoreCreation) || phases.contains_key(&Phase::GenesisWrite),
        "no kill landed in the store's creation or the genesis write: {per_phase:?}"
    );
    assert!(phases.contains_key(&Phase::ServingIdle) || phases.contains_key(&Phase::BlockCommit));
}
