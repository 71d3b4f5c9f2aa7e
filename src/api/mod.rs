//! The JSON-RPC API (namespace `transfervm`): one HTTP-shaped entry point that both the dev
//! chain's HTTP server and the plugin's `HandleSimple` call, and the explorer page served beside
//! it (`explorer`), which reads the chain through that same API.

mod envelope;
pub mod errors;
pub mod explorer;
pub mod http_entry;
pub mod methods;
pub mod openrpc;
mod params;
pub mod types;

pub use explorer::Endpoint;
pub use http_entry::{Api, ApiLimits, ChainInfo};

#[cfg(test)]
pub(crate) mod tests;
