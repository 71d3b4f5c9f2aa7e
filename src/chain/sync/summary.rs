//! A state summary: what validators vote on when a node asks where to sync to.

use crate::chain::ids::Id;
use parity_scale_codec::{Decode, Encode};

/// Version byte of the summary encoding.
const SUMMARY_VERSION: u8 = 1;

/// The accepted block a node can sync to and the state root it commits to. Its bytes are
/// canonical (SCALE, fixed size), so every node derives the same [`id`](Self::id) from the
/// same summary, which is what the host's vote counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct StateSummary {
    /// Height of the block.
    pub height: u64,
    /// ID of the accepted block at that height.
    pub block_id: Id,
    /// The state commitment in that block (`Block::state_digest`).
    pub state_root: Id,
}

/// Encoded size: version, height, two IDs.
const SUMMARY_LEN: usize = 1 + 8 + 32 + 32;

impl StateSummary {
    /// The canonical bytes: version then SCALE fields.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SUMMARY_LEN);
        SUMMARY_VERSION.encode_to(&mut out);
        self.encode_to(&mut out);
        out
    }

    /// Reads the canonical bytes; any other length or version is an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() != SUMMARY_LEN {
            return Err(format!(
                "a state summary is {SUMMARY_LEN} bytes, got {}",
                bytes.len()
            ));
        }
        if bytes[0] != SUMMARY_VERSION {
            return Err(format!(
                "unsupported state summary version {} (this node reads {SUMMARY_VERSION})",
                bytes[0]
            ));
        }
        let summary = StateSummary::decode(&mut &bytes[1..]).map_err(|e| e.to_string())?;
        if summary.height == 0 {
            return Err("a state summary is never at height 0 (genesis)".into());
        }
        Ok(summary)
    }

    /// The summary's ID: SHA-256 of its bytes.
    pub fn id(&self) -> Id {
        Id::hash_of(&self.to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_the_id_is_their_hash() {
        let s = StateSummary {
            height: 1024,
            block_id: Id([1; 32]),
            state_root: Id([2; 32]),
        };
        let bytes = s.to_bytes();
        assert_eq!(bytes.len(), SUMMARY_LEN);
        assert_eq!(StateSummary::from_bytes(&bytes), Ok(s));
        assert_eq!(s.id(), Id::hash_of(&bytes));
        let other = StateSummary { height: 1025, ..s };
        assert_ne!(other.id(), s.id());
    }

    #[test]
    fn other_lengths_versions_and_genesis_are_refused() {
        let s = StateSummary {
            height: 7,
            block_id: Id([1; 32]),
            state_root: Id([2; 32]),
        };
        let mut bytes = s.to_bytes();
        assert!(StateSummary::from_bytes(&bytes[..SUMMARY_LEN - 1]).is_err());
        bytes.push(0);
        assert!(StateSummary::from_bytes(&bytes).is_err());
        let mut bytes = s.to_bytes();
        bytes[0] = 2;
        assert!(StateSummary::from_bytes(&bytes)
            .unwrap_err()
            .contains("version 2"));
        let genesis = StateSummary { height: 0, ..s };
        assert!(StateSummary::from_bytes(&genesis.to_bytes()).is_err());
        assert!(StateSummary::from_bytes(&[]).is_err());
    }
}
