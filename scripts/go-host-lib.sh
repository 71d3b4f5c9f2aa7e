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
#   build_from_module NAME MODULE VERSION CACHE_DIR PREPARE STAMP_FILES OUT=PKG...
#                           builds each binary CACHE_DIR/OUT from package PKG of MODULE@VERSION
#                           as published (the node and peer builds: tests/host/build-*.sh), and
#                           prints the path of the first. Built inside a copy of the module's
#                           own source, so its own go.sum pins every dependency (`go install
#                           pkg@version` would need the checksum database, which lacks some of
#                           them), with github.com/supranational/blst raised to tests/host's
#                           version (the nodes' v0.3.11 does not compile with Go >= 1.24) and
#                           GO_HOST_LDFLAGS; the function PREPARE SRC (or :) changes the copy
#                           first (patches, a main of our own). Cached, and reused while the
#                           module, version, blst, the Go version and the files STAMP_FILES
#                           names (relative to the caller's directory; may be empty) are
#                           unchanged. Run after go_host_env, from tests/host. One build of a
#                           CACHE_DIR at a time (flock on CACHE_DIR.lock): scripts/test.sh starts
#                           the builds in the background early, and a step that needs one waits
#                           for it rather than building it a second time.

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

build_from_module() {
    local cache="$4"
    mkdir -p "$(dirname "$cache")"
    # A subshell holds the lock (fd 9) for the check and the build, and releases it on return.
    (
        flock 9
        _build_from_module_locked "$@"
    ) 9>"$cache.lock"
}

_build_from_module_locked() {
    local name="$1" module="$2" version="$3" cache="$4" prepare="$5" stamp_files="$6"
    shift 6
    local blst stamp spec first="" cached=1 moddir src start
    blst="$(go list -m -f '{{.Version}}' github.com/supranational/blst)"
    # shellcheck disable=SC2086 # stamp_files is a list of paths (globs allowed)
    stamp="$( { echo "$module $version blst $blst"; go version; [[ -z "$stamp_files" ]] || cat $stamp_files; } |
        sha256sum | cut -d' ' -f1)"
    for spec in "$@"; do
        [[ -n "$first" ]] || first="$cache/${spec%%=*}"
        [[ -x "$cache/${spec%%=*}" ]] || cached=0
    done
    if ((cached)) && [[ -f "$cache/stamp" && "$(cat "$cache/stamp")" == "$stamp" ]]; then
        echo "$name: cached: $first" >&2
        echo "$first"
        return 0
    fi
    echo "$name: building $module $version (blst $blst, $(go version | cut -d' ' -f3)) into $cache" >&2
    start=$(date +%s)
    mkdir -p "$cache"
    # Downloaded from the cache directory, outside tests/host, so its go.sum is left alone;
    # -json names the extracted source.
    moddir="$(cd "$cache" && go mod download -json "$module@$version" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
    if [[ ! -d "$moddir" ]]; then
        echo "$name: go mod download $module@$version gave no source directory" >&2
        return 1
    fi
    src="$cache/src"
    rm -rf "$src"
    cp -r "$moddir" "$src"
    chmod -R u+w "$src"
    "$prepare" "$src" || return 1
    # Same blst as tests/host (see its go.mod), with the checksums from its go.sum.
    (cd "$src" && go mod edit -require="github.com/supranational/blst@$blst") || return 1
    grep "^github.com/supranational/blst $blst[ /]" go.sum >>"$src/go.sum"
    for spec in "$@"; do
        (cd "$src" && go build -ldflags="$GO_HOST_LDFLAGS" -o "$cache/${spec%%=*}.tmp" "${spec#*=}") || return 1
    done
    for spec in "$@"; do
        mv "$cache/${spec%%=*}.tmp" "$cache/${spec%%=*}"
    done
    echo "$stamp" >"$cache/stamp"
    # The source copy is only needed for the build.
    rm -rf "$src"
    echo "$name: built $module $version in $(($(date +%s) - start)) s" >&2
    echo "$first"
}
