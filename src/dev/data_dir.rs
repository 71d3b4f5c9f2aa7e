//! What a dev chain keeps in its data directory: the store, and how a directory written by an
//! older transfervm is carried forward.
//!
//! The store is a fjall database (`chain.fjall`): an accept writes tens of thousands of random
//! keys, which an LSM appends to its journal where redb (`chain.redb`, the former store) copied
//! a page per key (BENCHMARKS.md, issue #11, "What changed for it"). A directory holding only the redb file
//! is copied into a new fjall store once, on the first start after the upgrade.

use crate::storage::fjall_store::FjallStore;
use crate::storage::redb_store::RedbStore;
use crate::storage::{build_then_rename, KvStore, StoreError, WriteBatch};
use std::path::Path;

/// The store's directory inside the data directory.
const STORE: &str = "chain.fjall";
/// The former store file (redb), read once to carry an existing dev chain forward.
const LEGACY_REDB: &str = "chain.redb";
/// Pairs per batch while copying a legacy store: bounded memory whatever its size.
const COPY_BATCH: usize = 50_000;

/// Opens the dev chain's store in `data_dir`, creating it, or first copying a legacy redb
/// store into it.
pub(crate) fn open_store(data_dir: &Path) -> Result<FjallStore, StoreError> {
    let path = data_dir.join(STORE);
    let legacy = data_dir.join(LEGACY_REDB);
    let exists = path.exists();
    tracing::debug!(target: super::PHASE_LOG_TARGET, exists, "opening the store");
    if !exists && legacy.exists() {
        migrate_redb(&legacy, &path)?;
    }
    if !path.exists() {
        tracing::debug!(target: super::PHASE_LOG_TARGET, "creating the store");
    }
    FjallStore::open(&path)
}

/// Copies every pair of the redb store at `legacy` into a new fjall store at `path`. The copy
/// is built under a temporary name and renamed into place when complete, so a start killed
/// half-way copies again from the start; the redb file is left as it was.
fn migrate_redb(legacy: &Path, path: &Path) -> Result<(), StoreError> {
    tracing::info!(
        from = %legacy.display(),
        to = %path.display(),
        "copying the dev chain's redb store into its new store (once)"
    );
    build_then_rename(path, ".migrating", |partial| {
        let from = RedbStore::open(legacy)?;
        let to = FjallStore::open(partial)?;
        let mut batch = WriteBatch::default();
        from.scan_prefix(b"", &mut |key, value| {
            batch.put(key, value);
            if batch.puts.len() >= COPY_BATCH {
                to.write(std::mem::take(&mut batch))?;
            }
            Ok(())
        })?;
        to.write(batch)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_legacy_redb_directory_is_carried_forward_whole() {
        let dir = tempfile::tempdir().unwrap();
        {
            let legacy = RedbStore::open(&dir.path().join(LEGACY_REDB)).unwrap();
            // More pairs than one copy batch, so the chunking is exercised.
            let mut batch = WriteBatch::default();
            for i in 0..(COPY_BATCH as u32 + 7) {
                batch.put(format!("a/{i:08}").into_bytes(), i.to_be_bytes().to_vec());
            }
            batch.put(b"m/last".to_vec(), b"tip".to_vec());
            legacy.write(batch).unwrap();
        }
        // A copy killed half-way is started over.
        std::fs::create_dir_all(dir.path().join("chain.fjall.migrating/junk")).unwrap();
        let store = open_store(dir.path()).unwrap();
        assert_eq!(store.get(b"m/last").unwrap(), Some(b"tip".to_vec()));
        let mut count = 0u32;
        store
            .scan_prefix(b"a/", &mut |key, value| {
                assert_eq!(key, format!("a/{count:08}").as_bytes());
                assert_eq!(value, count.to_be_bytes());
                count += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(count, COPY_BATCH as u32 + 7);
        assert!(!dir.path().join("chain.fjall.migrating").exists());
        drop(store);
        // Once copied, the new store is the chain: a write there is not undone by the redb file.
        let store = open_store(dir.path()).unwrap();
        let mut batch = WriteBatch::default();
        batch.put(b"m/last".to_vec(), b"newer".to_vec());
        store.write(batch).unwrap();
        drop(store);
        let store = open_store(dir.path()).unwrap();
        assert_eq!(store.get(b"m/last").unwrap(), Some(b"newer".to_vec()));
    }
}
