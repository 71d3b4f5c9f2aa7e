//! A small JSON-RPC client over plain HTTP, for the CLI and the load generator.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// An error from the node (with its JSON-RPC code) or from the transport.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RpcError {
    /// The node answered with a JSON-RPC error.
    #[error("{message} (code {code})")]
    Node {
        /// Stable code.
        code: i64,
        /// Human message.
        message: String,
        /// `data.reason`, when given.
        reason: Option<String>,
    },
    /// The request did not get a JSON-RPC answer.
    #[error("{0}")]
    Transport(String),
}

/// A client for one JSON-RPC URL.
#[derive(Clone)]
pub struct RpcClient {
    url: hyper::Uri,
    client: Client<HttpConnector, Full<Bytes>>,
    next_id: std::sync::Arc<AtomicU64>,
}

impl RpcClient {
    /// A client for `url` (http only: the node's API is plain HTTP on loopback or behind TLS
    /// termination).
    pub fn new(url: &str) -> Result<Self, RpcError> {
        let url: hyper::Uri = url
            .parse()
            .map_err(|e| RpcError::Transport(format!("bad URL {url:?}: {e}")))?;
        if url.scheme_str() != Some("http") {
            return Err(RpcError::Transport(format!(
                "only http:// URLs are supported, got {url}"
            )));
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(64)
            // Under the dev server's 10 s idle limit (`dev::HttpLimits::header_read_timeout`):
            // a connection idle that long is not reused, so a request never races the
            // server closing it.
            .pool_idle_timeout(std::time::Duration::from_secs(5))
            .build(connector);
        Ok(RpcClient {
            url,
            client,
            next_id: Default::default(),
        })
    }

    /// Sends a raw JSON body and returns the parsed JSON answer.
    pub async fn post(&self, body: &Value) -> Result<Value, RpcError> {
        self.post_bytes(Bytes::from(body.to_string())).await
    }

    /// Sends a body already encoded (the load generator encodes its requests before timing
    /// them) and returns the parsed JSON answer.
    pub async fn post_bytes(&self, body: Bytes) -> Result<Value, RpcError> {
        let request = hyper::Request::post(self.url.clone())
            .header("content-type", "application/json")
            .body(Full::new(body))
            .map_err(|e| RpcError::Transport(e.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| RpcError::Transport(format!("cannot reach {}: {e}", self.url)))?;
        let status = response.status();
        let bytes = body_bytes(response).await?;
        json_answer(&self.url, status, &bytes)
    }

    /// Calls one method with named params.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let answer = self
            .post(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await?;
        into_result(answer)
    }
}

/// One keep-alive HTTP/1.1 connection to the node, driven in its caller's task: for the load
/// generator, whose workers each send one request after another. [`RpcClient`]'s pooled
/// client runs every connection as a task of its own and hands each request and answer over
/// between tasks; here the connection is polled beside the request, so a request costs the
/// client no task switch. A connection the node closed is opened again for the next request.
pub struct RpcConnection {
    url: hyper::Uri,
    open: Option<(http1::SendRequest<Full<Bytes>>, Http1Connection)>,
}

/// The connection half of an HTTP/1.1 client connection over TCP.
type Http1Connection = http1::Connection<TokioIo<tokio::net::TcpStream>, Full<Bytes>>;

impl RpcConnection {
    /// A connection to `client`'s URL, opened at the first request.
    pub fn new(client: &RpcClient) -> Self {
        RpcConnection {
            url: client.url.clone(),
            open: None,
        }
    }

    async fn connect(
        &self,
    ) -> Result<(http1::SendRequest<Full<Bytes>>, Http1Connection), RpcError> {
        let unreachable = |e: &dyn std::fmt::Display| {
            RpcError::Transport(format!("cannot reach {}: {e}", self.url))
        };
        let host = self.url.host().unwrap_or("127.0.0.1");
        let port = self.url.port_u16().unwrap_or(80);
        let stream = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| unreachable(&e))?;
        stream.set_nodelay(true).map_err(|e| unreachable(&e))?;
        http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| unreachable(&e))
    }

    /// [`RpcClient::post_bytes`] over this connection.
    pub async fn post_bytes(&mut self, body: Bytes) -> Result<Value, RpcError> {
        let (mut sender, mut connection) = match self.open.take() {
            Some(open) => open,
            None => self.connect().await?,
        };
        let target = self.url.path_and_query().map_or("/", |p| p.as_str());
        let host = self.url.authority().map_or("", |a| a.as_str());
        let exchange = async {
            sender
                .ready()
                .await
                .map_err(|e| RpcError::Transport(e.to_string()))?;
            let request = hyper::Request::post(target)
                .header("host", host)
                .header("content-type", "application/json")
                .body(Full::new(body))
                .map_err(|e| RpcError::Transport(e.to_string()))?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| RpcError::Transport(format!("{}: {e}", self.url)))?;
            let status = response.status();
            let bytes = body_bytes(response).await?;
            Ok::<_, RpcError>((status, bytes))
        };
        let outcome = tokio::select! {
            answer = exchange => Ok(answer),
            closed = &mut connection => Err(closed),
        };
        let (status, bytes) = match outcome {
            // The connection is kept for the next request unless this one failed.
            Ok(answer) => {
                let answer = answer?;
                self.open = Some((sender, connection));
                answer
            }
            Err(closed) => {
                return Err(RpcError::Transport(format!(
                    "{} closed the connection: {}",
                    self.url,
                    closed
                        .err()
                        .map_or_else(|| "no answer".to_string(), |e| e.to_string())
                )))
            }
        };
        json_answer(&self.url, status, &bytes)
    }
}

/// The whole body of an answer.
async fn body_bytes(response: hyper::Response<hyper::body::Incoming>) -> Result<Bytes, RpcError> {
    Ok(response
        .into_body()
        .collect()
        .await
        .map_err(|e| RpcError::Transport(e.to_string()))?
        .to_bytes())
}

/// Parses an answer's body as JSON; one that is not JSON (a proxy's error page, an empty 204)
/// is reported with its status and body, which is what the user needs to see.
fn json_answer(
    url: &hyper::Uri,
    status: hyper::StatusCode,
    bytes: &[u8],
) -> Result<Value, RpcError> {
    serde_json::from_slice(bytes).map_err(|_| {
        RpcError::Transport(format!(
            "HTTP {status} from {url}: {}",
            String::from_utf8_lossy(bytes)
        ))
    })
}

/// Splits a JSON-RPC response object into its result or error.
pub fn into_result(mut answer: Value) -> Result<Value, RpcError> {
    if let Some(error) = answer.get("error") {
        return Err(RpcError::Node {
            code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            reason: error
                .pointer("/data/reason")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
    answer
        .get_mut("result")
        .map(Value::take)
        .ok_or_else(|| RpcError::Transport(format!("not a JSON-RPC response: {answer}")))
}
