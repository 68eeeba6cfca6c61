#!/usr/bin/env bash
# eD2k benchmark (not part of the tests): scripts/bench-ed2k.sh [SIZE_MIB] [ROUNDS]  (default 64 1)
# One aMule (Debian's amuled 2.3.3) shares a file in a network namespace (10.66.0.x on its
# loopback; aMule refuses 127.0.0.0/8 sources); the relay's eD2k engine (`relay fetch
# ed2k://…`, every part MD4-checked) and a second aMule download it from that uploader, in
# the same run. Prints seconds, MB/s and the ratio to aMule. Needs root (namespaces).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh test
cargo build --locked --release -p relay
CHIRAL_RELAY_BIN="$ROOT/target/release/relay" cargo run --locked --release -p chiral-e2e --bin bench-ed2k -- "$@"
