//! The dev chain's HTTP server: the same paths Luxd serves (JSON-RPC and the explorer page under
//! `/ext/bc/<chainID>` and the `transfervm` alias, each path exactly, as the host mounts them),
//! plus health and metrics.

use crate::api::http_entry::error_response;
use crate::api::{explorer, Api, Endpoint};
use crate::chain::Id;
use crate::node::Node;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// What the server routes to.
pub(crate) struct DevHttp {
    pub(crate) api: Arc<Api>,
    pub(crate) node: Arc<Node>,
    /// The chain ID as text, written once: routing compares paths against it on every request,
    /// and encoding an ID as cb58 is not free.
    chain_id: String,
}

impl DevHttp {
    /// A server for `node`'s chain `chain_id` answering JSON-RPC with `api`.
    pub(crate) fn new(api: Arc<Api>, node: Arc<Node>, chain_id: Id) -> Self {
        DevHttp {
            api,
            node,
            chain_id: chain_id.to_string(),
        }
    }
}

/// Accepts connections until shutdown.
pub(crate) async fn serve(
    listener: TcpListener,
    server: DevHttp,
    mut shutdown: watch::Receiver<bool>,
) {
    let server = Arc::new(server);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                // Answers go out as soon as written: a client waiting for one must not wait for
                // Nagle's timer (hyper writes head and body with one writev, but an answer
                // larger than the socket buffer is split).
                let _ = stream.set_nodelay(true);
                let server = server.clone();
                let mut conn_shutdown = shutdown.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| {
                        let server = server.clone();
                        async move { Ok::<_, std::convert::Infallible>(route(&server, req).await) }
                    });
                    // A client that pipelines gets its answers in as few writes as it sent
                    // requests in: hyper flushes once the requests already read are answered.
                    let conn = http1::Builder::new()
                        .pipeline_flush(true)
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = conn_shutdown.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
}

fn reply(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(body.into()))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

async fn route(server: &DevHttp, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let chain_id = server.chain_id.as_str();
    let endpoint = [chain_id, super::CHAIN_ALIAS]
        .iter()
        .find_map(|base| path.strip_prefix("/ext/bc/")?.strip_prefix(base))
        .and_then(Endpoint::of_chain_path);
    match endpoint {
        Some(Endpoint::Rpc) => return rpc(server, req).await,
        Some(Endpoint::Explorer) => return explorer::respond(req.method()).map(Full::new),
        None => {}
    }
    match path {
        "/ext/health" | "/health" => {
            let store_ok = server.node.store_health().is_ok();
            let summary = server.node.summary();
            let body = serde_json::json!({
                "healthy": store_ok,
                "checks": {
                    "store": if store_ok { "ok" } else { "unreachable" },
                    "lastAcceptedHeight": summary.last_accepted.height,
                    "mempoolSize": summary.mempool_txs,
                }
            });
            reply(
                if store_ok { 200 } else { 503 },
                "application/json",
                body.to_string(),
            )
        }
        "/metrics" => reply(
            200,
            "text/plain; version=0.0.4",
            server.node.metrics().render_text(),
        ),
        _ => reply(
            404,
            "application/json",
            serde_json::json!({
                "error": format!(
                    "no route {path}; JSON-RPC is served at /ext/bc/{chain_id}/rpc, the explorer at \
                     /ext/bc/{chain_id}/explorer"
                )
            })
            .to_string(),
        ),
    }
}

/// Hands hyper's request to the API as it came (the body collected under the size limit), and
/// its answer back: no header conversion either way.
async fn rpc(server: &DevHttp, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let limit = server.api.limits().max_body_bytes as usize;
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let message = format!("request body is over the {limit}-byte limit");
            return error_response(StatusCode::PAYLOAD_TOO_LARGE, -32600, &message).map(Full::new);
        }
    };
    server
        .api
        .handle(Request::from_parts(parts, body))
        .await
        .map(Full::new)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Two requests written at once on one connection get two answers, in order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pipelined_requests_are_answered_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let chain = crate::test_utils::start_dev_chain(dir.path()).await;
        let request = |id: u32| {
            let body =
                format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"transfervm.lastAccepted"}}"#);
            format!(
                "POST /ext/bc/transfervm/rpc HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        let mut stream = tokio::net::TcpStream::connect(chain.local_addr)
            .await
            .unwrap();
        stream
            .write_all(format!("{}{}", request(1), request(2)).as_bytes())
            .await
            .unwrap();
        let mut answers = String::new();
        let mut buf = [0u8; 4096];
        while answers.matches("\"id\":").count() < 2 {
            let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buf))
                .await
                .expect("answers in time")
                .unwrap();
            assert!(n > 0, "closed after {answers}");
            answers.push_str(std::str::from_utf8(&buf[..n]).unwrap());
        }
        assert_eq!(answers.matches("HTTP/1.1 200 OK").count(), 2, "{answers}");
        let first = answers.find("\"id\":1").unwrap();
        let second = answers.find("\"id\":2").unwrap();
        assert!(first < second, "{answers}");
        chain.stop().await;
    }
}
