#!/usr/bin/env bash
# Every long fault run of RELIABILITY.md, in one script (the test command runs a short version of
# each). Parts, run in this order; FAULTS_PARTS picks some (default dev,hostile,network):
#
#   dev      `transfervm dev`: FAULTS_CRASH_KILLS (80) seeded kill -9 cycles under load, each
#            kill's phase named (tests/crash_recovery.rs); the data directory on a tmpfs that
#            fills (tests/full_disk.rs, needs root); the open-loop flood above capacity with
#            forgeries ahead of every valid transfer (tests/flood.rs); the property test with a
#            model of the pools over FAULTS_PROPERTY_CASES (1024) random workloads with forks.
#   hostile  a hostile peer through the host's own rpcchainvm client for FAULTS_HOSTILE_SECONDS
#            (30) at FAULTS_HOSTILE_RATE (3000) forged transfers/s, with its blocks
#            (tests/host/hostile_test.go); the host's database failing an accept's write
#            (storefail_test.go).
#   network  three real Lux nodes under transfer load (issue #15 items 1-2): seeded-random SIGKILL
#            cycles, each of a random node's luxd (with its plugin) or of its chain plugin
#            process alone, each followed by a restart and a measured catch-up; then a SIGSTOP
#            stall of a validator that receives no load and one of the node every client
#            submits to, each longer than the consensus timeouts. After every fault: each
#            transfer a node acknowledged is accepted on every node, all nodes share one last
#            accepted block and the same balances; at the end every node's chain is compared
#            block by block. TestLocalNetworkFaults in tests/host/faults_test.go.
#
#   scripts/faults.sh                    everything (~30 min on 2 cores)
#   FAULTS_PARTS=network FAULTS_SEED=42 scripts/faults.sh     the same network choices again
#
# Environment (network): FAULTS_SEED, FAULTS_CYCLES (20), FAULTS_STALLS (validator,load; or
# none), FAULTS_STALL_SECONDS (30), LOCALNET_KEEP=1 (keep the network's directory, with every
# node's logs, after a passing run too; a failing run always keeps it), LOCALNET_LOG_LEVEL (the
# nodes' log level, default info), TRANSFERVM_PLUGIN (skip cargo build), LUXD (skip the node
# build). Each part's figures (the lines its tests print) are collected in one summary printed at
# the end, and kept in $FAULTS_OUT (default a new directory under /tmp). Everything runs on
# 127.0.0.1; every node is stopped at the end, also on failure (the test's cleanup, and this
# script's trap if go test is killed), and the script then checks that no process of the
# network is left. Measured on 2 busy cores, network part: ~40 s to start the network, then
# ~45-70 s per kill cycle (the load is continuous, so each check reads thousands of transfers)
# and ~1.5 min per 30-s stall: 20 cycles and 2 stalls took 18 and 24 min.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
log() { echo "faults.sh: $*" >&2; }

# shellcheck source=go-host-lib.sh
source "$here/go-host-lib.sh"
go_host_env faults.sh

parts="${FAULTS_PARTS:-dev,hostile,network}"
has_part() { [[ ",$parts," == *",$1,"* ]]; }
FAULTS_OUT="${FAULTS_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/transfervm-faults-out-XXXXXX")}"
mkdir -p "$FAULTS_OUT"
summary="$FAULTS_OUT/summary.txt"
: >"$summary"
overall=0
log "parts: $parts; output in $FAULTS_OUT"
# Runs one check, keeps its output, and adds the lines matching $2 to the summary.
run_check() {
    local name="$1" pattern="$2"
    shift 2
    local started=$(date +%s) rc=0
    log "== $name"
    (cd "$root" && "$@") >"$FAULTS_OUT/$name.log" 2>&1 || rc=$?
    {
        echo "## $name: exit $rc, $(($(date +%s) - started)) s"
        grep -E "$pattern" "$FAULTS_OUT/$name.log" | sed 's/^/   /' || true
    } | tee -a "$summary" >&2
    if [[ $rc -ne 0 ]]; then
        tail -n 30 "$FAULTS_OUT/$name.log" >&2
        overall=1
    fi
}

if has_part dev; then
    run_check crash "^crash recovery" env TRANSFERVM_CRASH_KILLS="${FAULTS_CRASH_KILLS:-80}" \
        cargo test --test crash_recovery -- --nocapture
    run_check full-disk "full disk|SKIPPED" cargo test --test full_disk -- --nocapture
    run_check flood "^flood" cargo test --test flood -- --nocapture
    run_check property "^property cases" \
        env TRANSFERVM_PROPERTY_CASES="${FAULTS_PROPERTY_CASES:-1024}" \
        cargo test --lib engine::tests::properties -- --nocapture
fi
if has_part hostile; then
    run_check hostile "hostile load:|honest:|plugin CPU:|plugin RSS:|Gather:|answered the host|^(--- )?(PASS|FAIL)" env \
        TRANSFERVM_HOSTILE_SECONDS="${FAULTS_HOSTILE_SECONDS:-30}" \
        TRANSFERVM_HOSTILE_RATE="${FAULTS_HOSTILE_RATE:-3000}" \
        bash tests/host/run.sh -run '^(TestHostilePeers|TestAcceptWriteFailure)$'
fi
if ! has_part network; then
    log "summary ($FAULTS_OUT/summary.txt):"
    cat "$summary"
    exit "$overall"
fi

transfervm_plugin faults.sh
LUXD="${LUXD:-$(bash "$root/tests/host/build-luxd.sh")}"

export FAULTS_SEED="${FAULTS_SEED:-$(( $(date +%s%N) % 1000000000 ))}"
export FAULTS_CYCLES="${FAULTS_CYCLES:-20}"
export FAULTS_STALLS="${FAULTS_STALLS:-validator,load}"
export FAULTS_STALL_SECONDS="${FAULTS_STALL_SECONDS:-30}"
stalls=0
[[ "$FAULTS_STALLS" == none ]] || stalls="$(tr ',' '\n' <<<"$FAULTS_STALLS" | grep -c .)"
# A bound from the counts: the start, 3 min per cycle and 4 min plus the stall per stall, at
# least 10 min; well above the measured times, so only a wedged run reaches it.
minutes=$(( 5 + 3 * FAULTS_CYCLES + stalls * (4 + FAULTS_STALL_SECONDS / 60) ))
(( minutes >= 10 )) || minutes=10
export FAULTS_DEADLINE="${minutes}m"
log "seed $FAULTS_SEED: $FAULTS_CYCLES kill cycles, stalls $FAULTS_STALLS of ${FAULTS_STALL_SECONDS}s, bound $FAULTS_DEADLINE"

TRANSFERVM_FAULTS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/transfervm-faults-XXXXXX")"
export TRANSFERVM_PLUGIN LUXD TRANSFERVM_FAULTS_DIR TRANSFERVM_FAULTS=1
cleanup() {
    if [[ -f "$TRANSFERVM_FAULTS_DIR/network.json" ]]; then
        # A stalled node would not act on SIGTERM: continue every node first.
        for pid in $(grep -o '"pid": [0-9]*' "$TRANSFERVM_FAULTS_DIR/network.json" | grep -o '[0-9]*$'); do
            kill -CONT -- "-$pid" 2>/dev/null || true
        done
        LOCALNET_DIR="$TRANSFERVM_FAULTS_DIR" bash "$root/scripts/local-network.sh" stop >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

t0=$(date +%s)
cd "$root/tests/host"
status=0
deadline_s=$(( minutes * 60 ))
timeout --kill-after=30s "$(( deadline_s + 300 ))s" \
    go test -count=1 -v -ldflags="$GO_HOST_LDFLAGS" -timeout "$(( deadline_s + 180 ))s" -run '^TestLocalNetworkFaults$' . \
    2>&1 | tee "$FAULTS_OUT/network.log" || status=$?
cleanup
trap - EXIT
# Nothing of the network may be left running (the test's cleanup checks too).
left="$(pgrep -af -- "$TRANSFERVM_FAULTS_DIR/node" || true)"
if [[ -n "$left" ]]; then
    log "processes of the network still running:"
    echo "$left" >&2
    status=1
fi
if [[ $status -ne 0 || "${LOCALNET_KEEP:-0}" == "1" ]]; then
    log "the network's directory (logs under node*/) is kept: $TRANSFERVM_FAULTS_DIR"
else
    rm -rf "$TRANSFERVM_FAULTS_DIR"
fi
log "seed $FAULTS_SEED: done in $(($(date +%s) - t0)) s (exit $status)"
{
    echo "## network: exit $status, $(($(date +%s) - t0)) s, seed $FAULTS_SEED"
    grep -E "^faults: " "$FAULTS_OUT/network.log" | sed 's/^/   /' || true
} >>"$summary"
log "summary ($FAULTS_OUT/summary.txt):"
cat "$summary"
exit $(( status | overall ))
