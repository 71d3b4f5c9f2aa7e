#!/usr/bin/env bash
# A local network of real Lux nodes (luxd, github.com/luxdefi/node as pinned in
# tests/host/go.mod; or avalanchego v1.10.17 or v1.11.9: LOCALNET_HOST below) on 127.0.0.1
# running transfervm as a plugin.
#
#   scripts/local-network.sh start        build what is missing, start the nodes, create the
#                                         subnet and the chain (first time), give every node
#                                         the alias `transfervm`, print each node's JSON-RPC
#                                         URL; the network keeps running
#   scripts/local-network.sh status       each node's process, URLs and last accepted height
#   scripts/local-network.sh stop         stop every process the directory's network started:
#                                         each luxd it recorded (by pid and start time, so a
#                                         reused pid is never signalled) and their plugins
#   scripts/local-network.sh kill N       SIGKILL node N (for failure tests; `start` restarts it)
#   scripts/local-network.sh add-node [-chain-config JSON] [-wait=false]
#                                         add a node to the running network: a non-validator
#                                         (of the primary network and of the subnet) that tracks
#                                         the subnet and bootstraps the chain from the validators,
#                                         with its own transfervm chain config, e.g.
#                                         -chain-config '{"stateSync":{"enabled":true,"summaryInterval":64}}';
#                                         it waits until the node serves the chain at its alias
#                                         URL (-wait=false: only until its process runs). The
#                                         node is the network's next index: stop, status, kill
#                                         and start take it like the others
#   LOCALNET_HOST=avalanchego LOCALNET_AVALANCHEGO_VERSION=v1.11.9 scripts/local-network.sh start
#                                         start a network of avalanchego v1.11.9 nodes
#                                         (rpcchainvm 35); later commands on its directory
#                                         need no LOCALNET_* to know it
#
# `start` on a directory that already holds a network restarts the nodes that are not
# running and reuses its subnet and chain. To start afresh: stop, then delete the directory.
#
# What `start` does the first time (tests/host/cmd/localnet, using the host's own packages):
# generates staking certificates and a genesis for custom network 31337 with the nodes as
# its initial validators and the public test key "ewoq" funded; starts the nodes with the
# plugin in each --plugin-dir as <VM ID> (<VM ID>.rpcchainvm35 on avalanchego v1.11.9);
# creates the subnet, adds every node as a subnet
# validator and creates the chain from the genesis file with P-chain transactions signed by
# ewoq through wallet/subnet/primary; restarts the nodes with --track-subnets.
#
# Every `start` (the first, and each one that restarts stopped or killed nodes) then gives
# every node the chain alias `transfervm` with admin.aliasChain, so that
# http://127.0.0.1:<port>/ext/bc/transfervm/rpc (the dev chain's URL and the CLI's default)
# answers on the nodes as /ext/bc/<chainID>/rpc does. It retries, at most 2 minutes per node,
# until the call succeeds and the alias URL answers transfervm.lastAccepted. Why a call and
# not an aliases file, and why after every restart (luxdefi/node v1.10.21): an aliases file
# names the chain only inside the node, with no HTTP route (node/node.go:1420-1426, only
# genesis aliases get routes at node/node.go:1432-1445); admin.aliasChain adds the route
# (api/admin/service.go:157-183) but only once the node has created the chain
# (chains/manager.go:396), only in memory (ids/aliases.go:57-62), and refuses an alias the
# aliases file already holds (ids/aliases.go:100-106). The nodes therefore run with
# --api-admin-enabled=true, on 127.0.0.1 only. Details: aliasChain in tests/host/cmd/localnet.
#
# Environment:
#   LOCALNET_DIR         state directory (default /tmp/transfervm-localnet)
#   LOCALNET_NODES       number of nodes for a new network (default 3)
#   LOCALNET_BASE_PORT   node i gets HTTP base+2i and staking base+2i+1 (default 9650; an added
#                        node too); a busy port stops a new network's start (or add-node) with
#                        one line naming it; 0 uses free ports the kernel picks
#   LOCALNET_GENESIS     transfervm genesis (default genesis/local.json); at most ~64 KB, the
#                        P-chain's limit for the CreateChainTx (`transfervm genesis --accounts 400`
#                        fits; 1000 accounts do not)
#   LOCALNET_LOG_LEVEL   the nodes' log level (default info)
#   LOCALNET_TIMEOUT     time limit for `start` and `add-node` (default 10m)
#   LOCALNET_CHAIN_CONFIG
#                        the transfervm chain's config (a JSON object: the config bytes luxd
#                        hands the VM) for the validators, the nodes `start` creates; written to
#                        <node>/configs/chains/<chainID>/config.json as they start, kept for later
#                        starts of the directory; set to {} to remove it. Unset: the recorded one
#                        (none for a new network). Nodes of add-node have their own (-chain-config)
#   LOCALNET_PROPOSER_MIN_BLOCK_DELAY
#                        the transfervm subnet's proposerMinBlockDelay on every node (a Go
#                        duration, e.g. 0s or 250ms; kept for later starts of the directory).
#                        Unset: luxd's default, 1s, which with the default maxBlockTxs of 7 500
#                        caps the chain near 15k transfers/s (BENCHMARKS.md)
#   LOCALNET_PEER_CHAINS chains of other VMs to create on the same subnet with a new network,
#                        space-separated NAME:VMID:PLUGIN:GENESIS (scripts/bench-peers.sh uses it);
#                        NAME is the chain's name on the P-chain: ASCII letters, digits, spaces
#   TRANSFERVM_PLUGIN    plugin binary to install (default: cargo build --bin transfervm)
#   LUXD                 luxd binary to run (default: tests/host/build-luxd.sh builds and caches it)
#   LOCALNET_HOST        the node software of a new network: luxd (default) or avalanchego.
#                        A network keeps its host and version (network.json "host" and
#                        "hostVersion"), so later commands need not repeat them.
#                        avalanchego: the node is $AVALANCHEGO or tests/host/build-avalanchego.sh's
#                        build of LOCALNET_AVALANCHEGO_VERSION, and tests/host/cmd/localnet is
#                        compiled against that avalanchego from a copy with its imports swapped
#                        (build_localnet_avalanchego below); the nodes' flags, genesis and layout
#                        are luxd's (tests/host/cmd/localnet/host_avalanchego*.go hold the
#                        differences)
#   LOCALNET_AVALANCHEGO_VERSION
#                        with LOCALNET_HOST=avalanchego, the version of a new network:
#                          v1.10.17 (default) rpcchainvm protocol 30, where subnet-evm v0.5.10
#                                   runs (issue #12, scripts/bench-peers.sh)
#                          v1.11.9            rpcchainvm protocol 35 (issue #16; the end-to-end
#                                   test's second network)
#                        The plugin speaks the node's protocol: it is installed as
#                        plugins/<VM ID> on protocol 30 and plugins/<VM ID>.rpcchainvm35 on 35
#                        (the name it reads its protocol from; the node drops the extension)
#   AVALANCHEGO          avalanchego binary to run with LOCALNET_HOST=avalanchego (default:
#                        tests/host/build-avalanchego.sh builds and caches it); its --version
#                        must be LOCALNET_AVALANCHEGO_VERSION's
# Needs: cargo, Go (>= 1.21) and a C compiler (cgo). No stdin is read.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { echo "local-network: $*" >&2; }

cmd="${1:-}"
dir="${LOCALNET_DIR:-/tmp/transfervm-localnet}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

# shellcheck source=go-host-lib.sh
source "$root/scripts/go-host-lib.sh"

# The host: LOCALNET_HOST, else the one the directory's network records, else luxd; for
# avalanchego its version likewise (a network recorded without one is v1.10.17's).
recorded_host="" recorded_version=""
if [[ -f "$dir/network.json" ]]; then
    recorded_host="$(sed -n 's/^  "host": "\([a-z]*\)",\{0,1\}$/\1/p' "$dir/network.json")"
    recorded_version="$(sed -n 's/^  "hostVersion": "\(v[0-9.]*\)",\{0,1\}$/\1/p' "$dir/network.json")"
fi
host="${LOCALNET_HOST:-${recorded_host:-luxd}}"
case "$host" in
luxd | avalanchego) ;;
*) log "LOCALNET_HOST must be luxd or avalanchego, not '$host'"; exit 2 ;;
esac
avago_version=""
if [[ "$host" == avalanchego ]]; then
    avago_version="${LOCALNET_AVALANCHEGO_VERSION:-${recorded_version:-v1.10.17}}"
    case "$avago_version" in
    v1.10.17 | v1.11.9) ;;
    *) log "LOCALNET_AVALANCHEGO_VERSION must be v1.10.17 or v1.11.9, not '$avago_version'"; exit 2 ;;
    esac
fi
# An existing network keeps its host: asking for another one is a mistake, said before
# anything is built (stop, status and kill just use the recorded one).
if [[ -f "$dir/network.json" ]]; then
    recorded_host="${recorded_host:-luxd}"
    [[ "$recorded_host" != avalanchego ]] || recorded_version="${recorded_version:-v1.10.17}"
    if [[ "$host $avago_version" != "$recorded_host $recorded_version" ]]; then
        if [[ "$cmd" == start ]]; then
            log "$dir holds a network of $recorded_host $recorded_version nodes, not $host $avago_version: use another LOCALNET_DIR"
            exit 2
        fi
        host="$recorded_host" avago_version="$recorded_version"
    fi
fi

# The network controller (a Go program using the host's packages), built per network dir.
localnet="$dir/.bin/localnet"
build_localnet() {
    go_host_env local-network.sh || exit 1
    mkdir -p "$dir/.bin"
    if [[ "$host" == avalanchego ]]; then
        build_localnet_avalanchego
    else
        (cd "$root/tests/host" && go build -ldflags="$GO_HOST_LDFLAGS" -o "$localnet.tmp" ./cmd/localnet)
    fi
    mv "$localnet.tmp" "$localnet"
}

# localnet for avalanchego nodes, from tests/host's own source: its non-test files (and the
# internal packages) are copied into a module of the same path (transfervm/tests/host) under
# $dir/.bin/localnet-avalanchego-<version>, with every github.com/luxdefi/node replaced by
# github.com/ava-labs/avalanchego; that module requires avalanchego <version> (go mod tidy
# through the module proxy; blst raised as in tests/host's go.mod, as
# tests/host/build-avalanchego.sh does for the node) and is built with the tag avalanchego,
# which swaps host_luxd.go for host_avalanchego.go (the same for both versions: the version
# is the module's, read from the binary's build information).
build_localnet_avalanchego() {
    local mod="$dir/.bin/localnet-avalanchego-$avago_version" avago="github.com/ava-labs/avalanchego@$avago_version"
    local tags=avalanchego blst f
    blst="$(cd "$root/tests/host" && go list -m -f '{{.Version}}' github.com/supranational/blst)"
    rm -rf "$mod"
    for f in "$root"/tests/host/cmd/localnet/*.go "$root"/tests/host/internal/*/*.go; do
        [[ "$f" == *_test.go ]] && continue
        mkdir -p "$(dirname "$mod/${f#"$root"/tests/host/}")"
        sed 's#github\.com/luxdefi/node#github.com/ava-labs/avalanchego#g' "$f" \
            >"$mod/${f#"$root"/tests/host/}"
    done
    printf 'module transfervm/tests/host\n\ngo 1.21\n' >"$mod/go.mod"
    # avalanchego's own go.sum and tests/host's blst lines spare most checksum look-ups.
    cp "$(cd "$mod" && go mod download -json "$avago" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')/go.sum" "$mod/go.sum"
    chmod u+w "$mod/go.sum"
    grep "^github.com/supranational/blst $blst[ /]" "$root/tests/host/go.sum" >>"$mod/go.sum"
    (cd "$mod" && go mod edit -require="$avago" -require="github.com/supranational/blst@$blst" &&
        go mod tidy &&
        go build -tags "$tags" -ldflags="$GO_HOST_LDFLAGS" -o "$localnet.tmp" ./cmd/localnet)
}

case "$cmd" in
start)
    log "state directory: $dir"
    if [[ -z "${TRANSFERVM_PLUGIN:-}" ]]; then
        log "cargo build --bin transfervm"
        (cd "$root" && cargo build --bin transfervm)
        plugin="${CARGO_TARGET_DIR:-$root/target}/debug/transfervm"
        [[ "$plugin" = /* ]] || plugin="$root/$plugin"
    else
        plugin="$TRANSFERVM_PLUGIN"
    fi
    if [[ "$host" == avalanchego ]]; then
        luxd="${AVALANCHEGO:-}"
        [[ -n "$luxd" ]] || luxd="$(bash "$root/tests/host/build-avalanchego.sh" "$avago_version")"
        # A binary of another version would speak another protocol than the plugin's name says.
        if ! "$luxd" --version 2>/dev/null | grep -Eq "^avalanche(go)?/${avago_version#v} "; then
            log "$luxd is not avalanchego $avago_version (--version: $("$luxd" --version 2>&1 | head -1))"
            exit 2
        fi
    else
        luxd="${LUXD:-}"
        [[ -n "$luxd" ]] || luxd="$(bash "$root/tests/host/build-luxd.sh")"
    fi
    log "host: $host${avago_version:+ $avago_version} ($luxd)"
    build_localnet
    extra_args=()
    for spec in ${LOCALNET_PEER_CHAINS:-}; do extra_args+=(-peer-chain "$spec"); done
    [[ -z "${LOCALNET_CHAIN_CONFIG:-}" ]] || extra_args+=(-chain-config "$LOCALNET_CHAIN_CONFIG")
    "$localnet" start -dir "$dir" -luxd "$luxd" -plugin "$plugin" ${extra_args[@]+"${extra_args[@]}"} \
        -chain-genesis "${LOCALNET_GENESIS:-$root/genesis/local.json}" \
        -nodes "${LOCALNET_NODES:-3}" -base-port "${LOCALNET_BASE_PORT:-9650}" \
        -timeout "${LOCALNET_TIMEOUT:-10m}" \
        -proposer-min-block-delay "${LOCALNET_PROPOSER_MIN_BLOCK_DELAY:--1ns}" </dev/null
    log "running; stop it with: LOCALNET_DIR=$dir scripts/local-network.sh stop"
    ;;
stop | status)
    if [[ ! -f "$dir/network.json" ]]; then
        log "no network in $dir"
        exit 0
    fi
    [[ -x "$localnet" ]] || build_localnet
    "$localnet" "$cmd" -dir "$dir" </dev/null
    ;;
add-node)
    if [[ ! -f "$dir/network.json" ]]; then
        log "no network in $dir: start one first"
        exit 2
    fi
    # Rebuilt when missing or older than its source (a build of the directory from before
    # add-node existed would not know it); start rebuilds it always.
    if [[ ! -x "$localnet" ]] || [[ -n "$(find "$root/tests/host/cmd/localnet" "$root/tests/host/internal" \
        "$root/tests/host/go.mod" -newer "$localnet" \( -name go.mod -o -name '*.go' ! -name '*_test.go' \) |
        head -1)" ]]; then
        build_localnet
    fi
    "$localnet" add-node -dir "$dir" -base-port "${LOCALNET_BASE_PORT:-9650}" \
        -timeout "${LOCALNET_TIMEOUT:-10m}" "${@:2}" </dev/null
    ;;
kill)
    [[ -n "${2:-}" ]] || { log "usage: $0 kill NODE_INDEX"; exit 2; }
    [[ -x "$localnet" ]] || build_localnet
    "$localnet" kill -dir "$dir" -node "$2" </dev/null
    ;;
*)
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
