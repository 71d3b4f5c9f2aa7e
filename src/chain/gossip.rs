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

/// Largest gossip message a decoder looks at: the version byte, the longest compact count
/// prefix and [`MAX_GOSSIP_TXS`] transactions. Anything longer is refused on its length alone,
/// before a byte of it is read, so a peer cannot make a node parse past the cap (the network's
/// own limit is 2 MiB; this is well under it).
pub const MAX_GOSSIP_BYTES: usize = 1 + 5 + MAX_GOSSIP_TXS * SIGNED_TX_LEN;

/// Why a gossip message was refused whole. Each case maps to one label of the
/// `gossip_refused{reason}` metric ([`GossipError::reason`]), so an operator can tell a peer
/// running another version from one sending garbage or flooding past the caps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GossipError {
    /// Longer than [`MAX_GOSSIP_BYTES`].
    #[error("malformed gossip message: {bytes} bytes, limit {MAX_GOSSIP_BYTES}")]
    TooLarge {
        /// The message's length.
        bytes: usize,
    },
    /// A count prefix above [`MAX_GOSSIP_TXS`].
    #[error("malformed gossip message: {count} transactions, limit {MAX_GOSSIP_TXS}")]
    TooManyTxs {
        /// The count the message claims.
        count: usize,
    },
    /// No bytes at all.
    #[error("malformed gossip message: empty")]
    Empty,
    /// A version this release does not speak.
    #[error("malformed gossip message: unsupported version {0}")]
    UnsupportedVersion(u8),
    /// The transaction count prefix does not decode.
    #[error("malformed gossip message: bad transaction count")]
    BadCount,
    /// The bytes after the count are not exactly `count` transactions.
    #[error("malformed gossip message: {count} transactions need {expected} bytes, found {found}")]
    LengthMismatch {
        /// The count the message claims.
        count: usize,
        /// Bytes those transactions take.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// A transaction's bytes are not canonical.
    #[error("malformed gossip message: transaction {index}: {why}")]
    MalformedTx {
        /// Its position in the message.
        index: usize,
        /// Why it does not decode.
        why: String,
    },
}

impl GossipError {
    /// The metric label of this refusal, one of a closed set: `over_cap` (over
    /// [`MAX_GOSSIP_BYTES`] or [`MAX_GOSSIP_TXS`]), `unsupported_version`, `malformed` (empty,
    /// bad count, length not matching the count) and `malformed_tx` (a transaction inside
    /// does not decode).
    pub fn reason(&self) -> &'static str {
        match self {
            GossipError::TooLarge { .. } | GossipError::TooManyTxs { .. } => "over_cap",
            GossipError::UnsupportedVersion(_) => "unsupported_version",
            GossipError::Empty | GossipError::BadCount | GossipError::LengthMismatch { .. } => {
                "malformed"
            }
            GossipError::MalformedTx { .. } => "malformed_tx",
        }
    }
}

/// Encodes a batch of transactions for `SendAppGossip`.
pub fn encode_gossip(txs: &[SignedTx]) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 + txs.len() * SIGNED_TX_LEN);
    GOSSIP_VERSION.encode_to(&mut out);
    txs.encode_to(&mut out);
    out
}

/// Decodes untrusted gossip bytes. Every transaction must be well-formed, or none is taken.
pub fn decode_gossip(bytes: &[u8]) -> Result<Vec<SignedTx>, GossipError> {
    if bytes.len() > MAX_GOSSIP_BYTES {
        return Err(GossipError::TooLarge { bytes: bytes.len() });
    }
    let input = &mut &bytes[..];
    let version = u8::decode(input).map_err(|_| GossipError::Empty)?;
    if version != GOSSIP_VERSION {
        return Err(GossipError::UnsupportedVersion(version));
    }
    let count = <Compact<u32>>::decode(input)
        .map_err(|_| GossipError::BadCount)?
        .0 as usize;
    if count > MAX_GOSSIP_TXS {
        return Err(GossipError::TooManyTxs { count });
    }
    if input.len() != count * SIGNED_TX_LEN {
        return Err(GossipError::LengthMismatch {
            count,
            expected: count * SIGNED_TX_LEN,
            found: input.len(),
        });
    }
    input
        .chunks_exact(SIGNED_TX_LEN)
        .enumerate()
        .map(|(index, chunk)| {
            SignedTx::decode_canonical(chunk).map_err(|e| GossipError::MalformedTx {
                index,
                why: e.to_string(),
            })
        })
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

    #[test]
    fn each_refusal_has_its_reason() {
        let bytes = encode_gossip(&[tx(0), tx(1)]);
        let reason = |b: &[u8]| decode_gossip(b).unwrap_err().reason();
        assert_eq!(reason(&[]), "malformed");
        assert_eq!(reason(&[GOSSIP_VERSION]), "malformed");
        assert_eq!(reason(&bytes[..bytes.len() - 1]), "malformed");
        assert_eq!(
            decode_gossip(&bytes[..bytes.len() - 1]),
            Err(GossipError::LengthMismatch {
                count: 2,
                expected: 2 * SIGNED_TX_LEN,
                found: 2 * SIGNED_TX_LEN - 1,
            })
        );
        assert_eq!(reason(&[GOSSIP_VERSION + 1, 0]), "unsupported_version");
        let mut many = vec![GOSSIP_VERSION];
        Compact(MAX_GOSSIP_TXS as u32 + 1).encode_to(&mut many);
        assert_eq!(reason(&many), "over_cap");
        // Over the byte cap: refused on its length, whatever it holds.
        assert_eq!(reason(&vec![0; MAX_GOSSIP_BYTES + 1]), "over_cap");
        // The largest message the cap allows is not refused for its length.
        let full: Vec<_> = (0..MAX_GOSSIP_TXS as u64).map(tx).collect();
        assert!(encode_gossip(&full).len() <= MAX_GOSSIP_BYTES);
        assert_eq!(decode_gossip(&encode_gossip(&full)).unwrap(), full);
        // The cap is where its doc puts it (a version byte, the longest count prefix, the
        // most transactions), written out here rather than read from the constant: a message of
        // that length is read, one byte more is refused unread; both under the 2 MiB network
        // limit.
        let cap = 1 + 5 + 4_096 * SIGNED_TX_LEN;
        assert_eq!(reason(&vec![0; cap]), "unsupported_version");
        assert_eq!(reason(&vec![0; cap + 1]), "over_cap");
        assert!(cap + 1 < 2 << 20);
        let mut bad_tx = bytes.clone();
        bad_tx[2] = 9; // the first transaction's version byte
        assert_eq!(reason(&bad_tx), "malformed_tx");
    }
}
