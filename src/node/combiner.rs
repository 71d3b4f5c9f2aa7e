//! Signature checks of concurrent submitters, combined into one batch.
//!
//! A wallet sending one transfer per request pays for a lone signature check (~40 µs here),
//! while a batch checks each signature for a fraction of that (issue #11). Requests that arrive
//! while a batch is being checked queue up, and the next caller to find no batch running checks
//! all of them at once and hands every caller its own verdicts. No request waits on a timer: on
//! an idle node a lone request is checked at once; batches form only under load, and a request
//! waits for at most the batch before its own.

use crate::chain::{CheckedTx, Id, SignedTx, StatelessRules, TxError};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};

/// One caller's transfers, waiting for the next batch.
struct Job {
    /// Where its verdicts go.
    ticket: u64,
    /// Its transfers, with their IDs.
    txs: Vec<(Id, SignedTx)>,
}

/// What the combiner's lock guards.
#[derive(Default)]
struct State {
    /// Jobs not yet in a batch.
    queued: Vec<Job>,
    /// Whether a caller is checking a batch now.
    running: bool,
    /// Verdicts of checked jobs not yet collected by their callers, by ticket.
    finished: HashMap<u64, Vec<Result<CheckedTx, TxError>>>,
    /// The next ticket.
    next_ticket: u64,
    /// Batches checked so far (for tests and the curious).
    batches: u64,
}

/// Combines the signature checks of concurrent callers (see the module doc).
#[derive(Default)]
pub(super) struct SignatureCombiner {
    /// The queue, the verdicts and whether a batch is running.
    state: Mutex<State>,
    /// Signalled when a batch's verdicts are in.
    done: Condvar,
}

impl SignatureCombiner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// [`CheckedTx::check_batch`] for `txs`, in a batch with whatever other callers queue
    /// meanwhile. One verdict per input, in order.
    pub(super) fn check(
        &self,
        rules: &StatelessRules,
        now_ms: u64,
        txs: Vec<(Id, SignedTx)>,
    ) -> Vec<Result<CheckedTx, TxError>> {
        if txs.is_empty() {
            return Vec::new();
        }
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket = state.next_ticket.wrapping_add(1);
        state.queued.push(Job { ticket, txs });
        loop {
            if let Some(verdicts) = state.finished.remove(&ticket) {
                return verdicts;
            }
            if state.running {
                state = self.done.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            // No batch is running: this caller checks everything queued, its own job included.
            state.running = true;
            let jobs = std::mem::take(&mut state.queued);
            drop(state);
            let verdicts = check_jobs(rules, now_ms, jobs);
            state = self.lock();
            state.running = false;
            state.batches += 1;
            state.finished.extend(verdicts);
            self.done.notify_all();
        }
    }

    /// Batches checked so far.
    #[cfg(test)]
    pub(super) fn batches(&self) -> u64 {
        self.lock().batches
    }
}

/// Checks all jobs' transfers as one batch and splits the verdicts back per job. A panic in the
/// check (none is reachable: the verifier threads already fail closed) refuses every transfer
/// rather than leaving the other callers waiting for ever.
fn check_jobs(
    rules: &StatelessRules,
    now_ms: u64,
    jobs: Vec<Job>,
) -> Vec<(u64, Vec<Result<CheckedTx, TxError>>)> {
    let sizes: Vec<(u64, usize)> = jobs.iter().map(|j| (j.ticket, j.txs.len())).collect();
    let all: Vec<(Id, SignedTx)> = jobs.into_iter().flat_map(|j| j.txs).collect();
    let total = all.len();
    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        CheckedTx::check_batch(rules, now_ms, all)
    }))
    .unwrap_or_else(|_| {
        let failed = TxError::Malformed("internal error while checking signatures".into());
        vec![Err(failed); total]
    });
    let mut verdicts = checked.into_iter();
    sizes
        .into_iter()
        .map(|(ticket, n)| (ticket, verdicts.by_ref().take(n).collect()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::{open_chain, Transfer, NOW_MS};
    use std::sync::{Arc, Barrier};

    #[test]
    fn concurrent_callers_each_get_their_own_verdicts() {
        let rules = open_chain().rules().clone();
        let combiner = Arc::new(SignatureCombiner::default());
        let callers = 16u64;
        let barrier = Arc::new(Barrier::new(callers as usize));
        let handles: Vec<_> = (0..callers)
            .map(|caller| {
                let (rules, combiner, barrier) = (rules.clone(), combiner.clone(), barrier.clone());
                std::thread::spawn(move || {
                    // Each caller sends a good transfer, a forged one and another good one,
                    // told apart by amount.
                    let good = Transfer::from_dev(0)
                        .nonce(caller)
                        .amount(caller + 1)
                        .sign();
                    let mut forged = Transfer::from_dev(1).amount(caller + 1).sign();
                    forged.signature[0] ^= 1;
                    let other = Transfer::from_dev(2)
                        .nonce(caller)
                        .amount(caller + 1)
                        .sign();
                    let txs: Vec<(Id, SignedTx)> =
                        [good, forged, other].iter().map(|t| (t.id(), *t)).collect();
                    barrier.wait();
                    let verdicts = combiner.check(&rules, NOW_MS, txs.clone());
                    (txs, verdicts)
                })
            })
            .collect();
        for handle in handles {
            let (txs, verdicts) = handle.join().unwrap();
            assert_eq!(verdicts.len(), 3);
            assert_eq!(
                verdicts[0].as_ref().unwrap().tx(),
                &txs[0].1,
                "its own transfer"
            );
            assert_eq!(verdicts[1], Err(TxError::BadSignature));
            assert_eq!(verdicts[2].as_ref().unwrap().id(), txs[2].0);
        }
        let batches = combiner.batches();
        assert!((1..=callers).contains(&batches), "{batches} batches");
    }

    #[test]
    fn a_lone_caller_is_checked_at_once_and_an_empty_one_costs_nothing() {
        let rules = open_chain().rules().clone();
        let combiner = SignatureCombiner::default();
        assert!(combiner.check(&rules, NOW_MS, Vec::new()).is_empty());
        assert_eq!(combiner.batches(), 0);
        let tx = Transfer::from_dev(0).sign();
        let expired = Transfer::from_dev(0).expires_at(NOW_MS / 1000 - 1).sign();
        let verdicts = combiner.check(&rules, NOW_MS, vec![(tx.id(), tx), (expired.id(), expired)]);
        assert_eq!(verdicts[0].as_ref().unwrap().id(), tx.id());
        assert!(matches!(verdicts[1], Err(TxError::Expired { .. })));
        assert_eq!(combiner.batches(), 1);
    }
}
