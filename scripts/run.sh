#!/usr/bin/env bash
# Runs Chiral locally: the dev chain (anvil, chain id 98765) and the relay serving the app.
# Usage: scripts/run.sh [--listen HOST:PORT] [--data-dir DIR] [--anvil-port PORT] [-- relay flags…]
# Environment: CHIRAL_LISTEN, CHIRAL_DATA_DIR, CHIRAL_ANVIL_PORT. Ctrl-C stops everything.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LISTEN="${CHIRAL_LISTEN:-127.0.0.1:8080}"
DATA_DIR="${CHIRAL_DATA_DIR:-$ROOT/.chiral}"
ANVIL_PORT="${CHIRAL_ANVIL_PORT:-8545}"
EXTRA=()
while (($#)); do
  case "$1" in
    --listen) LISTEN="$2"; shift 2 ;;
    --data-dir) DATA_DIR="$2"; shift 2 ;;
    --anvil-port) ANVIL_PORT="$2"; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "run: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done

"$ROOT/scripts/setup.sh" run
"$ROOT/scripts/build-wasm.sh"
echo "==> building the relay (release)"
cargo build --locked --release -p relay --manifest-path "$ROOT/Cargo.toml"
mkdir -p "$DATA_DIR"

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "==> stopped"
}
trap cleanup INT TERM EXIT

if [[ -n "${CHIRAL_ETH_RPC:-}" ]]; then
  echo "==> using the chain node at $CHIRAL_ETH_RPC (no embedded anvil)"
else
if (exec 3<>"/dev/tcp/127.0.0.1/$ANVIL_PORT") 2>/dev/null; then
  echo "run: port $ANVIL_PORT is taken; pass --anvil-port" >&2; exit 1
fi
echo "==> starting anvil (chain id 98765) on 127.0.0.1:$ANVIL_PORT"
"$ROOT/tests/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" --chain-id 98765 --host 127.0.0.1 \
  --port "$ANVIL_PORT" --state "$DATA_DIR/anvil-state.json" --silent &
pids+=($!)
for _ in $(seq 100); do
  curl -sf -X POST -H 'content-type: application/json' --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}' \
    "http://127.0.0.1:$ANVIL_PORT" >/dev/null && break
  sleep 0.1
done
# The payment-channel contract (Style 2), at its fixed dev address: the first contract of
# anvil's dev account #9. Idempotent: with a saved chain state it is found, not redeployed.
echo "==> deploying ChiralChannels on the dev chain"
DEPLOY_KEY_FILE="$(mktemp "$DATA_DIR/deploy-key.XXXXXX")" # mode 0600
printf '%s\n' 0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6 >"$DEPLOY_KEY_FILE"
CHANNELS_OUT="$("$ROOT/target/release/relay" channels-deploy --eth-rpc "http://127.0.0.1:$ANVIL_PORT" \
  --key-file "$DEPLOY_KEY_FILE")" || { rm -f "$DEPLOY_KEY_FILE"; echo "run: deploying ChiralChannels failed" >&2; exit 1; }
rm -f "$DEPLOY_KEY_FILE"
CHANNEL_CONTRACT="$(tail -n1 <<<"$CHANNELS_OUT")"
echo "    $(head -n1 <<<"$CHANNELS_OUT")"
fi

echo "==> starting the relay on $LISTEN"
# The embedded dev chain gets a faucet for new wallets; a Geth given by CHIRAL_ETH_RPC does not.
FAUCET=()
[[ -z "${CHIRAL_ETH_RPC:-}" ]] && FAUCET=(--dev-faucet)
CHIRAL_ETH_RPC="${CHIRAL_ETH_RPC:-http://127.0.0.1:$ANVIL_PORT}" \
  "$ROOT/target/release/relay" --listen "$LISTEN" --data-dir "$DATA_DIR" --www "$ROOT/www" "${FAUCET[@]}" \
  ${CHANNEL_CONTRACT:+--channel-contract "$CHANNEL_CONTRACT"} "${EXTRA[@]}" &
pids+=($!)
echo
echo "    Chiral is running: http://$LISTEN   (Ctrl-C stops it)"
echo
wait -n "${pids[@]}"
