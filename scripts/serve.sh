#!/usr/bin/env bash
# Builds the page and serves it on http://127.0.0.1:8080 (installs the tools it needs first).
#   scripts/serve.sh [port]
# The server (scripts/server.mjs) sends the build's Brotli/gzip copies, as a production host should
# (#15); Trunk's own server would send the 30 MB module uncompressed. Trunk's watcher rebuilds on
# a change in the sources: reload the page to get it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh page
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tinytune/target}"
trunk build --release
trunk watch --release --watch src --watch webgpu --watch www --watch index.html --watch Cargo.toml >/dev/null 2>&1 &
watcher=$!
trap 'kill "$watcher" 2>/dev/null || true' EXIT
node scripts/server.mjs dist "${1:-8080}"
