//! The entry point as the host calls it: raw method/url/headers/body in, status and body out.

use super::*;
use crate::chain::mempool::MempoolLimits;
use crate::test_utils::{chain_config, node_on, open_chain_with, tx_hex, Transfer};
use serde_json::{json, Value};

fn api(limits: MempoolLimits) -> Api {
    let mut config = chain_config();
    config.mempool = limits;
    let node = node_on(open_chain_with(config));
    Api::new(node, ChainInfo { mode: "dev" }, ApiLimits::default())
}

fn signed_hex(key: u32, nonce: u64) -> String {
    tx_hex(&Transfer::from_dev(key).nonce(nonce).sign())
}

async fn call(api: &Api, content_type: &str, body: Value) -> (u16, Value) {
    let response = api
        .handle(ApiRequest {
            method: "POST".into(),
            url: "/ext/bc/x/rpc".into(),
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.to_string().into_bytes(),
        })
        .await;
    (
        response.status,
        serde_json::from_slice(&response.body).unwrap_or(Value::Null),
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
        .handle(ApiRequest {
            method: "POST".into(),
            url: "/".into(),
            headers: vec![("Content-Length".into(), "999999".into())],
            body: br#"{"jsonrpc":"2.0","id":7,"method":"transfervm.lastAccepted"}"#.to_vec(),
        })
        .await;
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_413_before_any_parsing() {
    let api = api(MempoolLimits::default());
    let response = api
        .handle(ApiRequest {
            method: "POST".into(),
            url: "/".into(),
            headers: vec![],
            body: vec![b'['; 5 << 20],
        })
        .await;
    assert_eq!(response.status, 413);
    let body: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(body["error"]["code"], -32600);
}
