"""The transformer's reference fixtures, made by `mup`, `peft` and torch (#31): part of
`scripts/fixtures.py` (which calls `write_all`), kept in its own file because it is its own model.
The torch model is tinytune's `model=gpt`, every tensor under tinytune's name
(`bench/tinytune_torch.py`); tests/reference_gpt.rs compares tinytune against what this writes:

- gpt_mup_tables.json: every parameter's init multiplier and std, learning rate and weight decay
  as `set_base_shapes` (base 64, delta 128) and MuAdam / MuAdamW / MuSGD give them, untied
  (`MuReadout`, with and without zero init) and tied (`MuSharedReadout`), widths 32–256; SP beside.
- gpt_forward.json: the logits of given weights on given tokens — the attention's scale, causal
  mask, qk-norm and RoPE pairing, RMSNorm, the residual β, the tied readout, μP's multipliers.
- gpt_coord.json: `mup`'s coordinate check of the GPT trained by torch (16 seeds) on the very
  batches tinytune reads: mean |x| of the embedding output, every linear layer and every layer's
  attention logits after each of the first 3 Adam steps.
- gpt_peft.json: which layers peft's `target_modules` adapts, and the output and merged weights of
  given adapters on the GPT.
"""

import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))

from mup import MuAdam, set_base_shapes  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from transformers import PretrainedConfig, PreTrainedModel  # noqa: E402
from tinytune_torch import BATCHES, CharLm, Gpt, Rng, tinytune_name  # noqa: E402

from fixtures import LR, OPTIMIZERS  # noqa: E402  (the MLP's optimizers and rates, the same cases)

VOCAB, HEADS, CTX, BLOCKS = 80, 4, 16, 2
BASE, DELTA = 64, 128


def model(width, mu, tied, rzero=False, blocks=BLOCKS, **kw):
    return Gpt(VOCAB, width, blocks, HEADS, CTX, tied=tied, mu=mu, base_width=BASE, rzero=rzero, **kw)


def based(m, width, tied, rzero, blocks=BLOCKS, rescale=True):
    """`set_base_shapes` on `m` with the base and delta models of the same shape."""
    set_base_shapes(
        m,
        model(BASE, True, tied, rzero, blocks),
        delta=model(DELTA, True, tied, rzero, blocks),
        rescale_params=rescale,
    )
    return m


def init_mults(width, tied, rzero):
    """The factor `set_base_shapes` puts on each parameter: measured on a model of ones."""
    m = model(width, True, tied, rzero)
    with torch.no_grad():
        for p in m.parameters():
            p.fill_(1.0)
    based(m, width, tied, rzero)
    return {tinytune_name(n): float(p.detach().flatten()[0]) for n, p in m.named_parameters()}


def table_case(width, key, tied, rzero):
    link_opt, mu_cls, plain_cls, wd = OPTIMIZERS[key]
    mu = key.startswith("mup")
    m = model(width, mu, tied, rzero)
    m.init_(torch.Generator().manual_seed(0))
    if mu:
        based(m, width, tied, rzero)
        mults = init_mults(width, tied, rzero)
    else:
        mults = {tinytune_name(n): 1.0 for n, _ in m.named_parameters()}
    params = {}
    for n, p in m.named_parameters():
        name = tinytune_name(n)
        leaf = name.split(".")[-1]
        if leaf in ("gamma", "beta"):
            # Norms: torch's ones and zeros, which `set_base_shapes` leaves alone.
            entry = {"init_value": 1.0 if leaf == "gamma" else 0.0}
        elif leaf == "bias":
            entry = {"init_value": 0.0}
        else:
            zero = mu and ((".attn.q." in name + ".") or (rzero and not tied and name.startswith("readout")))
            fan_in = p.shape[1] if "embed" not in name else None
            sp_std = 1.0 if fan_in is None else fan_in**-0.5
            entry = {"init_std": 0.0 if zero else sp_std * mults[name]}
            # The draw itself, as a check on the table: its root mean square.
            entry["drawn_rms"] = float(p.detach().double().pow(2).mean().sqrt())
        entry["init_mult"] = mults[name]
        entry["shape_torch"] = list(p.shape)
        params[name] = entry
    cls = mu_cls or plain_cls
    opt = cls(m.parameters(), lr=LR, weight_decay=wd)
    names = {id(p): tinytune_name(n) for n, p in m.named_parameters()}
    for group in opt.param_groups:
        for p in group["params"]:
            params[names[id(p)]].update({"lr": group["lr"], "wd": group["weight_decay"]})
    link = f"task=text&w={width}&d={BLOCKS}&heads={HEADS}&ctx={CTX}&bs=8&lr={LR}&{link_opt}"
    if tied:
        link += "&tied=1"
    if mu:
        link += f"&param=mup&bw={BASE}" + ("&rzero=1" if rzero else "")
    scale = m.block[0].attn.scale
    readout_mult = None
    if m.readout is not None and mu:
        readout_mult = m.readout.output_mult / m.readout.width_mult()
    return {
        "link": link,
        "optimizer": key,
        "width": width,
        "tied": tied,
        "readout_zero": rzero,
        "attention_scale": scale,
        "readout_input_mult": readout_mult if readout_mult is not None else 1.0,
        "params": params,
    }


def tables(versions):
    cases = []
    for key in OPTIMIZERS:
        for width in [32, 64, 128, 256]:
            for tied in [False, True]:
                for rzero in [False, True] if key.startswith("mup") and not tied else [False]:
                    cases.append(table_case(width, key, tied, rzero))
    return {
        "what": "the GPT (2 blocks, 4 heads, ctx 16, the char LM's 80 tokens): per parameter the factor "
        "set_base_shapes (base 64, delta 128) applies (init_mult), the init std of tinytune's SP draw "
        "(N(0, 1/fan_in) linears, N(0, 1) embeddings) times it, 0 for μP's zero queries and a zero "
        "readout (init_value for norms and biases), the RMS of one such draw, and the learning rate "
        "and weight decay of its optimizer group; untied readouts are MuReadout, tied ones "
        "MuSharedReadout; per case the attention scale and MuReadout's input factor",
        "base_width": BASE,
        "delta_width": DELTA,
        "versions": versions,
        "cases": cases,
    }


# ---------------------------------------------------------------------------------------------
# The forward pass on given weights


FORWARD_CASES = [
    # (tinytune's link, model keywords, μP)
    ("w=16&heads=2", {}, False),
    ("w=16&heads=2&pos=rope&norm=rms&qkln=1", {"pos": "rope", "kind": "rms", "qk_norm": True}, False),
    ("w=16&heads=2&pos=rope&qkln=1&tied=1", {"pos": "rope", "qk_norm": True, "tied": True}, False),
    (
        "w=16&heads=2&param=mup&bw=8&ain=2&aout=3&amult=2&res=isqrt",
        {"ain": 2.0, "aout": 3.0, "amult": 2.0, "branch": 2**-0.5},
        True,
    ),
    ("w=16&heads=2&param=mup&bw=8&tied=1&qkln=1", {"tied": True, "qk_norm": True}, True),
]


def short(t):
    """`t` rounded to 4 significant digits: values f32 holds as the same decimal both sides read,
    and a fixture a quarter the size."""
    return torch.tensor(decimals(t), dtype=torch.float32)


def decimals(t):
    """`t`'s values with 4 significant digits, as a nested list (the fixture's text)."""
    return np.vectorize(lambda x: float(f"{x:.4g}"))(t.detach().double().numpy()).tolist()


def forward_case(link, kw, mu, g):
    width = int(link.split("w=")[1].split("&")[0])
    tied = kw.pop("tied", False)
    m = Gpt(VOCAB, width, 2, 2, 8, tied=tied, mu=mu, base_width=8, **kw)
    if mu:
        set_base_shapes(
            m,
            Gpt(VOCAB, 8, 2, 2, 8, tied=tied, mu=True, base_width=8, **kw),
            delta=Gpt(VOCAB, 12, 2, 2, 8, tied=tied, mu=True, base_width=8, **kw),
            rescale_params=False,
        )
    weights = {}
    with torch.no_grad():
        for n, p in m.named_parameters():
            # Every tensor random, norms around 1, so a swapped or ignored tensor shows.
            v = torch.randn(p.shape, generator=g) * (0.3 if p.ndim == 1 else 1 / math.sqrt(p.shape[-1]))
            if tinytune_name(n).endswith("gamma"):
                v = v + 1.0
            if "embed" in n:
                v = torch.randn(p.shape, generator=g)
            v = short(v)
            p.copy_(v)
            weights[tinytune_name(n)] = decimals(v)
        tokens = torch.randint(0, VOCAB, (2, 8), generator=g)
        logits = m(tokens)
    return {
        "link": f"task=text&d=2&ctx=8&{link}",
        "weights": weights,
        "tokens": tokens.tolist(),
        "logits": logits.tolist(),
        "attention_scale": m.block[0].attn.scale,
    }


def forward(versions):
    g = torch.Generator().manual_seed(3)
    return {
        "what": "logits [2, 8, 80] of the GPT (2 blocks, ctx 8) with given weights (torch's layout: "
        "linear [out, in], embeddings [n, d], norms' weight and bias as gamma and beta) on given "
        "tokens; RoPE rotates interleaved pairs (2i, 2i+1) by position·10000^(−2i/d_head), after "
        "qk-norm; μP cases have mup's base shapes set (base 8) with their parameters as given; weights "
        "have 4 significant digits",
        "versions": versions,
        "cases": [forward_case(link, dict(kw), mu, g) for link, kw, mu in FORWARD_CASES],
    }


# ---------------------------------------------------------------------------------------------
# Coordinate check

COORD_CTX, COORD_BATCH, COORD_STEPS, COORD_LR, COORD_BASE = 32, 16, 3, 0.01, 32
# tinytune's coordinate check reads the first validation windows, one scoring pass's worth.
COORD_ROWS = 4096 // COORD_CTX


def coord_run(width, mu, seed, data, vx):
    """After each of the first COORD_STEPS Adam steps on tinytune's batches of `seed`, the mean |x| of
    the embedding output, then per block q, k, v, the attention logits, o, fc, proj, then the
    readout, on the first validation windows."""
    torch.manual_seed(seed)
    m = Gpt(VOCAB, width, 1, HEADS, COORD_CTX, mu=mu, base_width=COORD_BASE, rzero=True)
    m.init_(torch.Generator().manual_seed(seed))
    if mu:
        set_base_shapes(
            m,
            Gpt(VOCAB, COORD_BASE, 1, HEADS, COORD_CTX, mu=True, base_width=COORD_BASE, rzero=True),
            delta=Gpt(VOCAB, 2 * COORD_BASE, 1, HEADS, COORD_CTX, mu=True, base_width=COORD_BASE, rzero=True),
        )
        opt = MuAdam(m.parameters(), lr=COORD_LR)
    else:
        opt = torch.optim.Adam(m.parameters(), lr=COORD_LR)
    hooked = []
    for b in m.block:
        a = b.attn
        hooked += [a.q, a.k, a.v, None, a.o, b.mlp.fc, b.mlp.proj]
    hooked.append(m.readout)
    outputs = {}
    hooks = [
        l.register_forward_hook(lambda mod, i, o, key=id(l): outputs.__setitem__(key, o.abs().mean().item()))
        for l in hooked
        if l is not None
    ]
    batches = Rng.stream(seed, BATCHES)
    out = []
    for _ in range(COORD_STEPS):
        x, y = data.drawn(data.train, COORD_BATCH, batches)
        loss = torch.nn.functional.cross_entropy(m(x).flatten(0, 1), y.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            outputs.clear()
            m(vx)
        row = [m.embedded.abs().mean().item()]
        for b in m.block:
            a = b.attn
            row += [outputs[id(a.q)], outputs[id(a.k)], outputs[id(a.v)], a.logits_seen]
            row += [outputs[id(a.o)], outputs[id(b.mlp.fc)], outputs[id(b.mlp.proj)]]
        row.append(outputs[id(m.readout)])
        out.append(row)
    for h in hooks:
        h.remove()
    return out


def coord(versions):
    data = CharLm(COORD_CTX)
    vx, _ = data.spaced(data.val, 16384 // COORD_CTX)
    vx = vx[:COORD_ROWS]
    seeds = list(range(1, 17))
    runs = []
    for mu in [False, True]:
        for width in [32, 64, 128, 256]:
            a = np.array([coord_run(width, mu, s, data, vx) for s in seeds])  # [seeds, steps, layers]
            link = (
                f"task=text&w={width}&d=1&heads={HEADS}&ctx={COORD_CTX}&bs={COORD_BATCH}&lr={COORD_LR}"
                f"&steps={COORD_STEPS}&coord={COORD_STEPS}"
            )
            if mu:
                link += f"&param=mup&bw={COORD_BASE}&rzero=1"
            runs.append(
                {
                    "link": link,
                    "param": "mup" if mu else "sp",
                    "width": width,
                    "mean": a.mean(0).tolist(),
                    "std": a.std(0, ddof=1).tolist(),
                }
            )
    return {
        "what": "mup's coordinate check of the GPT (1 block, 4 heads, ctx 32, the char LM), trained by "
        "torch Adam (SP) or MuAdam with MuReadout(readout_zero_init) and zero queries (μP, base 32), "
        "lr 0.01, batch 16 of tinytune's own windows (its batch stream for the seed): mean |x| of the "
        "embedding output, q, k, v, the attention logits (over the positions attended to), o, fc, proj "
        "and the readout on the first 128 validation windows after each of the first 3 steps; mean and "
        "sample std over seeds 1–16 (torch's init for each)",
        "seeds": len(seeds),
        "layers": ["embedding", "block.0.attn.q", "block.0.attn.k", "block.0.attn.v", "block.0.attn.logits",
                   "block.0.attn.o", "block.0.mlp.fc", "block.0.mlp.proj", "readout"],
        "versions": versions,
        "runs": runs,
    }


# ---------------------------------------------------------------------------------------------
# peft on the GPT

TARGETS = [
    ["q", "v"],
    ["attn.q", "attn.v"],
    ["block.1.attn.o"],
    ["fc", "proj"],
    ["mlp.fc", "readout"],
    ["o"],
    ["readout"],
    "all-linear",
]


class HfGpt(PreTrainedModel):
    """The GPT's modules as a transformers model whose output embeddings are the readout: peft's
    `all-linear` leaves out the LM head only there (for a plain module it takes every linear)."""

    config_class = PretrainedConfig

    def __init__(self, gpt):
        super().__init__(PretrainedConfig())
        for name, child in gpt.named_children():
            self.add_module(name, child)

    def get_output_embeddings(self):
        return self.readout


def peft_case(target, g):
    m = Gpt(VOCAB, 16, 2, 2, 8)
    m.init_(g)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(short(p))
    # Selection only for `all-linear` (the wrapper's forward is not the GPT's).
    selected = HfGpt(m) if target == "all-linear" else m
    wrapped = get_peft_model(selected, LoraConfig(r=2, lora_alpha=4, target_modules=target))
    adapted = sorted(
        {tinytune_name(n).rsplit(".", 1)[0] for n, _ in wrapped.named_parameters() if "lora_A" in n}
    )
    case = {"target": target, "adapted": adapted}
    if target == ["mlp.fc", "readout"]:
        # Given factors (B nonzero), the output, and the merged weights.
        factors = {}
        with torch.no_grad():
            for n, p in wrapped.named_parameters():
                if "lora_" in n:
                    p.copy_(short(torch.randn(p.shape, generator=g) * 0.5))
                    factors[tinytune_name(n)] = decimals(p)
            tokens = torch.randint(0, VOCAB, (2, 8), generator=g)
            case["tokens"] = tokens.tolist()
            case["logits"] = wrapped(tokens).tolist()
            case["weights"] = {tinytune_name(n): decimals(p) for n, p in m.named_parameters() if "lora_" not in n}
            case["factors"] = factors
            merged = wrapped.merge_and_unload()
            case["merged"] = {
                name: merged.get_submodule(name).weight.tolist() for name in ["block.0.mlp.fc", "block.1.mlp.fc", "readout"]
            }
            case["scaling"] = 4 / 2
    return case


def peft_fixture(versions):
    g = torch.Generator().manual_seed(5)
    return {
        "what": "peft's LoraConfig(r=2, lora_alpha=4, target_modules=…) on the GPT (w 16, 2 blocks, 2 heads, "
        "untied): the layers it adapts (tinytune's names; all-linear on the GPT as a transformers "
        "PreTrainedModel whose get_output_embeddings() is the readout, which peft leaves out), and for one target the logits with given "
        "factors (torch's layout: lora_a [r, in], lora_b [out, r]) and the merged weights",
        "versions": versions,
        "cases": [peft_case(t, g) for t in TARGETS],
    }


def write_all(write, versions):
    torch.set_num_threads(2)
    write("gpt_mup_tables.json", tables(versions))
    write("gpt_forward.json", forward(versions))
    write("gpt_peft.json", peft_fixture(versions))
    write("gpt_coord.json", coord(versions))
