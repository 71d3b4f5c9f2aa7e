//! Signature checks of concurrent submitters, combined into batches by one verifier thread.
//!
//! A wallet sending one transfer per request pays for a lone signature check (~40 µs here),
//! while a batch checks each signature for a fraction of that (issue #11). Submitters queue their
//! transfers and wait; the node's verifier thread takes everything queued, checks it as one
//! batch, and hands every submitter its own verdicts. No request waits on a timer: on an idle
//! node a lone request is checked at once; batches form only under load, and a request waits for
//! at most the batch before its own.
//!
//! The thread, rather than whichever submitter came first, checks the batch so that an API
//! request never blocks an async worker on curve arithmetic and never needs a blocking-pool
//! thread of its own: it queues and awaits (`check_async`), the thread is woken once per batch
//! (not per request), and the answers are handed back without a lock held. Gossip, which runs on
//! a blocking thread anyway, waits for its verdicts in place (`check`).

use super::environment::Clock;
use crate::chain::{CheckedTx, Id, SignedTx, StatelessRules, TxError};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use tokio::sync::oneshot;

/// The verdicts of one job, one per transfer in order.
type Verdicts = Vec<Result<CheckedTx, TxError>>;

/// One job's transfers with its count, as [`check_jobs`] takes them.
type Work = (usize, Vec<(Id, SignedTx)>);

/// Where a job's verdicts go.
enum Reply {
    /// An async submitter awaiting them.
    Wake(oneshot::Sender<Verdicts>),
    /// A blocking submitter waiting for them.
    Block(mpsc::SyncSender<Verdicts>),
}

impl Reply {
    /// Hands the verdicts over; a submitter that gave up (its request was dropped) is ignored.
    fn send(self, verdicts: Verdicts) {
        match self {
            Reply::Wake(sender) => {
                let _ = sender.send(verdicts);
            }
            Reply::Block(sender) => {
                let _ = sender.send(verdicts);
            }
        }
    }
}

/// One submitter's transfers, waiting for the next batch.
struct Job {
    /// Its transfers, with their IDs.
    txs: Vec<(Id, SignedTx)>,
    /// Where its verdicts go.
    reply: Reply,
}

/// What the combiner's lock guards.
#[derive(Default)]
struct State {
    /// Jobs not yet in a batch.
    queued: Vec<Job>,
    /// Whether the thread is asleep waiting for work (only then is waking it worth a syscall).
    idle: bool,
    /// Set when the node is dropped: the thread checks what is queued and ends.
    closed: bool,
    /// Batches checked so far (for tests and the curious).
    batches: u64,
}

/// What the submitters and the verifier thread share.
struct Shared {
    /// The queue and the thread's state.
    state: Mutex<State>,
    /// Signalled when a job is queued for an idle thread, or on close.
    work: Condvar,
    /// The rules every transfer is checked against.
    rules: StatelessRules,
    /// The node's clock: expiry is judged when the batch is checked.
    clock: Arc<dyn Clock>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Combines the signature checks of concurrent submitters (see the module doc).
pub(super) struct SignatureCombiner {
    shared: Arc<Shared>,
    /// Whether the verifier thread runs; if it could not be started, each submitter checks
    /// its own transfers, as a node without the combiner would.
    threaded: bool,
}

impl SignatureCombiner {
    /// A combiner checking against `rules` at `clock`'s time, with its verifier thread started.
    pub(super) fn new(rules: StatelessRules, clock: Arc<dyn Clock>) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            rules,
            clock,
        });
        let worker = shared.clone();
        let threaded = std::thread::Builder::new()
            .name("transfervm-sigcheck".into())
            .spawn(move || verifier_thread(&worker))
            .is_ok();
        if !threaded {
            tracing::warn!("cannot start the signature verifier thread; submits check alone");
        }
        SignatureCombiner { shared, threaded }
    }

    /// Queues a job, waking the thread if it sleeps; hands the transfers back when there is
    /// no thread to check them.
    fn queue(&self, txs: Vec<(Id, SignedTx)>, reply: Reply) -> Result<(), Vec<(Id, SignedTx)>> {
        if !self.threaded {
            return Err(txs);
        }
        let mut state = self.shared.lock();
        state.queued.push(Job { txs, reply });
        if std::mem::take(&mut state.idle) {
            self.shared.work.notify_one();
        }
        Ok(())
    }

    /// Checks `txs` alone on the calling thread (no verifier thread, or it is gone).
    fn check_here(&self, txs: Vec<(Id, SignedTx)>) -> Verdicts {
        let total = txs.len();
        let now_ms = self.shared.clock.now_ms();
        check_jobs(&self.shared.rules, now_ms, vec![(total, txs)])
            .pop()
            .unwrap_or_default()
    }

    /// [`CheckedTx::check_batch`] for `txs`, in a batch with whatever other submitters queue
    /// meanwhile, waiting on the calling thread. One verdict per input, in order.
    pub(super) fn check(&self, txs: Vec<(Id, SignedTx)>) -> Verdicts {
        if txs.is_empty() {
            return Vec::new();
        }
        let total = txs.len();
        let (sender, receiver) = mpsc::sync_channel(1);
        match self.queue(txs, Reply::Block(sender)) {
            // The thread always answers; if it ever dropped a job, fail closed.
            Ok(()) => receiver.recv().unwrap_or_else(|_| internal_failure(total)),
            Err(txs) => self.check_here(txs),
        }
    }

    /// [`check`](Self::check) for async callers: queues the transfers and awaits the verdicts,
    /// so the caller's worker serves other requests meanwhile.
    pub(super) async fn check_async(&self, txs: Vec<(Id, SignedTx)>) -> Verdicts {
        if txs.is_empty() {
            return Vec::new();
        }
        let total = txs.len();
        let (sender, receiver) = oneshot::channel();
        match self.queue(txs, Reply::Wake(sender)) {
            // The thread always answers; if it ever dropped a job, fail closed.
            Ok(()) => receiver.await.unwrap_or_else(|_| internal_failure(total)),
            Err(txs) => self.check_here(txs),
        }
    }

    /// Batches checked so far.
    #[cfg(test)]
    pub(super) fn batches(&self) -> u64 {
        self.shared.lock().batches
    }
}

impl Drop for SignatureCombiner {
    /// Tells the thread to end once the queue is empty.
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_one();
    }
}

/// The verifier thread: sleeps until work is queued, then checks everything queued as one
/// batch and answers each job; ends when the combiner is dropped and the queue is empty.
fn verifier_thread(shared: &Shared) {
    loop {
        let jobs = {
            let mut state = shared.lock();
            while state.queued.is_empty() && !state.closed {
                state.idle = true;
                state = shared.work.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            state.idle = false;
            if state.queued.is_empty() {
                return;
            }
            state.batches += 1;
            std::mem::take(&mut state.queued)
        };
        let now_ms = shared.clock.now_ms();
        let (replies, work): (Vec<Reply>, Vec<Work>) = jobs
            .into_iter()
            .map(|job| (job.reply, (job.txs.len(), job.txs)))
            .unzip();
        tracing::trace!(
            jobs = work.len(),
            transfers = work.iter().map(|(n, _)| n).sum::<usize>(),
            "signature batch"
        );
        let verdicts = check_jobs(&shared.rules, now_ms, work);
        for (reply, verdicts) in replies.into_iter().zip(verdicts) {
            reply.send(verdicts);
        }
    }
}

/// Every transfer refused for an internal failure: what a caller gets if its verdicts were lost.
fn internal_failure(count: usize) -> Verdicts {
    let failed = TxError::Malformed("internal error while checking signatures".into());
    vec![Err(failed); count]
}

/// Checks all jobs' transfers as one batch and splits the verdicts back per job (given as
/// `(count, transfers)`). A panic in the check (none is reachable: the verifier threads already
/// fail closed) refuses every transfer rather than leaving the callers waiting for ever.
fn check_jobs(rules: &StatelessRules, now_ms: u64, jobs: Vec<Work>) -> Vec<Verdicts> {
    let sizes: Vec<usize> = jobs.iter().map(|(n, _)| *n).collect();
    let all: Vec<(Id, SignedTx)> = jobs.into_iter().flat_map(|(_, txs)| txs).collect();
    let total = all.len();
    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        CheckedTx::check_batch(rules, now_ms, all)
    }))
    .unwrap_or_else(|_| internal_failure(total));
    let mut verdicts = checked.into_iter();
    sizes
        .into_iter()
        .map(|n| verdicts.by_ref().take(n).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::{open_chain, FixedClock, Transfer, NOW_MS};
    use std::sync::Barrier;

    fn combiner() -> SignatureCombiner {
        SignatureCombiner::new(
            open_chain().rules().clone(),
            Arc::new(FixedClock::default()),
        )
    }

    /// A good transfer, a forged one and another good one, told apart by `n`.
    fn three(n: u64) -> Vec<(Id, SignedTx)> {
        let good = Transfer::from_dev(0).nonce(n).amount(n + 1).sign();
        let mut forged = Transfer::from_dev(1).amount(n + 1).sign();
        forged.signature[0] ^= 1;
        let other = Transfer::from_dev(2).nonce(n).amount(n + 1).sign();
        [good, forged, other].iter().map(|t| (t.id(), *t)).collect()
    }

    fn assert_own_verdicts(txs: &[(Id, SignedTx)], verdicts: &Verdicts) {
        assert_eq!(verdicts.len(), 3);
        assert_eq!(
            verdicts[0].as_ref().unwrap().tx(),
            &txs[0].1,
            "its own transfer"
        );
        assert_eq!(verdicts[1], Err(TxError::BadSignature));
        assert_eq!(verdicts[2].as_ref().unwrap().id(), txs[2].0);
    }

    #[test]
    fn concurrent_callers_each_get_their_own_verdicts() {
        let combiner = Arc::new(combiner());
        let callers = 16u64;
        let barrier = Arc::new(Barrier::new(callers as usize));
        let handles: Vec<_> = (0..callers)
            .map(|caller| {
                let (combiner, barrier) = (combiner.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let txs = three(caller);
                    barrier.wait();
                    let verdicts = combiner.check(txs.clone());
                    (txs, verdicts)
                })
            })
            .collect();
        for handle in handles {
            let (txs, verdicts) = handle.join().unwrap();
            assert_own_verdicts(&txs, &verdicts);
        }
        let batches = combiner.batches();
        assert!((1..=callers).contains(&batches), "{batches} batches");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn async_callers_share_batches_and_get_their_own_verdicts() {
        let combiner = Arc::new(combiner());
        let callers = 32u64;
        let tasks: Vec<_> = (0..callers)
            .map(|caller| {
                let combiner = combiner.clone();
                tokio::spawn(async move {
                    let txs = three(caller);
                    let verdicts = combiner.check_async(txs.clone()).await;
                    (txs, verdicts)
                })
            })
            .collect();
        for task in tasks {
            let (txs, verdicts) = task.await.unwrap();
            assert_own_verdicts(&txs, &verdicts);
        }
        let batches = combiner.batches();
        assert!((1..=callers).contains(&batches), "{batches} batches");
    }

    #[test]
    fn a_lone_caller_is_checked_at_once_and_an_empty_one_costs_nothing() {
        let combiner = combiner();
        assert!(combiner.check(Vec::new()).is_empty());
        assert_eq!(combiner.batches(), 0);
        let tx = Transfer::from_dev(0).sign();
        let expired = Transfer::from_dev(0).expires_at(NOW_MS / 1000 - 1).sign();
        let verdicts = combiner.check(vec![(tx.id(), tx), (expired.id(), expired)]);
        assert_eq!(verdicts[0].as_ref().unwrap().id(), tx.id());
        assert!(matches!(verdicts[1], Err(TxError::Expired { .. })));
        assert_eq!(combiner.batches(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_its_thread_each_caller_checks_its_own_transfers() {
        let mut combiner = combiner();
        combiner.threaded = false;
        let txs = three(0);
        assert_own_verdicts(&txs, &combiner.check(txs.clone()));
        assert_own_verdicts(&txs, &combiner.check_async(txs.clone()).await);
        assert_eq!(combiner.batches(), 0, "nothing went through the thread");
    }

    #[test]
    fn lost_verdicts_refuse_every_transfer_of_the_caller() {
        let verdicts = internal_failure(3);
        assert_eq!(
            verdicts.len(),
            3,
            "one verdict per input, as callers zip them"
        );
        assert!(verdicts
            .iter()
            .all(|v| matches!(v, Err(TxError::Malformed(why)) if why.contains("internal"))));
    }

    #[test]
    fn dropping_the_combiner_ends_its_thread() {
        let combiner = combiner();
        let weak = Arc::downgrade(&combiner.shared);
        let tx = Transfer::from_dev(0).sign();
        assert!(combiner.check(vec![(tx.id(), tx)])[0].is_ok());
        drop(combiner);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while weak.strong_count() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the thread still runs"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}
