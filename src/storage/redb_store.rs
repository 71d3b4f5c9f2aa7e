//! The embedded store: one redb file, one table. redb gives atomic, crash-safe commits
//! (copy-on-write B-trees with checksummed commit slots), which is what "written once per
//! accepted block, atomically" needs.

use super::{KvStore, ScanVisitor, StoreError, WriteBatch};
use redb::{Database, ReadableDatabase, TableDefinition};
use std::path::Path;

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("transfervm");

/// A redb database file holding the chain.
pub struct RedbStore {
    db: Database,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl RedbStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError(format!("creating {}: {e}", dir.display())))?;
        }
        let db = Database::create(path)
            .map_err(|e| StoreError(format!("opening {}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(err)?;
        txn.open_table(TABLE).map_err(err)?;
        txn.commit().map_err(err)?;
        Ok(RedbStore { db })
    }
}

impl KvStore for RedbStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let table = txn.open_table(TABLE).map_err(err)?;
        Ok(table.get(key).map_err(err)?.map(|v| v.value().to_vec()))
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
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

    fn scan_prefix(&self, prefix: &[u8], visit: &mut ScanVisitor<'_>) -> Result<(), StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let table = txn.open_table(TABLE).map_err(err)?;
        for entry in table.range(prefix..).map_err(err)? {
            let (key, value) = entry.map_err(err)?;
            if !key.value().starts_with(prefix) {
                break;
            }
            visit(key.value(), value.value())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meets_the_store_contract_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chain.redb");
        {
            let store = RedbStore::open(&path).unwrap();
            super::super::contract_tests::check(&store);
        }
        let reopened = RedbStore::open(&path).unwrap();
        assert_eq!(
            reopened.get(b"a/3").unwrap().as_deref(),
            Some(&b"three"[..])
        );
    }
}
