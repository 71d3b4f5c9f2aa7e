//! The one HTTP entry point: `http::Request<Bytes> -> http::Response<Bytes>`, so the dev
//! server passes hyper's request straight through and `HandleSimple` converts its proto once.
//!
//! It drives jsonrpsee as an in-process tower service (not `raw_json_request`, which rejects
//! batches), after fixing what real clients send: the `application/json;` content type the
//! Avalanche docs teach, a missing content type, and a missing or wrong `Content-Length`.
//!
//! A single call to a registered method — what nearly every request is — skips the tower
//! service: it is parsed with jsonrpsee's own request type and handed to the method's callback
//! directly, and the answer is the bytes jsonrpsee writes, under the status and content type its
//! HTTP transport gives them. The service's per-request machinery (connection guard and state,
//! extensions, a boxed body copied out again) cost about a fifth of a no-op request's CPU on the
//! dev chain. Everything else (batches, notifications, unknown methods, malformed or refused
//! requests) goes through the service, so every error reads exactly as jsonrpsee words it.
//! Before the service reads a body, `api::envelope` replaces the requests the JSON-RPC 2.0
//! specification calls invalid but jsonrpsee would take for notifications or parse errors; a
//! reply with nothing in it (notifications) becomes HTTP 204.

use super::envelope;
use super::methods::{module, ApiContext};
use crate::node::Node;
use http::header::{Entry, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use jsonrpsee::server::{stop_channel, BatchRequestConfig, Server, ServerConfig, ServerHandle};
use jsonrpsee::types::{Params, Request};
use jsonrpsee::{ConnectionId, Extensions, MethodCallback, Methods};
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

/// Static facts the `info` method reports besides what the node knows.
#[derive(Clone, Debug)]
pub struct ChainInfo {
    /// `luxd` when hosted, `dev` for the development chain.
    pub mode: &'static str,
    /// The rpcchainvm protocol the host was greeted with; `None` for the dev chain, which has
    /// no host (wallets and operators read which one a node runs from `info`).
    pub rpcchainvm: Option<u32>,
}

impl ChainInfo {
    /// The development chain's facts: no host, no protocol.
    pub const DEV: ChainInfo = ChainInfo {
        mode: "dev",
        rpcchainvm: None,
    };
}

/// The jsonrpsee tower service the API drives in process.
type RpcService =
    jsonrpsee::server::TowerService<tower::layer::util::Identity, tower::layer::util::Identity>;

/// The API: methods plus limits, ready to answer requests.
pub struct Api {
    // Built once: cloning it per request is cheap, rebuilding it is not.
    service: RpcService,
    /// The same methods the service routes to, for single calls answered directly.
    methods: Methods,
    limits: ApiLimits,
    // Keeps the stop channel open; dropping it would stop the service.
    _server_handle: ServerHandle,
}

/// A JSON-RPC error answer with no request id: what every entry point sends for a request it
/// refuses before jsonrpsee sees it (too large, not HTTP), so a wallet parses one error shape.
pub fn error_response(status: StatusCode, code: i32, message: &str) -> http::Response<Bytes> {
    let body = serde_json::json!({"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": null});
    let mut response = http::Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The answer to a request that is not valid HTTP (e.g. the host forwarded an impossible
/// method): 400, worded the same wherever the request was built.
pub fn bad_request(error: &dyn std::fmt::Display) -> http::Response<Bytes> {
    error_response(
        StatusCode::BAD_REQUEST,
        -32600,
        &format!("bad HTTP request: {error}"),
    )
}

impl Api {
    /// An API over `node`.
    pub fn new(node: Arc<Node>, info: ChainInfo, limits: ApiLimits) -> Self {
        let ctx = ApiContext {
            node,
            mode: info.mode,
            rpcchainvm: info.rpcchainvm,
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
            .build(methods.clone(), stop);
        Api {
            service,
            methods,
            limits,
            _server_handle: server_handle,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &ApiLimits {
        &self.limits
    }

    /// Answers one HTTP request. Callers hand over the request as they hold it (the dev server's
    /// hyper request, `HandleSimple`'s converted one) and this fixes what real clients send: a
    /// body over the limit is refused before parsing, the client's framing headers are replaced
    /// by a correct `Content-Length`, and JSON content types are normalised.
    pub async fn handle(&self, request: http::Request<Bytes>) -> http::Response<Bytes> {
        let limit = self.limits.max_body_bytes;
        if request.body().len() > limit as usize {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                -32600,
                &format!(
                    "request body of {} bytes is over the {limit}-byte limit",
                    request.body().len()
                ),
            );
        }
        let (parts, body) = request.into_parts();
        if let Some(response) = self.single_call(&parts, &body).await {
            return response;
        }
        self.through_service(parts, body).await
    }

    /// Answers through jsonrpsee's tower service: what every request did before the direct
    /// path, and what the requests it does not take still get.
    async fn through_service(
        &self,
        mut parts: http::request::Parts,
        body: Bytes,
    ) -> http::Response<Bytes> {
        let body = envelope::normalise(&body, self.limits.max_batch).unwrap_or(body);
        prepare_headers(&mut parts.headers, body.len());
        let request = http::Request::from_parts(parts, Full::new(body));
        match self.service.clone().oneshot(request).await {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                let body = match body.collect().await {
                    Ok(collected) => collected.to_bytes(),
                    Err(e) => error_response(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        -32603,
                        &format!("response body: {e}"),
                    )
                    .into_body(),
                };
                no_content_if_empty(http::Response::from_parts(parts, body))
            }
            Err(e) => error_response(StatusCode::INTERNAL_SERVER_ERROR, -32603, &e.to_string()),
        }
    }

    /// [`through_service`](Self::through_service) for a whole request: tests hold the direct
    /// path's answers to the service's.
    #[cfg(test)]
    pub(crate) async fn handle_through_service(
        &self,
        request: http::Request<Bytes>,
    ) -> http::Response<Bytes> {
        let (parts, body) = request.into_parts();
        self.through_service(parts, body).await
    }

    /// Answers a single call to a registered method directly (see the module doc), or `None`
    /// for anything the tower service must answer. It takes exactly the requests the service
    /// would route to a method call: POST, a JSON content type or none (as
    /// [`prepare_headers`] lets through), a body whose first non-blank byte among the first 128
    /// is `{` (jsonrpsee's test for a single call) and that parses as jsonrpsee's `Request` with
    /// structured params (what [`envelope`] lets through unchanged).
    pub(super) async fn single_call(
        &self,
        parts: &http::request::Parts,
        body: &Bytes,
    ) -> Option<http::Response<Bytes>> {
        if parts.method != http::Method::POST
            || !parts.headers.get(CONTENT_TYPE).is_none_or(is_json)
        {
            return None;
        }
        let first = body.iter().take(128).find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') {
            return None;
        }
        let request: Request<'_> = serde_json::from_slice(body).ok()?;
        if !envelope::params_are_structured(request.params.as_deref()) {
            return None;
        }
        let (_, callback) = self.methods.method_with_name(&request.method)?;
        let params = Params::new(request.params.as_ref().map(|p| p.get()));
        let max_response = self.limits.max_response_bytes as usize;
        let answer = match callback {
            MethodCallback::Sync(call) => call(request.id, params, max_response, Extensions::new()),
            MethodCallback::Async(call) => {
                call(
                    request.id.into_owned(),
                    params.into_owned(),
                    ConnectionId(0),
                    max_response,
                    Extensions::new(),
                )
                .await
            }
            MethodCallback::Subscription(_) | MethodCallback::Unsubscription(_) => return None,
        };
        let json = String::from(Box::<str>::from(answer.into_json()));
        let mut response = http::Response::new(Bytes::from(json));
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static(JSONRPSEE_CONTENT_TYPE),
        );
        Some(response)
    }
}

/// jsonrpsee 0.26 answers a notification, and a batch of nothing but notifications, with a 200
/// whose body is the JSON `null` (every other answer is an object or an array). The
/// specification says the server does not reply, so over HTTP that is 204 No Content, with no
/// body and no content type to mislead a client into parsing one.
fn no_content_if_empty(mut response: http::Response<Bytes>) -> http::Response<Bytes> {
    if response.status() == StatusCode::OK && matches!(&response.body()[..], b"" | b"null") {
        *response.status_mut() = StatusCode::NO_CONTENT;
        response.headers_mut().remove(CONTENT_TYPE);
        *response.body_mut() = Bytes::new();
    }
    response
}

/// The content type jsonrpsee's HTTP transport gives every JSON answer.
const JSONRPSEE_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// Replaces the client's `Content-Length`/`Transfer-Encoding` with the length of the body in
/// hand (the host forwards them unchanged, sometimes wrong), and gives jsonrpsee a content type
/// it accepts: any JSON one, or none at all, becomes `application/json`.
pub(super) fn prepare_headers(headers: &mut HeaderMap, body_len: usize) {
    headers.remove(TRANSFER_ENCODING);
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body_len));
    match headers.entry(CONTENT_TYPE) {
        Entry::Occupied(mut values) => {
            for value in values.iter_mut() {
                if is_json(value) {
                    *value = HeaderValue::from_static("application/json");
                }
            }
        }
        Entry::Vacant(slot) => {
            slot.insert(HeaderValue::from_static("application/json"));
        }
    }
}

/// Whether a content type means JSON: `application/json` (or `-rpc`) with any parameters or a
/// trailing `;` as the Avalanche docs teach, or empty. Other types pass through, and jsonrpsee
/// answers 415 for them.
fn is_json(value: &HeaderValue) -> bool {
    let Ok(text) = std::str::from_utf8(value.as_bytes()) else {
        return false;
    };
    let essence = text.split(';').next().unwrap_or("").trim();
    essence.is_empty()
        || essence.eq_ignore_ascii_case("application/json")
        || essence.eq_ignore_ascii_case("application/json-rpc")
}
