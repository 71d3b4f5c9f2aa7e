//! The dev chain's block production: whenever transactions are pending, build a block on the
//! last accepted one and accept it at once.

use crate::chain::{BlockError, Id, SignedTx};
use crate::node::{Node, NodeEvents};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// Wakes the build loop; gossip goes nowhere on a single node.
pub(crate) struct DevEvents {
    pub(crate) wake: Arc<Notify>,
}

impl NodeEvents for DevEvents {
    fn build_wanted(&self) {
        self.wake.notify_one();
    }
    fn gossip(&self, _: &[SignedTx]) {}
}

/// How long the loop waits before trying again to store a block whose write failed (a full
/// disk): short, so the chain resumes within seconds of the operator freeing space.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// How often a block that still cannot be stored is logged again (every retry would be one
/// line a second).
const STORE_RETRY_LOG_EVERY: u32 = 30;

/// What one round did.
enum Round {
    /// A block was accepted: look again at once.
    Accepted,
    /// Nothing to build.
    Idle,
    /// The block could not be written to the store; it stays processing and preferred, and the
    /// loop accepts it (not a new one) when the store takes writes again.
    Unwritten(Id, BlockError),
}

/// Builds and accepts blocks until shutdown.
pub(crate) async fn run(node: Arc<Node>, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
    let mut unwritten: Option<Id> = None;
    let mut failed_retries: u32 = 0;
    loop {
        let idle = match unwritten {
            Some(_) => STORE_RETRY,
            // Also look periodically, so expired transactions are pruned on an idle chain.
            None => Duration::from_secs(1),
        };
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(idle) => {}
            _ = shutdown.changed() => return,
        }
        loop {
            if *shutdown.borrow() {
                return;
            }
            let node = node.clone();
            let retry = unwritten;
            let outcome = tokio::task::spawn_blocking(move || build_and_accept(&node, retry)).await;
            match outcome {
                Ok(Ok(Round::Accepted)) => {
                    if unwritten.take().is_some() {
                        tracing::info!(
                            "the store takes writes again; the chain goes on (the block that \
                             could not be stored is accepted)"
                        );
                    }
                    failed_retries = 0;
                    continue;
                }
                Ok(Ok(Round::Idle)) => break,
                Ok(Ok(Round::Unwritten(id, e))) => {
                    if failed_retries.is_multiple_of(STORE_RETRY_LOG_EVERY) {
                        tracing::error!(
                            block = %id,
                            "dev chain cannot store its next block, retrying every {}s; \
                             submissions are refused with STORE_UNAVAILABLE until it can \
                             (free space on the data directory's disk): {e}",
                            STORE_RETRY.as_secs()
                        );
                    }
                    failed_retries = failed_retries.saturating_add(1);
                    unwritten = Some(id);
                    break;
                }
                Ok(Err(e)) => {
                    tracing::error!("dev chain could not build a block: {e}");
                    break;
                }
                Err(e) => {
                    tracing::error!("dev chain build task failed: {e}");
                    break;
                }
            }
        }
    }
}

/// One round: the block whose write failed last time, if any, else a new block built on the last
/// accepted one; preferred, then accepted.
fn build_and_accept(node: &Node, unwritten: Option<Id>) -> Result<Round, BlockError> {
    let id = match unwritten {
        Some(id) => id,
        None => match node.build_block() {
            Ok(block) => block.id,
            Err(BlockError::NothingToBuild) => return Ok(Round::Idle),
            Err(e) => return Err(e),
        },
    };
    node.set_preference(id)?;
    tracing::debug!(target: super::PHASE_LOG_TARGET, block = %id, "committing block");
    match node.accept_block(id) {
        Ok(block) => {
            tracing::info!(height = block.height, txs = block.txs, id = %id, "accepted block");
            Ok(Round::Accepted)
        }
        Err(e @ BlockError::Storage(_)) => Ok(Round::Unwritten(id, e)),
        Err(e) => Err(e),
    }
}
