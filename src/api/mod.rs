//! The JSON-RPC API (namespace `transfervm`): one HTTP-shaped entry point that both the dev
//! chain's HTTP server and the plugin's `HandleSimple` call.

pub mod errors;
pub mod http_entry;
pub mod methods;
pub mod openrpc;
mod params;
pub mod types;

pub use http_entry::{Api, ApiLimits, ChainInfo};

#[cfg(test)]
pub(crate) mod tests;
