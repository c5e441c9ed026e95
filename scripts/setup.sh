#!/usr/bin/env bash
# Installs what tinytune needs on a fresh Debian machine (rustup's stable toolchain, Node, Python
# present), skipping whatever is already there. Only package registries are used.
#   scripts/setup.sh page      wasm target, wasm-bindgen-cli, trunk
#   scripts/setup.sh browser   + Debian's chromium and playwright-core (for the browser tests) and
#                              mesa-vulkan-drivers (lavapipe, for the native wgpu test)
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130   # must equal Cargo.lock's wasm-bindgen (Trunk.toml pins it too)
TRUNK_VERSION=0.21.14          # 0.22 needs a newer rustc than 1.95
want="${1:-page}"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
rustup component list --installed | grep -q '^clippy' || rustup component add clippy rustfmt

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 4 minutes on 2 cores)"
  # Not --locked: its lockfile pins a webpki-roots release the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "$TRUNK_VERSION" ]; then
  say "installing trunk $TRUNK_VERSION (about 10 minutes on 2 cores)"
  # No default features: no TLS stack and no update check; tinytune builds offline.
  cargo install trunk --version "$TRUNK_VERSION" --locked --no-default-features
fi

if [ "$want" = browser ]; then
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Debian's chromium"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  fi
  # Mesa's lavapipe, a CPU Vulkan: the native test of Burn's wgpu backend (the page's GPU code
  # path) runs on it where there is no GPU.
  if ! ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1; then
    say "installing Debian's mesa-vulkan-drivers (lavapipe, for the native wgpu test)"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mesa-vulkan-drivers >/dev/null
  fi
  if [ ! -d node_modules/playwright-core ]; then
    say "installing playwright-core (npm; it uses /usr/bin/chromium, no browser download)"
    npm ci --no-audit --no-fund
  fi
fi
