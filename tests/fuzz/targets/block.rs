//! Block bytes, parsed and verified against a chain at genesis, as the host delivers them
//! (`ParseBlock` then `Verify`, then `Accept`).

use super::common::{assert_invariants, open_on, Snapshot, NOW_MS};
use super::Outcome;
use transfervm::chain::signature::verify_one;
use transfervm::chain::{BlockStatus, Id, SignatureProof};
use transfervm::test_utils::memory_store;

/// Runs one input.
pub fn run(data: &[u8]) -> Outcome {
    let store = memory_store();
    let mut chain = open_on(store.clone());
    let before = Snapshot::of(&chain);
    let sealed = match chain.rules().decode_block(data) {
        Ok(sealed) => sealed,
        Err(_) => {
            assert_eq!(Snapshot::of(&chain), before, "parsing changes nothing");
            return Outcome::Refused;
        }
    };
    // Canonical: one block, one encoding, one ID.
    assert_eq!(sealed.bytes, data);
    assert_eq!(sealed.id, Id::hash_of(data));
    assert_eq!(sealed.block.clone().seal(), sealed);
    assert_eq!(Snapshot::of(&chain), before, "parsing changes nothing");
    let status = chain.block_status(&sealed);
    if sealed.block.height == 0 {
        // Only the genesis block itself is accepted at height 0.
        assert_eq!(
            status == BlockStatus::Accepted,
            sealed.id == chain.genesis_id()
        );
    } else {
        assert_eq!(status, BlockStatus::Processing);
    }
    if let Err(_e) = chain.verify_block(sealed.clone(), SignatureProof::default(), NOW_MS) {
        assert_eq!(
            Snapshot::of(&chain),
            before,
            "a refused block changes nothing"
        );
        return Outcome::Rejected;
    }
    // Verified: it builds on genesis, every signature holds, and it can be accepted.
    assert_eq!(sealed.block.height, 1);
    assert_eq!(chain.processing_count(), 1);
    assert!(sealed.block.txs.iter().all(verify_one));
    assert_eq!(
        Snapshot::of(&chain).digest_of_accepted(),
        before.digest_of_accepted()
    );
    let accepted = chain
        .accept_block(sealed.id)
        .expect("a verified child of genesis");
    assert_eq!(accepted, sealed);
    assert_invariants(&chain);
    assert_eq!(chain.recompute_digest(), sealed.block.state_digest);
    // The store holds exactly what memory holds.
    drop(chain);
    let reopened = open_on(store);
    assert_eq!(reopened.last_accepted(), &sealed);
    assert_invariants(&reopened);
    Outcome::Accepted
}
