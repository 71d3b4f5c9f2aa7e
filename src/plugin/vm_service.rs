//! The `vm.VM` service: every RPC of protocol 30, answered the way the host accepts.
//! Protocol 35's service ([`super::v35`]) is translated onto this one: its messages are protocol
//! 30's but for the few it changed, so only `CreateStaticHandlers` and `VerifyHeightIndex` here
//! are protocol 30's alone.
//!
//! Rules kept here so each handler stays a few lines:
//! * Before `Initialize`, only `Version`, `CreateStaticHandlers`, `Shutdown`, `Health` and
//!   `Gather` answer; everything else is `FAILED_PRECONDITION` "not initialized".
//! * Work that takes the chain lock, checks signatures or touches the host database runs on a
//!   blocking thread, so the gRPC runtime keeps serving (and a panic in the core becomes an
//!   `INTERNAL` error instead of a crash).
//! * Misses that the host expects in-band (`GetBlock`, `GetBlockIDAtHeight`, state sync) are
//!   OK responses with `err` set; real failures are gRPC errors carrying the core's text.

use super::blocks::{self, AncestorLimits, LastAccepted};
use super::convert::{block_error, parse_id, store_error, task_error, timestamp};
use super::initialize::{self, Ready};
use super::protocol::Protocol;
use super::shutdown::StopSignal;
use super::{gather, health, http_service, state_sync};
use crate::metrics::Metrics;
use crate::pb::vm::vm_server::Vm;
use crate::pb::vm::*;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use tonic::{Request, Response, Status};
use tracing::{debug, info};

/// What every handler returns.
pub(crate) type Reply<T> = Result<Response<T>, Status>;

/// The version string `VM.Version` reports.
pub(crate) fn version() -> String {
    format!("transfervm/{}", env!("CARGO_PKG_VERSION"))
}

/// The VM service. Its state is set once, by `Initialize`.
pub(crate) struct VmService {
    ready: OnceLock<Arc<Ready>>,
    init_lock: tokio::sync::Mutex<()>,
    metrics: Arc<Metrics>,
    stop: StopSignal,
    /// The protocol the host was greeted with: it decides the gossip message's shape and what
    /// `info` reports.
    protocol: Protocol,
}

impl VmService {
    /// A service waiting for `Initialize` from a host of `protocol`; `stop` is fired by
    /// `Shutdown`.
    pub(crate) fn new(stop: StopSignal, protocol: Protocol) -> Self {
        VmService {
            ready: OnceLock::new(),
            init_lock: tokio::sync::Mutex::new(()),
            metrics: Arc::new(Metrics::new()),
            stop,
            protocol,
        }
    }

    fn ready(&self) -> Result<Arc<Ready>, Status> {
        self.ready.get().cloned().ok_or_else(|| {
            Status::failed_precondition("not initialized: the host must call VM.Initialize first")
        })
    }

    /// Runs `f` against the initialized VM on a blocking thread.
    async fn blocking<T, F>(&self, f: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&Ready) -> Result<T, Status> + Send + 'static,
    {
        let ready = self.ready()?;
        tokio::task::spawn_blocking(move || f(&ready))
            .await
            .map_err(task_error)?
    }

    /// Acknowledges a message this VM does not use, once initialized.
    pub(crate) fn ignore(&self, what: &str) -> Reply<()> {
        self.ready()?;
        debug!("{what} ignored: transfervm does not use it");
        Ok(Response::new(()))
    }

    /// `AppRequestFailed` (either protocol's): the request will not be answered.
    pub(crate) fn app_request_failed_with(&self, node_id: &[u8], id: u32, why: &str) -> Reply<()> {
        self.ready()?.requests.fail(node_id, id, why);
        Ok(Response::new(()))
    }

    /// `Connected`: remembers the peer (for health); `version` is only logged.
    pub(crate) fn peer_connected(&self, node_id: Vec<u8>, version: &str) -> Reply<()> {
        let ready = self.ready()?;
        debug!(peer = %hex::encode(&node_id), %version, "peer connected");
        ready
            .peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(node_id);
        Ok(Response::new(()))
    }
}

#[tonic::async_trait]
impl Vm for VmService {
    async fn initialize(&self, request: Request<InitializeRequest>) -> Reply<InitializeResponse> {
        let _only_one = self.init_lock.lock().await;
        if self.ready.get().is_some() {
            return Err(Status::failed_precondition("already initialized"));
        }
        if self.stop.is_triggered() {
            return Err(Status::failed_precondition("shutting down"));
        }
        let ready = Arc::new(
            initialize::initialize(
                request.into_inner(),
                self.protocol,
                self.metrics.clone(),
                self.stop.clone(),
            )
            .await?,
        );
        let node = ready.node.clone();
        let last = tokio::task::spawn_blocking(move || LastAccepted::of(&node))
            .await
            .map_err(task_error)??;
        // Cannot fail: the init lock is held and the cell was empty.
        let _ = self.ready.set(ready);
        Ok(Response::new(last.into_initialize()))
    }

    async fn set_state(&self, request: Request<SetStateRequest>) -> Reply<SetStateResponse> {
        let state = request.into_inner().state;
        self.ready()?;
        match State::try_from(state) {
            Ok(State::StateSyncing | State::Bootstrapping | State::NormalOp) => {}
            _ => {
                return Err(Status::invalid_argument(format!(
                    "unknown state {state}: expected 1 (state syncing), 2 (bootstrapping) or 3 \
                     (normal operation)"
                )))
            }
        }
        let last = self
            .blocking(move |ready| {
                if state != State::StateSyncing as i32 && ready.node.sync_pending() {
                    return Err(Status::failed_precondition(
                        "a state sync began and did not end, and the host moved on without it: \
                         this node holds no usable state. Start it again with stateSync enabled \
                         (it resumes the sync), or delete the chain's data to replay from genesis",
                    ));
                }
                ready.state.store(state, Ordering::Relaxed);
                info!("engine state: {}", ready.state_name());
                LastAccepted::of(&ready.node)
            })
            .await?;
        Ok(Response::new(last.into_set_state()))
    }

    async fn shutdown(&self, _: Request<()>) -> Reply<()> {
        info!("the host asked the VM to shut down");
        self.stop.trigger();
        Ok(Response::new(()))
    }

    async fn create_handlers(&self, _: Request<()>) -> Reply<CreateHandlersResponse> {
        let ready = self.ready()?;
        let addr = http_service::start(ready.api.clone(), self.stop.clone())
            .await
            .map_err(|e| Status::internal(format!("cannot start the HTTP handler server: {e}")))?;
        info!(%addr, "serving the chain's HTTP handlers {:?}", http_service::PREFIXES);
        // One server for both: the host mounts each prefix exactly and the server routes on the
        // request path it forwards.
        Ok(Response::new(CreateHandlersResponse {
            handlers: http_service::PREFIXES
                .iter()
                .map(|prefix| Handler {
                    prefix: prefix.to_string(),
                    server_addr: addr.to_string(),
                })
                .collect(),
        }))
    }

    async fn create_static_handlers(&self, _: Request<()>) -> Reply<CreateStaticHandlersResponse> {
        Ok(Response::new(CreateStaticHandlersResponse {
            handlers: vec![],
        }))
    }

    async fn connected(&self, request: Request<ConnectedRequest>) -> Reply<()> {
        let ConnectedRequest { node_id, version } = request.into_inner();
        self.peer_connected(node_id, &version)
    }

    async fn disconnected(&self, request: Request<DisconnectedRequest>) -> Reply<()> {
        let ready = self.ready()?;
        let node_id = request.into_inner().node_id;
        debug!(peer = %hex::encode(&node_id), "peer disconnected");
        ready
            .peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&node_id);
        Ok(Response::new(()))
    }

    async fn build_block(&self, request: Request<BuildBlockRequest>) -> Reply<BuildBlockResponse> {
        // The P-chain height is for VMs that verify with context; this one does not.
        let _ = request.into_inner().p_chain_height;
        let response = self
            .blocking(|ready| {
                let block = ready.node.build_block().map_err(block_error)?;
                debug!(id = %block.id, height = block.block.height, txs = block.block.txs.len(), "built a block");
                blocks::built(&block)
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn parse_block(&self, request: Request<ParseBlockRequest>) -> Reply<ParseBlockResponse> {
        let bytes = request.into_inner().bytes;
        let response = self
            .blocking(move |ready| blocks::parse(&ready.node, &bytes))
            .await?;
        Ok(Response::new(response))
    }

    async fn get_block(&self, request: Request<GetBlockRequest>) -> Reply<GetBlockResponse> {
        self.ready()?;
        let id = parse_id(&request.into_inner().id, "id")?;
        let response = self
            .blocking(move |ready| blocks::get(&ready.node, id))
            .await?;
        Ok(Response::new(response))
    }

    async fn set_preference(&self, request: Request<SetPreferenceRequest>) -> Reply<()> {
        self.ready()?;
        let id = parse_id(&request.into_inner().id, "id")?;
        self.blocking(move |ready| ready.node.set_preference(id).map_err(block_error))
            .await?;
        Ok(Response::new(()))
    }

    async fn health(&self, _: Request<()>) -> Reply<HealthResponse> {
        let details = match self.ready.get() {
            None => health::uninitialized(),
            Some(_) => self.blocking(health::report).await?,
        };
        Ok(Response::new(HealthResponse { details }))
    }

    async fn version(&self, _: Request<()>) -> Reply<VersionResponse> {
        Ok(Response::new(VersionResponse { version: version() }))
    }

    async fn app_request(&self, request: Request<AppRequestMsg>) -> Reply<()> {
        let ready = self.ready()?;
        let AppRequestMsg {
            node_id,
            request_id,
            request,
            ..
        } = request.into_inner();
        ready
            .requests
            .serve(ready.node.clone(), node_id, request_id, request);
        Ok(Response::new(()))
    }

    async fn app_request_failed(&self, request: Request<AppRequestFailedMsg>) -> Reply<()> {
        let AppRequestFailedMsg {
            node_id,
            request_id,
        } = request.into_inner();
        self.app_request_failed_with(&node_id, request_id, "no reason given (protocol 30)")
    }

    async fn app_response(&self, request: Request<AppResponseMsg>) -> Reply<()> {
        let ready = self.ready()?;
        let AppResponseMsg {
            node_id,
            request_id,
            response,
        } = request.into_inner();
        ready.requests.respond(&node_id, request_id, response);
        Ok(Response::new(()))
    }

    async fn app_gossip(&self, request: Request<AppGossipMsg>) -> Reply<()> {
        self.ready()?;
        let AppGossipMsg { node_id, msg } = request.into_inner();
        // A peer's bad message is the peer's problem, not the host's: answered OK either way.
        let received = self
            .blocking(move |ready| Ok(ready.node.receive_gossip(&msg)))
            .await?;
        match received {
            Ok(receipt) => debug!(
                peer = %hex::encode(&node_id),
                "gossip: admitted {} of {} transactions", receipt.admitted, receipt.carried
            ),
            Err(e) => debug!(peer = %hex::encode(&node_id), "dropped gossip: {e}"),
        }
        Ok(Response::new(()))
    }

    async fn gather(&self, _: Request<()>) -> Reply<GatherResponse> {
        Ok(Response::new(GatherResponse {
            metric_families: gather::metric_families(&self.metrics.gather()),
        }))
    }

    async fn cross_chain_app_request(&self, _: Request<CrossChainAppRequestMsg>) -> Reply<()> {
        self.ignore("CrossChainAppRequest")
    }

    async fn cross_chain_app_request_failed(
        &self,
        _: Request<CrossChainAppRequestFailedMsg>,
    ) -> Reply<()> {
        self.ignore("CrossChainAppRequestFailed")
    }

    async fn cross_chain_app_response(&self, _: Request<CrossChainAppResponseMsg>) -> Reply<()> {
        self.ignore("CrossChainAppResponse")
    }

    async fn get_ancestors(
        &self,
        request: Request<GetAncestorsRequest>,
    ) -> Reply<GetAncestorsResponse> {
        self.ready()?;
        let request = request.into_inner();
        let id = parse_id(&request.blk_id, "blk_id")?;
        let limits = AncestorLimits::from_request(
            request.max_blocks_num,
            request.max_blocks_size,
            request.max_blocks_retrival_time,
        );
        let blks_bytes = self
            .blocking(move |ready| blocks::ancestors(&ready.node, id, limits))
            .await?;
        Ok(Response::new(GetAncestorsResponse { blks_bytes }))
    }

    async fn batched_parse_block(
        &self,
        request: Request<BatchedParseBlockRequest>,
    ) -> Reply<BatchedParseBlockResponse> {
        let requests = request.into_inner().request;
        let response = self
            .blocking(move |ready| {
                requests
                    .iter()
                    .enumerate()
                    .map(|(index, bytes)| {
                        blocks::parse(&ready.node, bytes).map_err(|s| {
                            Status::new(
                                s.code(),
                                format!("block {index} of the batch: {}", s.message()),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, Status>>()
            })
            .await?;
        Ok(Response::new(BatchedParseBlockResponse { response }))
    }

    async fn verify_height_index(&self, _: Request<()>) -> Reply<VerifyHeightIndexResponse> {
        self.ready()?;
        // Every accepted block is indexed by height as it is accepted: the index is complete.
        Ok(Response::new(VerifyHeightIndexResponse { err: 0 }))
    }

    async fn get_block_id_at_height(
        &self,
        request: Request<GetBlockIdAtHeightRequest>,
    ) -> Reply<GetBlockIdAtHeightResponse> {
        let height = request.into_inner().height;
        let response = self
            .blocking(move |ready| {
                let found = ready.node.block_id_at_height(height).map_err(store_error)?;
                Ok(match found {
                    Some(id) => GetBlockIdAtHeightResponse {
                        blk_id: id.0.to_vec(),
                        err: 0,
                    },
                    None => GetBlockIdAtHeightResponse {
                        blk_id: vec![],
                        err: Error::NotFound as i32,
                    },
                })
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn state_sync_enabled(&self, _: Request<()>) -> Reply<StateSyncEnabledResponse> {
        Ok(Response::new(state_sync::enabled(&*self.ready()?)))
    }

    async fn get_ongoing_sync_state_summary(
        &self,
        _: Request<()>,
    ) -> Reply<GetOngoingSyncStateSummaryResponse> {
        let response = self.blocking(state_sync::ongoing).await?;
        Ok(Response::new(response))
    }

    async fn get_last_state_summary(&self, _: Request<()>) -> Reply<GetLastStateSummaryResponse> {
        Ok(Response::new(state_sync::last(&*self.ready()?)))
    }

    async fn parse_state_summary(
        &self,
        request: Request<ParseStateSummaryRequest>,
    ) -> Reply<ParseStateSummaryResponse> {
        self.ready()?;
        Ok(Response::new(state_sync::parse(
            &request.into_inner().bytes,
        )?))
    }

    async fn get_state_summary(
        &self,
        request: Request<GetStateSummaryRequest>,
    ) -> Reply<GetStateSummaryResponse> {
        let height = request.into_inner().height;
        Ok(Response::new(state_sync::at_height(
            &*self.ready()?,
            height,
        )))
    }

    async fn block_verify(
        &self,
        request: Request<BlockVerifyRequest>,
    ) -> Reply<BlockVerifyResponse> {
        // As with BuildBlock, the P-chain height is not used (blocks say verify_with_context=false).
        let bytes = request.into_inner().bytes;
        let ts = self
            .blocking(move |ready| {
                let block = ready.node.verify_block(&bytes).map_err(block_error)?;
                debug!(id = %block.id, height = block.height, "verified a block");
                timestamp(block.timestamp_ms)
            })
            .await?;
        Ok(Response::new(BlockVerifyResponse {
            timestamp: Some(ts),
        }))
    }

    async fn block_accept(&self, request: Request<BlockAcceptRequest>) -> Reply<()> {
        self.ready()?;
        let id = parse_id(&request.into_inner().id, "id")?;
        self.blocking(move |ready| {
            let block = ready.node.accept_block(id).map_err(block_error)?;
            info!(%id, height = block.height, txs = block.txs, "accepted a block");
            Ok(())
        })
        .await?;
        Ok(Response::new(()))
    }

    async fn block_reject(&self, request: Request<BlockRejectRequest>) -> Reply<()> {
        self.ready()?;
        let id = parse_id(&request.into_inner().id, "id")?;
        self.blocking(move |ready| {
            ready.node.reject_block(id).map_err(block_error)?;
            info!(%id, "rejected a block");
            Ok(())
        })
        .await?;
        Ok(Response::new(()))
    }

    async fn state_summary_accept(
        &self,
        request: Request<StateSummaryAcceptRequest>,
    ) -> Reply<StateSummaryAcceptResponse> {
        let ready = self.ready()?;
        let bytes = request.into_inner().bytes;
        Ok(Response::new(state_sync::accept(&ready, &bytes)?))
    }
}
