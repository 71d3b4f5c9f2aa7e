//! A small JSON-RPC client over plain HTTP, for the CLI and the load generator.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
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
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| RpcError::Transport(e.to_string()))?
            .to_bytes();
        serde_json::from_slice(&bytes).map_err(|_| {
            RpcError::Transport(format!(
                "HTTP {status} from {}: {}",
                self.url,
                String::from_utf8_lossy(&bytes)
            ))
        })
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
