#!/usr/bin/env bash
# End-to-end test on a local network of real Lux nodes (TestLocalNetworkE2E in
# e2e_test.go): builds the plugin and the node (cached, see build-luxd.sh), then
# runs the Go test, which starts the network with scripts/local-network.sh,
# sends transfers through different nodes, kills and restarts one node, checks
# that every node answers at /ext/bc/transfervm/rpc after each start, and stops
# every node at the end. Then the short version of the fault test
# (TestLocalNetworkFaults in faults_test.go, the long one is scripts/faults.sh) on
# a network of its own: under transfer load, one SIGKILL of a node's luxd, one of
# a node's chain plugin alone, each restarted and caught up, and a SIGSTOP of a
# validator the clients do not submit to (15 s, or longer until the two others have
# finalized a block: up to 2 min more), with nothing accepted lost and the
# same balances on every node (~3 min more). Not the stall of the node the clients
# submit to: the two others then finalize as little as one block in 30 s (RELIABILITY.md
# "Stalls"), too little to assert in a short run; scripts/faults.sh reports it.
#
# Environment: TRANSFERVM_PLUGIN (skip cargo build), LUXD (skip the node build),
# E2E_TIMEOUT (go test -timeout, default 30m), E2E_FAULT_CYCLES (default 2),
# E2E_SKIP_FAULTS=1 (only TestLocalNetworkE2E), LOCALNET_KEEP=1 (keep each network's directory
# and node logs after a passing run too).
# Measured on 2 busy cores: cold (luxd not yet built) ~5.5 min to build luxd, plus ~2 min
# to compile the Go test and the network controller, then ~70 s of end-to-end test and
# ~3 min of fault test; warm ~4.3 min in all.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
log() { echo "e2e.sh: $*" >&2; }

# shellcheck source=../../scripts/go-host-lib.sh
source "$root/scripts/go-host-lib.sh"
go_host_env e2e.sh
transfervm_plugin e2e.sh

# The network's state lives here; the test stops the nodes itself, and the trap
# does too in case go test is killed before its cleanup runs.
TRANSFERVM_E2E_DIR="$(mktemp -d "${TMPDIR:-/tmp}/transfervm-e2e-XXXXXX")"
TRANSFERVM_FAULTS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/transfervm-faults-XXXXXX")"
export TRANSFERVM_PLUGIN TRANSFERVM_E2E_DIR TRANSFERVM_FAULTS_DIR
cleanup() {
    for d in "$TRANSFERVM_E2E_DIR" "$TRANSFERVM_FAULTS_DIR"; do
        if [[ -f "$d/network.json" ]]; then
            # A node left stopped by a stall would not act on SIGTERM: continue it first.
            for pid in $(grep -o '"pid": [0-9]*' "$d/network.json" | grep -o '[0-9]*$'); do
                kill -CONT -- "-$pid" 2>/dev/null || true
            done
            LOCALNET_DIR="$d" bash "$root/scripts/local-network.sh" stop >/dev/null 2>&1 || true
        fi
    done
    rmdir "$TRANSFERVM_FAULTS_DIR" 2>/dev/null || true
}
trap cleanup EXIT

t0=$(date +%s)
LUXD="${LUXD:-$(bash "$here/build-luxd.sh")}"
export LUXD
log "luxd: $LUXD ($("$LUXD" --version)), ready in $(($(date +%s) - t0)) s"

export TRANSFERVM_E2E=1
tests='^TestLocalNetworkE2E$'
if [[ "${E2E_SKIP_FAULTS:-0}" != "1" ]]; then
    tests='^(TestLocalNetworkE2E|TestLocalNetworkFaults)$'
    export TRANSFERVM_FAULTS=1 FAULTS_CYCLES="${E2E_FAULT_CYCLES:-2}" FAULTS_STALLS=validator \
        FAULTS_STALL_SECONDS=15 FAULTS_DEADLINE=12m
    # The seed is printed by the test; set FAULTS_SEED to repeat a run's choices.
fi
cd "$here"
status=0
timeout --kill-after=30s 35m \
    go test -count=1 -v -ldflags="$GO_HOST_LDFLAGS" -timeout "${E2E_TIMEOUT:-30m}" -run "$tests" . || status=$?
log "done in $(($(date +%s) - t0)) s (exit $status)"
exit $status
