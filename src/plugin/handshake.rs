//! The start-up handshake: tell the host which protocol we speak and where our VM server is.
//!
//! The host waits 5 s for `vm.runtime.Runtime/Initialize`, compares the protocol version for
//! exact equality, and kills the process on a mismatch, so a refusal here is final.

use super::grpc;
use crate::pb::vm::runtime::InitializeRequest;
use std::time::Duration;

/// The rpcchainvm protocol this build speaks (Luxd v1.10.9–v1.10.21, avalanchego v1.10.15–17).
pub(crate) const PROTOCOL_VERSION: u32 = crate::api::methods::RPCCHAINVM_PROTOCOL;

/// The host's `DefaultHandshakeTimeout`: dial and call must both finish inside it.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Dials the host's runtime service at `engine_addr` and announces `vm_addr`.
pub(crate) async fn handshake(engine_addr: &str, vm_addr: &str) -> Result<(), String> {
    let attempt = async {
        let channel = grpc::endpoint(engine_addr)?.connect().await.map_err(|e| {
            format!("cannot reach the host's runtime service at {engine_addr}: {e}")
        })?;
        grpc::runtime_client(channel)
            .initialize(InitializeRequest {
                protocol_version: PROTOCOL_VERSION,
                addr: vm_addr.to_string(),
            })
            .await
            .map_err(|status| {
                format!(
                    "the host refused vm.runtime.Runtime/Initialize (this plugin speaks rpcchainvm \
                     protocol {PROTOCOL_VERSION}; a version mismatch means the host is of another \
                     era): {}",
                    status.message()
                )
            })?;
        Ok(())
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "the handshake with the host at {engine_addr} did not finish within {HANDSHAKE_TIMEOUT:?}"
        )),
    }
}
