//! The entry point as the host calls it: an HTTP request in, an HTTP response out.

use super::*;
use crate::chain::mempool::MempoolLimits;
use crate::test_utils::{chain_config, node_on, open_chain_with, tx_hex, Transfer};
use http_entry::prepare_headers;
use hyper::body::Bytes;
use serde_json::{json, Value};

/// An API over a fresh in-memory dev chain; the plugin's `HandleSimple` tests use it too.
pub(crate) fn api(limits: MempoolLimits) -> Api {
    let mut config = chain_config();
    config.mempool = limits;
    let node = node_on(open_chain_with(config));
    Api::new(node, ChainInfo { mode: "dev" }, ApiLimits::default())
}

fn signed_hex(key: u32, nonce: u64) -> String {
    tx_hex(&Transfer::from_dev(key).nonce(nonce).sign())
}

/// A POST of `body` with `headers`, as the dev server or `HandleSimple` hands it over.
fn post(headers: &[(&str, &str)], body: impl Into<Bytes>) -> http::Request<Bytes> {
    let mut request = http::Request::post("/ext/bc/x/rpc");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(body.into()).unwrap()
}

async fn call(api: &Api, content_type: &str, body: Value) -> (u16, Value) {
    let response = api
        .handle(post(&[("Content-Type", content_type)], body.to_string()))
        .await;
    (
        response.status().as_u16(),
        serde_json::from_slice(response.body()).unwrap_or(Value::Null),
    )
}

fn submit(tx: String) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "transfervm.submitTx", "params": {"tx": tx}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_mempool_answers_mempool_full_per_sender_and_in_total() {
    let api = api(MempoolLimits {
        max_txs: 3,
        max_bytes: 1 << 20,
        max_per_sender: 2,
        max_nonce_gap: 10,
    });
    for nonce in 0..2 {
        let (_, answer) = call(&api, "application/json", submit(signed_hex(0, nonce))).await;
        assert!(answer["result"]["txId"].is_string(), "{answer}");
    }
    let (_, answer) = call(&api, "application/json", submit(signed_hex(0, 2))).await;
    assert_eq!(answer["error"]["code"], errors::MEMPOOL_FULL, "{answer}");
    assert_eq!(answer["error"]["data"]["reason"], "mempool_full");
    let (_, answer) = call(&api, "application/json", submit(signed_hex(1, 0))).await;
    assert!(answer["result"]["txId"].is_string(), "{answer}");
    let (_, answer) = call(&api, "application/json", submit(signed_hex(2, 0))).await;
    assert_eq!(answer["error"]["code"], errors::MEMPOOL_FULL, "{answer}");
    // The same transaction again is already known, not "full".
    let (_, answer) = call(&api, "application/json", submit(signed_hex(1, 0))).await;
    assert_eq!(answer["error"]["code"], errors::ALREADY_KNOWN, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_types_are_normalised_and_content_length_is_set() {
    let api = api(MempoolLimits::default());
    let info = json!({"jsonrpc": "2.0", "id": 1, "method": "transfervm.info"});
    for content_type in [
        "application/json",
        "application/json;",
        "Application/JSON; charset=UTF-8",
        "",
    ] {
        let (status, answer) = call(&api, content_type, info.clone()).await;
        assert_eq!(status, 200, "{content_type:?}: {answer}");
        assert_eq!(answer["result"]["rpcchainvm"], 30);
    }
    let (status, _) = call(&api, "text/html", info).await;
    assert_eq!(status, 415);
    // No content type at all (the host forwards whatever the client sent).
    let response = api
        .handle(post(
            &[
                ("Content-Length", "999999"),
                ("Transfer-Encoding", "chunked"),
            ],
            &br#"{"jsonrpc":"2.0","id":7,"method":"transfervm.lastAccepted"}"#[..],
        ))
        .await;
    assert_eq!(
        response.status(),
        200,
        "{}",
        String::from_utf8_lossy(response.body())
    );
}

#[test]
fn a_repeated_content_type_keeps_each_value_normalised() {
    let mut request = post(
        &[
            ("content-type", "application/json;"),
            ("content-type", "text/plain"),
            ("content-length", "999"),
        ],
        "{}",
    );
    let headers = request.headers_mut();
    prepare_headers(headers, 2);
    let types: Vec<_> = headers.get_all("content-type").iter().collect();
    assert_eq!(types, ["application/json", "text/plain"]);
    let lengths: Vec<_> = headers.get_all("content-length").iter().collect();
    assert_eq!(lengths, ["2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_413_before_any_parsing() {
    let api = api(MempoolLimits::default());
    let response = api.handle(post(&[], vec![b'['; 5 << 20])).await;
    assert_eq!(response.status(), 413);
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["error"]["code"], -32600);
}
