#!/usr/bin/env bash
# transfervm.submitTxs — submit two transfers from dev key 2 in one call; one result or error
# per transaction, in order. Works as printed against `transfervm dev`.
set -euo pipefail
RPC=${RPC:-http://127.0.0.1:9650/ext/bc/transfervm/rpc}
TRANSFERVM=${TRANSFERVM:-transfervm}
TO=0xcdd3b5055b4673910b259ae5777e00e0b987b1e1fe3c77facdbbfe27fa54813c   # dev key 3
NONCE=$(curl -sS -X POST -H 'content-type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"transfervm.account","params":{"address":"0xa4d552f8b766bcd6b322d41bdcf8cd4f547bf01587655131a39034c99051fd1d"}}' "$RPC" \
  | sed -E 's/.*"pendingNonce":([0-9]+).*/\1/')
A=$("$TRANSFERVM" tx sign --dev-key 2 --to "$TO" --amount 10 --nonce "$NONCE" --rpc "$RPC")
B=$("$TRANSFERVM" tx sign --dev-key 2 --to "$TO" --amount 20 --nonce $((NONCE + 1)) --rpc "$RPC")
curl -sS -X POST -H 'content-type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"transfervm.submitTxs","params":{"txs":["'"$A"'","'"$B"'"]}}' "$RPC"
echo
