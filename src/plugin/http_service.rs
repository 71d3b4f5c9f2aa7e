//! The `http.HTTP` service behind the chain's `/rpc` and `/explorer` handlers.
//!
//! The host mounts each handler at exactly `/ext/bc/<chainID><prefix>` (no sub-paths) and
//! forwards every request without an `Upgrade` header as `HandleSimple` (method, URI as the
//! client sent it, headers, body); see `api::explorer` for the sources. Both prefixes point at
//! this one server, so it routes on the request path's last segment: `/rpc` to the API layer
//! unchanged (limits such as 413 for a body over the cap are the API's), `/explorer` to the
//! explorer page, anything else 404. Streaming `Handle` is only used for websocket upgrades,
//! which this VM does not offer.

use super::grpc;
use super::shutdown::StopSignal;
use crate::api::explorer::{self, Endpoint};
use crate::api::http_entry::{bad_request, error_response, Api};
use crate::pb::http::http_server::Http;
use crate::pb::http::{Element, HandleSimpleHttpRequest, HandleSimpleHttpResponse, HttpRequest};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use hyper::body::Bytes;
use std::net::SocketAddr;
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tracing::warn;

/// The prefixes `CreateHandlers` returns, both served by this one server.
pub(crate) const PREFIXES: [&str; 2] = [explorer::RPC_PREFIX, explorer::EXPLORER_PREFIX];

/// Answers the host's forwarded HTTP requests with the API or the explorer page.
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

/// The host's request as an HTTP request, converted once: each `Element{key, values}` becomes
/// one header value per value. Names or values HTTP cannot carry are skipped, an unparsable URL
/// becomes `/`; a method HTTP cannot carry is an error (the caller answers 400).
fn request_from_proto(
    request: HandleSimpleHttpRequest,
) -> Result<http::Request<Bytes>, http::Error> {
    let mut headers = HeaderMap::with_capacity(request.headers.len());
    for element in request.headers {
        let Ok(name) = HeaderName::try_from(element.key) else {
            continue;
        };
        for value in element.values {
            if let Ok(value) = HeaderValue::try_from(value) {
                headers.append(&name, value);
            }
        }
    }
    let uri = request
        .url
        .parse::<http::Uri>()
        .unwrap_or_else(|_| http::Uri::from_static("/"));
    let mut http_request = http::Request::builder()
        .method(request.method.as_str())
        .uri(uri)
        .body(Bytes::from(request.body))?;
    *http_request.headers_mut() = headers;
    Ok(http_request)
}

/// The API's answer as the host expects it, converted once: a header's values grouped under its
/// name in Go's canonical form, names in first-seen order; values that are not text are left out.
///
/// Canonical names because the host stores them verbatim: luxd v1.10.21
/// `grpcutils.MergeHTTPHeader` does `header[h.Key] = h.Values`, so a lowercase `content-type`
/// is invisible to `Header.Get("Content-Type")`, and Go's server then sniffs and adds a second
/// `Content-Type` of its own (found by `tests/host`'s explorer check).
fn response_to_proto(response: http::Response<Bytes>) -> HandleSimpleHttpResponse {
    let (parts, body) = response.into_parts();
    let headers = parts
        .headers
        .keys()
        .filter_map(|name| {
            let values: Vec<String> = parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| Some(v.to_str().ok()?.to_string()))
                .collect();
            (!values.is_empty()).then(|| Element {
                key: canonical_name(name.as_str()),
                values,
            })
        })
        .collect();
    HandleSimpleHttpResponse {
        code: i32::from(parts.status.as_u16()),
        headers,
        body: body.into(),
    }
}

/// A header name as Go's `textproto.CanonicalMIMEHeaderKey` writes it: the first letter and each
/// letter after a `-` upper case, the rest lower case (`x-content-type-options` →
/// `X-Content-Type-Options`). `http` names are valid tokens, which Go canonicalizes the same way.
fn canonical_name(name: &str) -> String {
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
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
        let response = match request_from_proto(request.into_inner()) {
            Ok(request) => match Endpoint::of_host_path(request.uri().path()) {
                Some(Endpoint::Rpc) => self.api.handle(request).await,
                Some(Endpoint::Explorer) => explorer::respond(request.method()),
                None => error_response(
                    StatusCode::NOT_FOUND,
                    -32601,
                    "no such path: this chain serves /rpc (JSON-RPC) and /explorer",
                ),
            },
            Err(e) => bad_request(&e),
        };
        Ok(Response::new(response_to_proto(response)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::mempool::MempoolLimits;

    fn element(key: &str, values: &[&str]) -> Element {
        Element {
            key: key.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn proto_request(headers: Vec<Element>, body: &str) -> HandleSimpleHttpRequest {
        HandleSimpleHttpRequest {
            method: "POST".into(),
            url: "/ext/bc/x/rpc".into(),
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn proto_headers_become_one_header_map() {
        let request = request_from_proto(proto_request(
            vec![
                element("Accept", &["a", "b"]),
                element("X-Empty", &[]),
                element("Bad Name", &["skipped"]),
                element("X-Bad-Value", &["line\nbreak", "kept"]),
                element("accept", &["c"]),
                element("Content-Type", &["application/json;"]),
            ],
            "{}",
        ))
        .unwrap();
        let headers = request.headers();
        let accept: Vec<_> = headers.get_all("accept").iter().collect();
        assert_eq!(accept, ["a", "b", "c"]);
        assert!(!headers.contains_key("x-empty"));
        assert_eq!(headers["x-bad-value"], "kept");
        // Normalising the content type is the API's, for every caller alike.
        assert_eq!(headers["content-type"], "application/json;");
        assert_eq!(headers.len(), 5);
        assert_eq!(request.method(), http::Method::POST);
        assert_eq!(request.uri(), "/ext/bc/x/rpc");
        assert_eq!(&request.body()[..], b"{}");
    }

    #[test]
    fn an_unparsable_url_is_the_root_and_an_impossible_method_an_error() {
        let mut request = proto_request(vec![], "");
        request.url = "not a url".into();
        assert_eq!(request_from_proto(request.clone()).unwrap().uri(), "/");
        request.method = "GET POST".into();
        assert!(request_from_proto(request).is_err());
    }

    #[test]
    fn response_headers_are_grouped_per_name_in_first_seen_order() {
        let response = http::Response::builder()
            .status(415)
            .header("Content-Type", "application/json")
            .header("Vary", "a")
            .header("X-Other", "x")
            .header("vary", "b")
            .body(Bytes::from_static(b"{}"))
            .unwrap();
        let proto = response_to_proto(response);
        assert_eq!(proto.code, 415);
        assert_eq!(proto.body, b"{}");
        assert_eq!(
            proto.headers,
            vec![
                element("Content-Type", &["application/json"]),
                element("Vary", &["a", "b"]),
                element("X-Other", &["x"]),
            ]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn handle_simple_routes_the_explorer_and_refuses_other_paths() {
        let service = HttpService {
            api: Arc::new(crate::api::tests::api(MempoolLimits::default())),
        };
        let ask = |method: &str, url: &str| {
            let request = Request::new(HandleSimpleHttpRequest {
                method: method.into(),
                url: url.into(),
                headers: vec![],
                body: vec![],
            });
            let service = &service;
            async move { service.handle_simple(request).await.unwrap().into_inner() }
        };
        let header = |answer: &HandleSimpleHttpResponse, name: &str| -> Vec<String> {
            let found = answer.headers.iter().find(|e| e.key == name);
            found.map(|e| e.values.clone()).unwrap_or_default()
        };
        // The page, under any chain ID or alias, with a query the client added.
        for url in [
            "/ext/bc/x/explorer",
            "/ext/bc/transfervm/explorer?from=docs",
        ] {
            let page = ask("GET", url).await;
            assert_eq!(page.code, 200, "{url}");
            let direct = explorer::respond(&http::Method::GET);
            assert_eq!(page.body, direct.body().to_vec());
            assert_eq!(header(&page, "Content-Type"), ["text/html; charset=utf-8"]);
            assert_eq!(header(&page, "X-Content-Type-Options"), ["nosniff"]);
            let csp = &header(&page, "Content-Security-Policy")[0];
            assert_eq!(
                csp,
                direct.headers()["content-security-policy"]
                    .to_str()
                    .unwrap()
            );
        }
        let head = ask("HEAD", "/ext/bc/x/explorer").await;
        assert_eq!((head.code, head.body.len()), (200, 0));
        let post = ask("POST", "/ext/bc/x/explorer").await;
        assert_eq!(post.code, 405);
        assert_eq!(header(&post, "Allow"), ["GET, HEAD"]);
        // Sub-paths and other names are not this VM's (the host never forwards them either).
        for url in [
            "/ext/bc/x/explorer/",
            "/ext/bc/x/explorer/app.js",
            "/ext/bc/x/other",
            "/",
        ] {
            assert_eq!(ask("GET", url).await.code, 404, "{url}");
        }
    }

    /// The host's path reaches the same `Api::handle` as the dev server, so it answers the same
    /// JSON-RPC 2.0 envelope edge cases the same way (`tests/dev_chain.rs` runs the table over
    /// real HTTP).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn handle_simple_answers_the_jsonrpc_edge_cases_as_the_specification_says() {
        use crate::test_utils::jsonrpc::{edge_cases, summary};
        let service = HttpService {
            api: Arc::new(crate::api::tests::api(MempoolLimits::default())),
        };
        for case in edge_cases() {
            let request = proto_request(
                vec![element("Content-Type", &["application/json"])],
                &case.body,
            );
            let answer = service
                .handle_simple(Request::new(request))
                .await
                .unwrap()
                .into_inner();
            let (name, body) = (case.name, String::from_utf8_lossy(&answer.body));
            assert_eq!(answer.code, i32::from(case.status), "{name}: {body}");
            match &case.answer {
                None => {
                    assert!(answer.body.is_empty(), "{name}: {body}");
                    assert!(answer.headers.is_empty(), "{name}: {:?}", answer.headers);
                }
                Some(expected) => {
                    let parsed: serde_json::Value = serde_json::from_slice(&answer.body)
                        .unwrap_or_else(|e| panic!("{name}: {e}: {body}"));
                    assert_eq!(&summary(&parsed), expected, "{name}: {body}");
                }
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn handle_simple_answers_a_docs_style_request() {
        let service = HttpService {
            api: Arc::new(crate::api::tests::api(MempoolLimits::default())),
        };
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"transfervm.info"}"#;
        let ask = |headers| {
            let request = Request::new(proto_request(headers, body));
            let service = &service;
            async move { service.handle_simple(request).await.unwrap().into_inner() }
        };
        // The `application/json;` the Avalanche docs teach, with a wrong length.
        let answer = ask(vec![
            element("Content-Type", &["application/json;"]),
            element("Content-Length", &["1"]),
        ])
        .await;
        assert_eq!(
            answer.code,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        // jsonrpsee's own headers reach the host, each name once, as Go's map keys them.
        let content_type = answer.headers.iter().find(|e| e.key == "Content-Type");
        assert_eq!(
            content_type.unwrap().values,
            ["application/json; charset=utf-8"]
        );
        assert_eq!(
            ask(vec![element("Content-Type", &["text/html"])])
                .await
                .code,
            415
        );
        // An impossible method from the host is a 400 with a JSON-RPC error body.
        let mut request = proto_request(vec![], body);
        request.method = String::new();
        let answer = service
            .handle_simple(Request::new(request))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.code, 400);
        let error: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(error["error"]["code"], -32600);
    }
}
