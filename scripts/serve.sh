#!/usr/bin/env bash
# Builds the page and serves it on http://127.0.0.1:8080 (installs the tools it needs first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh page
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tinytune/target}"
exec trunk serve --release "$@"
