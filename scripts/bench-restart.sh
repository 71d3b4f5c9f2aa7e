#!/usr/bin/env bash
# Resident memory and restart time of `transfervm dev` with many funded accounts
# (issue #5's targets: <= 150 MB resident and <= 1 s restart for 1M accounts).
#
#   scripts/bench-restart.sh [ACCOUNTS]        (default 1000000; release build)
#
# Writes a genesis with ACCOUNTS funded load-test accounts, starts a dev chain on it (first
# start: genesis written to the store), stops it with SIGTERM, then restarts it RUNS (default 5)
# times on the same data directory, timing each from exec to the first JSON-RPC answer and
# reading VmRSS/VmHWM from /proc once it answers.
set -euo pipefail
accounts="${1:-1000000}"
runs="${RUNS:-5}"
source "$(dirname "${BASH_SOURCE[0]}")/dev-chain-lib.sh"
"$bin" genesis --accounts "$accounts" --out "$work/genesis.json"

dev_chain_start "$work/genesis.json"
echo "accounts $accounts: first start (writes the genesis state) ${elapsed} ms, RSS $(dev_chain_rss VmRSS) MB (peak $(dev_chain_rss VmHWM) MB)"
dev_chain_stop
for i in $(seq 1 "$runs"); do
    dev_chain_start "$work/genesis.json"
    echo "restart $i: ${elapsed} ms to first answer, RSS $(dev_chain_rss VmRSS) MB (peak $(dev_chain_rss VmHWM) MB)"
    dev_chain_stop
done
echo "store on disk: $(du -sh "$work/data" | cut -f1)"
