"""PyTorch on the benchmark's reference transformer, natively on the CPU: the comparison row of the
README's transformer benchmark (#13). Outside CI (torch is a 5 GB install): run it from a venv
that has torch, e.g.

    /work/fixvenv/bin/python bench/torch_gpt.py [steps] [threads]

The model is tinytune's `model=gpt` as the bench link builds it — 2 pre-norm blocks, d_model 128,
4 heads, context 64, learned positions, LayerNorm, GELU MLP of 4 × d, untied readout over the
char LM's 80 characters — trained with Adam (lr 0.003, eps 1e-8) on batches of 32 windows of the
bundled plays, evaluating 64 held-out windows every 10 steps as tinytune does. Prints one JSON
line: steps/s over the timed steps (after 5 warm-up steps) and the final losses.
"""

import json
import math
import pathlib
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else torch.get_num_threads()
D, BLOCKS, HEADS, CTX, BATCH, LR, EVAL_EVERY, VAL_ROWS = 128, 2, 4, 64, 32, 3e-3, 10, 64
PLAYS = ["hamlet", "lear", "macbeth", "othello", "romeo_and_juliet", "julius_caesar", "antony_and_cleopatra"]

torch.set_num_threads(THREADS)
torch.manual_seed(1)
root = pathlib.Path(__file__).resolve().parent.parent
text = "".join((root / "data" / "text" / f"{p}_gut.txt").read_text() for p in PLAYS)
milton = (root / "data" / "text" / "paradise_regained_gut.txt").read_text()
alphabet = sorted(set(text + milton))
assert len(alphabet) == 80, len(alphabet)
index = {c: i for i, c in enumerate(alphabet)}
tokens = torch.tensor([index[c] for c in text], dtype=torch.long)
cut = int(len(tokens) * 0.9)
train, val = tokens[:cut], tokens[cut:]


def windows(part, n, gen):
    at = torch.randint(0, len(part) - CTX - 1, (n,), generator=gen)
    rows = torch.stack([part[a : a + CTX + 1] for a in at.tolist()])
    return rows[:, :-1], rows[:, 1:]


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.q, self.k, self.v, self.o = (nn.Linear(D, D) for _ in range(4))
        self.fc, self.proj = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)

    def forward(self, h):
        b, t, _ = h.shape
        x = self.norm1(h)
        split = lambda y: y.view(b, t, HEADS, D // HEADS).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        # The same causal attention tinytune computes: softmax(q·kᵀ/√d_head) with the future masked.
        scores = q @ k.transpose(2, 3) / math.sqrt(D // HEADS)
        mask = torch.ones(t, t, dtype=torch.bool).triu(1)
        a = F.softmax(scores.masked_fill(mask, float("-inf")), dim=-1) @ v
        h = h + self.o(a.transpose(1, 2).reshape(b, t, D))
        return h + self.proj(F.gelu(self.fc(self.norm2(h))))


class Gpt(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed, self.pos = nn.Embedding(80, D), nn.Embedding(CTX, D)
        self.blocks = nn.ModuleList(Block() for _ in range(BLOCKS))
        self.norm, self.readout = nn.LayerNorm(D), nn.Linear(D, 80)

    def forward(self, x):
        h = self.embed(x) + self.pos(torch.arange(x.shape[1]))
        for b in self.blocks:
            h = b(h)
        return self.readout(self.norm(h))


model = Gpt()
opt = torch.optim.Adam(model.parameters(), lr=LR, eps=1e-8)
gen = torch.Generator().manual_seed(1)
vx, vy = windows(val, VAL_ROWS, gen)


def step(i):
    x, y = windows(train, BATCH, gen)
    val_loss = None
    if i % EVAL_EVERY == 0:
        with torch.no_grad():
            val_loss = F.cross_entropy(model(vx).flatten(0, 1), vy.flatten()).item()
    loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item(), val_loss


for i in range(5):
    step(i)
start = time.perf_counter()
last_val = None
for i in range(5, 5 + STEPS):
    loss, v = step(i)
    last_val = v if v is not None else last_val
secs = time.perf_counter() - start
print(
    json.dumps(
        {
            "case": "PyTorch (CPU)",
            "torch": torch.__version__,
            "threads": THREADS,
            "params": sum(p.numel() for p in model.parameters()),
            "steps": STEPS,
            "steps_per_s": STEPS / secs,
            "final_train_loss": loss,
            "last_val_loss": last_val,
        }
    )
)
