#!/usr/bin/env bash
# Benchmark of the reference run (spiral, 256 points, MLP 2→64→64→64→2 ReLU, batch 64, Adam
# lr 0.01, 500 steps): native CPU, browser CPU and browser WebGPU, plus wasm size and the time from
# page load to the first curve point. Prints a Markdown table for the README.
#   scripts/bench.sh [webgpu-steps]   (default 500; a software adapter needs ~0.6 s per step)
#   scripts/bench.sh presets          every gallery preset: wall time natively and in the browser (CPU)
#   scripts/bench.sh memory           the memory cap's estimate (tinytune --costs) against the CLI's
#                                     peak resident memory on links near the caps
#   scripts/bench.sh pool [N]    sweeps on one worker and on N (default 2), interleaved: natively
#                                (--jobs) and in the browser (jobs=, the CPU backend's pool, #33)
#   scripts/bench.sh stack       same-shape runs stacked (#33) against unstacked, interleaved (the MLP,
#                                the gallery's LoRA and quantization sweeps e3, e8, e9
#                                and the transformer): natively
#                                on the CPU and on wgpu (lavapipe here; wall time, and dispatches per
#                                step of the whole sweep from CubeCL's profiler) and in the browser on
#                                WebGPU (dispatches counted in the worker, wall time)
#   TORCH_PY=… scripts/bench.sh gpt   the reference transformer natively, tinytune and PyTorch
#                                     interleaved (ROUNDS rounds, both at 1 and at 2 threads):
#                                     steady steps/s and tokens/s, and the ratios of each round
# The reference transformer (char LM, 2 blocks, d_model 128, 4 heads, context 64, batch 32, Adam)
# runs natively and in the browser too (GPT_STEPS, GPT_GPU_STEPS steps); with TORCH_PY set to a
# Python that has torch (not installed by the project: a 5 GB download), PyTorch trains the same
# model natively for the comparison row (bench/torch_gpt.py). TF.js 4.22 trains the reference MLP
# in the same browser run (bench/tfjs), and the ratios of steady steps/s are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh browser
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tinytune/target}"
cargo build --release --quiet

if [ "${1:-}" = memory ]; then
  echo "| link | estimate (MB) | peak (MB) | estimate / peak |"
  echo "|---|---|---|---|"
  for q in 'w=1024&d=4&steps=10' 'w=1024&d=4&steps=10&bits=4&qmode=qat' \
    'w=512&d=4&steps=5&bits=4&qmode=qat&qclip=mse' 'w=2048&d=2&steps=2' 'w=256&d=2&n=8192&bs=8192&steps=2' \
    'task=text&w=128&d=2&heads=4&ctx=64&bs=32&n=1024&steps=5' 'task=text&ctx=512&heads=8&w=64&d=1&bs=7&n=1024&steps=2'; do
    python3 - "$CARGO_TARGET_DIR/release/tinytune" "$q" <<'PY'
import csv, io, resource, subprocess, sys
cli, q = sys.argv[1], sys.argv[2]
costs = subprocess.run([cli, "--costs", q], capture_output=True, text=True, check=True).stdout
est = next(float(r["value"]) for r in csv.DictReader(io.StringIO(costs)) if r["cost"] == "memory")
subprocess.run([cli, "--summary", q], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(f"| `{q}` | {est / 1e6:.0f} | {peak / 1e6:.0f} | {est / peak:.2f} |")
PY
  done
  exit 0
fi
if [ "${1:-}" = pool ]; then
  n="${2:-2}"
  lrs='0.0001,0.00015,0.0002,0.0003,0.0005,0.0007,0.001,0.0015,0.002,0.003,0.005,0.007,0.01,0.015,0.02,0.03'
  # The gallery's sweeps the issue names, and 16-run learning-rate sweeps of the reference MLP
  # (its defaults) and of the reference transformer (20 steps a run).
  cases=(e1 e8 e4 gpt-width "mlp-lr16=v=1&sweep=lr:$lrs"
    "gpt-lr16=v=1&task=text&w=128&d=2&heads=4&ctx=64&bs=32&n=1024&steps=20&sweep=lr:$lrs")
  echo "native: wall time (s) with --jobs 1 and --jobs $n, interleaved"
  for c in "${cases[@]}"; do
    for j in 1 "$n"; do
      if [[ $c == *=* ]]; then
        args=("${c#*=}")
      else
        args=(--preset "$c")
      fi
      line=$("$CARGO_TARGET_DIR/release/tinytune" "${args[@]}" --summary --jobs "$j" 2>&1 >/dev/null | grep 'run(s)')
      echo "{\"case\": \"${c%%=*}\", \"jobs\": $j, \"wall_s\": $(sed -E 's/.* in ([0-9.]+) s.*/\1/' <<<"$line")}"
    done
  done
  trunk build --release >/dev/null 2>&1
  echo "browser (CPU backend): wall time (s) with jobs=1 and jobs=$n, interleaved"
  node bench/pool.mjs "$n" "${cases[@]}"
  exit 0
fi
if [ "${1:-}" = stack ]; then
  bin="$CARGO_TARGET_DIR/release/tinytune"
  lrs='0.0001,0.00015,0.0002,0.0003,0.0005,0.0007,0.001,0.0015,0.002,0.003,0.005,0.007,0.01,0.015,0.02,0.03'
  # The reference MLP over 16 rates, and e4's grid (13 rates × 5 widths × SP/μP: one stack a
  # width) shortened for software adapters.
  e4='task=digits&bs=128&rzero=1&sweep=lr:2^-14..2^-2*2;w:64,128,256,512,1024;param:sp,mup'
  launches() {
    local log
    log=$(mktemp)
    CUBECL_DEBUG_OPTION=profile CUBECL_DEBUG_LOG="$log" "$bin" --summary --backend wgpu "$1" >/dev/null 2>&1
    grep -cE '^\| +[0-9.]+(ms|µs|ns|s) +\| ' "$log" || true
    rm -f "$log"
  }
  wall() { "$bin" --summary --jobs 1 --backend "$1" "$2" 2>&1 >/dev/null | grep 'run(s)' | sed -E 's/.* in ([0-9.]+) s.*/\1/'; }
  echo "native: one run, and the sweep unstacked (stack=0) and stacked (stack=16 on the CPU, auto on wgpu)"
  for c in "one run=task=spiral" "mlp-lr16=v=1&sweep=lr:$lrs"; do
    name=${c%%=*}; link=${c#*=}
    for s in 0 auto; do
      a=$(launches "$link&stack=$s&steps=10"); b=$(launches "$link&stack=$s&steps=20")
      cpu_s=$s; [ "$s" = auto ] && cpu_s=16
      echo "{\"case\": \"$name\", \"stack\": \"$s\", \"wgpu_dispatches_per_step\": $(( (b - a) / 10 )), \"wgpu_s_100_steps\": $(wall wgpu "$link&stack=$s&steps=100"), \"cpu_s\": $(wall cpu "$link&stack=$cpu_s")}"
    done
  done
  for s in 0 auto; do
    cpu_s=$s; [ "$s" = auto ] && cpu_s=64
    echo "{\"case\": \"e4\", \"stack\": \"$s\", \"wgpu_s_5_steps\": $(wall wgpu "$e4&stack=$s&steps=5"), \"cpu_s\": $(wall cpu "$e4&stack=$cpu_s&steps=40")}"
  done
  # The gallery's adaptation and quantization sweeps (e3: 18 LoRA runs on the planted task, one
  # stack; e8: 21 PTQ runs, one stack; e9: 21 PTQ and 21 QAT runs, a stack each): launches a
  # step (10- and 20-step runs), then each preset whole on lavapipe and on the CPU (stack=64).
  preset() { "$bin" --presets | awk -F'\t' -v id="$1" '$1 == id { print substr($3, 2) }'; }
  at_steps() { sed -E "s/(^|&)steps=[0-9]+/\1steps=$2/" <<<"$1"; }
  for p in e3 e8 e9; do
    link=$(preset "$p")
    for s in 0 auto; do
      a=$(launches "$(at_steps "$link" 10)&stack=$s"); b=$(launches "$(at_steps "$link" 20)&stack=$s")
      cpu_s=$s; [ "$s" = auto ] && cpu_s=64
      cpu2=$("$bin" --summary --jobs 2 "$link&stack=$cpu_s" 2>&1 >/dev/null | grep 'run(s)' | sed -E 's/.* in ([0-9.]+) s.*/\1/')
      echo "{\"case\": \"$p\", \"stack\": \"$s\", \"wgpu_dispatches_per_step\": $(( (b - a) / 10 )), \"wgpu_s\": $(wall wgpu "$link&stack=$s"), \"cpu_s_jobs_1\": $(wall cpu "$link&stack=$cpu_s"), \"cpu_s_jobs_2\": $cpu2}"
    done
  done
  # The gallery's transformer sweeps that stack (gpt-width: a stack a width, SP and μP together;
  # gpt-bits: PTQ, one stack): launches a step only (their whole presets take lavapipe long).
  for p in gpt-width gpt-bits; do
    link=$(preset "$p")
    n=10; [ "$p" = gpt-width ] && n=5
    for s in 0 auto; do
      a=$(launches "$(at_steps "$link" "$n")&stack=$s"); b=$(launches "$(at_steps "$link" $((2 * n)))&stack=$s")
      echo "{\"case\": \"$p\", \"stack\": \"$s\", \"wgpu_dispatches_per_step\": $(( (b - a) / n ))}"
    done
  done
  # The reference transformer, one run and over the 16 rates: a step on lavapipe takes about a
  # second, so 2 and 4 steps for the launches and 4 for the wall time.
  gpt='task=text&w=128&d=2&heads=4&ctx=64&bs=32'
  for c in "gpt one run=$gpt&lr=0.003" "gpt-lr16=$gpt&sweep=lr:$lrs"; do
    name=${c%%=*}; link=${c#*=}
    for s in 0 auto; do
      a=$(launches "$link&stack=$s&steps=2"); b=$(launches "$link&stack=$s&steps=4")
      cpu_s=$s; [ "$s" = auto ] && cpu_s=16
      echo "{\"case\": \"$name\", \"stack\": \"$s\", \"wgpu_dispatches_per_step\": $(( (b - a) / 2 )), \"wgpu_s_4_steps\": $(wall wgpu "$link&stack=$s&steps=4"), \"cpu_s_10_steps\": $(wall cpu "$link&stack=$cpu_s&steps=10")}"
    done
  done
  trunk build --release >/dev/null 2>&1
  echo "browser (WebGPU): dispatches per step of the whole sweep and wall time, stack=0 and auto, interleaved"
  # (e4 has widths to 1024, which a software adapter takes minutes a step of: natively only.)
  # (The reference transformer takes SwiftShader seconds a step: a small one, whose launches
  # a step are the reference's.)
  small='task=text&w=32&d=2&heads=4&ctx=16&bs=8&steps=3'
  node bench/stack.mjs "one run=v=1&steps=10" "mlp-lr16=v=1&steps=10&sweep=lr:$lrs" \
    "gpt-small one run=$small&lr=0.003" "gpt-small-lr16=$small&sweep=lr:$lrs" \
    "e8=$(at_steps "$(preset e8)" 10)"
  exit 0
fi
if [ "${1:-}" = gpt ]; then
  if [ -z "${TORCH_PY:-}" ]; then
    echo "bench.sh gpt compares with PyTorch: set TORCH_PY to a Python that has torch" >&2
    exit 2
  fi
  gpt_link='task=text&w=128&d=2&heads=4&ctx=64&bs=32&lr=0.003'
  log=$(mktemp)
  # tinytune's steady rate is the difference of two run lengths (set-up, the first evaluation
  # and the end-of-run views cancel); PyTorch's script times its steps after 5 warm-up steps.
  # Both at 1 and at 2 threads (tinytune's: rayon's, natively), interleaved in every round.
  for round in $(seq "${ROUNDS:-3}"); do
    for threads in 1 2; do
      echo "torch $round $threads $("$TORCH_PY" bench/torch_gpt.py 60 "$threads" | tail -n 1)" >>"$log"
      for steps in 20 60; do
        line=$(RAYON_NUM_THREADS=$threads "$CARGO_TARGET_DIR/release/tinytune" "$gpt_link&steps=$steps" --chunk 10 2>&1 >/dev/null | grep 'run(s)')
        echo "tinytune $round $threads $steps $line" >>"$log"
      done
    done
  done
  python3 - "$log" <<'PY'
import json, re, sys
TOKENS = 32 * 64  # a step's batch × context
torch, ours = {}, {}
for line in open(sys.argv[1]):
    kind, rnd, threads, rest = line.split(" ", 3)
    key = (int(rnd), int(threads))
    if kind == "torch":
        torch[key] = json.loads(rest)
    else:
        steps, text = rest.split(" ", 1)
        ours.setdefault(key, {})[int(steps)] = float(re.search(r"steps in ([\d.]+) s", text).group(1))
print("Reference transformer natively (`task=text&w=128&d=2&heads=4&ctx=64&bs=32&lr=0.003`), interleaved\n")
print("| round | threads | PyTorch | tinytune | tinytune / PyTorch |")
print("|---|---|---|---|---|")
cell = lambda v: f"{v:.1f} steps/s ({v * TOKENS / 1000:.1f} k tokens/s)"
for key in sorted(ours):
    t = ours[key]
    sps = (60 - 20) / (t[60] - t[20])
    peer = torch[key]["steps_per_s"]
    print(f"| {key[0]} | {key[1]} | {cell(peer)} | {cell(sps)} | {sps / peer:.2f} |")
row = next(iter(torch.values()))
print(f"\nPyTorch {row['torch']}; tinytune's steady rate from 20- and 60-step runs.")
PY
  exit 0
fi
trunk build --release >/dev/null 2>&1
# The peer the browser rows are compared with: TF.js in the same Chromium (the bench's own npm
# package; the tests never install it).
if [ ! -d bench/tfjs/node_modules/@tensorflow/tfjs ]; then
  (cd bench/tfjs && npm ci --no-audit --no-fund >/dev/null)
fi

if [ "${1:-}" = presets ]; then
  echo "| preset | runs × steps | native (s) | browser CPU (s) |"
  echo "|---|---|---|---|"
  browser=$(node bench/presets.mjs cpu)
  for id in $("$CARGO_TARGET_DIR/release/tinytune" --presets | grep -v '^[[:space:]]' | cut -f1); do
    line=$("$CARGO_TARGET_DIR/release/tinytune" --preset "$id" --summary 2>&1 >/dev/null | grep 'run(s)')
    runs=$(sed -E 's/.* ([0-9]+) run\(s\), ([0-9]+) steps in ([0-9.]+) s.*/\1 runs, \2 steps/' <<<"$line")
    secs=$(sed -E 's/.* steps in ([0-9.]+) s.*/\1/' <<<"$line")
    web=$(grep "\"id\":\"$id\"" <<<"$browser" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["train_ms"] / 1000, 1))')
    echo "| \`$id\` | $runs | $secs | $web |"
  done
  exit 0
fi

summary=$(mktemp)
native=$("$CARGO_TARGET_DIR/release/tinytune" 'v=1' --chunk 10 --summary 2>&1 >"$summary")
native_val=$(tail -n 1 "$summary" | cut -d, -f3)
sweep_native=$("$CARGO_TARGET_DIR/release/tinytune" 'v=1&steps=200&sweep=lr:2^-10..2^-5*2;w:32,64,128,256' --summary 2>&1 >/dev/null | tail -n 1)
gpt_link='task=text&w=128&d=2&heads=4&ctx=64&bs=32&lr=0.003'
gpt_native=$("$CARGO_TARGET_DIR/release/tinytune" "$gpt_link&steps=${GPT_STEPS:-60}" --chunk 10 2>&1 >/dev/null | grep 'run(s)')
torch_row='{}'
if [ -n "${TORCH_PY:-}" ]; then
  torch_row=$("$TORCH_PY" bench/torch_gpt.py "${GPT_STEPS:-60}" "$(nproc)" | tail -n 1)
fi
browser=$(node bench/browser.mjs "${1:-500}" "${2:-}")

python3 - "$native" "$browser" "$native_val" "$sweep_native" "$gpt_native" "$torch_row" <<'PY'
import json, re, sys
native, browser, native_val, sweep_native = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
gpt_native, torch_row = sys.argv[5], json.loads(sys.argv[6])
m = re.search(r"(\d+) steps in ([\d.]+) s \(([\d.]+) steps/s\)", native)
rows = [r for r in (json.loads(l) for l in browser.splitlines() if l.startswith("{"))]
print("| where | backend | steps | steps/s | page load → first point | final val loss | long tasks (longest) |")
print("|---|---|---|---|---|---|---|")
print(f"| native | CPU (Burn flex) | {m.group(1)} | {float(m.group(3)):.0f} | – | {native_val:.4f} | – |")
for r in rows:
    if r["case"].startswith(("wasm size", "sweep", "gpt", "TF.js")):
        continue
    backend = r["status"].replace("Backend: ", "")[:70]
    print(f"| {r['case']} | {backend} | {r['steps']} | {r['steps_per_s']:.1f} | {r['first_point_ms']:.0f} ms | {r['final_val_loss']:.4f} | {r['long_tasks']} ({r['longest_task_ms']} ms) |")
tfjs = [r for r in rows if r["case"].startswith("TF.js") and "steady_steps_per_s" in r]
if tfjs:
    print("\n| TF.js, same page, same model | steady steps/s | tinytune ÷ TF.js |")
    print("|---|---|---|")
    for r in tfjs:
        print(f"| {r['case']} | {r['steady_steps_per_s']:.2f} | {r.get('tinytune_over_tfjs') or '–'} |")
visit = next((r for r in rows if "first visit" in r["case"]), None)
# Two modules (#15): the page's own, which every visit downloads, and the WebGPU module.
for sizes in (r for r in rows if r["case"].startswith("wasm size")):
    print(f"\n{sizes['case']}: {sizes['bytes']/1e6:.2f} MB raw, {sizes.get('gzip', 0)/1e6:.2f} MB gzip, {sizes.get('br', 0)/1e6:.2f} MB Brotli (the build's stored copies)", end="")
print()
if visit:
    print(f"first visit at 20 Mbit/s, 40 ms: {visit['transferred_bytes']/1e6:.2f} MB transferred, first curve point at {visit['first_point_ms']/1000:.2f} s")
gpu = next((r for r in rows if r["case"] == "browser WebGPU"), None)
if gpu:
    print(f"a WebGPU visit (both modules): {gpu['transferred_bytes']/1e6:.2f} MB transferred, first curve point at {gpu['first_point_ms']/1000:.1f} s")
print("\nSweep case: 4 widths (32–256) × 6 learning rates (2^-10…2^-5) × 200 steps = 24 runs, interleaved\n")
print("| where | backend | runs | total seconds | steps/s |")
print("|---|---|---|---|---|")
s = re.search(r"(\d+) run\(s\), (\d+) steps in ([\d.]+) s \(([\d.]+) steps/s\)", sweep_native)
print(f"| native | CPU (Burn flex) | {s.group(1)} | {float(s.group(3)):.1f} | {float(s.group(4)):.0f} |")
for r in rows:
    if r["case"].startswith("sweep"):
        backend = r["status"].replace("Backend: ", "")[:70]
        print(f"| {r['case'].removeprefix('sweep, ')} | {backend} | {r['runs']} | {r['train_ms']/1000:.1f} | {r['steps_per_s']:.0f} |")
print("\nReference transformer — char LM, 2 blocks, d_model 128, 4 heads, context 64, batch 32, Adam\n")
print("| where | backend | steps | steps/s | × PyTorch | dispatches / submits / buffer writes per step |")
print("|---|---|---|---|---|---|")
g = re.search(r"(\d+) steps in ([\d.]+) s \(([\d.]+) steps/s", gpt_native)
torch_sps = torch_row.get("steps_per_s")
ratio = lambda sps: f"{sps / torch_sps:.2f}" if torch_sps else "–"
if torch_sps:
    print(f"| native | PyTorch {torch_row['torch']} CPU, {torch_row['threads']} threads | {torch_row['steps']} | {torch_sps:.1f} | 1 | – |")
print(f"| native | CPU (Burn flex) | {g.group(1)} | {float(g.group(3)):.1f} | {ratio(float(g.group(3)))} | – |")
for r in rows:
    if r["case"].startswith("gpt"):
        backend = r["status"].replace("Backend: ", "")[:70]
        counts = f"{r['dispatches_per_step']} / {r['submits_per_step']} / {r['writes_per_step']}" if "WebGPU" in r["case"] else "–"
        print(f"| {r['case'].removeprefix('gpt, ')} | {backend} | {r['steps']} | {r['steps_per_s']:.2f} | {ratio(r['steps_per_s'])} | {counts} |")
PY
