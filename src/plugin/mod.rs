//! The rpcchainvm plugin layer (protocols 30 and 35): translates the host's gRPC calls into
//! node calls.
//!
//! Luxd (or avalanchego) starts the binary with the engine address in its environment and
//! under a file name that chooses the protocol ([`protocol`]). [`run`] binds the `vm.VM` server
//! of that protocol on a loopback port, tells the host where it is
//! (`vm.runtime.Runtime/Initialize`), and then answers until the host says `Shutdown` or sends
//! SIGTERM. Everything here is translation: protocol messages in, [`crate::node::Node`]
//! calls out, protocol messages back. No chain rule lives in this layer.
//!
//! Files, one concept each:
//! * [`protocol`] — the protocols spoken, the operator's choice (the plugin file's name), and
//!   the one line a refused handshake logs.
//! * [`handshake`] — the start-up call to the host's `Runtime` service.
//! * [`grpc`] — message-size limits, dialling, and server set-up shared by every server/client.
//! * [`vm_service`] — the `vm.VM` service (protocol 30's): gating, dispatch, error mapping.
//! * [`v35`] — protocol 35's `vm.VM` service translated onto it, and 35's gossip message.
//! * [`initialize`] — turning an `InitializeRequest` into a running chain.
//! * [`blocks`] — block responses, `GetAncestors`.
//! * [`convert`] — IDs, timestamps, statuses and errors between the wire and the core.
//! * [`config`] — the optional chain config JSON (`config_bytes`).
//! * [`rpcdb_store`] — the host's database as a [`crate::storage::KvStore`].
//! * [`host_events`] — `Messenger.Notify` and batched `AppSender.SendAppGossip`.
//! * [`http_service`] — the `http.HTTP` server behind the chain's `/rpc` handler.
//! * [`gather`] — Prometheus metric families for `VM.Gather`.
//! * [`health`] — the `VM.Health` report.
//! * [`shutdown`] — SIGTERM/SIGINT and the `Shutdown` RPC as one stop signal.

mod app_requests;
mod blocks;
mod config;
mod convert;
mod gather;
mod grpc;
mod handshake;
mod health;
mod host_events;
mod http_service;
mod initialize;
pub mod protocol;
// Crate-visible so the test fixtures hand benches this very client (`test_utils::rpcdb_store_at`).
pub(crate) mod rpcdb_store;
mod shutdown;
mod state_sync;
mod v35;
mod vm_service;

pub use config::{set_log_level_hook, LogLevelHook};
pub use protocol::Protocol;

use std::time::Duration;
use tracing::{error, info, warn};

/// Error type of [`run`]: whatever stopped the plugin, as text for the binary to print.
pub type RunError = Box<dyn std::error::Error + Send + Sync>;

/// How long servers get to finish in-flight calls once the plugin is told to stop.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// Serves the plugin in `protocol`: handshake with the host at `engine_addr`, then answer
/// until shutdown.
///
/// Returns `Ok` after the host's `Shutdown` RPC or on SIGTERM/SIGINT, and an error when the
/// handshake fails (for example, the host speaks another protocol version: the error is one
/// line naming both and the plugin file name that works), so the binary exits non-zero and the
/// host's log says why.
pub async fn run(engine_addr: String, protocol: Protocol) -> Result<(), RunError> {
    let mut termination = shutdown::Termination::install();
    let stop = shutdown::StopSignal::new();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| format!("cannot bind the VM server on 127.0.0.1: {e}"))?;
    let addr = listener.local_addr()?;
    let service = vm_service::VmService::new(stop.clone(), protocol);
    let router = match protocol {
        Protocol::V30 => grpc::server().add_service(grpc::vm_server(service)),
        Protocol::V35 => grpc::server().add_service(grpc::vm_server_v35(v35::Vm35(service))),
    };
    let mut server = tokio::spawn(grpc::serve(listener, router, stop.clone()));
    info!(
        %addr,
        engine = %engine_addr,
        version = %vm_service::version(),
        rpcchainvm = protocol.number(),
        "serving vm.VM"
    );

    if let Err(e) = handshake::handshake(&engine_addr, &addr.to_string(), protocol).await {
        // The binary prints the error as the process's last line: once, not also logged here.
        stop.trigger();
        return Err(e.into());
    }
    info!("handshake done (rpcchainvm protocol {})", protocol.number());

    tokio::select! {
        // Checked first: once stopping, the server ending is expected, not a failure.
        biased;
        _ = stop.stopped() => info!("stopping after the host's Shutdown"),
        signal = termination.received() => info!("received {signal}; stopping"),
        ended = &mut server => {
            if !stop.is_triggered() {
                let why = match ended {
                    Ok(Ok(())) => "it stopped".to_string(),
                    Ok(Err(e)) => e.to_string(),
                    Err(e) => e.to_string(),
                };
                error!("the VM server ended unexpectedly: {why}");
                stop.trigger();
                return Err(format!("the VM server ended unexpectedly: {why}").into());
            }
            info!("transfervm plugin stopped");
            return Ok(());
        }
    }
    stop.trigger();
    match tokio::time::timeout(STOP_GRACE, server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => warn!("the VM server ended with an error: {e}"),
        Ok(Err(e)) => warn!("the VM server task failed: {e}"),
        Err(_) => warn!("the VM server did not finish within {STOP_GRACE:?}; exiting anyway"),
    }
    info!("transfervm plugin stopped");
    Ok(())
}

/// An `http.HTTP` handler server started by [`serve_http_handler`]; it stops when dropped.
pub struct HttpHandlerServer {
    /// The loopback address the server listens on.
    pub addr: std::net::SocketAddr,
    stop: shutdown::StopSignal,
}

impl Drop for HttpHandlerServer {
    fn drop(&mut self) {
        self.stop.trigger();
    }
}

/// Serves `api` as the `http.HTTP` gRPC service the host's `/rpc` handler calls, exactly as a
/// hosted chain does, but without a host: the benches use it to measure `HandleSimple` over
/// loopback gRPC, the cost every wallet request through Luxd pays.
pub async fn serve_http_handler(
    api: std::sync::Arc<crate::api::http_entry::Api>,
) -> std::io::Result<HttpHandlerServer> {
    let stop = shutdown::StopSignal::new();
    let addr = http_service::start(api, stop.clone()).await?;
    Ok(HttpHandlerServer { addr, stop })
}
