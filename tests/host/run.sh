#!/usr/bin/env bash
# Real-host conformance test: builds the transfervm plugin, then runs the Go
# test in this directory, which drives the plugin with the real Lux node's
# rpcchainvm client code (github.com/luxdefi/node v1.10.21, protocol 30).
#
# Usage: tests/host/run.sh [extra `go test` args, e.g. -run TestTransfer]
#
# Environment:
#   TRANSFERVM_PLUGIN      plugin binary to test (default: cargo's target/debug/transfervm);
#                          when set, the cargo build step is skipped
#   TRANSFERVM_GENESIS     genesis file (default: genesis/local.json)
#   SKIP_CARGO_BUILD=1     do not run cargo build
#   HOST_TEST_TIMEOUT      go test -timeout (default 10m)
#
# First run on a fresh machine: the go command downloads the host module and
# its dependencies from the Go module proxy (~15 s) and compiles them, blst
# with cgo included (~2 min on 2 cores); later runs use the caches.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# shellcheck source=../../scripts/go-host-lib.sh
source "$root/scripts/go-host-lib.sh"
go_host_env run.sh
transfervm_plugin run.sh
export TRANSFERVM_GENESIS="${TRANSFERVM_GENESIS:-$root/genesis/local.json}"

echo "run.sh: plugin  $TRANSFERVM_PLUGIN" >&2
echo "run.sh: genesis $TRANSFERVM_GENESIS" >&2
echo "run.sh: $(go version)" >&2

cd "$here"
timeout_arg="${HOST_TEST_TIMEOUT:-10m}"
# ./... includes the local-network controller's own test (cmd/localnet), whose binary links
# the host's wallet (GO_HOST_LDFLAGS). The outer timeout is a backstop in case go test itself
# wedges.
exec timeout --kill-after=30s 20m \
    go test -count=1 -v -timeout "$timeout_arg" -ldflags="$GO_HOST_LDFLAGS" "$@" ./...
