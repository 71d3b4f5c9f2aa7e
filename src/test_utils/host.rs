//! The host's `messenger.Messenger` and `appsender.AppSender` (its `server_addr`), recording
//! what the plugin sends, and a helper to serve any test gRPC service on loopback.

use crate::pb::appsender::app_sender_server::{AppSender, AppSenderServer};
use crate::pb::appsender::*;
use crate::pb::messenger::messenger_server::{Messenger, MessengerServer};
use crate::pb::messenger::{Message, NotifyRequest, NotifyResponse};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;
use tonic::transport::server::{Router, TcpIncoming};
use tonic::transport::Server;
use tonic::{Request, Response, Status};

/// Serves `router` on a fresh 127.0.0.1 port in a task of the current runtime; returns the
/// address and the task (abort it to stop serving). A fresh port per server lets tests run in
/// parallel without sharing anything.
pub async fn serve_on_loopback(router: Router) -> (String, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("bound address").to_string();
    let task = tokio::spawn(async move {
        let _ = router
            .serve_with_incoming(TcpIncoming::from(listener))
            .await;
    });
    (addr, task)
}

/// What the plugin sent to the host: `Messenger.Notify` calls and `SendAppGossip` payloads.
/// It can also answer Notify the way a busy host does, to test that the plugin shrugs it off.
pub struct RecordingHost {
    notifies: AtomicUsize,
    full_queue_from: AtomicUsize,
    gossip: Mutex<Vec<Vec<u8>>>,
}

impl Default for RecordingHost {
    fn default() -> Self {
        RecordingHost {
            notifies: AtomicUsize::new(0),
            full_queue_from: AtomicUsize::new(usize::MAX),
            gossip: Mutex::new(Vec::new()),
        }
    }
}

impl RecordingHost {
    /// `Messenger.Notify` calls so far (answered or not).
    pub fn notifies(&self) -> usize {
        self.notifies.load(Ordering::SeqCst)
    }

    /// Every `SendAppGossip` payload so far.
    pub fn gossip(&self) -> Vec<Vec<u8>> {
        self.gossip.lock().unwrap().clone()
    }

    /// From the `n`-th Notify call on (counting from 0), answer with the host's "full message
    /// queue" error, as its one-slot channel does when a request is already queued.
    pub fn answer_full_queue_from(&self, n: usize) {
        self.full_queue_from.store(n, Ordering::SeqCst);
    }

    /// Serves Messenger and AppSender on one fresh loopback port (see [`serve_on_loopback`]).
    pub async fn serve(self: &Arc<Self>) -> (String, JoinHandle<()>) {
        let router = Server::builder()
            .add_service(MessengerServer::new(self.clone()))
            .add_service(AppSenderServer::new(self.clone()));
        serve_on_loopback(router).await
    }
}

#[tonic::async_trait]
impl Messenger for Arc<RecordingHost> {
    async fn notify(&self, r: Request<NotifyRequest>) -> Result<Response<NotifyResponse>, Status> {
        assert_eq!(r.into_inner().message, Message::BuildBlock as i32);
        if self.notifies.fetch_add(1, Ordering::SeqCst)
            >= self.full_queue_from.load(Ordering::SeqCst)
        {
            // The host's exact words (avalanchego's messenger server, errFullQueue).
            return Err(Status::unknown("full message queue"));
        }
        Ok(Response::new(NotifyResponse {}))
    }
}

#[tonic::async_trait]
impl AppSender for Arc<RecordingHost> {
    async fn send_app_request(
        &self,
        _: Request<SendAppRequestMsg>,
    ) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
    async fn send_app_response(
        &self,
        _: Request<SendAppResponseMsg>,
    ) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
    async fn send_app_gossip(&self, r: Request<SendAppGossipMsg>) -> Result<Response<()>, Status> {
        self.gossip.lock().unwrap().push(r.into_inner().msg);
        Ok(Response::new(()))
    }
    async fn send_app_gossip_specific(
        &self,
        _: Request<SendAppGossipSpecificMsg>,
    ) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
    async fn send_cross_chain_app_request(
        &self,
        _: Request<SendCrossChainAppRequestMsg>,
    ) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
    async fn send_cross_chain_app_response(
        &self,
        _: Request<SendCrossChainAppResponseMsg>,
    ) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
}
