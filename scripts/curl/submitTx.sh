#!/usr/bin/env bash
# transfervm.submitTx — sign a transfer from dev key 0 with the CLI, submit it with curl, print
# {"txId": …}. Works as printed against `transfervm dev`; set RPC to use another node and
# TRANSFERVM to use another binary.
set -euo pipefail
RPC=${RPC:-http://127.0.0.1:9650/ext/bc/transfervm/rpc}
TRANSFERVM=${TRANSFERVM:-transfervm}
TO=0x3e98a97444e2a16a0d7fb4a6b39caedf8ac9408e1e4a614f6690645ff1b18412   # dev key 1
TX=$("$TRANSFERVM" tx sign --dev-key 0 --to "$TO" --amount 1000 --rpc "$RPC")
curl -sS -X POST -H 'content-type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"transfervm.submitTx","params":{"tx":"'"$TX"'"}}' "$RPC"
echo
