#!/usr/bin/env bash
# State sync benchmark (issue #13): TestLocalNetworkStateSync (tests/host/statesync_test.go)
# at benchmark scale. Three luxd v1.10.21 validators (scripts/local-network.sh, the chain
# config's stateSync.summaryInterval the same on every node) build a chain of 100 000 new
# accounts over at least 3 000 blocks (rounds of ~34 transfers, each waited for: about one
# block a round; the subnet's proposerMinBlockDelay 0s), then a fourth node joins as a
# non-validator with state sync on (local-network.sh add-node) and a fifth with it off (it
# replays every block). Each is timed from its start until its chain answers and until it has
# the validators' last accepted height and stateDigest; then transfers sent through the fourth
# must be accepted on all five with equal balances. It prints the test's result lines and the
# result as JSON (also kept in $BENCH_STATESYNC_OUT/result.json). Measured on 2 cores
# (2026-12-02, plugin of 92d1831): 6.4 min in all, of which 45 s to start the network and
# 271 s of load (11 blocks/s, 370 transfers/s); the fourth node state-synced to height 2 944
# (100 007 accounts fetched and checked in 2.2 s) and had the validators' height 3 000 and
# stateDigest 3.6 s after its start, the fifth replayed the 3 000 blocks in 33.8 s.
#
# Until the plugin state-syncs (the stateSync chain config key refused, or StateSyncEnabled
# false) the fourth node replays too, and the result says so (plugin.configKnown,
# plugin.enabled, joined[0].synced); STATESYNC_EXPECT_SYNC=1 makes that a failure.
#
# Environment (the test reads STATESYNC_*; this script only changes their defaults):
#   STATESYNC_ACCOUNTS          new accounts (default here 100000)
#   STATESYNC_BLOCKS            least number of blocks (default here 3000)
#   STATESYNC_SUMMARY_INTERVAL  stateSync.summaryInterval (default 64)
#   STATESYNC_MIN_BLOCKS_AHEAD  stateSync.minBlocksAhead (default: the VM's, the interval)
#   STATESYNC_EXPECT_SYNC=1     fail unless the fourth node really state-synced
#   STATESYNC_NODE_TIMEOUT      limit per joining node (default here 40m)
#   STATESYNC_DEADLINE          limit of the whole test (default here 100m)
#   LOCALNET_PROPOSER_MIN_BLOCK_DELAY  the subnet's proposerMinBlockDelay (default 0s)
#   BENCH_STATESYNC_OUT         directory for result.json and test.log (default: a new one in
#                               $TMPDIR); the network's own directory is inside it and removed
#                               after a passing run (LOCALNET_KEEP=1 keeps it)
#   TRANSFERVM_PLUGIN           plugin binary (default: cargo build --release, then
#                               target/release/transfervm; SKIP_CARGO_BUILD=1 skips the build)
#   LUXD                        luxd binary (default: tests/host/build-luxd.sh, cached)
# Needs: cargo, Go (>= 1.21), a C compiler (cgo). Every process it starts is stopped when it
# ends, however it ends.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
here="$root/tests/host"
say() { echo "bench-statesync: $*" >&2; }

# shellcheck source=go-host-lib.sh
source "$root/scripts/go-host-lib.sh"
go_host_env bench-statesync.sh

if [[ -z "${TRANSFERVM_PLUGIN:-}" ]]; then
    target_dir="${CARGO_TARGET_DIR:-$root/target}"
    [[ "$target_dir" = /* ]] || target_dir="$root/$target_dir"
    if [[ "${SKIP_CARGO_BUILD:-0}" != "1" ]]; then
        say "cargo build --release --bin transfervm"
        (cd "$root" && cargo build --release --bin transfervm)
    fi
    TRANSFERVM_PLUGIN="$target_dir/release/transfervm"
fi
export TRANSFERVM_PLUGIN
LUXD="${LUXD:-$(bash "$here/build-luxd.sh")}"
export LUXD
say "plugin $TRANSFERVM_PLUGIN; luxd $LUXD ($("$LUXD" --version))"

out="${BENCH_STATESYNC_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench-statesync.XXXXXX")}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
net="$out/network"
mkdir -p "$net"
cleanup() {
    if [[ -f "$net/network.json" ]]; then
        # The test stops its nodes itself; this covers a killed go test.
        LOCALNET_HOST="" LOCALNET_DIR="$net" bash "$root/scripts/local-network.sh" stop >/dev/null 2>&1 || true
    fi
    rmdir "$net" 2>/dev/null || true
}
trap cleanup EXIT

export TRANSFERVM_STATESYNC=1 TRANSFERVM_STATESYNC_DIR="$net" STATESYNC_RESULT_FILE="$out/result.json"
export STATESYNC_ACCOUNTS="${STATESYNC_ACCOUNTS:-100000}" STATESYNC_BLOCKS="${STATESYNC_BLOCKS:-3000}"
export STATESYNC_NODE_TIMEOUT="${STATESYNC_NODE_TIMEOUT:-40m}" STATESYNC_DEADLINE="${STATESYNC_DEADLINE:-100m}"
say "$STATESYNC_ACCOUNTS accounts over at least $STATESYNC_BLOCKS blocks; output in $out"
rm -f "$out/result.json"
status=0
t0=$(date +%s)
(cd "$here" && LOCALNET_HOST=luxd timeout --kill-after=30s 115m \
    go test -count=1 -v -ldflags="$GO_HOST_LDFLAGS" -timeout 110m -run '^TestLocalNetworkStateSync$' .) \
    >"$out/test.log" 2>&1 || status=$?
grep -E '^statesync: |^(--- |FAIL|ok )' "$out/test.log" || true
if [[ -f "$out/result.json" ]]; then
    cat "$out/result.json"
fi
if ((status != 0)); then
    tail -60 "$out/test.log" >&2
    say "the test failed (exit $status) after $(($(date +%s) - t0)) s; its log: $out/test.log"
    exit "$status"
fi
say "done in $(($(date +%s) - t0)) s; result $out/result.json, log $out/test.log"
