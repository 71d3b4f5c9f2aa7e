//! Every input bound at its edge: the largest allowed input is served, one more is refused with
//! a clear error and changes nothing (a valid transfer inside the refused call is never
//! admitted), and the node keeps serving. Bounds with their own tests elsewhere (mempool
//! caps, block caps, GetAncestors, body size over HTTP) are listed in RELIABILITY.md; this file
//! covers the edges they leave: exact body and batch limits, the response cap, `submitTxs` size,
//! hex length, JSON nesting depth and the gossip message cap.

use parity_scale_codec::{Compact, Encode};
use serde_json::{json, Value};
use transfervm::api::{Api, ApiLimits, ChainInfo};
use transfervm::chain::gossip::{decode_gossip, encode_gossip, GOSSIP_VERSION, MAX_GOSSIP_TXS};
use transfervm::chain::tx::SIGNED_TX_LEN;
use transfervm::chain::SignedTx;
use transfervm::test_utils::{open_node, tx_hex, Transfer};

fn api() -> Api {
    api_with(ApiLimits::default())
}

fn api_with(limits: ApiLimits) -> Api {
    Api::new(open_node(), ChainInfo::DEV, limits)
}

async fn post(api: &Api, body: Vec<u8>) -> (u16, Value) {
    let request = http::Request::post("/ext/bc/transfervm/rpc")
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap();
    let response = api.handle(request).await;
    let value = serde_json::from_slice(response.body()).unwrap_or_else(|e| {
        panic!(
            "answer is not JSON ({e}): {}",
            String::from_utf8_lossy(response.body())
        )
    });
    (response.status().as_u16(), value)
}

fn request(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": format!("transfervm.{method}"), "params": params})
}

/// A valid transfer no call has sent yet (dev key 1; each test has its own node).
fn fresh_transfer() -> SignedTx {
    Transfer::from_dev(1).sign()
}

/// The status the node reports for `tx`.
async fn status_of(api: &Api, tx: &SignedTx) -> Value {
    let (_, answer) = post(
        api,
        request("txStatus", json!({"txId": tx.id()}))
            .to_string()
            .into(),
    )
    .await;
    answer["result"]["status"].clone()
}

/// A refused call changed nothing: the valid transfer it carried is unknown to the node.
async fn never_admitted(api: &Api, tx: &SignedTx) {
    assert_eq!(
        status_of(api, tx).await,
        "unknown",
        "{} was admitted",
        tx.id()
    );
}

/// The node still answers an ordinary call.
async fn still_serving(api: &Api) {
    let (status, answer) = post(api, request("lastAccepted", json!({})).to_string().into()).await;
    assert_eq!(status, 200);
    assert_eq!(answer["result"]["height"], 0, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_size_limit_is_exact() {
    let api = api();
    let limit = api.limits().max_body_bytes as usize;
    let mut body = request("info", json!({})).to_string().into_bytes();
    body.resize(limit, b' ');
    let (status, answer) = post(&api, body.clone()).await;
    assert_eq!(
        status, 200,
        "a body of exactly {limit} bytes is served: {answer}"
    );
    assert_eq!(answer["result"]["vm"], "transfervm");
    body.push(b' ');
    let (status, answer) = post(&api, body).await;
    assert_eq!(status, 413);
    assert_eq!(answer["error"]["code"], -32600);
    // A valid transfer one byte over the limit is not admitted.
    let tx = fresh_transfer();
    let mut body = request("submitTx", json!({ "tx": tx_hex(&tx) }))
        .to_string()
        .into_bytes();
    body.resize(limit + 1, b' ');
    let (status, _) = post(&api, body.clone()).await;
    assert_eq!(status, 413);
    never_admitted(&api, &tx).await;
    // The same at the limit is (so the check above can see an admission).
    body.pop();
    let (status, answer) = post(&api, body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(status_of(&api, &tx).await, "pending");
    still_serving(&api).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_limit_is_exact() {
    let api = api();
    let limit = api.limits().max_batch as usize;
    let batch = |n: usize| -> Vec<u8> {
        let calls: Vec<Value> = (0..n)
            .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "transfervm.lastAccepted"}))
            .collect();
        serde_json::to_vec(&calls).unwrap()
    };
    let (status, answer) = post(&api, batch(limit)).await;
    assert_eq!(status, 200);
    assert_eq!(answer.as_array().map(Vec::len), Some(limit));
    let (_, answer) = post(&api, batch(limit + 1)).await;
    assert_eq!(answer["error"]["code"], -32010, "{answer}");
    // A valid transfer inside a batch one call too long is not admitted.
    let tx = fresh_transfer();
    let mut calls: Vec<Value> = serde_json::from_slice(&batch(limit)).unwrap();
    calls.push(request("submitTx", json!({ "tx": tx_hex(&tx) })));
    let (_, answer) = post(&api, serde_json::to_vec(&calls).unwrap()).await;
    assert_eq!(answer["error"]["code"], -32010, "{answer}");
    never_admitted(&api, &tx).await;
    still_serving(&api).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_txs_and_hex_length_limits() {
    let api = api();
    let limit = api.limits().max_txs_per_call;
    // `limit` entries are each judged (cheap malformed ones, and one good transfer).
    let first_transfer = Transfer::from_dev(0).sign();
    let mut txs: Vec<String> = vec!["0x00".to_string(); limit - 1];
    txs.push(tx_hex(&first_transfer));
    let (status, answer) = post(
        &api,
        request("submitTxs", json!({ "txs": txs }))
            .to_string()
            .into(),
    )
    .await;
    assert_eq!(status, 200);
    let results = answer["result"].as_array().expect("one entry per tx");
    assert_eq!(results.len(), limit);
    assert_eq!(results[0]["error"]["code"], 1001);
    assert_eq!(results[limit - 1]["txId"], first_transfer.id().to_string());
    // One entry too many, the extra one a valid transfer: refused whole, nothing admitted.
    let tx = fresh_transfer();
    txs.push(tx_hex(&tx));
    let (_, answer) = post(
        &api,
        request("submitTxs", json!({ "txs": txs }))
            .to_string()
            .into(),
    )
    .await;
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
    never_admitted(&api, &tx).await;
    // Hex far longer than a transaction is refused before decoding it.
    let long = format!("0x{}", "00".repeat(2 * SIGNED_TX_LEN + 1));
    let (_, answer) = post(
        &api,
        request("submitTx", json!({ "tx": long }))
            .to_string()
            .into(),
    )
    .await;
    assert_eq!(answer["error"]["code"], 1001, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("far longer"),
        "{answer}"
    );
    still_serving(&api).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_nesting_depth_is_bounded() {
    let api = api();
    let nested = |depth: usize| -> String {
        let mut s = String::with_capacity(2 * depth);
        s.extend(std::iter::repeat_n('[', depth));
        s.extend(std::iter::repeat_n(']', depth));
        s
    };
    // Nesting in a params value, shallow and absurdly deep: an invalid-params answer, no crash.
    for depth in [10, 127, 200, 100_000] {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"transfervm.balance","params":{{"address":{}}}}}"#,
            nested(depth)
        );
        let (status, answer) = post(&api, body.into_bytes()).await;
        let code = answer["error"]["code"].as_i64();
        assert!(
            matches!(code, Some(-32602 | -32700)),
            "depth {depth}: {status} {answer}"
        );
    }
    // Nesting as the whole body (a batch of batches), up to a body at the size limit.
    let limit = api.limits().max_body_bytes as usize;
    for depth in [2, 129, 10_000, limit / 2] {
        let (_, answer) = post(&api, nested(depth).into_bytes()).await;
        // A parse error, or (shallow) a batch answer of invalid-request errors.
        let code = answer["error"]["code"]
            .as_i64()
            .or_else(|| answer[0]["error"]["code"].as_i64());
        assert!(
            matches!(code, Some(-32700 | -32600)),
            "depth {depth}: {answer}"
        );
    }
    // Deep objects too.
    let mut deep = String::new();
    for _ in 0..50_000 {
        deep.push_str(r#"{"a":"#);
    }
    deep.push('1');
    deep.push_str(&"}".repeat(50_000));
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"transfervm.info","params":{deep}}}"#);
    let (_, answer) = post(&api, body.into_bytes()).await;
    assert!(answer.is_object(), "{answer}");
    still_serving(&api).await;
}

#[test]
fn gossip_message_cap_is_exact() {
    let sender = Transfer::from_dev(0);
    let txs: Vec<_> = (0..MAX_GOSSIP_TXS as u64)
        .map(|nonce| sender.clone().nonce(nonce).sign())
        .collect();
    let full = encode_gossip(&txs);
    // The largest message fits the network's 2 MiB message limit.
    assert!(full.len() < 2 << 20, "{} bytes", full.len());
    assert_eq!(decode_gossip(&full).unwrap().len(), MAX_GOSSIP_TXS);
    // One more is refused on its count alone, before any transaction bytes are read.
    let mut over = vec![GOSSIP_VERSION];
    Compact(MAX_GOSSIP_TXS as u32 + 1).encode_to(&mut over);
    assert!(decode_gossip(&over).is_err());
    let mut over_full = over.clone();
    for tx in txs.iter().chain([&txs[0]]) {
        over_full.extend_from_slice(&tx.to_bytes());
    }
    let error = decode_gossip(&over_full).unwrap_err();
    assert!(error.to_string().contains("limit"), "{error}");
}

/// The response cap (16 MiB by default, which a batch of `getBlock` calls on full blocks could
/// pass): a batch whose answers would exceed it is answered with an error, not built in memory
/// without bound, and the node keeps serving. Tested with a small cap so it is cheap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_size_limit_holds() {
    let info = request("info", json!({})).to_string().into_bytes();
    let one = post(&api(), info.clone()).await.1.to_string().len();
    let limit = 4 * one + 64;
    let api = api_with(ApiLimits {
        max_response_bytes: limit as u32,
        ..ApiLimits::default()
    });
    let batch = |n: usize| -> Vec<u8> {
        let calls: Vec<Value> = (0..n)
            .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "transfervm.info"}))
            .collect();
        serde_json::to_vec(&calls).unwrap()
    };
    // Three answers fit.
    let (status, answer) = post(&api, batch(3)).await;
    assert_eq!(status, 200);
    assert_eq!(answer.as_array().map(Vec::len), Some(3), "{answer}");
    assert!(answer[2]["result"]["vm"].is_string(), "{answer}");
    // Twenty do not: one error for the batch.
    let (_, answer) = post(&api, batch(20)).await;
    assert_eq!(answer["error"]["code"], -32011, "{answer}");
    still_serving(&api).await;
    // A valid transfer in a batch whose answers pass the cap: the calls ran before their answers'
    // size was known, so the transfer was admitted although the caller sees only the error
    // (README, "Error codes": -32011 says so; a resend answers ALREADY_KNOWN).
    let tx = fresh_transfer();
    let mut calls: Vec<Value> = serde_json::from_slice(&batch(20)).unwrap();
    calls.insert(0, request("submitTx", json!({ "tx": tx_hex(&tx) })));
    let (_, answer) = post(&api, serde_json::to_vec(&calls).unwrap()).await;
    assert_eq!(answer["error"]["code"], -32011, "{answer}");
    assert_eq!(status_of(&api, &tx).await, "pending");
    // One answer over the cap on its own.
    let tight = api_with(ApiLimits {
        max_response_bytes: (one / 2) as u32,
        ..ApiLimits::default()
    });
    let (_, answer) = post(&tight, info).await;
    assert_eq!(answer["error"]["code"], -32008, "{answer}");
    assert_eq!(answer["id"], 1, "{answer}");
}
