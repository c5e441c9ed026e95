"""PyTorch on tinytune's char-LM transformer, natively on the CPU: the comparison row of the
README's transformer benchmark (#13, #32) and the reference run for the char LM's loss (#31).
Outside CI (torch is a 5 GB install): run it from a venv that has torch, e.g.

    /tmp/torchenv/bin/python bench/torch_gpt.py [steps] [threads] [--width 64 --batch 64 --lr 0.01 --seed 1]

The model is tinytune's `model=gpt` as a text link builds it — pre-norm blocks, learned positions,
LayerNorm, GELU MLP of 4 × d, untied readout over the char LM's 80 characters, weights drawn as
tinytune draws them (N(0, 1/fan_in), zero biases, N(0, 1) embeddings; other draws, torch's
generator) — trained with Adam (β 0.9 / 0.999, eps 1e-8, constant rate). It reads the windows
tinytune reads: the same SplitMix64 stream gives each batch's window starts in the first 90 % of
the plays, and the validation is tinytune's fixed sample (256 windows of 64 spread over the last
10 %), scored with a fixed sample of training windows every 10 steps as tinytune does. Prints one
JSON line: steps/s over the timed steps (all but the first 5), the final losses and the
validation curve.
"""

import argparse
import json
import math
import pathlib
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

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
EVAL_EVERY, VAL_TOKENS, CHUNK_TOKENS = 10, 16384, 4096
PLAYS = ["hamlet", "lear", "macbeth", "othello", "romeo_and_juliet", "julius_caesar", "antony_and_cleopatra"]

torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
root = pathlib.Path(__file__).resolve().parent.parent
text = "".join((root / "data" / "text" / f"{p}_gut.txt").read_text() for p in PLAYS)
milton = (root / "data" / "text" / "paradise_regained_gut.txt").read_text()
alphabet = sorted(set(text + milton))
assert len(alphabet) == 80, len(alphabet)
index = {c: i for i, c in enumerate(alphabet)}
tokens = torch.tensor([index[c] for c in text], dtype=torch.long)
cut = int(len(tokens) * 0.9)
train, val = tokens[:cut], tokens[cut:]

MASK64 = (1 << 64) - 1


class Rng:
    """tinytune's generator (`src/data/rng.rs`, SplitMix64), so the batches are its batches."""

    def __init__(self, seed):
        self.state = (seed ^ 0x9E3779B97F4A7C15) & MASK64

    @classmethod
    def stream(cls, seed, purpose):
        r = cls(((seed * 0xD1342543DE82EF95) & MASK64) ^ purpose)
        r.next()
        return r

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n):
        return int(((self.next() >> 11) / float(1 << 53)) * n) % max(n, 1)


def rows(part, starts):
    r = torch.stack([part[s : s + CTX + 1] for s in starts])
    return r[:, :-1], r[:, 1:]


def drawn(part, n, rng):
    return rows(part, [rng.below(len(part) - CTX - 1) for _ in range(n)])


def spaced(part, n):
    stride = (len(part) - CTX - 1) / n
    return rows(part, [int(i * stride) for i in range(n)])


TRAIN_DATA, BATCHES = 1, 4
batches = Rng.stream(a.seed, BATCHES)
vx, vy = spaced(val, VAL_TOKENS // CTX)
tx, ty = drawn(train, CHUNK_TOKENS // CTX, Rng.stream(a.seed, TRAIN_DATA))


def linear(d_in, d_out):
    layer = nn.Linear(d_in, d_out)
    nn.init.normal_(layer.weight, std=1 / math.sqrt(d_in))
    nn.init.zeros_(layer.bias)
    return layer


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.q, self.k, self.v, self.o = (linear(D, D) for _ in range(4))
        self.fc, self.proj = linear(D, 4 * D), linear(4 * D, D)

    def forward(self, h):
        b, t, _ = h.shape
        x = self.norm1(h)
        split = lambda y: y.view(b, t, HEADS, D // HEADS).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        # The same causal attention tinytune computes: softmax(q·kᵀ/√d_head) with the future masked.
        scores = q @ k.transpose(2, 3) / math.sqrt(D // HEADS)
        mask = torch.ones(t, t, dtype=torch.bool).triu(1)
        att = F.softmax(scores.masked_fill(mask, float("-inf")), dim=-1) @ v
        h = h + self.o(att.transpose(1, 2).reshape(b, t, D))
        return h + self.proj(F.gelu(self.fc(self.norm2(h))))


class Gpt(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed, self.pos = nn.Embedding(80, D), nn.Embedding(CTX, D)
        self.blocks = nn.ModuleList(Block() for _ in range(BLOCKS))
        self.norm, self.readout = nn.LayerNorm(D), linear(D, 80)

    def forward(self, x):
        h = self.embed(x) + self.pos(torch.arange(x.shape[1]))
        for b in self.blocks:
            h = b(h)
        return self.readout(self.norm(h))


model = Gpt()
opt = torch.optim.Adam(model.parameters(), lr=LR, eps=1e-8)


def scored(x, y):
    """Mean cross-entropy, a pass of CHUNK_TOKENS at a time as tinytune scores it."""
    chunk = CHUNK_TOKENS // CTX
    total = sum(F.cross_entropy(model(x[i : i + chunk]).flatten(0, 1), y[i : i + chunk].flatten(), reduction="sum").item() for i in range(0, len(x), chunk))
    return total / y.numel()


def step(i):
    x, y = drawn(train, BATCH, batches)
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
