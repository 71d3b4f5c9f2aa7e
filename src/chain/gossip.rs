//! The AppGossip payload: a versioned, bounded batch of signed transactions.
//!
//! Layout (SCALE): `version: u8`, then `Vec<SignedTx>` (compact length prefix, fixed-size
//! items). Decoding checks the count against a bound and the exact length before allocating.

use super::tx::{SignedTx, SIGNED_TX_LEN};
use parity_scale_codec::{Compact, Decode, Encode};

/// Current gossip format version.
pub const GOSSIP_VERSION: u8 = 1;

/// Most transactions one gossip message may carry (keeps it well under the network's 2 MiB).
pub const MAX_GOSSIP_TXS: usize = 4_096;

/// Why a gossip message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed gossip message: {0}")]
pub struct GossipError(pub String);

/// Encodes a batch of transactions for `SendAppGossip`.
pub fn encode_gossip(txs: &[SignedTx]) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 + txs.len() * SIGNED_TX_LEN);
    GOSSIP_VERSION.encode_to(&mut out);
    txs.encode_to(&mut out);
    out
}

/// Decodes untrusted gossip bytes. Every transaction must be well-formed, or none is taken.
pub fn decode_gossip(bytes: &[u8]) -> Result<Vec<SignedTx>, GossipError> {
    let input = &mut &bytes[..];
    let version = u8::decode(input).map_err(|_| GossipError("empty".into()))?;
    if version != GOSSIP_VERSION {
        return Err(GossipError(format!("unsupported version {version}")));
    }
    let count = <Compact<u32>>::decode(input)
        .map_err(|_| GossipError("bad transaction count".into()))?
        .0 as usize;
    if count > MAX_GOSSIP_TXS {
        return Err(GossipError(format!(
            "{count} transactions, limit {MAX_GOSSIP_TXS}"
        )));
    }
    if input.len() != count * SIGNED_TX_LEN {
        return Err(GossipError(format!(
            "{count} transactions need {} bytes, found {}",
            count * SIGNED_TX_LEN,
            input.len()
        )));
    }
    input
        .chunks_exact(SIGNED_TX_LEN)
        .map(|chunk| SignedTx::decode_canonical(chunk).map_err(|e| GossipError(e.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::unchecked_tx as tx;

    #[test]
    fn gossip_round_trips() {
        let txs: Vec<_> = (0..5).map(tx).collect();
        assert_eq!(decode_gossip(&encode_gossip(&txs)).unwrap(), txs);
        assert_eq!(decode_gossip(&encode_gossip(&[])).unwrap(), vec![]);
    }

    #[test]
    fn hostile_gossip_is_refused() {
        let bytes = encode_gossip(&[tx(0), tx(1)]);
        assert!(decode_gossip(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode_gossip(&[]).is_err());
        assert!(decode_gossip(&[2, 0]).is_err());
        let mut huge = vec![GOSSIP_VERSION];
        Compact(u32::MAX).encode_to(&mut huge);
        assert!(decode_gossip(&huge).is_err());
        let mut bad_version = bytes.clone();
        bad_version[2] = 9;
        assert!(decode_gossip(&bad_version).is_err());
    }
}
