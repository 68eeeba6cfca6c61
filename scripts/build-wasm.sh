#!/usr/bin/env bash
# Builds the browser bundle into www/pkg (release). Used by run.sh, test.sh and bench.sh.
# Two routes to wasm32: rustup's wasm32 target where the user has it, otherwise Debian's
# rustc-web + rust-web-src with std built from source (see ui/.cargo/config.toml).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="$ROOT/www/pkg"
PROFILE=wasm-release
WASM="$ROOT/target/wasm/wasm32-unknown-unknown/$PROFILE/chiral_ui.wasm"

if command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "==> building the page with rustup's wasm32 target"
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS='--cfg getrandom_backend="wasm_js" -C target-feature=+simd128' \
    cargo build -p chiral-ui --target wasm32-unknown-unknown --profile "$PROFILE" --target-dir "$ROOT/target/wasm"
else
  echo "==> building the page with Debian's rustc-web (std from source)"
  (cd ui && RUSTC_BOOTSTRAP=1 /usr/bin/cargo build -p chiral-ui --profile "$PROFILE")
fi

echo "==> wasm-bindgen → www/pkg"
rm -rf "$OUT.tmp" && mkdir -p "$OUT.tmp"
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
  --out-dir "$OUT.tmp" "$WASM"
for f in "$OUT.tmp"/*.js "$OUT.tmp"/*.wasm; do
  gzip -9 -k -f "$f"
  if command -v brotli >/dev/null; then brotli -q 11 -f -k "$f"; fi
done
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
ls -l "$OUT" | awk 'NR>1 {printf "    %-28s %8.1f KiB\n", $9, $5/1024}'
