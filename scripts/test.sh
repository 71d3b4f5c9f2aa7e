#!/usr/bin/env bash
# The project's one test command (the README prints it; .ci/run calls it).
# It installs or builds everything it needs itself, so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust (https://rustup.rs) first" >&2
  exit 1
fi

# The real-host test needs Go (cgo) and a C compiler; install them from Debian when missing.
need_apt=()
command -v go >/dev/null 2>&1 || need_apt+=(golang-go)
command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "== installing ${need_apt[*]} with apt-get"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need_apt[@]}"
fi
# An old Debian Go fetches the toolchain go.mod asks for from the module proxy.
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --all-targets --locked

# Fuzzing, bounded: every cargo-fuzz target for TRANSFERVM_FUZZ_SECONDS (default 20) each, when
# a nightly toolchain is installed (cargo-fuzz needs one). The corpora already ran above, on
# stable, as tests/fuzz_corpus.rs. TRANSFERVM_FUZZ_SECONDS=0 skips this step.
fuzz_seconds="${TRANSFERVM_FUZZ_SECONDS:-20}"
if [ "$fuzz_seconds" = "0" ]; then
  echo "== fuzzing skipped (TRANSFERVM_FUZZ_SECONDS=0)"
elif ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "== fuzzing skipped: no nightly toolchain (rustup toolchain install nightly enables it);"
  echo "   the fuzz corpora still ran as ordinary tests (tests/fuzz_corpus.rs)"
else
  echo "== cargo-fuzz: ${fuzz_seconds}s per target"
  if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
  fi
  fuzz=(cargo +nightly fuzz run --fuzz-dir tests/fuzz --sanitizer none --dev)
  cargo +nightly fuzz build --fuzz-dir tests/fuzz --sanitizer none --dev
  for target in tx block gossip rpc genesis; do
    # New inputs go to a scratch directory; the committed corpus is only read.
    scratch="$(mktemp -d)"
    log="$scratch/fuzz.log"
    if "${fuzz[@]}" "$target" "$scratch" "tests/fuzz/corpus/$target" -- \
        -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 >"$log" 2>&1; then
      echo "   $target: $(grep -E '^Done [0-9]+ runs' "$log" || echo 'done')"
      rm -rf "$scratch"
    else
      tail -n 40 "$log"
      echo "fuzz target $target failed; the crashing input is under tests/fuzz/artifacts/$target/" >&2
      echo "(add it to tests/fuzz/corpus/$target/ as a regression seed once fixed)" >&2
      exit 1
    fi
  done
fi

if [ -f tests/host/run.sh ] && [ "${TRANSFERVM_SKIP_HOST:-0}" != "1" ]; then
  echo "== real-host conformance (Go)"
  bash tests/host/run.sh
fi
