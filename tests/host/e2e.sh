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
# Then the state sync test at CI scale (TestLocalNetworkStateSync in statesync_test.go,
# issue #13; scripts/bench-statesync.sh runs it at benchmark scale) on a network of its
# own: 3 luxd validators with the chain config's stateSync.summaryInterval 64 build a chain
# of 20 000 new accounts over at least 600 blocks (rounds of ~34 transfers, the subnet's
# proposerMinBlockDelay 0s), then a fourth node joins as a non-validator with state sync on
# (scripts/local-network.sh add-node) and a fifth with it off (replay); each is timed until
# it has the validators' height and stateDigest, and transfers sent through the fourth must
# be accepted on all five with equal balances. STATESYNC_EXPECT_SYNC=1 (set here) makes
# the test fail unless the fourth node really state-synced: luxd logs its accepted summary,
# and it answers getBlock at height 1 with "not known here" while the others return it.
# Then TestLocalNetworkE2E again (not the fault test: time) on a network of 3 avalanchego
# v1.11.9 nodes (LOCALNET_HOST=avalanchego LOCALNET_AVALANCHEGO_VERSION=v1.11.9), rpcchainvm
# protocol 35: the same plugin binary, installed as plugins/<VM ID>.rpcchainvm35 so that it
# speaks 35 (the test checks the nodes' protocol and the plugin file the chain runs from).
#
# Environment: TRANSFERVM_PLUGIN (skip cargo build), LUXD (skip the node build),
# E2E_AVALANCHEGO (an avalanchego v1.11.9 binary: skip its build; not AVALANCHEGO, which
# scripts/bench-peers.sh reads for its v1.10.17), E2E_TIMEOUT (go test
# -timeout of the luxd run, default 30m; the v1.11.9 run has 20m), E2E_FAULT_CYCLES
# (default 2), E2E_SKIP_FAULTS=1 (only TestLocalNetworkE2E), E2E_SKIP_STATESYNC=1 (no state
# sync test; its knobs STATESYNC_* are read by the test, see statesync_test.go),
# E2E_SKIP_PROTO35=1 (no v1.11.9 run, nor its build), LOCALNET_KEEP=1 (keep each network's
# directory and node logs after a passing run too).
# Measured on 2 busy cores: cold (luxd not yet built) ~5.5 min to build luxd, plus ~2 min
# to compile the Go test and the network controller, then ~70 s of end-to-end test and
# ~3 min of fault test; warm ~4.3 min in all. The state sync test adds ~2 min (warm, 2 cores:
# 126-128 s, of which ~42 s to start its network, 46-48 s of load, and for the joining nodes
# 1.8 s to state-sync (plugin of 92d1831) against 4-5 s to replay). The v1.11.9 run adds, cold,
# ~11 min (avalanchego v1.11.9's build ~7.5 min, the network controller compiled against it
# ~2 min, the test ~70 s), warm 47-69 s (measured on 2 cores shared with other builds: the whole
# script warm in 4 min 56 s and 6 min 9 s, of which 47 s and 69 s the v1.11.9 run).
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
STATESYNC_DIR="$(mktemp -d "${TMPDIR:-/tmp}/transfervm-statesync-XXXXXX")"
E2E35_DIR="$(mktemp -d "${TMPDIR:-/tmp}/transfervm-e2e35-XXXXXX")"
export TRANSFERVM_PLUGIN TRANSFERVM_E2E_DIR TRANSFERVM_FAULTS_DIR
cleanup() {
    for d in "$TRANSFERVM_E2E_DIR" "$TRANSFERVM_FAULTS_DIR" "$STATESYNC_DIR" "$E2E35_DIR"; do
        if [[ -f "$d/network.json" ]]; then
            # A node left stopped by a stall would not act on SIGTERM: continue it first.
            for pid in $(grep -o '"pid": [0-9]*' "$d/network.json" | grep -o '[0-9]*$'); do
                kill -CONT -- "-$pid" 2>/dev/null || true
            done
            # The host and version the directory records, whatever the environment says.
            LOCALNET_HOST="" LOCALNET_AVALANCHEGO_VERSION="" LOCALNET_DIR="$d" \
                bash "$root/scripts/local-network.sh" stop >/dev/null 2>&1 || true
        fi
    done
    rmdir "$TRANSFERVM_FAULTS_DIR" "$STATESYNC_DIR" "$E2E35_DIR" 2>/dev/null || true
}
trap cleanup EXIT

t0=$(date +%s)
LUXD="${LUXD:-$(bash "$here/build-luxd.sh")}"
export LUXD
log "luxd: $LUXD ($("$LUXD" --version)), ready in $(($(date +%s) - t0)) s"
proto35=1
[[ "${E2E_SKIP_PROTO35:-0}" != "1" ]] || proto35=0
if ((proto35)); then
    t1=$(date +%s)
    E2E_AVALANCHEGO="${E2E_AVALANCHEGO:-$(bash "$here/build-avalanchego.sh" v1.11.9)}"
    log "avalanchego: $E2E_AVALANCHEGO ($("$E2E_AVALANCHEGO" --version)), ready in $(($(date +%s) - t1)) s"
fi

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
t1=$(date +%s)
LOCALNET_HOST=luxd timeout --kill-after=30s 35m \
    go test -count=1 -v -ldflags="$GO_HOST_LDFLAGS" -timeout "${E2E_TIMEOUT:-30m}" -run "$tests" . || status=$?
log "luxd: done in $(($(date +%s) - t1)) s (exit $status)"
if [[ "${E2E_SKIP_STATESYNC:-0}" != "1" ]]; then
    # The state sync test at CI scale, on a network of its own (3 validators, then 2 nodes
    # that join later); the test's defaults are the CI scale (STATESYNC_* override them).
    t1=$(date +%s)
    status_ss=0
    env -u TRANSFERVM_FAULTS TRANSFERVM_STATESYNC=1 STATESYNC_EXPECT_SYNC=1 \
        TRANSFERVM_STATESYNC_DIR="$STATESYNC_DIR" LOCALNET_HOST=luxd \
        timeout --kill-after=30s 25m \
        go test -count=1 -v -ldflags="$GO_HOST_LDFLAGS" -timeout 20m -run '^TestLocalNetworkStateSync$' . || status_ss=$?
    log "state sync (luxd): done in $(($(date +%s) - t1)) s (exit $status_ss)"
    ((status != 0)) || status=$status_ss
fi
if ((proto35)); then
    # The same test on avalanchego v1.11.9 (protocol 35), on a network of its own; the
    # controller it needs is compiled on the way (scripts/local-network.sh, into that
    # network's directory).
    t1=$(date +%s)
    status35=0
    env -u TRANSFERVM_FAULTS TRANSFERVM_E2E_DIR="$E2E35_DIR" LOCALNET_HOST=avalanchego \
        LOCALNET_AVALANCHEGO_VERSION=v1.11.9 AVALANCHEGO="$E2E_AVALANCHEGO" timeout --kill-after=30s 25m \
        go test -count=1 -v -ldflags="$GO_HOST_LDFLAGS" -timeout 20m -run '^TestLocalNetworkE2E$' . || status35=$?
    log "avalanchego v1.11.9 (rpcchainvm 35): done in $(($(date +%s) - t1)) s (exit $status35)"
    ((status != 0)) || status=$status35
fi
log "done in $(($(date +%s) - t0)) s (exit $status)"
exit $status
