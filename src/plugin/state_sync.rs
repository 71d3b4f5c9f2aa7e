//! The state-sync RPCs of `vm.VM`, translated: summaries from the node, a sync started when
//! the host accepts one, and the host told when it ends.
//!
//! Mode: **static**. The host waits (`Messenger.Notify(STATE_SYNC_FINISHED)`) while this VM
//! fetches and checks the state, then bootstraps the blocks after the summary. Dynamic mode
//! would let the engine run while the state is fetched, but this VM cannot verify a block
//! without the state it applies to, so there is nothing for it to do meanwhile.

use super::grpc;
use super::initialize::Ready;
use crate::chain::sync::StateSummary;
use crate::node::{sync_state, PeerId, PeerReply, SyncPeers};
use crate::pb::messenger::{Message, NotifyRequest};
use crate::pb::vm::state_summary_accept_response::Mode;
use crate::pb::vm::*;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tonic::transport::Channel;
use tonic::Status;
use tracing::{error, info, warn};

/// `StateSyncEnabled`: what the chain config says.
pub(crate) fn enabled(ready: &Ready) -> StateSyncEnabledResponse {
    StateSyncEnabledResponse {
        enabled: ready.state_sync.enabled,
        err: 0,
    }
}

/// `GetOngoingSyncStateSummary`: the sync a previous run began and did not end.
pub(crate) fn ongoing(ready: &Ready) -> Result<GetOngoingSyncStateSummaryResponse, Status> {
    let target = ready
        .node
        .sync_target()
        .map_err(|e| Status::internal(e.to_string()))?;
    Ok(match target {
        Some(summary) => GetOngoingSyncStateSummaryResponse {
            id: summary.id().0.to_vec(),
            height: summary.height,
            bytes: summary.to_bytes(),
            err: 0,
        },
        None => GetOngoingSyncStateSummaryResponse {
            err: Error::NotFound as i32,
            ..Default::default()
        },
    })
}

/// `GetLastStateSummary`: the newest summary this node serves.
pub(crate) fn last(ready: &Ready) -> GetLastStateSummaryResponse {
    match ready.node.last_state_summary() {
        Some(snapshot) => {
            let summary = snapshot.summary();
            GetLastStateSummaryResponse {
                id: summary.id().0.to_vec(),
                height: summary.height,
                bytes: summary.to_bytes(),
                err: 0,
            }
        }
        None => GetLastStateSummaryResponse {
            err: Error::NotFound as i32,
            ..Default::default()
        },
    }
}

/// `ParseStateSummary`: needs no state, so it works on an empty node.
pub(crate) fn parse(bytes: &[u8]) -> Result<ParseStateSummaryResponse, Status> {
    let summary = StateSummary::from_bytes(bytes).map_err(Status::invalid_argument)?;
    Ok(ParseStateSummaryResponse {
        id: summary.id().0.to_vec(),
        height: summary.height,
        err: 0,
    })
}

/// `GetStateSummary(height)`: the summary at that height, if this node keeps its state.
pub(crate) fn at_height(ready: &Ready, height: u64) -> GetStateSummaryResponse {
    match ready.node.state_summary_at(height) {
        Some(snapshot) => {
            let summary = snapshot.summary();
            GetStateSummaryResponse {
                id: summary.id().0.to_vec(),
                bytes: summary.to_bytes(),
                err: 0,
            }
        }
        None => GetStateSummaryResponse {
            err: Error::NotFound as i32,
            ..Default::default()
        },
    }
}

/// `StateSummaryAccept`: skips a summary not far enough ahead (replaying is cheaper), else
/// starts the sync and answers static mode.
pub(crate) fn accept(
    ready: &Arc<Ready>,
    bytes: &[u8],
) -> Result<StateSummaryAcceptResponse, Status> {
    let summary = StateSummary::from_bytes(bytes).map_err(Status::invalid_argument)?;
    let height = ready.node.last_accepted().height;
    let lead = summary.height.saturating_sub(height);
    if !ready.node.sync_pending() && lead < ready.state_sync.min_blocks_ahead() {
        info!(
            summary = summary.height,
            last_accepted = height,
            "state sync skipped: the summary is only {lead} blocks ahead (minBlocksAhead {})",
            ready.state_sync.min_blocks_ahead()
        );
        return Ok(StateSummaryAcceptResponse {
            mode: Mode::Skipped as i32,
            err: 0,
        });
    }
    if ready.syncing.swap(true, Ordering::SeqCst) {
        return Err(Status::failed_precondition(
            "a state sync is already running",
        ));
    }
    info!(
        summary = summary.height,
        last_accepted = height,
        "state sync accepted (static mode): fetching the state at height {}",
        summary.height
    );
    let node = ready.node.clone();
    let peers = Arc::new(HostPeers {
        ready: Arc::downgrade(ready),
    });
    let done = ready.clone();
    tokio::spawn(async move {
        match sync_state(node, peers, summary).await {
            Ok(()) => notify_finished(done.host.clone()).await,
            Err(e) => error!("state sync failed: {e}; the node cannot go on without its state"),
        }
        done.syncing.store(false, Ordering::SeqCst);
    });
    Ok(StateSummaryAcceptResponse {
        mode: Mode::Static as i32,
        err: 0,
    })
}

/// The host's peers, as the sync driver sees them.
struct HostPeers {
    /// The VM (weak: the sync must not keep a shut-down VM alive).
    ready: Weak<Ready>,
}

impl SyncPeers for HostPeers {
    fn peers(&self) -> Vec<PeerId> {
        let Some(ready) = self.ready.upgrade() else {
            return Vec::new();
        };
        let mut peers: Vec<PeerId> = ready
            .peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|peer| **peer != ready.node_id)
            .cloned()
            .collect();
        peers.sort();
        peers
    }

    fn request(&self, peer: PeerId, request: Vec<u8>) -> PeerReply {
        match self.ready.upgrade() {
            Some(ready) => ready.requests.send(peer, request),
            None => Box::pin(async { Err("the VM is shutting down".to_string()) }),
        }
    }
}

/// Pause between `Notify(STATE_SYNC_FINISHED)` attempts while the host's queue is full.
const NOTIFY_RETRY: Duration = Duration::from_millis(100);

/// Tells the host the sync ended, until it takes the message: its one-slot queue may hold a
/// build request ("full message queue"), and a lost message would leave it waiting forever.
async fn notify_finished(host: Channel) {
    let mut client = grpc::messenger_client(host);
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let sent = client
            .notify(NotifyRequest {
                message: Message::StateSyncFinished as i32,
            })
            .await;
        match sent {
            Ok(_) => {
                info!(attempts, "told the host the state sync finished");
                return;
            }
            Err(status) => {
                if attempts % 50 == 1 {
                    warn!(
                        attempts,
                        "Messenger.Notify(STATE_SYNC_FINISHED) not taken yet: {}; retrying",
                        status.message()
                    );
                }
                tokio::time::sleep(NOTIFY_RETRY).await;
            }
        }
    }
}
