#!/usr/bin/env bash
# Payment benchmark (not part of the tests): scripts/bench-pay.sh [SIZE_MIB…]  (default 1 10 100)
# Style 1 (a payment per seeder after the download) beside Style 2 (a channel per seeder,
# vouchers in-band) for 1 and 3 priced seeders: transactions, gas, download time, on anvil,
# every peer our page in headless Chromium.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh bench
scripts/build-wasm.sh
cargo build --locked --release -p relay
CHIRAL_RELAY_BIN="$ROOT/target/release/relay" cargo run --locked --release -p chiral-e2e --bin bench-pay -- "$@"
