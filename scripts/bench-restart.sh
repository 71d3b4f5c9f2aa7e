#!/usr/bin/env bash
# Resident memory and restart time of `transfervm dev` with many funded accounts
# (issue #5's targets: <= 150 MB resident and <= 1 s restart for 1M accounts).
#
#   scripts/bench-restart.sh [ACCOUNTS]        (default 1000000; release build)
#
# Writes a genesis with ACCOUNTS funded load-test accounts, starts a dev chain on it (first
# start: genesis written to the store), stops it with SIGTERM, then restarts it RUNS times on
# the same data directory, timing each from exec to the first JSON-RPC answer and reading
# VmRSS/VmHWM from /proc once it answers. Everything binds to 127.0.0.1 on a free port and is
# stopped at the end.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
accounts="${1:-1000000}"
runs="${RUNS:-5}"
bin="${TRANSFERVM_BIN:-$root/target/release/transfervm}"
[[ -n "${TRANSFERVM_BIN:-}" ]] || (cd "$root" && cargo build --release --bin transfervm >&2)
work="$(mktemp -d "${TMPDIR:-/tmp}/transfervm-restart-XXXXXX")"
pid=""
cleanup() {
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port/ext/bc/transfervm/rpc"
"$bin" genesis --accounts "$accounts" --out "$work/genesis.json"

now_ms() { date +%s%3N; }
# Starts the chain and waits for its first JSON-RPC answer; sets pid and elapsed (ms).
start() {
    local t0; t0=$(now_ms)
    "$bin" dev --addr "127.0.0.1:$port" --data-dir "$work/data" --genesis "$work/genesis.json" \
        >"$work/dev.log" 2>&1 &
    pid=$!
    until curl -sf -o /dev/null -X POST -H 'content-type: application/json' \
        -d '{"jsonrpc":"2.0","id":1,"method":"transfervm.info"}' "$url"; do
        kill -0 "$pid" 2>/dev/null || { cat "$work/dev.log" >&2; exit 1; }
        sleep 0.01
    done
    elapsed=$(($(now_ms) - t0))
}
rss() { awk -v k="$1:" '$1==k {printf "%.1f", $2/1024}' "/proc/$pid/status"; }
stop() { kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

start
echo "accounts $accounts: first start (writes the genesis state) ${elapsed} ms, RSS $(rss VmRSS) MB (peak $(rss VmHWM) MB)"
stop
for i in $(seq 1 "$runs"); do
    start
    echo "restart $i: ${elapsed} ms to first answer, RSS $(rss VmRSS) MB (peak $(rss VmHWM) MB)"
    stop
done
echo "store on disk: $(du -sh "$work/data" | cut -f1)"
