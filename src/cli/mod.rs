//! The `transfervm` command line: a wallet for scripts, the dev chain, and operator helpers.
//! Run with no arguments and the host's engine variable set, the same binary is the plugin.

mod args;
pub mod rpc_client;
pub mod spam;
pub mod wallet;

pub use args::{
    BalanceArgs, Cli, Command, DevArgs, GenesisArgs, HistoryArgs, KeyArgs, KeysCommand, SpamArgs,
    StatusArgs, TransferArgs, TxCommand, TxSignArgs, VersionArgs,
};

use crate::chain::tx::address_of;
use crate::chain::Id;
use crate::keys;
use crate::plugin::Protocol;
use ed25519_dalek::SigningKey;
use rpc_client::RpcClient;
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

/// What a CLI command fails with: any error, shown to the user as its message. The commands
/// are glue over the wallet, the dev chain and the RPC client, each with its own error type, so
/// `?` lifts them all without a conversion at every call.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

/// Default JSON-RPC URL: the dev chain's alias path on the default port.
pub const DEFAULT_RPC: &str = "http://127.0.0.1:9650/ext/bc/transfervm/rpc";

/// The VM's name, from which its VM ID is derived.
pub const VM_NAME: &str = "transfervm";

/// The VM ID: the name's bytes, zero-padded to 32, as cb58.
pub fn vm_id() -> Id {
    let mut bytes = [0u8; 32];
    bytes[..VM_NAME.len()].copy_from_slice(VM_NAME.as_bytes());
    Id(bytes)
}

/// Version facts for `version --json`, so scripts can check the rpcchainvm protocols a node
/// may speak, the VM ID it will load the plugin as and the plugin file name for each protocol.
/// `rpcchainvm` stays the protocol of a plugin file named by the bare VM ID (as before 35).
pub fn version_json() -> Value {
    let vm_id = vm_id().to_string();
    json!({
        "name": "transfervm",
        "version": env!("CARGO_PKG_VERSION"),
        "rpcchainvm": Protocol::DEFAULT.number(),
        "rpcchainvmProtocols": Protocol::ALL.iter().map(|p| json!({
            "protocol": p.number(),
            "pluginFile": p.plugin_file_name(&vm_id),
            "hosts": p.hosts(),
        })).collect::<Vec<_>>(),
        "vmId": vm_id,
    })
}

fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// Runs a subcommand; `Err` is printed by main with exit code 1.
pub async fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Dev(args) => run_dev(args).await,
        Command::Keys(KeysCommand::New { out }) => keys_new(out),
        Command::Keys(KeysCommand::Show(args)) => keys_show(args),
        Command::Transfer(args) => transfer(args).await,
        Command::Balance(args) => balance(args).await,
        Command::Status(args) => status(args).await,
        Command::History(args) => history(args).await,
        Command::Tx(TxCommand::Sign(args)) => tx_sign(args).await,
        Command::Genesis(args) => genesis(args),
        Command::Spam(args) => spam(args).await,
        Command::VmId => vm_id_cmd(),
        Command::Version(args) => version(args),
    }
}

/// `keys new`: a fresh random key, saved to `out`; prints its address.
fn keys_new(out: PathBuf) -> Result<(), CliError> {
    let key = SigningKey::generate(&mut rand_core::OsRng);
    keys::save_new(&out, &key)?;
    println!("{}", address_of(&key));
    eprintln!("wrote {} (keep it secret)", out.display());
    Ok(())
}

/// `keys show`: the address of the key the flags name.
fn keys_show(args: KeyArgs) -> Result<(), CliError> {
    println!("{}", address_of(&args.load()?));
    Ok(())
}

/// `balance`: the account as `transfervm.account` returns it.
async fn balance(args: BalanceArgs) -> Result<(), CliError> {
    let rpc = RpcClient::new(&args.rpc)?;
    let account = rpc
        .call("transfervm.account", json!({"address": args.address}))
        .await?;
    print_json(&account);
    Ok(())
}

/// `status`: a transaction's status when given its ID, else the chain's info.
async fn status(args: StatusArgs) -> Result<(), CliError> {
    let rpc = RpcClient::new(&args.rpc)?;
    let answer = match args.tx_id {
        Some(id) => rpc.call("transfervm.txStatus", json!({"txId": id})).await,
        None => rpc.call("transfervm.info", json!({})).await,
    };
    print_json(&answer?);
    Ok(())
}

/// `history`: a page of an account's accepted transfers as a table, newest first, with the
/// command for the next page; `--json` prints the node's answer as it is.
async fn history(args: HistoryArgs) -> Result<(), CliError> {
    let rpc = RpcClient::new(&args.rpc)?;
    let mut params = json!({"address": args.address});
    if let Some(limit) = args.limit {
        params["limit"] = json!(limit);
    }
    if let Some(cursor) = &args.cursor {
        params["cursor"] = json!(cursor);
    }
    let page = rpc.call("transfervm.accountTransfers", params).await?;
    if args.json {
        print_json(&page);
        return Ok(());
    }
    let rows = page["transfers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if rows.is_empty() {
        println!("no accepted transfers");
    } else {
        println!(
            "{:>8}  {:<19}  {:<4}  {:<66}  {:>20}  {:>10}  TXID",
            "HEIGHT", "TIME (UTC)", "DIR", "COUNTERPARTY", "AMOUNT", "FEE"
        );
    }
    let text = |row: &Value, key: &str| row[key].as_str().unwrap_or("?").to_string();
    for row in rows {
        println!(
            "{:>8}  {:<19}  {:<4}  {:<66}  {:>20}  {:>10}  {}",
            row["height"],
            row["timestamp"].as_u64().map_or("?".into(), utc_time),
            text(row, "direction"),
            text(row, "counterparty"),
            text(row, "amount"),
            text(row, "fee"),
            text(row, "txId"),
        );
    }
    match page["nextCursor"].as_str() {
        Some(cursor) => println!(
            "next cursor: {cursor}\n  (transfervm history {} --cursor {cursor})",
            args.address
        ),
        None => println!("next cursor: none (the oldest transfer is shown)"),
    }
    Ok(())
}

/// Unix milliseconds as `YYYY-MM-DD hh:mm:ss` (UTC), for tables people read: the civil date
/// from days since 1970 (Howard Hinnant's `civil_from_days`), without a date crate.
fn utc_time(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// `tx sign`: signs a transfer and prints its bytes as 0x-hex.
async fn tx_sign(args: TxSignArgs) -> Result<(), CliError> {
    let key = args.key.load()?;
    let (facts, fee, nonce) = sign_facts(&args, &key).await?;
    let expires_at = args.expires_at.unwrap_or_else(|| wallet::now_secs() + 600);
    let tx = wallet::sign_transfer(&key, &facts, args.to, args.amount, fee, nonce, expires_at);
    println!("0x{}", hex::encode(tx.to_bytes()));
    Ok(())
}

/// The chain facts, fee and nonce for `tx sign`: all from the flags when all four are given
/// (offline), else the missing ones from `--rpc`.
async fn sign_facts(
    args: &TxSignArgs,
    key: &SigningKey,
) -> Result<(wallet::ChainFacts, u64, u64), CliError> {
    if let (Some(chain_id), Some(network_id), Some(fee), Some(nonce)) =
        (args.chain_id, args.network_id, args.fee, args.nonce)
    {
        let facts = wallet::ChainFacts {
            network_id,
            chain_id,
            min_fee: fee,
        };
        return Ok((facts, fee, nonce));
    }
    let client = RpcClient::new(&args.rpc)?;
    let mut facts = wallet::chain_facts(&client).await?;
    facts.chain_id = args.chain_id.unwrap_or(facts.chain_id);
    facts.network_id = args.network_id.unwrap_or(facts.network_id);
    let nonce = match args.nonce {
        Some(n) => n,
        None => wallet::pending_nonce(&client, &address_of(key)).await?,
    };
    let fee = args.fee.unwrap_or(facts.min_fee);
    Ok((facts, fee, nonce))
}

/// `genesis`: a load-test genesis, to `--out` or stdout.
fn genesis(args: GenesisArgs) -> Result<(), CliError> {
    let genesis = spam::load_genesis(args.accounts, args.balance, args.network_id);
    let text = serde_json::to_string_pretty(&genesis)?;
    match args.out {
        Some(path) => std::fs::write(&path, text + "\n")
            .map_err(|e| format!("writing {}: {e}", path.display()))?,
        None => println!("{text}"),
    }
    Ok(())
}

/// `spam`: runs the load generator and prints its report; fails when admitted transfers
/// were not accepted in time.
async fn spam(args: SpamArgs) -> Result<(), CliError> {
    if let Some(method) = args.noop_method {
        let report = spam::run_noop(spam::NoopOptions {
            rpc: args.rpc,
            method,
            requests: args.requests,
            concurrency: args.concurrency,
            chain_pid: args.chain_pid,
        })
        .await?;
        print_json(&serde_json::to_value(&report)?);
        if report.failed > 0 {
            return Err(format!("{} requests failed", report.failed).into());
        }
        return Ok(());
    }
    let report = spam::run(spam::SpamOptions {
        rpc: args.rpc,
        accounts: args.accounts,
        txs: args.txs,
        rate: args.rate,
        batch: args.batch,
        concurrency: args.concurrency,
        timeout: Duration::from_secs(args.timeout),
        // A progress line redrawn in place: only on a terminal, not into a script's log.
        progress: std::io::stderr().is_terminal(),
        chain_pid: args.chain_pid,
    })
    .await?;
    print_json(&serde_json::to_value(&report)?);
    if report.accepted < report.admitted {
        return Err(format!(
            "{} admitted transfers were not accepted in time",
            report.admitted - report.accepted
        )
        .into());
    }
    Ok(())
}

/// `vm-id`: prints the VM ID (named `_cmd` because `vm_id` is the public function it prints).
fn vm_id_cmd() -> Result<(), CliError> {
    println!("{}", vm_id());
    Ok(())
}

/// `version`: one line for people, or `--json` for scripts.
fn version(args: VersionArgs) -> Result<(), CliError> {
    if args.json {
        println!("{}", version_json());
    } else {
        println!(
            "transfervm {} (rpcchainvm protocols {}: plugin file <VM ID> for {}, <VM ID>.rpcchainvm<N> for N)",
            env!("CARGO_PKG_VERSION"),
            Protocol::numbers(),
            Protocol::DEFAULT.number()
        );
    }
    Ok(())
}

/// `dev`: runs the dev chain until Ctrl-C or SIGTERM, then stops it cleanly.
async fn run_dev(args: DevArgs) -> Result<(), CliError> {
    let dev = crate::dev::start(crate::dev::DevOptions {
        addr: args.addr,
        data_dir: args.data_dir,
        genesis: args.genesis,
        banner: true,
        account_history: !args.no_account_history,
        http: crate::dev::HttpLimits {
            max_connections: args.max_connections as usize,
            ..crate::dev::HttpLimits::default()
        },
    })
    .await?;
    wait_for_stop_signal().await;
    eprintln!("stopping…");
    dev.stop().await;
    eprintln!("stopped");
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM, so `dev` stops cleanly at a terminal and under a process manager.
pub async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `transfer`: signs, submits and follows a transfer; fails unless it is accepted.
async fn transfer(args: TransferArgs) -> Result<(), CliError> {
    let key = args.key.load()?;
    let rpc = RpcClient::new(&args.rpc)?;
    let facts = wallet::chain_facts(&rpc).await?;
    let from = address_of(&key);
    let nonce = wallet::pending_nonce(&rpc, &from).await?;
    let fee = args.fee.unwrap_or(facts.min_fee);
    let tx = wallet::sign_transfer(
        &key,
        &facts,
        args.to,
        args.amount,
        fee,
        nonce,
        wallet::now_secs() + args.expires_in,
    );
    let tx_id = wallet::submit(&rpc, &tx).await?;
    eprintln!("submitted {tx_id} (nonce {nonce}, fee {fee})");
    if args.no_wait {
        println!("{}", json!({"txId": tx_id, "status": "pending"}));
        return Ok(());
    }
    let started = std::time::Instant::now();
    let status = wallet::wait_final(&rpc, &tx_id, Duration::from_secs(args.timeout), |status| {
        let label = status.get("status").and_then(Value::as_str).unwrap_or("?");
        eprint!(
            "\r\x1b[2K{tx_id}: {label} after {:.1}s",
            started.elapsed().as_secs_f64()
        );
        let _ = std::io::stderr().flush();
    })
    .await?;
    eprintln!();
    println!("{status}");
    match status.get("status").and_then(Value::as_str) {
        Some("accepted") => Ok(()),
        Some(final_status @ ("rejected" | "dropped")) => {
            Err(format!("transaction {tx_id} ended {final_status}").into())
        }
        Some(other) => Err(format!(
            "transaction {tx_id} is still {other} after {}s (--timeout); ask again with \
             `transfervm status {tx_id}`",
            args.timeout
        )
        .into()),
        None => Err(format!("transaction {tx_id}: unexpected status {status}").into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_time_reads_as_a_calendar_date() {
        assert_eq!(super::utc_time(0), "1970-01-01 00:00:00");
        assert_eq!(super::utc_time(1_700_000_000_000), "2023-11-14 22:13:20");
        // A leap day, and the last second of a century that is not a leap year's February.
        assert_eq!(super::utc_time(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(super::utc_time(4_107_542_399_999), "2100-02-28 23:59:59");
    }
}
