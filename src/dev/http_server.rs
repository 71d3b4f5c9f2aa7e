//! The dev chain's HTTP server: the same paths Luxd serves (JSON-RPC and the explorer page under
//! `/ext/bc/<chainID>` and the `transfervm` alias, each path exactly, as the host mounts them),
//! plus health and metrics. It bounds what clients hold ([`HttpLimits`]: connections, header,
//! idle and body timeouts) and pauses after accept errors rather than spin.

use crate::api::http_entry::error_response;
use crate::api::{explorer, Api, Endpoint};
use crate::chain::Id;
use crate::node::Node;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

/// What the dev server lets one client hold. It is the one server here that faces clients with
/// no node in front, so an idle, slow or flooding client must not take it over.
#[derive(Clone, Debug)]
pub struct HttpLimits {
    /// Most connections served at once. One more is answered 503 and closed at once rather
    /// than queued, so a client learns to retry instead of hanging.
    pub max_connections: usize,
    /// How long a connection may take to send a request's head (hyper's
    /// `header_read_timeout`). hyper counts it from when it starts waiting for a head: from
    /// accept, and on a kept-alive connection from the previous answer, so it is also the idle
    /// limit after which a keep-alive connection is closed.
    pub header_read_timeout: Duration,
    /// How long a JSON-RPC request's body may take to arrive once its head has (hyper has no
    /// such setting): a client trickling a body is answered 408 and the connection closed.
    pub body_read_timeout: Duration,
}

/// [`HttpLimits::max_connections`] unless told otherwise: far more than a developer's tools
/// open, and below the 1024 descriptors a process is commonly allowed less the store's.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 1000;

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: DEFAULT_MAX_CONNECTIONS as usize,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
        }
    }
}

/// What the server routes to.
pub(crate) struct DevHttp {
    pub(crate) api: Arc<Api>,
    pub(crate) node: Arc<Node>,
    /// The chain ID as text, written once: routing compares paths against it on every request,
    /// and encoding an ID as cb58 is not free.
    chain_id: String,
    limits: HttpLimits,
}

impl DevHttp {
    /// A server for `node`'s chain `chain_id` answering JSON-RPC with `api`, within `limits`.
    pub(crate) fn new(api: Arc<Api>, node: Arc<Node>, chain_id: Id, limits: HttpLimits) -> Self {
        DevHttp {
            api,
            node,
            chain_id: chain_id.to_string(),
            limits,
        }
    }
}

/// Where connections come from: the TCP listener, or in tests one that fails on demand.
pub(crate) trait Listener: Send + 'static {
    /// The next connection, or why there is none (e.g. EMFILE, "too many open files").
    fn next(&mut self) -> impl Future<Output = io::Result<TcpStream>> + Send;
}

impl Listener for TcpListener {
    async fn next(&mut self) -> io::Result<TcpStream> {
        self.accept().await.map(|(stream, _)| stream)
    }
}

/// How long the accept loop waits after an accept error. Errors such as EMFILE or ENFILE
/// repeat at once until a descriptor is freed: retrying without a pause spins a core, and a
/// pause this short still serves again as soon as one is.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// At most one log line per this long for a repeating event (accept errors, refused
/// connections), with the count of the others: a flood must not become a flood of logs.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// A rate limit for one kind of log line.
#[derive(Default)]
struct LogThrottle {
    last: Option<Instant>,
    unlogged: u64,
}

impl LogThrottle {
    /// Counts one event; `Some(events since the last line, this one included)` when a line is
    /// due.
    fn due(&mut self) -> Option<u64> {
        self.unlogged += 1;
        if self.last.is_some_and(|last| last.elapsed() < LOG_EVERY) {
            return None;
        }
        self.last = Some(Instant::now());
        Some(std::mem::take(&mut self.unlogged))
    }
}

/// Errors of one connection that the client ended before it was accepted: the next accept
/// needs no pause.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    )
}

/// What a connection over the cap is told before it is closed (RFC 9110 503; `Retry-After` in
/// seconds).
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n\
    retry-after: 1\r\ncontent-length: 0\r\n\r\n";

/// Accepts connections until shutdown, serving at most `limits.max_connections` at once.
pub(crate) async fn serve(
    mut listener: impl Listener,
    server: DevHttp,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(server.limits.max_connections));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(server.limits.header_read_timeout)
        // A client that pipelines gets its answers in as few writes as it sent requests in:
        // hyper flushes once the requests already read are answered.
        .pipeline_flush(true);
    let builder = Arc::new(builder);
    let server = Arc::new(server);
    let mut connections = tokio::task::JoinSet::new();
    let (mut accept_errors, mut refusals) = (LogThrottle::default(), LogThrottle::default());
    loop {
        let accepted = tokio::select! {
            accepted = listener.next() => accepted,
            _ = shutdown.changed() => break,
        };
        while connections.try_join_next().is_some() {}
        let stream = match accepted {
            Ok(stream) => stream,
            Err(error) if is_connection_error(&error) => continue,
            Err(error) => {
                if let Some(count) = accept_errors.due() {
                    tracing::warn!(
                        "dev server: accepting a connection failed {count} time(s) ({error}); \
                         pausing {} ms after each failure",
                        ACCEPT_BACKOFF.as_millis()
                    );
                }
                tokio::select! {
                    _ = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    _ = shutdown.changed() => break,
                }
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Over the cap: say so if the socket takes it now, and close.
            let _ = stream.try_write(OVER_CAPACITY);
            if let Some(count) = refusals.due() {
                tracing::warn!(
                    "dev server: {count} connection(s) refused, {} already open",
                    server.limits.max_connections
                );
            }
            continue;
        };
        // Answers go out as soon as written: a client waiting for one must not wait for
        // Nagle's timer (hyper writes head and body with one writev, but an answer larger
        // than the socket buffer is split).
        let _ = stream.set_nodelay(true);
        let server = server.clone();
        let builder = builder.clone();
        let mut conn_shutdown = shutdown.clone();
        connections.spawn(async move {
            let _slot = slot;
            let service = service_fn(move |req| {
                let server = server.clone();
                async move { Ok::<_, std::convert::Infallible>(route(&server, req).await) }
            });
            let conn = builder.serve_connection(TokioIo::new(stream), service);
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
            let store = server.node.store_health();
            let store_ok = store.is_ok();
            let summary = server.node.summary();
            let body = serde_json::json!({
                "healthy": store_ok,
                "checks": {
                    "store": store.err().map_or_else(|| "ok".to_string(), |e| e.to_string()),
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
    let timeout = server.limits.body_read_timeout;
    let body = match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(_)) => {
            let message = format!("request body is over the {limit}-byte limit");
            return error_response(StatusCode::PAYLOAD_TOO_LARGE, -32600, &message).map(Full::new);
        }
        Err(_) => {
            let message = format!(
                "request body not received within {} ms",
                timeout.as_millis()
            );
            let mut response = error_response(StatusCode::REQUEST_TIMEOUT, -32600, &message);
            // The rest of the body may never come: hyper must not wait for it to reuse the
            // connection.
            response.headers_mut().insert(
                hyper::header::CONNECTION,
                hyper::header::HeaderValue::from_static("close"),
            );
            return response.map(Full::new);
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
    use super::*;
    use crate::api::{ApiLimits, ChainInfo};
    use crate::dev::{DevChain, DevOptions};
    use std::sync::atomic::{AtomicU64, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A dev chain on 127.0.0.1:0 serving within `http`.
    async fn start_with(dir: &std::path::Path, http: HttpLimits) -> DevChain {
        crate::dev::start(DevOptions {
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.to_path_buf(),
            genesis: None,
            banner: false,
            account_history: false,
            http,
        })
        .await
        .unwrap()
    }

    /// One `lastAccepted` call as raw HTTP/1.1, kept alive.
    fn request(id: u32) -> String {
        let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"transfervm.lastAccepted"}}"#);
        format!(
            "POST /ext/bc/transfervm/rpc HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    /// Reads until the text read contains `until`, or the peer closes, or `within` passes:
    /// what was read, and whether the peer closed (EOF or reset).
    async fn read_until(stream: &mut TcpStream, until: &str, within: Duration) -> (String, bool) {
        let deadline = tokio::time::Instant::now() + within;
        let mut text = String::new();
        let mut buf = [0u8; 4096];
        while until.is_empty() || !text.contains(until) {
            match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
                Err(_) => return (text, false),
                Ok(Ok(0)) | Ok(Err(_)) => return (text, true),
                Ok(Ok(n)) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
        (text, false)
    }

    /// A connection that sent `request(id)` and got its answer, still open.
    async fn served(chain: &DevChain, id: u32) -> TcpStream {
        let mut stream = TcpStream::connect(chain.local_addr).await.unwrap();
        stream.write_all(request(id).as_bytes()).await.unwrap();
        let (answer, closed) = read_until(
            &mut stream,
            &format!("\"id\":{id}"),
            Duration::from_secs(10),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(!closed, "{answer}");
        stream
    }

    /// Over the cap a connection is told 503 and closed at once (not queued), the ones being
    /// served go on, and a slot freed by a closed connection serves a new one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connections_over_the_cap_are_refused_at_once_and_slots_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let limits = HttpLimits {
            max_connections: 2,
            ..HttpLimits::default()
        };
        let chain = start_with(dir.path(), limits).await;
        let first = served(&chain, 1).await;
        let mut second = served(&chain, 2).await;
        for _ in 0..3 {
            let mut over = TcpStream::connect(chain.local_addr).await.unwrap();
            let (answer, closed) = read_until(&mut over, "", Duration::from_secs(5)).await;
            assert!(closed, "an extra connection was kept: {answer:?}");
            assert!(
                answer.is_empty() || answer.starts_with("HTTP/1.1 503"),
                "{answer}"
            );
        }
        second.write_all(request(3).as_bytes()).await.unwrap();
        let (answer, _) = read_until(&mut second, "\"id\":3", Duration::from_secs(10)).await;
        assert!(answer.contains("\"id\":3"), "{answer}");
        // The first closes; its slot serves a new connection once the server has seen it go.
        drop(first);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut next = TcpStream::connect(chain.local_addr).await.unwrap();
            let _ = next.write_all(request(4).as_bytes()).await;
            let (answer, _) = read_until(&mut next, "\"id\":4", Duration::from_secs(5)).await;
            if answer.contains("\"id\":4") {
                break;
            }
            assert!(Instant::now() < deadline, "no slot came back: {answer}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        chain.stop().await;
    }

    /// A connection that never completes a request head is closed after the header read
    /// timeout, and so is a kept-alive connection left idle after an answer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_heads_and_idle_keep_alive_connections_are_closed() {
        let dir = tempfile::tempdir().unwrap();
        let timeout = Duration::from_millis(300);
        let limits = HttpLimits {
            header_read_timeout: timeout,
            ..HttpLimits::default()
        };
        let chain = start_with(dir.path(), limits).await;
        let mut slow = TcpStream::connect(chain.local_addr).await.unwrap();
        let started = Instant::now();
        slow.write_all(b"POST /ext/bc/transfervm/rpc HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap();
        let (answer, closed) = read_until(&mut slow, "", Duration::from_secs(5)).await;
        assert!(closed, "a half-sent head was kept: {answer:?}");
        assert!(started.elapsed() >= timeout - Duration::from_millis(50));

        let mut idle = served(&chain, 1).await;
        let answered = Instant::now();
        let (answer, closed) = read_until(&mut idle, "", Duration::from_secs(5)).await;
        assert!(closed, "an idle connection was kept: {answer:?}");
        assert!(answered.elapsed() >= timeout - Duration::from_millis(50));
        chain.stop().await;
    }

    /// A body that stops arriving is answered 408 after the body read timeout, and the
    /// connection closed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_trickled_body_is_answered_408_and_closed() {
        let dir = tempfile::tempdir().unwrap();
        let limits = HttpLimits {
            body_read_timeout: Duration::from_millis(300),
            ..HttpLimits::default()
        };
        let chain = start_with(dir.path(), limits).await;
        let mut stream = TcpStream::connect(chain.local_addr).await.unwrap();
        stream
            .write_all(
                b"POST /ext/bc/transfervm/rpc HTTP/1.1\r\nhost: x\r\n\
                  content-type: application/json\r\ncontent-length: 100\r\n\r\n{\"jsonrpc\"",
            )
            .await
            .unwrap();
        let (answer, closed) = read_until(&mut stream, "", Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("-32600"), "{answer}");
        assert!(closed, "{answer}");
        chain.stop().await;
    }

    /// A listener whose accepts fail with EMFILE until `fail_until`, counting the failures.
    struct FailingListener {
        real: TcpListener,
        fail_until: Instant,
        failures: Arc<AtomicU64>,
    }

    impl Listener for FailingListener {
        async fn next(&mut self) -> io::Result<TcpStream> {
            if Instant::now() < self.fail_until {
                self.failures.fetch_add(1, Ordering::Relaxed);
                const EMFILE: i32 = 24;
                return Err(io::Error::from_raw_os_error(EMFILE));
            }
            self.real.next().await
        }
    }

    /// Accept errors such as "too many open files" are retried after a pause, not in a loop
    /// that spins a core, and the server serves again once accepting works.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn accept_errors_back_off_and_serving_resumes() {
        let real = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = real.local_addr().unwrap();
        let failing_for = Duration::from_millis(500);
        let failures = Arc::new(AtomicU64::new(0));
        let listener = FailingListener {
            real,
            fail_until: Instant::now() + failing_for,
            failures: failures.clone(),
        };
        let node = crate::test_utils::open_node();
        let api = Api::new(node.clone(), ChainInfo::DEV, ApiLimits::default());
        let server = DevHttp::new(
            Arc::new(api),
            node,
            crate::test_utils::CHAIN_ID,
            HttpLimits::default(),
        );
        let (stop, stopped) = watch::channel(false);
        let serving = tokio::spawn(serve(listener, server, stopped));
        // Waits in the kernel's queue while accepting fails, then is served.
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request(1).as_bytes()).await.unwrap();
        let (answer, _) = read_until(&mut stream, "\"id\":1", Duration::from_secs(10)).await;
        assert!(answer.contains("\"id\":1"), "{answer}");
        let failed = failures.load(Ordering::Relaxed);
        let most = (failing_for.as_millis() / ACCEPT_BACKOFF.as_millis()) as u64 + 2;
        assert!(
            (2..=most).contains(&failed),
            "{failed} accept failures in {failing_for:?}"
        );
        let _ = stop.send(true);
        drop(stream);
        serving.await.unwrap();
    }

    #[test]
    fn log_lines_are_throttled_and_count_what_they_skipped() {
        let mut throttle = LogThrottle::default();
        assert_eq!(throttle.due(), Some(1));
        assert_eq!(throttle.due(), None);
        assert_eq!(throttle.due(), None);
        throttle.last = Some(Instant::now() - LOG_EVERY);
        assert_eq!(throttle.due(), Some(3));
    }

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
