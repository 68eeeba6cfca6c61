#!/usr/bin/env bash
# Installs what Chiral needs on a fresh Debian 12 machine, idempotently: a second run
# installs nothing. Usage: scripts/setup.sh [run|test|bench]
#   run:   the wasm32 toolchain, wasm-bindgen-cli (the lockfile's version), anvil and solc (npm)
#   test:  the above + Chromium/ChromeDriver, aria2, transmission-cli, opentracker, RHash,
#          aMule's daemon and amulecmd, Prometheus' Python client, ffmpeg (real peers/tools)
#   bench: the above + the WebTorrent client (npm, installed with the others)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PURPOSE="${1:-run}"
say() { printf '==> %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

have_rustup_wasm() {
  command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown
}

# --- Debian packages ---------------------------------------------------------------
packages=(gzip brotli curl)
if ! have_rustup_wasm; then
  # rustup cannot download the wasm32 target here; Debian's rustc-web builds std from source.
  packages+=(rustc-web cargo-web rust-web-src lld-22)
fi
if [[ "$PURPOSE" != run ]]; then
  # iproute2 + nftables: the two-NAT test (network namespaces, masquerade);
  # amule-daemon + amule-utils: amuled and amulecmd, real ed2k peers (tests/src/amule.rs);
  # python3-prometheus-client: Prometheus' own parser reads the relay's /metrics (tests/tests/operators.rs);
  # ffmpeg: the media file the streaming test plays (tests/tests/streaming.rs)
  packages+=(chromium chromium-driver aria2 transmission-cli rhash opentracker iproute2 nftables amule-daemon amule-utils python3-prometheus-client ffmpeg)
  # fonts-wqy-zenhei: Chinese and Hangul glyphs, so the i18n test's screenshots of zh and ko
  # show text, not boxes (headless Chromium uses the system's fonts)
  packages+=(fonts-wqy-zenhei)
fi
if [[ "$PURPOSE" == bench ]]; then
  packages+=(nginx-light wrk)   # the HTTP benchmark's reference server and load generator
fi
command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
    SUDO=sudo
  fi
  $SUDO apt-get update -qq || die "apt-get update failed: is a Debian mirror reachable?"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install failed for: ${missing[*]}"
fi
if ! have_rustup_wasm; then
  [[ -x /usr/bin/rustc && -d /usr/lib/rustlib/src/rust/library ]] || die "Debian rustc-web/rust-web-src did not install"
  [[ -x /usr/bin/wasm-ld-22 ]] || die "/usr/bin/wasm-ld-22 is missing (package lld-22)"
fi

# --- Rust ----------------------------------------------------------------------------
command -v cargo >/dev/null || die "cargo is missing: install Rust (https://rustup.rs) and re-run"

# wasm-bindgen-cli must equal the lockfile's wasm-bindgen exactly.
WBG=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")
[[ -n "$WBG" ]] || die "cannot read the wasm-bindgen version from Cargo.lock"
if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WBG" ]]; then
  say "installing wasm-bindgen-cli $WBG (a few minutes)"
  cargo install -q wasm-bindgen-cli --version "$WBG" --locked \
    || cargo install -q wasm-bindgen-cli --version "$WBG" \
    || die "cargo install wasm-bindgen-cli $WBG failed"
fi

# --- npm: anvil (the dev chain), the real WebTorrent client, solc (the contract) ---------
cd "$ROOT/tests"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json \
      || ! -f node_modules/solc/soljson.js ]]; then
  say "installing npm packages (anvil, webtorrent, solc)"
  # --ignore-scripts: a WebTorrent dependency's install script calls npx and fails offline.
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null || die "npm ci failed in tests/"
fi
[[ -x node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil ]] || die "anvil did not install from npm"
# solc compiles contracts/ChiralChannels.sol (scripts/compile-contract.mjs; a test checks the artifact).
[[ -f node_modules/solc/soljson.js ]] || die "solc did not install from npm"
exit 0
