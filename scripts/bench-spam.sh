#!/usr/bin/env bash
# Load run against a fresh `transfervm dev` chain (release build): accepted tx/s, submit->accepted
# latency p50/p99 and rejections, as printed by `transfervm spam`, with the CPU seconds the
# client and the chain each used over the timed part (they share the machine's cores).
#
#   scripts/bench-spam.sh [spam options...]
#   e.g. scripts/bench-spam.sh --txs 300000 --batch 100 --concurrency 8
#        scripts/bench-spam.sh --txs 60000 --batch 1 --concurrency 64
#        scripts/bench-spam.sh --noop-method lastAccepted --requests 200000 --concurrency 64
#          (the same server's no-op rate: answers per second when a request does nothing)
#
# ACCOUNTS (default 10000) load-test accounts are funded by a generated genesis and used as
# senders (--accounts is passed to spam). TRANSFERVM_BIN runs that binary as the chain (and the
# client); TRANSFERVM_CLIENT_BIN runs another binary as the client, so two chains can be measured
# by the same load generator.
set -euo pipefail
accounts="${ACCOUNTS:-10000}"
source "$(dirname "${BASH_SOURCE[0]}")/dev-chain-lib.sh"
client="${TRANSFERVM_CLIENT_BIN:-$bin}"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" genesis --accounts "$accounts" --out "$work/genesis.json"
dev_chain_start "$work/genesis.json"
cpu_before="$(dev_chain_cpu)"
"$client" spam --rpc "$rpc" --accounts "$accounts" --chain-pid "$pid" "$@" || {
    echo "spam failed; the dev chain's log ends with:" >&2
    grep -v 'accepted block' "$work/dev.log" | tail -n 20 >&2
    exit 1
}
echo "dev chain CPU over the whole spam run (presign included): $(awk -v a="$cpu_before" -v b="$(dev_chain_cpu)" 'BEGIN { printf "%.2f", b - a }') s"
echo "dev chain peak RSS: $(dev_chain_rss VmHWM) MB"
