//! The dev chain's block production: whenever transactions are pending, build a block on the
//! last accepted one and accept it at once.

use crate::chain::{BlockError, SignedTx};
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

/// Builds and accepts blocks until shutdown.
pub(crate) async fn run(node: Arc<Node>, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = wake.notified() => {}
            // Also look periodically, so expired transactions are pruned on an idle chain.
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
        loop {
            if *shutdown.borrow() {
                return;
            }
            let node = node.clone();
            let outcome = tokio::task::spawn_blocking(move || build_and_accept(&node)).await;
            match outcome {
                Ok(Ok(true)) => continue,
                Ok(Ok(false)) => break,
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

/// One round: build, prefer, accept. `Ok(false)` when there was nothing to build.
fn build_and_accept(node: &Node) -> Result<bool, BlockError> {
    let block = match node.build_block() {
        Ok(block) => block,
        Err(BlockError::NothingToBuild) => return Ok(false),
        Err(e) => return Err(e),
    };
    node.set_preference(block.id)?;
    tracing::debug!(target: super::PHASE_LOG_TARGET, height = block.block.height, "committing block");
    node.accept_block(block.id)?;
    tracing::info!(height = block.block.height, txs = block.block.txs.len(), id = %block.id, "accepted block");
    Ok(true)
}
