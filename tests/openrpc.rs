//! `rpc.discover` against a running dev chain: the document it serves is the embedded one, the
//! README's API table names the same methods, and every example in it answers with a result
//! that matches the method's result schema.
//!
//! A signed transfer expires within the chain's window, so the examples' transfer (and its ID)
//! cannot answer as printed forever: the test signs the same transfer afresh (same sender,
//! recipient, amount, fee and nonce, a new expiry) and puts it, and its ID, where the example
//! has them. Every other value is used as printed.

use regex::Regex;
use serde_json::{json, Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};
use transfervm::api::openrpc::{document, documented_methods, DISCOVER};
use transfervm::chain::Id;
use transfervm::cli::rpc_client::RpcClient;
use transfervm::test_utils::{start_dev_chain, tx_hex, Transfer};

/// The README's `## JSON-RPC API` table: the method names in its first column.
fn readme_methods() -> Vec<String> {
    let readme = include_str!("../README.md");
    let section = readme
        .split("## JSON-RPC API")
        .nth(1)
        .expect("README has a JSON-RPC API section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let row = Regex::new(r"(?m)^\| `([A-Za-z.]+)` \|").unwrap();
    row.captures_iter(section)
        .map(|c| {
            let name = c[1].to_string();
            if name.contains('.') {
                name
            } else {
                format!("transfervm.{name}")
            }
        })
        .collect()
}

/// Follows a local `$ref`.
fn resolve(schema: &Value) -> &Value {
    match schema["$ref"].as_str() {
        Some(target) => document()
            .pointer(target.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{target} does not resolve")),
        None => schema,
    }
}

/// Checks `value` against the subset of JSON Schema the document uses; returns what is wrong.
fn conforms(value: &Value, schema: &Value, at: &str) -> Vec<String> {
    let schema = resolve(schema);
    let mut wrong = Vec::new();
    let is = |kind: &str| match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_u64() || value.is_i64(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        other => panic!("schema type {other} is not used by the document"),
    };
    let type_ok = match &schema["type"] {
        Value::String(kind) => is(kind),
        Value::Array(kinds) => kinds.iter().any(|k| is(k.as_str().unwrap())),
        _ => true,
    };
    if !type_ok {
        return vec![format!("{at}: {value} is not a {}", schema["type"])];
    }
    if let (Some(pattern), Some(text)) = (schema["pattern"].as_str(), value.as_str()) {
        if !Regex::new(pattern).unwrap().is_match(text) {
            wrong.push(format!("{at}: {text:?} does not match {pattern}"));
        }
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            wrong.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for required in schema["required"].as_array().into_iter().flatten() {
            if !object.contains_key(required.as_str().unwrap()) {
                wrong.push(format!("{at}: {required} is missing"));
            }
        }
        for (key, item) in object {
            match properties.get(key) {
                Some(property) => wrong.extend(conforms(item, property, &format!("{at}.{key}"))),
                None => wrong.push(format!("{at}: {key} is not in the schema")),
            }
        }
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            wrong.extend(conforms(item, &schema["items"], &format!("{at}[{i}]")));
        }
    }
    wrong
}

/// Replaces every string equal to a key of `swaps` inside `value`.
fn substitute(value: &Value, swaps: &[(String, String)]) -> Value {
    match value {
        Value::String(text) => swaps
            .iter()
            .find(|(from, _)| from == text)
            .map_or_else(|| value.clone(), |(_, to)| Value::from(to.clone())),
        Value::Array(items) => items.iter().map(|v| substitute(v, swaps)).collect(),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, swaps)))
                .collect::<Map<String, Value>>(),
        ),
        _ => value.clone(),
    }
}

/// The example transfer signed afresh for `chain_id`, and the swaps that put it in place.
fn fresh_transfer_swaps(chain_id: Id) -> Vec<(String, String)> {
    let submit = document()["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "transfervm.submitTx")
        .expect("submitTx is documented");
    let example = &submit["examples"][0];
    let printed_tx = example["params"][0]["value"].as_str().unwrap().to_string();
    let printed_id = example["result"]["value"]["txId"]
        .as_str()
        .unwrap()
        .to_string();
    let bytes = hex::decode(&printed_tx[2..]).unwrap();
    let printed = transfervm::chain::SignedTx::decode_canonical(&bytes).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let key_index = (0..5)
        .find(|i| {
            transfervm::chain::tx::address_of(&transfervm::keys::dev_key(*i)) == printed.body.from
        })
        .expect("the example is signed by a dev key");
    let fresh = Transfer::from_dev(key_index)
        .to(printed.body.to)
        .amount(printed.body.amount)
        .fee(printed.body.fee)
        .nonce(printed.body.nonce)
        .network(printed.body.network_id)
        .chain(chain_id)
        .expires_at(now + 600)
        .sign();
    vec![
        (printed_tx, tx_hex(&fresh)),
        (printed_id, fresh.id().to_string()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_discover_matches_the_code_the_readme_and_a_running_chain() {
    let dir = tempfile::tempdir().unwrap();
    let chain = start_dev_chain(dir.path()).await;
    let rpc = RpcClient::new(&format!(
        "http://{}/ext/bc/transfervm/rpc",
        chain.local_addr
    ))
    .unwrap();

    let served = rpc.call(DISCOVER, json!({})).await.unwrap();
    assert_eq!(
        &served,
        document(),
        "rpc.discover serves the embedded document"
    );

    let mut documented: Vec<String> = documented_methods().iter().map(|m| m.to_string()).collect();
    documented.push(DISCOVER.to_string());
    documented.sort();
    let mut in_readme = readme_methods();
    in_readme.sort();
    assert_eq!(
        in_readme, documented,
        "README's API table and rpc.discover disagree"
    );

    let swaps = fresh_transfer_swaps(chain.chain_id);
    let mut answered = 0;
    for method in document()["methods"].as_array().unwrap() {
        let name = method["name"].as_str().unwrap();
        for example in method["examples"]
            .as_array()
            .expect("every method has an example")
        {
            let params: Map<String, Value> = example["params"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap().to_string(),
                        substitute(&p["value"], &swaps),
                    )
                })
                .collect();
            let answer = rpc
                .call(name, Value::Object(params))
                .await
                .unwrap_or_else(|e| panic!("{name} example {:?}: {e}", example["name"]));
            let wrong = conforms(&answer, &method["result"]["schema"], name);
            assert!(wrong.is_empty(), "{name}: {answer}\n{}", wrong.join("\n"));
            // The example's printed result fits its own schema too.
            let printed = conforms(
                &example["result"]["value"],
                &method["result"]["schema"],
                name,
            );
            assert!(
                printed.is_empty(),
                "{name}'s printed result:\n{}",
                printed.join("\n")
            );
            answered += 1;
        }
    }
    assert_eq!(
        answered,
        documented_methods().len(),
        "one example per method ran"
    );
    chain.stop().await;
}
