//! `VM.Initialize`: from the host's request to a running chain.
//!
//! Order matters: the request is checked first (cheap, clear errors), then the host database
//! is dialled, the chain state is loaded from it once (on a blocking thread: a full prefix
//! scan), and only then are the host's messenger and app-sender wired in, so nothing is
//! announced to the host for a chain that failed to open.

use super::app_requests::AppRequests;
use super::config::{PluginConfig, StateSyncConfig};
use super::grpc;
use super::host_events::{HostEvents, BUILD_REMINDER};
use super::protocol::Protocol;
use super::rpcdb_store::RpcdbStore;
use super::shutdown::StopSignal;
use crate::api::http_entry::{Api, ApiLimits, ChainInfo};
use crate::chain::{Chain, OpenError};
use crate::metrics::Metrics;
use crate::node::{Node, SystemClock};
use crate::pb::vm::{InitializeRequest, State};
use std::collections::HashSet;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use tonic::Status;
use tracing::info;

/// Everything an initialized VM serves from.
pub(crate) struct Ready {
    /// The chain service.
    pub(crate) node: Arc<Node>,
    /// The JSON-RPC API behind the `/rpc` handler.
    pub(crate) api: Arc<Api>,
    /// The host database, for health checks without the chain lock.
    pub(crate) store: Arc<RpcdbStore>,
    /// Peers the host reported as connected (node IDs), for health.
    pub(crate) peers: Mutex<HashSet<Vec<u8>>>,
    /// The engine state last set by `SetState` (`vm.State` value; 0 before the first).
    pub(crate) state: AtomicI32,
    /// This node's ID, as the host names it: never a peer to sync from.
    pub(crate) node_id: Vec<u8>,
    /// The host's `server_addr` (Messenger, AppSender).
    pub(crate) host: tonic::transport::Channel,
    /// State-sync requests to peers in flight, and the answers to theirs.
    pub(crate) requests: Arc<AppRequests>,
    /// The chain config's `stateSync` settings.
    pub(crate) state_sync: StateSyncConfig,
    /// Whether a state sync task is running (the host accepts one summary at a time).
    pub(crate) syncing: std::sync::atomic::AtomicBool,
}

impl Ready {
    /// The engine state as a word for health reports.
    pub(crate) fn state_name(&self) -> &'static str {
        match State::try_from(self.state.load(Ordering::Relaxed)) {
            Ok(State::StateSyncing) => "state_syncing",
            Ok(State::Bootstrapping) => "bootstrapping",
            Ok(State::NormalOp) => "normal_op",
            _ => "initializing",
        }
    }

    /// Number of connected peers.
    pub(crate) fn peer_count(&self) -> usize {
        self.peers.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Opens the chain described by `request` on the host's database, for a host of `protocol`.
pub(crate) async fn initialize(
    request: InitializeRequest,
    protocol: Protocol,
    metrics: Arc<Metrics>,
    stop: StopSignal,
) -> Result<Ready, Status> {
    let chain_id = super::convert::parse_id(&request.chain_id, "chain_id")?;
    let network_id = request.network_id;
    let node_id = request.node_id.clone();
    let config = PluginConfig::parse(&request.config_bytes).map_err(Status::invalid_argument)?;
    config.apply_log_level();
    if request.db_server_addr.is_empty() {
        return Err(Status::invalid_argument("db_server_addr is empty"));
    }
    if request.server_addr.is_empty() {
        return Err(Status::invalid_argument("server_addr is empty"));
    }
    info!(
        network_id,
        %chain_id,
        db = %request.db_server_addr,
        host = %request.server_addr,
        "initializing the chain"
    );

    let store = Arc::new(
        RpcdbStore::connect(&request.db_server_addr)
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?,
    );
    let chain_config = config.chain_config(network_id, chain_id);
    let genesis = request.genesis_bytes;
    let chain_store: Arc<dyn crate::storage::KvStore> = store.clone();
    let open_metrics = metrics.clone();
    let node = tokio::task::spawn_blocking(move || {
        Chain::open(chain_store, &genesis, chain_config)
            .map(|chain| Node::new(chain, Arc::new(SystemClock), open_metrics))
    })
    .await
    .map_err(super::convert::task_error)?
    .map_err(|e| {
        let message = format!("cannot open the chain: {e}");
        match e {
            // The host's database did not answer: worth retrying, not the request's fault.
            OpenError::Store(_) => Status::unavailable(message),
            _ => Status::invalid_argument(message),
        }
    })?;
    let node = Arc::new(node);

    let host = grpc::endpoint(&request.server_addr)
        .map_err(Status::invalid_argument)?
        .connect_lazy();
    node.set_events(Arc::new(HostEvents::start(
        host.clone(),
        protocol,
        stop,
        Arc::downgrade(&node),
        BUILD_REMINDER,
    )));
    let api = Arc::new(Api::new(
        node.clone(),
        ChainInfo {
            mode: "luxd",
            rpcchainvm: Some(protocol.number()),
        },
        ApiLimits::default(),
    ));
    let last = node.last_accepted();
    info!(
        last_accepted = %last.id,
        height = last.height,
        "chain ready"
    );
    Ok(Ready {
        node,
        api,
        store,
        peers: Mutex::new(HashSet::new()),
        state: AtomicI32::new(State::Unspecified as i32),
        requests: Arc::new(AppRequests::new(host.clone())),
        node_id,
        host,
        state_sync: config.state_sync.clone(),
        syncing: std::sync::atomic::AtomicBool::new(false),
    })
}
