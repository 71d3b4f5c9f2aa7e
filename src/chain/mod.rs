//! The chain core: transaction and block types, validation, the state transition, the
//! processing-block tree, the mempool and the block builder.
//!
//! Pure Rust with no gRPC and no HTTP, synchronous and deterministic: time is passed in,
//! nothing depends on hash-map iteration order, all arithmetic is checked.

pub mod block;
pub mod commitment;
pub mod engine;
pub mod error;
pub mod genesis;
pub mod gossip;
pub mod ids;
pub mod maps;
pub mod mempool;
pub mod rules;
pub mod signature;
pub mod state;
pub mod status;
pub mod sync;
pub mod tx;

pub use block::{Block, SealedBlock};
pub use engine::{
    AccountHistory, Admitted, BlockStatus, BlockSummary, Chain, ChainConfig, CheckedBlock,
    CheckedTx, Direction, HistoryEntry, HistoryPage, HistoryPosition, SignatureProof,
    SignatureWork, MAX_HISTORY_PAGE,
};
pub use error::{BlockError, HistoryError, OpenError, TxError};
pub use genesis::{ChainParams, Genesis};
pub use ids::{Address, Id};
pub use rules::StatelessRules;
pub use state::Account;
pub use status::TxStatus;
pub use tx::{SignedTx, TxBody};
