# Sourced by every script that builds Go code against the host's packages or hands the plugin to
# it (tests/host/run.sh, e2e.sh and build-luxd.sh, scripts/faults.sh, local-network.sh and
# rpcdb-server-lib.sh), so that the toolchain checks, the cgo settings blst needs, the link flag
# Go >= 1.23 needs and the plugin build are written once.
#
#   go_host_env NAME        checks for go and a C compiler (errors start with "NAME: "); exports
#                           GOTOOLCHAIN (local unless set: go.mod asks for go >= 1.21, and the
#                           installed one is used), CGO_ENABLED=1 and CGO_CFLAGS (blst's portable
#                           flags, as the node's own build scripts use, unless set); sets
#                           GO_HOST_LDFLAGS for `go build|test -ldflags=...`
#   transfervm_plugin NAME  exports TRANSFERVM_PLUGIN: when unset, cargo's
#                           target/debug/transfervm (CARGO_TARGET_DIR is honoured), built first
#                           unless SKIP_CARGO_BUILD=1

_go_host_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

go_host_env() {
    local name="$1" minor
    if ! command -v go >/dev/null 2>&1; then
        echo "$name: the go command is required (Go >= 1.21) and was not found in PATH" >&2
        return 1
    fi
    if ! command -v cc >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then
        echo "$name: a C compiler is required (cgo builds blst, the host's BLS library)" >&2
        return 1
    fi
    export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
    export CGO_ENABLED=1
    export CGO_CFLAGS="${CGO_CFLAGS:--O2 -D__BLST_PORTABLE__}"
    # The host's wallet links geth's fjl/memsize, which reaches into the runtime by linkname:
    # refused from Go 1.23 on ("invalid reference to runtime.stopTheWorld") without this.
    GO_HOST_LDFLAGS=""
    minor="$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
    if [[ "$minor" =~ ^[0-9]+$ ]] && ((minor >= 23)); then GO_HOST_LDFLAGS="-checklinkname=0"; fi
}

transfervm_plugin() {
    local name="$1" target_dir
    if [[ -n "${TRANSFERVM_PLUGIN:-}" ]]; then
        export TRANSFERVM_PLUGIN
        return 0
    fi
    target_dir="${CARGO_TARGET_DIR:-$_go_host_root/target}"
    [[ "$target_dir" = /* ]] || target_dir="$_go_host_root/$target_dir"
    export TRANSFERVM_PLUGIN="$target_dir/debug/transfervm"
    if [[ "${SKIP_CARGO_BUILD:-0}" != "1" ]]; then
        echo "$name: cargo build --bin transfervm" >&2
        (cd "$_go_host_root" && cargo build --bin transfervm)
    fi
}
