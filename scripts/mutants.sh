#!/usr/bin/env bash
# Mutation testing of the chain core and the node (RELIABILITY.md "Mutation testing"):
# cargo-mutants changes src/chain/** and src/node/** one mutant at a time (a function body
# replaced by a default value, an operator swapped, a condition negated) and runs the library's
# unit tests against each; a mutant the tests still pass is a behaviour no test pins. `--lib` goes
# to every cargo call (--cargo-arg), not only the test run: otherwise each mutant also rebuilds
# every integration-test binary, which tripled the time per mutant.
#
# Too slow for the test command (795 mutants, ~12 s each; both shards at once on 2 cores took
# ~1.5 h), so it runs here:
#   scripts/mutants.sh              # everything, one shard
#   scripts/mutants.sh 0/2          # half of the mutants (shards count from 0: run 1/2 too)
#   scripts/mutants.sh 0/2 --iterate  # further arguments go to cargo-mutants; --iterate skips
#                                   # the mutants $MUTANTS_OUT already lists caught or unviable
#   scripts/mutants.sh 0/2 --retest missed.txt   # only the mutants a missed.txt names, matched
#                                   # by file and description: new tests move lines
# Environment: MUTANTS_OUT (results, default target/mutants-out[-shard]),
#   CARGO_TARGET_DIR (default target/mutants-target[-shard], one per shard so that shards run
#   at once), TRANSFERVM_PROPERTY_CASES (default 32:
#   the property test's random workloads, fewer than the test command's 256 to keep each
#   mutant's run short; its invariants still see hundreds of blocks).
# It mutates a scratch git worktree of HEAD (cargo-mutants --in-place), never this checkout;
# commit first. Results: $MUTANTS_OUT/mutants.out/{caught,missed,timeout,unviable}.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

shard=""
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
  shard="$1"
  shift
fi
version="27.1.0"
if ! cargo mutants --version 2>/dev/null | grep -q "$version"; then
  echo "== installing cargo-mutants $version"
  cargo install cargo-mutants --locked --version "$version"
fi

# --retest FILE: one --re per mutant FILE names ("path:line:col: description"), any line and
# column, so the mutants a run missed can be tried again after tests were added above them.
retest=()
if [ "${1:-}" = "--retest" ]; then
  [ -f "${2:-}" ] || { echo "mutants.sh: --retest needs a missed.txt file" >&2; exit 2; }
  escape() { sed -e 's/[][\\.*^$+?(){}|#&~-]/\\&/g' <<<"$1"; }
  while IFS= read -r name; do
    [ -n "$name" ] || continue
    retest+=(--re "^$(escape "${name%%:*}"):[0-9]+:[0-9]+: $(escape "${name#*: }")\$")
  done <"$2"
  shift 2
fi

suffix=""
[ -n "$shard" ] && suffix="-${shard/\//of}"
out="${MUTANTS_OUT:-$root/target/mutants-out$suffix}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/mutants-target$suffix}"
export TRANSFERVM_PROPERTY_CASES="${TRANSFERVM_PROPERTY_CASES:-32}"
mkdir -p "$out"

scratch="$(mktemp -d "${TMPDIR:-/tmp}/transfervm-mutants-XXXXXX")"
cleanup() {
  git -C "$root" worktree remove --force "$scratch/tree" >/dev/null 2>&1 || true
  rm -rf "$scratch"
}
trap cleanup EXIT
git -C "$root" worktree add --detach -q "$scratch/tree" HEAD
echo "== mutating a worktree of $(git -C "$root" rev-parse --short HEAD) at $scratch/tree"

shard_args=()
[ -n "$shard" ] && shard_args=(--shard "$shard" --sharding round-robin)
started=$(date +%s)
status=0
(cd "$scratch/tree" && cargo mutants --in-place --no-shuffle \
  --file 'src/chain/**' --file 'src/node/**' \
  --profile mutants --cargo-arg=--lib \
  --minimum-test-timeout 60 \
  "${shard_args[@]}" "${retest[@]}" --output "$out" "$@") || status=$?
# cargo-mutants exits 2 when some mutants were missed, 3 on timeouts: the figures below say
# which; anything else is a failure of the run itself.
for kind in caught previously_caught missed timeout unviable; do
  count=0
  [ -f "$out/mutants.out/$kind.txt" ] && count="$(wc -l <"$out/mutants.out/$kind.txt")"
  printf '%-17s %s\n' "$kind" "$count"
done
echo "== $(( $(date +%s) - started )) s; missed mutants: $out/mutants.out/missed.txt"
case "$status" in 0 | 2 | 3) exit 0 ;; *) exit "$status" ;; esac
