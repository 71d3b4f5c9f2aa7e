//! Hostile load: invalid transactions at ten times the valid rate against a running
//! `transfervm dev`. Every valid transfer must still be admitted (and then accepted), every
//! invalid one refused with its own error code, and the state must change only by the valid
//! ones. The admitted valid rate is measured with and without the flood and printed; nothing
//! asserts on timing.

#[path = "common/dev_process.rs"]
mod dev_process;

use dev_process::{balances, hex_of, start, supply_and_burned};
use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use transfervm::api::errors;
use transfervm::chain::tx::address_of;
use transfervm::chain::{Address, Id, SignedTx};
use transfervm::cli::rpc_client::{RpcClient, RpcError};
use transfervm::cli::wallet::{self, ChainFacts};
use transfervm::keys::dev_key;

/// Valid senders, one task each.
const SENDERS: u32 = 4;
/// Invalid submissions per valid one.
const FLOOD_FACTOR: usize = 10;

/// The kinds of invalid transaction the flood cycles through, with the code each must get.
/// Half need a signature check before they can be refused (the expensive path).
fn invalid(kind: usize, facts: &ChainFacts, n: u64) -> (String, i32) {
    let stranger = SigningKey::from_bytes(&[(n % 251) as u8 + 1; 32]);
    let now = wallet::now_secs();
    let to = Address([0xf1; 32]);
    let sign = |key: &SigningKey, facts: &ChainFacts, amount, fee, nonce, expires| {
        wallet::sign_transfer(key, facts, to, amount, fee, nonce, expires)
    };
    match kind % 8 {
        // A forged signature over a funded account.
        0 => {
            let mut tx = sign(&dev_key(4), facts, 1, facts.min_fee, n, now + 600);
            tx.signature[(n % 64) as usize] ^= 0x40;
            (hex_of(&tx), errors::BAD_SIGNATURE)
        }
        // Signed by another key than `from`.
        1 => {
            let mut tx = sign(&stranger, facts, 1, facts.min_fee, 0, now + 600);
            tx.body.from = address_of(&dev_key(4));
            (hex_of(&tx), errors::BAD_SIGNATURE)
        }
        // Correctly signed by an account with no funds.
        2 => (
            hex_of(&sign(&stranger, facts, 1 + n, facts.min_fee, 0, now + 600)),
            errors::INSUFFICIENT_FUNDS,
        ),
        // Correctly signed, nonce far beyond the allowed gap.
        3 => (
            hex_of(&sign(
                &dev_key(4),
                facts,
                1,
                facts.min_fee,
                1_000_000 + n,
                now + 600,
            )),
            errors::BAD_NONCE,
        ),
        // Another chain.
        4 => {
            let mut other = facts.clone();
            other.chain_id = Id([(n % 200) as u8 + 1; 32]);
            (
                hex_of(&sign(&dev_key(4), &other, 1, facts.min_fee, n, now + 600)),
                errors::WRONG_CHAIN,
            )
        }
        // Fee below the minimum.
        5 => (
            hex_of(&sign(&dev_key(4), facts, 1, 0, n, now + 600)),
            errors::FEE_TOO_LOW,
        ),
        // Expired.
        6 => (
            hex_of(&sign(&dev_key(4), facts, 1, facts.min_fee, n, now - 10)),
            errors::EXPIRED,
        ),
        // Not a transaction at all.
        _ => (
            format!("0x{}", "ab".repeat((n % 190) as usize)),
            errors::MALFORMED_TX,
        ),
    }
}

fn code_of(result: &Result<Value, RpcError>) -> i64 {
    match result {
        Err(RpcError::Node { code, .. }) => *code,
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

/// What one sender task did.
#[derive(Default)]
struct Tally {
    valid_sent: u64,
    valid_admitted: u64,
    invalid_sent: u64,
    invalid_refused: u64,
    refusals: BTreeMap<i64, u64>,
    admitted: Vec<Id>,
    /// How long each valid submission took to be answered, in microseconds.
    valid_latency_us: Vec<u64>,
}

impl Tally {
    /// The `q` quantile (0..=1) of the valid submissions' answer times, in milliseconds.
    fn latency_ms(&self, q: f64) -> f64 {
        let mut sorted = self.valid_latency_us.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return 0.0;
        }
        let index = ((sorted.len() - 1) as f64 * q).round() as usize;
        sorted[index] as f64 / 1000.0
    }
}

/// One sender: for `duration`, submit its next valid transfer together with `factor` invalid
/// submissions, all at once, and wait for every answer.
async fn sender(
    rpc: RpcClient,
    facts: ChainFacts,
    index: u32,
    factor: usize,
    duration: Duration,
) -> Tally {
    let key = dev_key(index);
    let mut nonce = rpc
        .call("transfervm.account", json!({"address": address_of(&key)}))
        .await
        .unwrap()["pendingNonce"]
        .as_u64()
        .unwrap();
    let mut tally = Tally::default();
    let started = Instant::now();
    let mut n = u64::from(index) * 1_000_000;
    while started.elapsed() < duration {
        let tx: SignedTx = wallet::sign_transfer(
            &key,
            &facts,
            Address([0xe0 | index as u8; 32]),
            1,
            facts.min_fee,
            nonce,
            wallet::now_secs() + 600,
        );
        // The invalid submissions run as their own tasks, alongside the valid one.
        let floods: Vec<_> = (0..factor)
            .map(|_| {
                n += 1;
                let (hex, code) = invalid(n as usize, &facts, n);
                let rpc = rpc.clone();
                tokio::spawn(async move {
                    (
                        rpc.call("transfervm.submitTx", json!({ "tx": hex })).await,
                        code,
                    )
                })
            })
            .collect();
        let sent = Instant::now();
        let valid = rpc
            .call("transfervm.submitTx", json!({"tx": hex_of(&tx)}))
            .await;
        tally
            .valid_latency_us
            .push(sent.elapsed().as_micros() as u64);
        let mut answers = Vec::with_capacity(floods.len());
        for flood in floods {
            answers.push(flood.await.expect("flood task"));
        }
        tally.valid_sent += 1;
        match valid {
            Ok(answer) => {
                assert_eq!(answer["txId"], tx.id().to_string());
                tally.valid_admitted += 1;
                tally.admitted.push(tx.id());
                nonce += 1;
            }
            Err(e) => panic!("a valid transfer was refused under the flood: {e:?}"),
        }
        for (result, expected) in answers {
            tally.invalid_sent += 1;
            let code = code_of(&result);
            assert_eq!(code, i64::from(expected), "{result:?}");
            tally.invalid_refused += 1;
            *tally.refusals.entry(code).or_default() += 1;
        }
    }
    tally
}

async fn phase(rpc: &RpcClient, facts: &ChainFacts, factor: usize, duration: Duration) -> Tally {
    let started = Instant::now();
    let tasks: Vec<_> = (0..SENDERS)
        .map(|i| tokio::spawn(sender(rpc.clone(), facts.clone(), i, factor, duration)))
        .collect();
    let mut total = Tally::default();
    for task in tasks {
        let t = task.await.expect("sender task");
        total.valid_sent += t.valid_sent;
        total.valid_admitted += t.valid_admitted;
        total.invalid_sent += t.invalid_sent;
        total.invalid_refused += t.invalid_refused;
        for (code, count) in t.refusals {
            *total.refusals.entry(code).or_default() += count;
        }
        total.admitted.extend(t.admitted);
        total.valid_latency_us.extend(t.valid_latency_us);
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "flood factor {factor}: {} valid sent, {} admitted ({:.0}/s, answered in {:.1} ms \
         median, {:.1} ms p99); {} invalid sent ({:.0}/s), {} refused; refusals by code {:?}",
        total.valid_sent,
        total.valid_admitted,
        total.valid_admitted as f64 / secs,
        total.latency_ms(0.5),
        total.latency_ms(0.99),
        total.invalid_sent,
        total.invalid_sent as f64 / secs,
        total.invalid_refused,
        total.refusals
    );
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_transfers_are_admitted_under_a_flood_of_invalid_ones() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let node = start(&data, &dir.path().join("dev.log")).await;
    let facts = wallet::chain_facts(&node.rpc).await.unwrap();
    let watched: Vec<Address> = (0..5u32)
        .map(|i| address_of(&dev_key(i)))
        .chain((0..SENDERS).map(|i| Address([0xe0 | i as u8; 32])))
        .chain([Address([0xf1; 32])])
        .collect();
    let before = balances(&node.rpc, &watched).await;

    let duration = Duration::from_secs(3);
    let baseline = phase(&node.rpc, &facts, 0, duration).await;
    let flood = phase(&node.rpc, &facts, FLOOD_FACTOR, duration).await;
    assert!(baseline.valid_admitted > 0 && flood.valid_admitted > 0);
    assert_eq!(flood.valid_admitted, flood.valid_sent);
    assert_eq!(flood.invalid_refused, flood.invalid_sent);
    assert_eq!(
        flood.invalid_sent,
        FLOOD_FACTOR as u64 * flood.valid_sent,
        "ten invalid per valid"
    );
    assert_eq!(
        flood.refusals.len(),
        7,
        "every kind of invalid input was sent"
    );

    // Every admitted transfer is accepted; the invalid ones moved nothing.
    let all: Vec<Id> = baseline
        .admitted
        .iter()
        .chain(&flood.admitted)
        .copied()
        .collect();
    let last = *all.last().unwrap();
    let status = wallet::wait_final(&node.rpc, &last, Duration::from_secs(60), |_| {})
        .await
        .unwrap();
    assert_eq!(status["status"], "accepted");
    let calls: Vec<(&str, Value)> = all
        .iter()
        .map(|id| ("transfervm.txStatus", json!({ "txId": id })))
        .collect();
    for answer in dev_process::batch(&node.rpc, &calls).await {
        assert_eq!(answer["result"]["status"], "accepted", "{answer}");
    }
    let after = balances(&node.rpc, &watched).await;
    let moved = baseline.valid_admitted + flood.valid_admitted;
    let (supply, burned) = supply_and_burned(&node.rpc).await;
    assert_eq!(
        burned,
        moved * facts.min_fee,
        "only valid transfers paid fees"
    );
    assert_eq!(after.iter().sum::<u64>() + burned, supply);
    assert_eq!(
        after[watched.len() - 1],
        0,
        "the flood's recipient got nothing"
    );
    assert_eq!(
        before.iter().sum::<u64>() - after.iter().sum::<u64>(),
        burned
    );
    assert_eq!(
        after[4], before[4],
        "dev key 4, whose name the flood forges, paid nothing"
    );
    let rate = |t: &Tally| t.valid_admitted as f64 / duration.as_secs_f64();
    // Each sender waits for all eleven answers of a round before its next valid transfer, so
    // the valid rate under the flood is bounded by how fast the node answers the invalid ones:
    // the admitted fraction (100%) and the valid transfers' answer time are the figures that
    // say whether the flood crowds valid traffic out.
    eprintln!(
        "flood: {} of {} valid admitted (100%) and {} of {} invalid refused; admitted valid \
         rate {:.0}/s under a 10x invalid flood vs {:.0}/s without ({:.0}%; closed loop: the \
         node answered {:.0} vs {:.0} submissions/s); valid answered in {:.1} ms median / \
         {:.1} ms p99 under the flood vs {:.1} / {:.1} ms without",
        flood.valid_admitted,
        flood.valid_sent,
        flood.invalid_refused,
        flood.invalid_sent,
        rate(&flood),
        rate(&baseline),
        100.0 * rate(&flood) / rate(&baseline),
        (flood.valid_sent + flood.invalid_sent) as f64 / duration.as_secs_f64(),
        baseline.valid_sent as f64 / duration.as_secs_f64(),
        flood.latency_ms(0.5),
        flood.latency_ms(0.99),
        baseline.latency_ms(0.5),
        baseline.latency_ms(0.99),
    );
    node.kill9().await;
}
