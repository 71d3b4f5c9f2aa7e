//! State-sync messages from peers (`VM.AppRequest`, `VM.AppResponse`) and state summaries from
//! the host (`ParseStateSummary`, `StateSummaryAccept`): decoding never panics, a decoded
//! request or summary re-encodes to the same bytes (so every node derives the same summary ID
//! from the same bytes), a decoded response round-trips, and a response is checked against a
//! real summary's head without panicking.

use super::Outcome;
use std::sync::OnceLock;
use transfervm::chain::commitment::BUCKETS;
use transfervm::chain::sync::{verify_buckets, StateSummary, SyncHead, SyncRequest, SyncResponse};

/// A real head to check responses against: a chain with one accepted block (with its
/// snapshot), as a syncing node would hold it.
fn head() -> &'static (SyncHead, Vec<u8>) {
    static HEAD: OnceLock<(SyncHead, Vec<u8>)> = OnceLock::new();
    HEAD.get_or_init(|| {
        let chain = super::common::chain_with_summary();
        let snapshot = chain.last_state_summary().expect("a summary at height 1");
        let head = SyncHead::verify(snapshot.summary(), snapshot.head()).expect("its own head");
        let buckets = snapshot.buckets(0, BUCKETS).to_bytes();
        (head, buckets)
    })
}

/// Runs one input.
pub fn run(data: &[u8]) -> Outcome {
    let mut outcome = Outcome::Refused;
    if let Ok(request) = SyncRequest::from_bytes(data) {
        assert_eq!(request.to_bytes(), data, "sync requests are canonical");
        outcome = Outcome::Accepted;
    }
    if let Ok(summary) = StateSummary::from_bytes(data) {
        assert_eq!(summary.to_bytes(), data, "summaries are canonical");
        outcome = Outcome::Accepted;
    }
    if let Ok(response) = SyncResponse::from_bytes(data) {
        let again = SyncResponse::from_bytes(&response.to_bytes()).expect("re-encoded decodes");
        assert_eq!(again, response, "sync responses round-trip");
        let (head, _) = head();
        let _ = SyncHead::verify(head.summary, response.clone());
        outcome = match verify_buckets(head, 0, BUCKETS, response) {
            Ok(buckets) => {
                assert!(!buckets.is_empty());
                Outcome::Accepted
            }
            Err(_) => outcome.max(Outcome::Rejected),
        };
    }
    outcome
}
