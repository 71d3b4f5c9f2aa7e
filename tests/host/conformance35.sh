#!/usr/bin/env bash
# Real-host conformance test against a protocol-35 host: the test of run.sh (the host's own
# rpcchainvm Go client launching and driving the plugin binary), built against
#   avalanchego  github.com/ava-labs/avalanchego v1.11.9
#   luxfi        github.com/luxfi/node v1.11.10 (the Lux line)
# instead of github.com/luxdefi/node v1.10.21 (protocol 30), which tests/host/go.mod requires.
#
# Usage: tests/host/conformance35.sh avalanchego|luxfi [extra `go test` args]
# (they follow the script's own -run, which a -run among them replaces)
#
# Why a generated module: one Go module cannot require two versions of one host, and the
# hosts' import paths differ, so the test is not kept twice: its files are copied into a module
# of the same path (transfervm/tests/host) with every github.com/luxdefi/node import replaced by
# the host's module, which that module requires. What the protocols' clients do differently
# (gossip calls, VerifyHeightIndex, CreateStaticHandlers, AppRequestFailed's error, ...) is in
# rpcchainvm30_test.go (`!rpcchainvm35`) and rpcchainvm35*_test.go (`-tags rpcchainvm35`, plus
# `avalanchego` for that host's factory and asset field). The local-network tests (e2e_test.go,
# faults_test.go, statesync_test.go) and rpcchainvm30_test.go are not copied.
#
# The plugin speaks 35 when run under a file name ending in .rpcchainvm35 (the tests launch it
# through such a symbolic link; TestProtocolMismatchNamed launches it under its own name and
# expects the handshake to fail with one line of the plugin's saying why).
#
# The module's build, in ${TRANSFERVM_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/transfervm}/
# conformance-<host>-<version>/ (regenerated each run; go mod tidy and the build caches make
# reruns fast):
#  * go.sum starts from the host's own go.sum (fewer checksum look-ups) and blst is raised to
#    tests/host's v0.3.14, as for the node builds (v0.3.11 does not compile with Go >= 1.24);
#  * luxfi/node v1.11.10 is unknown to the checksum database (GONOSUMDB=github.com/luxfi here);
#    two of its requirements are not served by the module proxy (github.com/luxfi/coreth and
#    github.com/luxfi/ledger-lux/go at the versions its go.mod names) and the rpcchainvm packages
#    do not import them: each is replaced by an empty module; and it does not compile as
#    published (four files left from its v1.10 line clash with v1.11's), so it is replaced by a
#    copy of its source without the files luxfi-patches/stale-files.txt names (see there).
#    Third-party source is only ever in the cache directory.
#
# Environment: as run.sh (TRANSFERVM_PLUGIN, TRANSFERVM_GENESIS, SKIP_CARGO_BUILD=1,
# HOST_TEST_TIMEOUT), and TRANSFERVM_CACHE_DIR.
#
# Measured on 2 cores shared with other builds, the plugin already built, everything included
# (the tests themselves take ~9 s, TestHostilePeers 8 of them):
#   avalanchego  cold (empty Go module and build caches, empty cache directory) 214-345 s,
#                warm 13-19 s
#   luxfi        cold 240 s, warm 14-18 s
# Cold, the time is the download of the host's dependencies (~15 s) and their compilation
# (blst with cgo included).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
name=conformance35.sh
log() { echo "$name: $*" >&2; }

host="${1:-}"
case "$host" in
avalanchego) module=github.com/ava-labs/avalanchego version=v1.11.9 tags=rpcchainvm35,avalanchego ;;
luxfi) module=github.com/luxfi/node version=v1.11.10 tags=rpcchainvm35 ;;
*)
    log "usage: $0 avalanchego|luxfi [go test args]"
    exit 2
    ;;
esac
shift

# shellcheck source=../../scripts/go-host-lib.sh
source "$root/scripts/go-host-lib.sh"
go_host_env "$name"
transfervm_plugin "$name"
export TRANSFERVM_GENESIS="${TRANSFERVM_GENESIS:-$root/genesis/local.json}"
# TestHostModule checks that the test was built against this module and version.
export TRANSFERVM_HOST_MODULE="$module $version"
if [[ "$host" == luxfi ]]; then
    export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/luxfi"
fi

start=$(date +%s)
cache="${TRANSFERVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/transfervm}/conformance-$host-$version"
mod="$cache/module"
blst="$(cd "$here" && go list -m -f '{{.Version}}' github.com/supranational/blst)"
mkdir -p "$cache"
rm -rf "$mod"
mkdir -p "$mod"

# The host module's source, as the go command extracted it (read-only).
hostsrc="$(cd "$cache" && go mod download -json "$module@$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[[ -d "$hostsrc" ]] || { log "go mod download $module@$version gave no source directory"; exit 1; }

# The test's files, imports swapped. Everything else stays in tests/host.
for f in "$here"/*.go "$here"/internal/*/*.go; do
    rel="${f#"$here"/}"
    case "$rel" in
    e2e_test.go | faults_test.go | statesync_test.go | rpcchainvm30_test.go | internal/*_test.go) continue ;;
    esac
    mkdir -p "$(dirname "$mod/$rel")"
    sed "s#github\.com/luxdefi/node#$module#g" "$f" >"$mod/$rel"
done

replaces=()
if [[ "$host" == luxfi ]]; then
    # A copy of the host's source without the files luxfi-patches/stale-files.txt names, remade
    # when the list or the version changes.
    stale="$here/luxfi-patches/stale-files.txt"
    stamp="$( { echo "$module $version"; cat "$stale"; } | sha256sum | cut -d' ' -f1)"
    if [[ ! -f "$cache/src.stamp" || "$(cat "$cache/src.stamp")" != "$stamp" ]]; then
        rm -rf "$cache/src" "$cache/src.tmp" "$cache/src.stamp"
        cp -r "$hostsrc" "$cache/src.tmp"
        chmod -R u+w "$cache/src.tmp"
        grep -v -e '^#' -e '^[[:space:]]*$' "$stale" | while read -r f; do
            [[ -f "$cache/src.tmp/$f" ]] || { log "$f (luxfi-patches/stale-files.txt) is not in $module $version"; exit 1; }
            rm "$cache/src.tmp/$f"
        done
        mv "$cache/src.tmp" "$cache/src"
        echo "$stamp" >"$cache/src.stamp"
    fi
    # Empty stand-ins for the two requirements the proxy does not serve.
    for stub in github.com/luxfi/coreth github.com/luxfi/ledger-lux/go; do
        dir="$cache/stubs/${stub//\//_}"
        mkdir -p "$dir"
        printf 'module %s\n\ngo 1.21\n' "$stub" >"$dir/go.mod"
        replaces+=("-replace=$stub=$dir")
    done
    replaces+=("-replace=$module=$cache/src")
fi

printf 'module transfervm/tests/host\n\ngo 1.21\n' >"$mod/go.mod"
cp "$hostsrc/go.sum" "$mod/go.sum"
chmod u+w "$mod/go.sum"
grep "^github.com/supranational/blst $blst[ /]" "$here/go.sum" >>"$mod/go.sum"
# A test of the host's lumberjack (v2.0.0, which has no go.mod) imports github.com/BurntSushi/toml,
# which nothing requires: tidy would pick its latest version, which may one day need a newer Go.
# Pinned to the version the host's go.sum records.
toml="$(sed -n 's#^github.com/BurntSushi/toml \(v[^ /]*\) h1:.*#\1#p' "$hostsrc/go.sum" | tail -1)"
cd "$mod"
go mod edit -require="$module@$version" -require="github.com/supranational/blst@$blst" \
    ${toml:+-require=github.com/BurntSushi/toml@$toml} ${replaces[@]+"${replaces[@]}"}
go mod tidy
log "module for $module $version ready in $mod ($(($(date +%s) - start)) s)"
log "plugin  $TRANSFERVM_PLUGIN"
log "genesis $TRANSFERVM_GENESIS"
log "$(go version)"

go vet -tags "$tags" -ldflags="$GO_HOST_LDFLAGS" .
tests='TestHostModule|TestRegistrationLifecycle|TestTransferThroughRealHost|TestAcceptWriteFailure|TestStateSyncBetweenPlugins'
tests+='|TestProtocolMismatchNamed|TestTxEncodingLayout|TestCLISignMatchesGo|TestHostilePeers'
status=0
timeout --kill-after=30s 20m \
    go test -count=1 -v -tags "$tags" -timeout "${HOST_TEST_TIMEOUT:-10m}" -ldflags="$GO_HOST_LDFLAGS" \
    -run "^($tests)\$" "$@" . || status=$?
log "$host: $(($(date +%s) - start)) s in all, go test exit status $status"
# The module is remade on every run; kept only to look into a failure.
if ((status == 0)); then rm -rf "$mod"; else log "the generated module is kept in $mod"; fi
exit "$status"
