//! The embedded log-structured store: one fjall database (an LSM tree with a write-ahead
//! journal), one keyspace. An accept writes tens of thousands of random keys (every touched
//! account, one transfer-index entry per transfer); a copy-on-write B-tree copies a page per
//! random key, where an LSM appends them to its journal and sorts them in memory, merging to
//! disk later in the background.

use super::{scan_start, KvStore, PageVisitor, StoreError, WriteBatch};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

/// fjall's block cache. The chain serves state from its own memory and reads the store only at
/// start-up and for account-history pages, so a small cache costs nothing.
const CACHE_BYTES: u64 = 32 << 20;

/// The keyspace holding the chain (the store's whole contents).
const KEYSPACE: &str = "transfervm";

/// A fjall database directory holding the chain.
///
/// A failed write (a full disk) poisons a fjall database for good: it refuses every later write,
/// and its journal may end in a torn batch. So after a failed write the next write first closes
/// the database and opens it again, which replays the journal up to its last whole batch: once
/// the operator frees space the chain goes on without a restart.
pub struct FjallStore {
    /// The directory, to open the database again after a failed write.
    path: PathBuf,
    /// The open database. Readers hold the read lock for one get or scan; only a reopen takes
    /// the write lock, so no snapshot of the old database outlives it. `None` only when a
    /// reopen failed (the disk still full), until one succeeds.
    open: RwLock<Option<Opened>>,
    /// Set by a failed write: the next write reopens the database first.
    reopen_before_write: AtomicBool,
}

/// An open database and the keyspace the chain lives in.
struct Opened {
    /// The database: owns the journal, the background flush and compaction workers.
    db: Database,
    /// The one keyspace every key lives in (the chain's keys carry their own prefixes).
    keyspace: Keyspace,
}

/// Wraps a fjall error, keeping it as the source.
fn err(e: fjall::Error) -> StoreError {
    StoreError::with_source("fjall", e)
}

impl FjallStore {
    /// Opens (or creates) the store in the directory `path`, recovering the journal of a
    /// process that was killed.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if !path.exists() {
            create_fresh(path)?;
        }
        Ok(FjallStore {
            path: path.to_path_buf(),
            open: RwLock::new(Some(Opened::at(path)?)),
            reopen_before_write: AtomicBool::new(false),
        })
    }

    /// Runs `op` on the open database, read-locked for that one operation.
    fn with_open<R>(
        &self,
        op: impl FnOnce(&Opened) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let guard = self.open.read().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(open) => op(open),
            None => Err(StoreError::new(format!(
                "the database at {} is closed after a failed write and could not be opened \
                 again yet (it is tried at the next write)",
                self.path.display()
            ))),
        }
    }

    /// Closes the database a failed write poisoned and opens it again.
    fn reopen(&self) -> Result<(), StoreError> {
        let mut open = self.open.write().unwrap_or_else(|e| e.into_inner());
        // Dropped first: the old database's workers stop and release its files.
        drop(open.take());
        *open = Some(Opened::at(&self.path)?);
        self.reopen_before_write.store(false, Ordering::Release);
        tracing::info!(path = %self.path.display(), "store opened again after a failed write");
        Ok(())
    }
}

impl Opened {
    fn at(path: &Path) -> Result<Self, StoreError> {
        let db = Database::builder(path)
            .cache_size(CACHE_BYTES)
            .open()
            .map_err(|e| StoreError::with_source(format!("opening {}", path.display()), e))?;
        let keyspace = db
            .keyspace(KEYSPACE, KeyspaceCreateOptions::default)
            .map_err(err)?;
        Ok(Opened { db, keyspace })
    }
}

/// Creates an empty database under a temporary name and renames it into place
/// ([`super::fresh`]: fjall writes a new database's files one by one and its version marker
/// last, and cannot reopen or recreate a directory killed in between).
fn create_fresh(path: &Path) -> Result<(), StoreError> {
    super::fresh::build_then_rename(path, ".creating", |partial| {
        // Opened and closed: the keyspace is created, and dropping the database waits for its
        // workers, so nothing writes in the directory once it is renamed.
        Opened::at(partial).map(drop)
    })
}

impl KvStore for FjallStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_open(|open| Ok(open.keyspace.get(key).map_err(err)?.map(|v| v.to_vec())))
    }

    fn write(&self, mut batch: WriteBatch) -> Result<(), StoreError> {
        if self.reopen_before_write.load(Ordering::Acquire) {
            self.reopen()?;
        }
        // In key order, each insert into the memtable (a skiplist) descends along the path the
        // previous one left in cache (most of a commit's time is those inserts).
        batch.sort_puts();
        self.with_open(|open| {
            let mut commit = open.db.batch().durability(Some(PersistMode::SyncAll));
            for key in batch.deletes {
                commit.remove(&open.keyspace, key);
            }
            for (key, value) in batch.puts {
                commit.insert(&open.keyspace, key, value);
            }
            commit.commit().map_err(|e| {
                self.reopen_before_write.store(true, Ordering::Release);
                err(e)
            })
        })
    }

    fn scan_prefix_from(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        visit: &mut PageVisitor<'_>,
    ) -> Result<(), StoreError> {
        let from = scan_start(prefix, start_after);
        // The read lock is held through the scan, so a reopen waits for it: a visitor must not
        // write to this store after a failed write (the reopen would wait on its own scan).
        self.with_open(|open| {
            // One snapshot: the scan sees one committed state however long it runs.
            let snapshot = open.db.snapshot();
            for guard in snapshot.range::<&[u8], _>(&open.keyspace, (from, Bound::Unbounded)) {
                let (key, value) = guard.into_inner().map_err(err)?;
                if !key.starts_with(prefix) || visit(&key, &value)?.is_break() {
                    break;
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meets_the_store_contract_after_a_killed_creation_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chain.fjall");
        // What a kill during creation leaves: a partial directory, never at the real path.
        let partial = dir.path().join("chain.fjall.creating");
        std::fs::create_dir_all(&partial).unwrap();
        std::fs::write(partial.join("lock"), b"").unwrap();
        std::fs::write(partial.join("0.jnl"), b"partial").unwrap();
        super::super::contract_tests::check_durable(&path, &partial, FjallStore::open);
    }

    #[test]
    fn a_scan_sees_the_state_it_started_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = FjallStore::open(&dir.path().join("chain.fjall")).unwrap();
        let mut batch = WriteBatch::default();
        batch.put(b"h/1".to_vec(), b"one".to_vec());
        batch.put(b"h/3".to_vec(), b"three".to_vec());
        store.write(batch).unwrap();
        let mut seen = Vec::new();
        store
            .scan_prefix(b"h/", &mut |key, value| {
                if seen.is_empty() {
                    // An accept landing mid-scan: a key ahead of the scan, and a changed one.
                    let mut batch = WriteBatch::default();
                    batch.put(b"h/2".to_vec(), b"two".to_vec());
                    batch.put(b"h/3".to_vec(), b"changed".to_vec());
                    store.write(batch)?;
                }
                seen.push((key.to_vec(), value.to_vec()));
                Ok(())
            })
            .unwrap();
        assert_eq!(
            seen,
            vec![
                (b"h/1".to_vec(), b"one".to_vec()),
                (b"h/3".to_vec(), b"three".to_vec())
            ]
        );
        assert_eq!(store.get(b"h/2").unwrap(), Some(b"two".to_vec()));
    }
}
