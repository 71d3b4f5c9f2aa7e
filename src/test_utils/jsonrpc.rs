//! The JSON-RPC 2.0 envelope edge cases (<https://www.jsonrpc.org/specification>) and the
//! answer each must get, written once: the dev server's HTTP test and the plugin's
//! `HandleSimple` test run the same table, since both reach the one `Api::handle`.

use serde_json::{json, Value};

/// One request body and what it must be answered with.
pub struct EdgeCase {
    /// What the case is, for assertion messages.
    pub name: &'static str,
    /// The HTTP body, sent with `Content-Type: application/json`.
    pub body: String,
    /// The HTTP status.
    pub status: u16,
    /// The answer as [`summary`] reduces it; `None` for no body at all (HTTP 204).
    pub answer: Option<Value>,
}

/// The method of every valid call in the table: `transfervm.lastAccepted` answers on any chain
/// and takes no params.
const CALL: &str = r#""method":"transfervm.lastAccepted""#;

/// A request object `{"jsonrpc":"2.0",<members>,"method":"transfervm.lastAccepted"}`.
fn call(members: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0",{members}{CALL}}}"#)
}

/// An error answer as [`summary`] writes it.
fn error(id: Value, code: i64) -> Value {
    json!({"id": id, "error": code})
}

/// A result answer as [`summary`] writes it.
fn result(id: Value) -> Value {
    json!({"id": id, "result": true})
}

/// An answer (a response object or a batch of them) reduced to what the specification fixes:
/// each response's `id`, and its error code or that it has a result. Anything else (a missing
/// `jsonrpc: "2.0"`, both or neither of result and error) is kept whole, so it fails the test.
pub fn summary(answer: &Value) -> Value {
    match answer {
        Value::Array(responses) => Value::Array(responses.iter().map(summary).collect()),
        Value::Object(response)
            if response.get("jsonrpc") == Some(&json!("2.0"))
                && response.contains_key("id")
                && response.contains_key("result") != response.contains_key("error") =>
        {
            match response.get("error") {
                Some(err) => json!({"id": response["id"], "error": err["code"]}),
                None => result(response["id"].clone()),
            }
        }
        other => other.clone(),
    }
}

/// Every case, with the answer the specification (and, where it leaves a choice, the API's
/// documented decision in `api::envelope`) gives it.
pub fn edge_cases() -> Vec<EdgeCase> {
    let invalid = || Some(error(Value::Null, -32600));
    let case = |name, body: String, status, answer| EdgeCase {
        name,
        body,
        status,
        answer,
    };
    vec![
        // `id`: a string, a number or null; the others are refused, id null.
        case("id string", call(r#""id":"a","#), 200, Some(result(json!("a")))),
        case("id integer", call(r#""id":7,"#), 200, Some(result(json!(7)))),
        case("id null", call(r#""id":null,"#), 200, Some(result(Value::Null))),
        case("id object", call(r#""id":{"a":1},"#), 200, invalid()),
        case("id array", call(r#""id":[1],"#), 200, invalid()),
        case("id boolean", call(r#""id":true,"#), 200, invalid()),
        case("id fractional", call(r#""id":1.5,"#), 200, invalid()),
        case("id exponent", call(r#""id":1e3,"#), 200, invalid()),
        case("id negative", call(r#""id":-1,"#), 200, invalid()),
        case("id over u64", call(r#""id":18446744073709551616,"#), 200, invalid()),
        // Notifications: no answer at all.
        case("notification", call(""), 204, None),
        case(
            "notification of an unknown method",
            r#"{"jsonrpc":"2.0","method":"nope"}"#.into(),
            204,
            None,
        ),
        case(
            "batch of notifications",
            format!("[{},{}]", call(""), call("")),
            204,
            None,
        ),
        // Batches.
        case("empty batch", "[]".into(), 200, invalid()),
        case(
            "batch of numbers",
            "[1,2,3]".into(),
            200,
            Some(json!([
                error(Value::Null, -32600),
                error(Value::Null, -32600),
                error(Value::Null, -32600)
            ])),
        ),
        case(
            "mixed batch",
            format!(
                "[{},{},{},{},{},{},{}]",
                call(r#""id":1,"#),
                call(""),
                r#"{"foo":"bar"}"#,
                call(r#""id":{},"#),
                r#"{"jsonrpc":"1.0","id":2,"method":"transfervm.lastAccepted"}"#,
                r#"{"jsonrpc":"2.0","id":3,"method":"nope"}"#,
                call(r#""id":4,"params":5,"#),
            ),
            200,
            Some(json!([
                result(json!(1)),
                error(Value::Null, -32600),
                error(Value::Null, -32600),
                error(json!(2), -32600),
                error(json!(3), -32601),
                error(json!(4), -32600)
            ])),
        ),
        // Not JSON: Parse error, id null.
        case(
            "invalid JSON",
            r#"{"jsonrpc":"2.0","method":"foobar,"params":"bar","baz]"#.into(),
            200,
            Some(error(Value::Null, -32700)),
        ),
        case(
            "invalid JSON batch",
            r#"[{"jsonrpc":"2.0","method":"sum","params":[1,2,4],"id":"1"},{"jsonrpc":"2.0","method"]"#
                .into(),
            200,
            Some(error(Value::Null, -32700)),
        ),
        case(
            "not JSON at all",
            "nope".into(),
            400,
            Some(error(Value::Null, -32700)),
        ),
        // JSON, but not a valid request object: Invalid Request, under the id if it has one.
        case(
            "jsonrpc 1.0 with an id",
            r#"{"jsonrpc":"1.0","id":1,"method":"transfervm.lastAccepted"}"#.into(),
            200,
            Some(error(json!(1), -32600)),
        ),
        case(
            "jsonrpc 1.0 without an id",
            r#"{"jsonrpc":"1.0","method":"transfervm.lastAccepted"}"#.into(),
            200,
            invalid(),
        ),
        case(
            "no jsonrpc member",
            r#"{"id":1,"method":"transfervm.lastAccepted"}"#.into(),
            200,
            Some(error(json!(1), -32600)),
        ),
        case(
            "the specification's invalid request",
            r#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#.into(),
            200,
            invalid(),
        ),
        case("an object of other members", r#"{"foo":"bar"}"#.into(), 200, invalid()),
        case("a string", r#""text""#.into(), 200, invalid()),
        case("a number", "5".into(), 200, invalid()),
        case(
            "params neither object nor array",
            call(r#""id":1,"params":5,"#),
            200,
            Some(error(json!(1), -32600)),
        ),
    ]
}
