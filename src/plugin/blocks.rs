//! Blocks on the wire: the response shapes the host reads, and `GetAncestors`.
//!
//! Each function here runs on a blocking thread (the caller spawns it): it takes the chain
//! lock and may read the host database for old blocks.

use super::convert::{block_status, timestamp};
use crate::chain::{Id, SealedBlock};
use crate::node::Node;
use crate::pb::vm::{
    BuildBlockResponse, GetBlockResponse, InitializeResponse, ParseBlockResponse, SetStateResponse,
};
use std::time::{Duration, Instant};
use tonic::Status;

/// Most blocks one `GetAncestors` answer holds, whatever the host asks for.
pub(crate) const MAX_ANCESTORS: usize = 10_000;

/// Most bytes one `GetAncestors` answer holds, whatever the host asks for.
pub(crate) const MAX_ANCESTORS_BYTES: usize = 32 << 20;

/// Longest one `GetAncestors` call may spend, whatever the host asks for.
pub(crate) const MAX_ANCESTORS_TIME: Duration = Duration::from_secs(5);

/// Per-block overhead the host counts against `max_blocks_size` (a 4-byte length prefix).
const ANCESTOR_OVERHEAD: usize = 4;

/// The last accepted block as `InitializeResponse` / `SetStateResponse` describe it.
pub(crate) struct LastAccepted {
    id: Vec<u8>,
    parent_id: Vec<u8>,
    height: u64,
    bytes: Vec<u8>,
    timestamp: prost_types::Timestamp,
}

impl LastAccepted {
    /// Reads the node's last accepted block.
    pub(crate) fn of(node: &Node) -> Result<Self, Status> {
        let block = node.last_accepted_block();
        Ok(LastAccepted {
            id: block.id.0.to_vec(),
            parent_id: block.block.parent_id.0.to_vec(),
            height: block.block.height,
            timestamp: timestamp(block.block.timestamp_ms)?,
            bytes: block.bytes,
        })
    }

    /// As the answer to `Initialize`.
    pub(crate) fn into_initialize(self) -> InitializeResponse {
        InitializeResponse {
            last_accepted_id: self.id,
            last_accepted_parent_id: self.parent_id,
            height: self.height,
            bytes: self.bytes,
            timestamp: Some(self.timestamp),
        }
    }

    /// As the answer to `SetState`.
    pub(crate) fn into_set_state(self) -> SetStateResponse {
        SetStateResponse {
            last_accepted_id: self.id,
            last_accepted_parent_id: self.parent_id,
            height: self.height,
            bytes: self.bytes,
            timestamp: Some(self.timestamp),
        }
    }
}

/// Parses block bytes into a `ParseBlockResponse` (status from the chain; a new block is
/// PROCESSING until decided).
pub(crate) fn parse(node: &Node, bytes: &[u8]) -> Result<ParseBlockResponse, Status> {
    let (block, status) = node
        .parse_block(bytes)
        .map_err(super::convert::block_error)?;
    Ok(ParseBlockResponse {
        id: block.id.0.to_vec(),
        parent_id: block.parent_id.0.to_vec(),
        status: block_status(status),
        height: block.height,
        timestamp: Some(timestamp(block.timestamp_ms)?),
        verify_with_context: false,
    })
}

/// A block built by this node.
pub(crate) fn built(block: &SealedBlock) -> Result<BuildBlockResponse, Status> {
    Ok(BuildBlockResponse {
        id: block.id.0.to_vec(),
        parent_id: block.block.parent_id.0.to_vec(),
        bytes: block.bytes.clone(),
        height: block.block.height,
        timestamp: Some(timestamp(block.block.timestamp_ms)?),
        verify_with_context: false,
    })
}

/// `GetBlock`: a known block, or OK with `err = NOT_FOUND` (never a gRPC error for a miss).
pub(crate) fn get(node: &Node, id: Id) -> Result<GetBlockResponse, Status> {
    match node
        .block_with_status(&id)
        .map_err(super::convert::store_error)?
    {
        None => Ok(GetBlockResponse {
            err: crate::pb::vm::Error::NotFound as i32,
            ..Default::default()
        }),
        Some((block, status)) => Ok(GetBlockResponse {
            parent_id: block.block.parent_id.0.to_vec(),
            status: block_status(status),
            height: block.block.height,
            timestamp: Some(timestamp(block.block.timestamp_ms)?),
            bytes: block.bytes,
            err: 0,
            verify_with_context: false,
        }),
    }
}

/// The limits of one `GetAncestors` call, clamped to this node's own caps.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AncestorLimits {
    /// Most blocks.
    pub(crate) max_blocks: usize,
    /// Most bytes, counting a 4-byte length per block.
    pub(crate) max_bytes: usize,
    /// Longest time spent collecting.
    pub(crate) max_time: Duration,
}

impl AncestorLimits {
    /// Reads the host's request fields (`max_blocks_retrival_time` is in nanoseconds).
    pub(crate) fn from_request(
        max_blocks_num: i32,
        max_blocks_size: i32,
        max_time_ns: i64,
    ) -> Self {
        AncestorLimits {
            max_blocks: usize::try_from(max_blocks_num)
                .unwrap_or(0)
                .min(MAX_ANCESTORS),
            max_bytes: usize::try_from(max_blocks_size)
                .unwrap_or(0)
                .min(MAX_ANCESTORS_BYTES),
            max_time: Duration::from_nanos(u64::try_from(max_time_ns).unwrap_or(0))
                .min(MAX_ANCESTORS_TIME),
        }
    }
}

/// `GetAncestors`: the block and then its ancestors, newest first, as the Go SDK answers it —
/// the first block always (if known and any block is allowed), further ones while they fit the
/// count, size and time limits. An unknown block gives an empty list.
pub(crate) fn ancestors(
    node: &Node,
    id: Id,
    limits: AncestorLimits,
) -> Result<Vec<Vec<u8>>, Status> {
    let started = Instant::now();
    if limits.max_blocks == 0 {
        return Ok(Vec::new());
    }
    let lookup = |id: &Id| node.block(id).map_err(super::convert::store_error);
    let Some(first) = lookup(&id)? else {
        return Ok(Vec::new());
    };
    let mut total = first.bytes.len() + ANCESTOR_OVERHEAD;
    let mut parent = first.block.parent_id;
    let mut height = first.block.height;
    let mut out = vec![first.bytes];
    while out.len() < limits.max_blocks && started.elapsed() < limits.max_time && height > 0 {
        let Some(block) = lookup(&parent)? else { break };
        let next = total + block.bytes.len() + ANCESTOR_OVERHEAD;
        if next > limits.max_bytes {
            break;
        }
        total = next;
        parent = block.block.parent_id;
        height = block.block.height;
        out.push(block.bytes);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestor_limits_are_clamped() {
        let l = AncestorLimits::from_request(-1, -5, -7);
        assert_eq!(
            (l.max_blocks, l.max_bytes, l.max_time),
            (0, 0, Duration::ZERO)
        );
        let l = AncestorLimits::from_request(i32::MAX, i32::MAX, i64::MAX);
        assert_eq!(l.max_blocks, MAX_ANCESTORS);
        assert_eq!(l.max_bytes, MAX_ANCESTORS_BYTES);
        assert_eq!(l.max_time, MAX_ANCESTORS_TIME);
        let l = AncestorLimits::from_request(10, 2 << 20, 1_000_000);
        assert_eq!((l.max_blocks, l.max_bytes), (10, 2 << 20));
        assert_eq!(l.max_time, Duration::from_millis(1));
    }

    /// A node with `blocks` accepted blocks of one transfer each, on the local genesis.
    fn node_with_blocks(blocks: u64) -> (std::sync::Arc<Node>, Vec<SealedBlock>) {
        use crate::test_utils::{node_on, open_chain, Transfer, NOW_MS};
        let mut chain = open_chain();
        let mut chain_blocks = vec![chain.last_accepted().clone()];
        for nonce in 0..blocks {
            let tx = Transfer::from_dev(0).nonce(nonce).sign();
            chain.check_and_admit(tx, NOW_MS).unwrap();
            let block = chain.build_block(NOW_MS + nonce).unwrap();
            chain_blocks.push(chain.accept_block(block.id).unwrap());
        }
        (node_on(chain), chain_blocks)
    }

    #[test]
    fn ancestors_stop_at_each_limit_and_at_genesis() {
        let (node, blocks) = node_with_blocks(5);
        let tip = blocks.last().unwrap();
        let newest_first: Vec<Vec<u8>> = blocks.iter().rev().map(|b| b.bytes.clone()).collect();
        let limits = |max_blocks, max_bytes, max_time| AncestorLimits {
            max_blocks,
            max_bytes,
            max_time,
        };
        let long = Duration::from_secs(5);
        // Everything down to genesis, and no further, when the limits allow it.
        let all = ancestors(&node, tip.id, limits(100, 1 << 20, long)).unwrap();
        assert_eq!(all, newest_first);
        // The count limit.
        let three = ancestors(&node, tip.id, limits(3, 1 << 20, long)).unwrap();
        assert_eq!(three, newest_first[..3]);
        assert!(ancestors(&node, tip.id, limits(0, 1 << 20, long))
            .unwrap()
            .is_empty());
        // The byte limit, counting 4 bytes per block: exactly two blocks' worth gives two.
        let two_bytes = newest_first[..2]
            .iter()
            .map(|b| b.len() + ANCESTOR_OVERHEAD)
            .sum::<usize>();
        let two = ancestors(&node, tip.id, limits(100, two_bytes, long)).unwrap();
        assert_eq!(two, newest_first[..2]);
        let one = ancestors(&node, tip.id, limits(100, two_bytes - 1, long)).unwrap();
        assert_eq!(one, newest_first[..1]);
        // The first block is always sent, even over the byte limit (as the Go SDK does).
        let first = ancestors(&node, tip.id, limits(100, 1, long)).unwrap();
        assert_eq!(first, newest_first[..1]);
        // No time left: only the first block.
        let none_left = ancestors(&node, tip.id, limits(100, 1 << 20, Duration::ZERO)).unwrap();
        assert_eq!(none_left, newest_first[..1]);
        // From the middle of the chain, and from an unknown block.
        let mid = ancestors(&node, blocks[2].id, limits(100, 1 << 20, long)).unwrap();
        assert_eq!(mid, newest_first[3..]);
        assert!(ancestors(&node, Id([9; 32]), limits(100, 1 << 20, long))
            .unwrap()
            .is_empty());
    }
}
