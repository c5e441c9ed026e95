#!/usr/bin/env bash
# Runs every check and test: formatting, clippy (native and wasm32), native tests on Burn's CPU
# backend, then the built page in headless Chromium. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh browser
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# Build output lives outside the clone so a later run (and CI) reuses it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tinytune/target}"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "clippy (native)"
cargo clippy --release --all-targets -p tinytune -p tinytune-kernels -- -D warnings
step "clippy (wasm32: the page's module, the WebGPU module, the fused ops' kernels)"
cargo clippy --release --target wasm32-unknown-unknown --lib --no-default-features -- -D warnings
cargo clippy --release --target wasm32-unknown-unknown -p tinytune-webgpu -- -D warnings
cargo clippy --release --target wasm32-unknown-unknown -p tinytune-kernels -- -D warnings
step "native tests (Burn CPU backend; the wgpu backend on lavapipe)"
# The wgpu test must find an adapter here (setup installed lavapipe); elsewhere it may skip.
TINYTUNE_WGPU=require cargo test --release -p tinytune -p tinytune-kernels
step "build the page (trunk)"
trunk build --release
step "browser tests (Playwright + /usr/bin/chromium)"
node --test --test-concurrency=1 tests/browser/
