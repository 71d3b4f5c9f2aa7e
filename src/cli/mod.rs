//! The `transfervm` command line: a wallet for scripts, the dev chain, and operator helpers.
//! Run with no arguments and the host's engine variable set, the same binary is the plugin.

pub mod rpc_client;
pub mod spam;
pub mod wallet;

use crate::chain::ids::amount_string::parse_amount;
use crate::chain::tx::address_of;
use crate::chain::{Address, Id};
use crate::keys;
use clap::{Args, Parser, Subcommand};
use ed25519_dalek::SigningKey;
use rpc_client::RpcClient;
use serde_json::{json, Value};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Default JSON-RPC URL: the dev chain's alias path on the default port.
pub const DEFAULT_RPC: &str = "http://127.0.0.1:9650/ext/bc/transfervm/rpc";

/// The VM's name, from which its VM ID is derived.
pub const VM_NAME: &str = "transfervm";

/// transfervm: a token-transfer chain VM for Luxd, and its wallet and dev tools.
#[derive(Parser, Debug)]
#[command(name = "transfervm", version, about, long_about = None)]
pub struct Cli {
    /// What to do. With no command and LUX_VM_RUNTIME_ENGINE_ADDR (or
    /// AVALANCHE_VM_RUNTIME_ENGINE_ADDR) set, run as a Luxd plugin.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a single-node development chain with funded dev keys.
    Dev(DevArgs),
    /// Create or show wallet keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Sign, submit and follow a transfer until it is final.
    Transfer(TransferArgs),
    /// Show an account's balance and nonces.
    Balance(BalanceArgs),
    /// Show the chain's status, or a transaction's when given its ID.
    Status(StatusArgs),
    /// Offline helpers for transactions.
    #[command(subcommand)]
    Tx(TxCommand),
    /// Write a load-test genesis funding N accounts with public, derivable keys.
    Genesis(GenesisArgs),
    /// Load generator: pre-signs transfers, submits them, reports accepted tx/s and latency.
    Spam(SpamArgs),
    /// Print the VM ID Luxd uses for this VM (the plugin's file name).
    VmId,
    /// Print version information.
    Version(VersionArgs),
}

/// `dev` options.
#[derive(Args, Debug)]
pub struct DevArgs {
    /// Address to serve JSON-RPC on.
    #[arg(long, default_value = "127.0.0.1:9650")]
    pub addr: SocketAddr,
    /// Where the chain is stored; a restart resumes from it.
    #[arg(long, default_value = ".transfervm-dev")]
    pub data_dir: PathBuf,
    /// Genesis file (default: the built-in genesis/local.json).
    #[arg(long)]
    pub genesis: Option<PathBuf>,
}

/// Where a command reads its key from.
#[derive(Args, Debug)]
pub struct KeyArgs {
    /// Key file written by `transfervm keys new`.
    #[arg(long, conflicts_with = "dev_key")]
    pub key: Option<PathBuf>,
    /// Use public dev key N of genesis/local.json (local chains only).
    #[arg(long, value_name = "N")]
    pub dev_key: Option<u32>,
}

impl KeyArgs {
    fn load(&self) -> Result<SigningKey, String> {
        match (&self.key, self.dev_key) {
            (Some(path), _) => keys::load(path),
            (None, Some(n)) if n < keys::DEV_KEY_COUNT => Ok(keys::dev_key(n)),
            (None, Some(n)) => Err(format!(
                "dev keys are 0..{}, not {n}",
                keys::DEV_KEY_COUNT - 1
            )),
            (None, None) => Err("give --key FILE or --dev-key N".into()),
        }
    }
}

/// `keys` subcommands.
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a new random key and write it to a file (mode 0600, never overwritten).
    New {
        /// File to write.
        #[arg(long, default_value = "transfervm-key.json")]
        out: PathBuf,
    },
    /// Show the address of a key.
    Show(KeyArgs),
}

/// `transfer` options.
#[derive(Args, Debug)]
pub struct TransferArgs {
    /// Recipient address (0x + 64 hex digits).
    #[arg(long)]
    pub to: Address,
    /// Amount in base units.
    #[arg(long, value_parser = parse_amount)]
    pub amount: u64,
    /// Fee in base units (default: the chain's minimum).
    #[arg(long, value_parser = parse_amount)]
    pub fee: Option<u64>,
    /// Seconds until the transfer expires.
    #[arg(long, default_value_t = 600)]
    pub expires_in: u64,
    /// Return after submitting instead of waiting for acceptance.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for a final status, seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub key: KeyArgs,
    /// JSON-RPC URL.
    #[arg(long, env = "TRANSFERVM_RPC", default_value = DEFAULT_RPC)]
    pub rpc: String,
}

/// `balance` options.
#[derive(Args, Debug)]
pub struct BalanceArgs {
    /// The account.
    pub address: Address,
    /// JSON-RPC URL.
    #[arg(long, env = "TRANSFERVM_RPC", default_value = DEFAULT_RPC)]
    pub rpc: String,
}

/// `status` options.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// A transaction ID (cb58 or 0x-hex); without it, the chain's status.
    pub tx_id: Option<Id>,
    /// JSON-RPC URL.
    #[arg(long, env = "TRANSFERVM_RPC", default_value = DEFAULT_RPC)]
    pub rpc: String,
}

/// `tx` subcommands.
#[derive(Subcommand, Debug)]
pub enum TxCommand {
    /// Sign a transfer and print its bytes as 0x-hex (for `transfervm.submitTx`). Chain ID,
    /// network, fee and nonce are fetched from --rpc unless all are given.
    Sign {
        /// Recipient.
        #[arg(long)]
        to: Address,
        /// Amount in base units.
        #[arg(long, value_parser = parse_amount)]
        amount: u64,
        /// Fee (default: the chain's minimum).
        #[arg(long, value_parser = parse_amount)]
        fee: Option<u64>,
        /// Nonce (default: the account's pending nonce).
        #[arg(long)]
        nonce: Option<u64>,
        /// Expiry, unix seconds (default: now + 600).
        #[arg(long)]
        expires_at: Option<u64>,
        /// Chain ID (cb58 or hex).
        #[arg(long)]
        chain_id: Option<Id>,
        /// Network ID.
        #[arg(long)]
        network_id: Option<u32>,
        #[command(flatten)]
        #[allow(missing_docs)]
        key: KeyArgs,
        /// JSON-RPC URL.
        #[arg(long, env = "TRANSFERVM_RPC", default_value = DEFAULT_RPC)]
        rpc: String,
    },
}

/// `genesis` options.
#[derive(Args, Debug)]
pub struct GenesisArgs {
    /// Load-test accounts to fund (keys: SHA-256("transfervm load key <i>"), public).
    #[arg(long, default_value_t = 1_000)]
    pub accounts: u32,
    /// Balance of each account, base units.
    #[arg(long, value_parser = parse_amount, default_value = "1000000000000")]
    pub balance: u64,
    /// Network ID.
    #[arg(long, default_value_t = 12345)]
    pub network_id: u32,
    /// Output file (stdout when absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `spam` options.
#[derive(Args, Debug)]
pub struct SpamArgs {
    /// Load-test accounts to send from (the chain's genesis must fund them: see `genesis`).
    #[arg(long, default_value_t = 1_000)]
    pub accounts: u32,
    /// Transfers to send.
    #[arg(long, default_value_t = 10_000)]
    pub txs: u64,
    /// Target transfers per second (0 = flat out).
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Transfers per request (1 = submitTx each, more = submitTxs).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Requests in flight.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Seconds to wait for acceptance.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// JSON-RPC URL.
    #[arg(long, env = "TRANSFERVM_RPC", default_value = DEFAULT_RPC)]
    pub rpc: String,
}

/// `version` options.
#[derive(Args, Debug)]
pub struct VersionArgs {
    /// Machine-readable output (includes "rpcchainvm": 30).
    #[arg(long)]
    pub json: bool,
}

/// The VM ID: the name's bytes, zero-padded to 32, as cb58.
pub fn vm_id() -> Id {
    let mut bytes = [0u8; 32];
    bytes[..VM_NAME.len()].copy_from_slice(VM_NAME.as_bytes());
    Id(bytes)
}

/// Version facts.
pub fn version_json() -> Value {
    json!({
        "name": "transfervm",
        "version": env!("CARGO_PKG_VERSION"),
        "rpcchainvm": crate::api::methods::RPCCHAINVM_PROTOCOL,
        "vmId": vm_id(),
    })
}

fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// Runs a subcommand; `Err` is printed by main with exit code 1.
pub async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Dev(args) => run_dev(args).await,
        Command::Keys(KeysCommand::New { out }) => {
            let key = SigningKey::generate(&mut rand_core::OsRng);
            keys::save_new(&out, &key)?;
            println!("{}", address_of(&key));
            eprintln!("wrote {} (keep it secret)", out.display());
            Ok(())
        }
        Command::Keys(KeysCommand::Show(args)) => {
            println!("{}", address_of(&args.load()?));
            Ok(())
        }
        Command::Transfer(args) => transfer(args).await,
        Command::Balance(args) => {
            let rpc = RpcClient::new(&args.rpc).map_err(|e| e.to_string())?;
            let account = rpc
                .call("transfervm.account", json!({"address": args.address}))
                .await
                .map_err(|e| e.to_string())?;
            print_json(&account);
            Ok(())
        }
        Command::Status(args) => {
            let rpc = RpcClient::new(&args.rpc).map_err(|e| e.to_string())?;
            let answer = match args.tx_id {
                Some(id) => rpc.call("transfervm.txStatus", json!({"txId": id})).await,
                None => rpc.call("transfervm.info", json!({})).await,
            };
            print_json(&answer.map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::Tx(TxCommand::Sign {
            to,
            amount,
            fee,
            nonce,
            expires_at,
            chain_id,
            network_id,
            key,
            rpc,
        }) => {
            let key = key.load()?;
            let offline = match (chain_id, network_id, fee, nonce) {
                (Some(chain_id), Some(network_id), Some(fee), Some(nonce)) => {
                    Some((chain_id, network_id, fee, nonce))
                }
                _ => None,
            };
            let (facts, fee, nonce) = match offline {
                Some((chain_id, network_id, fee, nonce)) => (
                    wallet::ChainFacts {
                        network_id,
                        chain_id,
                        min_fee: fee,
                    },
                    fee,
                    nonce,
                ),
                None => {
                    let client = RpcClient::new(&rpc).map_err(|e| e.to_string())?;
                    let mut facts = wallet::chain_facts(&client)
                        .await
                        .map_err(|e| e.to_string())?;
                    facts.chain_id = chain_id.unwrap_or(facts.chain_id);
                    facts.network_id = network_id.unwrap_or(facts.network_id);
                    let nonce = match nonce {
                        Some(n) => n,
                        None => wallet::pending_nonce(&client, &address_of(&key))
                            .await
                            .map_err(|e| e.to_string())?,
                    };
                    let fee = fee.unwrap_or(facts.min_fee);
                    (facts, fee, nonce)
                }
            };
            let expires_at = expires_at.unwrap_or_else(|| wallet::now_secs() + 600);
            let tx = wallet::sign_transfer(&key, &facts, to, amount, fee, nonce, expires_at);
            println!("0x{}", hex::encode(tx.to_bytes()));
            Ok(())
        }
        Command::Genesis(args) => {
            let genesis = spam::load_genesis(args.accounts, args.balance, args.network_id);
            let text = serde_json::to_string_pretty(&genesis).map_err(|e| e.to_string())?;
            match args.out {
                Some(path) => std::fs::write(&path, text + "\n")
                    .map_err(|e| format!("writing {}: {e}", path.display()))?,
                None => println!("{text}"),
            }
            Ok(())
        }
        Command::Spam(args) => {
            let report = spam::run(spam::SpamOptions {
                rpc: args.rpc,
                accounts: args.accounts,
                txs: args.txs,
                rate: args.rate,
                batch: args.batch,
                concurrency: args.concurrency,
                timeout: Duration::from_secs(args.timeout),
                progress: true,
            })
            .await?;
            print_json(&serde_json::to_value(&report).map_err(|e| e.to_string())?);
            if report.accepted < report.admitted {
                return Err(format!(
                    "{} admitted transfers were not accepted in time",
                    report.admitted - report.accepted
                ));
            }
            Ok(())
        }
        Command::VmId => {
            println!("{}", vm_id());
            Ok(())
        }
        Command::Version(args) => {
            if args.json {
                println!("{}", version_json());
            } else {
                println!(
                    "transfervm {} (rpcchainvm protocol {})",
                    env!("CARGO_PKG_VERSION"),
                    crate::api::methods::RPCCHAINVM_PROTOCOL
                );
            }
            Ok(())
        }
    }
}

async fn run_dev(args: DevArgs) -> Result<(), String> {
    let genesis = match &args.genesis {
        Some(path) => {
            Some(std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?)
        }
        None => None,
    };
    let dev = crate::dev::start(crate::dev::DevOptions {
        addr: args.addr,
        data_dir: args.data_dir,
        genesis,
        banner: true,
    })
    .await?;
    wait_for_stop_signal().await;
    eprintln!("stopping…");
    dev.stop().await;
    eprintln!("stopped");
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM.
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

async fn transfer(args: TransferArgs) -> Result<(), String> {
    let key = args.key.load()?;
    let rpc = RpcClient::new(&args.rpc).map_err(|e| e.to_string())?;
    let facts = wallet::chain_facts(&rpc).await.map_err(|e| e.to_string())?;
    let from = address_of(&key);
    let nonce = wallet::pending_nonce(&rpc, &from)
        .await
        .map_err(|e| e.to_string())?;
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
    let tx_id = wallet::submit(&rpc, &tx).await.map_err(|e| e.to_string())?;
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
    .await
    .map_err(|e| e.to_string())?;
    eprintln!();
    println!("{status}");
    match status.get("status").and_then(Value::as_str) {
        Some("accepted") => Ok(()),
        Some(other) => Err(format!("transaction {tx_id} ended {other}")),
        None => Err(format!("transaction {tx_id}: unexpected status {status}")),
    }
}
