#!/usr/bin/env bash
# The whole suite: native unit/property tests, end-to-end tests against real tools and
# headless Chromium, and the web-node tests compiled to wasm32 and run in Chromium.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# One-shot builds gain nothing from incremental artifacts, which would add ~9 GB to target/.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT

scripts/setup.sh test
scripts/build-wasm.sh
echo "==> building the relay"
cargo build --locked -p relay

echo "==> native and end-to-end tests"
set +e
# Default members: the wasm-only ui crate is built by build-wasm.sh above.
cargo test --locked 2>&1 | tee -a "$LOG"
status=${PIPESTATUS[0]}
set -e

echo "==> web-node in headless Chromium (wasm32)"
set +e
if command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner CHROMEDRIVER=/usr/bin/chromedriver \
    cargo test --locked -p web-node --test wasm --target wasm32-unknown-unknown --target-dir target/wasm 2>&1 | tee -a "$LOG"
else
  (cd ui && RUSTC_BOOTSTRAP=1 /usr/bin/cargo test --locked -p web-node --test wasm) 2>&1 | tee -a "$LOG"
fi
wasm_status=${PIPESTATUS[0]}
set -e

passed=$(grep -o '[0-9]* passed' "$LOG" | awk '{s+=$1} END {print s+0}')
failed=$(grep -o '[0-9]* failed' "$LOG" | awk '{s+=$1} END {print s+0}')
echo
[[ $status == 0 ]] || echo "native/end-to-end suite exited with status $status"
[[ $wasm_status == 0 ]] || echo "wasm suite exited with status $wasm_status"
echo "all suites: $passed passed, $failed failed"
[[ $status == 0 && $wasm_status == 0 ]]
