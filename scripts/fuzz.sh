#!/usr/bin/env bash
# Fuzzing (not part of the tests): scripts/fuzz.sh [SECONDS] [TARGET...]
# Runs every libFuzzer target (fuzz/src/lib.rs lists them) for SECONDS each (default 60),
# FUZZ_JOBS at a time (default: the number of cores), starting from the committed corpus
# fuzz/corpus/TARGET, and prints a table: target, executions, executions/s, new inputs, crashes.
# New inputs go to fuzz/libfuzzer/work/TARGET (not committed); FUZZ_MERGE=1 merges the ones
# that add coverage into fuzz/corpus/TARGET. Crashing inputs land in fuzz/libfuzzer/artifacts/
# TARGET/; once fixed, commit them under fuzz/regressions/TARGET/ (the test command replays both).
# FUZZ_RUNS=N stops each target after N executions instead (SECONDS stays the cap).
# Needs the rustup nightly toolchain; installs cargo-fuzz if missing.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
SECS="${1:-60}"
shift || true
die() { printf 'fuzz: %s\n' "$*" >&2; exit 1; }

command -v rustup >/dev/null && rustup toolchain list | grep -q '^nightly' \
  || die "needs the rustup nightly toolchain (rustup toolchain install nightly)"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  cargo install -q cargo-fuzz --locked || die "cargo install cargo-fuzz failed"
fi

FUZZ_DIR=fuzz/libfuzzer
# -s none: the code under test is safe Rust, so what we hunt is panics, overflows (-a keeps
# overflow checks and debug assertions on) and runaway memory; no sanitizer triples the rate.
cargo +nightly fuzz build --fuzz-dir "$FUZZ_DIR" -O -a -s none >&2 || die "cargo fuzz build failed"
BIN="$FUZZ_DIR/target/x86_64-unknown-linux-gnu/release"

if (($#)); then targets=("$@"); else
  mapfile -t targets < <(sed -n 's/^ *Target { name: "\([a-z0-9_]*\)".*/\1/p' fuzz/src/lib.rs)
fi
((${#targets[@]})) || die "no targets found in fuzz/src/lib.rs"
JOBS="${FUZZ_JOBS:-$(nproc)}"
LOGS="$(mktemp -d)"
trap 'rm -rf "$LOGS"' EXIT

run_one() {
  local t="$1"
  [[ -x "$BIN/$t" ]] || die "no binary for target $t"
  mkdir -p "$FUZZ_DIR/work/$t" "$FUZZ_DIR/artifacts/$t"
  local before; before=$(find "$FUZZ_DIR/work/$t" -type f | wc -l)
  # Bounded: 2 GiB of RSS, 10 s per input; a crash stops that target's run (reported below).
  "$BIN/$t" -max_total_time="$SECS" ${FUZZ_RUNS:+-runs="$FUZZ_RUNS"} -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$FUZZ_DIR/artifacts/$t/" "$FUZZ_DIR/work/$t" "fuzz/corpus/$t" >"$LOGS/$t.log" 2>&1 || true
  local after; after=$(find "$FUZZ_DIR/work/$t" -type f | wc -l)
  echo "$((after - before))" > "$LOGS/$t.new"
  if [[ "${FUZZ_MERGE:-0}" == 1 ]]; then
    "$BIN/$t" -merge=1 "fuzz/corpus/$t" "$FUZZ_DIR/work/$t" >/dev/null 2>&1 || true
  fi
}

running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if ((running >= JOBS)); then wait -n; running=$((running - 1)); fi
done
wait

echo "libFuzzer, ${FUZZ_RUNS:+$FUZZ_RUNS runs or }${SECS}s per target, ${JOBS} at a time, $(nproc) cores, sanitizer none, overflow checks on"
echo
printf '| %-20s | %14s | %10s | %9s | %7s |\n' target executions "execs/s" "new inputs" crashes
printf '|%s|%s|%s|%s|%s|\n' ---------------------- ---------------- ------------ ----------- ---------
total_crashes=0
for t in "${targets[@]}"; do
  log="$LOGS/$t.log"
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
  rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log" | tail -1)
  crashes=$(find "$FUZZ_DIR/artifacts/$t" -type f | wc -l)
  total_crashes=$((total_crashes + crashes))
  printf '| %-20s | %14s | %10s | %10s | %7s |\n' "$t" "${execs:-?}" "${rate:-?}" "$(cat "$LOGS/$t.new")" "$crashes"
  if ((crashes)); then grep -m3 -E "panicked|ERROR: libFuzzer" "$log" | sed 's/^/    /' >&2 || true; fi
done
((total_crashes == 0)) || { echo "fuzz: $total_crashes crashing inputs in $FUZZ_DIR/artifacts/" >&2; exit 1; }
