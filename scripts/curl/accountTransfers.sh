#!/usr/bin/env bash
# transfervm.accountTransfers — dev key 0's accepted transfers, newest first, one per page,
# then the next page with the cursor the first one returned (when there is one).
# Needs the account-history index: on by default on `transfervm dev`, `"accountHistory": true`
# in the chain config on a node. Works as printed against `transfervm dev`; set RPC to use another node.
set -euo pipefail
RPC=${RPC:-http://127.0.0.1:9650/ext/bc/transfervm/rpc}
ADDRESS=0xf3a09cf0c03a5ce0be2b3bc6c61ba085aadc5d5f5d8f6c060a3815a92c04f666
PAGE=$(curl -sS -X POST -H 'content-type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"transfervm.accountTransfers","params":{"address":"'"$ADDRESS"'","limit":1}}' "$RPC")
echo "$PAGE"
CURSOR=$(echo "$PAGE" | sed -nE 's/.*"nextCursor":"([^"]+)".*/\1/p')
if [ -n "$CURSOR" ]; then
  curl -sS -X POST -H 'content-type: application/json' \
    -d '{"jsonrpc":"2.0","id":2,"method":"transfervm.accountTransfers","params":{"address":"'"$ADDRESS"'","limit":1,"cursor":"'"$CURSOR"'"}}' "$RPC"
  echo
fi
