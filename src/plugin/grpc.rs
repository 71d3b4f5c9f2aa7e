//! gRPC plumbing shared by every server and client of the plugin.
//!
//! The host runs its servers and clients with unlimited message sizes; tonic's defaults cap
//! decoding at 4 MiB, which is exactly the API's body cap, so a large request would fail as a
//! gRPC error before the API could answer 413. Every server and client built here lifts that
//! cap. No client sends HTTP/2 keepalive pings: the host's servers refuse pings more often than
//! every 5 s, and loopback connections do not need them.

use super::shutdown::StopSignal;
use crate::pb::appsender::app_sender_client::AppSenderClient;
use crate::pb::http::http_server::{Http, HttpServer};
use crate::pb::messenger::messenger_client::MessengerClient;
use crate::pb::rpcdb::database_client::DatabaseClient;
use crate::pb::vm::runtime::runtime_client::RuntimeClient;
use crate::pb::vm::vm_server::{Vm, VmServer};
use std::time::Duration;
use tonic::transport::server::{Router, TcpIncoming};
use tonic::transport::{Channel, Endpoint, Server};

/// Largest gRPC message accepted or sent, either way: unlimited, like the host.
pub(crate) const MAX_MESSAGE_BYTES: usize = usize::MAX;

/// How long establishing a TCP connection to a host service may take.
pub(crate) const DIAL_TIMEOUT: Duration = Duration::from_secs(5);

/// A server builder with the plugin's settings.
pub(crate) fn server() -> Server {
    Server::builder()
        .tcp_nodelay(true)
        // No server-initiated pings: the host pings us every 30 s and we just answer.
        .http2_keepalive_interval(None)
}

/// Protocol 35's `vm.VM` service with message limits lifted.
pub(crate) fn vm_server_v35<T: crate::pb::v35::vm::vm_server::Vm>(
    service: T,
) -> crate::pb::v35::vm::vm_server::VmServer<T> {
    crate::pb::v35::vm::vm_server::VmServer::new(service)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// The `vm.VM` service with message limits lifted.
pub(crate) fn vm_server<T: Vm>(service: T) -> VmServer<T> {
    VmServer::new(service)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// The `http.HTTP` service with message limits lifted, so a body over the API's cap reaches
/// the API and gets its 413.
pub(crate) fn http_server<T: Http>(service: T) -> HttpServer<T> {
    HttpServer::new(service)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// Serves `router` on `listener` until `stop` fires, then finishes in-flight calls.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    stop: StopSignal,
) -> Result<(), tonic::transport::Error> {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    router
        .serve_with_incoming_shutdown(incoming, async move { stop.stopped().await })
        .await
}

/// An endpoint for a host address as the host writes it (`127.0.0.1:port`).
pub(crate) fn endpoint(addr: &str) -> Result<Endpoint, String> {
    let uri = if addr.contains("://") {
        addr.to_string()
    } else {
        format!("http://{addr}")
    };
    Endpoint::from_shared(uri)
        .map(|e| e.connect_timeout(DIAL_TIMEOUT).tcp_nodelay(true))
        .map_err(|e| format!("invalid address {addr:?}: {e}"))
}

/// A `vm.runtime.Runtime` client with message limits lifted.
pub(crate) fn runtime_client(channel: Channel) -> RuntimeClient<Channel> {
    RuntimeClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// An `rpcdb.Database` client with message limits lifted.
pub(crate) fn database_client(channel: Channel) -> DatabaseClient<Channel> {
    DatabaseClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// A `messenger.Messenger` client with message limits lifted.
pub(crate) fn messenger_client(channel: Channel) -> MessengerClient<Channel> {
    MessengerClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// Protocol 35's `appsender.AppSender` client with message limits lifted.
pub(crate) fn app_sender_client_v35(
    channel: Channel,
) -> crate::pb::v35::appsender::app_sender_client::AppSenderClient<Channel> {
    crate::pb::v35::appsender::app_sender_client::AppSenderClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// An `appsender.AppSender` client with message limits lifted.
pub(crate) fn app_sender_client(channel: Channel) -> AppSenderClient<Channel> {
    AppSenderClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}
