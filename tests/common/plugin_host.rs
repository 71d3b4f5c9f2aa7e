//! A stand-in for the Luxd host, for the plugin's integration tests.
//!
//! It does what the node does around a VM process, over loopback gRPC: serves
//! `vm.runtime.Runtime` and starts the built binary with the engine address in its environment,
//! records the address the plugin announces, dials the plugin's `vm.VM` service, and serves
//! the host-side services a chain needs — an in-memory `rpcdb.Database` (`db_server_addr`) and
//! a recording `messenger.Messenger` + `appsender.AppSender` (`server_addr`).
//!
//! Everything binds 127.0.0.1:0, and every process is killed when its guard drops, so tests
//! run in parallel without sharing anything.

// Each test binary uses a different part of this file (and of what it re-exports).
#![allow(dead_code, unused_imports)]

use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Request, Response, Status};
use transfervm::chain::{Address, Id, SignedTx};
use transfervm::pb::http::http_client::HttpClient;
use transfervm::pb::http::{Element, HandleSimpleHttpRequest, HandleSimpleHttpResponse};
use transfervm::pb::vm::runtime::runtime_server::{Runtime, RuntimeServer};
use transfervm::pb::vm::vm_client::VmClient;
use transfervm::pb::vm::{self, InitializeRequest, InitializeResponse};
use transfervm::test_utils::{serve_on_loopback, Transfer};

pub use transfervm::keys::dev_key;
pub use transfervm::test_utils::{tx_hex, MemDb, RecordingHost};

/// The network the tests' chains are on (genesis/local.json says 12345).
pub const NETWORK_ID: u32 = 12345;

/// How long a test waits for something the plugin should do promptly.
pub const WAIT: Duration = Duration::from_secs(15);

/// The bytes Luxd passes as `genesis_bytes`.
pub fn genesis() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/genesis/local.json"))
        .expect("genesis/local.json")
}

/// SHA-256 of a label: a distinct 32-byte ID per test.
pub fn id_from_label(label: &str) -> [u8; 32] {
    Sha256::digest(label.as_bytes()).into()
}

/// A key nobody funded, for recipients.
pub fn fresh_key(label: &str) -> SigningKey {
    SigningKey::from_bytes(&id_from_label(label))
}

/// Unix seconds now.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A signed transfer on `chain_id`, fee 100 (the genesis minimum), valid for 10 minutes of
/// real time (the plugin runs on the system clock).
pub fn transfer(
    key: &SigningKey,
    chain_id: [u8; 32],
    to: Address,
    amount: u64,
    nonce: u64,
) -> SignedTx {
    Transfer::from_key(key)
        .network(NETWORK_ID)
        .chain(Id(chain_id))
        .to(to)
        .amount(amount)
        .nonce(nonce)
        .expires_at(now_secs() + 600)
        .sign()
}

/// Polls `done` until it holds or [`WAIT`] passes.
pub async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A gRPC channel to a plugin's announced loopback address.
pub async fn channel(addr: &str) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// rpcdb.Database ([`MemDb`]) and messenger.Messenger + appsender.AppSender ([`RecordingHost`])

/// The host-side services of one chain: its database and its `server_addr` services.
pub struct Host {
    /// The chain database.
    pub db: MemDb,
    /// Where the database is served.
    pub db_addr: String,
    /// Where Messenger and AppSender are served.
    pub server_addr: String,
    /// What the plugin sent.
    pub recorder: Arc<RecordingHost>,
    tasks: Vec<JoinHandle<()>>,
}

impl Host {
    /// Host services with a fresh, empty database.
    pub async fn start() -> Host {
        let db = MemDb::default();
        let (db_addr, db_task) = db.serve().await;
        Host::with_db(db, db_addr, Some(db_task)).await
    }

    /// Host services using an existing database server (a restarted chain).
    pub async fn with_db(db: MemDb, db_addr: String, db_task: Option<JoinHandle<()>>) -> Host {
        let recorder = Arc::new(RecordingHost::default());
        let (server_addr, server_task) = recorder.serve().await;
        let mut tasks = vec![server_task];
        tasks.extend(db_task);
        Host {
            db,
            db_addr,
            server_addr,
            recorder,
            tasks,
        }
    }

    /// The `InitializeRequest` Luxd would send for `chain_id`.
    pub fn init_request(&self, chain_id: [u8; 32]) -> InitializeRequest {
        InitializeRequest {
            network_id: NETWORK_ID,
            subnet_id: id_from_label("test subnet").to_vec(),
            chain_id: chain_id.to_vec(),
            node_id: vec![7; 20],
            public_key: vec![0xaa; 48],
            x_chain_id: id_from_label("X").to_vec(),
            c_chain_id: id_from_label("C").to_vec(),
            lux_asset_id: id_from_label("LUX").to_vec(),
            chain_data_dir: String::new(),
            genesis_bytes: genesis(),
            upgrade_bytes: vec![],
            config_bytes: vec![],
            db_server_addr: self.db_addr.clone(),
            server_addr: self.server_addr.clone(),
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// vm.runtime.Runtime and the plugin process

struct RuntimeService {
    announced: mpsc::UnboundedSender<(u32, String)>,
    refuse: Option<String>,
}

#[tonic::async_trait]
impl Runtime for RuntimeService {
    async fn initialize(
        &self,
        r: Request<transfervm::pb::vm::runtime::InitializeRequest>,
    ) -> Result<Response<()>, Status> {
        let r = r.into_inner();
        let _ = self.announced.send((r.protocol_version, r.addr));
        match &self.refuse {
            Some(message) => Err(Status::unknown(message.clone())),
            None => Ok(Response::new(())),
        }
    }
}

/// A plugin process with its `vm.VM` client. Killed when dropped (through [`Started`]).
pub struct Plugin {
    process: Started,
    /// The plugin's `vm.VM` service.
    pub vm: VmClient<Channel>,
    /// The address it announced.
    pub addr: String,
    /// The protocol version it announced.
    pub protocol: u32,
}

/// How to start the plugin.
pub struct LaunchOptions {
    /// Which environment variable carries the engine address.
    pub env_var: &'static str,
    /// Make the host's Runtime refuse the handshake with this message.
    pub refuse: Option<String>,
    /// The name the process is started under (`argv[0]`), as a host running a plugin file of
    /// that name would; `None` keeps the binary's own path (protocol 30).
    pub program_name: Option<String>,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        LaunchOptions {
            env_var: "LUX_VM_RUNTIME_ENGINE_ADDR",
            refuse: None,
            program_name: None,
        }
    }
}

/// A started process whose handshake was seen, before the VM client is connected. Killed
/// (and reaped) when dropped.
pub struct Started {
    /// The process.
    pub child: Child,
    /// The protocol version and address it announced.
    pub announced: (u32, String),
    output: Arc<Mutex<String>>,
    engine: JoinHandle<()>,
}

impl Started {
    /// Everything the process wrote to stderr so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

/// Starts the built binary as the host does and waits for its handshake (≤ 5 s, the host's
/// limit).
pub async fn start_process(options: LaunchOptions) -> Started {
    let (announced_tx, mut announced_rx) = mpsc::unbounded_channel();
    let router = Server::builder().add_service(RuntimeServer::new(RuntimeService {
        announced: announced_tx,
        refuse: options.refuse,
    }));
    let (engine_addr, engine) = serve_on_loopback(router).await;
    let mut command = Command::new(env!("CARGO_BIN_EXE_transfervm"));
    if let Some(name) = &options.program_name {
        std::os::unix::process::CommandExt::arg0(&mut command, name);
    }
    let mut child = command
        .env_remove("LUX_VM_RUNTIME_ENGINE_ADDR")
        .env_remove("AVALANCHE_VM_RUNTIME_ENGINE_ADDR")
        .env(options.env_var, &engine_addr)
        .env("TRANSFERVM_LOG", "info,transfervm=debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the transfervm binary");
    let output = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take().unwrap();
    let sink = output.clone();
    let pid = child.id();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[plugin {pid}] {line}");
            let mut out = sink.lock().unwrap();
            out.push_str(&line);
            out.push('\n');
        }
    });
    let announced = match tokio::time::timeout(Duration::from_secs(5), announced_rx.recv()).await {
        Ok(Some(announced)) => announced,
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "no handshake within the host's 5 s; output:\n{}",
                output.lock().unwrap()
            );
        }
    };
    Started {
        child,
        announced,
        output,
        engine,
    }
}

impl Plugin {
    /// Starts a plugin with the Lux engine variable and connects to it.
    pub async fn launch() -> Plugin {
        Plugin::launch_with(LaunchOptions::default()).await
    }

    /// Starts a plugin with `options` and connects to it.
    pub async fn launch_with(options: LaunchOptions) -> Plugin {
        let started = start_process(options).await;
        let (protocol, addr) = started.announced.clone();
        let vm = VmClient::new(channel(&addr).await)
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        Plugin {
            process: started,
            vm,
            addr,
            protocol,
        }
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.process.child.id()
    }

    /// Everything the process wrote to stderr so far.
    pub fn output(&self) -> String {
        self.process.output()
    }

    /// Fails if the plugin's output shows a Rust panic.
    pub fn assert_no_panic(&self) {
        let output = self.output();
        assert!(
            !output.contains("panicked at"),
            "the plugin panicked:\n{output}"
        );
    }

    /// Sends SIGTERM, as the host does after `Shutdown`.
    pub fn terminate(&self) {
        send_sigterm(self.pid());
    }

    /// Waits up to `timeout` for the process to exit.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_exit(&mut self.process.child, timeout).await
    }

    /// Initializes the chain `chain_id` with `host`'s services.
    pub async fn initialize(&mut self, host: &Host, chain_id: [u8; 32]) -> InitializeResponse {
        self.vm
            .initialize(host.init_request(chain_id))
            .await
            .unwrap_or_else(|e| panic!("Initialize: {e}\n{}", self.output()))
            .into_inner()
    }

    /// `CreateHandlers`, then a JSON-RPC client on the `/rpc` handler.
    pub async fn rpc(&mut self) -> Rpc {
        let handlers = self
            .vm
            .create_handlers(())
            .await
            .expect("CreateHandlers")
            .into_inner()
            .handlers;
        let handler = handlers
            .iter()
            .find(|h| h.prefix == "/rpc")
            .expect("a /rpc handler");
        Rpc::connect(&handler.server_addr).await
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.engine.abort();
    }
}

/// Sends SIGTERM to `pid`.
pub fn send_sigterm(pid: u32) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -TERM {pid} failed");
}

/// Waits up to `timeout` for `child` to exit.
pub async fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC through http.HTTP/HandleSimple

/// A JSON-RPC client that goes through the plugin's HTTP handler, as Luxd forwards requests.
pub struct Rpc {
    /// The handler's `http.HTTP` service.
    pub http: HttpClient<Channel>,
}

impl Rpc {
    /// Connects to a handler address from `CreateHandlers`.
    pub async fn connect(addr: &str) -> Rpc {
        let http = HttpClient::new(channel(addr).await)
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        Rpc { http }
    }

    /// One HandleSimple call with `body`, as the node forwards a POST.
    pub async fn post(&mut self, body: Vec<u8>) -> Result<HandleSimpleHttpResponse, Status> {
        self.http
            .handle_simple(HandleSimpleHttpRequest {
                method: "POST".into(),
                url: "/ext/bc/2Z36RnQuk1hvsnFeGWzfZUfXNr7w1SjzmDQ78YxfTVNAkDq3nZ/rpc".into(),
                headers: vec![Element {
                    key: "Content-Type".into(),
                    // What the Avalanche docs teach curl users to send.
                    values: vec!["application/json;".into()],
                }],
                body,
            })
            .await
            .map(|r| r.into_inner())
    }

    /// Calls `method`; `Ok(result)` or `Err(error object)`.
    pub async fn call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let response = self
            .post(body.to_string().into_bytes())
            .await
            .expect("HandleSimple");
        assert_eq!(
            response.code,
            200,
            "HTTP {} for {method}: {}",
            response.code,
            String::from_utf8_lossy(&response.body)
        );
        let value: Value = serde_json::from_slice(&response.body).expect("JSON response");
        match value.get("error") {
            Some(error) => Err(error.clone()),
            None => Ok(value["result"].clone()),
        }
    }

    /// Calls `method` and expects success.
    pub async fn ok(&mut self, method: &str, params: Value) -> Value {
        self.call(method, params)
            .await
            .unwrap_or_else(|e| panic!("{method} failed: {e}"))
    }

    /// An address's accepted balance.
    pub async fn balance(&mut self, address: &Address) -> u64 {
        let result = self
            .ok(
                "transfervm.balance",
                json!({"address": address.to_string()}),
            )
            .await;
        result["balance"]
            .as_str()
            .expect("balance is a decimal string")
            .parse()
            .unwrap()
    }

    /// A transaction's status word (`pending`, `accepted`, ...).
    pub async fn tx_status(&mut self, tx_id: &Id) -> String {
        let result = self
            .ok("transfervm.txStatus", json!({"txId": tx_id.to_string()}))
            .await;
        result["status"].as_str().unwrap().to_string()
    }

    /// Submits a transaction; returns its ID.
    pub async fn submit(&mut self, tx: &SignedTx) -> Id {
        let result = self
            .ok("transfervm.submitTx", json!({"tx": tx_hex(tx)}))
            .await;
        let id: Id = result["txId"].as_str().unwrap().parse().unwrap();
        assert_eq!(id, tx.id());
        id
    }

    /// The last accepted block as `getBlock` shows it.
    pub async fn latest_block(&mut self) -> Value {
        self.ok("transfervm.getBlock", json!({})).await
    }
}

/// `vm.Status` for comparisons.
pub fn status(s: vm::Status) -> i32 {
    s as i32
}

// ---------------------------------------------------------------------------------------------
// A whole chain node: host services + plugin, driven through the host's start-up sequence

/// One node of a test chain: its host services, its plugin process and a JSON-RPC client.
pub struct TestNode {
    /// Host services (database, messenger, app sender).
    pub host: Host,
    /// The plugin process.
    pub plugin: Plugin,
    /// JSON-RPC through the plugin's `/rpc` handler.
    pub rpc: Rpc,
    /// What `Initialize` answered.
    pub init: InitializeResponse,
}

impl TestNode {
    /// A fresh node for `chain_id`, brought to normal operation.
    pub async fn start(chain_id: [u8; 32]) -> TestNode {
        TestNode::start_on(Host::start().await, chain_id).await
    }

    /// A node on existing host services (a restart), brought to normal operation the way the
    /// engine does it: Initialize, VerifyHeightIndex, CreateHandlers, StateSyncEnabled,
    /// SetState(bootstrapping), SetState(normal), SetPreference(last accepted).
    pub async fn start_on(host: Host, chain_id: [u8; 32]) -> TestNode {
        let mut plugin = Plugin::launch().await;
        let init = plugin.initialize(&host, chain_id).await;
        let vm = &mut plugin.vm;
        assert_eq!(
            vm.verify_height_index(()).await.unwrap().into_inner().err,
            0
        );
        let rpc = plugin.rpc().await;
        let vm = &mut plugin.vm;
        assert!(
            !vm.state_sync_enabled(())
                .await
                .unwrap()
                .into_inner()
                .enabled
        );
        for state in [vm::State::Bootstrapping, vm::State::NormalOp] {
            vm.set_state(vm::SetStateRequest {
                state: state as i32,
            })
            .await
            .unwrap();
        }
        vm.set_preference(vm::SetPreferenceRequest {
            id: init.last_accepted_id.clone(),
        })
        .await
        .unwrap();
        TestNode {
            host,
            plugin,
            rpc,
            init,
        }
    }

    /// `BuildBlock` as proposervm calls it (with a P-chain height).
    pub async fn build(&mut self) -> vm::BuildBlockResponse {
        self.plugin
            .vm
            .build_block(vm::BuildBlockRequest {
                p_chain_height: Some(1),
            })
            .await
            .unwrap_or_else(|e| panic!("BuildBlock: {e}"))
            .into_inner()
    }

    /// `BlockVerify` of block bytes; returns the block's timestamp.
    pub async fn verify(&mut self, bytes: &[u8]) -> prost_types::Timestamp {
        self.plugin
            .vm
            .block_verify(vm::BlockVerifyRequest {
                bytes: bytes.to_vec(),
                p_chain_height: None,
            })
            .await
            .unwrap_or_else(|e| panic!("BlockVerify: {e}"))
            .into_inner()
            .timestamp
            .expect("BlockVerify timestamp")
    }

    /// `SetPreference` then `BlockAccept`, as the engine does once consensus decides.
    pub async fn accept(&mut self, id: &[u8]) {
        let vm = &mut self.plugin.vm;
        vm.set_preference(vm::SetPreferenceRequest { id: id.to_vec() })
            .await
            .expect("SetPreference");
        vm.block_accept(vm::BlockAcceptRequest { id: id.to_vec() })
            .await
            .expect("BlockAccept");
    }

    /// `BlockReject`.
    pub async fn reject(&mut self, id: &[u8]) {
        self.plugin
            .vm
            .block_reject(vm::BlockRejectRequest { id: id.to_vec() })
            .await
            .expect("BlockReject");
    }

    /// Waits until the plugin has asked the engine to build `n` times in all.
    pub async fn wait_notifies(&self, n: usize) {
        let recorder = self.host.recorder.clone();
        wait_until("Messenger.Notify(BUILD_BLOCK)", || recorder.notifies() >= n).await;
    }

    /// Waits until a gossip message holding `tx` was sent; returns that message.
    pub async fn wait_gossip_of(&self, tx: &SignedTx) -> Vec<u8> {
        let recorder = self.host.recorder.clone();
        let mut found = None;
        wait_until("SendAppGossip with the transaction", || {
            found = recorder.gossip().into_iter().find(|msg| {
                transfervm::chain::gossip::decode_gossip(msg)
                    .map(|txs| txs.contains(tx))
                    .unwrap_or(false)
            });
            found.is_some()
        })
        .await;
        found.unwrap()
    }
}
