//! The start-up handshake: tell the host which protocol we speak and where our VM server is.
//!
//! The host waits 5 s for `vm.runtime.Runtime/Initialize`, compares the protocol version for
//! exact equality, and kills the process on a mismatch, so a refusal here is final.

use super::grpc;
use super::protocol::Protocol;
use crate::pb::vm::runtime::InitializeRequest;
use std::time::Duration;

/// The host's `DefaultHandshakeTimeout`: dial and call must both finish inside it.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Dials the host's runtime service at `engine_addr` and announces `vm_addr` and `protocol`.
/// A refusal comes back as one line naming both versions and the plugin file name that works.
pub(crate) async fn handshake(
    engine_addr: &str,
    vm_addr: &str,
    protocol: Protocol,
) -> Result<(), String> {
    let attempt = async {
        let channel = grpc::endpoint(engine_addr)?.connect().await.map_err(|e| {
            format!("cannot reach the host's runtime service at {engine_addr}: {e}")
        })?;
        grpc::runtime_client(channel)
            .initialize(InitializeRequest {
                protocol_version: protocol.number(),
                addr: vm_addr.to_string(),
            })
            .await
            .map_err(|status| protocol.mismatch_advice(status.message()))?;
        Ok(())
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "the handshake with the host at {engine_addr} did not finish within {HANDSHAKE_TIMEOUT:?}"
        )),
    }
}
