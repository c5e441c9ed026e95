"""tinytune's transformer and char-LM data in PyTorch: what `bench/torch_gpt.py` times and what
`scripts/fixtures_gpt.py` checks tinytune against. Outside CI (torch is a 5 GB install).

- `Rng`: tinytune's generator (`src/data/rng.rs`, SplitMix64), so torch reads the very batches
  tinytune reads.
- `CharLm`: the char LM's texts, alphabet, 90 / 10 split, fresh windows drawn from the batch
  stream and the fixed validation sample spread over the held-out text.
- `Gpt`: `model=gpt` as tinytune builds it, every tensor under tinytune's name (torch's `weight`
  and `bias` of a norm are tinytune's `gamma` and `beta`; see `tinytune_name`): token embedding,
  learned positions or RoPE (Burn's interleaved pairs), pre-norm blocks of causal attention (with
  qk-norm per head) and a GELU MLP, residual branches × β, a final norm, and an untied readout or
  one tied to the embedding. μP is `mup`'s: `MuReadout` / `MuSharedReadout`, attention
  √attn_mult/d_head, zero queries, α_in on tokens and positions; `set_base_shapes` is the
  caller's (it needs base and delta models).
"""

import math
import pathlib

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parent.parent
PLAYS = ["hamlet", "lear", "macbeth", "othello", "romeo_and_juliet", "julius_caesar", "antony_and_cleopatra"]
MASK64 = (1 << 64) - 1
# tinytune's stream purposes (`src/data/rng.rs`, `streams`): the training sample and the batches.
TRAIN_DATA, BATCHES = 1, 4


class Rng:
    """tinytune's generator (`src/data/rng.rs`, SplitMix64)."""

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


class CharLm:
    """The char LM's data as tinytune reads it, windows of `ctx` tokens and their next tokens."""

    def __init__(self, ctx):
        self.ctx = ctx
        text = "".join((ROOT / "data" / "text" / f"{p}_gut.txt").read_text() for p in PLAYS)
        milton = (ROOT / "data" / "text" / "paradise_regained_gut.txt").read_text()
        self.alphabet = sorted(set(text + milton))
        assert len(self.alphabet) == 80, len(self.alphabet)
        index = {c: i for i, c in enumerate(self.alphabet)}
        tokens = torch.tensor([index[c] for c in text], dtype=torch.long)
        cut = int(len(tokens) * 0.9)
        self.train, self.val = tokens[:cut], tokens[cut:]

    def rows(self, part, starts):
        r = torch.stack([part[s : s + self.ctx + 1] for s in starts])
        return r[:, :-1], r[:, 1:]

    def drawn(self, part, n, rng):
        """`n` windows at uniform starts from `rng` (a training batch)."""
        return self.rows(part, [rng.below(len(part) - self.ctx - 1) for _ in range(n)])

    def spaced(self, part, n):
        """`n` windows spread evenly (the validation sample)."""
        stride = (len(part) - self.ctx - 1) / n
        return self.rows(part, [int(i * stride) for i in range(n)])


def rope(x, theta=10000.0):
    """Burn's `RotaryEncoding` on x: [b, h, t, dh]: coordinates (2i, 2i+1) are one complex number
    rotated by position · theta^(−2i/dh) (RoFormer's and LLaMA's interleaved pairs)."""
    b, h, t, dh = x.shape
    freq = theta ** (-torch.arange(0, dh, 2, dtype=torch.float32) / dh)  # [dh/2]
    angle = torch.arange(t, dtype=torch.float32)[:, None] * freq[None, :]  # [t, dh/2]
    cos, sin = angle.cos(), angle.sin()
    pairs = x.reshape(b, h, t, dh // 2, 2)
    re, im = pairs[..., 0], pairs[..., 1]
    out = torch.stack([re * cos - im * sin, re * sin + im * cos], dim=-1)
    return out.reshape(b, h, t, dh)


def norm(kind, d):
    return nn.LayerNorm(d, eps=1e-5) if kind == "layer" else nn.RMSNorm(d, eps=1e-5)


def linear(d_in, d_out):
    return nn.Linear(d_in, d_out)


class Attention(nn.Module):
    def __init__(self, d, heads, kind, qk_norm, scale, use_rope):
        super().__init__()
        self.heads, self.scale, self.use_rope = heads, scale, use_rope
        self.q, self.k, self.v = linear(d, d), linear(d, d), linear(d, d)
        if qk_norm:
            self.q_norm, self.k_norm = norm(kind, d // heads), norm(kind, d // heads)
        else:
            self.q_norm = self.k_norm = None
        self.o = linear(d, d)
        # What the coordinate check reads: mean |logit| over the positions attended to.
        self.logits_seen = None

    def forward(self, x):
        """x: [b, t, d] → [b, t, d]."""
        b, t, d = x.shape
        split = lambda y: y.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        if self.use_rope:
            q, k = rope(q), rope(k)
        scores = q @ k.transpose(2, 3) * self.scale  # [b, h, t, t]
        future = torch.ones(t, t, dtype=torch.bool).triu(1)
        seen = b * self.heads * t * (t + 1) / 2
        self.logits_seen = (scores.abs().masked_fill(future, 0.0).sum() / seen).item()
        att = F.softmax(scores.masked_fill(future, float("-inf")), dim=-1) @ v
        return self.o(att.transpose(1, 2).reshape(b, t, d))


class Mlp(nn.Module):
    def __init__(self, d, ratio):
        super().__init__()
        self.fc, self.proj = linear(d, ratio * d), linear(ratio * d, d)

    def forward(self, h):
        return self.proj(F.gelu(self.fc(h)))


class Block(nn.Module):
    def __init__(self, d, heads, kind, qk_norm, scale, use_rope, ratio, branch):
        super().__init__()
        self.branch = branch
        self.norm1 = norm(kind, d)
        self.attn = Attention(d, heads, kind, qk_norm, scale, use_rope)
        self.norm2 = norm(kind, d)
        self.mlp = Mlp(d, ratio)

    def forward(self, h):
        """h: [b, t, d] → [b, t, d]: h + β·attn(norm(h)), then h + β·mlp(norm(h))."""
        h = h + self.branch * self.attn(self.norm1(h))
        return h + self.branch * self.mlp(self.norm2(h))


class Gpt(nn.Module):
    """tinytune's `model=gpt`. `mu`: μP's readout (`MuReadout`, or `MuSharedReadout` when tied),
    attention √attn_mult/d_head (`amult` 0: the head width at `base_width`), zero queries
    (`qzero`) and zero readout (`rzero`) once `init_` has drawn the rest."""

    def __init__(self, vocab, d, blocks, heads, ctx, ratio=4, kind="layer", pos="learned", qk_norm=False,
                 tied=False, mu=False, base_width=64, ain=1.0, aout=1.0, amult=0.0, qzero=True, rzero=False,
                 branch=1.0):
        super().__init__()
        from mup import MuReadout, MuSharedReadout

        dh = d // heads
        if mu:
            mult = amult if amult > 0 else base_width // heads
            scale = math.sqrt(mult) / dh
        else:
            scale = 1 / math.sqrt(dh)
        self.mu, self.ain, self.qzero, self.rzero = mu, (ain if mu else 1.0), qzero, rzero
        self.tok_embed = nn.Embedding(vocab, d)
        self.pos_embed = nn.Embedding(ctx, d) if pos == "learned" else None
        self.block = nn.ModuleList(
            Block(d, heads, kind, qk_norm, scale, pos == "rope", ratio, branch) for _ in range(blocks)
        )
        self.final_norm = norm(kind, d)
        if tied:
            self.readout = (
                MuSharedReadout(self.tok_embed.weight, bias=False, output_mult=aout) if mu else None
            )
        else:
            self.readout = MuReadout(d, vocab, output_mult=aout) if mu else linear(d, vocab)
        self.tied = tied
        self.embedded = None

    def linears(self):
        out = []
        for b in self.block:
            out += [b.attn.q, b.attn.k, b.attn.v, b.attn.o, b.mlp.fc, b.mlp.proj]
        return out + ([self.readout] if not self.tied else [])

    def init_(self, generator):
        """tinytune's SP draws, before `set_base_shapes`: linear weights N(0, 1/fan_in), biases 0,
        embeddings N(0, 1), norms' gains 1 and biases 0; then μP's zero queries and readout."""
        with torch.no_grad():
            for layer in self.linears():
                layer.weight.normal_(0.0, layer.weight.shape[1] ** -0.5, generator=generator)
                if layer.bias is not None:
                    layer.bias.zero_()
            self.tok_embed.weight.normal_(0.0, 1.0, generator=generator)
            if self.pos_embed is not None:
                self.pos_embed.weight.normal_(0.0, 1.0, generator=generator)
            if self.mu and self.qzero:
                for b in self.block:
                    b.attn.q.weight.zero_()
            if self.mu and self.rzero and not self.tied:
                self.readout.weight.zero_()
                self.readout.bias.zero_()

    def forward(self, x):
        """Tokens [b, t] → logits [b, t, vocab]."""
        h = self.tok_embed(x)
        if self.pos_embed is not None:
            h = h + self.pos_embed(torch.arange(x.shape[1]))
        h = h * self.ain
        self.embedded = h
        for b in self.block:
            h = b(h)
        h = self.final_norm(h)
        if self.readout is None:
            return h @ self.tok_embed.weight.T
        return self.readout(h)


def tinytune_name(torch_name):
    """torch's parameter name as tinytune's `param_specs` gives it: a norm's weight and bias are
    its gamma and beta; peft's wrapping (`base_model.model.`, `.base_layer`) is dropped and its
    factors are `lora_a` / `lora_b`."""
    n = torch_name.replace("base_model.model.", "").replace(".base_layer", "")
    n = n.replace(".lora_A.default.weight", ".lora_a").replace(".lora_B.default.weight", ".lora_b")
    parts = n.split(".")
    if len(parts) >= 2 and "norm" in parts[-2]:
        parts[-1] = {"weight": "gamma", "bias": "beta"}[parts[-1]]
    return ".".join(parts)
