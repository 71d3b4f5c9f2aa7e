//! A tiny HTTP client with full control over method and headers, for the edge cases the RPC
//! client avoids (content types, oversized bodies, the explorer's methods and headers).

#![allow(dead_code)]

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::HeaderMap;
use hyper_util::client::legacy::{connect::HttpConnector, Client as HyperClient};
use hyper_util::rt::TokioExecutor;

/// One answer: status, headers and the body as text.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

pub struct Client(HyperClient<HttpConnector, Full<Bytes>>);

impl Client {
    pub fn new() -> Self {
        Client(HyperClient::builder(TokioExecutor::new()).build(HttpConnector::new()))
    }

    /// Sends `method` to `url`, with a content type when one is given.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let mut request = hyper::Request::builder().method(method).uri(url);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let request = request.body(Full::new(Bytes::from(body))).unwrap();
        let response = self.0.request(request).await.expect("HTTP answer");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// A POST with `content_type`: status and body.
    pub async fn post(&self, url: &str, content_type: &str, body: Vec<u8>) -> (u16, String) {
        let answer = self.send("POST", url, Some(content_type), body).await;
        (answer.status, answer.body)
    }
}
