//! The admission path, layer by layer: tx decode + signature (single and batched), mempool
//! admission, the JSON-RPC entry point (`submitTx`, `submitTxs`) and `HandleSimple` over
//! loopback gRPC — each the layer below plus one more cost, so their ratios say where a wallet's
//! submission spends its time.
//!
//! `cargo bench --bench admission`

#[path = "support.rs"]
mod support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hyper::body::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{scaled, Workload};
use transfervm::api::http_entry::{Api, ApiLimits, ChainInfo};
use transfervm::chain::{signature, Chain, CheckedTx, SignedTx};
use transfervm::cli::spam::process_cpu_seconds;
use transfervm::node::Node;
use transfervm::pb::http::http_client::HttpClient;
use transfervm::pb::http::{Element, HandleSimpleHttpRequest};
use transfervm::test_utils::{memory_store, NOW_MS};

/// Transfers per `submitTxs` call in the batched benches.
const BATCH: usize = 100;

fn hex_tx(tx: &SignedTx) -> String {
    format!("0x{}", hex::encode(tx.to_bytes()))
}

fn submit_tx_body(tx: &SignedTx) -> Vec<u8> {
    serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "transfervm.submitTx",
        "params": {"tx": hex_tx(tx)}})
    .to_string()
    .into_bytes()
}

fn submit_txs_body(txs: &[SignedTx]) -> Vec<u8> {
    let txs: Vec<String> = txs.iter().map(hex_tx).collect();
    serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "transfervm.submitTxs",
        "params": {"txs": txs}})
    .to_string()
    .into_bytes()
}

fn rpc_request(body: Vec<u8>) -> http::Request<Bytes> {
    http::Request::post("/rpc")
        .header("content-type", "application/json")
        .body(body.into())
        .expect("a valid request")
}

/// Empties the mempool into accepted blocks (untimed), so admission never meets a full pool.
fn drain_chain(chain: &mut Chain) {
    while !chain.mempool().is_empty() {
        let block = chain.build_block(NOW_MS).expect("builds");
        chain.accept_block(block.id).expect("accepts");
    }
}

fn drain(node: &Node) {
    node.inspect_mut(drain_chain);
}

/// Panics unless every transfer in a JSON-RPC answer was admitted: a bench that measured
/// rejections would measure the wrong thing.
fn assert_admitted(status: u16, body: &[u8], expected: usize) {
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(body));
    let text = std::str::from_utf8(body).expect("utf-8");
    assert!(!text.contains("\"error\""), "{text}");
    assert_eq!(text.matches("txId").count(), expected, "{text}");
}

fn tx_benches(c: &mut Criterion) {
    let mut workload = Workload::new(scaled(10_000, 200), scaled(1_000, 50));
    let n = scaled(1_024, 32);
    let txs = workload.preview(n);
    let bytes: Vec<Vec<u8>> = txs.iter().map(SignedTx::to_bytes).collect();
    let mut group = c.benchmark_group("tx");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(BenchmarkId::new("decode_verify_one", n), |b| {
        b.iter(|| {
            for raw in &bytes {
                let tx = SignedTx::decode_canonical(raw).expect("decodes");
                assert!(signature::verify_one(&tx));
            }
        })
    });
    group.bench_function(BenchmarkId::new("decode_verify_many", n), |b| {
        b.iter(|| {
            let txs: Vec<SignedTx> = bytes
                .iter()
                .map(|raw| SignedTx::decode_canonical(raw).expect("decodes"))
                .collect();
            assert!(signature::verify_many(&txs).iter().all(|ok| *ok));
        })
    });
    group.finish();
}

fn mempool_benches(c: &mut Criterion) {
    let mut workload = Workload::new(scaled(100_000, 500), scaled(10_000, 50));
    let mut chain = workload.open_chain(memory_store());
    let chunk = scaled(1_000, 20);
    let mut group = c.benchmark_group("mempool_admit");
    group.throughput(Throughput::Elements(chunk as u64));
    for checked in [true, false] {
        let name = if checked {
            "signature_prechecked"
        } else {
            "with_signature"
        };
        group.bench_function(BenchmarkId::new(name, chunk), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let txs = workload.transfers(chunk);
                    let start = Instant::now();
                    for tx in txs {
                        if checked {
                            let tx = CheckedTx::check_without_signature(chain.rules(), NOW_MS, tx)
                                .expect("meets the rules");
                            chain.admit(tx).expect("admits");
                        } else {
                            chain.check_and_admit(tx, NOW_MS).expect("admits");
                        }
                    }
                    total += start.elapsed();
                    drain_chain(&mut chain);
                }
                total
            })
        });
    }
    group.finish();
}

fn api_benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let mut workload = Workload::new(scaled(100_000, 500), scaled(10_000, 50));
    let node = workload.open_node(memory_store());
    let api = Arc::new(Api::new(node.clone(), ChainInfo::DEV, ApiLimits::default()));
    let server = runtime
        .block_on(transfervm::plugin::serve_http_handler(api.clone()))
        .expect("handler server starts");
    let mut client = runtime
        .block_on(HttpClient::connect(format!("http://{}", server.addr)))
        .expect("connects");
    let chunk = scaled(1_000, 20);

    let mut group = c.benchmark_group("submit");
    group.throughput(Throughput::Elements(chunk as u64));
    for batch in [1, BATCH] {
        let method = if batch == 1 { "submitTx" } else { "submitTxs" };
        group.bench_function(BenchmarkId::new(format!("api_{method}"), chunk), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let txs = workload.transfers(chunk);
                    let requests: Vec<(http::Request<Bytes>, usize)> = txs
                        .chunks(batch)
                        .map(|c| {
                            let body = if batch == 1 {
                                submit_tx_body(&c[0])
                            } else {
                                submit_txs_body(c)
                            };
                            (rpc_request(body), c.len())
                        })
                        .collect();
                    let start = Instant::now();
                    runtime.block_on(async {
                        for (request, expected) in requests {
                            let response = api.handle(request).await;
                            assert_admitted(response.status().as_u16(), response.body(), expected);
                        }
                    });
                    total += start.elapsed();
                    drain(&node);
                }
                total
            })
        });
        group.bench_function(
            BenchmarkId::new(format!("grpc_handle_simple_{method}"), chunk),
            |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let txs = workload.transfers(chunk);
                        let requests: Vec<(HandleSimpleHttpRequest, usize)> = txs
                            .chunks(batch)
                            .map(|c| {
                                let request = HandleSimpleHttpRequest {
                                    method: "POST".into(),
                                    url: "/rpc".into(),
                                    headers: vec![Element {
                                        key: "Content-Type".into(),
                                        values: vec!["application/json".into()],
                                    }],
                                    body: if batch == 1 {
                                        submit_tx_body(&c[0])
                                    } else {
                                        submit_txs_body(c)
                                    },
                                };
                                (request, c.len())
                            })
                            .collect();
                        let start = Instant::now();
                        runtime.block_on(async {
                            for (request, expected) in requests {
                                let response = client
                                    .handle_simple(request)
                                    .await
                                    .expect("HandleSimple answers")
                                    .into_inner();
                                assert_admitted(response.code as u16, &response.body, expected);
                            }
                        });
                        total += start.elapsed();
                        drain(&node);
                    }
                    total
                })
            },
        );
    }
    group.finish();
    drop(server);
}

/// A `lastAccepted` call: a request that does nothing, so its rate is the ceiling of any
/// one-request-per-transfer load on the same path (issue #11's no-op rate).
fn noop_body() -> Vec<u8> {
    br#"{"jsonrpc":"2.0","id":1,"method":"transfervm.lastAccepted"}"#.to_vec()
}

fn noop_proto() -> HandleSimpleHttpRequest {
    HandleSimpleHttpRequest {
        method: "POST".into(),
        url: "/rpc".into(),
        headers: vec![Element {
            key: "Content-Type".into(),
            values: vec!["application/json".into()],
        }],
        body: noop_body(),
    }
}

/// The no-op request through the API alone, through `HandleSimple` one call at a time, and
/// through `HandleSimple` from 64 concurrent callers sharing one connection, as the host's
/// handler does for concurrent wallets.
fn noop_benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let workload = Workload::new(scaled(1_000, 50), scaled(100, 10));
    let node = workload.open_node(memory_store());
    let api = Arc::new(Api::new(node, ChainInfo::DEV, ApiLimits::default()));
    let server = runtime
        .block_on(transfervm::plugin::serve_http_handler(api.clone()))
        .expect("handler server starts");
    let client = runtime
        .block_on(HttpClient::connect(format!("http://{}", server.addr)))
        .expect("connects");
    let calls = scaled(1_000, 20);
    let mut group = c.benchmark_group("noop");
    group.throughput(Throughput::Elements(calls as u64));
    group.bench_function(BenchmarkId::new("api_lastAccepted", calls), |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..calls {
                    let response = api.handle(rpc_request(noop_body())).await;
                    assert_eq!(response.status(), 200);
                }
            })
        })
    });
    group.bench_function(
        BenchmarkId::new("grpc_handle_simple_lastAccepted", calls),
        |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let mut client = client.clone();
                    for _ in 0..calls {
                        let answer = client.handle_simple(noop_proto()).await;
                        assert_eq!(answer.expect("answers").into_inner().code, 200);
                    }
                })
            })
        },
    );
    let clients = 64;
    let concurrent_calls = scaled(10_000, 128);
    group.throughput(Throughput::Elements(concurrent_calls as u64));
    // The process's CPU time per call (client and server share it, as on a node), beside the
    // wall-clock rate criterion reports: on a shared machine the rate follows the other jobs,
    // the CPU per call much less.
    let mut cpu = (0.0f64, 0u64);
    group.bench_function(
        BenchmarkId::new(
            format!("grpc_handle_simple_lastAccepted_{clients}_clients"),
            concurrent_calls,
        ),
        |b| {
            b.iter_custom(|iters| {
                let cpu_before = process_cpu_seconds(None);
                let start = Instant::now();
                for _ in 0..iters {
                    runtime.block_on(async {
                        let tasks: Vec<_> = (0..clients)
                            .map(|_| {
                                let mut client = client.clone();
                                tokio::spawn(async move {
                                    for _ in 0..concurrent_calls / clients {
                                        let answer = client.handle_simple(noop_proto()).await;
                                        assert_eq!(answer.expect("answers").into_inner().code, 200);
                                    }
                                })
                            })
                            .collect();
                        for task in tasks {
                            task.await.expect("caller finishes");
                        }
                    })
                }
                let elapsed = start.elapsed();
                if let (Some(before), Some(after)) = (cpu_before, process_cpu_seconds(None)) {
                    cpu.0 += after - before;
                    cpu.1 += iters * (concurrent_calls / clients * clients) as u64;
                }
                elapsed
            })
        },
    );
    if cpu.1 > 0 {
        eprintln!(
            "noop/grpc_handle_simple_lastAccepted_{clients}_clients: {:.1} µs of process CPU \
             (client and server) per call over {} calls",
            cpu.0 / cpu.1 as f64 * 1e6,
            cpu.1
        );
    }
    group.finish();
    drop(server);
}

criterion_group!(
    admission,
    tx_benches,
    mempool_benches,
    api_benches,
    noop_benches
);
criterion_main!(admission);
