#!/usr/bin/env bash
# The GPU path natively (#15): the reference MLP, a width-1024 MLP, the reference transformer and
# 16-rate sweeps of the first and the last stacked (#33) on
# Burn's wgpu backend (`tinytune --backend wgpu`: Vulkan, Metal or DX12, lavapipe without a GPU)
# and on the CPU backend (flex). Steady-state steps/s come from two run lengths of each link, so
# the fixed costs (start-up, shader compilation, the data upload) cancel out; they are printed
# apart. Dispatches per step are counted on wgpu from CubeCL's profiler (one line per kernel
# launch; a profiled run waits after every kernel, so it is a separate, short pair of runs).
# Usage: scripts/gpu-bench.sh [path/to/tinytune] (default: the release build); GPU_BENCH_CASES=MLP
# runs only the cases whose name starts with it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/tinytune/target}/release/tinytune}"
[ -x "$bin" ] || { echo "no tinytune binary at $bin: cargo build --release" >&2; exit 2; }

lrs='0.0001,0.00015,0.0002,0.0003,0.0005,0.0007,0.001,0.0015,0.002,0.003,0.005,0.007,0.01,0.015,0.02,0.03'
# name | link without steps | short and long step counts on the CPU, on wgpu, profiled on wgpu
# (the MLPs' pairs span an evaluation, which comes every 10 steps; the transformer's is kept short
# for lavapipe, where a profiled step of it takes seconds)
cases=(
  "reference MLP|task=spiral|400 1200|100 300|10 20"
  "MLP width 1024|w=1024&lr=0.001|40 120|40 120|10 20"
  "reference transformer|task=text&w=128&d=2&heads=4&ctx=64&bs=32&lr=0.003&n=1024|10 30|4 12|2 4"
  # Sweeps of 16 learning rates (#33): a step is every run's, stacked on wgpu (`stack=auto`), in
  # turn on the CPU (its threads taking runs).
  "16-rate MLP sweep, stacked|task=spiral&sweep=lr:$lrs&stack=auto|40 120|40 120|10 20"
  "16-rate transformer sweep, stacked|task=text&w=128&d=2&heads=4&ctx=64&bs=32&n=1024&sweep=lr:$lrs&stack=auto|2 6|4 12|2 4"
)

# Seconds and the device line of one run (the CLI's summary on stderr).
run() {
  local out
  out=$("$bin" --summary --backend "$1" "$2" 2>&1 >/dev/null) || { echo "$out" >&2; return 1; }
  local line
  line=$(grep -E ' steps in [0-9.]+ s ' <<<"$out" | tail -1)
  sed -E 's/.* steps in ([0-9.]+) s .* on (.*)$/\1|\2/' <<<"$line"
}

# Kernel launches of a profiled wgpu run of `link`.
launches() {
  local log
  log=$(mktemp)
  CUBECL_DEBUG_OPTION=profile CUBECL_DEBUG_LOG="$log" "$bin" --summary --backend wgpu "$1" >/dev/null 2>&1
  grep -cE '^\| +[0-9.]+(ms|µs|ns|s) +\| ' "$log" || true
  rm -f "$log"
}

printf '| case | backend | steady steps/s | fixed costs (s) | dispatches / step | device |\n|---|---|---|---|---|---|\n'
for c in "${cases[@]}"; do
  IFS='|' read -r name link cpu_steps gpu_steps profile_steps <<<"$c"
  [[ "$name" == "${GPU_BENCH_CASES:-}"* ]] || continue
  for backend in cpu wgpu; do
    steps=$cpu_steps; [ "$backend" = wgpu ] && steps=$gpu_steps
    read -r short long <<<"$steps"
    IFS='|' read -r t1 device < <(run "$backend" "$link&steps=$short")
    IFS='|' read -r t2 _ < <(run "$backend" "$link&steps=$long")
    per_step="–"
    if [ "$backend" = wgpu ]; then
      read -r p1 p2 <<<"$profile_steps"
      a=$(launches "$link&steps=$p1"); b=$(launches "$link&steps=$p2")
      per_step=$(python3 -c "print(f'{($b - $a) / ($p2 - $p1):.1f}')")
    fi
    python3 - "$name" "$backend" "$short" "$long" "$t1" "$t2" "$per_step" "$device" <<'PY'
import sys
name, backend, short, long, t1, t2, per_step, device = sys.argv[1:]
short, long, t1, t2 = int(short), int(long), float(t1), float(t2)
steady = (long - short) / max(t2 - t1, 1e-9)
fixed = max(0.0, t1 - short / steady)
print(f"| {name} | {backend} | {steady:.1f} | {fixed:.1f} | {per_step} | {device} |")
PY
  done
done
