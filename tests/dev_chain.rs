//! The dev chain as a wallet sees it: real HTTP to `/ext/bc/<chainID>/rpc`, a real fjall store,
//! restarts, and every kind of hostile input a public endpoint gets.

#[path = "common/http_client.rs"]
mod reqwest_like;

use serde_json::{json, Value};
use std::time::Duration;
use transfervm::api::errors;
use transfervm::chain::tx::address_of;
use transfervm::chain::{Address, SignedTx};
use transfervm::cli::rpc_client::{RpcClient, RpcError};
use transfervm::cli::wallet::{self, ChainFacts};
use transfervm::dev::DevChain;
use transfervm::keys::dev_key;
use transfervm::test_utils::Transfer;

async fn start(dir: &std::path::Path) -> (DevChain, RpcClient) {
    let chain = transfervm::test_utils::start_dev_chain(dir).await;
    let rpc = RpcClient::new(&chain.rpc_url()).unwrap();
    (chain, rpc)
}

fn recipient(n: u8) -> Address {
    Address([n; 32])
}

async fn account(rpc: &RpcClient, address: &Address) -> Value {
    rpc.call("transfervm.account", json!({"address": address}))
        .await
        .unwrap()
}

fn balance_of(account: &Value) -> u64 {
    account["balance"].as_str().unwrap().parse().unwrap()
}

fn signed(facts: &ChainFacts, key: u32, to: Address, amount: u64, nonce: u64) -> SignedTx {
    wallet::sign_transfer(
        &dev_key(key),
        facts,
        to,
        amount,
        facts.min_fee,
        nonce,
        wallet::now_secs() + 600,
    )
}

fn hex_of(tx: &SignedTx) -> String {
    format!("0x{}", hex::encode(tx.to_bytes()))
}

async fn wait_accepted(rpc: &RpcClient, tx: &SignedTx) -> Value {
    let status = wallet::wait_final(rpc, &tx.id(), Duration::from_secs(20), |_| {})
        .await
        .unwrap();
    assert_eq!(status["status"], "accepted", "{status}");
    status
}

fn code_of(result: Result<Value, RpcError>) -> i64 {
    match result {
        Err(RpcError::Node { code, .. }) => code,
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_is_accepted_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, rpc) = start(dir.path()).await;
    let facts = wallet::chain_facts(&rpc).await.unwrap();
    let sender = address_of(&dev_key(0));
    let before = balance_of(&account(&rpc, &sender).await);

    let first = signed(&facts, 0, recipient(7), 1_000, 0);
    let second = signed(&facts, 0, recipient(7), 2_000, 1);
    let tx_id = rpc
        .call("transfervm.submitTx", json!({"tx": hex_of(&first)}))
        .await
        .unwrap();
    assert_eq!(tx_id["txId"], first.id().to_string());
    rpc.call("transfervm.submitTx", json!([{"tx": hex_of(&second)}]))
        .await
        .unwrap();
    let accepted = wait_accepted(&rpc, &second).await;
    wait_accepted(&rpc, &first).await;

    let sender_after = account(&rpc, &sender).await;
    assert_eq!(
        balance_of(&sender_after),
        before - 3_000 - 2 * facts.min_fee
    );
    assert_eq!(sender_after["nonce"], 2);
    assert_eq!(sender_after["pendingNonce"], 2);
    assert_eq!(balance_of(&account(&rpc, &recipient(7)).await), 3_000);

    let got = rpc
        .call("transfervm.getTx", json!({"txId": second.id()}))
        .await
        .unwrap();
    assert_eq!(got["tx"]["amount"], "2000");
    assert_eq!(got["status"], "accepted");
    let block = rpc
        .call("transfervm.getBlock", json!({"id": accepted["blockId"]}))
        .await
        .unwrap();
    assert!(block["txIds"]
        .as_array()
        .unwrap()
        .iter()
        .any(|id| id == &json!(second.id())));
    let last = rpc
        .call("transfervm.lastAccepted", json!({}))
        .await
        .unwrap();
    let info = rpc.call("transfervm.info", json!({})).await.unwrap();
    assert_eq!(info["burned"], (2 * facts.min_fee).to_string());

    chain.stop().await;
    let (chain, rpc) = start(dir.path()).await;
    assert_eq!(
        rpc.call("transfervm.lastAccepted", json!({}))
            .await
            .unwrap(),
        last
    );
    assert_eq!(account(&rpc, &sender).await, sender_after);
    assert_eq!(balance_of(&account(&rpc, &recipient(7)).await), 3_000);
    let status = rpc
        .call("transfervm.txStatus", json!({"txId": first.id()}))
        .await
        .unwrap();
    assert_eq!(status["status"], "accepted");
    let by_height = rpc
        .call("transfervm.getBlock", json!({"height": accepted["height"]}))
        .await
        .unwrap();
    assert_eq!(by_height, block);
    // After the restart the next nonce is still 2: a replay of the first transfer is refused.
    assert_eq!(
        code_of(
            rpc.call("transfervm.submitTx", json!({"tx": hex_of(&first)}))
                .await
        ),
        errors::BAD_NONCE as i64
    );
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_txs_reports_each_transaction_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, rpc) = start(dir.path()).await;
    let facts = wallet::chain_facts(&rpc).await.unwrap();
    let good = signed(&facts, 1, recipient(8), 10, 0);
    let mut bad_sig = signed(&facts, 1, recipient(8), 10, 1);
    bad_sig.signature[3] ^= 1;
    let txs = json!({"txs": [hex_of(&good), hex_of(&bad_sig), "0xzz"]});
    let results = rpc.call("transfervm.submitTxs", txs).await.unwrap();
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["txId"], good.id().to_string());
    assert_eq!(results[1]["error"]["code"], errors::BAD_SIGNATURE);
    assert_eq!(results[2]["error"]["code"], errors::MALFORMED_TX);
    wait_accepted(&rpc, &good).await;
    chain.stop().await;
}

/// Every hostile input gets a clear error and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_gets_clear_errors_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, rpc) = start(dir.path()).await;
    let facts = wallet::chain_facts(&rpc).await.unwrap();
    let sender = address_of(&dev_key(2));
    let before = account(&rpc, &sender).await;
    let last_before = rpc
        .call("transfervm.lastAccepted", json!({}))
        .await
        .unwrap();
    let submit = |tx: &SignedTx| json!({"tx": hex_of(tx)});
    // An odd transfer starts as a valid one from dev key 2 and changes one field.
    let odd = || {
        Transfer::from_dev(2)
            .network(facts.network_id)
            .chain(facts.chain_id)
            .to(recipient(9))
            .fee(facts.min_fee)
            .expires_at(wallet::now_secs() + 60)
    };

    // JSON that is not a request object (Invalid Request, as the specification says; malformed
    // JSON is `jsonrpc_envelope_edge_cases_…`'s), a request without a method, an unknown method.
    let answer = rpc.post(&json!("not a request")).await.unwrap();
    assert_eq!(answer["error"]["code"], -32600);
    let answer = rpc.post(&json!({"jsonrpc": "2.0", "id": 1})).await.unwrap();
    assert_eq!(answer["error"]["code"], -32600);
    assert_eq!(
        code_of(rpc.call("transfervm.noSuchMethod", json!({})).await),
        -32601
    );
    // Wrong types, unknown fields and shapes that are not one object.
    for (method, params) in [
        ("transfervm.balance", json!({"address": 5})),
        ("transfervm.balance", json!({"address": "0x12"})),
        ("transfervm.balance", json!({"addr": "0x12"})),
        ("transfervm.balance", json!([1, 2])),
        ("transfervm.txStatus", json!({"txId": "nope"})),
    ] {
        assert_eq!(
            code_of(rpc.call(method, params.clone()).await),
            -32602,
            "{method} {params}"
        );
    }
    // Bad hex and bad lengths.
    assert_eq!(
        code_of(rpc.call("transfervm.submitTx", json!({"tx": "0xgg"})).await),
        errors::MALFORMED_TX as i64
    );
    assert_eq!(
        code_of(rpc.call("transfervm.submitTx", json!({"tx": "abcd"})).await),
        errors::MALFORMED_TX as i64
    );
    assert_eq!(
        code_of(rpc.call("transfervm.submitTx", json!({"tx": "0x00"})).await),
        errors::MALFORMED_TX as i64
    );
    // Wrong chain and wrong network.
    let tx = odd().chain(transfervm::chain::Id([9; 32])).sign();
    assert_eq!(
        code_of(rpc.call("transfervm.submitTx", submit(&tx)).await),
        errors::WRONG_CHAIN as i64
    );
    let tx = odd().network(facts.network_id + 1).sign();
    assert_eq!(
        code_of(rpc.call("transfervm.submitTx", submit(&tx)).await),
        errors::WRONG_CHAIN as i64
    );
    // Bad signature: signed by another key.
    let mut forged = signed(&facts, 3, recipient(9), 1, 0);
    forged.body.from = sender;
    assert_eq!(
        code_of(rpc.call("transfervm.submitTx", submit(&forged)).await),
        errors::BAD_SIGNATURE as i64
    );
    // Nonce gap beyond the limit.
    let gap = signed(&facts, 2, recipient(9), 1, 1_000_000);
    assert_eq!(
        code_of(rpc.call("transfervm.submitTx", submit(&gap)).await),
        errors::BAD_NONCE as i64
    );
    // Expired, and too far ahead.
    let expired = odd().expires_at(wallet::now_secs() - 5).sign();
    assert_eq!(
        code_of(rpc.call("transfervm.submitTx", submit(&expired)).await),
        errors::EXPIRED as i64
    );
    let far = odd().expires_at(wallet::now_secs() + 100_000).sign();
    assert_eq!(
        code_of(rpc.call("transfervm.submitTx", submit(&far)).await),
        errors::EXPIRED as i64
    );
    // Fee too low, insufficient funds, overflow.
    let cheap = odd().fee(0).sign();
    assert_eq!(
        code_of(rpc.call("transfervm.submitTx", submit(&cheap)).await),
        errors::FEE_TOO_LOW as i64
    );
    let rich = signed(&facts, 2, recipient(9), u64::MAX / 2, 0);
    assert_eq!(
        code_of(rpc.call("transfervm.submitTx", submit(&rich)).await),
        errors::INSUFFICIENT_FUNDS as i64
    );
    let overflow = signed(&facts, 2, recipient(9), u64::MAX, 0);
    assert_eq!(
        code_of(rpc.call("transfervm.submitTx", submit(&overflow)).await),
        errors::AMOUNT_OVERFLOW as i64
    );
    // Not found.
    let unknown = json!({"txId": transfervm::chain::Id([1; 32])});
    assert_eq!(
        code_of(rpc.call("transfervm.getTx", unknown).await),
        errors::NOT_FOUND as i64
    );
    assert_eq!(
        code_of(
            rpc.call("transfervm.getBlock", json!({"height": 999_999}))
                .await
        ),
        errors::NOT_FOUND as i64
    );
    let status = rpc
        .call(
            "transfervm.txStatus",
            json!({"txId": transfervm::chain::Id([1; 32])}),
        )
        .await
        .unwrap();
    assert_eq!(status["status"], "unknown");

    // Nothing above changed any state.
    assert_eq!(account(&rpc, &sender).await, before);
    assert_eq!(
        rpc.call("transfervm.lastAccepted", json!({}))
            .await
            .unwrap(),
        last_before
    );

    // A replayed transaction: accepted once, refused after.
    let tx = signed(&facts, 2, recipient(9), 5, 0);
    rpc.call("transfervm.submitTx", submit(&tx)).await.unwrap();
    let again = rpc.call("transfervm.submitTx", submit(&tx)).await;
    assert!([errors::ALREADY_KNOWN as i64, errors::BAD_NONCE as i64].contains(&code_of(again)));
    wait_accepted(&rpc, &tx).await;
    let replay = rpc.call("transfervm.submitTx", submit(&tx)).await;
    assert!([errors::ALREADY_KNOWN as i64, errors::BAD_NONCE as i64].contains(&code_of(replay)));
    let simulated = rpc
        .call(
            "transfervm.simulateTx",
            submit(&signed(&facts, 2, recipient(9), 6, 0)),
        )
        .await
        .unwrap();
    assert_eq!(simulated["ok"], false);
    assert_eq!(simulated["error"]["code"], errors::BAD_NONCE);
    let simulated = rpc
        .call(
            "transfervm.simulateTx",
            submit(&signed(&facts, 2, recipient(9), 5, 1)),
        )
        .await
        .unwrap();
    assert_eq!(simulated["ok"], true);
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_edge_limits_and_content_types() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, _rpc) = start(dir.path()).await;
    let url = chain.rpc_url();
    let client = reqwest_like::Client::new();
    let info = br#"{"jsonrpc":"2.0","id":1,"method":"transfervm.info"}"#.to_vec();

    // The Avalanche docs' `application/json;` works.
    let (status, body) = client.post(&url, "application/json;", info.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"vm\":\"transfervm\""), "{body}");
    // Other content types get 415.
    let (status, _) = client.post(&url, "text/plain", info.clone()).await;
    assert_eq!(status, 415);
    // Oversized body: 413, not a connection error.
    let (status, body) = client
        .post(&url, "application/json", vec![b' '; 5 << 20])
        .await;
    assert_eq!(status, 413, "{body}");
    // A batch of `n` lastAccepted calls.
    let batch_of = |n: usize| -> Vec<u8> {
        let calls: Vec<Value> = (0..n)
            .map(|i| json!({"jsonrpc":"2.0","id":i,"method":"transfervm.lastAccepted"}))
            .collect();
        serde_json::to_vec(&calls).unwrap()
    };
    // Oversized batch: one error.
    let (status, body) = client.post(&url, "application/json", batch_of(1_001)).await;
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert!(status == 200 || status == 400, "{status}");
    assert_eq!(answer["error"]["code"], -32010, "{body}");
    // A batch within the limit answers every call.
    let (status, body) = client.post(&url, "application/json", batch_of(100)).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        100
    );
    // Malformed JSON.
    let (_, body) = client
        .post(&url, "application/json", b"{bad".to_vec())
        .await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["code"],
        -32700
    );
    // Unknown paths say where the API is.
    let (status, body) = client
        .post(&url.replace("/rpc", "/nope"), "application/json", info)
        .await;
    assert_eq!(status, 404);
    assert!(body.contains("/rpc"));
    chain.stop().await;
}

/// Every JSON-RPC 2.0 envelope edge case in `test_utils::jsonrpc` (forbidden `id` types,
/// notifications, empty and mixed batches, parse errors, wrong versions), sent over real HTTP to
/// the dev server, gets the status and answer the specification gives it; a notification gets a
/// 204 with no body and no content type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonrpc_envelope_edge_cases_are_answered_as_the_specification_says() {
    use transfervm::test_utils::jsonrpc::{edge_cases, summary};
    let dir = tempfile::tempdir().unwrap();
    let (chain, _rpc) = start(dir.path()).await;
    let url = chain.rpc_url();
    let client = reqwest_like::Client::new();
    for case in edge_cases() {
        let answer = client
            .send(
                "POST",
                &url,
                Some("application/json"),
                case.body.clone().into(),
            )
            .await;
        let name = case.name;
        assert_eq!(answer.status, case.status, "{name}: {}", answer.body);
        match &case.answer {
            None => {
                assert!(answer.body.is_empty(), "{name}: {}", answer.body);
                assert!(
                    !answer.headers.contains_key("content-type"),
                    "{name}: {:?}",
                    answer.headers
                );
            }
            Some(expected) => {
                let parsed: Value = serde_json::from_str(&answer.body)
                    .unwrap_or_else(|e| panic!("{name}: {e}: {}", answer.body));
                assert_eq!(&summary(&parsed), expected, "{name}: {}", answer.body);
            }
        }
    }
    chain.stop().await;
}
