#!/usr/bin/env bash
# Builds the real Lux node binary (luxd: package github.com/luxdefi/node/main, the
# version tests/host/go.mod requires) from the Go module proxy, and prints its path.
# The same patched source also gives the node's own minimal transfer VM, xsvm
# (vms/example/xsvm/cmd/xsvm), built beside it as <cache>/xsvm for
# scripts/bench-peers.sh (issue #12): built from the module as published it crashes on
# the first Connected under luxd v1.10.21, with the version bug the patch below fixes.
#
# The build is cached under ${TRANSFERVM_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/transfervm}/luxd-<version>/
# and reused while the version, the patches and the Go version are unchanged, so
# reruns are instant; a fresh machine builds it (~4 min on 2 cores).
#
# How, and why not `go install github.com/luxdefi/node/main@v1.10.21`:
#  * the checksum database does not know github.com/luxdefi/coreth v0.12.17
#    (sum.golang.org answers 404), which `go install pkg@version` needs; building
#    inside the node's own module uses the node's go.sum, which pins it;
#  * github.com/supranational/blst v0.3.11 (the node's requirement) does not compile
#    with Go >= 1.24, so it is raised to v0.3.14 as in tests/host/go.mod;
#  * github.com/fjl/memsize (via geth) fails to link on Go >= 1.23
#    ("invalid reference to runtime.stopTheWorld"): linked with -checklinkname=0;
#  * luxd-patches/*.patch are applied to the module's source (one line so far: the
#    released v1.10.21 cannot parse any peer's version string, so no two of its
#    nodes can connect; see the patch header).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
log() { echo "build-luxd: $*" >&2; }

# shellcheck source=../../scripts/go-host-lib.sh
source "$here/../../scripts/go-host-lib.sh"
go_host_env build-luxd
command -v patch >/dev/null 2>&1 || { log "the patch command is required (apt-get install patch)"; exit 1; }

module=github.com/luxdefi/node
version="$(go list -m -f '{{.Version}}' "$module")"
blst="$(go list -m -f '{{.Version}}' github.com/supranational/blst)"
cache="${TRANSFERVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/transfervm}/luxd-$version"
bin="$cache/luxd"

stamp="$( { echo "$module $version blst $blst"; go version; cat luxd-patches/*.patch; } | sha256sum | cut -d' ' -f1)"
if [[ -x "$bin" && -x "$cache/xsvm" && -f "$cache/stamp" && "$(cat "$cache/stamp")" == "$stamp" ]]; then
    log "cached: $bin"
    echo "$bin"
    exit 0
fi

log "building $module $version (blst $blst, $(go version | cut -d' ' -f3)) into $cache"
start=$(date +%s)
mkdir -p "$cache"
go mod download "$module@$version"
moddir="$(go list -m -f '{{.Dir}}' "$module")"
src="$cache/src"
rm -rf "$src"
cp -r "$moddir" "$src"
chmod -R u+w "$src"
for p in luxd-patches/*.patch; do
    log "applying $p"
    patch -s -p1 -d "$src" <"$p"
done
# Same blst as this module (see go.mod), with its checksums from this module's go.sum.
(cd "$src" && go mod edit -require="github.com/supranational/blst@$blst")
grep "^github.com/supranational/blst $blst[ /]" go.sum >>"$src/go.sum"

(cd "$src" && go build -ldflags="$GO_HOST_LDFLAGS" -o "$bin.tmp" ./main)
(cd "$src" && go build -ldflags="$GO_HOST_LDFLAGS" -o "$cache/xsvm.tmp" ./vms/example/xsvm/cmd/xsvm)
mv "$bin.tmp" "$bin"
mv "$cache/xsvm.tmp" "$cache/xsvm"
echo "$stamp" >"$cache/stamp"
# The source copy is only needed for the build.
rm -rf "$src"
log "built $("$bin" --version) in $(($(date +%s) - start)) s"
echo "$bin"
