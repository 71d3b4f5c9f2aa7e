#!/usr/bin/env bash
# Every figure of issue #11's table from one run on this machine, each beside the baseline it
# is a ratio to, measured in the same run:
#
#   scripts/bench-ratios.sh                  (~30 min on 2 idle cores, after the builds)
#
# The baseline is the raw ed25519 batch verify on every core (criterion's
# raw_batch_verify/all_cores/10000). Then, in this order:
#   1. criterion, blocks of 10 000 transfers over 1M funded accounts: block verify + accept
#      on the in-memory store, on the dev chain's fjall store, on redb (its former store,
#      kept for comparison), and on the hosted store (the
#      plugin's rpcdb client against the real host's rpcdb server over LevelDB, loopback;
#      scripts/rpcdb-server-lib.sh);
#   2. the dev chain (`transfervm dev`, release build, 10 000 funded senders, a fresh chain per
#      run): the server's no-op rate (`lastAccepted`, 64 clients), `submitTxs` batches of 100,
#      one `submitTx` per request (64 clients), and the p99 at half the batched maximum;
#   3. process restart and peak memory with 1M accounts (scripts/bench-restart.sh);
#   4. one real luxd validator (scripts/local-network.sh, 400 funded senders: the P-chain's
#      64 KiB genesis limit): the no-op rate through the node (`lastAccepted` via
#      HandleSimple), the node's own in-process `info` API, batched, one per request;
#   5. three luxd validators on the same cores: batched, with the nodes' CPU seconds (luxd and
#      plugin processes) per 1 000 accepted transfers.
# Every load run reports the client's CPU seconds beside the chain's: they share the cores.
# Transfers are signed before the timed part (`transfervm spam`).
#
# Environment:
#   RATIOS_OUT    directory for the raw results (default: a new temp dir, kept, printed)
#   RATIOS_SKIP   comma-separated parts to leave out: blocks, hosted, dev, restart, luxd1, luxd3
#   TRANSFERVM_BIN / LUXD   prebuilt binaries (default: built here)
# Needs: cargo, Go (>= 1.21), a C compiler (cgo), python3, curl. No stdin is read. Every
# process it starts is stopped when it ends, however it ends.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
skip=",${RATIOS_SKIP:-},"
wanted() { [[ "$skip" != *",$1,"* ]]; }
say() { echo "bench-ratios: $*" >&2; }

out="${RATIOS_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench-ratios.XXXXXX")}"
mkdir -p "$out"
results="$out/results.tsv"
: >"$results"
# One figure per line: name <TAB> value.
record() { printf '%s\t%s\n' "$1" "$2" >>"$results"; }
# A field of a JSON document (spam's report) by name.
json_field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"; }
# Clock ticks of CPU (user + system) used so far by processes and their children's threads.
cpu_ticks() {
    local total=0 pid t
    for pid in "$@"; do
        t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
        total=$((total + t))
    done
    echo "$total"
}
ticks_per_sec=$(getconf CLK_TCK)

target="${CARGO_TARGET_DIR:-$root/target}"
[[ "$target" = /* ]] || target="$root/$target"

# shellcheck source=scripts/rpcdb-server-lib.sh
source "$root/scripts/rpcdb-server-lib.sh"
localnet_dir=""
cleanup() {
    dev_chain_cleanup
    rpcdb_server_stop || true
    if [[ -n "$localnet_dir" ]]; then
        LOCALNET_DIR="$localnet_dir" scripts/local-network.sh stop >/dev/null 2>&1 || true
        rm -rf "$localnet_dir"
    fi
    rm -rf "$out/leveldb"
}
# --- builds first, so no build shares the cores with a measurement ---
bin="${TRANSFERVM_BIN:-}"
if [[ -z "$bin" ]]; then
    cargo build --release --locked --bin transfervm
    bin="$target/release/transfervm"
fi
# The dev chain's start and stop ($rpc, $pid, dev_chain_start, dev_chain_stop, dev_chain_rss),
# shared with the other bench scripts; its data directory is under its own $work.
# shellcheck source=scripts/dev-chain-lib.sh
TRANSFERVM_BIN="$bin" source "$root/scripts/dev-chain-lib.sh"
if wanted blocks; then
    cargo bench --locked --bench blocks --no-run
    wanted hosted && rpcdb_server_build
fi
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
luxd="${LUXD:-}"
if { wanted luxd1 || wanted luxd3; } && [[ -z "$luxd" ]]; then
    luxd="$(bash tests/host/build-luxd.sh)"
fi

record load_average_at_start "$(cut -d' ' -f1-3 /proc/loadavg)"
record date "$(date -u +%FT%TZ)"
record commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); results in $out"

# --- 1. blocks: raw baseline, verify + accept on three stores ---
if wanted blocks; then
    filter='raw_batch_verify/all_cores/10000|block_verify_accept/(memory|fjall|redb)_1M_accounts/10000'
    env_addr=()
    if wanted hosted; then
        rpcdb_server_start "$out/leveldb"
        env_addr=(TRANSFERVM_BENCH_RPCDB_ADDR="$RPCDB_SERVER_ADDR")
        filter='raw_batch_verify/all_cores/10000|block_verify_accept/(memory|fjall|redb|hosted)_1M_accounts/10000'
    fi
    touch "$out/blocks-started"
    env "${env_addr[@]}" cargo bench --locked --bench blocks -- "$filter" 2>&1 | tee "$out/blocks.log" >&2
    rpcdb_server_stop || true
    for name in raw_batch_verify/all_cores/10000 block_verify_accept/memory_1M_accounts/10000 \
        block_verify_accept/fjall_1M_accounts/10000 block_verify_accept/redb_1M_accounts/10000 block_verify_accept/hosted_1M_accounts/10000; do
        file="$target/criterion/$name/new/estimates.json"
        if [[ -f "$file" && "$file" -nt "$out/blocks-started" ]]; then
            record "$name" "$(python3 -c 'import json,sys; print(round(10000/json.load(open(sys.argv[1]))["median"]["point_estimate"]*1e9))' "$file")"
        fi
    done
fi

# --- 2. the dev chain ---
# NAME SPAM-ARGS...: one load run on a fresh dev chain, its JSON report kept as NAME.json.
dev_run() {
    local name="$1"
    shift
    rm -rf "$work/data"
    dev_chain_start "$out/genesis-10k.json"
    say "dev chain: $name: spam $*"
    "$bin" spam --rpc "$rpc" --chain-pid "$pid" "$@" >"$out/$name.json" 2>"$out/$name.err"
    record "dev_${name}_peak_rss_mb" "$(dev_chain_rss VmHWM)"
    dev_chain_stop
    for field in acceptedPerSec requestsPerSec latencyP50Ms latencyP99Ms clientCpuSeconds chainCpuSeconds accepted sent; do
        value="$(json_field "$out/$name.json" "$field")"
        [[ -n "$value" ]] && record "dev_${name}_$field" "$value"
    done
    return 0
}
if wanted dev; then
    "$bin" genesis --accounts 10000 --out "$out/genesis-10k.json" >/dev/null
    dev_run noop --noop-method lastAccepted --requests 200000 --concurrency 64
    dev_run batched --accounts 10000 --txs 300000 --batch 100 --concurrency 8
    dev_run per_request --accounts 10000 --txs 60000 --batch 1 --concurrency 64
    max="$(json_field "$out/batched.json" acceptedPerSec)"
    half="$(python3 -c "print(int(float('$max') / 2))")"
    record dev_half_load_rate "$half"
    dev_run half_load --accounts 10000 --txs "$((half * 15))" --rate "$half" --batch 100 --concurrency 8
fi

# --- 3. restart and peak memory with 1M accounts ---
if wanted restart; then
    say "restart with 1M accounts (scripts/bench-restart.sh)"
    RUNS=3 TRANSFERVM_BIN="$bin" scripts/bench-restart.sh 1000000 2>&1 | tee "$out/restart.log" >&2
    python3 - "$out/restart.log" >>"$results" <<'EOF'
import re, sys
ms, peak = [], []
for line in open(sys.argv[1]):
    m = re.match(r"restart \d+: (\d+) ms .*peak ([\d.]+) MB", line)
    if m:
        ms.append(int(m.group(1))); peak.append(float(m.group(2)))
if ms:
    print(f"restart_ms_min\t{min(ms)}\nrestart_ms_max\t{max(ms)}\nrestart_peak_mb_max\t{max(peak):.0f}")
EOF
fi

# --- 4 and 5. real luxd validators ---
# NODES NAME SPAM-ARGS...: a load run against node 0 of the running network, with every
# node's CPU (luxd and its plugin) over the run.
luxd_pids() {
    python3 -c 'import json,sys; print(" ".join(str(n["pid"]) for n in json.load(open(sys.argv[1]))["nodes"]))' "$localnet_dir/network.json"
}
node_rpc() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rpcUrls"][0])' "$localnet_dir/network.json"; }
luxd_run() {
    local nodes="$1" name="$2"
    shift 2
    local pids all before after
    pids="$(luxd_pids)"
    all="$pids $(for p in $pids; do pgrep -P "$p" || true; done)"
    say "luxd x$nodes: $name: spam $*"
    # shellcheck disable=SC2086
    before="$(cpu_ticks $all)"
    "$bin" spam --rpc "$(node_rpc)" "$@" >"$out/luxd${nodes}_$name.json" 2>"$out/luxd${nodes}_$name.err" || true
    # shellcheck disable=SC2086
    after="$(cpu_ticks $all)"
    record "luxd${nodes}_${name}_nodes_cpu_seconds" "$(python3 -c "print(round(($after - $before) / $ticks_per_sec, 2))")"
    for field in acceptedPerSec requestsPerSec latencyP50Ms latencyP99Ms clientCpuSeconds accepted sent; do
        value="$(json_field "$out/luxd${nodes}_$name.json" "$field")"
        [[ -n "$value" ]] && record "luxd${nodes}_${name}_$field" "$value"
    done
    return 0
}
luxd_network() { # NODES: start a fresh network on free ports (a second try if the first fails)
    local try
    for try in 1 2; do
        localnet_dir="$out/localnet-$1"
        if LOCALNET_NODES="$1" LOCALNET_DIR="$localnet_dir" LOCALNET_BASE_PORT=0 \
            LOCALNET_GENESIS="$out/genesis-400.json" TRANSFERVM_PLUGIN="$bin" LUXD="$luxd" \
            scripts/local-network.sh start >"$out/localnet-$1.log" 2>&1; then
            return 0
        fi
        cat "$out/localnet-$1.log" >&2
        # What the failure leaves, before the directory goes: the controller's log, each node's
        # output and its own logs, and whether its luxd is still alive (issue #15, item 6: the
        # controller has reported a live node as exited).
        local failed="$out/localnet-$1-failed-$try"
        mkdir -p "$failed"
        cp "$out/localnet-$1.log" "$failed/"
        cp "$localnet_dir/network.json" "$failed/" 2>/dev/null || true
        for node in "$localnet_dir"/node*; do
            [[ -d "$node" ]] || continue
            mkdir -p "$failed/$(basename "$node")"
            cp "$node/luxd.log" "$node"/logs/*.log "$failed/$(basename "$node")/" 2>/dev/null || true
        done
        ps -eo pid,stat,etime,args | grep "[l]uxd --network-id" >"$failed/luxd-processes.txt" || true
        say "the $1-node network did not start (try $try); what it left is in $failed"
        luxd_network_stop
        # Anything still running from that directory is ended too: its ports are wanted again.
        pkill -f -- "--data-dir=$out/localnet-$1/" 2>/dev/null || true
    done
    exit 1
}
luxd_network_stop() {
    LOCALNET_DIR="$localnet_dir" scripts/local-network.sh stop >/dev/null 2>&1 || true
    rm -rf "$localnet_dir"
    localnet_dir=""
}
# The subnet's proposerMinBlockDelay: luxd's default (1s) lets the proposervm build two blocks a
# second, which caps one validator near 15k transfers/s (7 500 per block) with a core idle; 100ms
# was the best of 0s/50ms/100ms/200ms/1s on one validator (BENCHMARKS.md). An operator's setting.
export LOCALNET_PROPOSER_MIN_BLOCK_DELAY="${LOCALNET_PROPOSER_MIN_BLOCK_DELAY:-100ms}"
if wanted luxd1 || wanted luxd3; then
    record luxd_proposer_min_block_delay "$LOCALNET_PROPOSER_MIN_BLOCK_DELAY"
    "$bin" genesis --accounts 400 --network-id 31337 --out "$out/genesis-400.json" >/dev/null
fi
if wanted luxd1; then
    luxd_network 1
    luxd_run 1 noop --noop-method lastAccepted --requests 100000 --concurrency 64
    info_url="$(node_rpc | sed -E 's#/ext/bc/.*#/ext/info#')"
    say "luxd x1: the node's own info API"
    "$bin" spam --rpc "$info_url" --noop-method info.getNodeVersion --requests 100000 --concurrency 64 \
        >"$out/luxd1_info.json" 2>"$out/luxd1_info.err" || true
    record luxd1_info_requestsPerSec "$(json_field "$out/luxd1_info.json" requestsPerSec)"
    luxd_run 1 batched --accounts 400 --txs 60000 --batch 100 --concurrency 8
    luxd_run 1 per_request --accounts 400 --txs 20000 --batch 1 --concurrency 64
    luxd_network_stop
fi
if wanted luxd3; then
    luxd_network 3
    luxd_run 3 batched --accounts 400 --txs 40000 --batch 100 --concurrency 16
    luxd_network_stop
fi

# --- the table ---
python3 - "$results" <<'EOF' | tee "$out/table.md"
import sys
r = {}
for line in open(sys.argv[1]):
    k, _, v = line.rstrip("\n").partition("\t")
    r[k] = v
def num(k):
    try: return float(r[k])
    except (KeyError, ValueError): return None
raw = num("raw_batch_verify/all_cores/10000")
def ratio(x, base=raw):
    return "-" if x is None or not base else f"{x / base:.2f}"
def f(x, unit=""):
    return "-" if x is None else (f"{x/1000:.1f}k{unit}" if x >= 1000 else f"{x:.0f}{unit}")
def cpu(prefix):
    c, s = num(prefix + "_clientCpuSeconds"), num(prefix + "_chainCpuSeconds")
    nodes = num(prefix + "_nodes_cpu_seconds")
    if c is not None and s is None and nodes is not None:
        return f"client {c:.1f} s / nodes (luxd + plugin) {nodes:.1f} s"
    return "-" if c is None else f"client {c:.1f} s / chain {'-' if s is None else f'{s:.1f}'} s"
print(f"run of {r.get('date','?')} at {r.get('commit','?')}, load average at start {r.get('load_average_at_start','?')}")
if r.get("luxd_proposer_min_block_delay"):
    print(f"luxd networks: the transfervm subnet's proposerMinBlockDelay {r['luxd_proposer_min_block_delay']}")
print()
print(f"baseline: raw batch verify, all cores, blocks of 10 000: {f(raw, ' sig/s')}")
print()
print("| figure | measured | ratio | target | CPU (client / chain) |")
print("|---|---|---|---|---|")
rows = [
    ("block verify + accept, in-memory store, 1M accounts", num("block_verify_accept/memory_1M_accounts/10000"), "≥ 0.8", "-"),
    ("block verify + accept, fjall (the dev chain's durable store), 1M accounts", num("block_verify_accept/fjall_1M_accounts/10000"), "≥ 0.6", "-"),
    ("block verify + accept, redb (the dev chain's former store), 1M accounts", num("block_verify_accept/redb_1M_accounts/10000"), "(≥ 0.6)", "-"),
    ("block verify + accept, hosted store (rpcdb → host LevelDB)", num("block_verify_accept/hosted_1M_accounts/10000"), "≥ 0.5", "-"),
    ("dev chain, submitTxs batches of 100", num("dev_batched_acceptedPerSec"), "≥ 0.5", cpu("dev_batched")),
    ("dev chain, one submitTx per request (64 clients)", num("dev_per_request_acceptedPerSec"), "≥ 0.2", cpu("dev_per_request")),
    ("one luxd validator, batched", num("luxd1_batched_acceptedPerSec"), "≥ 0.35", cpu("luxd1_batched")),
]
for name, value, target, c in rows:
    print(f"| {name} | {f(value, ' tx/s')} | {ratio(value)} | {target} | {c} |")
noop = num("dev_noop_requestsPerSec")
per = num("dev_per_request_acceptedPerSec")
print(f"| dev chain no-op rate (lastAccepted, 64 clients): the per-request ceiling | {f(noop, ' req/s')} | {ratio(noop)} | - | {cpu('dev_noop')} |")
print(f"| dev chain one per request / its no-op rate | | {ratio(per, noop)} | ≥ 0.6 | |")
lnoop = num("luxd1_noop_requestsPerSec")
lper = num("luxd1_per_request_acceptedPerSec")
info = num("luxd1_info_requestsPerSec")
print(f"| one luxd validator, one submitTx per request | {f(lper, ' tx/s')} | {ratio(lper)} | - | {cpu('luxd1_per_request')} |")
print(f"| luxd no-op rate through HandleSimple (lastAccepted): the per-request ceiling | {f(lnoop, ' req/s')} | {ratio(lnoop)} | - | {cpu('luxd1_noop')} |")
print(f"| luxd's in-process info API (for scale) | {f(info, ' req/s')} | {ratio(info)} | - | |")
print(f"| luxd one per request / its no-op rate | | {ratio(lper, lnoop)} | ≥ 0.8 | |")
l3 = num("luxd3_batched_acceptedPerSec")
l3cpu = num("luxd3_batched_nodes_cpu_seconds")
l3acc = num("luxd3_batched_accepted")
per_k = None if not l3cpu or not l3acc else l3cpu / l3acc * 1000
print(f"| 3 luxd validators on the same cores, batched | {f(l3, ' tx/s')} | {ratio(l3)} | - | client {num('luxd3_batched_clientCpuSeconds') or '-'} s |")
print(f"| 3 validators: nodes' CPU seconds per 1 000 accepted transfers | {'-' if per_k is None else f'{per_k:.2f} s'} | | halve | |")
p99 = num("dev_half_load_latencyP99Ms")
p99_text = "-" if p99 is None else f"{p99:.0f} ms"
print(f"| p99 submit → accepted at half the batched maximum ({f(num('dev_half_load_rate'), ' tx/s')}) | {p99_text} | | ≤ 250 ms | {cpu('dev_half_load')} |")
print(f"| 1M accounts: process restart (min–max of 3) | {r.get('restart_ms_min','-')}–{r.get('restart_ms_max','-')} ms | | ≤ 1 000 ms | |")
print(f"| 1M accounts: peak memory while loading | {r.get('restart_peak_mb_max','-')} MB | | ≤ 200 MB | |")
EOF
say "raw results: $results; table: $out/table.md"
