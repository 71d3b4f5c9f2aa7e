#!/usr/bin/env bash
# transfervm.info — VM name and version, protocol, network and chain IDs, fee and limits.
# Works as printed against `transfervm dev`; set RPC to use another node.
RPC=${RPC:-http://127.0.0.1:9650/ext/bc/transfervm/rpc}
curl -sS -X POST -H 'content-type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"transfervm.info","params":{}}' "$RPC"
echo
