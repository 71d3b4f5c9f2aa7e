//! Generates the rpcchainvm protocol-30 gRPC stubs from `proto/`.
//!
//! The `.proto` files are parsed with the pure-Rust `protox` compiler into a
//! `FileDescriptorSet` (well-known `google/protobuf/*` imports are built in),
//! which `tonic-prost-build` turns into prost messages plus tonic clients and
//! servers in `OUT_DIR`. No system `protoc` is needed.

use std::path::{Path, PathBuf};

/// Every proto file compiled, relative to `proto/`.
const PROTOS: &[&str] = &[
    "vm/vm.proto",
    "vm/runtime/runtime.proto",
    "appsender/appsender.proto",
    "messenger/messenger.proto",
    "http/http.proto",
    "http/responsewriter/responsewriter.proto",
    "rpcdb/rpcdb.proto",
    "aliasreader/aliasreader.proto",
    "keystore/keystore.proto",
    "sharedmemory/sharedmemory.proto",
    "validatorstate/validator_state.proto",
    "warp/message.proto",
    "io/reader/reader.proto",
    "io/writer/writer.proto",
    "net/conn/conn.proto",
    "io/prometheus/client/metrics.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=build.rs");

    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("proto");
    let files: Vec<PathBuf> = PROTOS.iter().map(|p| root.join(Path::new(p))).collect();

    let fds = protox::compile(&files, [&root])?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .emit_rerun_if_changed(false)
        .compile_fds(fds)?;

    Ok(())
}
