//! The entry point as the host calls it: an HTTP request in, an HTTP response out.

use super::*;
use crate::chain::mempool::MempoolLimits;
use crate::chain::tx::address_of;
use crate::chain::ChainConfig;
use crate::keys::dev_key;
use crate::node::Source;
use crate::test_utils::{
    chain_config, history_config, node_on, open_chain_with, tx_hex, Transfer, MIN_FEE, NOW_MS,
};
use http_entry::prepare_headers;
use hyper::body::Bytes;
use serde_json::{json, Value};

/// An API over a fresh in-memory dev chain; the plugin's `HandleSimple` tests use it too.
pub(crate) fn api(limits: MempoolLimits) -> Api {
    let mut config = chain_config();
    config.mempool = limits;
    api_on(config).0
}

/// An API over a fresh in-memory chain opened with `config`, and the node under it.
fn api_on(config: ChainConfig) -> (Api, std::sync::Arc<crate::node::Node>) {
    let node = node_on(open_chain_with(config));
    let api = Api::new(node.clone(), ChainInfo::DEV, ApiLimits::default());
    (api, node)
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
        assert_eq!(answer["result"]["vm"], "transfervm");
        // The dev chain has no host, so no rpcchainvm protocol.
        assert!(answer["result"]["rpcchainvm"].is_null(), "{answer}");
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

/// `accountTransfers` with `params`: the answer object.
async fn transfers(api: &Api, params: Value) -> Value {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "transfervm.accountTransfers", "params": params});
    call(api, "application/json", request).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_transfers_pages_newest_first_with_a_cursor() {
    let (api, node) = api_on(history_config());
    let sender = address_of(&dev_key(0));
    let recipient = address_of(&dev_key(1));
    let txs: Vec<_> = (0..3)
        .map(|n| {
            Transfer::from_dev(0)
                .to(recipient)
                .amount(1_000 + n)
                .nonce(n)
                .sign()
        })
        .collect();
    let verdicts = node.submit(txs.iter().map(|t| Ok(*t)).collect(), Source::Api);
    assert!(verdicts.iter().all(Result::is_ok), "{verdicts:?}");
    let block = node.build_block().unwrap();
    node.accept_block(block.id).unwrap();

    let answer = transfers(&api, json!({"address": sender, "limit": 2})).await;
    let result = &answer["result"];
    assert_eq!(result["address"], json!(sender), "{answer}");
    let first = result["transfers"].as_array().unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(
        first[0],
        json!({
            "txId": txs[2].id(), "height": 1, "timestamp": NOW_MS, "direction": "out",
            "counterparty": recipient, "amount": "1002", "fee": MIN_FEE.to_string(), "nonce": 2,
        })
    );
    assert_eq!(first[1]["txId"], json!(txs[1].id()));
    let cursor = result["nextCursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let answer = transfers(
        &api,
        json!({"address": sender, "limit": 2, "cursor": cursor}),
    )
    .await;
    let rest = answer["result"]["transfers"].as_array().unwrap();
    assert_eq!(rest.len(), 1, "{answer}");
    assert_eq!(rest[0]["txId"], json!(txs[0].id()));
    assert_eq!(
        answer["result"]["nextCursor"],
        Value::Null,
        "the last page says so"
    );
    // The recipient's side, with the default limit.
    let answer = transfers(&api, json!({"address": recipient})).await;
    let received = answer["result"]["transfers"].as_array().unwrap();
    assert_eq!(received.len(), 3);
    assert!(received
        .iter()
        .all(|t| t["direction"] == "in" && t["counterparty"] == json!(sender)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_transfers_refuses_bad_limits_and_cursors() {
    let (api, _) = api_on(history_config());
    let address = address_of(&dev_key(0));
    for limit in [json!(1), json!(100)] {
        let answer = transfers(&api, json!({"address": address, "limit": limit})).await;
        assert!(
            answer["result"]["transfers"].is_array(),
            "{limit}: {answer}"
        );
    }
    for limit in [0, 101, u64::MAX] {
        let answer = transfers(&api, json!({"address": address, "limit": limit})).await;
        assert_eq!(
            answer["error"]["code"],
            errors::INVALID_PARAMS,
            "{limit}: {answer}"
        );
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("1 to 100"), "names the bounds: {message}");
    }
    let answer = transfers(&api, json!({"address": address, "limit": -1})).await;
    assert_eq!(answer["error"]["code"], errors::INVALID_PARAMS, "{answer}");
    let good = types::cursor_text(crate::chain::HistoryPosition {
        height: 1,
        index: 0,
    });
    let answer = transfers(&api, json!({"address": address, "cursor": good})).await;
    assert!(answer["result"]["transfers"].is_array(), "{answer}");
    for cursor in [
        "",
        "h1.",
        "h1.zz",
        "h2.000000000000000100000000",
        "h1.0000000000000001000000",
        "h1.00000000000000010000000000",
    ] {
        let answer = transfers(&api, json!({"address": address, "cursor": cursor})).await;
        assert_eq!(
            answer["error"]["code"],
            errors::INVALID_PARAMS,
            "{cursor:?}: {answer}"
        );
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("invalid cursor"), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_transfers_without_the_index_names_the_chain_config_key() {
    let (api, _) = api_on(chain_config());
    let address = address_of(&dev_key(0));
    let answer = transfers(&api, json!({"address": address})).await;
    assert_eq!(
        answer["error"]["code"],
        errors::HISTORY_DISABLED,
        "{answer}"
    );
    assert_eq!(answer["error"]["code"], 1012);
    assert_eq!(answer["error"]["data"]["reason"], "history_disabled");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("\"accountHistory\": true"), "{message}");
}

/// Sends each request to two APIs over identical fresh chains, one answering as `handle` does
/// (single calls directly), the other only through jsonrpsee's tower service, and requires the
/// same status, content type and body bytes, in order (so state-changing calls line up too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_calls_answered_directly_read_byte_for_byte_as_jsonrpsee_writes_them() {
    let (direct, _) = api_on(chain_config());
    let (service, _) = api_on(chain_config());
    let address = address_of(&dev_key(0));
    let good = signed_hex(0, 0);
    let next = signed_hex(0, 1);
    let json = [("Content-Type", "application/json")];
    let requests: Vec<(Vec<(&str, &str)>, String)> = vec![
        (
            json.to_vec(),
            r#"{"jsonrpc":"2.0","id":1,"method":"transfervm.lastAccepted"}"#.into(),
        ),
        (
            json.to_vec(),
            r#"{"jsonrpc":"2.0","id":"a\"b","method":"transfervm.lastAccepted","params":[]}"#
                .into(),
        ),
        (
            json.to_vec(),
            r#"{"jsonrpc":"2.0","id":null,"method":"transfervm.lastAccepted","params":{}}"#.into(),
        ),
        (
            json.to_vec(),
            r#"  {"jsonrpc":"2.0","id":7,"method":"transfervm.info","params":null} "#.into(),
        ),
        (
            json.to_vec(),
            r#"{"jsonrpc":"2.0","id":2,"method":"transfervm.last\u0041ccepted"}"#.into(),
        ),
        (
            vec![],
            r#"{"jsonrpc":"2.0","id":3,"method":"transfervm.lastAccepted"}"#.into(),
        ),
        (
            vec![("Content-Type", "application/json;")],
            r#"{"jsonrpc":"2.0","id":4,"method":"transfervm.info"}"#.into(),
        ),
        (
            vec![("Content-Type", "text/plain")],
            r#"{"jsonrpc":"2.0","id":5,"method":"transfervm.info"}"#.into(),
        ),
        (
            json.to_vec(),
            format!(
                r#"{{"jsonrpc":"2.0","id":6,"method":"transfervm.account","params":{{"address":"{address}"}}}}"#
            ),
        ),
        (
            json.to_vec(),
            r#"{"jsonrpc":"2.0","id":6,"method":"transfervm.account","params":{"address":"0x12"}}"#
                .into(),
        ),
        (
            json.to_vec(),
            r#"{"jsonrpc":"2.0","id":6,"method":"transfervm.account","params":[1,2]}"#.into(),
        ),
        (
            json.to_vec(),
            r#"{"jsonrpc":"2.0","id":8,"method":"transfervm.getBlock","params":{"height":0}}"#
                .into(),
        ),
        (
            json.to_vec(),
            r#"{"jsonrpc":"2.0","id":8,"method":"transfervm.getBlock","params":{"height":99}}"#
                .into(),
        ),
        (json.to_vec(), submit(good.clone()).to_string()),
        (json.to_vec(), submit(good.clone()).to_string()),
        (json.to_vec(), submit("0xzz".into()).to_string()),
        (
            json.to_vec(),
            json!({"jsonrpc": "2.0", "id": 9, "method": "transfervm.submitTxs",
            "params": {"txs": [next, good, "0x00"]}})
            .to_string(),
        ),
        (
            json.to_vec(),
            r#"{"jsonrpc":"2.0","id":10,"method":"rpc.discover"}"#.into(),
        ),
        (
            json.to_vec(),
            r#"{"jsonrpc":"2.0","id":11,"method":"transfervm.nothing"}"#.into(),
        ),
        (
            json.to_vec(),
            r#"{"jsonrpc":"2.0","method":"transfervm.info"}"#.into(),
        ),
        (
            json.to_vec(),
            r#"{"jsonrpc":"1.0","id":12,"method":"transfervm.info"}"#.into(),
        ),
        (
            json.to_vec(),
            r#"{"jsonrpc":"2.0","id":13,"method":"transfervm.info"} x"#.into(),
        ),
        (
            json.to_vec(),
            r#"[{"jsonrpc":"2.0","id":14,"method":"transfervm.info"}]"#.into(),
        ),
        (
            json.to_vec(),
            r#"{"jsonrpc":"2.0","id":15,"method":"transfervm.info","extra":1}"#.into(),
        ),
        (json.to_vec(), String::new()),
    ];
    let mut answered_directly = 0;
    for (headers, body) in requests {
        let (parts, bytes) = post(&headers, body.clone()).into_parts();
        // Whether the direct path takes it, asked of a third API so no state changes twice.
        let (probe, _) = api_on(chain_config());
        answered_directly += probe.single_call(&parts, &bytes).await.is_some() as usize;
        let a = direct.handle(post(&headers, body.clone())).await;
        let b = service
            .handle_through_service(post(&headers, body.clone()))
            .await;
        assert_eq!(a.status(), b.status(), "{body}");
        assert_eq!(
            a.headers().get("content-type"),
            b.headers().get("content-type"),
            "{body}"
        );
        assert_eq!(
            String::from_utf8_lossy(a.body()),
            String::from_utf8_lossy(b.body()),
            "{body}"
        );
    }
    // The 18 well-formed single calls to registered methods; the seven others are not.
    assert_eq!(answered_directly, 18);
}

/// A transfer's worth of hex is decoded on the stack; its refusals read as `hex::decode`'s.
#[test]
fn transfer_hex_is_refused_in_the_words_of_hex_decode() {
    let good = signed_hex(0, 0);
    let tx = methods::decode_tx_hex(&good).unwrap();
    assert_eq!(tx_hex(&tx), good);
    let digits = &good[2..];
    for bad in [
        format!("{}zz", &digits[..digits.len() - 2]),
        format!("g{}", &digits[1..]),
        digits[..digits.len() - 1].to_string(),
        format!("{digits}00"),
    ] {
        let expected = match hex::decode(&bad) {
            Err(e) => format!("bad hex: {e}"),
            Ok(bytes) => crate::chain::SignedTx::decode_canonical(&bytes)
                .unwrap_err()
                .to_string(),
        };
        let error = methods::decode_tx_hex(&format!("0x{bad}")).unwrap_err();
        assert_eq!(error, crate::chain::TxError::Malformed(expected), "{bad}");
    }
}
