//! The host's chain database (`rpcdb.Database` at `db_server_addr`) as a [`KvStore`].
//!
//! The store trait is synchronous (the core is), while gRPC is async. Every call is therefore
//! run as a task on a small runtime owned by the store, and the calling thread waits for the
//! answer on a plain channel. That works from any thread — a `spawn_blocking` thread, a worker
//! of the main runtime (where the wait is wrapped in `block_in_place` so the worker's other
//! tasks move on), even a current-thread runtime — and never calls `block_on` inside a
//! runtime, so "cannot start a runtime from within a runtime" cannot happen.
//!
//! The chain reads the store once at start-up (one prefix scan) and writes it once per
//! accepted block (one `WriteBatch`), so the hop costs nothing that matters. An account-history
//! page is one iterator that is released as soon as the page is full.

use super::grpc;
use crate::pb::rpcdb::database_client::DatabaseClient;
use crate::pb::rpcdb::{
    DeleteRequest, Error as DbError, GetRequest, IteratorErrorRequest, IteratorNextRequest,
    IteratorReleaseRequest, NewIteratorWithStartAndPrefixRequest, PutRequest, WriteBatchRequest,
};
use crate::storage::{scan_start, KvStore, PageVisitor, StoreError, WriteBatch};
use std::future::Future;
use std::ops::Bound;
use std::sync::{mpsc, Mutex};
use std::time::Duration;
use tokio::runtime::{Handle, Runtime, RuntimeFlavor};
use tonic::transport::Channel;
use tracing::debug;

/// Longest a single database call may take before it counts as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The host database.
pub(crate) struct RpcdbStore {
    client: DatabaseClient<Channel>,
    handle: Handle,
    // Held so the client's thread lives as long as the store.
    _runtime: OwnedRuntime,
    addr: String,
}

/// A runtime that shuts down without blocking when dropped: dropping a `Runtime` normally
/// blocks, which panics when it happens inside async code.
struct OwnedRuntime(Mutex<Option<Runtime>>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        let taken = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(runtime) = taken {
            runtime.shutdown_background();
        }
    }
}

/// Why one call to the host database gave no answer.
enum CallFailure {
    /// The host answered with an error status.
    Status(tonic::Status),
    /// The host did not answer in time.
    Timeout(tokio::time::error::Elapsed),
}

fn db_error(code: i32, what: &str) -> Option<StoreError> {
    match DbError::try_from(code) {
        Ok(DbError::Unspecified) => None,
        Ok(DbError::Closed) => Some(StoreError::new(format!(
            "{what}: the host database is closed"
        ))),
        Ok(DbError::NotFound) => Some(StoreError::new(format!("{what}: not found"))),
        Err(_) => Some(StoreError::new(format!(
            "{what}: unknown database error {code}"
        ))),
    }
}

impl RpcdbStore {
    /// Connects to the host's database at `addr`.
    pub(crate) async fn connect(addr: &str) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("rpcdb-client")
            .enable_all()
            .build()
            .map_err(|e| StoreError::with_source("cannot start the database client runtime", e))?;
        let handle = runtime.handle().clone();
        let owned = OwnedRuntime(Mutex::new(Some(runtime)));
        let endpoint = grpc::endpoint(addr).map_err(StoreError::new)?;
        // Connect on the store's runtime so the connection's tasks live there.
        let connected = handle
            .spawn(async move { endpoint.connect().await })
            .await
            .map_err(|e| StoreError::with_source("database connect task failed", e))?;
        let channel = connected.map_err(|e| {
            StoreError::with_source(format!("cannot reach the host database at {addr}"), e)
        })?;
        Ok(RpcdbStore {
            client: grpc::database_client(channel),
            handle,
            _runtime: owned,
            addr: addr.to_string(),
        })
    }

    /// Runs one call on the store's runtime and waits for it from this (synchronous) thread.
    fn call<T, F, Fut>(&self, what: &'static str, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(DatabaseClient<Channel>) -> Fut,
        Fut: Future<Output = Result<T, tonic::Status>> + Send + 'static,
    {
        let (sender, receiver) = mpsc::sync_channel(1);
        let call = f(self.client.clone());
        self.handle.spawn(async move {
            let result = match tokio::time::timeout(CALL_TIMEOUT, call).await {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(status)) => Err(CallFailure::Status(status)),
                Err(elapsed) => Err(CallFailure::Timeout(elapsed)),
            };
            let _ = sender.send(result);
        });
        let wait = move || receiver.recv();
        let received = match Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(wait),
            _ => wait(),
        };
        match received {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(CallFailure::Status(status))) => Err(StoreError::with_source(
                format!("host database {} ({what})", self.addr),
                status,
            )),
            Ok(Err(CallFailure::Timeout(elapsed))) => Err(StoreError::with_source(
                format!(
                    "host database {} ({what}): no answer within {CALL_TIMEOUT:?}",
                    self.addr
                ),
                elapsed,
            )),
            Err(stopped) => Err(StoreError::with_source(
                format!(
                    "host database {} ({what}): the client has stopped",
                    self.addr
                ),
                stopped,
            )),
        }
    }

    fn release_iterator(&self, id: u64) {
        let released = self.call("IteratorRelease", move |mut c| async move {
            c.iterator_release(IteratorReleaseRequest { id })
                .await
                .map(|r| r.into_inner().err)
        });
        match released {
            Ok(code) => {
                if let Some(e) = db_error(code, "IteratorRelease") {
                    debug!("{e}");
                }
            }
            Err(e) => debug!("{e}"),
        }
    }

    /// Visits the iterator's pairs batch by batch until it ends or the visitor breaks; `skip`
    /// is the (inclusive) start key when the caller asked to start after it.
    fn scan_batches(
        &self,
        id: u64,
        prefix: &[u8],
        skip: Option<&[u8]>,
        visit: &mut PageVisitor<'_>,
    ) -> Result<(), StoreError> {
        loop {
            let batch = self.call("IteratorNext", move |mut c| async move {
                c.iterator_next(IteratorNextRequest { id })
                    .await
                    .map(|r| r.into_inner().data)
            })?;
            if batch.is_empty() {
                break;
            }
            for pair in batch {
                // The host filters by prefix; checking again costs nothing.
                if !pair.key.starts_with(prefix) || skip == Some(pair.key.as_slice()) {
                    continue;
                }
                if visit(&pair.key, &pair.value)?.is_break() {
                    return Ok(());
                }
            }
        }
        let code = self.call("IteratorError", move |mut c| async move {
            c.iterator_error(IteratorErrorRequest { id })
                .await
                .map(|r| r.into_inner().err)
        })?;
        match db_error(code, "iterating") {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl KvStore for RpcdbStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.to_vec();
        let response = self.call("Get", move |mut c| async move {
            c.get(GetRequest { key }).await.map(|r| r.into_inner())
        })?;
        match DbError::try_from(response.err) {
            Ok(DbError::Unspecified) => Ok(Some(response.value)),
            Ok(DbError::NotFound) => Ok(None),
            _ => Err(db_error(response.err, "Get").unwrap_or_else(|| StoreError::new("Get"))),
        }
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let request = WriteBatchRequest {
            puts: batch
                .puts
                .into_iter()
                .map(|(key, value)| PutRequest { key, value })
                .collect(),
            deletes: batch
                .deletes
                .into_iter()
                .map(|key| DeleteRequest { key })
                .collect(),
        };
        let code = self.call("WriteBatch", move |mut c| async move {
            c.write_batch(request).await.map(|r| r.into_inner().err)
        })?;
        match db_error(code, "WriteBatch") {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn scan_prefix_from(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        visit: &mut PageVisitor<'_>,
    ) -> Result<(), StoreError> {
        // The host's start key is inclusive: start at it and skip it when it is there.
        let (start, skip) = match scan_start(prefix, start_after) {
            Bound::Excluded(after) => (after, Some(after)),
            Bound::Included(start) => (start, None),
            Bound::Unbounded => (prefix, None),
        };
        let request = NewIteratorWithStartAndPrefixRequest {
            start: start.to_vec(),
            prefix: prefix.to_vec(),
        };
        let id = self.call("NewIteratorWithStartAndPrefix", move |mut c| async move {
            c.new_iterator_with_start_and_prefix(request)
                .await
                .map(|r| r.into_inner().id)
        })?;
        let result = self.scan_batches(id, prefix, skip, visit);
        // Released whether the scan ended, broke early or failed.
        self.release_iterator(id);
        result
    }

    fn health(&self) -> Result<(), StoreError> {
        self.call("HealthCheck", |mut c| async move {
            c.health_check(()).await.map(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::MemDb;
    use std::sync::Arc;

    /// A fresh host database served from its own thread, so a test may block its own runtime.
    fn start_db() -> (String, MemDb) {
        let db = MemDb::default();
        (db.serve_on_own_thread(), db)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn meets_the_store_contract_from_any_thread() {
        let (addr, db) = start_db();
        let store = Arc::new(RpcdbStore::connect(&addr).await.unwrap());
        // From a blocking thread.
        let s = store.clone();
        tokio::task::spawn_blocking(move || crate::storage::contract_tests::check(&*s))
            .await
            .unwrap();
        assert_eq!(db.open_iterators(), 0, "iterators are released");
        // From a runtime worker (block_in_place path).
        assert_eq!(store.get(b"a/3").unwrap().as_deref(), Some(&b"three"[..]));
        store.health().unwrap();
        // Dropping inside async code must not panic.
        drop(store);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn works_and_drops_on_a_current_thread_runtime() {
        let (addr, _db) = start_db();
        let store = RpcdbStore::connect(&addr).await.unwrap();
        let mut batch = WriteBatch::default();
        batch.put(b"k".to_vec(), b"v".to_vec());
        store.write(batch).unwrap();
        assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
        drop(store);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreachable_database_is_an_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        let error = RpcdbStore::connect(&addr)
            .await
            .err()
            .expect("nothing listens there");
        assert!(error.to_string().contains(&addr), "{error}");
    }
}
