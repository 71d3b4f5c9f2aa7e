//! The one signature rule every node and every code path uses.
//!
//! Validity is ZIP-215 (as implemented by `ed25519-zebra`): it is the rule under which single and
//! batch verification agree on every input, so a node that batch-verifies a block and a node
//! that checks each signature alone can never disagree (a consensus split). Keys and signing use
//! `ed25519-dalek`, whose signatures are valid under this rule.

use super::tx::SignedTx;
use ed25519_zebra::{batch, Signature, VerificationKey, VerificationKeyBytes};

/// Below this many signatures a batch costs more than it saves.
const MIN_BATCH: usize = 4;

/// Checks one transaction's signature under the ZIP-215 rule.
pub fn verify_one(tx: &SignedTx) -> bool {
    verify_message(&tx.body.from.0, &tx.signature, &tx.body.signing_payload())
}

/// Checks one signature over raw message bytes under the ZIP-215 rule: the check
/// [`verify_one`] makes on a transfer's signing payload. Public so that published test vectors,
/// which sign plain messages rather than transfers, exercise this very function.
pub fn verify_message(key: &[u8; 32], signature: &[u8; 64], message: &[u8]) -> bool {
    let Ok(key) = VerificationKey::try_from(*key) else {
        return false;
    };
    key.verify(&Signature::from(*signature), message).is_ok()
}

/// A signature over raw bytes, for [`verify_messages`].
#[derive(Clone, Copy, Debug)]
pub struct SignedMessage<'a> {
    /// The signer's public key, as encoded (ZIP-215 accepts non-canonical encodings).
    pub key: [u8; 32],
    /// The signature `R ‖ S`.
    pub signature: [u8; 64],
    /// The bytes signed.
    pub message: &'a [u8],
}

impl<'a> SignedMessage<'a> {
    /// A transfer's signature over its signing payload (`payload`, from
    /// `tx.body.signing_payload()`, which the caller keeps alive): what every transfer check
    /// hands to [`verify_messages`].
    pub fn of_transfer(tx: &SignedTx, payload: &'a [u8]) -> Self {
        SignedMessage {
            key: tx.body.from.0,
            signature: tx.signature,
            message: payload,
        }
    }
}

/// Checks many signatures, returning one verdict per transaction in order.
///
/// Large sets are split into one batch per core (signature checks are ~90% of a block's
/// cost, and a batch is independent of the others). A batch that fails is re-checked one by
/// one to find the culprits; because the rule is batch-consistent, the verdicts are exactly
/// those `verify_one` gives, however the set is split.
pub fn verify_many(txs: &[SignedTx]) -> Vec<bool> {
    let threads = cores();
    let chunk = txs.len().div_ceil(threads).max(MIN_PARALLEL_CHUNK);
    if txs.len() <= chunk {
        return verify_batch(txs);
    }
    let mut verdicts = Vec::with_capacity(txs.len());
    std::thread::scope(|scope| {
        let mut chunks = txs.chunks(chunk);
        let first = chunks.next().unwrap_or_default();
        let others: Vec<_> = chunks
            .map(|part| (part.len(), scope.spawn(move || verify_batch(part))))
            .collect();
        // This thread takes the first share itself rather than idling.
        verdicts.extend(verify_batch(first));
        for (len, handle) in others {
            match handle.join() {
                Ok(part) => verdicts.extend(part),
                // A verifier thread cannot panic on any input; if one ever did, fail closed.
                Err(_) => verdicts.extend(std::iter::repeat_n(false, len)),
            }
        }
    });
    verdicts
}

/// The cores to spread a batch over, asked once: `available_parallelism` reads the cgroup
/// files on Linux (~20 µs), which cost a third of a lone signature check.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Below this many signatures per thread, a thread costs more than it saves.
const MIN_PARALLEL_CHUNK: usize = 256;

/// One batch of transactions on the calling thread.
fn verify_batch(txs: &[SignedTx]) -> Vec<bool> {
    let payloads: Vec<Vec<u8>> = txs.iter().map(|tx| tx.body.signing_payload()).collect();
    let messages: Vec<SignedMessage<'_>> = txs
        .iter()
        .zip(&payloads)
        .map(|(tx, payload)| SignedMessage::of_transfer(tx, payload))
        .collect();
    verify_messages(&messages)
}

/// One batch of signatures over raw bytes on the calling thread, one verdict per signature in
/// order: the batch path every chunk of [`verify_many`] takes (below [`MIN_BATCH`] one by one; a
/// failed batch re-checked one by one). Public so that published test vectors go through the
/// batch equation too, not only [`verify_message`].
pub fn verify_messages(messages: &[SignedMessage<'_>]) -> Vec<bool> {
    let one_by_one = || {
        messages
            .iter()
            .map(|m| verify_message(&m.key, &m.signature, m.message))
            .collect()
    };
    if messages.len() < MIN_BATCH {
        return one_by_one();
    }
    let mut verifier = batch::Verifier::new();
    for m in messages {
        verifier.queue((
            VerificationKeyBytes::from(m.key),
            Signature::from(m.signature),
            m.message,
        ));
    }
    if verifier.verify(rand_core::OsRng).is_ok() {
        return vec![true; messages.len()];
    }
    one_by_one()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::ids::Address;
    use crate::test_utils::Transfer;
    use ed25519_dalek::SigningKey;

    fn signed(seed: u8) -> SignedTx {
        Transfer::from_key(&SigningKey::from_bytes(&[seed; 32])).sign()
    }

    #[test]
    fn dalek_signatures_verify_singly_and_in_batches() {
        let txs: Vec<_> = (1..=9).map(signed).collect();
        assert!(txs.iter().all(verify_one));
        assert_eq!(verify_many(&txs), vec![true; 9]);
    }

    #[test]
    fn a_bad_signature_in_a_batch_is_pinpointed() {
        let mut txs: Vec<_> = (1..=9).map(signed).collect();
        txs[4].signature[10] ^= 0x55;
        txs[7].body.amount += 1;
        let verdicts = verify_many(&txs);
        let expected: Vec<bool> = (0..9).map(|i| i != 4 && i != 7).collect();
        assert_eq!(verdicts, expected);
        assert_eq!(verdicts, txs.iter().map(verify_one).collect::<Vec<_>>());
    }

    #[test]
    fn verdicts_do_not_depend_on_how_the_set_is_split_across_threads() {
        let mut txs: Vec<_> = (0..3 * MIN_PARALLEL_CHUNK + 7)
            .map(|i| signed((i % 250) as u8 + 1))
            .collect();
        // One bad signature in the first share, one in the last.
        txs[3].signature[0] ^= 1;
        let last = txs.len() - 2;
        txs[last].body.fee += 1;
        let verdicts = verify_many(&txs);
        assert_eq!(verdicts.len(), txs.len());
        let expected: Vec<bool> = (0..txs.len()).map(|i| i != 3 && i != last).collect();
        assert_eq!(verdicts, expected);
    }

    #[test]
    fn a_key_that_is_not_a_curve_point_is_rejected_not_panicked() {
        let mut tx = signed(3);
        // y = 2 is not the encoding of a point on the curve.
        let mut bad = [0u8; 32];
        bad[0] = 2;
        tx.body.from = Address(bad);
        assert!(!verify_one(&tx));
        assert_eq!(verify_many(&[tx; 5]), vec![false; 5]);
    }
}
