//! Transaction bytes: the canonical decoder, single-vs-batch signature verdicts, and admission.
//!
//! Two passes per input. First the raw bytes as a wire transaction (what `submitTx` and gossip
//! hand the node). Then, so the fuzzer also explores the state rules behind the signature
//! check, the first [`TX_BODY_LEN`] bytes as a body that the harness signs with the dev key the
//! body's first `from` byte picks.

use super::common::{self, admit_checked, assert_invariants, build_and_accept, open_chain};
use super::Outcome;
use parity_scale_codec::{Decode, DecodeAll};
use transfervm::chain::signature::{verify_many, verify_one};
use transfervm::chain::tx::{address_of, SignedTx, TxBody, SIGNED_TX_LEN, TX_BODY_LEN};
use transfervm::chain::Id;
use transfervm::keys::dev_key;

/// Runs one input; the outcome is the raw pass's (the wire transaction's).
pub fn run(data: &[u8]) -> Outcome {
    let raw = raw_pass(data);
    signed_pass(data);
    raw
}

fn raw_pass(data: &[u8]) -> Outcome {
    let Ok(tx) = SignedTx::decode_canonical(data) else {
        assert!(data.len() != SIGNED_TX_LEN || data[0] != transfervm::chain::tx::TX_VERSION);
        return Outcome::Refused;
    };
    // Canonical: exactly these bytes, and the ID is their hash.
    assert_eq!(tx.to_bytes(), data);
    assert_eq!(tx.id(), Id::hash_of(data));
    assert_eq!(SignedTx::decode_all(&mut &data[..]).ok(), Some(tx));
    // Single and batch verification agree (batches below 4 are checked one by one, so 5).
    let single = verify_one(&tx);
    assert_eq!(verify_many(&[tx; 5]), vec![single; 5]);
    let mut chain = open_chain();
    if admit_checked(&mut chain, tx) {
        assert!(single);
        // Only nonce 0 is includable now; later nonces wait (a bounded gap is admitted).
        assert_eq!(
            build_and_accept(&mut chain),
            usize::from(tx.body.nonce == 0)
        );
        Outcome::Accepted
    } else {
        Outcome::Rejected
    }
}

fn signed_pass(data: &[u8]) -> Outcome {
    let Some(body_bytes) = data.get(..TX_BODY_LEN) else {
        return Outcome::Refused;
    };
    let Ok(mut body) = TxBody::decode_all(&mut &body_bytes[..]) else {
        return Outcome::Refused;
    };
    let key = dev_key(u32::from(body.from.0[0] % 5));
    body.from = address_of(&key);
    let tx = body.sign(&key);
    assert!(verify_one(&tx));
    let bytes = tx.to_bytes();
    assert_eq!(TxBody::decode(&mut &bytes[..TX_BODY_LEN]).ok(), Some(body));
    let mut chain = open_chain();
    let outcome = if admit_checked(&mut chain, tx) {
        // A second copy is known; the accepted state did not move.
        assert!(chain.check_and_admit(tx, common::NOW_MS).is_err());
        assert_eq!(
            build_and_accept(&mut chain),
            usize::from(tx.body.nonce == 0)
        );
        assert!(
            chain.check_and_admit(tx, common::NOW_MS).is_err(),
            "no replay"
        );
        Outcome::Accepted
    } else {
        Outcome::Rejected
    };
    assert_invariants(&chain);
    outcome
}
