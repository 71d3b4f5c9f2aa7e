//! What the node needs from where it runs: local time, and someone to tell when to build and
//! what to gossip (the host over gRPC, or the dev chain's build loop).

use crate::chain::SignedTx;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where local time comes from. Consensus code takes time as an argument; this is the one
/// place that reads the wall clock, so tests can substitute a fixed clock.
pub trait Clock: Send + Sync {
    /// Unix milliseconds now.
    fn now_ms(&self) -> u64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// What the node tells its environment (the host, or the dev chain's build loop).
pub trait NodeEvents: Send + Sync {
    /// There are pending transactions and no build was requested for them yet.
    fn build_wanted(&self);
    /// Transactions admitted from the API, to be gossiped to peers.
    fn gossip(&self, txs: &[SignedTx]);
}

/// Events that go nowhere (before the host has connected, and in tests).
pub struct NoEvents;

impl NodeEvents for NoEvents {
    fn build_wanted(&self) {}
    fn gossip(&self, _: &[SignedTx]) {}
}

/// Where a submitted transaction came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A wallet, through JSON-RPC: gossiped on admission.
    Api,
    /// A peer, through AppGossip: never echoed back.
    Gossip,
}

impl Source {
    /// The metrics label of this source.
    pub(super) fn label(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Gossip => "gossip",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_reads_unix_milliseconds() {
        // 2024-01-01 and 2100-01-01 in Unix milliseconds: a clock in seconds, or stuck at a
        // constant, falls outside.
        let now = SystemClock.now_ms();
        assert!(
            (1_704_067_200_000..4_102_444_800_000).contains(&now),
            "{now}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(SystemClock.now_ms() > now, "it moves");
    }
}
