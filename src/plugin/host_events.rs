//! What the node tells the host: "build a block" (`Messenger.Notify`) and "gossip these
//! transactions" (`AppSender.SendAppGossip`, in the shape of the host's protocol).
//!
//! The node raises both events synchronously, often while a wallet's request is in flight, so
//! neither may wait for the host. Each event is handed to a background task through a bounded
//! channel:
//! * build requests coalesce: one queued request is enough, because the engine builds
//!   everything pending and the node asks again when a build leaves transactions behind. The
//!   host answers "full message queue" when its own one-slot channel already holds a request; that is
//!   expected and only logged at debug level. A request the host takes can still come to
//!   nothing: luxd's proposervm refuses a build before this node's proposer window opens, and
//!   the engine then drops the request without calling `BuildBlock`. So while transfers wait
//!   and the engine has not asked for a block for [`BUILD_REMINDER`], the request is sent
//!   again. Without this, a node whose only request was dropped built nothing until some
//!   other event (a block accepted) woke it: with one validator of three stopped, the other
//!   two then finalized one block in 30 s (RELIABILITY.md, "Stalls").
//! * gossip is batched: transactions arriving within [`GOSSIP_FLUSH`] go out in one message of
//!   at most [`MAX_GOSSIP_TXS`] transactions. Gossip is best effort; if the host falls far
//!   behind, new batches are dropped (with a warning) rather than queued without bound.

use super::grpc;
use super::protocol::Protocol;
use super::shutdown::StopSignal;
use super::v35;
use crate::chain::gossip::{encode_gossip, MAX_GOSSIP_TXS};
use crate::chain::SignedTx;
use crate::node::{Node, NodeEvents};
use crate::pb::appsender::SendAppGossipMsg;
use crate::pb::messenger::{Message, NotifyRequest};
use std::sync::Weak;
use std::time::Duration;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::Instant;
use tonic::transport::Channel;
use tracing::{debug, warn};

/// How long the gossip task waits for more transactions before sending a batch.
pub(crate) const GOSSIP_FLUSH: Duration = Duration::from_millis(15);

/// Batches (one per admission call) that may wait for the gossip task.
const GOSSIP_QUEUE: usize = 4_096;

/// How long transfers may wait with no `BuildBlock` from the engine before the build request
/// is sent again (the proposervm's windows are 5 s; its least block delay is 1 s).
pub(crate) const BUILD_REMINDER: Duration = Duration::from_secs(1);

/// Longest a call to the host may take before it is abandoned.
const HOST_CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The node's events, delivered to the host's services at `server_addr`.
pub(crate) struct HostEvents {
    build: mpsc::Sender<()>,
    gossip: mpsc::Sender<Vec<SignedTx>>,
}

impl HostEvents {
    /// Starts the delivery tasks on the current runtime, using `channel` to the host's
    /// `server_addr`; they end when `stop` fires, the events are dropped or `node` is gone.
    /// Every `reminder` the build task looks at `node` and asks again for a block if transfers
    /// wait and the engine has not called `BuildBlock` since it last looked.
    pub(crate) fn start(
        channel: Channel,
        protocol: Protocol,
        stop: StopSignal,
        node: Weak<Node>,
        reminder: Duration,
    ) -> Self {
        let (build, build_rx) = mpsc::channel(1);
        let (gossip, gossip_rx) = mpsc::channel(GOSSIP_QUEUE);
        let watch = BuildWatch {
            node,
            reminder,
            attempts_seen: 0,
        };
        tokio::spawn(notify_loop(channel.clone(), build_rx, watch, stop.clone()));
        tokio::spawn(gossip_loop(
            GossipClient::new(protocol, channel),
            gossip_rx,
            stop,
        ));
        HostEvents { build, gossip }
    }
}

impl NodeEvents for HostEvents {
    fn build_wanted(&self) {
        // Full: a request is already queued, which is all the engine needs.
        let _ = self.build.try_send(());
    }

    fn gossip(&self, txs: &[SignedTx]) {
        if txs.is_empty() {
            return;
        }
        match self.gossip.try_send(txs.to_vec()) {
            Ok(()) => {}
            Err(TrySendError::Full(dropped)) => warn!(
                "gossip queue full: {} transactions not gossiped (the host is not keeping up)",
                dropped.len()
            ),
            Err(TrySendError::Closed(_)) => debug!("gossip after shutdown ignored"),
        }
    }
}

/// Whether `Messenger.Notify` failed only because the host's one-slot channel already holds a
/// build request (the host answers "full message queue"; nothing is lost).
fn is_full_queue(status: &tonic::Status) -> bool {
    status.message().contains("full message queue")
}

/// What the build task reads of the node to tell a dropped build request from a served one.
struct BuildWatch {
    /// The node (weak: the node holds these events).
    node: Weak<Node>,
    /// How often to look.
    reminder: Duration,
    /// `Node::build_attempts` when it last looked.
    attempts_seen: u64,
}

impl BuildWatch {
    /// `None` once the node is gone; otherwise whether to ask again: transfers wait and the
    /// engine has not called `BuildBlock` since the last look.
    fn overdue(&mut self) -> Option<bool> {
        let node = self.node.upgrade()?;
        let attempts = node.build_attempts();
        let idle = attempts == self.attempts_seen;
        self.attempts_seen = attempts;
        Some(idle && node.has_pending())
    }
}

async fn notify_loop(
    channel: Channel,
    mut requests: mpsc::Receiver<()>,
    mut watch: BuildWatch,
    stop: StopSignal,
) {
    let mut client = grpc::messenger_client(channel);
    let mut reminder = tokio::time::interval(watch.reminder);
    reminder.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            request = requests.recv() => if request.is_none() { return },
            _ = reminder.tick() => match watch.overdue() {
                None => return,
                Some(false) => continue,
                Some(true) => debug!(
                    "transfers wait and the engine has not asked for a block in {:?}: asking again",
                    watch.reminder
                ),
            },
            _ = stop.stopped() => return,
        }
        let call = client.notify(NotifyRequest {
            message: Message::BuildBlock as i32,
        });
        match tokio::time::timeout(HOST_CALL_TIMEOUT, call).await {
            Ok(Ok(_)) => debug!("asked the engine to build a block"),
            Ok(Err(status)) if is_full_queue(&status) => {
                debug!("the engine already has a build request queued (full message queue)")
            }
            Ok(Err(status)) => warn!(
                "Messenger.Notify(BUILD_BLOCK) failed: {}: {}",
                status.code(),
                status.message()
            ),
            Err(_) => {
                warn!("Messenger.Notify(BUILD_BLOCK) got no answer within {HOST_CALL_TIMEOUT:?}")
            }
        }
    }
}

/// The host's `AppSender`, in its protocol's shape.
enum GossipClient {
    /// Protocol 30: the message is the payload; the host picks the audience.
    V30(crate::pb::appsender::app_sender_client::AppSenderClient<Channel>),
    /// Protocol 35: the message names its audience ([`v35::gossip_message`]).
    V35(crate::pb::v35::appsender::app_sender_client::AppSenderClient<Channel>),
}

impl GossipClient {
    fn new(protocol: Protocol, channel: Channel) -> Self {
        match protocol {
            Protocol::V30 => GossipClient::V30(grpc::app_sender_client(channel)),
            Protocol::V35 => GossipClient::V35(grpc::app_sender_client_v35(channel)),
        }
    }

    /// `AppSender.SendAppGossip` of `msg`.
    async fn send(&mut self, msg: Vec<u8>) -> Result<(), tonic::Status> {
        match self {
            GossipClient::V30(client) => client.send_app_gossip(SendAppGossipMsg { msg }).await,
            GossipClient::V35(client) => client.send_app_gossip(v35::gossip_message(msg)).await,
        }
        .map(drop)
    }
}

async fn gossip_loop(
    mut client: GossipClient,
    mut batches: mpsc::Receiver<Vec<SignedTx>>,
    stop: StopSignal,
) {
    loop {
        let mut pending = tokio::select! {
            batch = batches.recv() => match batch {
                Some(batch) => batch,
                None => return,
            },
            _ = stop.stopped() => return,
        };
        let deadline = Instant::now() + GOSSIP_FLUSH;
        while pending.len() < MAX_GOSSIP_TXS {
            tokio::select! {
                batch = batches.recv() => match batch {
                    Some(batch) => pending.extend(batch),
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        for chunk in pending.chunks(MAX_GOSSIP_TXS) {
            let call = client.send(encode_gossip(chunk));
            match tokio::time::timeout(HOST_CALL_TIMEOUT, call).await {
                Ok(Ok(())) => debug!("gossiped {} transactions", chunk.len()),
                Ok(Err(status)) => warn!(
                    "AppSender.SendAppGossip failed for {} transactions: {}: {}",
                    chunk.len(),
                    status.code(),
                    status.message()
                ),
                Err(_) => {
                    warn!("AppSender.SendAppGossip got no answer within {HOST_CALL_TIMEOUT:?}")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::gossip::decode_gossip;
    use crate::node::Source;
    use crate::test_utils::{open_node, unchecked_tx as tx, RecordingHost, Transfer};
    use std::sync::Arc;
    use tonic::Status;

    async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// A short reminder, so that tests see several in well under a second.
    const REMINDER: Duration = Duration::from_millis(40);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_build_request_the_engine_never_acted_on_is_sent_again_while_transfers_wait() {
        let host = Arc::new(RecordingHost::default());
        let (addr, server) = host.serve().await;
        let stop = StopSignal::new();
        let channel = grpc::endpoint(&addr).unwrap().connect_lazy();
        let node = open_node();
        let events = Arc::new(HostEvents::start(
            channel,
            Protocol::V30,
            stop.clone(),
            Arc::downgrade(&node),
            REMINDER,
        ));
        node.set_events(events);
        // Nothing pending: nothing asked, however long.
        tokio::time::sleep(REMINDER * 4).await;
        assert_eq!(host.notifies(), 0);

        // A transfer arrives: one request, then, as the engine never calls BuildBlock (as
        // when a proposervm drops it), more.
        let verdicts = node.submit(vec![Ok(Transfer::from_dev(0).sign())], Source::Api);
        assert!(verdicts[0].is_ok(), "{verdicts:?}");
        wait_until("a reminder", || host.notifies() >= 3).await;

        // The engine builds and accepts: nothing waits, so the reminders stop.
        let block = node.build_block().unwrap();
        node.accept_block(block.id).unwrap();
        tokio::time::sleep(REMINDER * 2).await;
        let settled = host.notifies();
        tokio::time::sleep(REMINDER * 4).await;
        assert_eq!(host.notifies(), settled, "no request while nothing waits");

        // Once the node is gone, the task ends.
        drop(node);
        tokio::time::sleep(REMINDER * 2).await;
        let last = host.notifies();
        tokio::time::sleep(REMINDER * 3).await;
        assert_eq!(host.notifies(), last);
        stop.trigger();
        server.abort();
    }

    #[test]
    fn a_reminder_is_due_only_while_transfers_wait_and_no_build_was_tried_since_the_last_look() {
        let node = open_node();
        let mut watch = BuildWatch {
            node: Arc::downgrade(&node),
            reminder: REMINDER,
            attempts_seen: 0,
        };
        assert_eq!(watch.overdue(), Some(false), "nothing waits");
        // Nonce 1 before nonce 0: it waits, and no block can take it.
        let waiting = Transfer::from_dev(0).nonce(1).sign();
        assert!(node.submit(vec![Ok(waiting)], Source::Api)[0].is_ok());
        assert_eq!(watch.overdue(), Some(true));
        // An attempt since the last look, even a fruitless one: the engine is acting.
        assert!(node.build_block().is_err());
        assert_eq!(watch.overdue(), Some(false));
        assert_eq!(watch.overdue(), Some(true), "and none since");
        drop(node);
        assert_eq!(watch.overdue(), None, "the node is gone");
    }

    #[test]
    fn only_the_hosts_full_queue_answer_is_benign() {
        // avalanchego/luxd messenger server: `errFullQueue = errors.New("full message queue")`,
        // returned through gRPC as code Unknown.
        assert!(is_full_queue(&Status::unknown("full message queue")));
        assert!(!is_full_queue(&Status::unavailable("connection refused")));
        assert!(!is_full_queue(&Status::unknown("closed")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_reach_the_host_batched_and_coalesced() {
        let host = Arc::new(RecordingHost::default());
        // Like the host's one-slot channel: every call after the first finds it full.
        host.answer_full_queue_from(1);
        let (addr, server) = host.serve().await;
        let stop = StopSignal::new();
        let channel = grpc::endpoint(&addr).unwrap().connect_lazy();
        // A node with nothing pending: no reminders, only the requests made here.
        let node = open_node();
        let events = HostEvents::start(
            channel,
            Protocol::V30,
            stop.clone(),
            Arc::downgrade(&node),
            REMINDER,
        );

        for nonce in 0..10 {
            events.gossip(&[tx(nonce)]);
        }
        events.gossip(&[]);
        wait_until("gossip", || {
            host.gossip()
                .iter()
                .map(|m| decode_gossip(m).unwrap().len())
                .sum::<usize>()
                == 10
        })
        .await;
        assert!(host.gossip().len() < 10, "transactions are batched");

        events.build_wanted();
        wait_until("notify", || host.notifies() >= 1).await;
        // "full queue" answers are tolerated and later requests still go out.
        tokio::time::sleep(Duration::from_millis(20)).await;
        events.build_wanted();
        wait_until("second notify", || host.notifies() >= 2).await;
        events.build_wanted();
        wait_until("third notify", || host.notifies() >= 3).await;

        stop.trigger();
        server.abort();
        // After shutdown, events are dropped quietly.
        tokio::time::sleep(Duration::from_millis(20)).await;
        events.gossip(&[tx(99)]);
        events.build_wanted();
    }
}
