//! App requests, both ways, for state sync: this VM's requests to peers
//! (`AppSender.SendAppRequest`, answered by `VM.AppResponse` or `VM.AppRequestFailed`), and its
//! answers to theirs (`VM.AppRequest` → `AppSender.SendAppResponse`). The messages are the
//! chain's ([`crate::chain::sync`]); this file only carries them.

use super::grpc;
use crate::chain::sync::SyncRequest;
use crate::node::{Node, PeerId, PeerReply};
use crate::pb::appsender::{SendAppRequestMsg, SendAppResponseMsg};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tracing::{debug, warn};

/// How long a request waits for its answer when the host reports neither a response nor a
/// failure (the host's own timeout normally ends it first).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// One request waiting for its answer.
struct Waiting {
    /// The peer it went to: an answer from another peer with the same ID is not its answer.
    peer: PeerId,
    /// Where the answer goes.
    answer: oneshot::Sender<Result<Vec<u8>, String>>,
}

/// This VM's app requests in flight, by request ID.
pub(crate) struct AppRequests {
    /// The host's `server_addr`, where its `AppSender` is.
    host: Channel,
    /// The next request ID (wraps; the host only needs them unique among those in flight).
    next_id: AtomicU32,
    /// Requests sent and not yet answered.
    waiting: Mutex<HashMap<u32, Waiting>>,
}

impl AppRequests {
    /// No requests yet; `host` is the channel to the host's `server_addr`.
    pub(crate) fn new(host: Channel) -> Self {
        AppRequests {
            host,
            next_id: AtomicU32::new(1),
            waiting: Mutex::new(HashMap::new()),
        }
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Waiting>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `request` to `peer`; the reply resolves when the host delivers its response or
    /// reports the request failed, or after [`REQUEST_TIMEOUT`].
    pub(crate) fn send(self: &Arc<Self>, peer: PeerId, request: Vec<u8>) -> PeerReply {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (answer, reply) = oneshot::channel();
        self.waiting().insert(
            id,
            Waiting {
                peer: peer.clone(),
                answer,
            },
        );
        let this = self.clone();
        Box::pin(async move {
            let mut client = grpc::app_sender_client(this.host.clone());
            let sent = client
                .send_app_request(SendAppRequestMsg {
                    node_ids: vec![peer],
                    request_id: id,
                    request,
                })
                .await;
            if let Err(status) = sent {
                this.waiting().remove(&id);
                return Err(format!(
                    "AppSender.SendAppRequest failed: {}",
                    status.message()
                ));
            }
            let outcome = tokio::time::timeout(REQUEST_TIMEOUT, reply).await;
            this.waiting().remove(&id);
            match outcome {
                Ok(Ok(answer)) => answer,
                Ok(Err(_)) => Err("the request was dropped".into()),
                Err(_) => Err(format!("no answer within {REQUEST_TIMEOUT:?}")),
            }
        })
    }

    /// `VM.AppResponse`: the answer to request `id` from `peer`.
    pub(crate) fn respond(&self, peer: &[u8], id: u32, response: Vec<u8>) {
        self.complete(peer, id, Ok(response));
    }

    /// `VM.AppRequestFailed`: request `id` to `peer` will not be answered.
    pub(crate) fn fail(&self, peer: &[u8], id: u32, why: &str) {
        self.complete(
            peer,
            id,
            Err(format!("the host reports the request failed: {why}")),
        );
    }

    fn complete(&self, peer: &[u8], id: u32, outcome: Result<Vec<u8>, String>) {
        let mut waiting = self.waiting();
        match waiting.get(&id) {
            Some(w) if w.peer == peer => {
                if let Some(w) = waiting.remove(&id) {
                    let _ = w.answer.send(outcome);
                }
            }
            _ => debug!(
                peer = %hex::encode(peer),
                "app response or failure for request {id}, which is not waiting: ignored"
            ),
        }
    }

    /// `VM.AppRequest` from `peer`: answers it from `node` in the background (the host's call
    /// returns at once). A request that is not a sync request gets no answer; the peer's host
    /// times it out.
    pub(crate) fn serve(&self, node: Arc<Node>, peer: PeerId, id: u32, request: Vec<u8>) {
        let request = match SyncRequest::from_bytes(&request) {
            Ok(request) => request,
            Err(e) => {
                debug!(peer = %hex::encode(&peer), "app request {id} ignored: {e}");
                return;
            }
        };
        let host = self.host.clone();
        tokio::spawn(async move {
            let answered =
                tokio::task::spawn_blocking(move || node.answer_sync_request(&request).to_bytes())
                    .await;
            let Ok(response) = answered else { return };
            let mut client = grpc::app_sender_client(host);
            if let Err(status) = client
                .send_app_response(SendAppResponseMsg {
                    node_id: peer,
                    request_id: id,
                    response,
                })
                .await
            {
                warn!("AppSender.SendAppResponse failed: {}", status.message());
            }
        });
    }
}
