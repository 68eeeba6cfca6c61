# Sourced by the relay benchmarks (bench-http.sh, bench-bridge.sh): installs the benchmark
# tools, finds or builds the release relay ($RELAY), and gives a work dir ($WORK) that is
# removed, with every process listed in $pids, on exit. free_port prints a free loopback port.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh bench
RELAY="${CHIRAL_RELAY_BIN:-}"
if [[ -z "$RELAY" ]]; then
  cargo build --locked --release -p relay
  RELAY="$ROOT/target/release/relay"
fi
WORK="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
