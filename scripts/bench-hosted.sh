#!/usr/bin/env bash
# Block verify + accept on the hosted store, against the raw batch verify, in one run.
#
#   scripts/bench-hosted.sh [criterion args...]
#
# Builds tests/host/cmd/rpcdbserver (the real host's rpcdb gRPC server over a real LevelDB,
# github.com/luxdefi/node as pinned in tests/host/go.mod, with the database layers luxd puts
# between LevelDB and a chain), starts it on a fresh directory, and runs
#
#   cargo bench --bench blocks -- "$BENCH_HOSTED_FILTER" [criterion args...]
#
# with TRANSFERVM_BENCH_RPCDB_ADDR set, so that the bench's `hosted_1M_accounts` follower
# verifies and accepts blocks through the plugin's own rpcdb client against that server over
# loopback. The default filter, 'raw_batch_verify|block_verify_accept/(memory|hosted)_',
# measures the raw baseline (one core and all cores), the hosted follower and the in-memory
# one (the same chain work without a store's cost: the ceiling of the hosted figure); the
# bench's fixture (1M funded accounts, also written once through rpcdb) takes about a minute
# before the first figure; the whole run about six on an idle machine. At the end it prints, per block size, the raw all-cores rate, the
# in-memory and hosted rates and their ratios to the raw one (issue #11's target for hosted:
# >= 0.5), from criterion's medians of this run.
#
# The server is always stopped and the directory removed, however the run ends.
#
# Environment:
#   BENCH_HOSTED_FILTER   criterion filter (default above)
#   BENCH_HOSTED_TMPDIR   parent of the LevelDB directory (default $TMPDIR or /tmp); LevelDB
#                         holds ~0.2 GB after a full run
#   RPCDB_SERVER_STACK    luxd (default) or leveldb (see scripts/rpcdb-server-lib.sh)
#   CARGO_TARGET_DIR      as for cargo; the server binary is built under it too
# Needs: cargo, Go (>= 1.21), a C compiler (cgo, as tests/host), jq for the summary.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/rpcdb-server-lib.sh
source "$root/scripts/rpcdb-server-lib.sh"

filter="${BENCH_HOSTED_FILTER:-raw_batch_verify|block_verify_accept/(memory|hosted)_}"
target="${CARGO_TARGET_DIR:-$root/target}"
[[ "$target" = /* ]] || target="$root/$target"

work="$(mktemp -d "${BENCH_HOSTED_TMPDIR:-${TMPDIR:-/tmp}}/transfervm-bench-hosted.XXXXXX")"
bench_pgid=""
cleanup() {
    # A signal may arrive while the bench runs: end it (cargo and the bench binary, its own
    # process group) before the server it writes to.
    if [[ -n "$bench_pgid" ]]; then
        kill -TERM -- "-$bench_pgid" 2>/dev/null || true
        wait "$bench_pgid" 2>/dev/null || true
    fi
    rpcdb_server_stop
    rm -rf "$work"
}
trap cleanup EXIT
# A signal ends the script through the EXIT trap.
trap 'exit 130' INT
trap 'exit 143' TERM

rpcdb_server_build
# Built before the server starts, so the build does not share the cores with it.
cargo bench --bench blocks --no-run
rpcdb_server_start "$work/leveldb"
touch "$work/started"
echo "bench-hosted: load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# In the background and waited for, so that a signal runs the cleanup at once rather than after
# the bench (bash runs traps only between commands); in a session of its own (setsid, which
# does not fork here: a background job is no group leader) so the cleanup can end cargo and the
# bench binary together.
TRANSFERVM_BENCH_RPCDB_ADDR="$RPCDB_SERVER_ADDR" \
    setsid cargo bench --bench blocks -- "$filter" "$@" &
bench_pgid=$!
bench_status=0
wait "$bench_pgid" || bench_status=$?
bench_pgid=""
if ((bench_status != 0)); then
    echo "bench-hosted: cargo bench failed (status $bench_status)" >&2
    exit "$bench_status"
fi

# The summary: criterion's median (ns per block) of each bench this run wrote.
median_ns() {
    local file="$target/criterion/$1/new/estimates.json"
    [[ -f "$file" && "$file" -nt "$work/started" ]] || return 1
    jq -r '.median.point_estimate' "$file"
}
if ! command -v jq >/dev/null 2>&1; then
    echo "bench-hosted: jq not found, no summary (criterion's report is above)" >&2
    exit 0
fi
sizes="$(ls "$target/criterion/block_verify_accept/hosted_1M_accounts" 2>/dev/null |
    grep -E '^[0-9]+$' | sort -n || true)"
rate() { awk -v n="$1" -v ns="$2" 'BEGIN { printf "%.0f", n / ns * 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
echo
echo "blocks of | raw batch verify, all cores (sig/s) | in memory (tx/s) | ratio | hosted (tx/s) | ratio"
for n in $sizes; do
    raw_ns="$(median_ns "raw_batch_verify/all_cores/$n")" || continue
    hosted_ns="$(median_ns "block_verify_accept/hosted_1M_accounts/$n")" || continue
    raw="$(rate "$n" "$raw_ns")"
    hosted="$(rate "$n" "$hosted_ns")"
    memory="-" memory_ratio="-"
    if memory_ns="$(median_ns "block_verify_accept/memory_1M_accounts/$n")"; then
        memory="$(rate "$n" "$memory_ns")"
        memory_ratio="$(ratio "$raw" "$memory")"
    fi
    echo "$n | $raw | $memory | $memory_ratio | $hosted | $(ratio "$raw" "$hosted")"
done
