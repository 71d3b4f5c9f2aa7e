//! The rpcchainvm plugin layer (protocol 30): translates the host's gRPC calls into node calls.

/// Serves the plugin: handshake with the host at `engine_addr`, then answer until shutdown.
pub async fn run(engine_addr: String) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    Err(format!("plugin mode is not built yet (engine {engine_addr})").into())
}
