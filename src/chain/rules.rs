//! The rules a transfer must meet whatever the state: the right version, network and chain, a
//! fee at or above the minimum, no overflow, and an expiry inside the window.
//!
//! They are cheap and need no state, so the node checks them once, before it takes the chain
//! lock; block verification checks them at the block's time. The block size cap is here too:
//! it decides whether bytes are decoded at all.

use super::block::SealedBlock;
use super::error::{BlockError, TxError};
use super::genesis::ChainParams;
use super::ids::Id;
use super::tx::{SignedTx, TX_VERSION};

/// The stateless rules of one chain, cheap to clone so callers can check them before taking the
/// chain lock.
#[derive(Clone, Debug)]
pub struct StatelessRules {
    /// Network every transfer must name (the host's, or the dev genesis's).
    pub network_id: u32,
    /// Chain every transfer must name, so a transfer signed for one chain cannot replay on another.
    pub chain_id: Id,
    /// The genesis parameters: minimum fee, block caps and the expiry bound.
    pub params: ChainParams,
}

impl StatelessRules {
    /// Version, network, chain, fee and overflow: everything but signature, state and time.
    pub fn check(&self, tx: &SignedTx) -> Result<(), TxError> {
        let body = &tx.body;
        if body.version != TX_VERSION {
            return Err(TxError::Malformed(format!(
                "unsupported version {}",
                body.version
            )));
        }
        if body.network_id != self.network_id {
            return Err(TxError::WrongNetwork {
                expected: self.network_id,
                got: body.network_id,
            });
        }
        if body.chain_id != self.chain_id {
            return Err(TxError::WrongChain {
                expected: self.chain_id,
                got: body.chain_id,
            });
        }
        if body.fee < self.params.min_fee {
            return Err(TxError::FeeTooLow {
                min: self.params.min_fee,
                got: body.fee,
            });
        }
        body.total_cost().ok_or(TxError::AmountOverflow)?;
        Ok(())
    }

    /// The expiry window relative to `now_ms` (block time, or local time at admission).
    pub fn check_time(&self, tx: &SignedTx, now_ms: u64) -> Result<(), TxError> {
        let now = now_ms / 1000;
        let expires_at = tx.body.expires_at;
        // Compare in milliseconds so a block at 10.5 s does not include a tx expiring at 10 s.
        if expires_at.saturating_mul(1000) < now_ms {
            return Err(TxError::Expired { expires_at, now });
        }
        let max_secs = self.params.max_expiry_secs;
        if expires_at > now.saturating_add(max_secs) {
            return Err(TxError::ExpiryTooFar {
                expires_at,
                now,
                max_secs,
            });
        }
        Ok(())
    }

    /// Both checks: what admission and block verification ask of every transfer.
    pub fn check_at(&self, tx: &SignedTx, now_ms: u64) -> Result<(), TxError> {
        self.check(tx)?;
        self.check_time(tx, now_ms)
    }
}

impl StatelessRules {
    /// Decodes block bytes under the genesis size cap, before anything else looks at them: a
    /// block over the cap is refused before it is decoded. Needs no chain state.
    pub fn decode_block(&self, bytes: &[u8]) -> Result<SealedBlock, BlockError> {
        let max = self.params.max_block_bytes;
        if bytes.len() > max as usize {
            return Err(BlockError::TooLarge(format!(
                "{} bytes, limit {max}",
                bytes.len()
            )));
        }
        SealedBlock::decode(bytes)
    }
}
