//! Blocks: the canonical SCALE bytes, a bounded decoder, and the block ID.
//!
//! Layout: `version: u8`, `parent_id: [u8;32]`, `height: u64`, `timestamp_ms: u64`,
//! `txs: Vec<SignedTx>` (compact length prefix), `state_digest: [u8;32]`.
//!
//! Version 2 (this one) commits to the state with `commitment.rs`'s bucketed lattice hash.
//! Version 1's digest, a sum of SHA-256 leaves modulo 2^256, detected diverged state but could
//! not authenticate state fetched from a stranger; its blocks are refused, and a store written
//! by it does not open (its genesis block, hence its chain, differs).

use super::error::BlockError;
use super::ids::Id;
use super::tx::{SignedTx, SIGNED_TX_LEN};
use parity_scale_codec::{Compact, Decode, Encode};

/// The only block version this release produces and accepts.
pub const BLOCK_VERSION: u8 = 2;

/// Bytes before the transaction list.
const HEADER_LEN: usize = 1 + 32 + 8 + 8;

/// Hard bound on transactions a decoder will even look at, whatever the genesis says; stops
/// a forged length prefix from causing a large allocation.
pub const MAX_DECODE_TXS: usize = 1 << 20;

/// A block of transfers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The block this one builds on.
    pub parent_id: Id,
    /// Parent height + 1 (genesis is 0).
    pub height: u64,
    /// Unix milliseconds; never before the parent's.
    pub timestamp_ms: u64,
    /// Transfers, applied in order.
    pub txs: Vec<SignedTx>,
    /// Commitment to the state after applying `txs` (see `commitment::StateCommitment`).
    pub state_digest: Id,
}

/// A block together with its bytes and ID, computed once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedBlock {
    /// The decoded block.
    pub block: Block,
    /// Canonical bytes.
    pub bytes: Vec<u8>,
    /// SHA-256 of the bytes.
    pub id: Id,
    /// The IDs of `block.txs`, in order: a block's transfer IDs are needed at verify, accept
    /// and reject, and hashing them once here keeps SHA-256 off those paths.
    pub tx_ids: Vec<Id>,
}

impl Block {
    /// Encodes to canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + 5 + self.txs.len() * SIGNED_TX_LEN + 32);
        BLOCK_VERSION.encode_to(&mut out);
        self.parent_id.encode_to(&mut out);
        self.height.encode_to(&mut out);
        self.timestamp_ms.encode_to(&mut out);
        self.txs.encode_to(&mut out);
        self.state_digest.encode_to(&mut out);
        out
    }

    /// Seals the block: computes its bytes and ID.
    pub fn seal(self) -> SealedBlock {
        let bytes = self.to_bytes();
        // A transfer's ID is the hash of its canonical bytes, which the block holds verbatim.
        let first = HEADER_LEN + Compact(self.txs.len() as u32).encoded_size();
        let tx_ids = bytes[first..first + self.txs.len() * SIGNED_TX_LEN]
            .chunks_exact(SIGNED_TX_LEN)
            .map(Id::hash_of)
            .collect();
        SealedBlock {
            id: Id::hash_of(&bytes),
            block: self,
            bytes,
            tx_ids,
        }
    }

    /// Size in bytes of a block holding `tx_count` transactions.
    pub fn encoded_len(tx_count: usize) -> usize {
        HEADER_LEN + Compact(tx_count as u32).encoded_size() + tx_count * SIGNED_TX_LEN + 32
    }
}

impl SealedBlock {
    /// Decodes untrusted bytes: exact length, bounded allocation, nothing trailing.
    pub fn decode(bytes: &[u8]) -> Result<Self, BlockError> {
        let malformed = |why: &str| BlockError::Malformed(why.to_string());
        if bytes.len() < HEADER_LEN + 1 + 32 {
            return Err(malformed("shorter than a block header"));
        }
        let input = &mut &bytes[..];
        let version = u8::decode(input).map_err(|_| malformed("version"))?;
        if version != BLOCK_VERSION {
            return Err(BlockError::Malformed(format!(
                "unsupported block version {version} (this node accepts {BLOCK_VERSION})"
            )));
        }
        let parent_id = Id::decode(input).map_err(|_| malformed("parent id"))?;
        let height = u64::decode(input).map_err(|_| malformed("height"))?;
        let timestamp_ms = u64::decode(input).map_err(|_| malformed("timestamp"))?;
        let count = <Compact<u32>>::decode(input)
            .map_err(|_| malformed("transaction count"))?
            .0 as usize;
        if count > MAX_DECODE_TXS {
            return Err(BlockError::Malformed(format!(
                "{count} transactions is beyond any limit"
            )));
        }
        let expected_rest = count * SIGNED_TX_LEN + 32;
        if input.len() != expected_rest {
            return Err(BlockError::Malformed(format!(
                "{count} transactions need {expected_rest} more bytes, found {}",
                input.len()
            )));
        }
        let mut txs = Vec::with_capacity(count);
        for index in 0..count {
            let (tx_bytes, rest) = input.split_at(SIGNED_TX_LEN);
            let tx = SignedTx::decode_canonical(tx_bytes)
                .map_err(|e| BlockError::Malformed(format!("transaction {index}: {e}")))?;
            txs.push(tx);
            *input = rest;
        }
        let state_digest = Id::decode(input).map_err(|_| malformed("state digest"))?;
        let block = Block {
            parent_id,
            height,
            timestamp_ms,
            txs,
            state_digest,
        };
        // Canonical form: re-encoding must give the same bytes (rules out non-minimal compact
        // length prefixes, which would give one block two IDs).
        let sealed = block.seal();
        if sealed.bytes != bytes {
            return Err(malformed("non-canonical encoding"));
        }
        Ok(sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::unchecked_tx;

    fn block(txs: usize) -> Block {
        let tx = unchecked_tx(0);
        Block {
            parent_id: Id([5; 32]),
            height: 6,
            timestamp_ms: 7,
            txs: vec![tx; txs],
            state_digest: Id([8; 32]),
        }
    }

    #[test]
    fn blocks_round_trip_and_ids_are_hashes_of_bytes() {
        for n in [0, 1, 70] {
            let sealed = block(n).seal();
            assert_eq!(sealed.bytes.len(), Block::encoded_len(n));
            let decoded = SealedBlock::decode(&sealed.bytes).unwrap();
            assert_eq!(decoded, sealed);
            assert_eq!(decoded.id, Id::hash_of(&sealed.bytes));
            let ids: Vec<Id> = decoded.block.txs.iter().map(SignedTx::id).collect();
            assert_eq!(decoded.tx_ids, ids);
        }
    }

    #[test]
    fn truncated_extended_and_garbage_bytes_are_errors() {
        let bytes = block(3).seal().bytes;
        for cut in 0..bytes.len() {
            assert!(SealedBlock::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(SealedBlock::decode(&longer).is_err());
        assert!(SealedBlock::decode(&[0xff; 300]).is_err());
    }

    #[test]
    fn the_length_checks_are_exact_at_their_edges() {
        let empty = block(0).seal().bytes;
        assert_eq!(empty.len(), HEADER_LEN + 1 + 32, "the smallest block");
        assert!(SealedBlock::decode(&empty).is_ok());
        for cut in 0..empty.len() {
            assert_eq!(
                SealedBlock::decode(&empty[..cut]),
                Err(BlockError::Malformed(
                    "shorter than a block header".to_string()
                )),
                "cut at {cut}"
            );
        }
        // The count bound: at it, decoding goes on (and finds the bytes missing); past it, the
        // count alone is refused.
        let with_count = |count: u32| {
            let mut bytes = empty.clone();
            bytes.splice(49..50, Compact(count).encode());
            SealedBlock::decode(&bytes).unwrap_err().to_string()
        };
        let at = with_count(MAX_DECODE_TXS as u32);
        assert!(!at.contains("beyond any limit"), "{at}");
        let past = with_count(MAX_DECODE_TXS as u32 + 1);
        assert!(past.contains("beyond any limit"), "{past}");
    }

    #[test]
    fn a_huge_length_prefix_is_refused_before_allocating() {
        let mut bytes = block(0).seal().bytes;
        // Replace the one-byte compact zero with the 4-byte-mode prefix for 2^30 - 1.
        let at = 49;
        bytes.splice(at..at + 1, Compact((1u32 << 30) - 1).encode());
        assert!(matches!(
            SealedBlock::decode(&bytes),
            Err(BlockError::Malformed(_))
        ));
    }

    #[test]
    fn a_non_minimal_length_prefix_is_not_canonical() {
        let sealed = block(1).seal();
        let mut bytes = sealed.bytes.clone();
        // 1 in two-byte compact mode: (1 << 2) | 0b01, little endian.
        bytes.splice(49..50, [0b0000_0101u8, 0]);
        assert!(SealedBlock::decode(&bytes).is_err());
    }
}
