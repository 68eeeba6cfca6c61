#!/usr/bin/env bash
# BitTorrent fetch benchmark (not part of the tests): scripts/bench-bridge.sh [SIZE_MIB] [ROUNDS]
# (defaults 64, 3). A local swarm of two Transmission seeders (Debian's transmission-cli,
# announcing to a relay's HTTP tracker) on 127.0.0.1; the same magnet is fetched by the relay's
# bridge engine (`relay fetch`: tracker lookup, BEP 9 metadata, every piece SHA-1 verified)
# and by aria2c, alternately, in the same run. Prints MB/s and the ratio ours/aria2c.
set -euo pipefail
MIB="${1:-64}"
ROUNDS="${2:-3}"
source "$(dirname "$0")/bench-common.sh"

mkdir -p "$WORK/seed" "$WORK/out"
head -c "$((MIB * 1024 * 1024))" /dev/urandom > "$WORK/seed/bench.bin"
TPORT=$(free_port)
# The tracker: a relay's /announce (opentracker hands a magnet client, which announces
# left=0 before it has the metadata, no seeders at all).
TRACKER="http://127.0.0.1:$TPORT/announce"
mkdir -p "$WORK/tracker"
"$RELAY" --listen "127.0.0.1:$TPORT" --data-dir "$WORK/tracker" --www "$ROOT/www" --p2p-listen /ip4/127.0.0.1/tcp/0 \
  --bt-listen 127.0.0.1:0 --no-dht >/dev/null 2>&1 &
pids+=($!)
transmission-create -o "$WORK/bench.torrent" -s 256 -t "$TRACKER" "$WORK/seed/bench.bin" >/dev/null
IH=$(transmission-show "$WORK/bench.torrent" | awk '/Hash:/ {print $2}')

# Two seeders, each with its own config dir bound to loopback. Transmission refuses a
# peer that comes back soon after a finished download, so every fetch gets a fresh swarm.
declare -A seeder_pid
PORT1=$(free_port); PORT2=$(free_port)
start_swarm() {
  for n in 1 2; do
    [[ -n "${seeder_pid[$n]:-}" ]] && { kill "${seeder_pid[$n]}" 2>/dev/null || true; wait "${seeder_pid[$n]}" 2>/dev/null || true; }
    rm -rf "$WORK/tr$n" && mkdir -p "$WORK/tr$n"
    local port; port=$([[ $n == 1 ]] && echo "$PORT1" || echo "$PORT2")
    cat > "$WORK/tr$n/settings.json" <<CONF
{ "bind-address-ipv4": "127.0.0.1", "bind-address-ipv6": "::1", "dht-enabled": false, "lpd-enabled": false,
  "pex-enabled": false, "utp-enabled": false, "port-forwarding-enabled": false, "peer-port": $port,
  "speed-limit-up-enabled": false, "ratio-limit-enabled": false, "encryption": 1, "message-level": 0 }
CONF
    transmission-cli -U -D -et -g "$WORK/tr$n" -w "$WORK/seed" "$WORK/bench.torrent" >"$WORK/tr$n/log" 2>&1 &
    seeder_pid[$n]=$!
    pids+=($!)
  done
  for _ in $(seq 600); do
    grep -q Seeding "$WORK/tr1/log" 2>/dev/null && grep -q Seeding "$WORK/tr2/log" 2>/dev/null && break
    sleep 0.5
  done
  grep -q Seeding "$WORK/tr1/log" && grep -q Seeding "$WORK/tr2/log" || { echo "bench-bridge: the Transmission seeders did not start" >&2; exit 1; }
  sleep 2   # their first announce
}
MAGNET="magnet:?xt=urn:btih:$IH&dn=bench.bin&tr=$TRACKER"
WANT=$(sha256sum "$WORK/seed/bench.bin" | cut -d' ' -f1)

now() { date +%s.%N; }
ours() {
  rm -f "$WORK/out/ours.bin"
  local t0; t0=$(now)
  timeout 900 "$RELAY" fetch "$MAGNET" -o "$WORK/out/ours.bin" --no-dht --bt-listen 127.0.0.1:0 --cid "$WANT" 2>/dev/null >/dev/null
  python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$t0" "$(now)"
}
aria() {
  rm -rf "$WORK/out/aria"
  local t0; t0=$(now)
  timeout 900 aria2c --interface=127.0.0.1 --seed-time=0 --enable-dht=false --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false --bt-save-metadata=false \
    --summary-interval=0 --console-log-level=error --file-allocation=none -d "$WORK/out/aria" "$MAGNET" >/dev/null 2>&1
  python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$t0" "$(now)"
}

echo "BitTorrent fetch of a ${MIB} MiB magnet from 2 local Transmission seeders (HTTP tracker), 127.0.0.1, $(nproc) cores"
echo
printf '| %-34s | %8s | %8s |\n' "round" "ours s" "aria2c s"
printf '|%s|%s|%s|\n' "------------------------------------" "----------" "----------"
ours_total=0; aria_total=0
for r in $(seq "$ROUNDS"); do
  start_swarm; o=$(ours)
  start_swarm; a=$(aria)
  [[ "$(sha256sum "$WORK/out/ours.bin" | cut -d' ' -f1)" == "$WANT" ]] || { echo "bench-bridge: our copy differs" >&2; exit 1; }
  [[ "$(sha256sum "$WORK/out/aria/bench.bin" | cut -d' ' -f1)" == "$WANT" ]] || { echo "bench-bridge: aria2c's copy differs" >&2; exit 1; }
  printf '| %-34s | %8.2f | %8.2f |\n' "$r" "$o" "$a"
  ours_total=$(python3 -c "print($ours_total + $o)"); aria_total=$(python3 -c "print($aria_total + $a)")
done
echo
python3 - "$MIB" "$ROUNDS" "$ours_total" "$aria_total" <<'PY'
import sys
mib, rounds, ours, aria = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
mb = mib * 1048576 * rounds / 1e6
print(f"| {'tool':<34} | {'MB/s':>8} | {'ratio':>8} |")
print(f"|{'-'*36}|{'-'*10}|{'-'*10}|")
print(f"| {'relay fetch (bridge engine)':<34} | {mb/ours:8.1f} | {aria/ours:8.2f}x |")
print(f"| {'aria2c':<34} | {mb/aria:8.1f} | {1:8.2f}x |")
PY
