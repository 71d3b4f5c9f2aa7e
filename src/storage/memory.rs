//! An in-memory store for tests: same contract as the durable backends, nothing on disk.

use super::{scan_start, KvStore, PageVisitor, StoreError, WriteBatch};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Mutex;

/// Pairs copied per look at the map: the visitor runs without the lock (it may read the store),
/// and a page that stops early copies little more than it visits.
const SCAN_CHUNK: usize = 64;

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

    fn write(&self, mut batch: WriteBatch) -> Result<(), StoreError> {
        batch.sort_puts();
        let mut map = self.lock()?;
        for key in batch.deletes {
            map.remove(&key);
        }
        map.extend(batch.puts);
        Ok(())
    }

    fn scan_prefix_from(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        visit: &mut PageVisitor<'_>,
    ) -> Result<(), StoreError> {
        let mut from = scan_start(prefix, start_after).map(<[u8]>::to_vec);
        loop {
            let chunk: Vec<(Vec<u8>, Vec<u8>)> = self
                .lock()?
                .range((from, Bound::Unbounded))
                .take_while(|(k, _)| k.starts_with(prefix))
                .take(SCAN_CHUNK)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let Some((last, _)) = chunk.last() else {
                return Ok(());
            };
            from = Bound::Excluded(last.clone());
            let full = chunk.len() == SCAN_CHUNK;
            for (k, v) in &chunk {
                if visit(k, v)?.is_break() {
                    return Ok(());
                }
            }
            if !full {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn meets_the_store_contract() {
        super::super::contract_tests::check(&super::MemoryStore::default());
    }
}
