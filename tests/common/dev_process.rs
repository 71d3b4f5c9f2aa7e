//! `transfervm dev` as a child process, for tests that must kill it for real (`kill -9`) or
//! load it from outside: the built binary on 127.0.0.1:0 with its own data directory, its
//! JSON-RPC URL read from the banner, killed when the guard drops.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use transfervm::chain::{Address, SignedTx};
use transfervm::cli::rpc_client::RpcClient;

/// A running `transfervm dev`.
pub struct DevProcess {
    /// The child; `kill_on_drop` makes sure no test leaves it running.
    pub child: Child,
    /// Its JSON-RPC URL.
    pub url: String,
    /// A client for it.
    pub rpc: RpcClient,
    /// Where its stderr goes (read when it fails).
    pub log: PathBuf,
}

/// Starts the process without waiting for it to serve.
pub fn spawn(data_dir: &Path, log: &Path) -> Child {
    spawn_with(data_dir, log, &[])
}

/// The log filter every spawned dev chain runs with: the default (info) plus the dev chain's
/// phase markers (`transfervm::dev::PHASE_LOG_TARGET`), so a test that kills the process can
/// read from its log which phase the kill hit.
pub const LOG_FILTER: &str = "info,transfervm::dev::phase=debug";

/// [`spawn`], with more `dev` flags (such as `--no-account-history`).
pub fn spawn_with(data_dir: &Path, log: &Path, flags: &[&str]) -> Child {
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    Command::new(env!("CARGO_BIN_EXE_transfervm"))
        .arg("dev")
        .arg("--addr")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .args(flags)
        .env("TRANSFERVM_LOG", LOG_FILTER)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .kill_on_drop(true)
        .spawn()
        .expect("spawn transfervm dev")
}

/// Starts the process and waits until it serves (its banner names the URL).
pub async fn start(data_dir: &Path, log: &Path) -> DevProcess {
    start_with(data_dir, log, &[]).await
}

/// [`start`], with more `dev` flags.
pub async fn start_with(data_dir: &Path, log: &Path, flags: &[&str]) -> DevProcess {
    let mut child = spawn_with(data_dir, log, flags);
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.trim().strip_prefix("JSON-RPC") {
                return Some(rest.trim().to_string());
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    let Some(url) = url else {
        let _ = child.start_kill();
        panic!(
            "transfervm dev did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    };
    // Keep draining stdout so the child never writes to a closed pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let rpc = RpcClient::new(&url).expect("rpc url");
    DevProcess {
        child,
        url,
        rpc,
        log: log.to_path_buf(),
    }
}

impl DevProcess {
    /// `kill -9` and wait until it is gone.
    pub async fn kill9(mut self) {
        self.child.start_kill().expect("SIGKILL");
        let status = self.child.wait().await.expect("wait");
        assert!(!status.success(), "a killed process does not exit cleanly");
    }
}

/// The 0x-hex form `submitTx` takes.
pub fn hex_of(tx: &SignedTx) -> String {
    format!("0x{}", hex::encode(tx.to_bytes()))
}

/// Calls many methods in batches of at most 500 (the node's limit is 1000) and returns one
/// answer object per call, in order.
pub async fn batch(rpc: &RpcClient, calls: &[(&str, Value)]) -> Vec<Value> {
    let mut out = Vec::with_capacity(calls.len());
    for chunk in calls.chunks(500) {
        let body: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, (method, params))| {
                json!({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
            })
            .collect();
        let answer = rpc.post(&Value::Array(body)).await.expect("batch answer");
        let mut answers = answer
            .as_array()
            .expect("a batch answer is an array")
            .clone();
        answers.sort_by_key(|a| a["id"].as_u64());
        assert_eq!(answers.len(), chunk.len());
        out.extend(answers);
    }
    out
}

/// Balances of `addresses` (accepted state).
pub async fn balances(rpc: &RpcClient, addresses: &[Address]) -> Vec<u64> {
    let calls: Vec<(&str, Value)> = addresses
        .iter()
        .map(|a| ("transfervm.balance", json!({ "address": a })))
        .collect();
    batch(rpc, &calls)
        .await
        .iter()
        .map(|a| {
            a["result"]["balance"]
                .as_str()
                .expect("balance")
                .parse()
                .expect("decimal")
        })
        .collect()
}

/// `(supply, burned)` from `transfervm.info`.
pub async fn supply_and_burned(rpc: &RpcClient) -> (u64, u64) {
    let info = rpc.call("transfervm.info", json!({})).await.expect("info");
    let number = |key: &str| -> u64 {
        info[key]
            .as_str()
            .unwrap_or_else(|| panic!("info.{key}: {info}"))
            .parse()
            .expect("decimal")
    };
    (number("supply"), number("burned"))
}
