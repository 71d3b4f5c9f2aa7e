#!/usr/bin/env bash
# transfervm.account — balance, next nonce (accepted) and pending nonce of dev key 0.
# Works as printed against `transfervm dev`; set RPC to use another node.
RPC=${RPC:-http://127.0.0.1:9650/ext/bc/transfervm/rpc}
curl -sS -X POST -H 'content-type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"transfervm.account","params":{"address":"0xf3a09cf0c03a5ce0be2b3bc6c61ba085aadc5d5f5d8f6c060a3815a92c04f666"}}' "$RPC"
echo
