#!/usr/bin/env bash
# Ingest benchmark (not part of the tests): scripts/bench.sh [SIZE_MIB]  (default 1024)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh bench
scripts/build-wasm.sh
cargo build --locked --release -p relay
cargo build --locked --release -p chiral-e2e --bin bench-ingest
CHIRAL_RELAY_BIN="$ROOT/target/release/relay" target/release/bench-ingest "${1:-1024}"
