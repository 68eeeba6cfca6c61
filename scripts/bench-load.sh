#!/usr/bin/env bash
# WebSocket tracker under load (not part of the tests): scripts/bench-load.sh [PEERS] [SWARMS]
# (default 10000 peers over 100 swarms). Our relay beside the reference `bittorrent-tracker`
# server (Node, WebSocket only), both on 127.0.0.1, loaded in the same run by chiral-loadgen:
#   1. PEERS WebTorrent-like peers (5 WebRTC offers an announce, answers to every offer
#      forwarded, a re-announce every 30 s) held for BENCH_HOLD_SECONDS (40) against each;
#   2. on the relay, with the peers still connected, BENCH_CHUNK_RATE (1000) open-loop
#      `GET /file/CID/chunk/N` a second for BENCH_CHUNK_SECONDS (20);
#   3. churn against each for BENCH_CHURN_SECONDS (180): peers connect, announce, vanish.
# Prints markdown tables; RSS is the server's VmRSS.
set -euo pipefail
PEERS="${1:-10000}"
SWARMS="${2:-100}"
HOLD="${BENCH_HOLD_SECONDS:-40}"
CHUNK_RATE="${BENCH_CHUNK_RATE:-1000}"
CHUNK_SECS="${BENCH_CHUNK_SECONDS:-20}"
CHURN="${BENCH_CHURN_SECONDS:-180}"
source "$(dirname "$0")/bench-common.sh"
cargo build --locked --release -p chiral-loadgen
LOADGEN="$ROOT/target/release/chiral-loadgen"
ulimit -n "$(ulimit -Hn)"

# A 16 MiB file (64 chunks of 256 KiB) for the chunk clients.
mkdir -p "$WORK/data"
head -c $((16 * 1024 * 1024)) /dev/urandom > "$WORK/bench.bin"
CID=$(sha256sum "$WORK/bench.bin" | cut -d' ' -f1)
RPORT=$(free_port); TPORT=$(free_port)
"$RELAY" --listen "127.0.0.1:$RPORT" --data-dir "$WORK/data" --p2p-listen /ip4/127.0.0.1/tcp/0 --bt-listen 127.0.0.1:0 \
  --seed "$WORK/bench.bin" >"$WORK/relay.log" 2>&1 &
RPID=$!; pids+=("$RPID")
# Its Server API, WebSocket only (its CLI loads the client too, and with it a native WebRTC
# module that `npm ci --ignore-scripts` does not build).
node --input-type=module -e "
  import Server from '$ROOT/tests/node_modules/bittorrent-tracker/server.js';
  const server = new Server({ http: false, udp: false, ws: true, stats: false });
  server.on('error', e => console.error('bittorrent-tracker:', e.message));
  server.on('warning', () => {});
  server.listen($TPORT, '127.0.0.1', () => console.log('bittorrent-tracker listening on $TPORT'));
" >"$WORK/bt-tracker.log" 2>&1 &
TPID=$!; pids+=("$TPID")
for _ in $(seq 300); do
  curl -sf -o /dev/null "http://127.0.0.1:$RPORT/file/$CID/chunk/0" && curl -s -o /dev/null "http://127.0.0.1:$TPORT/" && break
  sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:$RPORT/file/$CID/chunk/0" || { echo "bench-load: the relay did not come up" >&2; cat "$WORK/relay.log" >&2; exit 1; }
curl -s -o /dev/null "http://127.0.0.1:$TPORT/" || { echo "bench-load: bittorrent-tracker did not come up" >&2; cat "$WORK/bt-tracker.log" >&2; exit 1; }

load() { # NAME ARGS...: runs the loadgen, keeps its JSON in $WORK/NAME.json
  local name=$1; shift
  echo "==> $name" >&2
  "$LOADGEN" "$@" > "$WORK/$name.json"
}
common() { echo --swarms "$SWARMS" --server-pid "$1" --url "ws://127.0.0.1:$2/announce"; }
load relay-hold hold $(common "$RPID" "$RPORT") --peers "$PEERS" --hold-secs "$HOLD" \
  --chunk-base "http://127.0.0.1:$RPORT" --chunk-cid "$CID" --chunks 64 --chunk-rate "$CHUNK_RATE" --chunk-secs "$CHUNK_SECS"
load bt-hold hold $(common "$TPID" "$TPORT") --peers "$PEERS" --hold-secs "$HOLD"
load relay-churn churn $(common "$RPID" "$RPORT") --seconds "$CHURN"
load bt-churn churn $(common "$TPID" "$TPORT") --seconds "$CHURN"

python3 - "$WORK" "$PEERS" "$SWARMS" "$HOLD" "$CHUNK_RATE" "$CHUNK_SECS" "$CHURN" "$(nproc)" <<'PY'
import json, sys
work, peers, swarms, hold, rate, chunk_secs, churn, cores = sys.argv[1:]
j = lambda n: json.load(open(f"{work}/{n}.json"))
rh, bh, rc, bc = j("relay-hold"), j("bt-hold"), j("relay-churn"), j("bt-churn")
def row(name, r, b, fmt="{:.0f}", ratio=True):
    q = f"{r / b:.2f}x" if ratio and b else ""
    print(f"| {name} | {fmt.format(r)} | {fmt.format(b)} | {q} |")
mib = lambda k: k / 1024
print(f"\nWebSocket tracker, {peers} peers over {swarms} swarms, 5 offers an announce, re-announce 30 s, "
      f"held {hold} s; 127.0.0.1, {cores} cores\n")
print("| metric | relay | bittorrent-tracker | ratio |\n|---|---:|---:|---:|")
row("peers held", rh["peers_held"], bh["peers_held"])
row("connect ramp (s)", rh["ramp_secs"], bh["ramp_secs"], "{:.1f}")
row("announces/s (held)", rh["announces_per_sec"], bh["announces_per_sec"], "{:.0f}")
row("offers forwarded/s (held)", rh["offers_forwarded_per_sec"], bh["offers_forwarded_per_sec"], "{:.0f}")
row("offers forwarded (whole run)", rh["total"]["offers_received"], bh["total"]["offers_received"])
row("answers relayed (whole run)", rh["total"]["answers_received"], bh["total"]["answers_received"])
row("announce p50 (ms, held)", rh["announce_latency"]["p50_ms"], bh["announce_latency"]["p50_ms"], "{:.2f}")
row("announce p99 (ms, held)", rh["announce_latency"]["p99_ms"], bh["announce_latency"]["p99_ms"], "{:.2f}")
row("announce p99 (ms, while connecting)", rh["ramp_announce_latency"]["p99_ms"], bh["ramp_announce_latency"]["p99_ms"], "{:.1f}")
row("errors", rh["errors"], bh["errors"], ratio=False)
row("RSS before (MiB)", mib(rh["rss_kib"]["before"]), mib(bh["rss_kib"]["before"]), "{:.1f}")
row(f"RSS with {peers} peers (MiB)", mib(rh["rss_kib"]["with_peers"]), mib(bh["rss_kib"]["with_peers"]), "{:.1f}")
row("RSS per peer (KiB)", rh["rss_bytes_per_peer"] / 1024, bh["rss_bytes_per_peer"] / 1024, "{:.2f}")
c = rh["chunks"]
print(f"\nHTTP chunks on the relay, {rate} req/s open-loop for {chunk_secs} s (256 KiB each), "
      f"{c['peers_held']} tracker peers connected\n")
print("| metric | relay |\n|---|---:|")
for name, v in [("requests", c["sent"]), ("ok", c["ok"]), ("errors", c["errors"]), ("achieved req/s", f"{c['rate']:.0f}"),
                ("latency p50 (ms)", f"{c['latency']['p50_ms']:.2f}"), ("latency p99 (ms)", f"{c['latency']['p99_ms']:.2f}"),
                ("latency max (ms)", f"{c['latency']['max_ms']:.2f}"),
                ("announce p99 meanwhile (ms)", f"{c['announce_latency']['p99_ms']:.2f}"), ("tracker errors meanwhile", c["tracker"]["errors"])]:
    print(f"| {name} | {v} |")
print(f"\nChurn, {churn} s: 500 peers at a time connect, announce, linger up to 2 s, vanish\n")
print("| metric | relay | bittorrent-tracker | ratio |\n|---|---:|---:|---:|")
row("visits", rc["cycles"], bc["cycles"])
row("visits/s", rc["cycles_per_sec"], bc["cycles_per_sec"])
row("announce p99 (ms)", rc["announce_latency"]["p99_ms"], bc["announce_latency"]["p99_ms"], "{:.1f}")
row("errors", rc["errors"], bc["errors"], ratio=False)
for k, name in [("before", "before"), ("during", "during (mean, last third)"), ("peak", "peak"), ("after", "after (+5 s)")]:
    row(f"RSS {name} (MiB)", mib(rc["rss_kib"][k]), mib(bc["rss_kib"][k]), "{:.1f}")
PY
