//! The one HTTP-shaped entry point: `(method, url, headers, body) -> (status, headers, body)`.
//!
//! It drives jsonrpsee as an in-process tower service (not `raw_json_request`, which rejects
//! batches), after fixing what real clients send: the `application/json;` content type the
//! Avalanche docs teach, a missing content type, and a missing or wrong `Content-Length`.

use super::methods::{module, ApiContext};
use crate::node::Node;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use jsonrpsee::server::{stop_channel, BatchRequestConfig, Server, ServerConfig, ServerHandle};
use jsonrpsee::Methods;
use std::sync::Arc;
use tower::ServiceExt;

/// Size limits of the API.
#[derive(Clone, Debug)]
pub struct ApiLimits {
    /// Largest request body, bytes.
    pub max_body_bytes: u32,
    /// Largest response body, bytes.
    pub max_response_bytes: u32,
    /// Most calls in one JSON-RPC batch.
    pub max_batch: u32,
    /// Most transactions in one `submitTxs`.
    pub max_txs_per_call: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            max_body_bytes: 4 << 20,
            max_response_bytes: 16 << 20,
            max_batch: 1_000,
            max_txs_per_call: 4_096,
        }
    }
}

/// An HTTP request as the host forwards it.
#[derive(Clone, Debug, Default)]
pub struct ApiRequest {
    /// HTTP method.
    pub method: String,
    /// Request URI (path and query).
    pub url: String,
    /// Headers, in order; a name may repeat.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// The answer.
#[derive(Clone, Debug)]
pub struct ApiResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// Static facts the `info` method reports besides what the node knows.
#[derive(Clone, Debug)]
pub struct ChainInfo {
    /// `luxd` when hosted, `dev` for the development chain.
    pub mode: &'static str,
}

/// The jsonrpsee tower service the API drives in process.
type RpcService =
    jsonrpsee::server::TowerService<tower::layer::util::Identity, tower::layer::util::Identity>;

/// The API: methods plus limits, ready to answer requests.
pub struct Api {
    // Built once: cloning it per request is cheap, rebuilding it is not.
    service: RpcService,
    limits: ApiLimits,
    // Keeps the stop channel open; dropping it would stop the service.
    _server_handle: ServerHandle,
}

fn json_error_body(code: i32, message: &str) -> Vec<u8> {
    serde_json::json!({"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": null})
        .to_string()
        .into_bytes()
}

impl Api {
    /// An API over `node`.
    pub fn new(node: Arc<Node>, info: ChainInfo, limits: ApiLimits) -> Self {
        let ctx = ApiContext {
            node,
            mode: info.mode,
            max_txs_per_call: limits.max_txs_per_call,
        };
        let config = ServerConfig::builder()
            .max_request_body_size(limits.max_body_bytes)
            .max_response_body_size(limits.max_response_bytes)
            .set_batch_request_config(BatchRequestConfig::Limit(limits.max_batch))
            .http_only()
            .build();
        let (stop, server_handle) = stop_channel();
        let methods: Methods = module(ctx).into();
        let service = Server::builder()
            .set_config(config)
            .to_service_builder()
            .max_connections(u32::MAX)
            .build(methods, stop);
        Api {
            service,
            limits,
            _server_handle: server_handle,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &ApiLimits {
        &self.limits
    }

    /// Answers one HTTP request.
    pub async fn handle(&self, request: ApiRequest) -> ApiResponse {
        let json_headers = vec![("content-type".to_string(), "application/json".to_string())];
        if request.body.len() > self.limits.max_body_bytes as usize {
            return ApiResponse {
                status: 413,
                headers: json_headers,
                body: json_error_body(
                    -32600,
                    &format!(
                        "request body of {} bytes is over the {}-byte limit",
                        request.body.len(),
                        self.limits.max_body_bytes
                    ),
                ),
            };
        }
        let mut builder = http::Request::builder()
            .method(request.method.as_str())
            .uri(
                request
                    .url
                    .parse::<http::Uri>()
                    .unwrap_or_else(|_| http::Uri::from_static("/")),
            );
        let mut saw_content_type = false;
        for (name, value) in &request.headers {
            let lower = name.to_ascii_lowercase();
            if lower == "content-length" || lower == "transfer-encoding" {
                continue;
            }
            if lower == "content-type" {
                saw_content_type = true;
                builder = builder.header("content-type", normalise_content_type(value));
                continue;
            }
            if let (Ok(n), Ok(v)) = (
                http::HeaderName::try_from(name.as_str()),
                http::HeaderValue::try_from(value.as_str()),
            ) {
                builder = builder.header(n, v);
            }
        }
        if !saw_content_type {
            builder = builder.header("content-type", "application/json");
        }
        builder = builder.header("content-length", request.body.len());
        let http_request = match builder.body(Full::new(Bytes::from(request.body))) {
            Ok(r) => r,
            Err(e) => {
                return ApiResponse {
                    status: 400,
                    headers: json_headers,
                    body: json_error_body(-32600, &format!("bad HTTP request: {e}")),
                }
            }
        };
        let service = self.service.clone();
        match service.oneshot(http_request).await {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                let body = match body.collect().await {
                    Ok(collected) => collected.to_bytes().to_vec(),
                    Err(e) => json_error_body(-32603, &format!("response body: {e}")),
                };
                let headers = parts
                    .headers
                    .iter()
                    .filter_map(|(n, v)| {
                        Some((n.as_str().to_string(), v.to_str().ok()?.to_string()))
                    })
                    .collect();
                ApiResponse {
                    status: parts.status.as_u16(),
                    headers,
                    body,
                }
            }
            Err(e) => ApiResponse {
                status: 500,
                headers: json_headers,
                body: json_error_body(-32603, &e.to_string()),
            },
        }
    }
}

/// `application/json` with any parameters (or a trailing `;`) becomes plain `application/json`;
/// other types pass through, and jsonrpsee answers 415 for them.
fn normalise_content_type(value: &str) -> String {
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json" || essence == "application/json-rpc" || essence.is_empty() {
        "application/json".to_string()
    } else {
        value.to_string()
    }
}
