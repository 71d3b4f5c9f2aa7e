//! The embedded store: one redb file, one table. redb gives atomic, crash-safe commits
//! (copy-on-write B-trees with checksummed commit slots), which is what "written once per
//! accepted block, atomically" needs.

use super::{scan_start, KvStore, PageVisitor, StoreError, WriteBatch};
use redb::{Database, ReadableDatabase, TableDefinition};
use std::ops::Bound;
use std::path::Path;

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("transfervm");

/// redb's page cache. Its default (1 GiB) fills as the start-up scan reads every account, so a
/// node with 1M accounts would keep the whole file resident; the chain serves state from its own
/// memory and only writes here, so a small cache costs nothing.
const CACHE_BYTES: usize = 32 << 20;

/// A redb database file holding the chain.
pub struct RedbStore {
    db: Database,
}

/// Wraps a redb error, keeping it as the source.
fn err<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::with_source("redb", e)
}

impl RedbStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if !path.exists() {
            create_fresh(path)?;
        }
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|e| StoreError::with_source(format!("opening {}", path.display()), e))?;
        let txn = db.begin_write().map_err(err)?;
        txn.open_table(TABLE).map_err(err)?;
        txn.commit().map_err(err)?;
        Ok(RedbStore { db })
    }
}

/// Creates an empty database under a temporary name and renames it into place
/// ([`super::fresh`]: a partial file redb refuses to open never sits at `path`).
fn create_fresh(path: &Path) -> Result<(), StoreError> {
    super::fresh::build_then_rename(path, ".creating", |partial| {
        let db = Database::create(partial)
            .map_err(|e| StoreError::with_source(format!("creating {}", partial.display()), e))?;
        let txn = db.begin_write().map_err(err)?;
        txn.open_table(TABLE).map_err(err)?;
        txn.commit().map_err(err)
    })
}

impl KvStore for RedbStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let table = txn.open_table(TABLE).map_err(err)?;
        Ok(table.get(key).map_err(err)?.map(|v| v.value().to_vec()))
    }

    fn write(&self, mut batch: WriteBatch) -> Result<(), StoreError> {
        batch.sort_puts();
        let txn = self.db.begin_write().map_err(err)?;
        {
            let mut table = txn.open_table(TABLE).map_err(err)?;
            for key in &batch.deletes {
                table.remove(key.as_slice()).map_err(err)?;
            }
            for (key, value) in &batch.puts {
                table
                    .insert(key.as_slice(), value.as_slice())
                    .map_err(err)?;
            }
        }
        txn.commit().map_err(err)
    }

    fn scan_prefix_from(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        visit: &mut PageVisitor<'_>,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let table = txn.open_table(TABLE).map_err(err)?;
        let from = scan_start(prefix, start_after);
        // One read transaction: the scan sees one committed state however long it runs.
        for entry in table
            .range::<&[u8]>((from, Bound::Unbounded))
            .map_err(err)?
        {
            let (key, value) = entry.map_err(err)?;
            if !key.value().starts_with(prefix) || visit(key.value(), value.value())?.is_break() {
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
        let path = dir.path().join("chain.redb");
        // What a kill during creation leaves: a partial file, never at the real path.
        let partial = dir.path().join("chain.redb.creating");
        std::fs::write(&partial, b"partial").unwrap();
        super::super::contract_tests::check_durable(&path, &partial, RedbStore::open);
        // A damaged database at the real path is refused, never silently recreated.
        std::fs::write(&path, b"not a database").unwrap();
        assert!(RedbStore::open(&path).is_err());
    }
}
