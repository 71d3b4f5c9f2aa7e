//! The command line's clap definitions, apart from the command bodies in `cli`, so each file
//! reads as one thing: here what a user may type, there what it does. `cli` re-exports them.

use super::DEFAULT_RPC;
use crate::chain::ids::amount_string::parse_amount;
use crate::chain::{Address, Id};
use crate::keys;
use clap::{Args, Parser, Subcommand};
use ed25519_dalek::SigningKey;
use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// Show an account's accepted transfers, newest first, a page at a time.
    History(HistoryArgs),
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
    /// Do not keep the account-history index (`transfervm history` then answers an error).
    /// Started again without it, the chain rebuilds the index from its blocks.
    #[arg(long)]
    pub no_account_history: bool,
    /// Most HTTP connections served at once; one more is answered 503 and closed.
    #[arg(long, default_value_t = crate::dev::DEFAULT_MAX_CONNECTIONS, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
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
    /// The signing key the flags name; the error says which flag to give.
    pub(super) fn load(&self) -> Result<SigningKey, super::CliError> {
        match (&self.key, self.dev_key) {
            (Some(path), _) => Ok(keys::load(path)?),
            (None, Some(n)) if n < keys::DEV_KEY_COUNT => Ok(keys::dev_key(n)),
            (None, Some(n)) => {
                Err(format!("dev keys are 0..{}, not {n}", keys::DEV_KEY_COUNT - 1).into())
            }
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

/// `history` options.
#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// The account.
    pub address: Address,
    /// Transfers per page (1 to 100; the node's default, 25, when absent).
    #[arg(long)]
    pub limit: Option<u64>,
    /// Where to start: the next cursor a previous page printed.
    #[arg(long)]
    pub cursor: Option<String>,
    /// Print the node's raw JSON answer instead of a table.
    #[arg(long)]
    pub json: bool,
    /// JSON-RPC URL.
    #[arg(long, env = "TRANSFERVM_RPC", default_value = DEFAULT_RPC)]
    pub rpc: String,
}

/// `tx` subcommands.
#[derive(Subcommand, Debug)]
pub enum TxCommand {
    /// Sign a transfer and print its bytes as 0x-hex (for `transfervm.submitTx`). Chain ID,
    /// network, fee and nonce are fetched from --rpc unless all are given.
    Sign(TxSignArgs),
}

/// `tx sign` options, in a struct of their own so `tx_sign` takes one argument.
#[derive(Args, Debug)]
pub struct TxSignArgs {
    /// Recipient.
    #[arg(long)]
    pub to: Address,
    /// Amount in base units.
    #[arg(long, value_parser = parse_amount)]
    pub amount: u64,
    /// Fee (default: the chain's minimum).
    #[arg(long, value_parser = parse_amount)]
    pub fee: Option<u64>,
    /// Nonce (default: the account's pending nonce).
    #[arg(long)]
    pub nonce: Option<u64>,
    /// Expiry, unix seconds (default: now + 600).
    #[arg(long)]
    pub expires_at: Option<u64>,
    /// Chain ID (cb58 or hex).
    #[arg(long)]
    pub chain_id: Option<Id>,
    /// Network ID.
    #[arg(long)]
    pub network_id: Option<u32>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub key: KeyArgs,
    /// JSON-RPC URL.
    #[arg(long, env = "TRANSFERVM_RPC", default_value = DEFAULT_RPC)]
    pub rpc: String,
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
    /// Send no transfers: call this method (e.g. `lastAccepted`) `--requests` times and report
    /// the answers per second, the ceiling of one-transfer requests on the same server.
    #[arg(long, value_name = "METHOD")]
    pub noop_method: Option<String>,
    /// Requests to send with `--noop-method`.
    #[arg(long, default_value_t = 100_000, requires = "noop_method")]
    pub requests: u64,
    /// The chain's process ID when it runs on this machine: its CPU seconds over the timed part
    /// are reported beside the client's (they share the cores).
    #[arg(long)]
    pub chain_pid: Option<u32>,
}

/// `version` options.
#[derive(Args, Debug)]
pub struct VersionArgs {
    /// Machine-readable output (includes every rpcchainvm protocol and its plugin file name).
    #[arg(long)]
    pub json: bool,
}
