//! Generates the rpcchainvm gRPC stubs from `proto/`: protocol 30 in full, and the protocol-35
//! variants of the two packages that changed (`proto/v35/`).
//!
//! The `.proto` files are parsed with the pure-Rust `protox` compiler into a
//! `FileDescriptorSet` (well-known `google/protobuf/*` imports are built in),
//! which `tonic-prost-build` turns into prost messages plus tonic clients and
//! servers in `OUT_DIR`. No system `protoc` is needed.
//!
//! Protocol 35 goes to `OUT_DIR/v35`. Of its `vm` and `appsender` packages only the types that
//! differ from protocol 30 are generated; every type that is field for field protocol 30's is
//! mapped to protocol 30's Rust type (`extern_path`), so the two protocols share one set of
//! messages and the plugin translates only what really changed. Which types differ is fixed in
//! [`V35_OWN_TYPES`]: a proto edit that changes the set fails the build here, not on a node.

use heck::ToUpperCamelCase;
use std::path::{Path, PathBuf};

/// Every proto file of protocol 30, relative to `proto/`.
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

/// The proto files protocol 35 changed, relative to `proto/v35/`; every other package of 35 is
/// protocol 30's, byte for byte on the wire.
const PROTOS_V35: &[&str] = &["vm/vm.proto", "appsender/appsender.proto"];

/// The types of the protocol-35 files that are not protocol 30's (new, or with other fields or
/// enum values); everything else in those files must equal protocol 30's definition.
const V35_OWN_TYPES: &[&str] = &[
    ".vm.Error",
    ".vm.AppRequestFailedMsg",
    ".vm.CrossChainAppRequestFailedMsg",
    ".vm.ConnectedRequest",
    ".appsender.SendAppErrorMsg",
    ".appsender.SendAppGossipMsg",
    ".appsender.SendCrossChainAppErrorMsg",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=build.rs");

    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let root = manifest.join("proto");
    let files: Vec<PathBuf> = PROTOS.iter().map(|p| root.join(Path::new(p))).collect();
    let fds30 = protox::compile(&files, [&root])?;

    let root35 = root.join("v35");
    let files35: Vec<PathBuf> = PROTOS_V35
        .iter()
        .map(|p| root35.join(Path::new(p)))
        .collect();
    // proto/v35 first, so `vm/vm.proto` is 35's; its imports of unchanged packages come from proto/.
    let fds35 = protox::compile(&files35, [&root35, &root])?;

    // Protocol 30's types, by full name, to compare 35's against.
    let mut messages30 = std::collections::BTreeMap::new();
    let mut enums30 = std::collections::BTreeMap::new();
    for file in &fds30.file {
        let package = file.package();
        for message in &file.message_type {
            messages30.insert(format!(".{package}.{}", message.name()), message.clone());
        }
        for e in &file.enum_type {
            enums30.insert(format!(".{package}.{}", e.name()), e.clone());
        }
    }

    let mut v35 = tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .emit_rerun_if_changed(false)
        .out_dir(std::env::var("OUT_DIR")? + "/v35");
    let mut own = Vec::new();
    for file in &fds35.file {
        let package = file.package();
        if package == "google.protobuf" {
            // prost maps the well-known types itself.
            continue;
        }
        if !matches!(package, "vm" | "appsender") {
            // An unchanged package imported by a changed one: use protocol 30's module.
            let module = package.replace('.', "::");
            v35 = v35.extern_path(format!(".{package}"), format!("crate::pb::{module}"));
            continue;
        }
        let messages = file.message_type.iter().map(|m| {
            let name = format!(".{package}.{}", m.name());
            let same = messages30.get(&name) == Some(m);
            (name, same)
        });
        let enums = file.enum_type.iter().map(|e| {
            let name = format!(".{package}.{}", e.name());
            let same = enums30.get(&name) == Some(e);
            (name, same)
        });
        for (name, same) in messages.chain(enums).collect::<Vec<_>>() {
            if same {
                // prost names a type in UpperCamelCase (`GetBlockIDAtHeightRequest` becomes
                // `GetBlockIdAtHeightRequest`); the module path is the package's.
                let type_name = name.rsplit('.').next().unwrap_or_default();
                let rust = format!("crate::pb::{package}::{}", type_name.to_upper_camel_case());
                v35 = v35.extern_path(name, rust);
            } else {
                own.push(name);
            }
        }
    }
    own.sort();
    let mut expected: Vec<String> = V35_OWN_TYPES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    if own != expected {
        return Err(format!(
            "proto/v35 differs from protocol 30 in {own:?}, but build.rs expects {expected:?}: \
             update V35_OWN_TYPES and the plugin's protocol-35 translation together"
        )
        .into());
    }

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .emit_rerun_if_changed(false)
        .compile_fds(fds30)?;
    std::fs::create_dir_all(std::env::var("OUT_DIR")? + "/v35")?;
    v35.compile_fds(fds35)?;

    Ok(())
}
