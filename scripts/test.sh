#!/usr/bin/env bash
# The project's one test command (the README prints it; .ci/run calls it).
# It installs or builds everything it needs itself, so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust (https://rustup.rs) first" >&2
  exit 1
fi

# The real-host test needs Go (cgo) and a C compiler, the explorer test a browser; install them
# from Debian when missing.
need_apt=()
command -v go >/dev/null 2>&1 || need_apt+=(golang-go)
command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
# tests/host/build-luxd.sh patches the node's source before building it (end-to-end test).
command -v patch >/dev/null 2>&1 || need_apt+=(patch)
# tests/explorer.rs renders the explorer page in headless Chromium (it skips, saying so, without).
if [ -z "${TRANSFERVM_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1 \
    && ! command -v chromium-browser >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1; then
  need_apt+=(chromium)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "== installing ${need_apt[*]} with apt-get"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need_apt[@]}"
fi
# An old Debian Go fetches the toolchain go.mod asks for from the module proxy.
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

# The nodes and peer VMs the real-host steps run (luxd with xsvm, avalanchego v1.11.9 and v1.10.17,
# subnet-evm) take ~20 min of CPU to build on a cold machine; cached, they take none. They build
# here in the background at the lowest priority, in the order the steps need them, so they use
# the CPU the steps before them leave idle (links, downloads, a network's waits for blocks)
# instead of adding their whole time to the run; a step that needs one still being built waits
# for it (build_from_module's lock in scripts/go-host-lib.sh) and a failed one is built again,
# with its error shown, by the step. The log is printed at the end only if a build failed there.
prebuild_pid=""
if [ "${TRANSFERVM_SKIP_HOST:-0}" != "1" ] && [ -d tests/host ]; then
  prebuilds=()
  if [ "${TRANSFERVM_SKIP_E2E:-0}" != "1" ] || [ "${TRANSFERVM_SKIP_PEERS:-0}" != "1" ]; then
    prebuilds+=("build-luxd.sh")
  fi
  if [ "${TRANSFERVM_SKIP_E2E:-0}" != "1" ] && [ "${E2E_SKIP_PROTO35:-0}" != "1" ]; then
    prebuilds+=("build-avalanchego.sh v1.11.9")
  fi
  if [ "${TRANSFERVM_SKIP_PEERS:-0}" != "1" ]; then
    prebuilds+=("build-avalanchego.sh v1.10.17" "build-subnet-evm.sh")
  fi
  prebuild_log="$(mktemp)"
  # In a session of its own (setsid), so that the whole tree, go build included, can be stopped.
  setsid bash -c '
    log="$1"; shift
    for build in "$@"; do
      # shellcheck disable=SC2086 # a script name and its arguments
      nice -n 19 bash tests/host/$build >/dev/null 2>>"$log" || echo "prebuild failed: $build" >>"$log"
    done' prebuild "$prebuild_log" "${prebuilds[@]}" &
  prebuild_pid=$!
  # Never outlive the test command: an unfinished build is stopped (its cache stays unstamped).
  trap '[ -z "$prebuild_pid" ] || kill -- "-$prebuild_pid" 2>/dev/null || true' EXIT
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --all-targets --locked

# Fuzzing, bounded: every cargo-fuzz target (tests/fuzz) for TRANSFERVM_FUZZ_SECONDS (default 20)
# each, when a nightly toolchain is installed. The corpora already ran above, on stable, as
# tests/fuzz_corpus.rs. TRANSFERVM_FUZZ_SECONDS=0 skips this step.
#
# cargo-fuzz itself is not installed here: building it from source costs ~90 s of CPU on every
# fresh machine, and all it adds for a bounded run is the build flags. The targets are built
# with exactly the flags `cargo fuzz build --dev --sanitizer none` passes (cargo-fuzz 0.13), into
# the directory it uses, and run as the libFuzzer binaries they are. Locally,
# `cargo +nightly fuzz run --fuzz-dir tests/fuzz <target>` works as usual (RELIABILITY.md).
# libFuzzer runs on one core, so the targets run in two lanes side by side.
fuzz_seconds="${TRANSFERVM_FUZZ_SECONDS:-20}"
if [ "$fuzz_seconds" = "0" ]; then
  echo "== fuzzing skipped (TRANSFERVM_FUZZ_SECONDS=0)"
elif ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "== fuzzing skipped: no nightly toolchain (rustup toolchain install nightly enables it);"
  echo "   the fuzz corpora still ran as ordinary tests (tests/fuzz_corpus.rs)"
else
  echo "== fuzzing: ${fuzz_seconds}s per target"
  triple="$(rustc +nightly -vV | sed -n 's/^host: //p')"
  fuzz_flags=(
    -Cpasses=sancov-module
    -Cllvm-args=-sanitizer-coverage-level=4
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
    -Cllvm-args=-sanitizer-coverage-pc-table
    -Cllvm-args=-sanitizer-coverage-trace-compares
    --cfg fuzzing
    -Cllvm-args=-simplifycfg-branch-fold-threshold=0
    -Cllvm-args=-sanitizer-coverage-stack-depth
    -Cdebug-assertions
  )
  # --target keeps the flags off build scripts and proc macros, as cargo-fuzz does.
  RUSTFLAGS="${fuzz_flags[*]} ${RUSTFLAGS:-}" cargo +nightly build \
    --manifest-path tests/fuzz/Cargo.toml --target "$triple" --bins
  fuzz_bin="${CARGO_TARGET_DIR:-tests/fuzz/target}/$triple/debug"
  fuzz_work="$(mktemp -d)"
  # Runs targets one after another; new inputs go to scratch, the committed corpus is only read.
  fuzz_lane() {
    for target in "$@"; do
      mkdir -p "$fuzz_work/$target.new" "tests/fuzz/artifacts/$target"
      if "$fuzz_bin/$target" -artifact_prefix="tests/fuzz/artifacts/$target/" \
          -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
          "$fuzz_work/$target.new" "tests/fuzz/corpus/$target" >"$fuzz_work/$target.log" 2>&1; then
        echo ok >"$fuzz_work/$target.status"
      fi
    done
  }
  fuzz_lane tx gossip genesis &
  lane_a=$!
  fuzz_lane block rpc sync &
  lane_b=$!
  wait "$lane_a" "$lane_b"
  fuzz_failed=0
  for target in tx block gossip rpc genesis sync; do
    if [ -f "$fuzz_work/$target.status" ]; then
      runs="$(grep -E '^Done [0-9]+ runs' "$fuzz_work/$target.log" || echo 'done')"
      echo "   $target: $runs; $(find "$fuzz_work/$target.new" -type f | wc -l) new inputs"
    else
      tail -n 40 "$fuzz_work/$target.log"
      echo "fuzz target $target failed; the crashing input is under tests/fuzz/artifacts/$target/" >&2
      echo "(add it to tests/fuzz/corpus/$target/ as a regression seed once fixed)" >&2
      fuzz_failed=1
    fi
  done
  rm -rf "$fuzz_work"
  [ "$fuzz_failed" = 0 ] || exit 1
fi

if [ -f tests/host/run.sh ] && [ "${TRANSFERVM_SKIP_HOST:-0}" != "1" ]; then
  echo "== real-host conformance (Go)"
  bash tests/host/run.sh
  # The same test against the two protocol-35 hosts (the plugin under a *.rpcchainvm35 name), in
  # modules generated from tests/host's files (tests/host/conformance35.sh: times in its header).
  echo "== real-host conformance, protocol 35: avalanchego v1.11.9 (Go)"
  SKIP_CARGO_BUILD=1 bash tests/host/conformance35.sh avalanchego
  echo "== real-host conformance, protocol 35: luxfi/node v1.11.10 (Go)"
  SKIP_CARGO_BUILD=1 bash tests/host/conformance35.sh luxfi
fi

# End-to-end on a local network of 3 real Lux nodes (tests/host/e2e.sh: TestLocalNetworkE2E via
# scripts/local-network.sh, all on 127.0.0.1, every node stopped at the end), then the same test
# on 3 avalanchego v1.11.9 nodes (rpcchainvm protocol 35, the plugin installed as
# <VM ID>.rpcchainvm35). The nodes are the background builds' (above: on their own, luxd ~6 min
# and avalanchego v1.11.9 ~7.5 min on 2 cores, cached under ~/.cache/transfervm/<node>-<version>);
# the network controller is compiled against each the first time (~1-2 min). The end-to-end test
# takes 55-105 s on each host (a v1.11.9 network starts in ~90 s) and the short fault test (2
# kill cycles and a stall, TestLocalNetworkFaults, luxd only; scripts/faults.sh is the long one)
# ~3 min: the whole step ~6 min. E2E_SKIP_PROTO35=1 leaves the avalanchego v1.11.9 run out.
# TRANSFERVM_SKIP_E2E=1 skips this step (TRANSFERVM_SKIP_HOST=1 skips it too).
if [ -f tests/host/e2e.sh ] && [ "${TRANSFERVM_SKIP_E2E:-0}" != "1" ] && [ "${TRANSFERVM_SKIP_HOST:-0}" != "1" ]; then
  echo "== end-to-end on a local network of real Lux nodes (Go)"
  bash tests/host/e2e.sh
fi

# The peer benchmark's smoke run (scripts/bench-peers.sh, issue #12): on 1 luxd validator
# transfervm and xsvm, on 1 avalanchego v1.10.17 validator transfervm and subnet-evm v0.5.10,
# 200 transfers of each VM in each shape, every one of which must be accepted and found in the
# balances on the node. avalanchego v1.10.17 and subnet-evm are the background builds' (on their
# own ~5 and ~1.5 min); localnet against avalanchego compiles the first time (~1.5 min); the runs
# take ~4 min.
# It uses the debug plugin the steps above built. TRANSFERVM_SKIP_PEERS=1 skips this step
# (TRANSFERVM_SKIP_HOST=1 skips it too).
if [ -f scripts/bench-peers.sh ] && [ "${TRANSFERVM_SKIP_PEERS:-0}" != "1" ] && [ "${TRANSFERVM_SKIP_HOST:-0}" != "1" ]; then
  echo "== peer benchmark smoke run: transfervm beside xsvm and subnet-evm (Go)"
  cargo build --bin transfervm
  plugin_target="${CARGO_TARGET_DIR:-target}"
  case "$plugin_target" in /*) ;; *) plugin_target="$PWD/$plugin_target" ;; esac
  PEERS_SMOKE=1 TRANSFERVM_PLUGIN="$plugin_target/debug/transfervm" bash scripts/bench-peers.sh
fi

if [ -n "$prebuild_pid" ]; then
  wait "$prebuild_pid" || true
  if grep -q '^prebuild failed' "$prebuild_log"; then
    echo "== note: a background build failed and its step built it again; its log:"
    cat "$prebuild_log"
  fi
  rm -f "$prebuild_log"
  prebuild_pid=""
fi
