//! AppGossip messages: the bounded decoder, batch-vs-single signature verdicts, and admission
//! of every gossiped transaction through the same checks as the API.

use super::common::{admit_checked, assert_invariants, open_chain, Snapshot};
use super::Outcome;
use transfervm::chain::gossip::{decode_gossip, encode_gossip, MAX_GOSSIP_TXS};
use transfervm::chain::signature::{verify_many, verify_one};

/// Runs one input.
pub fn run(data: &[u8]) -> Outcome {
    let txs = match decode_gossip(data) {
        Ok(txs) => txs,
        Err(_) => return Outcome::Refused,
    };
    assert!(txs.len() <= MAX_GOSSIP_TXS);
    assert_eq!(encode_gossip(&txs), data, "gossip decoding is canonical");
    let single: Vec<bool> = txs.iter().map(verify_one).collect();
    assert_eq!(verify_many(&txs), single, "batch and single verdicts agree");
    let mut chain = open_chain();
    let before = Snapshot::of(&chain);
    let mut admitted = 0;
    for (tx, ok) in txs.iter().zip(&single) {
        if admit_checked(&mut chain, *tx) {
            assert!(ok);
            admitted += 1;
        }
    }
    assert_eq!(chain.mempool().len(), admitted);
    assert_eq!(
        Snapshot::of(&chain).digest_of_accepted(),
        before.digest_of_accepted()
    );
    assert_invariants(&chain);
    if admitted > 0 {
        Outcome::Accepted
    } else {
        Outcome::Rejected
    }
}
