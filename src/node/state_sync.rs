//! State sync, the node's part: the chain's summaries and sync steps behind the node's lock,
//! and the driver that fetches a summary's state from peers: the head first, then bucket
//! ranges from several peers at once, each response checked before it is written, a refused
//! or lost one asked again of another peer.
//!
//! The network is a trait ([`SyncPeers`]): the plugin layer implements it with the host's
//! `AppSender` and `VM.AppResponse`; tests with peers in memory.

use super::Node;
use crate::chain::commitment::BUCKETS;
use crate::chain::sync::{
    verify_buckets, StateSnapshot, StateSummary, SyncError, SyncHead, SyncRequest, SyncResponse,
    SyncedBucket,
};
use crate::chain::OpenError;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tracing::{info, warn};

/// A peer's node ID, as the host names it.
pub type PeerId = Vec<u8>;

/// What a request to a peer resolves to: the response bytes, or why there is none.
pub type PeerReply = Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send>>;

/// The peers a sync fetches from.
pub trait SyncPeers: Send + Sync + 'static {
    /// The peers connected now.
    fn peers(&self) -> Vec<PeerId>;
    /// Sends `request` to `peer`; resolves to its response, or an error when it failed or
    /// timed out.
    fn request(&self, peer: PeerId, request: Vec<u8>) -> PeerReply;
}

/// Requests in flight at once, over different peers where there are several.
const PARALLEL_REQUESTS: usize = 4;

/// Buckets asked for in one request (a peer answers fewer when they do not fit one message).
const BUCKETS_PER_REQUEST: usize = 32;

/// Pause before trying again when no peer is connected or every peer failed.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

impl Node {
    /// The newest state summary this node serves.
    pub fn last_state_summary(&self) -> Option<Arc<StateSnapshot>> {
        self.chain().last_state_summary()
    }

    /// The summary at `height`, if this node keeps its state.
    pub fn state_summary_at(&self, height: u64) -> Option<Arc<StateSnapshot>> {
        self.chain().state_summary_at(height)
    }

    /// The state sync under way (even from an earlier run), if any.
    pub fn sync_target(&self) -> Result<Option<StateSummary>, OpenError> {
        self.chain().sync_target()
    }

    /// Whether a sync began and has not ended: the chain has no usable state until it does.
    pub fn sync_pending(&self) -> bool {
        self.chain().sync_pending()
    }

    /// The height this node state-synced to, if it did.
    pub fn synced_from(&self) -> Option<u64> {
        self.chain().synced_from()
    }

    /// The answer to a peer's sync request (`Unavailable` for a summary not kept here).
    pub fn answer_sync_request(&self, request: &SyncRequest) -> SyncResponse {
        let height = match request {
            SyncRequest::Head { height } | SyncRequest::Buckets { height, .. } => *height,
        };
        // The snapshot is shared: answering it takes the lock only to find it.
        let Some(snapshot) = self.state_summary_at(height) else {
            return SyncResponse::Unavailable {
                reason: format!("no state kept at height {height}"),
            };
        };
        match request {
            SyncRequest::Head { .. } => snapshot.head(),
            SyncRequest::Buckets { first, end, .. } => {
                snapshot.buckets(usize::from(*first), usize::from(*end))
            }
        }
    }
}

/// Runs `work` on a blocking thread (store writes, the reload).
async fn blocking<R: Send + 'static>(
    work: impl FnOnce() -> Result<R, String> + Send + 'static,
) -> Result<R, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| format!("sync task failed: {e}"))?
}

/// Picks peers in turn, skipping one to avoid where another is connected.
struct PeerRotation {
    next: usize,
}

impl PeerRotation {
    fn pick(&mut self, peers: &[PeerId], avoid: Option<&PeerId>) -> Option<PeerId> {
        if peers.is_empty() {
            return None;
        }
        for _ in 0..peers.len() {
            let peer = &peers[self.next % peers.len()];
            self.next = self.next.wrapping_add(1);
            if Some(peer) != avoid || peers.len() == 1 {
                return Some(peer.clone());
            }
        }
        None
    }
}

/// Syncs `node` to `summary` from `peers`: resumes the buckets an earlier run of the same sync
/// wrote, and ends with the summary's block accepted and the whole state checked against it.
/// Keeps asking while peers fail; returns an error only when the store fails.
pub async fn sync_state(
    node: Arc<Node>,
    peers: Arc<dyn SyncPeers>,
    summary: StateSummary,
) -> Result<(), String> {
    let begin = node.clone();
    let done = blocking(move || {
        begin
            .chain()
            .begin_sync(&summary)
            .map_err(|e| e.to_string())
    })
    .await?;
    info!(
        height = summary.height,
        block = %summary.block_id,
        resumed = done.len(),
        "state sync: fetching the state of the summary"
    );
    let mut rotation = PeerRotation { next: 0 };
    let (head, mut refused) = fetch_head(&*peers, summary, &mut rotation).await;
    let head = Arc::new(head);

    // The buckets still to fetch, in ranges of at most BUCKETS_PER_REQUEST, each with the
    // peer that last failed it.
    let mut todo: VecDeque<(usize, usize, Option<PeerId>)> = VecDeque::new();
    let mut bucket = 0;
    while bucket < BUCKETS {
        if done.contains(&bucket) {
            bucket += 1;
            continue;
        }
        let start = bucket;
        while bucket < BUCKETS && bucket - start < BUCKETS_PER_REQUEST && !done.contains(&bucket) {
            bucket += 1;
        }
        todo.push_back((start, bucket, None));
    }
    let mut in_flight = JoinSet::new();
    loop {
        while in_flight.len() < PARALLEL_REQUESTS {
            let Some((first, end, failed_by)) = todo.pop_front() else {
                break;
            };
            let Some(peer) = rotation.pick(&peers.peers(), failed_by.as_ref()) else {
                todo.push_front((first, end, failed_by));
                break;
            };
            let request = SyncRequest::Buckets {
                height: summary.height,
                first: first as u16,
                end: end as u16,
            }
            .to_bytes();
            let reply = peers.request(peer.clone(), request);
            in_flight.spawn(async move { (first, end, peer, reply.await) });
        }
        if in_flight.is_empty() {
            if todo.is_empty() {
                break;
            }
            // No peer to ask: wait for one.
            tokio::time::sleep(RETRY_PAUSE).await;
            continue;
        }
        let Some(joined) = in_flight.join_next().await else {
            continue;
        };
        let (first, end, peer, reply) = joined.map_err(|e| format!("sync request task: {e}"))?;
        let checked = reply.map_err(SyncError::Unavailable).and_then(|bytes| {
            let response = SyncResponse::from_bytes(&bytes).map_err(SyncError::Malformed)?;
            verify_buckets(&head, first, end, response)
        });
        match checked {
            Ok(buckets) => {
                let after = buckets.last().map_or(first, |(b, _)| b + 1);
                write(&node, buckets).await?;
                if after < end {
                    todo.push_front((after, end, None));
                }
            }
            Err(error) => {
                refused += 1;
                warn!(
                    peer = %hex::encode(&peer),
                    buckets = %format!("{first}..{end}"),
                    "state sync: {error}; asking another peer"
                );
                todo.push_back((first, end, Some(peer)));
            }
        }
    }
    let finish = node.clone();
    let finished_head = head.clone();
    blocking(move || {
        finish
            .chain()
            .finish_sync(&finished_head)
            .map_err(|e| e.to_string())
    })
    .await?;
    finish_metrics(&node);
    info!(
        height = summary.height,
        refused, "state sync: done, every bucket checked against the summary's state root"
    );
    Ok(())
}

/// Writes verified buckets on a blocking thread.
async fn write(node: &Arc<Node>, buckets: Vec<SyncedBucket>) -> Result<(), String> {
    let node = node.clone();
    blocking(move || {
        node.chain()
            .write_synced_buckets(&buckets)
            .map_err(|e| e.to_string())
    })
    .await
}

/// Brings the metrics in step with the chain a sync ended on.
fn finish_metrics(node: &Node) {
    let height = node.chain().last_accepted().block.height;
    node.metrics().accepted_height.set(height as i64);
}

/// Asks peers in turn for the summary's head until one answers with a head that checks out;
/// also says how many answers it refused.
async fn fetch_head(
    peers: &dyn SyncPeers,
    summary: StateSummary,
    rotation: &mut PeerRotation,
) -> (SyncHead, usize) {
    let mut refused = 0usize;
    let request = SyncRequest::Head {
        height: summary.height,
    }
    .to_bytes();
    let mut failed_by = None;
    loop {
        let Some(peer) = rotation.pick(&peers.peers(), failed_by.as_ref()) else {
            tokio::time::sleep(RETRY_PAUSE).await;
            continue;
        };
        let checked = peers
            .request(peer.clone(), request.clone())
            .await
            .map_err(SyncError::Unavailable)
            .and_then(|bytes| {
                let response = SyncResponse::from_bytes(&bytes).map_err(SyncError::Malformed)?;
                SyncHead::verify(summary, response)
            });
        match checked {
            Ok(head) => return (head, refused),
            Err(error) => {
                refused += 1;
                warn!(peer = %hex::encode(&peer), "state sync: head refused: {error}; asking another peer");
                failed_by = Some(peer);
                tokio::time::sleep(RETRY_PAUSE / 5).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::http_entry::{Api, ApiLimits, ChainInfo};
    use crate::chain::ChainConfig;
    use crate::test_utils::{
        assert_accepted_invariants, chain_config, memory_store, node_on, open_chain_on, Transfer,
        NOW_MS,
    };
    use serde_json::{json, Value};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    fn config() -> ChainConfig {
        ChainConfig {
            summary_interval: Some(2),
            ..chain_config()
        }
    }

    /// A node with two accepted blocks of transfers to many new accounts.
    fn serving_node() -> Arc<Node> {
        let node = node_on(open_chain_on(memory_store(), config()));
        let mut nonce = 0u64;
        for _ in 0..2 {
            let txs: Vec<_> = (0..300)
                .map(|_| {
                    let mut to = [0u8; 32];
                    to[..8].copy_from_slice(
                        &(nonce.wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_be_bytes(),
                    );
                    nonce += 1;
                    Transfer::from_dev(0)
                        .to(crate::chain::Address(to))
                        .nonce(nonce - 1)
                        .sign()
                })
                .collect();
            for tx in txs {
                node.chain().check_and_admit(tx, NOW_MS).unwrap();
            }
            let block = node.build_block().unwrap();
            node.accept_block(block.id).unwrap();
        }
        node
    }

    /// Peers in memory: `honest` answers from its node; `liar` flips a byte of every bucket
    /// response and drops every third request.
    struct MemoryPeers {
        honest: Arc<Node>,
        asked_liar: AtomicUsize,
        served: Mutex<Vec<(PeerId, bool)>>,
    }

    impl SyncPeers for MemoryPeers {
        fn peers(&self) -> Vec<PeerId> {
            vec![b"liar".to_vec(), b"honest".to_vec()]
        }

        fn request(&self, peer: PeerId, request: Vec<u8>) -> PeerReply {
            let request = SyncRequest::from_bytes(&request).unwrap();
            let mut answer = self.honest.answer_sync_request(&request).to_bytes();
            let lie = peer == b"liar";
            self.served.lock().unwrap().push((peer, lie));
            if lie {
                let n = self.asked_liar.fetch_add(1, Ordering::SeqCst);
                if n % 3 == 2 {
                    return Box::pin(async { Err("timed out".to_string()) });
                }
                let last = answer.len() - 1;
                answer[last] ^= 1;
            }
            Box::pin(async move { Ok(answer) })
        }
    }

    #[tokio::test]
    async fn a_sync_takes_only_checked_pieces_and_ends_with_the_servers_state() {
        let server = serving_node();
        let summary = server.last_state_summary().unwrap().summary();
        assert_eq!(summary.height, 2);
        let peers = Arc::new(MemoryPeers {
            honest: server.clone(),
            asked_liar: AtomicUsize::new(0),
            served: Mutex::new(Vec::new()),
        });
        let syncing = node_on(open_chain_on(memory_store(), config()));
        sync_state(syncing.clone(), peers.clone(), summary)
            .await
            .unwrap();
        assert!(
            peers.asked_liar.load(Ordering::SeqCst) > 0,
            "the liar was asked"
        );
        assert_eq!(syncing.last_accepted().id, summary.block_id);
        assert_eq!(syncing.synced_from(), Some(2));
        syncing.inspect(|chain| {
            assert_accepted_invariants(chain);
            server
                .inspect(|served| assert_eq!(chain.recompute_digest(), served.recompute_digest()));
        });

        // Blocks and transfers from before the summary are "not known here", not "never were".
        let api = Api::new(syncing.clone(), ChainInfo::DEV, ApiLimits::default());
        let server_api = Api::new(server.clone(), ChainInfo::DEV, ApiLimits::default());
        let old = ask(&api, "transfervm.getBlock", json!({"height": 1})).await;
        let message = old["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("not known here") && message.contains("height 2"),
            "{old}"
        );
        let served = ask(&server_api, "transfervm.getBlock", json!({"height": 1})).await;
        let first_tx = served["result"]["txIds"][0].clone();
        let status = ask(&api, "transfervm.txStatus", json!({"txId": first_tx})).await;
        assert_eq!(status["result"]["status"], "unknown", "{status}");
        assert_eq!(status["result"]["knownFrom"], 2, "{status}");
        let current = ask(&api, "transfervm.getBlock", json!({"height": 2})).await;
        assert_eq!(current["result"]["height"], 2, "{current}");
    }

    async fn ask(api: &Api, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let request = http::Request::post("/ext/bc/x/rpc")
            .header("Content-Type", "application/json")
            .body(hyper::body::Bytes::from(body.to_string()))
            .unwrap();
        serde_json::from_slice(api.handle(request).await.body()).unwrap()
    }
}
