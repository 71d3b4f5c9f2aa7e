//! Genesis JSON (Luxd's `genesis_bytes`): the parser, the derived state, and opening a chain.

use super::common::{assert_invariants, config};
use super::Outcome;
use transfervm::chain::genesis::Genesis;
use transfervm::chain::{Chain, Id};
use transfervm::test_utils::memory_store;

/// Runs one input.
pub fn run(data: &[u8]) -> Outcome {
    let open = || Chain::open(memory_store(), data, config());
    let genesis = match Genesis::from_json(data) {
        Ok(genesis) => genesis,
        Err(_) => {
            assert!(open().is_err(), "a refused genesis opens no chain");
            return Outcome::Refused;
        }
    };
    // Round trip: what we write back parses to the same document, and writes the same again.
    let written = serde_json::to_vec(&genesis).expect("a genesis serializes");
    let again = Genesis::from_json(&written).expect("our own output parses");
    assert_eq!(again, genesis);
    assert_eq!(serde_json::to_vec(&again).unwrap(), written);
    let state = match genesis.clone().into_state() {
        Ok(state) => state,
        Err(_) => {
            assert!(open().is_err(), "an invalid genesis opens no chain");
            return Outcome::Rejected;
        }
    };
    // Deterministic, and the supply is the sum of the allocations.
    let twice = genesis
        .clone()
        .into_state()
        .expect("same input, same verdict");
    assert_eq!(twice.block.id, state.block.id);
    let sum = genesis
        .allocations
        .iter()
        .try_fold(0u64, |s, a| s.checked_add(a.balance));
    assert_eq!(sum, Some(state.supply));
    assert_eq!(state.block.block.height, 0);
    assert_eq!(state.block.block.parent_id, Id::default());
    assert_eq!(state.block.id, Id::hash_of(&state.block.bytes));
    assert_eq!(
        Genesis::from_json(&written)
            .and_then(Genesis::into_state)
            .map(|s| s.block.id),
        Ok(state.block.id),
        "the written-back document is the same chain"
    );
    let chain = open().expect("a valid genesis opens");
    assert_eq!(chain.genesis_id(), state.block.id);
    assert_eq!(chain.supply(), state.supply);
    assert_invariants(&chain);
    Outcome::Accepted
}
