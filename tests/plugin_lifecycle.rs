//! The plugin's life cycle as the host drives it, over loopback gRPC against the built binary:
//! registration (Version / CreateStaticHandlers / Shutdown before Initialize), the full chain
//! start-up sequence, a refused handshake, and hostile input.

#[path = "common/plugin_host.rs"]
mod plugin_host;

use plugin_host::*;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tonic::Code;
use transfervm::chain::{Block, Id};
use transfervm::pb::http::{HandleSimpleHttpRequest, HttpRequest};
use transfervm::pb::vm::{self, AppGossipMsg};

/// The host's graceful-stop window after SIGTERM.
const GRACEFUL: Duration = Duration::from_secs(5);

/// (a) What the node does with each plugin file before any chain exists: Version, then
/// Shutdown without Initialize; CreateStaticHandlers; then SIGTERM. Started through the
/// avalanchego variable name, which the plugin accepts too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_calls_before_initialize_then_sigterm() {
    let mut plugin = Plugin::launch_with(LaunchOptions {
        env_var: "AVALANCHE_VM_RUNTIME_ENGINE_ADDR",
        ..Default::default()
    })
    .await;
    assert_eq!(
        plugin.protocol, 30,
        "the plugin must announce rpcchainvm protocol 30"
    );
    assert!(
        plugin.addr.starts_with("127.0.0.1:"),
        "announced {}",
        plugin.addr
    );

    let version = plugin.vm.version(()).await.unwrap().into_inner().version;
    assert!(version.starts_with("transfervm/"), "{version}");
    let statics = plugin
        .vm
        .create_static_handlers(())
        .await
        .unwrap()
        .into_inner();
    assert!(statics.handlers.is_empty());
    // Health and Gather answer before Initialize, with valid JSON and a metric list.
    let health = plugin.vm.health(()).await.unwrap().into_inner().details;
    let health: serde_json::Value = serde_json::from_slice(&health).expect("health is JSON");
    assert_eq!(health["initialized"], false);
    plugin.vm.gather(()).await.unwrap();
    // Everything else waits for Initialize.
    let early = plugin
        .vm
        .build_block(vm::BuildBlockRequest::default())
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition);
    assert!(
        early.message().contains("not initialized"),
        "{}",
        early.message()
    );

    plugin
        .vm
        .shutdown(())
        .await
        .expect("Shutdown before Initialize");
    plugin.terminate();
    let status = plugin
        .wait_exit(GRACEFUL)
        .await
        .expect("the plugin exits within the host's grace period");
    assert!(status.success(), "exit status {status}");
    plugin.assert_no_panic();
}

/// A host of another protocol version refuses the handshake: the plugin says why in one line
/// (both versions, and the plugin file name that works) and exits non-zero on its own. Both
/// ways round: a plugin file named for 30 under a protocol-35 host (avalanchego v1.11.9's
/// refusal), and one named `<VM ID>.rpcchainvm35` under a protocol-30 host (luxd v1.10.21's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_handshake_names_both_protocols_and_exits_non_zero() {
    let vm_id = transfervm::cli::vm_id().to_string();
    let cases = [
        (
            None,
            30,
            "RPCChainVM protocol version mismatch between AvalancheGo and Virtual Machine \
             plugin. AvalancheGo version avalanchego/1.11.9 implements RPCChainVM protocol \
             version 35. The VM implements RPCChainVM protocol version 30. Please make sure ...",
            "the host speaks 35, this plugin was started as protocol 30 (by its file name): \
             rename the plugin file to <VM ID>.rpcchainvm35",
        ),
        (
            Some(format!("/tmp/plugins/{vm_id}.rpcchainvm35")),
            35,
            "RPCChainVM protocol version mismatch between luxd and Virtual Machine plugin. luxd \
             version lux/1.10.21 implements RPCChainVM protocol version 30. The VM implements \
             RPCChainVM protocol version 35. Please make sure ...",
            "the host speaks 30, this plugin was started as protocol 35 (by its file name): \
             rename the plugin file to <VM ID> (README",
        ),
    ];
    for (program_name, announces, refusal, advice) in cases {
        let mut started = start_process(LaunchOptions {
            refuse: Some(refusal.into()),
            program_name,
            ..Default::default()
        })
        .await;
        assert_eq!(started.announced.0, announces);
        let status = wait_exit(&mut started.child, GRACEFUL)
            .await
            .expect("the plugin exits after a refused handshake");
        assert!(!status.success(), "exit status {status}");
        // Give the stderr reader a moment to collect the last lines.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let output = started.output();
        let lines = output.lines().filter(|l| l.contains(advice)).count();
        assert!(lines >= 1, "no line says {advice:?}; output:\n{output}");
        assert!(!output.contains("panicked at"), "output:\n{output}");
    }
}

/// A plugin file named `<VM ID>.rpcchainvm35` announces protocol 35 and serves protocol 35's
/// `vm.VM`: the messages 35 changed (`Connected` with a semantic version, `AppRequestFailed`
/// with an error) are taken, and the in-band errors use 35's numbering (state sync "not
/// implemented" is 3 there, 4 under 30), read here through 35's own client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_named_for_protocol_35_serves_protocol_35() {
    use transfervm::pb::v35::vm::{self as vm35, vm_client::VmClient as VmClient35};
    let host = Host::start().await;
    let name = format!("/plugins/{}.rpcchainvm35", transfervm::cli::vm_id());
    let started = start_process(LaunchOptions {
        program_name: Some(name),
        ..Default::default()
    })
    .await;
    assert_eq!(started.announced.0, 35, "{}", started.output());
    let mut vm = VmClient35::new(channel(&started.announced.1).await);
    let chain_id = id_from_label("protocol 35");
    let init = vm
        .initialize(host.init_request(chain_id))
        .await
        .unwrap_or_else(|e| panic!("Initialize: {e}\n{}", started.output()))
        .into_inner();
    assert_eq!(init.height, 0);

    vm.connected(vm35::ConnectedRequest {
        node_id: vec![9; 20],
        name: "avalanchego".into(),
        major: 1,
        minor: 11,
        patch: 9,
    })
    .await
    .expect("Connected with 35's version fields");
    vm.app_request_failed(vm35::AppRequestFailedMsg {
        node_id: vec![9; 20],
        request_id: 1,
        error_code: -1,
        error_message: "timed out".into(),
    })
    .await
    .expect("AppRequestFailed with an error");

    // No summary yet: 35's NOT_FOUND (2, as in 30); bytes that are no summary: an error.
    let last = vm.get_last_state_summary(()).await.unwrap().into_inner();
    assert_eq!(last.err, vm35::Error::NotFound as i32);
    let accept = vm
        .state_summary_accept(vm::StateSummaryAcceptRequest::default())
        .await
        .unwrap_err();
    assert_eq!(accept.code(), tonic::Code::InvalidArgument, "{accept:?}");
    let unknown = vm
        .get_block_id_at_height(vm::GetBlockIdAtHeightRequest { height: 99 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unknown.err, vm35::Error::NotFound as i32);
    let genesis = vm
        .get_block_id_at_height(vm::GetBlockIdAtHeightRequest { height: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((genesis.blk_id, genesis.err), (init.last_accepted_id, 0));
    let health = vm.health(()).await.unwrap().into_inner().details;
    let health: serde_json::Value = serde_json::from_slice(&health).expect("health is JSON");
    assert_eq!(health["peers"], 1, "{health}");
    vm.shutdown(()).await.expect("Shutdown");
    assert!(
        !started.output().contains("panicked at"),
        "{}",
        started.output()
    );
}

/// (b) The whole chain start-up sequence of the engine, then Shutdown + SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_start_up_sequence() {
    let host = Host::start().await;
    let mut plugin = Plugin::launch().await;
    let chain_id = id_from_label("plugin start-up sequence");

    let init = plugin.initialize(&host, chain_id).await;
    assert_eq!(init.height, 0, "a fresh chain starts at genesis");
    assert_eq!(init.last_accepted_id.len(), 32);
    assert_eq!(init.last_accepted_parent_id.len(), 32);
    assert_eq!(
        init.last_accepted_id,
        Sha256::digest(&init.bytes).to_vec(),
        "block ID = sha256(bytes)"
    );
    assert!(init.timestamp.is_some(), "the timestamp is always present");
    let genesis_id = init.last_accepted_id.clone();
    let vm = &mut plugin.vm;

    // A second Initialize is refused.
    let again = vm
        .initialize(host.init_request(chain_id))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);

    assert_eq!(
        vm.verify_height_index(()).await.unwrap().into_inner().err,
        0
    );
    let at0 = vm
        .get_block_id_at_height(vm::GetBlockIdAtHeightRequest { height: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((at0.blk_id, at0.err), (genesis_id.clone(), 0));
    let at1 = vm
        .get_block_id_at_height(vm::GetBlockIdAtHeightRequest { height: 1 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(at1.err, vm::Error::NotFound as i32);

    let handlers = vm.create_handlers(()).await.unwrap().into_inner().handlers;
    // JSON-RPC and the explorer page, one loopback server routing on the forwarded path.
    let prefixes: Vec<&str> = handlers.iter().map(|h| h.prefix.as_str()).collect();
    assert_eq!(prefixes, ["/rpc", "/explorer"]);
    assert!(handlers[0].server_addr.starts_with("127.0.0.1:"));
    assert_eq!(handlers[0].server_addr, handlers[1].server_addr);

    let sync = vm.state_sync_enabled(()).await.unwrap().into_inner();
    assert!(!sync.enabled);
    assert_eq!(sync.err, 0);
    let syncing = vm
        .set_state(vm::SetStateRequest {
            state: vm::State::StateSyncing as i32,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(syncing.last_accepted_id, genesis_id);
    let ongoing = vm
        .get_ongoing_sync_state_summary(())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ongoing.err, vm::Error::NotFound as i32, "no sync under way");
    for state in [vm::State::Bootstrapping, vm::State::NormalOp] {
        let answer = vm
            .set_state(vm::SetStateRequest {
                state: state as i32,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.last_accepted_id, genesis_id);
        assert_eq!(answer.bytes, init.bytes);
        assert_eq!(answer.timestamp, init.timestamp);
    }
    vm.set_preference(vm::SetPreferenceRequest {
        id: genesis_id.clone(),
    })
    .await
    .unwrap();
    vm.connected(vm::ConnectedRequest {
        node_id: vec![9; 20],
        version: "lux/1.10.20".into(),
    })
    .await
    .unwrap();

    let health = vm.health(()).await.unwrap().into_inner().details;
    let health: serde_json::Value = serde_json::from_slice(&health).expect("health is JSON");
    assert_eq!(health["initialized"], true);
    assert_eq!(health["store"], "ok");
    assert_eq!(health["state"], "normal_op");
    assert_eq!(health["peers"], 1);
    assert_eq!(health["lastAccepted"]["height"], 0);
    assert_eq!(health["mempool"]["size"], 0);

    let families = vm.gather(()).await.unwrap().into_inner().metric_families;
    let names: Vec<&str> = families.iter().filter_map(|f| f.name.as_deref()).collect();
    for expected in [
        "accepted_height",
        "mempool_size",
        "blocks_accepted",
        "block_verify_seconds",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }

    // No summary yet: in-band NOT_FOUND (2); bytes that are no summary: a clear error. App
    // messages are acknowledged.
    let not_found = vm::Error::NotFound as i32;
    assert_eq!(
        vm.get_last_state_summary(())
            .await
            .unwrap()
            .into_inner()
            .err,
        not_found
    );
    let parse = vm
        .parse_state_summary(vm::ParseStateSummaryRequest { bytes: vec![1] })
        .await
        .unwrap_err();
    assert!(
        parse.message().contains("state summary is 73 bytes"),
        "{parse:?}"
    );
    assert_eq!(
        vm.get_state_summary(vm::GetStateSummaryRequest { height: 1 })
            .await
            .unwrap()
            .into_inner()
            .err,
        not_found
    );
    let accept = vm
        .state_summary_accept(vm::StateSummaryAcceptRequest { bytes: vec![1] })
        .await
        .unwrap_err();
    assert_eq!(accept.code(), tonic::Code::InvalidArgument, "{accept:?}");
    vm.app_request(vm::AppRequestMsg {
        node_id: vec![9; 20],
        request_id: 1,
        deadline: None,
        request: vec![1],
    })
    .await
    .unwrap();
    vm.app_response(vm::AppResponseMsg {
        node_id: vec![9; 20],
        request_id: 1,
        response: vec![1],
    })
    .await
    .unwrap();
    vm.app_request_failed(vm::AppRequestFailedMsg {
        node_id: vec![9; 20],
        request_id: 1,
    })
    .await
    .unwrap();
    vm.cross_chain_app_request(vm::CrossChainAppRequestMsg {
        chain_id: vec![1; 32],
        request_id: 1,
        deadline: None,
        request: vec![],
    })
    .await
    .unwrap();
    vm.cross_chain_app_response(vm::CrossChainAppResponseMsg {
        chain_id: vec![1; 32],
        request_id: 1,
        response: vec![],
    })
    .await
    .unwrap();
    vm.cross_chain_app_request_failed(vm::CrossChainAppRequestFailedMsg {
        chain_id: vec![1; 32],
        request_id: 1,
    })
    .await
    .unwrap();
    vm.disconnected(vm::DisconnectedRequest {
        node_id: vec![9; 20],
    })
    .await
    .unwrap();

    // Genesis as GetBlock / GetAncestors see it.
    let genesis = vm
        .get_block(vm::GetBlockRequest {
            id: genesis_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (genesis.err, genesis.status, genesis.height),
        (0, vm::Status::Accepted as i32, 0)
    );
    assert_eq!(genesis.bytes, init.bytes);
    let ancestors = vm
        .get_ancestors(vm::GetAncestorsRequest {
            blk_id: genesis_id.clone(),
            max_blocks_num: 10,
            max_blocks_size: 2 << 20,
            max_blocks_retrival_time: 1_000_000_000,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ancestors.blks_bytes, vec![init.bytes.clone()]);

    // The host's shutdown: Shutdown RPC, then SIGTERM; the process is gone well within 5 s.
    plugin.vm.shutdown(()).await.expect("Shutdown");
    plugin.terminate();
    let status = plugin
        .wait_exit(GRACEFUL)
        .await
        .expect("exit after Shutdown + SIGTERM");
    assert!(status.success(), "exit status {status}");
    plugin.assert_no_panic();
}

/// SIGTERM alone (the host died, or stopped us without the RPC) also stops the plugin cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_an_initialized_plugin() {
    let host = Host::start().await;
    let mut plugin = Plugin::launch().await;
    plugin.initialize(&host, id_from_label("sigterm")).await;
    let _rpc = plugin.rpc().await;
    plugin.terminate();
    let status = plugin.wait_exit(GRACEFUL).await.expect("exit on SIGTERM");
    assert!(status.success(), "exit status {status}");
    plugin.assert_no_panic();
}

/// (g) Hostile or mistaken input gets a clear error and the process keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_gets_clear_errors() {
    let host = Host::start().await;
    let mut plugin = Plugin::launch().await;
    let chain_id = id_from_label("hostile input");
    let vm = &mut plugin.vm;

    // Calls before Initialize.
    let e = vm
        .get_block(vm::GetBlockRequest { id: vec![0; 32] })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let e = vm
        .block_accept(vm::BlockAcceptRequest { id: vec![0; 32] })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let e = vm
        .app_gossip(AppGossipMsg {
            node_id: vec![1; 20],
            msg: vec![1, 2, 3],
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let e = vm.create_handlers(()).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);

    // Bad Initialize requests are refused and leave the VM initializable.
    let mut bad = host.init_request(chain_id);
    bad.chain_id = vec![1; 31];
    let e = vm.initialize(bad).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("chain_id") && e.message().contains("31"),
        "{}",
        e.message()
    );
    let mut bad = host.init_request(chain_id);
    bad.config_bytes = br#"{"mempool": {"maxTxs": 10}, "bogus": true}"#.to_vec();
    let e = vm.initialize(bad).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("bogus"), "{}", e.message());
    let mut bad = host.init_request(chain_id);
    bad.genesis_bytes = b"{not json".to_vec();
    let e = vm.initialize(bad).await.unwrap_err();
    assert!(
        e.message().contains("genesis") || e.message().contains("chain"),
        "{}",
        e.message()
    );
    let mut good = host.init_request(chain_id);
    good.config_bytes = br#"{"mempool": {"maxTxs": 1000}, "logLevel": "debug"}"#.to_vec();
    let init = vm
        .initialize(good)
        .await
        .expect("a valid Initialize after refused ones")
        .into_inner();
    let genesis_id = init.last_accepted_id.clone();

    // IDs of the wrong length.
    for id in [vec![], vec![1; 31], vec![1; 33]] {
        let e = vm
            .get_block(vm::GetBlockRequest { id: id.clone() })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().contains("32-byte"), "{}", e.message());
        let e = vm
            .set_preference(vm::SetPreferenceRequest { id: id.clone() })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        let e = vm
            .block_accept(vm::BlockAcceptRequest { id: id.clone() })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        let e = vm
            .block_reject(vm::BlockRejectRequest { id: id.clone() })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        let e = vm
            .get_ancestors(vm::GetAncestorsRequest {
                blk_id: id,
                max_blocks_num: 1,
                max_blocks_size: 1,
                max_blocks_retrival_time: 1,
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
    }

    // Unknown blocks: in-band NOT_FOUND for GetBlock, an empty ancestry, a clear error for Accept.
    let unknown = id_from_label("no such block").to_vec();
    let missing = vm
        .get_block(vm::GetBlockRequest {
            id: unknown.clone(),
        })
        .await
        .expect("GetBlock(unknown) is OK")
        .into_inner();
    assert_eq!(missing.err, vm::Error::NotFound as i32);
    let none = vm
        .get_ancestors(vm::GetAncestorsRequest {
            blk_id: unknown.clone(),
            max_blocks_num: 10,
            max_blocks_size: 1 << 20,
            max_blocks_retrival_time: 1_000_000_000,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(none.blks_bytes.is_empty());
    let e = vm
        .block_accept(vm::BlockAcceptRequest {
            id: unknown.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(e.message().contains("not found"), "{}", e.message());
    let e = vm
        .set_preference(vm::SetPreferenceRequest {
            id: unknown.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let at = vm
        .get_block_id_at_height(vm::GetBlockIdAtHeightRequest { height: u64::MAX })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(at.err, vm::Error::NotFound as i32);

    // Garbage block bytes.
    for garbage in [
        vec![],
        vec![0xff; 3],
        b"definitely not a block".to_vec(),
        vec![1; 200],
    ] {
        let e = vm
            .parse_block(vm::ParseBlockRequest {
                bytes: garbage.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().contains("malformed"), "{}", e.message());
        let e = vm
            .block_verify(vm::BlockVerifyRequest {
                bytes: garbage,
                p_chain_height: Some(3),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
    }
    let e = vm
        .batched_parse_block(vm::BatchedParseBlockRequest {
            request: vec![init.bytes.clone(), b"junk".to_vec()],
        })
        .await
        .unwrap_err();
    assert!(e.message().contains("block 1"), "{}", e.message());
    let empty = vm
        .batched_parse_block(vm::BatchedParseBlockRequest { request: vec![] })
        .await
        .unwrap()
        .into_inner();
    assert!(empty.response.is_empty());
    let one = vm
        .batched_parse_block(vm::BatchedParseBlockRequest {
            request: vec![init.bytes.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(one.response.len(), 1);
    assert_eq!(one.response[0].status, vm::Status::Accepted as i32);

    // A well-formed block whose timestamp no protobuf Timestamp can hold, and one with a
    // wrong state digest.
    let far_future = Block {
        parent_id: Id::from_slice(&genesis_id).unwrap(),
        height: 1,
        timestamp_ms: u64::MAX,
        txs: vec![],
        state_digest: Id([0; 32]),
    }
    .seal();
    let e = vm
        .parse_block(vm::ParseBlockRequest {
            bytes: far_future.bytes.clone(),
        })
        .await
        .unwrap_err();
    assert!(e.message().contains("9999"), "{}", e.message());
    let e = vm
        .block_verify(vm::BlockVerifyRequest {
            bytes: far_future.bytes,
            p_chain_height: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    // Garbage gossip is dropped quietly; bad states are refused; nothing to build is an error.
    for msg in [
        vec![],
        vec![0xff, 0x00, 0x13, 0x37],
        vec![1, 0xff, 0xff, 0xff, 0xff],
    ] {
        vm.app_gossip(AppGossipMsg {
            node_id: vec![1; 20],
            msg,
        })
        .await
        .expect("garbage gossip is OK");
    }
    for state in [0, 4, -1] {
        let e = vm
            .set_state(vm::SetStateRequest { state })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
    }
    let e = vm
        .build_block(vm::BuildBlockRequest {
            p_chain_height: Some(1),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(
        e.message().contains("no pending transactions"),
        "{}",
        e.message()
    );

    // HTTP: a body over the API's 4 MiB cap is the API's 413, not a gRPC error; websockets
    // are refused clearly; garbage JSON is a JSON-RPC error.
    let mut rpc = plugin.rpc().await;
    let big = rpc
        .post(vec![b' '; 5 << 20])
        .await
        .expect("a 5 MiB body reaches the API");
    assert_eq!(big.code, 413, "{}", String::from_utf8_lossy(&big.body));
    let e = rpc.http.handle(HttpRequest::default()).await.unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented);
    assert!(e.message().contains("websocket"), "{}", e.message());
    let junk = rpc.post(b"{\"jsonrpc\": ".to_vec()).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&junk.body).expect("a JSON error body");
    assert!(body.get("error").is_some(), "{body}");
    let odd = rpc
        .http
        .handle_simple(HandleSimpleHttpRequest {
            method: "GET".into(),
            url: "%%%".into(),
            headers: vec![],
            body: vec![],
        })
        .await
        .expect("an odd request is still an HTTP answer");
    assert!(odd.into_inner().code >= 400);

    // Still serving.
    let vm = &mut plugin.vm;
    assert!(vm
        .version(())
        .await
        .unwrap()
        .into_inner()
        .version
        .starts_with("transfervm/"));
    let health = vm.health(()).await.unwrap().into_inner().details;
    assert!(serde_json::from_slice::<serde_json::Value>(&health).is_ok());
    rpc.ok("transfervm.info", serde_json::json!({})).await;
    plugin.assert_no_panic();
}
