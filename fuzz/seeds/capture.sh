#!/usr/bin/env bash
# Captures real third-party inputs into the fuzz corpora (run once by hand; the outputs are
# committed as fuzz/corpus/TARGET/real-*): .torrent files and info dicts made by
# transmission-create (a file and a folder with nested, unicode and empty files), opentracker's
# HTTP (compact and dictionary) and UDP announce replies, and bittorrent-tracker's (npm)
# WebSocket replies to announces with offers. Everything on 127.0.0.1; cleans up on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
C="$ROOT/fuzz/corpus"
W="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"' EXIT
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "capture: nothing listens on $1" >&2; exit 1; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- transmission-create ----------------------------------------------------------------
head -c 300000 /dev/urandom > "$W/one.bin"
mkdir -p "$W/folder/sub/deeper" && head -c 70000 /dev/urandom > "$W/folder/a.txt"
head -c 20000 /dev/urandom > "$W/folder/sub/ñandú 文件.bin" && : > "$W/folder/sub/deeper/empty"
transmission-create -o "$W/one.torrent" -t udp://127.0.0.1:6969/announce -s 16 "$W/one.bin" >/dev/null
transmission-create -o "$W/folder.torrent" -t http://127.0.0.1:6969/announce -s 16 "$W/folder" >/dev/null
for t in one folder; do
  cp "$W/$t.torrent" "$C/bencode_strict/real-transmission-$t.torrent"
  cp "$W/$t.torrent" "$C/bencode_lenient/real-transmission-$t.torrent"
  # The info dict's exact bytes: the value after the top-level key "4:info".
  python3 - "$W/$t.torrent" "$C/torrent_info/real-transmission-$t-info" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
def end(i):
    c = b[i:i+1]
    if c == b'i': return b.index(b'e', i) + 1
    if c in (b'l', b'd'):
        i += 1
        while b[i:i+1] != b'e': i = end(i)
        return i + 1
    colon = b.index(b':', i); return colon + 1 + int(b[i:colon])
start = b.index(b'4:info') + 6
open(sys.argv[2], 'wb').write(b[start:end(start)])
PY
done

# --- opentracker: HTTP and UDP announce replies -------------------------------------------
OT=$(port)
opentracker -i 127.0.0.1 -p "$OT" -P "$OT" >/dev/null 2>&1 & pids+=($!)
wait_port "$OT"
IH='%12%34%56%78%9a%bc%de%f0%12%34%56%78%9a%bc%de%f0%12%34%56%78'
for n in 1 2; do curl -sf -o /dev/null "http://127.0.0.1:$OT/announce?info_hash=$IH&peer_id=-TR4060-abcdefghijk$n&port=5141$n&uploaded=0&downloaded=0&left=0&event=started"; done
curl -sf -o "$C/http_announce_reply/real-opentracker-compact" "http://127.0.0.1:$OT/announce?info_hash=$IH&peer_id=-TR4060-abcdefghijk3&port=51413&left=10&compact=1"
curl -s -o "$C/http_announce_reply/real-opentracker-dict" "http://127.0.0.1:$OT/announce?info_hash=$IH&peer_id=-TR4060-abcdefghijk3&port=51413&left=10&compact=0" || true
curl -s -o "$C/http_announce_reply/real-opentracker-scrape" "http://127.0.0.1:$OT/scrape?info_hash=$IH" || true
python3 - "$OT" "$C/udp_tracker_reply" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
addr = ('127.0.0.1', int(sys.argv[1]))
s.sendto(struct.pack('>QII', 0x41727101980, 0, 7), addr)
r = s.recv(2048); open(sys.argv[2] + '/real-opentracker-connect', 'wb').write(r)
conn = struct.unpack('>Q', r[8:16])[0]
ih = bytes.fromhex('123456789abcdef0123456789abcdef012345678')
s.sendto(struct.pack('>QII20s20sQQQIIIiH', conn, 1, 8, ih, b'-TR4060-abcdefghijk4', 0, 0, 0, 2, 0, 1, 50, 51414), addr)
open(sys.argv[2] + '/real-opentracker-announce', 'wb').write(s.recv(2048))
s.sendto(struct.pack('>QII', conn, 2, 9) + ih, addr)
open(sys.argv[2] + '/real-opentracker-scrape', 'wb').write(s.recv(2048))
PY

# --- bittorrent-tracker (npm): WebSocket replies ------------------------------------------
BT=$(port)
(cd "$ROOT/tests" && node --input-type=module -e "
import Server from 'bittorrent-tracker/server'
const s = new Server({ udp: false, http: false, ws: true, stats: false })
s.listen($BT, '127.0.0.1')") & pids+=($!)
wait_port "$BT"
(cd "$ROOT/tests" && node - "$BT" "$C/tracker_response/real-bittorrent-tracker" <<'JS'
const WebSocket = require('ws')
const fs = require('fs')
const [port, out] = process.argv.slice(2)
const ih = Buffer.from('123456789abcdef0123456789abcdef012345678', 'hex').toString('binary')
const id = (c) => c.repeat(20)
const sdp = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:x\r\na=ice-pwd:yyyyyyyyyyyyyyyyyyyyyy\r\na=fingerprint:sha-256 00:11\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\n'
const lines = []
const a = new WebSocket(`ws://127.0.0.1:${port}`), b = new WebSocket(`ws://127.0.0.1:${port}`)
a.on('message', (m) => lines.push(m.toString()))
b.on('message', (m) => {
  const msg = JSON.parse(m.toString()); lines.push(m.toString())
  if (msg.offer) b.send(JSON.stringify({ action: 'announce', info_hash: ih, peer_id: id('b'), to_peer_id: msg.peer_id, offer_id: msg.offer_id, answer: { type: 'answer', sdp } }))
})
let open = 0
const go = () => {
  if (++open < 2) return
  b.send(JSON.stringify({ action: 'announce', info_hash: ih, peer_id: id('b'), numwant: 5, uploaded: 0, downloaded: 0, left: 0, event: 'started', offers: [] }))
  setTimeout(() => a.send(JSON.stringify({ action: 'announce', info_hash: ih, peer_id: id('a'), numwant: 5, uploaded: 0, downloaded: 0, left: 100, event: 'started', offers: [1, 2, 3, 4, 5].map((n) => ({ offer_id: id(String(n)), offer: { type: 'offer', sdp } })) })), 200)
  setTimeout(() => a.send(JSON.stringify({ action: 'scrape', info_hash: [ih] })), 500)
  setTimeout(() => { fs.writeFileSync(out, Buffer.concat([Buffer.from([0, 10])].concat(lines.map((l) => Buffer.concat([Buffer.from([6]), Buffer.from(l), Buffer.from('\n')]))))); process.exit(0) }, 1000)
}
a.on('open', go); b.on('open', go)
JS
)
echo "captured into $C"
