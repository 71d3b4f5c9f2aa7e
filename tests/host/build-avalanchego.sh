#!/usr/bin/env bash
# Builds the avalanchego node (package github.com/ava-labs/avalanchego/main, v1.10.17)
# from the Go module proxy, and prints its path. It is the host subnet-evm v0.5.10 was
# built against: subnet-evm cannot run under luxd (its rpcchainvm server parses the
# host's version with avalanchego's version.ParseApplication, which wants the prefix
# "avalanche/" and gets luxd's "lux/..."), so scripts/local-network.sh runs a network of
# these nodes with LOCALNET_HOST=avalanchego, transfervm beside subnet-evm (issue #12).
#
# The build is cached under ${TRANSFERVM_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/transfervm}/avalanchego-v1.10.17/
# and reused while the version, blst's version and the Go version are unchanged, so
# reruns are instant; a fresh machine builds it (~4 min on 2 cores).
#
# How (scripts/go-host-lib.sh build_from_module, as for luxd):
#  * built inside the node's own module (a copy of its source from the module cache),
#    so its own go.sum pins every dependency;
#  * github.com/supranational/blst v0.3.11 (the node's requirement) does not compile
#    with Go >= 1.24, so it is raised to v0.3.14 as in tests/host/go.mod;
#  * github.com/fjl/memsize (via geth) fails to link on Go >= 1.23
#    ("invalid reference to runtime.stopTheWorld"): linked with -checklinkname=0;
#  * no source patch: luxd's (luxd-patches/) fixes a prefix length that luxd changed
#    and avalanchego's parser gets right ("avalanche/" is 10 bytes); with the two
#    settings above v1.10.17 builds and runs as published.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
log() { echo "build-avalanchego: $*" >&2; }

# shellcheck source=../../scripts/go-host-lib.sh
source "$here/../../scripts/go-host-lib.sh"
go_host_env build-avalanchego

build_from_module build-avalanchego github.com/ava-labs/avalanchego v1.10.17 \
    "${TRANSFERVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/transfervm}/avalanchego-v1.10.17" \
    : "" avalanchego=./main
