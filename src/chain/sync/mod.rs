//! State sync, the chain's part: what a summary is, the state a node keeps servable at its
//! latest summaries, the messages peers exchange, and the checks every fetched piece passes
//! before it is kept. Networking (which peer, retries, deadlines) is the node's
//! (`node/state_sync.rs`); the store keys are the engine's (`engine/layout.rs`).
//!
//! | file | what |
//! |---|---|
//! | `summary.rs` | [`StateSummary`]: height, block ID and state root, and its ID |
//! | `snapshot.rs` | [`StateSnapshot`]: the accounts as of a summary, sorted, served by bucket |
//! | `wire.rs` | [`SyncRequest`] / [`SyncResponse`]: the app-request messages |
//! | `restore.rs` | [`SyncHead`] and [`verify_buckets`]: a fetched head and chunk, checked |

mod restore;
mod snapshot;
mod summary;
mod wire;

pub use restore::{verify_buckets, SyncError, SyncHead, SyncedBucket};
pub use snapshot::{StateSnapshot, MAX_RESPONSE_ENTRY_BYTES};
pub use summary::StateSummary;
pub use wire::{SyncRequest, SyncResponse, WireAccount, MAX_SYNC_MESSAGE_BYTES};
