#!/usr/bin/env bash
# Load run against a fresh `transfervm dev` chain (release build): accepted tx/s, submit->accepted
# latency p50/p99 and rejections, as printed by `transfervm spam`.
#
#   scripts/bench-spam.sh [spam options...]
#   e.g. scripts/bench-spam.sh --txs 300000 --batch 100 --concurrency 8
#        scripts/bench-spam.sh --txs 60000 --batch 1 --concurrency 64
#
# ACCOUNTS (default 10000) load-test accounts are funded by a generated genesis and used as
# senders (--accounts is passed to spam).
set -euo pipefail
accounts="${ACCOUNTS:-10000}"
source "$(dirname "${BASH_SOURCE[0]}")/dev-chain-lib.sh"
"$bin" genesis --accounts "$accounts" --out "$work/genesis.json"
dev_chain_start "$work/genesis.json"
"$bin" spam --rpc "$rpc" --accounts "$accounts" "$@"
echo "dev chain peak RSS: $(dev_chain_rss VmHWM) MB"
