#!/usr/bin/env bash
# transfervm beside the VMs an operator would run instead (issue #12), on the same nodes, under
# the same load, in one run. For 1 and then 3 validators: a fresh local network of luxd v1.10.21
# nodes (scripts/local-network.sh) whose subnet carries a transfervm chain and an xsvm chain (the
# node's own minimal transfer VM, built from the same patched source as luxd:
# tests/host/build-luxd.sh), and a fresh network of avalanchego v1.10.17 nodes
# (LOCALNET_HOST=avalanchego) whose subnet carries a transfervm chain and a subnet-evm v0.5.10
# chain (tests/host/build-subnet-evm.sh; subnet-evm refuses luxd's version string, see
# tests/host/peers/subnet-evm/README.md). On each network each VM's load runs one after
# another, from one program
# (tests/host/cmd/peerbench): the same senders count, sequential nonces with the same window of
# unaccepted transfers per sender, the same request concurrency and duration, transfers signed
# before the timed part. Each run reports accepted transfers/s, p50/p99 submit → accepted (seen
# by polling node 0's blocks every 100 ms), the nodes' CPU seconds (luxd and plugin processes,
# /proc) and disk bytes per 1,000 accepted transfers, and the transfers rejected or lost; every
# transfer counted as accepted is checked against its recipient's balance on every node. Also,
# per VM, the no-op rate through the node's HTTP → gRPC hop (one trivial call per request).
#
#   scripts/bench-peers.sh                 the full run (~10 min after the builds)
#   PEERS_SMOKE=1 scripts/bench-peers.sh   a few hundred transfers per VM on 1 validator, each of
#                                          which must be accepted (the test command runs it)
#
# Environment:
#   PEERS_OUT       directory for the raw results (default: a new temp dir, kept, printed)
#   PEERS_NODES     validator counts to run, space-separated (default "1 3"; smoke: "1")
#   PEERS_SENDERS   sending accounts per VM (default 400, the 64 KiB genesis limit)
#   PEERS_WINDOW    unaccepted transfers per sender (default 16: with 8, transfervm's batches
#                   were bound by the window, 3 200 waiting at ~0.23 s each, near 13 800/s)
#   PEERS_DURATION  time new transfers are sent, per VM run (default 30s)
#   PEERS_WORKERS   requests in flight (default 64)
#   LOCALNET_PROPOSER_MIN_BLOCK_DELAY  the subnet's proposerMinBlockDelay, the same for every
#                   chain on it (default 100ms, as scripts/bench-ratios.sh)
#   PEERS_HOSTS     the networks to run, space-separated (default "luxd avalanchego")
#   TRANSFERVM_PLUGIN / LUXD / AVALANCHEGO / SUBNET_EVM  prebuilt binaries (default: built
#                   here and cached; xsvm beside LUXD)
# subnet-evm's chain: tests/host/peers/subnet-evm/genesis.json with the senders funded, the
# block gas limit raised from 15M to 50M (2 380 transfers a block: with 15M its blocks were full
# at 714 transfers) and feeConfig.targetGas to 1 000 000 000 gas per 10 s, so the base fee stays
# at its minimum under the load (every other setting as there: 1 s target block rate, 25 gwei
# min base fee); its chain config (<node>/configs/chains/<chainID>/config.json, written after the
# chain is created and read as the nodes restart) raises the tx pool to 64 executable
# transactions per account and 16 384 in all (defaults 16 and 5 120, below the 16 per sender and
# 6 400 in all this load keeps waiting), every other setting its default.
# Needs: cargo, Go (>= 1.21), a C compiler (cgo), python3. No stdin is read. Every process it
# starts is stopped when it ends, however it ends.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { echo "bench-peers: $*" >&2; }

# shellcheck source=go-host-lib.sh
source "$root/scripts/go-host-lib.sh"
go_host_env bench-peers.sh

smoke="${PEERS_SMOKE:-0}"
out="${PEERS_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench-peers.XXXXXX")}"
mkdir -p "$out"
results="$out/results.jsonl"
: >"$results"
if [[ "$smoke" == 1 ]]; then
    node_counts="${PEERS_NODES:-1}"
    senders="${PEERS_SENDERS:-20}" window="${PEERS_WINDOW:-4}" duration="${PEERS_DURATION:-90s}"
    workers="${PEERS_WORKERS:-8}" per_sender=10 hop_requests=200 expect=(-expect-all)
else
    node_counts="${PEERS_NODES:-1 3}"
    senders="${PEERS_SENDERS:-400}" window="${PEERS_WINDOW:-16}" duration="${PEERS_DURATION:-30s}"
    workers="${PEERS_WORKERS:-64}" per_sender=0 hop_requests=20000 expect=()
fi
export LOCALNET_PROPOSER_MIN_BLOCK_DELAY="${LOCALNET_PROPOSER_MIN_BLOCK_DELAY:-100ms}"

# Builds: the plugin (release, as an operator installs it), luxd and xsvm, the load program.
if [[ -z "${TRANSFERVM_PLUGIN:-}" ]]; then
    say "cargo build --release --bin transfervm"
    cargo build --release --bin transfervm
    target="${CARGO_TARGET_DIR:-$root/target}"
    [[ "$target" = /* ]] || target="$root/$target"
    TRANSFERVM_PLUGIN="$target/release/transfervm"
fi
hosts="${PEERS_HOSTS:-luxd avalanchego}"
if [[ " $hosts " == *" luxd "* ]]; then
    LUXD="${LUXD:-$(bash tests/host/build-luxd.sh)}"
    export LUXD
    xsvm="$(dirname "$LUXD")/xsvm"
    [[ -x "$xsvm" ]] || { say "no xsvm beside $LUXD (tests/host/build-luxd.sh builds it)"; exit 1; }
fi
if [[ " $hosts " == *" avalanchego "* ]]; then
    AVALANCHEGO="${AVALANCHEGO:-$(bash tests/host/build-avalanchego.sh)}"
    SUBNET_EVM="${SUBNET_EVM:-$(bash tests/host/build-subnet-evm.sh)}"
    export AVALANCHEGO
fi
peerbench="$out/peerbench"
(cd tests/host && go build -ldflags="$GO_HOST_LDFLAGS" -o "$peerbench" ./cmd/peerbench)

"$TRANSFERVM_PLUGIN" genesis --accounts "$senders" --network-id 31337 --out "$out/transfervm-genesis.json" >/dev/null
"$peerbench" xsvm-genesis -senders "$senders" -out "$out/xsvm-genesis.bin"
xsvm_vm_id=v3m4wPxaHpvGr8qfMeyK6PRW3idZrPHmYcMTt7oXdK47yurVH # ids.ID{'x','s','v','m'}
subnet_evm_vm_id=srEXiWaHuhNyGwPUi444Tu47ZEDwxTWrbQiuD7FmgSAQ6X7Dy # "subnetevm", zero-padded
"$peerbench" evm-senders -senders "$senders" -out "$out/evm-senders.txt"
python3 - "$root/tests/host/peers/subnet-evm/genesis.json" "$out/evm-senders.txt" "$out/subnet-evm-genesis.json" <<'PY'
import json, sys
template, senders, out = sys.argv[1:]
g = json.load(open(template))
g["config"]["feeConfig"]["targetGas"] = 1_000_000_000
g["config"]["feeConfig"]["gasLimit"] = 50_000_000
g["gasLimit"] = hex(50_000_000)  # must equal feeConfig.gasLimit
balance = hex(10**30)  # 10^12 coins of 10^18 wei each
g["alloc"] = {a.strip()[2:]: {"balance": balance} for a in open(senders) if a.strip()}
json.dump(g, open(out, "w"), separators=(",", ":"))
PY

net_dir=""
stop_network() {
    if [[ -n "$net_dir" ]]; then
        LOCALNET_DIR="$net_dir" scripts/local-network.sh stop >/dev/null 2>&1 || true
        net_dir=""
    fi
}
trap stop_network EXIT

start_network() { # HOST NODES
    local host="$1" nodes="$2" peers
    net_dir="$out/net-$host-$nodes"
    if [[ "$host" == luxd ]]; then
        peers="xsvm:$xsvm_vm_id:$xsvm:$out/xsvm-genesis.bin"
    else
        peers="subnetevm:$subnet_evm_vm_id:$SUBNET_EVM:$out/subnet-evm-genesis.json"
    fi
    say "starting $nodes $host validator(s) with a transfervm chain and ${peers%%:*} in $net_dir"
    if ! LOCALNET_HOST="$host" LOCALNET_NODES="$nodes" LOCALNET_DIR="$net_dir" LOCALNET_BASE_PORT=0 \
        LOCALNET_GENESIS="$out/transfervm-genesis.json" TRANSFERVM_PLUGIN="$TRANSFERVM_PLUGIN" \
        LOCALNET_PEER_CHAINS="$peers" scripts/local-network.sh start >"$net_dir.log" 2>&1; then
        tail -40 "$net_dir.log" >&2
        say "the $nodes-node $host network did not start (log: $net_dir.log)"
        exit 1
    fi
    if [[ "$host" == avalanchego ]]; then
        # subnet-evm's chain config names the chain by its ID, known once it is created; the
        # nodes read it as they start, so they restart (the network keeps its ports and chains).
        python3 - "$net_dir/network.json" <<'PY'
import json, os, sys
net = json.load(open(sys.argv[1]))
chain = next(p["chainId"] for p in net["peerChains"] if p["name"] == "subnetevm")
config = {"tx-pool-account-slots": 64, "tx-pool-global-slots": 16384,
          "tx-pool-account-queue": 64, "tx-pool-global-queue": 4096}
for node in net["nodes"]:
    d = os.path.join(node["dir"], "configs", "chains", chain)
    os.makedirs(d, exist_ok=True)
    json.dump(config, open(os.path.join(d, "config.json"), "w"))
PY
        if ! { LOCALNET_DIR="$net_dir" scripts/local-network.sh stop &&
            LOCALNET_DIR="$net_dir" TRANSFERVM_PLUGIN="$TRANSFERVM_PLUGIN" scripts/local-network.sh start; } >>"$net_dir.log" 2>&1; then
            tail -40 "$net_dir.log" >&2
            say "the $nodes-node $host network did not restart with subnet-evm's chain config (log: $net_dir.log)"
            exit 1
        fi
    fi
}

load() { # HOST NODES VM BATCH
    local nodes="$2" vm="$3" batch="$4" name="$1-$3-batch$4-$2nodes"
    say "load: $vm, batch $batch, $nodes $1 validator(s)"
    "$peerbench" run -network "$net_dir" -vm "$vm" -batch "$batch" -senders "$senders" -window "$window" \
        -workers "$workers" -duration "$duration" -per-sender "$per_sender" -label "$name" ${expect[@]+"${expect[@]}"} \
        >>"$results" 2>"$out/$name.err" || { cat "$out/$name.err" >&2; say "$name failed"; exit 1; }
    tail -1 "$out/$name.err" >&2
}

hop() { # HOST NODES VM
    local name="$1-hop-$3-$2nodes"
    "$peerbench" hop -network "$net_dir" -vm "$3" -requests "$hop_requests" -workers "$workers" \
        >>"$results" 2>"$out/$name.err" || { cat "$out/$name.err" >&2; exit 1; }
    tail -1 "$out/$name.err" >&2
}

say "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "{\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"proposerMinBlockDelay\":\"$LOCALNET_PROPOSER_MIN_BLOCK_DELAY\",\"senders\":$senders,\"window\":$window,\"duration\":\"$duration\",\"workers\":$workers}" >>"$results"
for nodes in $node_counts; do
    for host in $hosts; do
        peer=xsvm
        [[ "$host" == luxd ]] || peer=subnet-evm
        start_network "$host" "$nodes"
        hop "$host" "$nodes" transfervm
        hop "$host" "$nodes" "$peer"
        load "$host" "$nodes" transfervm 100
        [[ "$peer" == xsvm ]] || load "$host" "$nodes" "$peer" 100 # xsvm's API has no batch call
        load "$host" "$nodes" transfervm 1
        load "$host" "$nodes" "$peer" 1
        stop_network
    done
done
say "results: $results"
python3 "$root/scripts/peers-table.py" "$results"
