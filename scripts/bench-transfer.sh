#!/usr/bin/env bash
# Transfer benchmark (not part of the tests): scripts/bench-transfer.sh [SIZE_MIB]  (default 256)
# One file between two headless Chromiums over WebRTC: our page → our page, and WebTorrent → WebTorrent.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh bench
scripts/build-wasm.sh
cargo build --locked --release -p relay
CHIRAL_RELAY_BIN="$ROOT/target/release/relay" cargo run --locked --release -p chiral-e2e --bin bench-transfer -- "${1:-256}"
