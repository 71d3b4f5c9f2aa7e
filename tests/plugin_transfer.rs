//! Transfers through the plugin as the host drives it, against the built binary: one node end
//! to end, gossip between two nodes, competing blocks, and a restart on the same database.

#[path = "common/plugin_host.rs"]
mod plugin_host;

use plugin_host::*;
use serde_json::json;
use std::time::Duration;
use transfervm::chain::tx::address_of;
use transfervm::chain::{Address, Id, SignedTx};
use transfervm::pb::vm::{self, AppGossipMsg};

/// Every dev key starts with this balance (genesis/local.json).
const GENESIS_BALANCE: u64 = 1_000_000_000_000_000_000;
const FEE: u64 = 100;

fn addr(key: &ed25519_dalek::SigningKey) -> Address {
    address_of(key)
}

/// Submits `tx` to `node`, has it build, verify and accept a block; returns the block.
async fn transfer_and_accept(node: &mut TestNode, tx: &SignedTx) -> vm::BuildBlockResponse {
    let notifies = node.host.recorder.notifies();
    node.rpc.submit(tx).await;
    node.wait_notifies(notifies + 1).await;
    let block = node.build().await;
    node.verify(&block.bytes).await;
    node.accept(&block.id).await;
    block
}

/// (c) A wallet's transfer through HandleSimple, the Notify that follows, BuildBlock →
/// BlockVerify → SetPreference → BlockAccept, and the new balances — with no database read
/// on the way (state is served from memory).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_end_to_end() {
    let chain_id = id_from_label("plugin transfer end to end");
    let mut node = TestNode::start(chain_id).await;
    let genesis_id = node.init.last_accepted_id.clone();
    let sender = dev_key(0);
    let recipient = addr(&fresh_key("end-to-end recipient"));
    assert_eq!(node.rpc.balance(&addr(&sender)).await, GENESIS_BALANCE);
    assert_eq!(node.rpc.balance(&recipient).await, 0);
    let reads_before = node.host.db.reads();
    let batches_before = node.host.db.write_batches();

    let tx = transfer(&sender, chain_id, recipient, 12_345, 0);
    let tx_id = node.rpc.submit(&tx).await;
    assert_eq!(node.rpc.tx_status(&tx_id).await, "pending");
    node.wait_notifies(1).await;
    node.wait_gossip_of(&tx).await;

    let block = node.build().await;
    assert_eq!(block.id.len(), 32);
    assert_eq!(block.parent_id, genesis_id);
    assert_eq!(block.height, 1);
    assert!(!block.verify_with_context);
    let built_at = block.timestamp.expect("BuildBlock timestamp");
    let tx_bytes = tx.to_bytes();
    assert!(
        block.bytes.windows(tx_bytes.len()).any(|w| w == tx_bytes),
        "the block holds the tx"
    );

    assert_eq!(node.verify(&block.bytes).await, built_at);
    assert_eq!(node.rpc.tx_status(&tx_id).await, "processing");
    node.accept(&block.id).await;

    assert_eq!(node.rpc.tx_status(&tx_id).await, "accepted");
    assert_eq!(
        node.rpc.balance(&addr(&sender)).await,
        GENESIS_BALANCE - 12_345 - FEE
    );
    assert_eq!(node.rpc.balance(&recipient).await, 12_345);
    let latest = node.rpc.latest_block().await;
    assert_eq!(latest["id"], Id::from_slice(&block.id).unwrap().to_string());
    assert_eq!(latest["height"], 1);
    assert_eq!(
        node.host.db.reads(),
        reads_before,
        "no database read per transfer"
    );
    assert_eq!(
        node.host.db.write_batches(),
        batches_before + 1,
        "one WriteBatch per accepted block"
    );

    // The block as the host reads it back.
    let vm = &mut node.plugin.vm;
    let got = vm
        .get_block(vm::GetBlockRequest {
            id: block.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (got.err, got.status, got.height),
        (0, vm::Status::Accepted as i32, 1)
    );
    assert_eq!(
        (got.bytes.clone(), got.timestamp),
        (block.bytes.clone(), Some(built_at))
    );
    let parsed = vm
        .parse_block(vm::ParseBlockRequest {
            bytes: block.bytes.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (parsed.id.clone(), parsed.status),
        (block.id.clone(), vm::Status::Accepted as i32)
    );
    let at1 = vm
        .get_block_id_at_height(vm::GetBlockIdAtHeightRequest { height: 1 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(at1.blk_id, block.id);
    let ancestors = vm
        .get_ancestors(vm::GetAncestorsRequest {
            blk_id: block.id.clone(),
            max_blocks_num: 10,
            max_blocks_size: 2 << 20,
            max_blocks_retrival_time: 5_000_000_000,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        ancestors.blks_bytes,
        vec![block.bytes.clone(), node.init.bytes.clone()]
    );
    let only_one = vm
        .get_ancestors(vm::GetAncestorsRequest {
            blk_id: block.id.clone(),
            max_blocks_num: 1,
            max_blocks_size: 2 << 20,
            max_blocks_retrival_time: 5_000_000_000,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(only_one.blks_bytes, vec![block.bytes.clone()]);

    let families = vm.gather(()).await.unwrap().into_inner().metric_families;
    let accepted = families
        .iter()
        .find(|f| f.name.as_deref() == Some("blocks_accepted"))
        .unwrap();
    assert_eq!(
        accepted.metric[0].counter.as_ref().unwrap().value,
        Some(1.0)
    );
    node.plugin.assert_no_panic();
}

/// (d) A second node learns the transaction from the first one's gossip, parses and verifies
/// the first one's block, accepts it, and both end with the same state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_node_follows_through_gossip() {
    let chain_id = id_from_label("plugin gossip");
    let mut a = TestNode::start(chain_id).await;
    let mut b = TestNode::start(chain_id).await;
    assert_eq!(
        a.init.last_accepted_id, b.init.last_accepted_id,
        "same genesis"
    );
    let sender = dev_key(1);
    let recipient = addr(&fresh_key("gossip recipient"));

    let tx = transfer(&sender, chain_id, recipient, 777, 0);
    let tx_id = a.rpc.submit(&tx).await;
    let gossip = a.wait_gossip_of(&tx).await;

    // What the host does with a peer's gossip: VM.AppGossip on the other node.
    b.plugin
        .vm
        .app_gossip(AppGossipMsg {
            node_id: vec![0xa; 20],
            msg: gossip,
        })
        .await
        .expect("AppGossip");
    assert_eq!(b.rpc.tx_status(&tx_id).await, "pending");
    b.wait_notifies(1).await;

    let block = a.build().await;
    a.verify(&block.bytes).await;
    let parsed = b
        .plugin
        .vm
        .parse_block(vm::ParseBlockRequest {
            bytes: block.bytes.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(parsed.id, block.id);
    assert_eq!(parsed.status, vm::Status::Processing as i32);
    assert_eq!(parsed.timestamp, block.timestamp);
    assert_eq!(b.verify(&block.bytes).await, block.timestamp.unwrap());
    assert_eq!(b.rpc.tx_status(&tx_id).await, "processing");
    a.accept(&block.id).await;
    b.accept(&block.id).await;

    let (latest_a, latest_b) = (a.rpc.latest_block().await, b.rpc.latest_block().await);
    assert_eq!(latest_a["id"], latest_b["id"]);
    assert_eq!(latest_a["stateDigest"], latest_b["stateDigest"]);
    for who in [addr(&sender), recipient] {
        assert_eq!(a.rpc.balance(&who).await, b.rpc.balance(&who).await);
    }
    assert_eq!(b.rpc.balance(&recipient).await, 777);
    assert_eq!(b.rpc.tx_status(&tx_id).await, "accepted");
    // Gossip received from a peer is never echoed back.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        b.host.recorder.gossip().is_empty(),
        "node B re-gossiped a peer's transaction"
    );
    a.plugin.assert_no_panic();
    b.plugin.assert_no_panic();
}

/// (e) Two nodes build competing blocks at one height from different transactions; consensus
/// accepts one and rejects the other on both. They converge, the rejected block's still-valid
/// transaction goes back to its builder's mempool, and a later block carries it. Node A's host
/// answers every Notify with the host's "full message queue", which the plugin must shrug off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn competing_blocks_converge() {
    let chain_id = id_from_label("plugin competing blocks");
    let mut a = TestNode::start(chain_id).await;
    let mut b = TestNode::start(chain_id).await;
    a.host.recorder.answer_full_queue_from(0);
    let (key_a, key_b) = (dev_key(2), dev_key(3));
    let recipient = addr(&fresh_key("competing recipient"));

    let tx_a = transfer(&key_a, chain_id, recipient, 1_000, 0);
    let tx_b = transfer(&key_b, chain_id, recipient, 2_000, 0);
    a.rpc.submit(&tx_a).await;
    let tx_b_id = b.rpc.submit(&tx_b).await;
    a.wait_notifies(1).await; // answered "full message queue"
    b.wait_notifies(1).await;

    let block_a = a.build().await;
    let block_b = b.build().await;
    assert_eq!((block_a.height, block_b.height), (1, 1));
    assert_ne!(block_a.id, block_b.id);
    assert_eq!(block_a.parent_id, block_b.parent_id);
    for node in [&mut a, &mut b] {
        node.verify(&block_a.bytes).await;
        node.verify(&block_b.bytes).await;
    }
    for node in [&mut a, &mut b] {
        node.accept(&block_a.id).await;
        node.reject(&block_b.id).await;
    }

    for node in [&mut a, &mut b] {
        let latest = node.rpc.latest_block().await;
        assert_eq!(
            latest["id"],
            Id::from_slice(&block_a.id).unwrap().to_string()
        );
        assert_eq!(node.rpc.balance(&recipient).await, 1_000);
        assert_eq!(
            node.rpc.balance(&addr(&key_a)).await,
            GENESIS_BALANCE - 1_000 - FEE
        );
        assert_eq!(node.rpc.balance(&addr(&key_b)).await, GENESIS_BALANCE);
        let rejected = node
            .plugin
            .vm
            .get_block(vm::GetBlockRequest {
                id: block_b.id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(rejected.err != 0 || rejected.status == vm::Status::Rejected as i32);
    }
    assert_eq!(
        b.rpc.tx_status(&tx_b_id).await,
        "pending",
        "the rejected block's tx is back in its builder's pool"
    );
    let (digest_a, digest_b) = (
        a.rpc.latest_block().await["stateDigest"].clone(),
        b.rpc.latest_block().await["stateDigest"].clone(),
    );
    assert_eq!(digest_a, digest_b);

    // The returned transaction makes it into the next block, which both accept.
    let next = b.build().await;
    assert_eq!(
        (next.height, next.parent_id.clone()),
        (2, block_a.id.clone())
    );
    a.verify(&next.bytes).await;
    b.verify(&next.bytes).await;
    a.accept(&next.id).await;
    b.accept(&next.id).await;
    for node in [&mut a, &mut b] {
        assert_eq!(node.rpc.balance(&recipient).await, 3_000);
        assert_eq!(node.rpc.tx_status(&tx_b_id).await, "accepted");
    }
    assert_eq!(
        a.rpc.latest_block().await["stateDigest"],
        b.rpc.latest_block().await["stateDigest"]
    );
    assert!(a.host.recorder.notifies() >= 1);
    a.plugin.assert_no_panic();
    b.plugin.assert_no_panic();
}

/// (f) A new plugin process on the same host database resumes at the last accepted block
/// with the same balances, and keeps going.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_from_the_database() {
    let chain_id = id_from_label("plugin restart");
    let mut first = TestNode::start(chain_id).await;
    let sender = dev_key(4);
    let recipient = addr(&fresh_key("restart recipient"));
    let block = transfer_and_accept(
        &mut first,
        &transfer(&sender, chain_id, recipient, 4_242, 0),
    )
    .await;
    let digest = first.rpc.latest_block().await["stateDigest"].clone();
    let genesis = (
        first.init.last_accepted_id.clone(),
        first.init.bytes.clone(),
    );

    // The host stops the first process (Shutdown, SIGTERM) but keeps its database.
    let TestNode {
        host, mut plugin, ..
    } = first;
    plugin.vm.shutdown(()).await.unwrap();
    plugin.terminate();
    let status = plugin
        .wait_exit(Duration::from_secs(5))
        .await
        .expect("first process exits");
    assert!(
        status.success(),
        "exit status {status}\n{}",
        plugin.output()
    );
    plugin.assert_no_panic();
    drop(plugin);
    let batches = host.db.write_batches();

    let mut second = TestNode::start_on(host, chain_id).await;
    assert_eq!(second.init.last_accepted_id, block.id);
    assert_eq!(second.init.last_accepted_parent_id, genesis.0);
    assert_eq!(second.init.height, 1);
    assert_eq!(second.init.bytes, block.bytes);
    assert_eq!(second.init.timestamp, block.timestamp);
    assert_eq!(
        second.host.db.write_batches(),
        batches,
        "a restart writes nothing"
    );
    assert_eq!(
        second.host.db.open_iterators(),
        0,
        "the start-up scan released its iterator"
    );
    assert_eq!(second.rpc.latest_block().await["stateDigest"], digest);
    assert_eq!(second.rpc.balance(&recipient).await, 4_242);
    assert_eq!(
        second.rpc.balance(&addr(&sender)).await,
        GENESIS_BALANCE - 4_242 - FEE
    );
    let account = second
        .rpc
        .ok(
            "transfervm.account",
            json!({"address": addr(&sender).to_string()}),
        )
        .await;
    assert_eq!(account["nonce"], 1, "{account}");

    // Old blocks come from the database.
    let vm = &mut second.plugin.vm;
    let old = vm
        .get_block(vm::GetBlockRequest {
            id: genesis.0.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (old.err, old.status, old.bytes),
        (0, vm::Status::Accepted as i32, genesis.1.clone())
    );
    let at0 = vm
        .get_block_id_at_height(vm::GetBlockIdAtHeightRequest { height: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(at0.blk_id, genesis.0);

    // And the chain goes on.
    let next =
        transfer_and_accept(&mut second, &transfer(&sender, chain_id, recipient, 1, 1)).await;
    assert_eq!((next.height, next.parent_id), (2, block.id));
    assert_eq!(second.rpc.balance(&recipient).await, 4_243);
    second.plugin.assert_no_panic();
}

/// A host database that stops answering: Health fails (the host marks the chain unhealthy),
/// Accept fails with the storage error and changes nothing, Health keeps failing after the
/// database answers again until an accept has gone through, and the same Accept goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_database_is_reported_and_survived() {
    let chain_id = id_from_label("plugin failing database");
    let mut node = TestNode::start(chain_id).await;
    let sender = dev_key(0);
    let recipient = addr(&fresh_key("failing-db recipient"));
    node.rpc
        .submit(&transfer(&sender, chain_id, recipient, 5, 0))
        .await;
    node.wait_notifies(1).await;
    let block = node.build().await;
    node.verify(&block.bytes).await;

    node.host.db.set_failing(true);
    let e = node.plugin.vm.health(()).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unavailable);
    assert!(e.message().contains("database"), "{}", e.message());
    let e = node
        .plugin
        .vm
        .block_accept(vm::BlockAcceptRequest {
            id: block.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unavailable);
    assert!(
        e.message().contains("injected database failure"),
        "{}",
        e.message()
    );
    // Served from memory, unchanged.
    assert_eq!(node.rpc.balance(&recipient).await, 0);
    assert_eq!(node.rpc.latest_block().await["height"], 0);

    node.host.db.set_failing(false);
    // The database answers again, but the chain is stuck until an accept goes through.
    let e = node.plugin.vm.health(()).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unavailable);
    assert!(
        e.message().contains("could not be written"),
        "{}",
        e.message()
    );
    node.accept(&block.id).await;
    node.plugin.vm.health(()).await.expect("healthy again");
    assert_eq!(node.rpc.balance(&recipient).await, 5);
    node.plugin.assert_no_panic();
}
