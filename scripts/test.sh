#!/usr/bin/env bash
# The project's one test command (the README prints it; .ci/run calls it).
# It installs or builds everything it needs itself, so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust (https://rustup.rs) first" >&2
  exit 1
fi

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
