//! A full disk under `transfervm dev`: the data directory on a tmpfs of a few MiB, made and
//! removed by the test, filled until the node cannot store its next block.
//!
//! While the disk is full: submissions are refused with STORE_UNAVAILABLE (1013) naming the
//! cause, `info` reports it, and nothing the node reported accepted is lost. Once space is freed
//! the chain goes on by itself (no restart, no repair): the block that could not be stored is
//! accepted, new transfers are admitted and accepted. A `kill -9` and a restart on the same
//! directory afterwards find every accepted transfer where it was, and balances that match them
//! exactly.
//!
//! Mounting needs root (CAP_SYS_ADMIN), as in CI; without it the test says so and does nothing.

#[path = "common/dev_process.rs"]
mod dev_process;
#[path = "common/http_client.rs"]
mod http_client;

use dev_process::{balances, hex_of, start, supply_and_burned, DevProcess};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use transfervm::chain::tx::address_of;
use transfervm::chain::{Address, Id, SignedTx};
use transfervm::cli::rpc_client::RpcError;
use transfervm::cli::wallet::{self, ChainFacts};
use transfervm::keys::dev_key;

/// The filesystem's size: room for the genesis and some blocks, small enough to fill at once.
const TMPFS_SIZE: &str = "12m";

/// Transfers sent per `submitTxs` round while filling: a block's batch is then a few tens of
/// KiB, so the journal outgrows the few KiB the filler leaves within a round or two.
const ROUND: u64 = 200;

/// A tmpfs mounted on a fresh directory, unmounted (and the directory removed) on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` when this process may not mount (not root): the caller skips.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("tempdir");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status();
        match status {
            Ok(s) if s.success() => Some(Tmpfs { dir }),
            _ => None,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a child still holding files (a failed test) cannot keep it mounted.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Writes zeros to `path` until the filesystem is full; returns the bytes written.
fn fill(path: &Path) -> u64 {
    use std::io::Write;
    let mut file = std::fs::File::create(path).expect("filler");
    let chunk = vec![0u8; 64 << 10];
    let mut written = 0u64;
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    let _ = file.flush();
    written
}

/// What the test sent, and what the node said of it.
#[derive(Default)]
struct Sent {
    /// Admitted transfers: sender index, amount, fee, recipient.
    admitted: BTreeMap<Id, (u32, u64, u64, Address)>,
    /// Next nonce per sender.
    nonces: BTreeMap<u32, u64>,
}

const SENDERS: u32 = 3;

fn recipient(n: u64) -> Address {
    Address([0xd0 | (n % 4) as u8; 32])
}

/// Signs `count` transfers per sender at their next nonces.
fn sign_round(facts: &ChainFacts, sent: &Sent, count: u64) -> Vec<(u32, SignedTx)> {
    let mut txs = Vec::new();
    for sender in 0..SENDERS {
        let next = sent.nonces.get(&sender).copied().unwrap_or(0);
        for i in 0..count {
            let nonce = next + i;
            let tx = wallet::sign_transfer(
                &dev_key(sender),
                facts,
                recipient(nonce + u64::from(sender)),
                1 + nonce % 97,
                facts.min_fee,
                nonce,
                wallet::now_secs() + 600,
            );
            txs.push((sender, tx));
        }
    }
    txs
}

/// Submits a round; records the admitted ones and returns the refusals' error objects.
async fn submit_round(node: &DevProcess, sent: &mut Sent, txs: &[(u32, SignedTx)]) -> Vec<Value> {
    let hexes: Vec<String> = txs.iter().map(|(_, tx)| hex_of(tx)).collect();
    let results = node
        .rpc
        .call("transfervm.submitTxs", json!({ "txs": hexes }))
        .await
        .expect("submitTxs answers");
    let mut refusals = Vec::new();
    for ((sender, tx), result) in txs.iter().zip(results.as_array().expect("array")) {
        if result.get("txId").is_some() {
            let body = &tx.body;
            sent.admitted
                .insert(tx.id(), (*sender, body.amount, body.fee, body.to));
            sent.nonces.insert(*sender, body.nonce + 1);
        } else {
            refusals.push(result["error"].clone());
        }
    }
    refusals
}

/// Statuses of every admitted transfer.
async fn statuses(node: &DevProcess, sent: &Sent) -> BTreeMap<Id, Value> {
    let calls: Vec<(&str, Value)> = sent
        .admitted
        .keys()
        .map(|id| ("transfervm.txStatus", json!({ "txId": id })))
        .collect();
    let answers = dev_process::batch(&node.rpc, &calls).await;
    sent.admitted
        .keys()
        .copied()
        .zip(answers.into_iter().map(|a| a["result"].clone()))
        .collect()
}

/// Waits until every admitted transfer is accepted.
async fn wait_all_accepted(node: &DevProcess, sent: &Sent, what: &str) -> BTreeMap<Id, Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen = statuses(node, sent).await;
        if seen.values().all(|s| s["status"] == "accepted") {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not all admitted transfers were accepted within 60 s: {:?}",
            seen.values()
                .filter(|s| s["status"] != "accepted")
                .take(3)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The dev chain's `/ext/health`: its HTTP status and its store check.
async fn health(node: &DevProcess) -> (u16, Value) {
    let base = node.url.split("/ext/").next().expect("a URL with /ext/");
    let answer = http_client::Client::new()
        .send("GET", &format!("{base}/ext/health"), None, Vec::new())
        .await;
    let body: Value = serde_json::from_str(&answer.body).expect("health is JSON");
    (answer.status, body["checks"]["store"].clone())
}

/// Balances, burned fees and nonces are exactly what the accepted transfers make them.
async fn check_exact(node: &DevProcess, sent: &Sent, genesis: &BTreeMap<Address, u64>) {
    let mut expected = genesis.clone();
    let mut fees = 0u64;
    for (sender, amount, fee, to) in sent.admitted.values() {
        let from = address_of(&dev_key(*sender));
        *expected.get_mut(&from).expect("sender in genesis map") -= amount + fee;
        *expected.get_mut(to).expect("recipient in genesis map") += amount;
        fees += fee;
    }
    let addresses: Vec<Address> = expected.keys().copied().collect();
    let actual = balances(&node.rpc, &addresses).await;
    for (address, got) in addresses.iter().zip(actual) {
        assert_eq!(got, expected[address], "balance of {address}");
    }
    // The chain starts with nothing burned (checked at the start).
    let (_, burned) = supply_and_burned(&node.rpc).await;
    assert_eq!(burned, fees, "burned fees are the accepted transfers' fees");
    for sender in 0..SENDERS {
        let account = node
            .rpc
            .call(
                "transfervm.account",
                json!({ "address": address_of(&dev_key(sender)) }),
            )
            .await
            .expect("account");
        assert_eq!(
            account["nonce"].as_u64(),
            Some(sent.nonces.get(&sender).copied().unwrap_or(0)),
            "nonce of sender {sender}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_clearly_loses_nothing_and_resumes_once_freed() {
    let Some(fs) = Tmpfs::mount(TMPFS_SIZE) else {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (needs root); the full-disk test did not run"
        );
        return;
    };
    let data_dir: PathBuf = fs.path().join("data");
    let log_dir = tempfile::tempdir().expect("log dir");
    let log = log_dir.path().join("dev.log");
    let node = start(&data_dir, &log).await;
    let facts = wallet::chain_facts(&node.rpc).await.expect("facts");
    let mut sent = Sent::default();

    // The accounts the test watches, at genesis.
    let mut watched: Vec<Address> = (0..SENDERS).map(|s| address_of(&dev_key(s))).collect();
    watched.extend((0..4).map(recipient));
    let genesis: BTreeMap<Address, u64> = watched
        .iter()
        .copied()
        .zip(balances(&node.rpc, &watched).await)
        .collect();
    let (_, burned_at_start) = supply_and_burned(&node.rpc).await;
    assert_eq!(burned_at_start, 0, "a fresh chain has burned nothing");

    // Some blocks while there is room.
    let round = sign_round(&facts, &sent, 5);
    assert!(submit_round(&node, &mut sent, &round).await.is_empty());
    wait_all_accepted(&node, &sent, "before the disk fills").await;

    // Fill the disk, then send until the node cannot store a block.
    let filler = fs.path().join("filler");
    let filled = fill(&filler);
    let started = Instant::now();
    let refusal = loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the node never reported the full disk ({} admitted)",
            sent.admitted.len()
        );
        let round = sign_round(&facts, &sent, ROUND / u64::from(SENDERS));
        let refusals = submit_round(&node, &mut sent, &round).await;
        if let Some(first) = refusals.first() {
            break first.clone();
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(refusal["code"], 1013, "{refusal}");
    assert_eq!(refusal["reason"], "store_unavailable", "{refusal}");
    let message = refusal["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("No space left on device"),
        "the refusal names the cause: {message}"
    );
    // A single submitTx is refused the same way, and info shows the cause.
    let one = sign_round(&facts, &sent, 1).remove(0).1;
    match node
        .rpc
        .call("transfervm.submitTx", json!({ "tx": hex_of(&one) }))
        .await
    {
        Err(RpcError::Node { code, .. }) => assert_eq!(code, 1013),
        other => panic!("submitTx on a full disk: {other:?}"),
    }
    let info = node
        .rpc
        .call("transfervm.info", json!({}))
        .await
        .expect("info");
    assert!(
        info["storeError"]
            .as_str()
            .is_some_and(|e| e.contains("No space left on device")),
        "info reports the store error: {}",
        info["storeError"]
    );
    let (status, store) = health(&node).await;
    assert_eq!(status, 503, "unhealthy while its store takes no writes");
    assert!(
        store.as_str().is_some_and(|e| e.contains("No space left")),
        "{store}"
    );
    // What the node reported accepted stays accepted; the rest is processing, none refused.
    let full = statuses(&node, &sent).await;
    let accepted_while_full: Vec<Id> = full
        .iter()
        .filter(|(_, s)| s["status"] == "accepted")
        .map(|(id, _)| *id)
        .collect();
    assert!(
        full.values()
            .all(|s| s["status"] == "accepted" || s["status"] == "processing"),
        "every admitted transfer is accepted or waits in the block that could not be stored"
    );
    let waiting = full.len() - accepted_while_full.len();
    assert!(waiting > 0, "some transfer waits for the disk");

    // Free the space: the chain goes on by itself.
    std::fs::remove_file(&filler).expect("free the space");
    let freed = Instant::now();
    let seen = wait_all_accepted(&node, &sent, "after the space was freed").await;
    let resumed_after = freed.elapsed();
    for id in &accepted_while_full {
        assert_eq!(
            seen[id], full[id],
            "{id} was accepted before the disk filled and stays where it was"
        );
    }
    let info = node
        .rpc
        .call("transfervm.info", json!({}))
        .await
        .expect("info");
    assert!(info["storeError"].is_null(), "{}", info["storeError"]);
    assert_eq!(health(&node).await, (200, json!("ok")), "healthy again");
    let round = sign_round(&facts, &sent, 3);
    assert!(submit_round(&node, &mut sent, &round).await.is_empty());
    let seen = wait_all_accepted(&node, &sent, "new transfers after the space was freed").await;
    check_exact(&node, &sent, &genesis).await;

    // Nothing accepted is lost across a kill and restart on the same disk.
    node.kill9().await;
    let node = start(&data_dir, &log).await;
    let after = statuses(&node, &sent).await;
    assert_eq!(
        after, seen,
        "every accepted transfer survives the restart in place"
    );
    check_exact(&node, &sent, &genesis).await;
    println!(
        "full disk ({TMPFS_SIZE} tmpfs, filler {filled} bytes): {} accepted before the refusal, \
         {waiting} waiting in the block that could not be stored; all accepted \
         {resumed_after:?} after the space was freed; {} transfers in all, every one accepted, \
         in place and with exact balances after a kill -9 and restart",
        accepted_while_full.len(),
        sent.admitted.len()
    );
    drop(node);
    drop(fs);
}
