//! Account history end to end: `transfervm dev` as a process, transfers sent with the CLI
//! wallet, read back with `transfervm history` (table and `--json`), and a chain started
//! without the index that gets it, complete, when started again with it.

#[path = "common/dev_process.rs"]
mod dev_process;

use dev_process::DevProcess;
use serde_json::Value;
use std::process::Output;
use transfervm::chain::tx::address_of;
use transfervm::chain::Address;
use transfervm::keys::dev_key;
use transfervm::test_utils::unfunded_key;

/// Runs the CLI with `args` against `node`.
async fn cli(node: &DevProcess, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_transfervm"))
        .args(args)
        .arg("--rpc")
        .arg(&node.url)
        .env_remove("TRANSFERVM_RPC")
        .output()
        .await
        .expect("the CLI runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Sends `amount` from dev key 0 to `to` with `transfervm transfer`, which waits until it is
/// accepted; returns the transfer's ID.
async fn send(node: &DevProcess, to: &Address, amount: u64) -> String {
    let (to, amount) = (to.to_string(), amount.to_string());
    let output = cli(
        node,
        &[
            "transfer",
            "--dev-key",
            "0",
            "--to",
            &to,
            "--amount",
            &amount,
        ],
    )
    .await;
    assert!(
        output.status.success(),
        "transfer failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let status: Value = serde_json::from_str(stdout(&output).trim()).expect("a status line");
    assert_eq!(status["status"], "accepted", "{status}");
    status["txId"].as_str().expect("txId").to_string()
}

/// `transfervm history ADDRESS --json` and more flags, as JSON.
async fn history_json(node: &DevProcess, address: &Address, flags: &[&str]) -> Value {
    let address = address.to_string();
    let mut args = vec!["history", &address, "--json"];
    args.extend_from_slice(flags);
    let output = cli(node, &args).await;
    assert!(output.status.success(), "{output:?}");
    serde_json::from_str(&stdout(&output)).expect("--json prints JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_sent_with_the_cli_reads_back_with_transfervm_history() {
    let dir = tempfile::tempdir().unwrap();
    let node = dev_process::start(&dir.path().join("data"), &dir.path().join("dev.log")).await;
    let sender = address_of(&dev_key(0));
    let recipient = address_of(&unfunded_key(7));
    let first = send(&node, &recipient, 4_321).await;
    let second = send(&node, &recipient, 99).await;

    let received = history_json(&node, &recipient, &[]).await;
    let transfers = received["transfers"].as_array().unwrap();
    assert_eq!(transfers.len(), 2, "{received}");
    assert_eq!(transfers[0]["txId"], second.as_str(), "newest first");
    assert_eq!(transfers[1]["txId"], first.as_str());
    assert_eq!(transfers[1]["direction"], "in");
    assert_eq!(transfers[1]["amount"], "4321");
    assert_eq!(transfers[1]["counterparty"], sender.to_string());
    assert_eq!(received["nextCursor"], Value::Null);

    // The table, a page of one: the newest transfer, and the cursor of the next page.
    let output = cli(&node, &["history", &sender.to_string(), "--limit", "1"]).await;
    let table = stdout(&output);
    assert!(output.status.success(), "{output:?}");
    assert!(
        table.contains("HEIGHT") && table.contains("COUNTERPARTY"),
        "{table}"
    );
    assert!(
        table.contains(&second) && !table.contains(&first),
        "{table}"
    );
    assert!(
        table.contains(" out ") && table.contains(&recipient.to_string()),
        "{table}"
    );
    let cursor = table
        .split_whitespace()
        .skip_while(|word| *word != "cursor:")
        .nth(1)
        .expect("a next cursor")
        .to_string();
    let output = cli(
        &node,
        &["history", &sender.to_string(), "--cursor", &cursor],
    )
    .await;
    let rest = stdout(&output);
    assert!(rest.contains(&first) && !rest.contains(&second), "{rest}");
    assert!(
        rest.contains("4321") && rest.contains("next cursor: none"),
        "{rest}"
    );
    node.kill9().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dev_chain_started_without_history_gets_it_complete_when_started_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = (dir.path().join("data"), dir.path().join("dev.log"));
    let node = dev_process::start_with(&data, &log, &["--no-account-history"]).await;
    let recipient = address_of(&unfunded_key(8));
    let sent = send(&node, &recipient, 555).await;
    let output = cli(&node, &["history", &recipient.to_string()]).await;
    assert!(!output.status.success(), "no index, no history");
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("code 1012") && error.contains("accountHistory"),
        "{error}"
    );
    // Killed, not stopped: the backfill must not depend on a clean shutdown.
    node.kill9().await;

    let node = dev_process::start(&data, &log).await;
    let page = history_json(&node, &recipient, &[]).await;
    assert_eq!(page["transfers"][0]["txId"], sent.as_str(), "{page}");
    assert_eq!(page["transfers"][0]["amount"], "555");
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        logged.contains("account history backfilled"),
        "the backfill is logged: {logged}"
    );
    node.kill9().await;
}
