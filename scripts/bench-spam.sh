#!/usr/bin/env bash
# Load run against a fresh `transfervm dev` chain (release build): accepted tx/s, submit->accepted
# latency p50/p99 and rejections, as printed by `transfervm spam`.
#
#   scripts/bench-spam.sh [spam options...]
#   e.g. scripts/bench-spam.sh --txs 200000 --batch 100 --concurrency 8
#        scripts/bench-spam.sh --txs 50000 --batch 1 --concurrency 64
#
# ACCOUNTS (default 10000) load-test accounts are funded by a generated genesis and used as
# senders (--accounts is passed to spam). The chain listens on 127.0.0.1 on a free port, its data
# directory is temporary, and it is stopped at the end.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
accounts="${ACCOUNTS:-10000}"
bin="${TRANSFERVM_BIN:-$root/target/release/transfervm}"
[[ -n "${TRANSFERVM_BIN:-}" ]] || (cd "$root" && cargo build --release --bin transfervm >&2)
work="$(mktemp -d "${TMPDIR:-/tmp}/transfervm-spam-XXXXXX")"
pid=""
cleanup() {
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
rpc="http://127.0.0.1:$port/ext/bc/transfervm/rpc"
"$bin" genesis --accounts "$accounts" --out "$work/genesis.json"
"$bin" dev --addr "127.0.0.1:$port" --data-dir "$work/data" --genesis "$work/genesis.json" >"$work/dev.log" 2>&1 &
pid=$!
until curl -sf -o /dev/null -X POST -H 'content-type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"transfervm.info"}' "$rpc"; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/dev.log" >&2; exit 1; }
    sleep 0.05
done
"$bin" spam --rpc "$rpc" --accounts "$accounts" "$@"
echo "dev chain peak RSS: $(awk '$1=="VmHWM:" {printf "%.1f MB", $2/1024}' "/proc/$pid/status")"
