//! transfervm: a JSON-RPC-first token-transfer chain VM for Luxd (rpcchainvm protocol 30).
//!
//! Layers (each calls only the one below): [`plugin`] (rpcchainvm gRPC) and [`dev`] (a local
//! chain) drive [`api`] (JSON-RPC) and [`node`], which wrap [`chain`] (the pure core), which
//! persists through [`storage`].

#![warn(missing_docs)]

pub mod api;
pub mod chain;
pub mod cli;
pub mod dev;
pub mod keys;
pub mod metrics;
pub mod node;
pub mod pb;
pub mod plugin;
pub mod storage;
/// Test fixtures shared by unit tests, integration tests, benches and fuzz targets; built only
/// for tests and with the `test-utils` feature.
#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;
