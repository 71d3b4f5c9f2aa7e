//! The VM's Prometheus metrics: what an operator watches, returned to Luxd by `VM.Gather` and
//! printed by the dev chain. Names are unprefixed: the host adds the chain's own prefix.
//!
//! Every label takes its values from a closed set named in the metric's doc comment (a word per
//! error case, never text from the input), so a hostile peer cannot grow the number of series.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// All metrics of one VM instance.
pub struct Metrics {
    registry: Registry,
    /// Transactions admitted to the mempool, by source (api, gossip).
    pub txs_admitted: IntCounterVec,
    /// Transactions refused, by `source` (`api`, `gossip`) and `reason` (`TxError::reason`:
    /// `malformed`, `wrong_chain`, `bad_signature`, `fee_too_low`, `amount_overflow`,
    /// `insufficient_funds`, `nonce_too_low`, `nonce_gap`, `nonce_taken`, `expired`,
    /// `expiry_too_far`, `mempool_full`, `already_known`): a peer flooding forged transfers
    /// shows as `{source="gossip", reason="bad_signature"}`.
    pub txs_rejected: IntCounterVec,
    /// `AppGossip` messages refused whole, before any transfer in them is looked at, by
    /// `reason` (`GossipError::reason`: `over_cap`, `unsupported_version`, `malformed`,
    /// `malformed_tx`).
    pub gossip_refused: IntCounterVec,
    /// Transactions waiting in the mempool.
    pub mempool_size: IntGauge,
    /// Blocks built by this node.
    pub blocks_built: IntCounter,
    /// Blocks verified (built elsewhere).
    pub blocks_verified: IntCounter,
    /// Block bytes `ParseBlock` refused, by `reason` (`BlockError::reason`; at parse only
    /// `too_large` and `malformed` occur).
    pub blocks_unparsable: IntCounterVec,
    /// Blocks that failed `BlockVerify`, by `reason` (`BlockError::reason`: `malformed`,
    /// `too_large`, `unknown_parent`, `wrong_height`, `bad_timestamp`, `bad_signature`,
    /// `invalid_tx`, `digest_mismatch`, `burned_overflow`, `signature_check_stopped`,
    /// `storage`).
    pub blocks_invalid: IntCounterVec,
    /// Accepts whose store write failed: the block stays processing and `VM.Health` reports
    /// the node unhealthy until an accept succeeds.
    pub accept_failures: IntCounter,
    /// Blocks accepted.
    pub blocks_accepted: IntCounter,
    /// Blocks rejected.
    pub blocks_rejected: IntCounter,
    /// Height of the last accepted block.
    pub accepted_height: IntGauge,
    /// Transactions in accepted blocks.
    pub txs_accepted: IntCounter,
    /// Seconds spent verifying a block.
    pub verify_seconds: Histogram,
    /// Seconds spent accepting (persisting) a block.
    pub accept_seconds: Histogram,
    /// Seconds spent building a block.
    pub build_seconds: Histogram,
}

impl Metrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> Self {
        let registry = Registry::new();
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("valid metric");
            registry
                .register(Box::new(g.clone()))
                .expect("unique metric");
            g
        };
        let histogram = |name: &str, help: &str| {
            let buckets = vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
            ];
            let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
                .expect("valid metric");
            registry
                .register(Box::new(h.clone()))
                .expect("unique metric");
            h
        };
        Metrics {
            txs_admitted: counter_vec(
                "txs_admitted",
                "Transactions admitted to the mempool, by source",
                &["source"],
            ),
            txs_rejected: counter_vec(
                "txs_rejected",
                "Transactions refused, by source and reason",
                &["source", "reason"],
            ),
            gossip_refused: counter_vec(
                "gossip_refused",
                "AppGossip messages refused whole, by reason",
                &["reason"],
            ),
            mempool_size: gauge("mempool_size", "Transactions waiting in the mempool"),
            blocks_built: counter("blocks_built", "Blocks built by this node"),
            blocks_verified: counter(
                "blocks_verified",
                "Blocks built elsewhere and verified here",
            ),
            blocks_unparsable: counter_vec(
                "blocks_unparsable",
                "Block bytes ParseBlock refused, by reason",
                &["reason"],
            ),
            blocks_invalid: counter_vec(
                "blocks_invalid",
                "Blocks that failed verification, by reason",
                &["reason"],
            ),
            accept_failures: counter(
                "accept_failures",
                "Accepts whose store write failed (the block stays processing)",
            ),
            blocks_accepted: counter("blocks_accepted", "Blocks accepted"),
            blocks_rejected: counter("blocks_rejected", "Blocks rejected"),
            accepted_height: gauge("accepted_height", "Height of the last accepted block"),
            txs_accepted: counter("txs_accepted", "Transactions in accepted blocks"),
            verify_seconds: histogram("block_verify_seconds", "Time to verify a block"),
            accept_seconds: histogram("block_accept_seconds", "Time to accept and persist a block"),
            build_seconds: histogram("block_build_seconds", "Time to build a block"),
            registry,
        }
    }

    /// A snapshot of every metric family.
    pub fn gather(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.registry.gather()
    }

    /// The Prometheus text exposition, for the dev chain's `/metrics`.
    pub fn render_text(&self) -> String {
        use prometheus::Encoder;
        let mut out = Vec::new();
        let _ = prometheus::TextEncoder::new().encode(&self.gather(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
