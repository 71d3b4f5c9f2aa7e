//! `rpc.discover`: the API describes itself as an OpenRPC 1.2 document, so wallets and tools
//! can generate clients and a reader can see every method, its params, result and errors.
//!
//! The document is written by hand in `openrpc/openrpc.json` (embedded in the binary) because
//! its prose and examples are for people; tests hold it to the code: it lists exactly the
//! registered methods, every reference resolves, the README's API table names the same methods,
//! and every example answers on a dev chain with a result that matches its schema
//! (`tests/openrpc.rs`).

use serde_json::Value;
use std::sync::OnceLock;

/// The document as written, with `info.version` still a placeholder.
const DOCUMENT: &str = include_str!("openrpc/openrpc.json");

/// The OpenRPC method name the document is served under (reserved by the OpenRPC spec; the
/// document itself does not list it).
pub const DISCOVER: &str = "rpc.discover";

/// The document, parsed once, with `info.version` set to this build's version.
pub fn document() -> &'static Value {
    static PARSED: OnceLock<Value> = OnceLock::new();
    PARSED.get_or_init(|| {
        let mut document: Value =
            serde_json::from_str(DOCUMENT).expect("the embedded OpenRPC document is JSON");
        document["info"]["version"] = Value::from(env!("CARGO_PKG_VERSION"));
        document
    })
}

/// The method names the document lists, in its order.
pub fn documented_methods() -> Vec<&'static str> {
    document()["methods"]
        .as_array()
        .map(|methods| methods.iter().filter_map(|m| m["name"].as_str()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::methods::{module, ApiContext};
    use crate::test_utils::open_node;

    /// Every `$ref` in `value`, as JSON pointers into the document.
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    out.push(target.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn the_document_lists_exactly_the_registered_methods() {
        let module = module(ApiContext {
            node: open_node(),
            mode: "dev",
            rpcchainvm: None,
            max_txs_per_call: 16,
        });
        let mut registered: Vec<&str> = module
            .method_names()
            .filter(|name| *name != DISCOVER)
            .collect();
        registered.sort_unstable();
        let mut documented = documented_methods();
        documented.sort_unstable();
        assert_eq!(documented, registered);
        assert!(module.method_names().any(|name| name == DISCOVER));
    }

    #[test]
    fn every_reference_resolves_and_the_version_is_this_build() {
        let document = document();
        assert_eq!(document["openrpc"], "1.2.6");
        assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
        let mut targets = Vec::new();
        refs(document, &mut targets);
        assert!(targets.len() > 20, "the document uses its components");
        for target in targets {
            let pointer = target.strip_prefix('#').expect("local references only");
            assert!(
                document.pointer(pointer).is_some(),
                "{target} does not resolve"
            );
        }
    }

    #[test]
    fn every_error_code_the_api_sends_is_documented() {
        let documented: Vec<i64> = document()["components"]["errors"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|e| e["code"].as_i64())
            .collect();
        for code in crate::api::errors::APPLICATION_CODES {
            assert!(
                documented.contains(&i64::from(*code)),
                "code {code} is not documented"
            );
        }
    }
}
