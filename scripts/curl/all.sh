#!/usr/bin/env bash
# Runs every example in this folder against a running `transfervm dev` (or $RPC), stopping at
# the first one that fails or answers a JSON-RPC error.
set -euo pipefail
cd "$(dirname "$0")"
for method in info account balance lastAccepted getBlock submitTx submitTxs simulateTx txStatus accountTransfers; do
  echo "== transfervm.$method"
  out=$(bash "$method.sh")
  echo "$out"
  case "$out" in
    *'"error"'*) echo "example $method answered an error" >&2; exit 1 ;;
    *'"result"'*) ;;
    *) echo "example $method answered no result" >&2; exit 1 ;;
  esac
done
echo "all examples answered"
