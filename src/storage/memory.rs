//! An in-memory store for tests: same contract as the durable backends, nothing on disk.

use super::{KvStore, ScanVisitor, StoreError, WriteBatch};
use std::collections::BTreeMap;
use std::sync::Mutex;

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// A `BTreeMap` behind a lock.
#[derive(Default)]
pub struct MemoryStore {
    map: Mutex<Map>,
}

impl MemoryStore {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Map>, StoreError> {
        self.map
            .lock()
            .map_err(|_| StoreError::new("memory store lock poisoned"))
    }
}

impl KvStore for MemoryStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock()?.get(key).cloned())
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut map = self.lock()?;
        for key in batch.deletes {
            map.remove(&key);
        }
        map.extend(batch.puts);
        Ok(())
    }

    fn scan_prefix(&self, prefix: &[u8], visit: &mut ScanVisitor<'_>) -> Result<(), StoreError> {
        let snapshot: Vec<(Vec<u8>, Vec<u8>)> = self
            .lock()?
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in snapshot {
            visit(&k, &v)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn meets_the_store_contract() {
        super::super::contract_tests::check(&super::MemoryStore::default());
    }
}
