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
#  * (scripts/go-host-lib.sh build_from_module) the checksum database does not know github.com/luxdefi/coreth v0.12.17
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

apply_patches() { # SRC
    local p
    for p in luxd-patches/*.patch; do
        log "applying $p"
        patch -s -p1 -d "$1" <"$p"
    done
}

build_from_module build-luxd "$module" "$version" \
    "${TRANSFERVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/transfervm}/luxd-$version" \
    apply_patches "luxd-patches/*.patch" luxd=./main xsvm=./vms/example/xsvm/cmd/xsvm
