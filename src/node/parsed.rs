//! The parse cache: blocks `ParseBlock` decoded, kept for the `BlockVerify` that follows so a
//! block is decoded once.

use crate::chain::{Id, SealedBlock};
use std::collections::VecDeque;

/// Most decoded blocks kept between `ParseBlock` and `BlockVerify`: the host verifies a block
/// right after parsing it, so a few suffice, and the cap bounds what a host that parses and
/// never verifies can make this node hold (each up to the block size cap, twice over).
pub(super) const PARSED_BLOCKS: usize = 8;

/// Decoded blocks by ID, oldest evicted first.
#[derive(Default)]
pub(super) struct ParsedBlocks {
    /// Oldest first.
    pub(super) blocks: VecDeque<SealedBlock>,
}

impl ParsedBlocks {
    /// Keeps `sealed`, evicting the oldest when full.
    pub(super) fn put(&mut self, sealed: SealedBlock) {
        if self.blocks.iter().any(|b| b.id == sealed.id) {
            return;
        }
        if self.blocks.len() == PARSED_BLOCKS {
            self.blocks.pop_front();
        }
        self.blocks.push_back(sealed);
    }

    /// Takes the block with `id` out, if kept.
    pub(super) fn take(&mut self, id: &Id) -> Option<SealedBlock> {
        let position = self.blocks.iter().position(|b| b.id == *id)?;
        self.blocks.remove(position)
    }
}
