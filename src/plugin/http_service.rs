//! The `http.HTTP` service behind the chain's `/rpc` handler.
//!
//! The host mounts each handler at `/ext/bc/<chainID><prefix>` and forwards every request
//! without an `Upgrade` header as `HandleSimple` (method, URI, headers, body). This service hands
//! the request to the API layer unchanged and returns its status, headers and body; limits
//! (413 for a body over the cap, etc.) are the API's. Streaming `Handle` is only used for
//! websocket upgrades, which this VM does not offer.

use super::grpc;
use super::shutdown::StopSignal;
use crate::api::http_entry::{Api, ApiRequest};
use crate::pb::http::http_server::Http;
use crate::pb::http::{Element, HandleSimpleHttpRequest, HandleSimpleHttpResponse, HttpRequest};
use std::net::SocketAddr;
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tracing::warn;

/// The prefix the chain's JSON-RPC handler is mounted under.
pub(crate) const RPC_PREFIX: &str = "/rpc";

/// Answers the host's forwarded HTTP requests with the API.
pub(crate) struct HttpService {
    api: Arc<Api>,
}

/// Starts an `http.HTTP` server for `api` on a loopback port; it stops with `stop`.
pub(crate) async fn start(api: Arc<Api>, stop: StopSignal) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let router = grpc::server().add_service(grpc::http_server(HttpService { api }));
    tokio::spawn(async move {
        if let Err(e) = grpc::serve(listener, router, stop).await {
            warn!("HTTP handler server on {addr} ended: {e}");
        }
    });
    Ok(addr)
}

/// Flattens `Element{key, values}` into one `(name, value)` pair per value, in order.
fn flatten_headers(elements: Vec<Element>) -> Vec<(String, String)> {
    elements
        .into_iter()
        .flat_map(|e| {
            let key = e.key;
            e.values.into_iter().map(move |v| (key.clone(), v))
        })
        .collect()
}

/// Groups `(name, value)` pairs into `Element{key, values}`, keeping first-seen order.
fn group_headers(pairs: Vec<(String, String)>) -> Vec<Element> {
    let mut elements: Vec<Element> = Vec::new();
    for (key, value) in pairs {
        match elements
            .iter_mut()
            .find(|e| e.key.eq_ignore_ascii_case(&key))
        {
            Some(element) => element.values.push(value),
            None => elements.push(Element {
                key,
                values: vec![value],
            }),
        }
    }
    elements
}

#[tonic::async_trait]
impl Http for HttpService {
    async fn handle(&self, _request: Request<HttpRequest>) -> Result<Response<()>, Status> {
        Err(Status::unimplemented(
            "transfervm does not support websocket (Upgrade) requests; send JSON-RPC as a plain \
             HTTP POST to /ext/bc/<chainID>/rpc",
        ))
    }

    async fn handle_simple(
        &self,
        request: Request<HandleSimpleHttpRequest>,
    ) -> Result<Response<HandleSimpleHttpResponse>, Status> {
        let request = request.into_inner();
        let response = self
            .api
            .handle(ApiRequest {
                method: request.method,
                url: request.url,
                headers: flatten_headers(request.headers),
                body: request.body,
            })
            .await;
        Ok(Response::new(HandleSimpleHttpResponse {
            code: i32::from(response.status),
            headers: group_headers(response.headers),
            body: response.body,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        let elements = vec![
            Element {
                key: "Accept".into(),
                values: vec!["a".into(), "b".into()],
            },
            Element {
                key: "X-Empty".into(),
                values: vec![],
            },
            Element {
                key: "Content-Type".into(),
                values: vec!["application/json;".into()],
            },
        ];
        let flat = flatten_headers(elements);
        assert_eq!(
            flat,
            vec![
                ("Accept".to_string(), "a".to_string()),
                ("Accept".to_string(), "b".to_string()),
                ("Content-Type".to_string(), "application/json;".to_string()),
            ]
        );
        let grouped = group_headers(flat);
        assert_eq!(grouped.len(), 2);
        assert_eq!(grouped[0].values, vec!["a".to_string(), "b".to_string()]);
    }
}
