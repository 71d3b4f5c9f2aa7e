#!/usr/bin/env bash
# End-to-end test on a local network of real Lux nodes (TestLocalNetworkE2E in
# e2e_test.go): builds the plugin and the node (cached, see build-luxd.sh), then
# runs the Go test, which starts the network with scripts/local-network.sh,
# sends transfers through different nodes, kills and restarts one node, checks
# that every node answers at /ext/bc/transfervm/rpc after each start, and stops
# every node at the end.
#
# Environment: TRANSFERVM_PLUGIN (skip cargo build), LUXD (skip the node build),
# E2E_TIMEOUT (go test -timeout, default 20m).
# Measured on 2 busy cores: cold (luxd not yet built) ~5.5 min to build luxd, plus ~2 min
# to compile the Go test and the network controller, then ~70 s of test; warm ~75 s in all.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
log() { echo "e2e.sh: $*" >&2; }

command -v go >/dev/null 2>&1 || { log "the go command is required (Go >= 1.21)"; exit 1; }
command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || { log "a C compiler is required (cgo)"; exit 1; }
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export CGO_ENABLED=1
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -D__BLST_PORTABLE__}"

if [[ -z "${TRANSFERVM_PLUGIN:-}" ]]; then
    log "cargo build --bin transfervm"
    (cd "$root" && cargo build --bin transfervm)
    target_dir="${CARGO_TARGET_DIR:-$root/target}"
    [[ "$target_dir" = /* ]] || target_dir="$root/$target_dir"
    TRANSFERVM_PLUGIN="$target_dir/debug/transfervm"
fi

# The network's state lives here; the test stops the nodes itself, and the trap
# does too in case go test is killed before its cleanup runs.
TRANSFERVM_E2E_DIR="$(mktemp -d "${TMPDIR:-/tmp}/transfervm-e2e-XXXXXX")"
export TRANSFERVM_PLUGIN TRANSFERVM_E2E_DIR
cleanup() {
    if [[ -f "$TRANSFERVM_E2E_DIR/network.json" ]]; then
        LOCALNET_DIR="$TRANSFERVM_E2E_DIR" bash "$root/scripts/local-network.sh" stop >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

t0=$(date +%s)
LUXD="${LUXD:-$(bash "$here/build-luxd.sh")}"
export LUXD
log "luxd: $LUXD ($("$LUXD" --version)), ready in $(($(date +%s) - t0)) s"

export TRANSFERVM_E2E=1
cd "$here"
status=0
timeout --kill-after=30s 25m \
    go test -count=1 -v -timeout "${E2E_TIMEOUT:-20m}" -run '^TestLocalNetworkE2E$' . || status=$?
log "done in $(($(date +%s) - t0)) s (exit $status)"
exit $status
