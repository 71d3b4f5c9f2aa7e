//! The host's chain database (`rpcdb.Database` at `db_server_addr`), in memory.

use super::host::serve_on_loopback;
use crate::pb::rpcdb::database_server::{Database, DatabaseServer};
use crate::pb::rpcdb::*;
use crate::plugin::rpcdb_store::RpcdbStore;
use crate::storage::{KvStore, StoreError};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;
use tonic::{Request, Response, Status};

/// Pairs per `IteratorNext` answer: small, like the Go server's byte-bounded batches, so scans
/// cross batch boundaries.
const ITERATOR_BATCH: usize = 2;

#[derive(Default)]
struct Inner {
    data: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
    iterators: Mutex<HashMap<u64, VecDeque<PutRequest>>>,
    next_iterator: AtomicU64,
    write_batches: AtomicUsize,
    reads: AtomicUsize,
    failing: AtomicBool,
}

/// The host's chain database in memory, counting what the plugin asks of it. Clones share the
/// data, so a restarted plugin can be pointed at the same contents. Single `Put`/`Delete` calls
/// are refused: the plugin must write through atomic `WriteBatch`es.
#[derive(Clone, Default)]
pub struct MemDb(Arc<Inner>);

impl MemDb {
    /// Number of `WriteBatch` calls so far.
    pub fn write_batches(&self) -> usize {
        self.0.write_batches.load(Ordering::SeqCst)
    }

    /// Number of `Get` calls so far.
    pub fn reads(&self) -> usize {
        self.0.reads.load(Ordering::SeqCst)
    }

    /// While set, every call fails as if the host's database were unreachable.
    pub fn set_failing(&self, failing: bool) {
        self.0.failing.store(failing, Ordering::SeqCst);
    }

    /// Number of keys stored.
    pub fn len(&self) -> usize {
        self.0.data.lock().unwrap().len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Iterators not yet released.
    pub fn open_iterators(&self) -> usize {
        self.0.iterators.lock().unwrap().len()
    }

    /// Serves this database on a fresh loopback port in a task of the current runtime.
    pub async fn serve(&self) -> (String, JoinHandle<()>) {
        serve_on_loopback(Server::builder().add_service(DatabaseServer::new(self.clone()))).await
    }

    /// Serves this database on a fresh loopback port from its own thread and runtime, so a test
    /// may block its own runtime (or run a current-thread one) while calling it.
    pub fn serve_on_own_thread(&self) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let served = self.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let _ = Server::builder()
                    .add_service(DatabaseServer::new(served))
                    .serve_with_incoming(TcpIncoming::from(listener))
                    .await;
            });
        });
        addr
    }

    fn check(&self) -> Result<(), Status> {
        if self.0.failing.load(Ordering::SeqCst) {
            return Err(Status::unavailable("injected database failure"));
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl Database for MemDb {
    async fn has(&self, r: Request<HasRequest>) -> Result<Response<HasResponse>, Status> {
        self.check()?;
        let has = self
            .0
            .data
            .lock()
            .unwrap()
            .contains_key(&r.into_inner().key);
        Ok(Response::new(HasResponse { has, err: 0 }))
    }
    async fn get(&self, r: Request<GetRequest>) -> Result<Response<GetResponse>, Status> {
        self.check()?;
        self.0.reads.fetch_add(1, Ordering::SeqCst);
        Ok(Response::new(
            match self.0.data.lock().unwrap().get(&r.into_inner().key) {
                Some(value) => GetResponse {
                    value: value.clone(),
                    err: 0,
                },
                None => GetResponse {
                    value: vec![],
                    err: Error::NotFound as i32,
                },
            },
        ))
    }
    async fn put(&self, _: Request<PutRequest>) -> Result<Response<PutResponse>, Status> {
        Err(Status::unimplemented(
            "the store must write through WriteBatch",
        ))
    }
    async fn delete(&self, _: Request<DeleteRequest>) -> Result<Response<DeleteResponse>, Status> {
        Err(Status::unimplemented(
            "the store must write through WriteBatch",
        ))
    }
    async fn compact(
        &self,
        _: Request<CompactRequest>,
    ) -> Result<Response<CompactResponse>, Status> {
        self.check()?;
        Ok(Response::new(CompactResponse { err: 0 }))
    }
    async fn close(&self, _: Request<CloseRequest>) -> Result<Response<CloseResponse>, Status> {
        self.check()?;
        Ok(Response::new(CloseResponse { err: 0 }))
    }
    async fn health_check(&self, _: Request<()>) -> Result<Response<HealthCheckResponse>, Status> {
        self.check()?;
        Ok(Response::new(HealthCheckResponse {
            details: b"{}".to_vec(),
        }))
    }
    async fn write_batch(
        &self,
        r: Request<WriteBatchRequest>,
    ) -> Result<Response<WriteBatchResponse>, Status> {
        self.check()?;
        let r = r.into_inner();
        let mut data = self.0.data.lock().unwrap();
        for put in r.puts {
            data.insert(put.key, put.value);
        }
        for delete in r.deletes {
            data.remove(&delete.key);
        }
        self.0.write_batches.fetch_add(1, Ordering::SeqCst);
        Ok(Response::new(WriteBatchResponse { err: 0 }))
    }
    async fn new_iterator_with_start_and_prefix(
        &self,
        r: Request<NewIteratorWithStartAndPrefixRequest>,
    ) -> Result<Response<NewIteratorWithStartAndPrefixResponse>, Status> {
        self.check()?;
        let r = r.into_inner();
        let pairs: VecDeque<PutRequest> = self
            .0
            .data
            .lock()
            .unwrap()
            .range(r.start.clone()..)
            .filter(|(k, _)| k.starts_with(&r.prefix))
            .map(|(k, v)| PutRequest {
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        let id = self.0.next_iterator.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.iterators.lock().unwrap().insert(id, pairs);
        Ok(Response::new(NewIteratorWithStartAndPrefixResponse { id }))
    }
    async fn iterator_next(
        &self,
        r: Request<IteratorNextRequest>,
    ) -> Result<Response<IteratorNextResponse>, Status> {
        self.check()?;
        let mut iterators = self.0.iterators.lock().unwrap();
        let pairs = iterators
            .get_mut(&r.into_inner().id)
            .ok_or_else(|| Status::not_found("unknown iterator"))?;
        let take = pairs.len().min(ITERATOR_BATCH);
        Ok(Response::new(IteratorNextResponse {
            data: pairs.drain(..take).collect(),
        }))
    }
    async fn iterator_error(
        &self,
        _: Request<IteratorErrorRequest>,
    ) -> Result<Response<IteratorErrorResponse>, Status> {
        self.check()?;
        Ok(Response::new(IteratorErrorResponse { err: 0 }))
    }
    async fn iterator_release(
        &self,
        r: Request<IteratorReleaseRequest>,
    ) -> Result<Response<IteratorReleaseResponse>, Status> {
        self.check()?;
        self.0.iterators.lock().unwrap().remove(&r.into_inner().id);
        Ok(Response::new(IteratorReleaseResponse { err: 0 }))
    }
}

/// The plugin's own rpcdb client — the store it runs on under Luxd, built as
/// `plugin::initialize` builds it — connected to the host database at `addr`: benches and
/// tests against the real host's rpcdb server (`tests/host/cmd/rpcdbserver`) measure the
/// client the plugin ships, not a copy of it.
///
/// Call it outside async code: it waits for the connection on a runtime of its own (the
/// store's calls then run on the store's runtime, as in the plugin).
pub fn rpcdb_store_at(addr: &str) -> Result<Arc<dyn KvStore>, StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::with_source("cannot start a runtime to connect", e))?;
    let store = runtime.block_on(RpcdbStore::connect(addr))?;
    Ok(Arc::new(store))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::WriteBatch;

    #[test]
    fn rpcdb_store_at_connects_the_plugin_client_from_plain_code() {
        let db = MemDb::default();
        let store = rpcdb_store_at(&db.serve_on_own_thread()).unwrap();
        let mut batch = WriteBatch::default();
        batch.put(b"k".to_vec(), b"v".to_vec());
        store.write(batch).unwrap();
        assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(db.write_batches(), 1, "through the host's WriteBatch");
    }
}
