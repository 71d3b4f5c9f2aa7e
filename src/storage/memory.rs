//! An in-memory store for tests and benches: same contract as the durable backends, nothing on
//! disk, and as little cost of its own as the contract allows, since the blocks bench uses it to
//! show the chain's own cost without a store's.

use super::{scan_start, KvStore, PageVisitor, StoreError, WriteBatch};
use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Mutex;

/// Pairs copied per look at the map: the visitor runs without the lock (it may read the store),
/// and a page that stops early copies little more than it visits.
const SCAN_CHUNK: usize = 64;

/// The pairs, and the keys in order for scans.
#[derive(Default)]
struct Map {
    /// Every pair, by key: gets and the updates of existing keys (most of an accept's writes:
    /// the touched accounts) cost a hash lookup, not a walk down a tree of a million keys.
    values: HashMap<Vec<u8>, Vec<u8>, foldhash::fast::RandomState>,
    /// Every key, in order: only a new key or a deleted one changes it.
    order: BTreeSet<Vec<u8>>,
}

/// A hash map and an ordered key set behind a lock.
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
        Ok(self.lock()?.values.get(key).cloned())
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut map = self.lock()?;
        let map = &mut *map;
        for key in batch.deletes {
            if map.values.remove(&key).is_some() {
                map.order.remove(&key);
            }
        }
        // In batch order, so the last put of a key wins.
        for (key, value) in batch.puts {
            match map.values.get_mut(&key) {
                Some(stored) => *stored = value,
                None => {
                    map.order.insert(key.clone());
                    map.values.insert(key, value);
                }
            }
        }
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
            let chunk: Vec<(Vec<u8>, Vec<u8>)> = {
                let map = self.lock()?;
                map.order
                    .range::<Vec<u8>, _>((from, Bound::Unbounded))
                    .take_while(|k| k.starts_with(prefix))
                    // Every ordered key has a value (both change together under the lock).
                    .filter_map(|k| Some((k.clone(), map.values.get(k)?.clone())))
                    .take(SCAN_CHUNK)
                    .collect()
            };
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
