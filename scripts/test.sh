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

if [ -f tests/host/run.sh ] && [ "${TRANSFERVM_SKIP_HOST:-0}" != "1" ]; then
  echo "== real-host conformance (Go)"
  bash tests/host/run.sh
fi
