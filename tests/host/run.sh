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

if ! command -v go >/dev/null 2>&1; then
    echo "run.sh: the go command is required (Go >= 1.21) and was not found in PATH" >&2
    exit 1
fi
if ! command -v cc >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then
    echo "run.sh: a C compiler is required (cgo builds blst, the host's BLS library)" >&2
    exit 1
fi

if [[ -z "${TRANSFERVM_PLUGIN:-}" ]]; then
    target_dir="${CARGO_TARGET_DIR:-$root/target}"
    [[ "$target_dir" = /* ]] || target_dir="$root/$target_dir"
    export TRANSFERVM_PLUGIN="$target_dir/debug/transfervm"
    if [[ "${SKIP_CARGO_BUILD:-0}" != "1" ]]; then
        echo "run.sh: cargo build --bin transfervm" >&2
        (cd "$root" && cargo build --bin transfervm)
    fi
fi
export TRANSFERVM_GENESIS="${TRANSFERVM_GENESIS:-$root/genesis/local.json}"

# cgo is required by github.com/supranational/blst; the portable flag avoids
# CPU-specific instructions (same flags as the node's own build scripts).
export CGO_ENABLED=1
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -D__BLST_PORTABLE__}"
# Use the installed toolchain (go.mod asks for go >= 1.21).
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

echo "run.sh: plugin  $TRANSFERVM_PLUGIN" >&2
echo "run.sh: genesis $TRANSFERVM_GENESIS" >&2
echo "run.sh: $(go version)" >&2

cd "$here"
timeout_arg="${HOST_TEST_TIMEOUT:-10m}"
# ./... includes the local-network controller's own test (cmd/localnet), whose binary links
# the host's wallet and through it geth's fjl/memsize, which needs this on Go >= 1.23 (as
# scripts/local-network.sh builds the controller).
link_args=()
minor="$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
if [[ "$minor" =~ ^[0-9]+$ ]] && ((minor >= 23)); then link_args=(-ldflags=-checklinkname=0); fi
# The outer timeout is a backstop in case go test itself wedges.
exec timeout --kill-after=30s 20m \
    go test -count=1 -v -timeout "$timeout_arg" "${link_args[@]}" "$@" ./...
