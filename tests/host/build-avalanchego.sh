#!/usr/bin/env bash
# Builds the avalanchego node (package github.com/ava-labs/avalanchego/main) of a chosen
# version from the Go module proxy, and prints its path:
#
#   tests/host/build-avalanchego.sh [VERSION]     VERSION: v1.10.17 (default) or v1.11.9
#                                                 (also $AVALANCHEGO_VERSION)
#
#  * v1.10.17 (rpcchainvm protocol 30) is the host subnet-evm v0.5.10 was built against:
#    subnet-evm cannot run under luxd (its rpcchainvm server parses the host's version
#    with avalanchego's version.ParseApplication, which wants the prefix "avalanche/" and
#    gets luxd's "lux/..."), so scripts/local-network.sh runs a network of these nodes with
#    LOCALNET_HOST=avalanchego, transfervm beside subnet-evm (issue #12, bench-peers.sh);
#  * v1.11.9 (rpcchainvm protocol 35, coreth v0.13.6-rc.1) is the protocol-35 host the
#    end-to-end test runs transfervm on besides luxd (issue #16; LOCALNET_HOST=avalanchego
#    LOCALNET_AVALANCHEGO_VERSION=v1.11.9 in scripts/local-network.sh).
# Other versions are refused: each one is a host the scripts have been tried with.
#
# The build is cached under ${TRANSFERVM_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/transfervm}/avalanchego-<version>/
# and reused while the version, blst's version and the Go version are unchanged, so
# reruns are instant; a fresh machine builds it on 2 cores: v1.10.17 ~4 min, v1.11.9 ~7.5 min
# (452 s measured on 2 cores shared with other builds, its modules not yet downloaded).
#
# How (scripts/go-host-lib.sh build_from_module, as for luxd), for both versions:
#  * built inside the node's own module (a copy of its source from the module cache),
#    so its own go.sum pins every dependency;
#  * github.com/supranational/blst v0.3.11 (both versions' requirement) does not compile
#    with Go >= 1.24, so it is raised to v0.3.14 as in tests/host/go.mod;
#  * github.com/fjl/memsize (via geth) fails to link on Go >= 1.23
#    ("invalid reference to runtime.stopTheWorld"): linked with -checklinkname=0;
#  * no source patch: luxd's (luxd-patches/) fixes a prefix length that luxd changed
#    and avalanchego's parser gets right ("avalanche/" is 10 bytes); with the two
#    settings above both versions build and run as published.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
log() { echo "build-avalanchego: $*" >&2; }

# shellcheck source=../../scripts/go-host-lib.sh
source "$here/../../scripts/go-host-lib.sh"
go_host_env build-avalanchego

version="${1:-${AVALANCHEGO_VERSION:-v1.10.17}}"
case "$version" in
v1.10.17 | v1.11.9) ;;
*) log "avalanchego $version: not a version these scripts know (v1.10.17 or v1.11.9)"; exit 2 ;;
esac

build_from_module build-avalanchego github.com/ava-labs/avalanchego "$version" \
    "${TRANSFERVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/transfervm}/avalanchego-$version" \
    : "" avalanchego=./main
