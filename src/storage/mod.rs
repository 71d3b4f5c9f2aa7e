//! Key-value storage under the chain: the small contract both backends meet.
//!
//! The chain serves state from memory and touches the store only at start-up (one prefix scan)
//! and once per accepted block (one atomic batch), so the trait stays small and synchronous.
//! Backends: [`redb_store::RedbStore`] (embedded, dev chain and operators), [`memory::MemoryStore`]
//! (tests), and the host's database over rpcdb (in the plugin layer).

pub mod memory;
pub mod redb_store;

use std::sync::Arc;

/// A failed storage operation; the operation changed nothing. It says what was being done and
/// keeps the backend's own error as its source, so a log shows both and code can downcast.
#[derive(Debug, Clone, thiserror::Error)]
#[error("storage error: {context}{}", source_suffix(.source.as_deref()))]
pub struct StoreError {
    /// What was being done ("opening /data/chain.redb", "Get", "a corrupt account key").
    context: String,
    /// The backend's error, shared so a `BlockError` holding this stays `Clone`.
    #[source]
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

fn source_suffix(source: Option<&(dyn std::error::Error + Send + Sync)>) -> String {
    source.map(|s| format!(": {s}")).unwrap_or_default()
}

impl StoreError {
    /// A failure with no underlying error (a poisoned lock, a bad value the visitor found).
    pub fn new(context: impl Into<String>) -> Self {
        StoreError {
            context: context.into(),
            source: None,
        }
    }

    /// A failure of the backend, kept as the source.
    pub fn with_source(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError {
            context: context.into(),
            source: Some(Arc::new(source)),
        }
    }

    /// What was being done when it failed.
    pub fn context(&self) -> &str {
        &self.context
    }
}

/// Two errors are equal when they say the same: errors from different calls are never the same
/// value, and tests compare what a caller would see.
impl PartialEq for StoreError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for StoreError {}

/// Puts and deletes applied all together or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    /// Keys to set.
    pub puts: Vec<(Vec<u8>, Vec<u8>)>,
    /// Keys to remove.
    pub deletes: Vec<Vec<u8>>,
}

impl WriteBatch {
    /// Adds a put.
    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.puts.push((key.into(), value.into()));
    }
}

/// Visitor called for each key-value pair of a prefix scan, in key order.
pub type ScanVisitor<'a> = dyn FnMut(&[u8], &[u8]) -> Result<(), StoreError> + 'a;

/// The storage contract.
pub trait KvStore: Send + Sync {
    /// Reads one key.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Applies a batch atomically and durably.
    fn write(&self, batch: WriteBatch) -> Result<(), StoreError>;
    /// Visits every pair whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, prefix: &[u8], visit: &mut ScanVisitor<'_>) -> Result<(), StoreError>;
    /// A cheap check that the store answers, for health reports.
    fn health(&self) -> Result<(), StoreError> {
        self.get(b"m/health").map(|_| ())
    }
}

#[cfg(test)]
pub(crate) mod contract_tests {
    //! The behaviour every backend must show, run against each one.
    use super::*;

    pub fn check(store: &dyn KvStore) {
        assert_eq!(store.get(b"a/1").unwrap(), None);
        let mut batch = WriteBatch::default();
        batch.put(b"a/2".to_vec(), b"two".to_vec());
        batch.put(b"a/1".to_vec(), b"one".to_vec());
        batch.put(b"b/1".to_vec(), b"other".to_vec());
        store.write(batch).unwrap();
        assert_eq!(store.get(b"a/1").unwrap().as_deref(), Some(&b"one"[..]));
        let mut seen = Vec::new();
        store
            .scan_prefix(b"a/", &mut |k, v| {
                seen.push((k.to_vec(), v.to_vec()));
                Ok(())
            })
            .unwrap();
        assert_eq!(
            seen,
            vec![
                (b"a/1".to_vec(), b"one".to_vec()),
                (b"a/2".to_vec(), b"two".to_vec())
            ]
        );
        let batch = WriteBatch {
            puts: vec![(b"a/3".to_vec(), b"three".to_vec())],
            deletes: vec![b"a/1".to_vec()],
        };
        store.write(batch).unwrap();
        assert_eq!(store.get(b"a/1").unwrap(), None);
        assert_eq!(store.get(b"a/3").unwrap().as_deref(), Some(&b"three"[..]));
        let failing = store.scan_prefix(b"", &mut |_, _| Err(StoreError::new("stop")));
        assert_eq!(failing.unwrap_err().context(), "stop");
        store.health().unwrap();
    }
}
