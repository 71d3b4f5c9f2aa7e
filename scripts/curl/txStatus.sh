#!/usr/bin/env bash
# transfervm.txStatus and transfervm.getTx — submit a transfer, then follow it to "accepted".
# Usage: txStatus.sh [TXID]  (without TXID it submits one from dev key 0 first).
# Works as printed against `transfervm dev`.
set -euo pipefail
RPC=${RPC:-http://127.0.0.1:9650/ext/bc/transfervm/rpc}
TRANSFERVM=${TRANSFERVM:-transfervm}
TXID=${1:-}
if [ -z "$TXID" ]; then
  TX=$("$TRANSFERVM" tx sign --dev-key 0 --to 0xabababababababababababababababababababababababababababababababab --amount 7 --rpc "$RPC")
  TXID=$(curl -sS -X POST -H 'content-type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"transfervm.submitTx","params":{"tx":"'"$TX"'"}}' "$RPC" \
    | sed -E 's/.*"txId":"([^"]+)".*/\1/')
fi
for _ in $(seq 1 50); do
  STATUS=$(curl -sS -X POST -H 'content-type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"transfervm.txStatus","params":{"txId":"'"$TXID"'"}}' "$RPC")
  case "$STATUS" in *'"status":"pending"'*|*'"status":"processing"'*) sleep 0.1 ;; *) break ;; esac
done
echo "$STATUS"
curl -sS -X POST -H 'content-type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"transfervm.getTx","params":{"txId":"'"$TXID"'"}}' "$RPC"
echo
