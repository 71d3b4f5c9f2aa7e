//! Generated gRPC/protobuf stubs for the rpcchainvm wire contract: protocol 30
//! (LUX-30, wire-identical to avalanchego v1.10.15–v1.10.17) at the top level, and in
//! [`v35`] the two packages protocol 35 changed.
//!
//! This file only exists to give the generated code a home. The sources are
//! the `.proto` files under `proto/`; `build.rs` compiles them with the
//! pure-Rust `protox` parser and `tonic-prost-build` (no system `protoc`), and
//! the modules below pull the results in from `OUT_DIR`. The module tree
//! mirrors the protobuf package names (`vm.runtime` is `pb::vm::runtime`,
//! `io.prometheus.client` is `pb::io::prometheus::client`, ...) because the
//! generated code refers across packages with relative `super::` paths.
//!
//! Generated modules are exempt from lints; do not edit them by hand, edit
//! `proto/` instead.

/// `package vm`: the VM service the plugin serves to the host.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod vm {
    tonic::include_proto!("vm");

    /// `package vm.runtime`: the start-up handshake served by the host.
    #[allow(clippy::all, clippy::pedantic, missing_docs)]
    pub mod runtime {
        tonic::include_proto!("vm.runtime");
    }
}

/// `package appsender`: host-served outbound app messaging.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod appsender {
    tonic::include_proto!("appsender");
}

/// `package messenger`: host-served engine notifications (build block).
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod messenger {
    tonic::include_proto!("messenger");
}

/// `package http`: HTTP proxying from the node to the VM's handlers.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod http {
    tonic::include_proto!("http");

    /// `package http.responsewriter`: host-served writer for streaming `Handle`.
    #[allow(clippy::all, clippy::pedantic, missing_docs)]
    pub mod responsewriter {
        tonic::include_proto!("http.responsewriter");
    }
}

/// `package rpcdb`: the host-served chain database.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod rpcdb {
    tonic::include_proto!("rpcdb");
}

/// `package aliasreader`: host-served chain alias lookups.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod aliasreader {
    tonic::include_proto!("aliasreader");
}

/// `package keystore`: host-served per-user databases.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod keystore {
    tonic::include_proto!("keystore");
}

/// `package sharedmemory`: host-served cross-chain atomic memory.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod sharedmemory {
    tonic::include_proto!("sharedmemory");
}

/// `package validatorstate`: host-served P-chain validator view.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod validatorstate {
    tonic::include_proto!("validatorstate");
}

/// `package warp`: host-served Warp message signer.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod warp {
    tonic::include_proto!("warp");
}

/// `package io.*`: remote reader/writer and the Prometheus data model.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod io {
    /// `package io.reader`.
    #[allow(clippy::all, clippy::pedantic, missing_docs)]
    pub mod reader {
        tonic::include_proto!("io.reader");
    }

    /// `package io.writer`.
    #[allow(clippy::all, clippy::pedantic, missing_docs)]
    pub mod writer {
        tonic::include_proto!("io.writer");
    }

    /// `package io.prometheus`.
    #[allow(clippy::all, clippy::pedantic, missing_docs)]
    pub mod prometheus {
        /// `package io.prometheus.client` (proto2): metric families for `vm.Gather`.
        #[allow(clippy::all, clippy::pedantic, missing_docs)]
        pub mod client {
            tonic::include_proto!("io.prometheus.client");
        }
    }
}

/// `package net.*`: remote network connections.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod net {
    /// `package net.conn`: a remote `net.Conn` (hijacked HTTP connections).
    #[allow(clippy::all, clippy::pedantic, missing_docs)]
    pub mod conn {
        tonic::include_proto!("net.conn");
    }
}

/// Protocol 35 (luxfi/node v1.11.10, avalanchego v1.11.3–v1.11.9): only `vm` and `appsender`
/// changed. Their types that equal protocol 30's *are* protocol 30's (build.rs maps them), so
/// `v35::vm::InitializeRequest` is `vm::InitializeRequest`; what is here on its own is the
/// service traits and clients of 35 and the few messages 35 changed.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod v35 {
    /// `package vm` of protocol 35.
    #[allow(clippy::all, clippy::pedantic, missing_docs)]
    pub mod vm {
        include!(concat!(env!("OUT_DIR"), "/v35/vm.rs"));
    }

    /// `package appsender` of protocol 35.
    #[allow(clippy::all, clippy::pedantic, missing_docs)]
    pub mod appsender {
        include!(concat!(env!("OUT_DIR"), "/v35/appsender.rs"));
    }
}

/// Wire-format checks: each expected byte string is assembled by hand from
/// `tag = (field << 3) | wire_type` (0 = varint, 1 = 64-bit, 2 = length-delimited),
/// so a wrong field number or type in `proto/` makes these fail.
#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    const VARINT: u8 = 0;
    const FIXED64: u8 = 1;
    const LEN: u8 = 2;

    /// Tag byte for fields 1..=15.
    fn tag(field: u8, wire_type: u8) -> u8 {
        assert!((1..=15).contains(&field));
        (field << 3) | wire_type
    }

    /// A length-delimited field (payload shorter than 128 bytes).
    fn ld(field: u8, payload: &[u8]) -> Vec<u8> {
        let len = u8::try_from(payload.len()).expect("short payload");
        assert!(len < 128, "length must fit a one-byte varint");
        let mut out = vec![tag(field, LEN), len];
        out.extend_from_slice(payload);
        out
    }

    /// Encoding must equal `expected`, and decoding `expected` must give `msg` back.
    fn assert_wire<M: Message + Default + PartialEq + std::fmt::Debug>(msg: &M, expected: &[u8]) {
        assert_eq!(msg.encode_to_vec(), expected, "encoding of {msg:?}");
        assert_eq!(&M::decode(expected).expect("decode"), msg);
    }

    #[test]
    fn grpc_service_names() {
        // gRPC paths are `/<package>.<Service>/<Method>`; the host dials these.
        assert_eq!(vm::vm_server::SERVICE_NAME, "vm.VM");
        assert_eq!(
            vm::runtime::runtime_server::SERVICE_NAME,
            "vm.runtime.Runtime"
        );
        assert_eq!(http::http_server::SERVICE_NAME, "http.HTTP");
        assert_eq!(
            http::responsewriter::writer_server::SERVICE_NAME,
            "http.responsewriter.Writer"
        );
        assert_eq!(
            messenger::messenger_server::SERVICE_NAME,
            "messenger.Messenger"
        );
        assert_eq!(
            appsender::app_sender_server::SERVICE_NAME,
            "appsender.AppSender"
        );
        assert_eq!(rpcdb::database_server::SERVICE_NAME, "rpcdb.Database");
        assert_eq!(
            aliasreader::alias_reader_server::SERVICE_NAME,
            "aliasreader.AliasReader"
        );
        assert_eq!(keystore::keystore_server::SERVICE_NAME, "keystore.Keystore");
        assert_eq!(
            sharedmemory::shared_memory_server::SERVICE_NAME,
            "sharedmemory.SharedMemory"
        );
        assert_eq!(
            validatorstate::validator_state_server::SERVICE_NAME,
            "validatorstate.ValidatorState"
        );
        assert_eq!(warp::signer_server::SERVICE_NAME, "warp.Signer");
        assert_eq!(io::reader::reader_server::SERVICE_NAME, "io.reader.Reader");
        assert_eq!(io::writer::writer_server::SERVICE_NAME, "io.writer.Writer");
        assert_eq!(net::conn::conn_server::SERVICE_NAME, "net.conn.Conn");
        // Protocol 35 keeps the paths: the host dials the same names.
        assert_eq!(v35::vm::vm_server::SERVICE_NAME, "vm.VM");
        assert_eq!(
            v35::appsender::app_sender_server::SERVICE_NAME,
            "appsender.AppSender"
        );
    }

    #[test]
    fn vm_initialize_request_wire() {
        let msg = vm::InitializeRequest {
            network_id: 12345,
            chain_id: vec![1; 32],
            db_server_addr: "a".into(),
            server_addr: "b".into(),
            ..Default::default()
        };
        // 12345 = 0b1100000_0111001 -> varint [0x80 | 0x39, 0x60].
        let mut expected = vec![tag(1, VARINT), 0xB9, 0x60];
        expected.extend(ld(3, &[1; 32]));
        // Fields 13 and 14 still fit in a one-byte tag.
        expected.extend([(13 << 3) | LEN, 1, b'a']);
        expected.extend([(14 << 3) | LEN, 1, b'b']);
        assert_eq!(expected[expected.len() - 6], 0x6A);
        assert_eq!(expected[expected.len() - 3], 0x72);
        assert_wire(&msg, &expected);
    }

    #[test]
    fn vm_initialize_request_field_8_is_asset_id() {
        let msg = vm::InitializeRequest {
            lux_asset_id: vec![7; 2],
            ..Default::default()
        };
        assert_wire(&msg, &ld(8, &[7, 7]));
    }

    #[test]
    fn runtime_initialize_request_wire() {
        let msg = vm::runtime::InitializeRequest {
            protocol_version: 30,
            addr: "127.0.0.1:1".into(),
        };
        let mut expected = vec![tag(1, VARINT), 30];
        expected.extend(ld(2, b"127.0.0.1:1"));
        assert_wire(&msg, &expected);
    }

    #[test]
    fn http_handle_simple_response_wire() {
        let msg = http::HandleSimpleHttpResponse {
            code: 200,
            headers: vec![http::Element {
                key: "k".into(),
                values: vec!["v".into()],
            }],
            body: b"x".to_vec(),
        };
        let element = [ld(1, b"k"), ld(2, b"v")].concat();
        // 200 = 0b1_1001000 -> varint [0xC8, 0x01].
        let mut expected = vec![tag(1, VARINT), 0xC8, 0x01];
        expected.extend(ld(2, &element));
        expected.extend(ld(3, b"x"));
        assert_eq!(
            expected,
            [0x08, 0xC8, 0x01, 0x12, 0x06, 0x0A, 0x01, b'k', 0x12, 0x01, b'v', 0x1A, 0x01, b'x']
        );
        assert_wire(&msg, &expected);
    }

    #[test]
    fn http_handle_simple_request_wire() {
        let msg = http::HandleSimpleHttpRequest {
            method: "POST".into(),
            url: "/ext/bc/x/rpc".into(),
            headers: vec![http::Element {
                key: "a".into(),
                values: vec!["1".into(), "2".into()],
            }],
            body: b"{}".to_vec(),
        };
        let element = [ld(1, b"a"), ld(2, b"1"), ld(2, b"2")].concat();
        let expected = [
            ld(1, b"POST"),
            ld(2, b"/ext/bc/x/rpc"),
            ld(3, &element),
            ld(4, b"{}"),
        ]
        .concat();
        assert_wire(&msg, &expected);
    }

    #[test]
    fn vm_handler_wire() {
        let msg = vm::Handler {
            prefix: "/rpc".into(),
            server_addr: "c".into(),
        };
        let expected = [ld(1, b"/rpc"), ld(2, b"c")].concat();
        assert_eq!(expected, [0x0A, 4, b'/', b'r', b'p', b'c', 0x12, 1, b'c']);
        assert_wire(&msg, &expected);
    }

    #[test]
    fn vm_get_block_response_not_found_wire() {
        let msg = vm::GetBlockResponse {
            err: vm::Error::NotFound as i32,
            verify_with_context: true,
            ..Default::default()
        };
        assert_eq!(vm::Error::NotFound as i32, 2);
        let expected = [tag(6, VARINT), 2, tag(7, VARINT), 1];
        assert_eq!(expected, [0x30, 0x02, 0x38, 0x01]);
        assert_wire(&msg, &expected);
    }

    #[test]
    fn vm_get_block_response_found_wire() {
        let msg = vm::GetBlockResponse {
            parent_id: vec![3; 32],
            bytes: vec![4, 5],
            status: vm::Status::Accepted as i32,
            height: 9,
            timestamp: Some(prost_types::Timestamp {
                seconds: 1,
                nanos: 2,
            }),
            err: 0,
            verify_with_context: false,
        };
        let timestamp = [tag(1, VARINT), 1, tag(2, VARINT), 2];
        let expected = [
            ld(1, &[3; 32]),
            ld(2, &[4, 5]),
            vec![tag(3, VARINT), 3, tag(4, VARINT), 9],
            ld(5, &timestamp),
        ]
        .concat();
        assert_wire(&msg, &expected);
    }

    #[test]
    fn vm_enum_values() {
        assert_eq!(vm::State::StateSyncing as i32, 1);
        assert_eq!(vm::State::Bootstrapping as i32, 2);
        assert_eq!(vm::State::NormalOp as i32, 3);
        assert_eq!(vm::Status::Processing as i32, 1);
        assert_eq!(vm::Status::Rejected as i32, 2);
        assert_eq!(vm::Status::Accepted as i32, 3);
        assert_eq!(vm::Error::Closed as i32, 1);
        assert_eq!(vm::Error::HeightIndexIncomplete as i32, 3);
        assert_eq!(vm::Error::StateSyncNotImplemented as i32, 4);
        assert_eq!(messenger::Message::BuildBlock as i32, 1);
        assert_eq!(messenger::Message::StateSyncFinished as i32, 2);
        assert_eq!(rpcdb::Error::NotFound as i32, 2);
        assert_eq!(vm::state_summary_accept_response::Mode::Dynamic as i32, 3);
    }

    #[test]
    fn vm_build_block_and_verify_optional_height_wire() {
        // `optional` fields are emitted even when zero, and omitted when unset.
        let msg = vm::BuildBlockRequest {
            p_chain_height: Some(0),
        };
        assert_wire(&msg, &[tag(1, VARINT), 0]);
        assert_wire(&vm::BuildBlockRequest::default(), &[]);

        let msg = vm::BlockVerifyRequest {
            bytes: vec![0xAA],
            p_chain_height: Some(5),
        };
        let expected = [ld(1, &[0xAA]), vec![tag(2, VARINT), 5]].concat();
        assert_wire(&msg, &expected);
    }

    #[test]
    fn vm_build_block_response_wire() {
        let msg = vm::BuildBlockResponse {
            id: vec![1; 32],
            parent_id: vec![2; 32],
            bytes: vec![3],
            height: 4,
            timestamp: Some(prost_types::Timestamp {
                seconds: 5,
                nanos: 0,
            }),
            verify_with_context: true,
        };
        let expected = [
            ld(1, &[1; 32]),
            ld(2, &[2; 32]),
            ld(3, &[3]),
            vec![tag(4, VARINT), 4],
            ld(5, &[tag(1, VARINT), 5]),
            vec![tag(6, VARINT), 1],
        ]
        .concat();
        assert_wire(&msg, &expected);
    }

    #[test]
    fn messenger_notify_wire() {
        let msg = messenger::NotifyRequest {
            message: messenger::Message::BuildBlock as i32,
        };
        assert_wire(&msg, &[tag(1, VARINT), 1]);
    }

    #[test]
    fn appsender_gossip_wire() {
        let msg = appsender::SendAppGossipMsg { msg: vec![9, 9] };
        assert_wire(&msg, &[0x0A, 2, 9, 9]);
    }

    #[test]
    fn rpcdb_write_batch_wire() {
        let msg = rpcdb::WriteBatchRequest {
            puts: vec![rpcdb::PutRequest {
                key: b"k".to_vec(),
                value: b"v".to_vec(),
            }],
            deletes: vec![rpcdb::DeleteRequest { key: b"d".to_vec() }],
        };
        let put = [ld(1, b"k"), ld(2, b"v")].concat();
        let delete = ld(1, b"d");
        let expected = [ld(1, &put), ld(2, &delete)].concat();
        assert_eq!(
            expected,
            [0x0A, 6, 0x0A, 1, b'k', 0x12, 1, b'v', 0x12, 3, 0x0A, 1, b'd']
        );
        assert_wire(&msg, &expected);
    }

    #[test]
    fn rpcdb_get_response_wire() {
        let msg = rpcdb::GetResponse {
            value: vec![],
            err: rpcdb::Error::NotFound as i32,
        };
        assert_wire(&msg, &[tag(2, VARINT), 2]);
    }

    #[test]
    fn gather_response_metric_family_wire() {
        use io::prometheus::client::{Gauge, Metric, MetricFamily, MetricType};
        let msg = vm::GatherResponse {
            metric_families: vec![MetricFamily {
                name: Some("m".into()),
                help: None,
                r#type: Some(MetricType::Gauge as i32),
                metric: vec![Metric {
                    gauge: Some(Gauge { value: Some(1.0) }),
                    ..Default::default()
                }],
            }],
        };
        let mut gauge = vec![tag(1, FIXED64)];
        gauge.extend(1.0f64.to_le_bytes());
        let metric = ld(2, &gauge);
        let family = [ld(1, b"m"), vec![tag(3, VARINT), 1], ld(4, &metric)].concat();
        assert_wire(&msg, &ld(1, &family));
    }
}
