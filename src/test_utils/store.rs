//! A store that counts the writes reaching it and can be made to fail them, or its reads, for
//! tests of what a chain writes when (a reopen that must write nothing, a backfill cut short by
//! a crash) and of what it reports when its store is gone.

use crate::storage::memory::MemoryStore;
use crate::storage::{KvStore, PageVisitor, StoreError, WriteBatch};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// An in-memory store that counts writes and fails every write after the first
/// `fail_after` (from [`fail_writes_after`](Self::fail_writes_after) on), as a crash between
/// two writes would leave it; reads fail while [`fail_reads`](Self::fail_reads) says so.
pub struct WatchedStore {
    inner: MemoryStore,
    writes: AtomicUsize,
    fail_after: AtomicUsize,
    reads_fail: AtomicBool,
}

impl Default for WatchedStore {
    fn default() -> Self {
        WatchedStore {
            inner: MemoryStore::default(),
            writes: AtomicUsize::new(0),
            fail_after: AtomicUsize::new(usize::MAX),
            reads_fail: AtomicBool::new(false),
        }
    }
}

impl WatchedStore {
    /// Writes that succeeded so far.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    /// Lets `n` more writes succeed, then fails every one after (`usize::MAX`: never fail).
    pub fn fail_writes_after(&self, n: usize) {
        let limit = self.writes().saturating_add(n);
        self.fail_after.store(limit, Ordering::SeqCst);
    }

    /// Fails every read (`get` and scans) from now on, or none again, as a store whose disk
    /// went away would.
    pub fn fail_reads(&self, fail: bool) {
        self.reads_fail.store(fail, Ordering::SeqCst);
    }

    fn check_read(&self) -> Result<(), StoreError> {
        if self.reads_fail.load(Ordering::SeqCst) {
            return Err(StoreError::new("injected read failure"));
        }
        Ok(())
    }
}

impl KvStore for WatchedStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.check_read()?;
        self.inner.get(key)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        if self.writes() >= self.fail_after.load(Ordering::SeqCst) {
            return Err(StoreError::new("injected write failure"));
        }
        self.inner.write(batch)?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn scan_prefix_from(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        visit: &mut PageVisitor<'_>,
    ) -> Result<(), StoreError> {
        self.check_read()?;
        self.inner.scan_prefix_from(prefix, start_after, visit)
    }
}
