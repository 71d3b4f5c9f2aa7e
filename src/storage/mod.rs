//! Key-value storage under the chain: the small contract every backend meets.
//!
//! The chain serves state from memory and touches the store only at start-up (one prefix scan),
//! once per accepted block (one atomic batch) and for account-history pages (a resumable prefix
//! scan that stops after a page), so the trait stays small and synchronous.
//! Backends: [`fjall_store::FjallStore`] (embedded LSM, the dev chain's), [`redb_store::RedbStore`]
//! (embedded B-tree, the dev chain's former store), [`memory::MemoryStore`]
//! (tests), and the host's database over rpcdb (in the plugin layer).

pub mod fjall_store;
mod fresh;
pub mod memory;
pub mod redb_store;

use std::ops::{Bound, ControlFlow};
use std::sync::Arc;

pub(crate) use fresh::build_then_rename;

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

    /// Sorts the puts by key, keeping the order of puts of the same key (the last still wins).
    /// A block's batch is tens of thousands of random keys; inserted in key order, each one
    /// descends the B-tree along the path the previous one left in cache, instead of a
    /// random path through millions of keys.
    pub fn sort_puts(&mut self) {
        self.puts.sort_by(|a, b| a.0.cmp(&b.0));
    }
}

/// Visitor called for each key-value pair of a prefix scan, in key order.
pub type ScanVisitor<'a> = dyn FnMut(&[u8], &[u8]) -> Result<(), StoreError> + 'a;

/// Visitor of a resumable scan: says after each pair whether to go on, so a page of 25 reads
/// 25 pairs (and the one after), not the whole prefix.
pub type PageVisitor<'a> = dyn FnMut(&[u8], &[u8]) -> Result<ControlFlow<()>, StoreError> + 'a;

/// Where a scan of `prefix` starting after `start_after` begins, the same for every backend: after
/// the start key when it is inside or past the prefix, else at the prefix itself.
pub fn scan_start<'a>(prefix: &'a [u8], start_after: Option<&'a [u8]>) -> Bound<&'a [u8]> {
    match start_after {
        Some(after) if after >= prefix => Bound::Excluded(after),
        _ => Bound::Included(prefix),
    }
}

/// The storage contract.
pub trait KvStore: Send + Sync {
    /// Reads one key.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Applies a batch atomically and durably.
    fn write(&self, batch: WriteBatch) -> Result<(), StoreError>;
    /// Visits, in key order, the pairs whose key starts with `prefix` and comes strictly after
    /// `start_after` (all of them when `None`), until the visitor breaks: what a cursor over a
    /// long prefix (an account's history) needs.
    fn scan_prefix_from(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        visit: &mut PageVisitor<'_>,
    ) -> Result<(), StoreError>;
    /// Visits every pair whose key starts with `prefix`, in key order: the whole-prefix case of
    /// [`scan_prefix_from`](Self::scan_prefix_from), so each backend writes its scan once.
    fn scan_prefix(&self, prefix: &[u8], visit: &mut ScanVisitor<'_>) -> Result<(), StoreError> {
        self.scan_prefix_from(prefix, None, &mut |k, v| {
            visit(k, v).map(|()| ControlFlow::Continue(()))
        })
    }
    /// A cheap check that the store answers, for health reports.
    fn health(&self) -> Result<(), StoreError> {
        self.get(b"m/health").map(|_| ())
    }
}

#[cfg(test)]
pub(crate) mod contract_tests {
    //! The behaviour every backend must show, run against each one.
    use super::*;
    use std::path::Path;

    /// What a durable backend must show beyond [`check`]: opened at `path` where a killed first
    /// start left `leftover` (a partial database, which the caller has written), it opens, the
    /// leftover is gone, and the contract's writes survive a reopen.
    pub fn check_durable<S: KvStore>(
        path: &Path,
        leftover: &Path,
        open: impl Fn(&Path) -> Result<S, StoreError>,
    ) {
        assert!(leftover.exists(), "the caller leaves a partial database");
        {
            let store = open(path).unwrap();
            assert!(!leftover.exists());
            check(&store);
        }
        let reopened = open(path).unwrap();
        assert_eq!(
            reopened.get(b"a/3").unwrap().as_deref(),
            Some(&b"three"[..])
        );
    }

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
        // Puts of one key in one batch: the last wins, whatever order a backend inserts in.
        let mut batch = WriteBatch::default();
        for value in [&b"first"[..], b"second", b"last"] {
            batch.put(b"a/4".to_vec(), value.to_vec());
            batch.put(b"a/0".to_vec(), value.to_vec());
        }
        store.write(batch).unwrap();
        assert_eq!(store.get(b"a/4").unwrap().as_deref(), Some(&b"last"[..]));
        assert_eq!(store.get(b"a/0").unwrap().as_deref(), Some(&b"last"[..]));
        store
            .write(WriteBatch {
                puts: vec![],
                deletes: vec![b"a/4".to_vec(), b"a/0".to_vec()],
            })
            .unwrap();
        let failing = store.scan_prefix(b"", &mut |_, _| Err(StoreError::new("stop")));
        assert_eq!(failing.unwrap_err().context(), "stop");
        store.health().unwrap();
        check_resumable_scans(store);
    }

    /// Keys visited by `scan_prefix_from(prefix, start_after)` when the visitor stops after
    /// `take` pairs.
    fn page(store: &dyn KvStore, prefix: &[u8], after: Option<&[u8]>, take: usize) -> Vec<Vec<u8>> {
        let mut seen = Vec::new();
        store
            .scan_prefix_from(prefix, after, &mut |k, _| {
                seen.push(k.to_vec());
                Ok(match seen.len() < take {
                    true => ControlFlow::Continue(()),
                    false => ControlFlow::Break(()),
                })
            })
            .unwrap();
        seen
    }

    /// Start-after is exclusive, stays inside the prefix, and an early stop stops.
    fn check_resumable_scans(store: &dyn KvStore) {
        let mut batch = WriteBatch::default();
        for i in 0..7u8 {
            batch.put(vec![b'p', b'/', i], vec![i]);
        }
        // Neighbours on both sides that no scan of `p/` may visit.
        batch.put(b"p".to_vec(), b"before".to_vec());
        batch.put(b"p0".to_vec(), b"after".to_vec());
        store.write(batch).unwrap();
        let key = |i: u8| vec![b'p', b'/', i];
        let all: Vec<Vec<u8>> = (0..7).map(key).collect();
        assert_eq!(page(store, b"p/", None, usize::MAX), all);
        // Early stop: exactly `take` pairs, whichever backend (the rpcdb one reads in batches).
        assert_eq!(page(store, b"p/", None, 3), all[..3]);
        // Resuming after the last key of a page gives the next page, never the key again.
        assert_eq!(page(store, b"p/", Some(&key(2)), 3), all[3..6]);
        assert_eq!(page(store, b"p/", Some(&key(5)), 3), all[6..]);
        assert_eq!(page(store, b"p/", Some(&key(6)), 3), Vec::<Vec<u8>>::new());
        // A start key that is not stored resumes at the next one that is.
        assert_eq!(page(store, b"p/", Some(&[b'p', b'/', 2, 0]), 2), all[3..5]);
        // A start key before the prefix starts at the prefix; one past it visits nothing.
        assert_eq!(page(store, b"p/", Some(b"a"), usize::MAX), all);
        assert_eq!(
            page(store, b"p/", Some(b"q"), usize::MAX),
            Vec::<Vec<u8>>::new()
        );
        let failing = store.scan_prefix_from(b"p/", Some(&key(1)), &mut |_, _| {
            Err(StoreError::new("stop"))
        });
        assert_eq!(failing.unwrap_err().context(), "stop");
    }
}
