//! `transfervm dev`: a single-node development chain. Same core and JSON-RPC API as on Luxd,
//! an embedded store, a build loop that accepts its own blocks at once, and a plain HTTP
//! server on the same paths Luxd serves (`/ext/bc/<chainID>/rpc`, `/ext/bc/<chainID>/explorer`).
//! Not consensus.

mod build_loop;
mod data_dir;
mod http_server;

pub use http_server::{HttpLimits, DEFAULT_MAX_CONNECTIONS};

use crate::api::{Api, ApiLimits, ChainInfo};
use crate::chain::engine::GenesisFacts;
use crate::chain::genesis::{
    dev_chain_id, source_hash_of_reader, LOCAL_GENESIS_JSON, MAX_GENESIS_BYTES,
};
use crate::chain::tx::address_of;
use crate::chain::{Chain, ChainConfig, OpenError};
use crate::keys::{dev_key, DEV_KEY_COUNT};
use crate::metrics::Metrics;
use crate::node::{Node, SystemClock};
use crate::storage::fjall_store::FjallStore;
use crate::storage::StoreError;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{watch, Notify};

/// Path alias that works without knowing the chain ID (Luxd also serves chain aliases).
pub const CHAIN_ALIAS: &str = "transfervm";

/// Settings of a dev chain.
#[derive(Clone, Debug)]
pub struct DevOptions {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Where the chain is stored.
    pub data_dir: PathBuf,
    /// Genesis file; the shipped local genesis when `None`. A path, not its bytes: a restart
    /// only hashes the file (streamed), and a load-test genesis can be a hundred megabytes.
    pub genesis: Option<PathBuf>,
    /// Print the banner (off in tests).
    pub banner: bool,
    /// Keep the account-history index (`accountTransfers`, `transfervm history`): on unless
    /// `--no-account-history`, since a developer's wallet wants it and a dev chain is small.
    pub account_history: bool,
    /// What the HTTP server lets clients hold (connections, header and body timeouts).
    pub http: HttpLimits,
}

/// A running dev chain.
pub struct DevChain {
    /// The address it listens on (useful when started on port 0).
    pub local_addr: SocketAddr,
    /// The chain ID.
    pub chain_id: crate::chain::Id,
    /// The node, for in-process inspection.
    pub node: Arc<Node>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl DevChain {
    /// The JSON-RPC URL.
    pub fn rpc_url(&self) -> String {
        format!("http://{}/ext/bc/{}/rpc", self.local_addr, self.chain_id)
    }

    /// The explorer page's URL: where a newcomer looks at the chain in a browser.
    pub fn explorer_url(&self) -> String {
        format!(
            "http://{}/ext/bc/{}{}",
            self.local_addr,
            self.chain_id,
            crate::api::explorer::EXPLORER_PREFIX
        )
    }

    /// Stops serving and building, and waits for both to finish.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Why a dev chain did not start; each says what to fix (the data directory, the genesis, the
/// port).
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// The chain could not be opened on its data directory (the store, or another genesis).
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The data directory's store could not be opened or created.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The address to serve on is taken or not ours.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// The genesis file could not be read.
    #[error("cannot read the genesis file {}: {source}", path.display())]
    GenesisFile {
        /// The file named.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The task opening the chain panicked (a bug: say so rather than crash).
    #[error("the task opening the chain failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The target of the dev chain's phase markers: debug events at the start of each phase of
/// start-up (opening or creating the store, opening the chain, serving) and around each block
/// commit. They cost an atomic load when off; `TRANSFERVM_LOG=transfervm::dev=debug` turns
/// them on, and the crash test (`tests/crash_recovery.rs`) reads them in the killed process's
/// log to tell which phase each kill hit, and to kill as a phase begins.
pub const PHASE_LOG_TARGET: &str = "transfervm::dev::phase";

/// Opens the chain and starts serving.
pub async fn start(options: DevOptions) -> Result<DevChain, DevError> {
    let custom_genesis = options.genesis.is_some();
    let genesis = options.genesis.clone();
    let data_dir = options.data_dir.clone();
    let account_history = options.account_history;
    let chain = tokio::task::spawn_blocking(move || -> Result<Chain, DevError> {
        let store = Arc::new(data_dir::open_store(&data_dir)?);
        tracing::debug!(target: PHASE_LOG_TARGET, "opening the chain");
        let config_for = |facts: &GenesisFacts| ChainConfig {
            account_history,
            ..ChainConfig::new(facts.network_id, dev_chain_id(&facts.genesis_id))
        };
        match genesis {
            None => Ok(Chain::open_with(
                store,
                LOCAL_GENESIS_JSON.as_bytes(),
                config_for,
            )?),
            Some(path) => open_on_file(store, &path, config_for),
        }
    })
    .await??;
    tracing::debug!(
        target: PHASE_LOG_TARGET,
        height = chain.last_accepted().block.height,
        "chain opened"
    );
    let chain_id = chain.config().chain_id;
    let node = Arc::new(Node::new(
        chain,
        Arc::new(SystemClock),
        Arc::new(Metrics::new()),
    ));
    let wake = Arc::new(Notify::new());
    node.set_events(Arc::new(build_loop::DevEvents { wake: wake.clone() }));
    let api = Arc::new(Api::new(node.clone(), ChainInfo::DEV, ApiLimits::default()));
    let listen_error = |source| DevError::Listen {
        addr: options.addr,
        source,
    };
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(listen_error)?;
    let local_addr = listener.local_addr().map_err(listen_error)?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let server = http_server::DevHttp::new(api, node.clone(), chain_id, options.http.clone());
    let tasks = vec![
        tokio::spawn(http_server::serve(listener, server, shutdown_rx.clone())),
        tokio::spawn(build_loop::run(node.clone(), wake.clone(), shutdown_rx)),
    ];
    // Transactions left from before a restart are not kept (the mempool is memory only), but
    // make sure the loop looks once anyway.
    wake.notify_one();
    let dev = DevChain {
        local_addr,
        chain_id,
        node,
        shutdown,
        tasks,
    };
    if options.banner {
        print_banner(&dev, &options, custom_genesis);
    }
    tracing::debug!(target: PHASE_LOG_TARGET, "serving");
    Ok(dev)
}

/// Opens the chain on the genesis file at `path`. A restart hashes the file as it reads it and
/// needs nothing else from it, and hashes it on a thread of its own while the store's chain is
/// loaded, which the hash then confirms. Only a store that does not know the document yet (the
/// first start) has it read whole and parsed.
fn open_on_file(
    store: Arc<FjallStore>,
    path: &Path,
    config_for: impl Fn(&GenesisFacts) -> ChainConfig,
) -> Result<Chain, DevError> {
    let file_error = |source| DevError::GenesisFile {
        path: path.to_path_buf(),
        source,
    };
    let (loaded, source) = std::thread::scope(|scope| {
        let hashing = scope.spawn(|| std::fs::File::open(path).and_then(source_hash_of_reader));
        let loaded = Chain::load_known(store.clone(), &config_for);
        match hashing.join() {
            Ok(source) => (loaded, source),
            // Reading and hashing a file does not panic; if it ever did, so does the start.
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    let source = source.map_err(file_error)?;
    match loaded {
        Ok(Some(loaded)) => {
            if let Some(chain) = loaded.open_if_from(&source)? {
                return Ok(chain);
            }
        }
        Ok(None) => {}
        // Whether the failure is this document's chain's or another's (whose bytes decide
        // what to say) is settled by opening in order, as without the overlap.
        Err(_) => {
            if let Some(chain) = Chain::open_known(store.clone(), &source, &config_for)? {
                return Ok(chain);
            }
        }
    }
    // One byte over the limit is enough for the parser to refuse the document.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| {
            file.take(MAX_GENESIS_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
        })
        .map_err(file_error)?;
    Ok(Chain::open_with(store, &bytes, &config_for)?)
}

fn print_banner(dev: &DevChain, options: &DevOptions, custom_genesis: bool) {
    let last = dev.node.last_accepted();
    println!(
        "transfervm {} — SINGLE-NODE DEVELOPMENT CHAIN",
        env!("CARGO_PKG_VERSION")
    );
    println!("  This is not consensus: this one process builds and accepts every block itself.");
    println!("  chain ID     {}", dev.chain_id);
    println!("  network ID   {}", dev.node.rules().network_id);
    println!("  JSON-RPC     {}", dev.rpc_url());
    println!(
        "  (alias)      http://{}/ext/bc/{CHAIN_ALIAS}/rpc",
        dev.local_addr
    );
    println!("  Explorer     {}", dev.explorer_url());
    println!("  data dir     {}", options.data_dir.display());
    println!("  height       {} (last accepted {})", last.height, last.id);
    println!(
        "  history      {}",
        match options.account_history {
            true => "on (transfervm.accountTransfers; --no-account-history turns it off)",
            false => "off (--no-account-history)",
        }
    );
    if !custom_genesis {
        println!();
        println!("  Funded dev keys (PUBLIC test keys, anyone can spend them; never use for real funds):");
        for i in 0..DEV_KEY_COUNT {
            let key = dev_key(i);
            println!(
                "    dev key {i}: address {}  secret 0x{}",
                address_of(&key),
                hex::encode(key.to_bytes())
            );
        }
    }
    println!();
    println!("  Try: curl -s -X POST -H 'content-type: application/json' \\");
    println!(
        "         -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"transfervm.info\"}}' {}",
        dev.rpc_url()
    );
    println!(
        "  Ctrl-C stops the chain; it resumes from {} on the next start.",
        options.data_dir.display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::genesis::Genesis;

    fn options(data_dir: &Path, genesis: &Path) -> DevOptions {
        DevOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_path_buf(),
            genesis: Some(genesis.to_path_buf()),
            banner: false,
            account_history: true,
            http: HttpLimits::default(),
        }
    }

    /// The local genesis on network 4242 with its first account's balance set, as a file's
    /// bytes.
    fn genesis_with(first_balance: u64) -> Vec<u8> {
        let mut genesis = Genesis::from_json(LOCAL_GENESIS_JSON.as_bytes()).unwrap();
        genesis.network_id = 4242;
        genesis.allocations[0].balance = first_balance;
        serde_json::to_vec_pretty(&genesis).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dev_chain_restarts_on_its_genesis_file_and_refuses_another() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let file = dir.path().join("genesis.json");
        std::fs::write(&file, genesis_with(1_000)).unwrap();
        let first = start(options(&data, &file)).await.unwrap();
        let chain_id = first.chain_id;
        assert_eq!(first.node.rules().network_id, 4242);
        first.stop().await;

        // Known by its hash: network and chain are the store's, and the same.
        let again = start(options(&data, &file)).await.unwrap();
        assert_eq!(again.chain_id, chain_id);
        assert_eq!(again.node.rules().network_id, 4242);
        again.stop().await;

        let missing = dir.path().join("missing.json");
        let err = start(options(&data, &missing))
            .await
            .err()
            .expect("refused");
        assert!(matches!(err, DevError::GenesisFile { .. }), "{err}");
        assert!(err.to_string().contains("missing.json"), "{err}");

        // Another document in the same file: parsed in full, and refused for this store.
        std::fs::write(&file, genesis_with(2_000)).unwrap();
        let err = start(options(&data, &file)).await.err().expect("refused");
        assert!(
            matches!(err, DevError::Open(OpenError::OtherGenesis { .. })),
            "{err}"
        );

        // And a file that is not a genesis at all.
        std::fs::write(&file, b"not json").unwrap();
        let err = start(options(&data, &file)).await.err().expect("refused");
        assert!(
            matches!(err, DevError::Open(OpenError::Genesis(_))),
            "{err}"
        );
    }
}
