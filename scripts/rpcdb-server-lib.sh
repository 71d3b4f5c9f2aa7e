# shellcheck shell=bash
# The real host's database server for benches, as functions to source (not to run):
# tests/host/cmd/rpcdbserver serves a LevelDB directory with luxd's own rpcdb gRPC server
# (github.com/luxdefi/node as pinned in tests/host/go.mod) on 127.0.0.1.
#
#   source scripts/rpcdb-server-lib.sh
#   rpcdb_server_build              go build the command into $RPCDB_SERVER_BIN (~1 s when
#                                   Go's caches are warm; the first build downloads the host
#                                   module from the Go module proxy)
#   rpcdb_server_start DIR          serve the LevelDB database in DIR (created when missing;
#                                   never removed, it is the caller's) and wait until it
#                                   answers; sets RPCDB_SERVER_ADDR (host:port, what the
#                                   plugin gets as db_server_addr) and RPCDB_SERVER_PID.
#                                   Builds the command first if $RPCDB_SERVER_BIN is missing.
#   rpcdb_server_stop               stop it and wait for it to exit (closes its stdin, then
#                                   SIGTERM after 10 s, SIGKILL after 5 more); a no-op when
#                                   none runs, so it is safe in an EXIT trap
#
# One server per shell, and the state lives in this shell's variables: call the functions
# directly, not in a pipeline or `$(...)` (a subshell's start or stop is lost). Every
# function returns non-zero (after saying why on stderr) rather than exiting, so callers with
# or without `set -e` decide. The server's stderr is the stderr of the rpcdb_server_start
# call; it prints its per-method time and LevelDB's statistics there when it stops. Typical
# use:
#
#   rpcdb_server_start "$work/leveldb"
#   trap 'rpcdb_server_stop; rm -rf "$work"' EXIT
#   TRANSFERVM_BENCH_RPCDB_ADDR="$RPCDB_SERVER_ADDR" cargo bench ...
#
# The server's stdin is a pipe this shell holds open: it stops by itself when the shell
# exits, even on SIGKILL (unless a child that inherited the pipe still runs).
#
# Environment:
#   RPCDB_SERVER_BIN     where the command is built (default: <cargo target dir>/rpcdbserver/
#                        rpcdbserver; the target dir is $CARGO_TARGET_DIR or target/)
#   RPCDB_SERVER_STACK   luxd (default: leveldb behind luxd's meterdb and prefixdb layers, as
#                        luxd hands a chain its database) or leveldb (the bare database)
# Go builds with the environment every host script uses (go-host-lib.sh).

_rpcdb_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_rpcdb_target="${CARGO_TARGET_DIR:-$_rpcdb_root/target}"
[[ "$_rpcdb_target" = /* ]] || _rpcdb_target="$_rpcdb_root/$_rpcdb_target"
RPCDB_SERVER_BIN="${RPCDB_SERVER_BIN:-$_rpcdb_target/rpcdbserver/rpcdbserver}"
RPCDB_SERVER_ADDR=""
RPCDB_SERVER_PID=""
_rpcdb_ctl=""
_rpcdb_stdin_fd=""

_rpcdb_log() { echo "rpcdb-server: $*" >&2; }

rpcdb_server_build() {
    mkdir -p "$(dirname "$RPCDB_SERVER_BIN")" || return
    _rpcdb_log "go build ./cmd/rpcdbserver -> $RPCDB_SERVER_BIN"
    (
        # shellcheck source=go-host-lib.sh
        source "$_rpcdb_root/scripts/go-host-lib.sh" &&
            go_host_env rpcdb-server &&
            cd "$_rpcdb_root/tests/host" &&
            go build -o "$RPCDB_SERVER_BIN.tmp" ./cmd/rpcdbserver
    ) || return
    mv "$RPCDB_SERVER_BIN.tmp" "$RPCDB_SERVER_BIN"
}

rpcdb_server_start() {
    local dir="${1:-}" i
    if [[ -z "$dir" ]]; then
        _rpcdb_log "usage: rpcdb_server_start DIR"
        return 2
    fi
    if [[ -n "$RPCDB_SERVER_PID" ]]; then
        _rpcdb_log "a server already runs (pid $RPCDB_SERVER_PID, $RPCDB_SERVER_ADDR)"
        return 1
    fi
    if [[ ! -x "$RPCDB_SERVER_BIN" ]]; then
        rpcdb_server_build || return
    fi
    _rpcdb_ctl="$(mktemp -d "${TMPDIR:-/tmp}/rpcdbserver-ctl.XXXXXX")" || return
    mkfifo "$_rpcdb_ctl/stdin" || return
    "$RPCDB_SERVER_BIN" -dir "$dir" -stack "${RPCDB_SERVER_STACK:-luxd}" \
        <"$_rpcdb_ctl/stdin" >"$_rpcdb_ctl/addr" &
    RPCDB_SERVER_PID=$!
    # Opening the pipe's write end returns once the server's shell has opened the read end.
    exec {_rpcdb_stdin_fd}>"$_rpcdb_ctl/stdin"
    # The address line is printed once the server listens (LevelDB opens first).
    for ((i = 0; i < 600; i++)); do
        if { IFS= read -r RPCDB_SERVER_ADDR <"$_rpcdb_ctl/addr"; } 2>/dev/null &&
            [[ -n "$RPCDB_SERVER_ADDR" ]]; then
            _rpcdb_log "serving $dir at $RPCDB_SERVER_ADDR (pid $RPCDB_SERVER_PID, stack ${RPCDB_SERVER_STACK:-luxd})"
            return 0
        fi
        if ! kill -0 "$RPCDB_SERVER_PID" 2>/dev/null; then
            _rpcdb_log "the server exited before serving (its error is above)"
            rpcdb_server_stop
            return 1
        fi
        sleep 0.1
    done
    _rpcdb_log "no address from the server within 60 s"
    rpcdb_server_stop
    return 1
}

# PID TENTHS: waits up to TENTHS tenths of a second for PID to exit; fails if it still runs.
_rpcdb_wait_exit() {
    local i
    for ((i = 0; i < $2; i++)); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    ! kill -0 "$1" 2>/dev/null
}

rpcdb_server_stop() {
    local pid="$RPCDB_SERVER_PID" status=0
    if [[ -n "$_rpcdb_stdin_fd" ]]; then
        exec {_rpcdb_stdin_fd}>&-
        _rpcdb_stdin_fd=""
    fi
    if [[ -n "$pid" ]]; then
        if ! _rpcdb_wait_exit "$pid" 100; then
            _rpcdb_log "still running 10 s after its stdin closed: SIGTERM"
            kill -TERM "$pid" 2>/dev/null || true
            if ! _rpcdb_wait_exit "$pid" 50; then
                _rpcdb_log "still running after SIGTERM: SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
        wait "$pid" 2>/dev/null || status=$?
        if ((status != 0)); then
            _rpcdb_log "the server exited with status $status"
        fi
    fi
    if [[ -n "$_rpcdb_ctl" ]]; then
        rm -rf "$_rpcdb_ctl"
        _rpcdb_ctl=""
    fi
    RPCDB_SERVER_PID=""
    RPCDB_SERVER_ADDR=""
    return 0
}
