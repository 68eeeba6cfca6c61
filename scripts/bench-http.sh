#!/usr/bin/env bash
# HTTP serving benchmark (not part of the tests): scripts/bench-http.sh [SIZE_MIB]  (default 64)
# The relay's /file routes beside nginx serving the same bytes, both on 127.0.0.1, loaded by
# wrk in the same run: one 256 KiB chunk per request (requests/s), and the whole file (MB/s).
set -euo pipefail
MIB="${1:-64}"
DURATION="${BENCH_SECONDS:-10}"
source "$(dirname "$0")/bench-common.sh"

mkdir -p "$WORK/www/files" "$WORK/data"
head -c "$((MIB * 1024 * 1024))" /dev/urandom > "$WORK/www/files/bench.bin"
# One chunk as its own file, so nginx serves exactly what /file/CID/chunk/7 serves.
dd if="$WORK/www/files/bench.bin" of="$WORK/www/files/chunk7.bin" bs=262144 skip=7 count=1 status=none
CID=$(sha256sum "$WORK/www/files/bench.bin" | cut -d' ' -f1)
chmod -R a+rX "$WORK"   # nginx's workers run as an unprivileged user

RPORT=$(free_port); NPORT=$(free_port)
"$RELAY" --listen "127.0.0.1:$RPORT" --data-dir "$WORK/data" --p2p-listen /ip4/127.0.0.1/tcp/0 --bt-listen 127.0.0.1:0 \
  --seed "$WORK/www/files/bench.bin" >/dev/null 2>&1 &
pids+=($!)
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  server { listen 127.0.0.1:$NPORT; root $WORK/www; }
}
CONF
nginx -c "$WORK/nginx.conf" -g 'daemon off;' &
pids+=($!)
for _ in $(seq 200); do
  curl -sf -o /dev/null "http://127.0.0.1:$RPORT/file/$CID/chunk/0" && curl -sf -o /dev/null "http://127.0.0.1:$NPORT/files/chunk7.bin" && break
  sleep 0.1
done
# Both must serve the same bytes, or the comparison means nothing.
cmp <(curl -sf "http://127.0.0.1:$RPORT/file/$CID/chunk/7") <(curl -sf "http://127.0.0.1:$NPORT/files/chunk7.bin") \
  || { echo "bench-http: relay and nginx do not serve the same chunk" >&2; exit 1; }

run() { wrk -t2 -c"$2" -d"${DURATION}s" "$1" 2>&1; }
field() { awk -v k="$1" '$1 == k {print $2}'; }
to_mb() { python3 -c "import sys; v=sys.argv[1]; u={'B':1,'KB':1e3,'MB':1e6,'GB':1e9}; n=''.join(c for c in v if c in '0123456789.'); s=v[len(n):]; print(round(float(n)*u.get(s,1)/1e6,1))" "$1"; }

echo "HTTP serving, ${MIB} MiB file, wrk -t2 for ${DURATION}s each, 127.0.0.1, $(nproc) cores"
echo
printf '| %-40s | %12s | %10s | %10s |\n' "test" "requests/s" "MB/s" "ratio"
printf '|%s|%s|%s|%s|\n' "------------------------------------------" "--------------" "------------" "------------"
for c in 16; do
  r=$(run "http://127.0.0.1:$RPORT/file/$CID/chunk/7" $c); n=$(run "http://127.0.0.1:$NPORT/files/chunk7.bin" $c)
  rr=$(echo "$r" | field "Requests/sec:"); nr=$(echo "$n" | field "Requests/sec:")
  rt=$(to_mb "$(echo "$r" | field "Transfer/sec:")"); nt=$(to_mb "$(echo "$n" | field "Transfer/sec:")")
  ratio=$(python3 -c "print(f'{$rr/$nr:.2f}x')")
  printf '| %-40s | %12s | %10s | %10s |\n' "relay /file/CID/chunk/7 ($c conns)" "$rr" "$rt" "$ratio"
  printf '| %-40s | %12s | %10s | %10s |\n' "nginx 256 KiB file ($c conns)" "$nr" "$nt" "1.00x"
done
r=$(run "http://127.0.0.1:$RPORT/file/$CID" 4); n=$(run "http://127.0.0.1:$NPORT/files/bench.bin" 4)
rt=$(to_mb "$(echo "$r" | field "Transfer/sec:")"); nt=$(to_mb "$(echo "$n" | field "Transfer/sec:")")
ratio=$(python3 -c "print(f'{$rt/$nt:.2f}x')")
printf '| %-40s | %12s | %10s | %10s |\n' "relay /file/CID (whole, 4 conns)" "$(echo "$r" | field "Requests/sec:")" "$rt" "$ratio"
printf '| %-40s | %12s | %10s | %10s |\n' "nginx whole file (4 conns)" "$(echo "$n" | field "Requests/sec:")" "$nt" "1.00x"
