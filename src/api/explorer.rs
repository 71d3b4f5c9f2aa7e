//! The block explorer: one self-contained HTML page that the VM serves next to its JSON-RPC
//! endpoint and that reads the chain only through that endpoint.
//!
//! **Why one document.** The host (Luxd, an avalanchego v1.10 fork) mounts each prefix that
//! `CreateHandlers` returns with gorilla/mux `Router.Handle(base + prefix, h)`
//! (`api/server/router.go` `forceAddRouter`, reached from `server.go` `RegisterChain` →
//! `addChainRoute` with base `/ext/bc/<chainID>`). `Handle` registers a `Path` matcher, which
//! matches the whole path exactly: `/ext/bc/<chainID>/explorer` reaches the VM, while
//! `/explorer/`, `/explorer/app.js` or any other sub-path is answered 404 by the node and never
//! forwarded. The host's handler is a `ghttp.Client` (`vms/rpcchainvm/vm_client.go`
//! `CreateHandlers`, one per prefix), which sends every request without an `Upgrade` header as
//! `HandleSimple` with `url = r.RequestURI`: the path and query exactly as the client sent
//! them, never the fragment (`vms/rpcchainvm/ghttp/http_client.go` `getHTTPSimpleRequest`).
//! So the page carries its CSS and JavaScript inline, loads nothing else, and keeps its views
//! in the URL fragment (`#block/<id>`, `#tx/<id>`, `#account/<address>`, `#search/<text>`),
//! which the browser never sends. It calls JSON-RPC at the relative URL `rpc`, which resolves
//! to `/ext/bc/<chainID>/rpc` beside it, under any chain ID or alias, on a node or the dev chain.
//!
//! **Why these headers.** The page shows data anyone can write to the chain (a search text in
//! the URL, in future memos), so it runs under a strict Content-Security-Policy: no inline code
//! but the page's own script and style, allowed by their SHA-256 hashes (computed once, from
//! the exact embedded text), no framing, no forms, fetches only to its own origin.

use base64::Engine;
use http::header::{
    ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS,
};
use http::{HeaderValue, Method, StatusCode};
use hyper::body::Bytes;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The prefix the JSON-RPC handler is mounted under (`/ext/bc/<chainID>/rpc`).
pub const RPC_PREFIX: &str = "/rpc";
/// The prefix the explorer page is mounted under (`/ext/bc/<chainID>/explorer`).
pub const EXPLORER_PREFIX: &str = "/explorer";

/// The page skeleton; `{{style}}` and `{{script}}` are replaced by the two files below.
const TEMPLATE: &str = include_str!("explorer/page.html");
/// The page's CSS, inlined in its one `<style>` element.
const STYLE: &str = include_str!("explorer/style.css");
/// The page's JavaScript, inlined in its one `<script>` element.
const SCRIPT: &str = include_str!("explorer/app.js");

/// What a request path under a chain names: the two handlers this VM offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// JSON-RPC, [`crate::api::Api::handle`].
    Rpc,
    /// The explorer page, [`respond`].
    Explorer,
}

impl Endpoint {
    /// The endpoint a chain-relative path names (`/rpc`, `/explorer`), exactly as the host
    /// routes them: no trailing slash, no sub-path. Both front ends (the plugin's `HandleSimple`
    /// and the dev server) route with this one table.
    pub fn of_chain_path(rest: &str) -> Option<Endpoint> {
        match rest {
            RPC_PREFIX => Some(Endpoint::Rpc),
            EXPLORER_PREFIX => Some(Endpoint::Explorer),
            _ => None,
        }
    }

    /// The endpoint a full path the host forwarded names, by its last segment: the host has
    /// already matched `/ext/bc/<chain ID or alias>` exactly, and which alias it used does not
    /// matter here.
    pub fn of_host_path(path: &str) -> Option<Endpoint> {
        let last = path.rfind('/').map_or("", |i| &path[i..]);
        Endpoint::of_chain_path(last)
    }
}

/// The assembled page and its policy, built once.
struct Page {
    html: Bytes,
    csp: HeaderValue,
}

fn page() -> &'static Page {
    static PAGE: OnceLock<Page> = OnceLock::new();
    PAGE.get_or_init(|| {
        let html = TEMPLATE
            .replacen("{{style}}", STYLE, 1)
            .replacen("{{script}}", SCRIPT, 1);
        let csp = content_security_policy(&source_hash(SCRIPT), &source_hash(STYLE));
        Page {
            html: Bytes::from(html),
            // Built from base64 and fixed ASCII only, so always a valid header value.
            csp: HeaderValue::from_str(&csp)
                .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'")),
        }
    })
}

/// The CSP source expression for an inline element's text: `'sha256-<base64>'`, what a browser
/// computes over the element's content before running it.
pub fn source_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The page's policy: nothing from anywhere but its own hashed script and style, JSON-RPC to
/// its own origin, no plugins, frames, forms or base-URL tricks.
fn content_security_policy(script: &str, style: &str) -> String {
    format!(
        "default-src 'none'; script-src {script}; style-src {style}; connect-src 'self'; \
         img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// The explorer's answer to a request with `method`: the page for GET, its headers for HEAD,
/// 405 for anything else.
pub fn respond(method: &Method) -> http::Response<Bytes> {
    let page = page();
    let (status, body) = match *method {
        Method::GET => (StatusCode::OK, page.html.clone()),
        Method::HEAD => (StatusCode::OK, Bytes::new()),
        _ => (
            StatusCode::METHOD_NOT_ALLOWED,
            Bytes::from_static(b"405 method not allowed: the explorer answers GET and HEAD\n"),
        ),
    };
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if status == StatusCode::OK {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(CONTENT_SECURITY_POLICY, page.csp.clone());
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        // A HEAD answer tells the size a GET would send.
        headers.insert(CONTENT_LENGTH, HeaderValue::from(page.html.len()));
    } else {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text between `<tag>` and `</tag>` in the served page.
    fn inline(html: &str, tag: &str) -> String {
        let open = format!("<{tag}>");
        let start = html.find(&open).expect("opening tag") + open.len();
        let end = html[start..]
            .find(&format!("</{tag}>"))
            .expect("closing tag");
        html[start..start + end].to_string()
    }

    #[test]
    fn the_policy_allows_exactly_the_served_inline_script_and_style() {
        let response = respond(&Method::GET);
        let html = std::str::from_utf8(response.body()).unwrap();
        let csp = response.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains(&format!(
            "script-src {};",
            source_hash(&inline(html, "script"))
        )));
        assert!(csp.contains(&format!(
            "style-src {};",
            source_hash(&inline(html, "style"))
        )));
        assert!(!csp.contains("unsafe"), "{csp}");
        // One script, one style, nothing loaded from elsewhere, no placeholder left.
        assert_eq!(html.matches("<script").count(), 1);
        assert_eq!(html.matches("<style").count(), 1);
        assert!(!html.contains("{{"));
        assert!(!html.contains("src=\"http"), "no external resources");
        // The embedded texts cannot close their element early.
        assert!(!SCRIPT.contains("</script") && !STYLE.contains("</style"));
        // The page never hands data to the HTML parser.
        assert!(!SCRIPT.contains("innerHTML") && !SCRIPT.contains("outerHTML"));
        assert!(!SCRIPT.contains("insertAdjacentHTML") && !SCRIPT.contains("document.write"));
    }

    #[test]
    fn get_head_and_other_methods() {
        let get = respond(&Method::GET);
        assert_eq!(get.status(), 200);
        assert_eq!(get.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(get.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(get.headers()[REFERRER_POLICY], "no-referrer");
        assert_eq!(get.headers()[CACHE_CONTROL], "no-cache");
        let head = respond(&Method::HEAD);
        assert_eq!(head.status(), 200);
        assert!(head.body().is_empty());
        assert_eq!(
            head.headers()[CONTENT_LENGTH],
            get.body().len().to_string().as_str()
        );
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
            let refused = respond(&method);
            assert_eq!(refused.status(), 405, "{method}");
            assert_eq!(refused.headers()[ALLOW], "GET, HEAD");
        }
    }

    #[test]
    fn paths_route_exactly_as_the_host_mounts_them() {
        assert_eq!(Endpoint::of_chain_path("/rpc"), Some(Endpoint::Rpc));
        assert_eq!(
            Endpoint::of_chain_path("/explorer"),
            Some(Endpoint::Explorer)
        );
        for other in [
            "",
            "/",
            "/explorer/",
            "/explorer/app.js",
            "/rpc/",
            "/Explorer",
        ] {
            assert_eq!(Endpoint::of_chain_path(other), None, "{other:?}");
        }
        assert_eq!(
            Endpoint::of_host_path("/ext/bc/abc/explorer"),
            Some(Endpoint::Explorer)
        );
        assert_eq!(
            Endpoint::of_host_path("/ext/bc/abc/rpc"),
            Some(Endpoint::Rpc)
        );
        assert_eq!(Endpoint::of_host_path("/ext/bc/abc/explorer/"), None);
        assert_eq!(Endpoint::of_host_path("/"), None);
        assert_eq!(Endpoint::of_host_path(""), None);
    }
}
