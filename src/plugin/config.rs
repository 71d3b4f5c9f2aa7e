//! The chain config: the JSON an operator puts in Luxd's chain config file, which the host
//! passes as `InitializeRequest.config_bytes` (empty when there is none).
//!
//! Keys (all optional, unknown keys are refused so a typo is not silently ignored):
//!
//! ```json
//! {
//!   "mempool": {"maxTxs": 200000, "maxBytes": 39400000, "maxPerSender": 4096, "maxNonceGap": 4096},
//!   "blockCache": 512,
//!   "maxRememberedStatuses": 100000,
//!   "logLevel": "info",
//!   "accountHistory": false
//! }
//! ```
//!
//! `accountHistory: true` keeps the index behind `transfervm.accountTransfers`; turned on for a
//! chain with blocks, it is built from the stored blocks at the next start.

use crate::chain::mempool::MempoolLimits;
use crate::chain::{ChainConfig, Id};
use serde::Deserialize;
use std::sync::OnceLock;
use tracing::{info, warn};

/// Applies a log level (`trace` … `error`, `off`) named in the chain config. The binary owns
/// the tracing subscriber, so it installs this hook (e.g. around a reload handle) when it can.
pub type LogLevelHook = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

static LOG_LEVEL_HOOK: OnceLock<LogLevelHook> = OnceLock::new();

/// Installs the hook that applies `logLevel` from the chain config. Returns `false` when one
/// was installed already (the first one stays).
pub fn set_log_level_hook(hook: LogLevelHook) -> bool {
    LOG_LEVEL_HOOK.set(hook).is_ok()
}

const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// The parsed chain config.
/// Summary interval when the chain config names none: a summary every 1024 accepted blocks.
pub(crate) const DEFAULT_SUMMARY_INTERVAL: u64 = 1024;

/// The chain config's `stateSync` object.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct StateSyncConfig {
    /// Whether this node asks the host to state-sync it (`StateSyncEnabled`); off, a node
    /// that joins replays every block from genesis.
    #[serde(default)]
    pub(crate) enabled: bool,
    /// Keep the state servable at every accepted height that is a multiple of this
    /// (default [`DEFAULT_SUMMARY_INTERVAL`]). The same on every node of a chain: validators
    /// vote on summaries by height.
    #[serde(default)]
    pub(crate) summary_interval: Option<u64>,
    /// Skip (replay instead) a summary fewer than this many blocks ahead of the node's last
    /// accepted block (default: the summary interval).
    #[serde(default)]
    pub(crate) min_blocks_ahead: Option<u64>,
}

impl StateSyncConfig {
    /// The interval in force.
    pub(crate) fn interval(&self) -> u64 {
        self.summary_interval.unwrap_or(DEFAULT_SUMMARY_INTERVAL)
    }

    /// The least lead a summary needs to be synced to.
    pub(crate) fn min_blocks_ahead(&self) -> u64 {
        self.min_blocks_ahead.unwrap_or_else(|| self.interval())
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PluginConfig {
    /// Mempool caps (each field optional; defaults otherwise).
    #[serde(default)]
    pub(crate) mempool: Option<MempoolLimits>,
    /// Accepted blocks kept in memory for quick `GetBlock`.
    #[serde(default)]
    pub(crate) block_cache: Option<usize>,
    /// Final transaction statuses remembered for `txStatus`.
    #[serde(default)]
    pub(crate) max_remembered_statuses: Option<usize>,
    /// Log level for the plugin's output.
    #[serde(default)]
    pub(crate) log_level: Option<String>,
    /// Keep the account-history index (off unless set).
    #[serde(default)]
    pub(crate) account_history: Option<bool>,
    /// State sync: whether to sync, how often to keep a summary, what lead is worth it.
    #[serde(default)]
    pub(crate) state_sync: StateSyncConfig,
}

impl PluginConfig {
    /// Parses `config_bytes`; empty (or blank) bytes mean "all defaults".
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, String> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(PluginConfig::default());
        }
        const EXPECTED: &str = "expected a JSON object with optional keys mempool {maxTxs, \
                                maxBytes, maxPerSender, maxNonceGap}, blockCache, \
                                maxRememberedStatuses, logLevel, accountHistory, stateSync {enabled, \
                                summaryInterval, minBlocksAhead}";
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| format!("invalid chain config (config_bytes): {e}; {EXPECTED}"))?;
        if !value.is_object() {
            return Err(format!(
                "invalid chain config (config_bytes): not a JSON object; {EXPECTED}"
            ));
        }
        let config: PluginConfig = serde_json::from_value(value)
            .map_err(|e| format!("invalid chain config (config_bytes): {e}; {EXPECTED}"))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(m) = &self.mempool {
            if m.max_txs == 0 || m.max_bytes == 0 || m.max_per_sender == 0 {
                return Err(
                    "invalid chain config: mempool maxTxs, maxBytes and maxPerSender must be above 0"
                        .into(),
                );
            }
        }
        if self.state_sync.summary_interval == Some(0) {
            return Err("invalid chain config: stateSync summaryInterval must be above 0".into());
        }
        if let Some(level) = &self.log_level {
            if !LOG_LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
                return Err(format!(
                    "invalid chain config: logLevel {level:?} is not one of {}",
                    LOG_LEVELS.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The chain settings for `network_id` / `chain_id` with this config applied.
    pub(crate) fn chain_config(&self, network_id: u32, chain_id: Id) -> ChainConfig {
        let mut config = ChainConfig::new(network_id, chain_id);
        if let Some(mempool) = &self.mempool {
            config.mempool = mempool.clone();
        }
        if let Some(n) = self.block_cache {
            config.block_cache = n;
        }
        if let Some(n) = self.max_remembered_statuses {
            config.max_remembered_statuses = n;
        }
        if let Some(on) = self.account_history {
            config.account_history = on;
        }
        config.summary_interval = Some(self.state_sync.interval());
        config
    }

    /// Applies `logLevel` through the binary's hook, if both are present.
    pub(crate) fn apply_log_level(&self) {
        let Some(level) = &self.log_level else { return };
        let level = level.to_ascii_lowercase();
        match LOG_LEVEL_HOOK.get() {
            Some(hook) => match hook(&level) {
                Ok(()) => info!("log level set to {level} by the chain config"),
                Err(e) => warn!("cannot apply logLevel {level:?} from the chain config: {e}"),
            },
            None => warn!(
                "the chain config asks for logLevel {level:?}, but this binary cannot change its \
                 log level at run time; set TRANSFERVM_LOG instead"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_default() {
        assert_eq!(PluginConfig::parse(b"").unwrap(), PluginConfig::default());
        assert_eq!(
            PluginConfig::parse(b" \n").unwrap(),
            PluginConfig::default()
        );
        assert_eq!(PluginConfig::parse(b"{}").unwrap(), PluginConfig::default());
    }

    #[test]
    fn keys_are_read_and_applied() {
        let config = PluginConfig::parse(
            br#"{"mempool": {"maxTxs": 10}, "blockCache": 3, "logLevel": "DEBUG"}"#,
        )
        .unwrap();
        let chain = config.chain_config(7, Id([1; 32]));
        assert_eq!(chain.mempool.max_txs, 10);
        assert_eq!(
            chain.mempool.max_per_sender,
            MempoolLimits::default().max_per_sender
        );
        assert_eq!(chain.block_cache, 3);
        assert_eq!(chain.network_id, 7);
        assert!(!chain.account_history, "history is off unless asked for");
        let on = PluginConfig::parse(br#"{"accountHistory": true}"#).unwrap();
        assert!(on.chain_config(7, Id([1; 32])).account_history);
        let off = PluginConfig::parse(br#"{"accountHistory": false}"#).unwrap();
        assert!(!off.chain_config(7, Id([1; 32])).account_history);
    }

    #[test]
    fn state_sync_is_off_by_default_and_summaries_are_kept_every_1024_blocks() {
        let default = PluginConfig::parse(b"{}").unwrap();
        assert!(!default.state_sync.enabled);
        assert_eq!(
            default.chain_config(7, Id([1; 32])).summary_interval,
            Some(DEFAULT_SUMMARY_INTERVAL)
        );
        assert_eq!(
            default.state_sync.min_blocks_ahead(),
            DEFAULT_SUMMARY_INTERVAL
        );
        let on = PluginConfig::parse(
            br#"{"stateSync": {"enabled": true, "summaryInterval": 64, "minBlocksAhead": 10}}"#,
        )
        .unwrap();
        assert!(on.state_sync.enabled);
        assert_eq!(on.chain_config(7, Id([1; 32])).summary_interval, Some(64));
        assert_eq!(on.state_sync.min_blocks_ahead(), 10);
        let zero = PluginConfig::parse(br#"{"stateSync": {"summaryInterval": 0}}"#).unwrap_err();
        assert!(zero.contains("summaryInterval"), "{zero}");
        let unknown = PluginConfig::parse(br#"{"stateSync": {"enable": true}}"#).unwrap_err();
        assert!(unknown.contains("unknown field `enable`"), "{unknown}");
    }

    #[test]
    fn mistakes_are_refused_clearly() {
        let unknown = PluginConfig::parse(br#"{"mempol": {}}"#).unwrap_err();
        assert!(unknown.contains("unknown field `mempol`"), "{unknown}");
        assert!(PluginConfig::parse(br#"{"logLevel": "loud"}"#)
            .unwrap_err()
            .contains("logLevel"));
        assert!(PluginConfig::parse(br#"{"mempool": {"maxTxs": 0}}"#).is_err());
        assert!(PluginConfig::parse(b"not json").is_err());
        assert!(PluginConfig::parse(b"[]").is_err());
        let mistyped = PluginConfig::parse(br#"{"accountHistory": "yes"}"#).unwrap_err();
        assert!(mistyped.contains("accountHistory"), "{mistyped}");
        let misspelt = PluginConfig::parse(br#"{"accountHistroy": true}"#).unwrap_err();
        assert!(
            misspelt.contains("accountHistory"),
            "the error lists it: {misspelt}"
        );
    }
}
