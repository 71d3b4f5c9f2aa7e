//! The embedded log-structured store: one fjall database (an LSM tree with a write-ahead
//! journal), one keyspace. An accept writes tens of thousands of random keys (every touched
//! account, one transfer-index entry per transfer); a copy-on-write B-tree copies a page per
//! random key, where an LSM appends them to its journal and sorts them in memory, merging to
//! disk later in the background.

use super::{scan_start, KvStore, PageVisitor, StoreError, WriteBatch};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable};
use std::ops::Bound;
use std::path::Path;

/// fjall's block cache. The chain serves state from its own memory and reads the store only at
/// start-up and for account-history pages, so a small cache costs nothing.
const CACHE_BYTES: u64 = 32 << 20;

/// The keyspace holding the chain (the store's whole contents).
const KEYSPACE: &str = "transfervm";

/// A fjall database directory holding the chain.
pub struct FjallStore {
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
        Self::open_existing(path)
    }

    fn open_existing(path: &Path) -> Result<Self, StoreError> {
        let db = Database::builder(path)
            .cache_size(CACHE_BYTES)
            .open()
            .map_err(|e| StoreError::with_source(format!("opening {}", path.display()), e))?;
        let keyspace = db
            .keyspace(KEYSPACE, KeyspaceCreateOptions::default)
            .map_err(err)?;
        Ok(FjallStore { db, keyspace })
    }
}

/// Creates an empty database under a temporary name and renames it into place
/// ([`super::fresh`]: fjall writes a new database's files one by one and its version marker
/// last, and cannot reopen or recreate a directory killed in between).
fn create_fresh(path: &Path) -> Result<(), StoreError> {
    super::fresh::build_then_rename(path, ".creating", |partial| {
        // Opened and closed: the keyspace is created, and dropping the database waits for its
        // workers, so nothing writes in the directory once it is renamed.
        FjallStore::open_existing(partial).map(drop)
    })
}

impl KvStore for FjallStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.keyspace.get(key).map_err(err)?.map(|v| v.to_vec()))
    }

    fn write(&self, mut batch: WriteBatch) -> Result<(), StoreError> {
        // In key order, each insert into the memtable (a skiplist) descends along the path the
        // previous one left in cache (most of a commit's time is those inserts).
        batch.sort_puts();
        let mut commit = self.db.batch().durability(Some(PersistMode::SyncAll));
        for key in batch.deletes {
            commit.remove(&self.keyspace, key);
        }
        for (key, value) in batch.puts {
            commit.insert(&self.keyspace, key, value);
        }
        commit.commit().map_err(err)
    }

    fn scan_prefix_from(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        visit: &mut PageVisitor<'_>,
    ) -> Result<(), StoreError> {
        let from = scan_start(prefix, start_after);
        // One snapshot: the scan sees one committed state however long it runs.
        let snapshot = self.db.snapshot();
        for guard in snapshot.range::<&[u8], _>(&self.keyspace, (from, Bound::Unbounded)) {
            let (key, value) = guard.into_inner().map_err(err)?;
            if !key.starts_with(prefix) || visit(&key, &value)?.is_break() {
                break;
            }
        }
        Ok(())
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
