//! The JSON-RPC entry point: a raw HTTP body into `Api::handle`, exactly as the dev server and
//! the plugin's `HandleSimple` call it, over a chain with one accepted block.

use super::common::{self, mempool_ids, open_chain, Snapshot, NOW_MS};
use super::Outcome;
use serde_json::Value;
use std::sync::OnceLock;
use transfervm::api::{Api, ApiLimits, ChainInfo};
use transfervm::chain::{Address, Chain};
use transfervm::test_utils::node_on;

/// The path the host forwards to the VM.
pub const RPC_PATH: &str = "/ext/bc/transfervm/rpc";

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// The chain every input starts from: genesis plus block 1 holding [`accepted_tx`], so the
/// query methods have a block and a transaction to find.
pub fn chain_with_one_block() -> Chain {
    let mut chain = open_chain();
    chain
        .check_and_admit(accepted_tx(), NOW_MS)
        .expect("the first transfer is admitted");
    let block = chain.build_block(NOW_MS).expect("a block");
    chain.accept_block(block.id).expect("accepted");
    chain
}

/// The transfer in block 1.
pub fn accepted_tx() -> transfervm::chain::SignedTx {
    common::transfer(0, Address([7; 32]), 1_000, 0)
}

/// Runs one input.
pub fn run(data: &[u8]) -> Outcome {
    let node = node_on(chain_with_one_block());
    let before = node.inspect(Snapshot::of);
    let request = http::Request::post(RPC_PATH)
        .header("content-type", "application/json")
        .body(data.to_vec().into())
        .expect("a valid request");
    let response = runtime().block_on(async {
        let api = Api::new(node.clone(), ChainInfo::DEV, ApiLimits::default());
        api.handle(request).await
    });
    assert!(
        response.status().as_u16() < 500,
        "no input is an internal error: {} {}",
        response.status(),
        String::from_utf8_lossy(response.body())
    );
    // Every answer is JSON (an object, or a batch), except the answer to notifications only:
    // HTTP 204 with an empty body, as the JSON-RPC 2.0 specification says (nothing is returned).
    let answered = response.status() == 200 || response.status() == 204;
    if response.status() == 204 {
        assert!(response.body().is_empty(), "204 carries no body");
    } else {
        let answer: Value = serde_json::from_slice(response.body()).unwrap_or_else(|e| {
            panic!(
                "every answer is JSON ({e}): {}",
                String::from_utf8_lossy(response.body())
            )
        });
        assert!(answer.is_object() || answer.is_array(), "{answer}");
    }
    node.inspect(|chain| {
        let after = Snapshot::of(chain);
        // The API cannot touch accepted state or consensus.
        assert_eq!(after.digest_of_accepted(), before.digest_of_accepted());
        // Nothing pending is lost, and nothing enters the pool without the caller being told.
        let pending_before = before.pending().to_vec();
        let pending_after = mempool_ids(chain);
        assert!(pending_before.iter().all(|id| pending_after.contains(id)));
        // Nothing enters the pool that the caller did not send.
        let sent = String::from_utf8_lossy(data).to_ascii_lowercase();
        let new: Vec<_> = pending_after
            .iter()
            .filter(|id| !pending_before.contains(id))
            .collect();
        for id in &new {
            let tx = chain.mempool().get(id).expect("pending");
            assert!(
                sent.contains(&hex::encode(tx.to_bytes())),
                "admitted {id}, which the request does not hold"
            );
        }
        if !answered {
            assert!(new.is_empty(), "a refused request admits nothing");
        }
        common::assert_invariants(chain);
        if !new.is_empty() {
            Outcome::Accepted
        } else if answered {
            Outcome::Rejected
        } else {
            Outcome::Refused
        }
    })
}
