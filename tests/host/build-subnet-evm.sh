#!/usr/bin/env bash
# Builds subnet-evm v0.5.10 (github.com/ava-labs/subnet-evm, the EVM most subnets run,
# built against avalanchego v1.10.17, rpcchainvm protocol 30) as a plugin binary from
# the Go module proxy, and prints its path. Its VM ID (the plugin's file name in a
# node's --plugin-dir) is srEXiWaHuhNyGwPUi444Tu47ZEDwxTWrbQiuD7FmgSAQ6X7Dy ("subnetevm" zero-padded to
# 32 bytes, in cb58; note "Tu47", as in subnet-evm's scripts/build.sh). It runs
# under avalanchego v1.10.17 nodes only (tests/host/build-avalanchego.sh,
# LOCALNET_HOST=avalanchego scripts/local-network.sh): under luxd its rpcchainvm server
# rejects the host's "lux/..." version string and shuts the chain down (issue #12).
#
# The build is cached under ${TRANSFERVM_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/transfervm}/subnet-evm-v0.5.10/
# and reused while the version, blst's version, the plugin main below and the Go version
# are unchanged, so reruns are instant; a fresh machine builds it (~4 min on 2 cores).
#
# How (as tests/host/build-luxd.sh does for luxd):
#  * built inside subnet-evm's own module (a copy of its source from the module cache),
#    so its own go.sum pins every dependency;
#  * github.com/supranational/blst v0.3.11 does not compile with Go >= 1.24: raised to
#    v0.3.14 as in tests/host/go.mod;
#  * github.com/fjl/memsize (via geth) fails to link on Go >= 1.23: -checklinkname=0;
#  * NOT from subnet-evm's own plugin main (plugin/main.go): that one first raises the
#    open-file limit to 32768 and exits when it cannot, which it cannot where the hard
#    limit is lower (20000 on these machines). The plugin is built instead from
#    tests/host/peers/subnet-evm/main.go, copied into the source copy: the same
#    rpcchainvm.Serve(ctx, &evm.VM{}) call without that step (and without --version).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
log() { echo "build-subnet-evm: $*" >&2; }

# shellcheck source=../../scripts/go-host-lib.sh
source "$here/../../scripts/go-host-lib.sh"
go_host_env build-subnet-evm

main_go=peers/subnet-evm/main.go

own_main() { # SRC
    mkdir -p "$1/plugin/transfervm-main"
    cp "$main_go" "$1/plugin/transfervm-main/main.go"
}

# Built by file name: main.go carries //go:build ignore (it is no package of tests/host),
# which a file named on the command line disregards.
build_from_module build-subnet-evm github.com/ava-labs/subnet-evm v0.5.10 \
    "${TRANSFERVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/transfervm}/subnet-evm-v0.5.10" \
    own_main "$main_go" subnet-evm=./plugin/transfervm-main/main.go
