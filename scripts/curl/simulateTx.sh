#!/usr/bin/env bash
# transfervm.simulateTx — check a signed transfer without submitting it: {"ok": true|false, …}.
# Works as printed against `transfervm dev`.
set -euo pipefail
RPC=${RPC:-http://127.0.0.1:9650/ext/bc/transfervm/rpc}
TRANSFERVM=${TRANSFERVM:-transfervm}
TX=$("$TRANSFERVM" tx sign --dev-key 4 --to 0xabababababababababababababababababababababababababababababababab --amount 5 --rpc "$RPC")
curl -sS -X POST -H 'content-type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"transfervm.simulateTx","params":{"tx":"'"$TX"'"}}' "$RPC"
echo
