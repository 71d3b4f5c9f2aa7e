# Shared by scripts/bench-*.sh (sourced, not run): a release `transfervm dev` chain on a load-test
# genesis, on 127.0.0.1 at a free port, with a temporary data directory, stopped on exit.
#
# After sourcing: $bin (the binary), $work (temporary directory), $rpc (JSON-RPC URL);
# dev_chain_start GENESIS (sets $pid and $elapsed, the ms from exec to the first answer),
# dev_chain_stop, dev_chain_rss VmRSS|VmHWM (MB), dev_chain_cpu (CPU seconds so far). Honours
# TRANSFERVM_BIN (skips the build).

dev_chain_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${TRANSFERVM_BIN:-$dev_chain_root/target/release/transfervm}"
[[ -n "${TRANSFERVM_BIN:-}" ]] || (cd "$dev_chain_root" && cargo build --release --bin transfervm >&2)
work="$(mktemp -d "${TMPDIR:-/tmp}/transfervm-bench-XXXXXX")"
pid=""
dev_chain_cleanup() {
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap dev_chain_cleanup EXIT
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
rpc="http://127.0.0.1:$port/ext/bc/transfervm/rpc"

dev_chain_start() {
    local t0
    t0=$(date +%s%3N)
    "$bin" dev --addr "127.0.0.1:$port" --data-dir "$work/data" --genesis "$1" >"$work/dev.log" 2>&1 &
    pid=$!
    until curl -sf -o /dev/null -X POST -H 'content-type: application/json' \
        -d '{"jsonrpc":"2.0","id":1,"method":"transfervm.info"}' "$rpc"; do
        kill -0 "$pid" 2>/dev/null || { cat "$work/dev.log" >&2; exit 1; }
        sleep 0.01
    done
    elapsed=$(($(date +%s%3N) - t0))
}

dev_chain_stop() {
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
}

dev_chain_rss() {
    awk -v k="$1:" '$1==k {printf "%.1f", $2/1024}' "/proc/$pid/status"
}

# CPU seconds (user + system) the dev chain has used so far, from /proc/<pid>/stat.
dev_chain_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$pid/stat"
}
