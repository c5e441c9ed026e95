"""PyTorch on tinytune's char-LM transformer, natively on the CPU: the comparison row of the
README's transformer benchmark (#13, #32) and the reference run for the char LM's loss (#31).
Outside CI (torch is a 5 GB install): run it from a venv that has torch, e.g.

    /tmp/torchenv/bin/python bench/torch_gpt.py [steps] [threads] [--width 64 --batch 64 --lr 0.01 --seed 1]

The model is tinytune's `model=gpt` as a text link builds it (`bench/tinytune_torch.py`) — pre-norm
blocks, learned positions, LayerNorm, GELU MLP of 4 × d, untied readout over the char LM's 80
characters, weights drawn as tinytune draws them (N(0, 1/fan_in), zero biases, N(0, 1) embeddings;
other draws, torch's generator) — trained with Adam (β 0.9 / 0.999, eps 1e-8, constant rate). It reads the windows
tinytune reads: the same SplitMix64 stream gives each batch's window starts in the first 90 % of
the plays, and the validation is tinytune's fixed sample (256 windows of 64 spread over the last
10 %), scored with a fixed sample of training windows every 10 steps (less often for small batches) as
tinytune does. Prints one
JSON line: steps/s over the timed steps (all but the first 5), the final losses and the
validation curve.
"""

import argparse
import json
import time

import torch
import torch.nn.functional as F

from tinytune_torch import BATCHES, TRAIN_DATA, CharLm, Gpt, Rng

args = argparse.ArgumentParser()
args.add_argument("steps", nargs="?", type=int, default=200)
args.add_argument("threads", nargs="?", type=int, default=torch.get_num_threads())
args.add_argument("--width", type=int, default=128)
args.add_argument("--blocks", type=int, default=2)
args.add_argument("--heads", type=int, default=4)
args.add_argument("--ctx", type=int, default=64)
args.add_argument("--batch", type=int, default=32)
args.add_argument("--lr", type=float, default=3e-3)
args.add_argument("--seed", type=int, default=1)
a = args.parse_args()
D, BLOCKS, HEADS, CTX, BATCH, LR = a.width, a.blocks, a.heads, a.ctx, a.batch, a.lr
VAL_TOKENS, CHUNK_TOKENS = 16384, 4096
# tinytune's rule (`ExperimentConfig::eval_every`): every 10, 20, 30 … steps, the first interval
# whose training (≈ 3 forward passes of each batch) is at least the scoring (validation and the
# training accuracy's sample), but at least 5 evaluations a run; 10 for the default 32 windows of 64.
EVAL_EVERY = 10 * max(1, min(-(-(VAL_TOKENS + CHUNK_TOKENS) // (3 * BATCH * CTX * 10)), a.steps // 50))

torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
data = CharLm(CTX)
train, val = data.train, data.val
batches = Rng.stream(a.seed, BATCHES)
vx, vy = data.spaced(val, VAL_TOKENS // CTX)
tx, ty = data.drawn(train, CHUNK_TOKENS // CTX, Rng.stream(a.seed, TRAIN_DATA))

model = Gpt(80, D, BLOCKS, HEADS, CTX)
model.init_(torch.Generator().manual_seed(a.seed))
opt = torch.optim.Adam(model.parameters(), lr=LR, eps=1e-8)


def scored(x, y):
    """Mean cross-entropy, a pass of CHUNK_TOKENS at a time as tinytune scores it."""
    chunk = CHUNK_TOKENS // CTX
    total = sum(F.cross_entropy(model(x[i : i + chunk]).flatten(0, 1), y[i : i + chunk].flatten(), reduction="sum").item() for i in range(0, len(x), chunk))
    return total / y.numel()


def step(i):
    x, y = data.drawn(train, BATCH, batches)
    val_loss = None
    if i % EVAL_EVERY == 0 or i + 1 == TOTAL:
        with torch.no_grad():
            val_loss = scored(vx, vy)
            scored(tx, ty)
    loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item(), val_loss


# The first WARM of the `steps` steps are not timed; every step trains, as in tinytune's run.
WARM = min(5, a.steps - 1)
TOTAL = a.steps
curve = []
for i in range(WARM):
    _, v = step(i)
    curve.append((i, v)) if v is not None else None
start = time.perf_counter()
for i in range(WARM, TOTAL):
    loss, v = step(i)
    curve.append((i, v)) if v is not None else None
secs = time.perf_counter() - start
print(
    json.dumps(
        {
            "case": "PyTorch (CPU)",
            "torch": torch.__version__,
            "threads": a.threads,
            "params": sum(p.numel() for p in model.parameters()),
            "seed": a.seed,
            "steps": TOTAL - WARM,
            "steps_per_s": (TOTAL - WARM) / secs,
            "final_train_loss": loss,
            "last_val_loss": curve[-1][1],
            "val_curve": [[i, round(v, 4)] for i, v in curve],
        }
    )
)
