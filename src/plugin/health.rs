//! `VM.Health`: real checks, reported as the JSON the host forwards to its health API.
//!
//! The store check is a live round trip to the host database; if it fails the call fails, so
//! the host marks the chain unhealthy. So does an accept whose write failed, until an accept
//! succeeds: a database that answers health checks may still refuse writes. Everything else is
//! read from memory.

use super::initialize::Ready;
use crate::storage::KvStore;
use serde_json::json;
use tonic::Status;

/// The health details before `Initialize`: the process answers, nothing more to check.
pub(crate) fn uninitialized() -> Vec<u8> {
    json!({"initialized": false}).to_string().into_bytes()
}

/// Checks the store and reports the chain's vital signs. Blocks on the database round trip.
pub(crate) fn report(ready: &Ready) -> Result<Vec<u8>, Status> {
    ready.store.health().map_err(|e| {
        Status::unavailable(format!(
            "unhealthy: the chain database does not answer: {e}"
        ))
    })?;
    if let Some(fault) = ready.node.store_fault() {
        return Err(Status::unavailable(format!(
            "unhealthy: the last accepted block could not be written to the chain database \
             ({fault}); the chain cannot move forward until an accept succeeds"
        )));
    }
    let summary = ready.node.summary();
    let last = &summary.last_accepted;
    Ok(json!({
        "initialized": true,
        "state": ready.state_name(),
        "store": "ok",
        "lastAccepted": {
            "id": last.id,
            "height": last.height,
            "timestamp": last.timestamp_ms,
        },
        "mempool": {"size": summary.mempool_txs, "bytes": summary.mempool_bytes},
        "processingBlocks": summary.processing_blocks,
        "peers": ready.peer_count(),
    })
    .to_string()
    .into_bytes())
}
