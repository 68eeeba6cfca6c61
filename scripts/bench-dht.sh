#!/usr/bin/env bash
# DHT simulation benchmark: the relays' Kademlia on in-process nodes (memory transport).
# Usage: scripts/bench-dht.sh [NODES] [LOOKUPS] [SEED] [--converged]   (defaults: 1000 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --release -p chiral-e2e --bin dht-sim && target/release/dht-sim "$@"
