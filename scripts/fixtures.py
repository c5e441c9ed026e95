#!/usr/bin/env python3
"""Reference fixtures made by the libraries tinytune's users know: `mup`, `peft`, torch's float8
casts, `ml_dtypes`' float4 cast and bitsandbytes' NF4. The native tests (tests/reference.rs)
compare tinytune against the JSON files this writes to tests/fixtures/.

Run by hand, never in CI: it needs torch from PyPI (several GB), so install it in a virtual
environment outside the repository:

    python3 -m venv ~/fixvenv
    ~/fixvenv/bin/pip install torch mup peft bitsandbytes ml_dtypes numpy
    ~/fixvenv/bin/python scripts/fixtures.py        # or `fixtures.py gpt`: the transformer's only

Every file records the library versions that made it. The transformer's fixtures are scripts/fixtures_gpt.py's. The MLP's models mirror tinytune's MLP exactly:
input (64 → w), two hidden (w → w), readout (w → 10), ReLU, weights N(0, 1/fan_in) and zero biases
in the standard parameterization; under μP the readout is mup's `MuReadout` and `set_base_shapes`
(base width 64, delta width 128) does the rest.
"""

import gzip
import json
import math
import os
import platform
import sys

import numpy as np
import torch
from torch import nn

import bitsandbytes
import bitsandbytes.functional as bnbf
import ml_dtypes
import mup
import peft
from mup import MuAdam, MuAdamW, MuReadout, MuSGD, set_base_shapes
from peft import LoraConfig, get_peft_model
from peft.optimizers import create_loraplus_optimizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures")

D_IN, CLASSES, HIDDEN, BASE, DELTA = 64, 10, 2, 64, 128
LR, WD = 0.01, 0.1


def versions():
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "mup": getattr(mup, "__version__", None) or _dist_version("mup"),
        "peft": peft.__version__,
        "bitsandbytes": bitsandbytes.__version__,
        "ml_dtypes": ml_dtypes.__version__,
        "numpy": np.__version__,
    }


def _dist_version(name):
    from importlib.metadata import version

    return version(name)


class Mlp(nn.Module):
    """tinytune's MLP: `input`, `hidden.{i}`, `readout`; α_in multiplies the input layer's output."""

    def __init__(self, width, mu, rzero=False, ain=1.0, aout=1.0):
        super().__init__()
        self.ain = ain
        self.input = nn.Linear(D_IN, width)
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(HIDDEN))
        if mu:
            self.readout = MuReadout(width, CLASSES, readout_zero_init=rzero, output_mult=aout)
        else:
            self.readout = nn.Linear(width, CLASSES)

    def layers(self):
        return [self.input, *self.hidden, self.readout]

    def forward(self, x):
        h = torch.relu(self.input(x) * self.ain)
        for layer in self.hidden:
            h = torch.relu(layer(h))
        return self.readout(h)


def sp_init_(model, rzero, generator):
    """tinytune's SP draws: weights N(0, 1/fan_in), biases 0 (a zero readout stays zero)."""
    with torch.no_grad():
        for layer in model.layers():
            if not (rzero and isinstance(layer, MuReadout)):
                fan_in = layer.weight.shape[1]
                layer.weight.normal_(0.0, fan_in**-0.5, generator=generator)
            layer.bias.zero_()


def tinytune_name(torch_name):
    """'hidden.0.weight' → 'hidden.1.weight'; peft's 'base_model.model.input.lora_A.default.weight'
    → 'input.lora_a'; 'input.base_layer.bias' → 'input.bias'."""
    n = torch_name.replace("base_model.model.", "").replace(".base_layer", "")
    parts = n.split(".")
    if parts[0] == "hidden":
        parts[1] = str(int(parts[1]) + 1)
    n = ".".join(parts)
    n = n.replace(".lora_A.default.weight", ".lora_a").replace(".lora_B.default.weight", ".lora_b")
    return n


def mu_model(width, rzero, ain=1.0, aout=1.0, seed=0):
    """A μP model with its base shapes set (parameters rescaled as `set_base_shapes` does)."""
    g = torch.Generator().manual_seed(seed)
    model = Mlp(width, True, rzero, ain, aout)
    sp_init_(model, rzero, g)
    set_base_shapes(model, Mlp(BASE, True, rzero), delta=Mlp(DELTA, True, rzero))
    return model


def init_mults(width, rzero):
    """The factor `set_base_shapes` puts on each parameter: measured on a model of ones."""
    model = Mlp(width, True, rzero)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0)
    set_base_shapes(model, Mlp(BASE, True, rzero), delta=Mlp(DELTA, True, rzero))
    return {tinytune_name(n): float(p.flatten()[0]) for n, p in model.named_parameters()}


def group_table(optimizer, names):
    """Per parameter (tinytune's name): the learning rate and weight decay of its group."""
    out = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            out[names[id(p)]] = {"lr": group["lr"], "wd": group["weight_decay"]}
    return out


OPTIMIZERS = {
    # key: (tinytune's link, μP optimizer, plain torch optimizer, weight decay)
    "sp-adam": ("opt=adam", None, torch.optim.Adam, 0.0),
    "sp-adamw": (f"opt=adam&wd={WD}", None, torch.optim.AdamW, WD),
    "sp-sgd": (f"opt=sgd&wd={WD}", None, torch.optim.SGD, WD),
    "mup-adam": ("opt=adam", MuAdam, None, 0.0),
    "mup-adamw": (f"opt=adam&wd={WD}", MuAdamW, None, WD),
    "mup-sgd": (f"opt=sgd&wd={WD}", MuSGD, None, WD),
}


def make_optimizer(key, params, lplus=None, peft_model=None):
    _, mu_cls, plain_cls, wd = OPTIMIZERS[key]
    cls = mu_cls or plain_cls
    if lplus is not None:
        # peft's LoRA+ groups (B at λ·lr), handed to the μP optimizer, which splits them further.
        return create_loraplus_optimizer(
            peft_model, cls, lr=LR, loraplus_lr_ratio=lplus, loraplus_weight_decay=wd
        )
    return cls(params, lr=LR, weight_decay=wd)


def lora_wrap(model, r):
    cfg = LoraConfig(r=r, lora_alpha=8, target_modules=["input", "hidden.0", "hidden.1", "readout"], bias="none")
    return get_peft_model(model, cfg)


def table_case(width, key, rzero, phase, ain=1.0, aout=1.0):
    """One row of the μP table: every parameter's init std and multiplier, learning rate and
    decay, and each layer's forward multipliers, in one phase of a run."""
    link_opt = OPTIMIZERS[key][0]
    mu = key.startswith("mup")
    if mu:
        model = mu_model(width, rzero, ain, aout)
        mults = init_mults(width, rzero)
    else:
        model = Mlp(width, False)
        sp_init_(model, False, torch.Generator().manual_seed(0))
        mults = {tinytune_name(n): 1.0 for n, _ in model.named_parameters()}
    params = {}
    for n, p in model.named_parameters():
        name = tinytune_name(n)
        fan_in = p.shape[1] if p.ndim == 2 else None
        zero = rzero and mu and name.startswith("readout")
        sp_std = 0.0 if (fan_in is None or zero) else fan_in**-0.5
        params[name] = {"shape_torch": list(p.shape), "init_mult": mults[name], "init_std": sp_std * mults[name]}
    layers = {}
    for name, layer in [("input", model.input)] + [(f"hidden.{i + 1}", l) for i, l in enumerate(model.hidden)] + [
        ("readout", model.readout)
    ]:
        in_mult = layer.output_mult / layer.width_mult() if isinstance(layer, MuReadout) else 1.0
        out_mult = model.ain if (mu and name == "input") else 1.0
        layers[name] = {"input_mult": in_mult, "output_mult": out_mult}

    lplus = None
    if phase in ("pretrain", "full"):
        trained = model
        names = {id(p): tinytune_name(n) for n, p in model.named_parameters()}
        opt = make_optimizer(key, list(model.parameters()))
        link_phase = "" if phase == "pretrain" else "&r=0"
    else:
        r = 4
        lplus = 4.0 if phase == "lora+" else None
        trained = lora_wrap(model, r)
        if mu:
            # The adapters need base shapes too: the same wrap on the base and delta models. The
            # model's own parameters were rescaled once already (rescale_params=False), and the
            # input layer's A has no width dimension, so the hidden-size assertion is off.
            base = lora_wrap(Mlp(BASE, True, rzero), r)
            delta = lora_wrap(Mlp(DELTA, True, rzero), r)
            set_base_shapes(trained, base, delta=delta, rescale_params=False, do_assert=False)
        names = {id(p): tinytune_name(n) for n, p in trained.named_parameters()}
        trainable = [p for p in trained.parameters() if p.requires_grad]
        opt = make_optimizer(key, trainable, lplus, trained)
        link_phase = f"&r={r}&alpha=8" + (f"&lplus={lplus:g}" if lplus else "")
        for n, p in trained.named_parameters():
            name = tinytune_name(n)
            if "lora" in name:
                params[name] = {"shape_torch": list(p.shape)}
    groups = group_table(opt, names)
    for name, g in groups.items():
        params[name].update(g)
    for name, p in params.items():
        p["trains"] = name in groups
    link = f"task=digits&w={width}&d=3&lr={LR}&{link_opt}"
    if mu:
        link += f"&param=mup&bw={BASE}" + ("&rzero=1" if rzero else "")
        if ain != 1.0:
            link += f"&ain={ain:g}"
        if aout != 1.0:
            link += f"&aout={aout:g}"
    link += link_phase
    return {
        "link": link,
        "optimizer": key,
        "width": width,
        "phase": phase,
        "readout_zero": rzero,
        "params": params,
        "layers": layers,
    }


def mup_tables():
    cases = []
    for key in OPTIMIZERS:
        for width in [64, 128, 256, 512, 1024]:
            for rzero in [False, True] if key.startswith("mup") else [False]:
                for phase in ["pretrain", "full", "lora", "lora+"]:
                    cases.append(table_case(width, key, rzero, phase))
    # The multipliers α_in and α_out.
    cases.append(table_case(256, "mup-adam", False, "pretrain", ain=2.0, aout=3.0))
    return {
        "what": "per-parameter init std (tinytune's SP draw N(0, 1/fan_in), zero biases, times the factor "
        "set_base_shapes applies), learning rate and weight decay (the optimizer's param_groups), and per "
        "layer the factor on its input (MuReadout: output_mult/width_mult) and on its output (α_in); "
        "phases: pretrain, full (r=0: a fresh optimizer over every parameter), lora (peft r=4, α=8 on every "
        "layer, set_base_shapes on the wrapped model), lora+ (peft's create_loraplus_optimizer, ratio 4, "
        "with the μP optimizer as its class)",
        "base_width": BASE,
        "delta_width": DELTA,
        "lr": LR,
        "versions": versions(),
        "cases": cases,
    }


# ---------------------------------------------------------------------------------------------
# Coordinate check


def digits():
    with gzip.open(os.path.join(ROOT, "data", "digits.csv.gz"), "rt") as f:
        rows = [list(map(int, l.split(","))) for l in f if l.strip()]
    a = np.array(rows)
    return torch.tensor(a[:, :64] / 8.0 - 1.0, dtype=torch.float32), torch.tensor(a[:, 64], dtype=torch.long)


def coord_run(width, mu, opt_key, wd, seed, steps, x_all, y_all, n_train=256, batch=64, lr=0.01):
    """tinytune's coordinate check in torch: the digits split (360 held out, the first 256 of the rest
    train), mini-batches without replacement reshuffled each epoch, and after each of the first
    `steps` updates the mean |output| of every linear layer on the first 256 held-out images."""
    g = torch.Generator().manual_seed(1000 + seed)
    perm = torch.randperm(len(x_all), generator=g)
    val, pool = perm[-360:], perm[:-360]
    xtr, ytr = x_all[pool[:n_train]], y_all[pool[:n_train]]
    xval = x_all[val][:256]
    torch.manual_seed(seed)
    if mu:
        model = mu_model(width, True, seed=seed)
        cls = MuAdamW if wd > 0 else MuAdam
    else:
        model = Mlp(width, False)
        sp_init_(model, False, torch.Generator().manual_seed(seed))
        cls = torch.optim.AdamW if wd > 0 else torch.optim.Adam
    opt = cls(model.parameters(), lr=lr, weight_decay=wd)
    seen = []
    hooks = [l.register_forward_hook(lambda m, i, o: seen.append(o.abs().mean().item())) for l in model.layers()]
    order, cursor, out = torch.randperm(n_train, generator=g), 0, []
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(steps):
        idx = []
        while len(idx) < batch:
            if cursor == n_train:
                order, cursor = torch.randperm(n_train, generator=g), 0
            idx.append(order[cursor].item())
            cursor += 1
        opt.zero_grad()
        seen.clear()
        loss_fn(model(xtr[idx]), ytr[idx]).backward()
        opt.step()
        seen.clear()
        with torch.no_grad():
            model(xval)
        out.append(list(seen))
    for h in hooks:
        h.remove()
    return out


def coord_check():
    x_all, y_all = digits()
    seeds, steps = list(range(16)), 5
    runs = []
    for mu in [False, True]:
        for opt_key, wd in [("adam", 0.0), ("adamw", 10.0)]:
            for width in [64, 256, 1024]:
                per_seed = [coord_run(width, mu, opt_key, wd, s, steps, x_all, y_all) for s in seeds]
                a = np.array(per_seed)  # [seeds, steps, layers]
                link = f"task=digits&w={width}&d=3&bs=64&lr=0.01&steps={steps}&coord={steps}"
                if wd > 0:
                    link += f"&wd={wd:g}"
                if mu:
                    link += f"&param=mup&bw={BASE}&rzero=1"
                runs.append(
                    {
                        "link": link,
                        "param": "mup" if mu else "sp",
                        "optimizer": opt_key,
                        "wd": wd,
                        "width": width,
                        "mean": a.mean(0).tolist(),
                        "std": a.std(0, ddof=1).tolist(),
                        "per_seed": a.tolist(),
                    }
                )
    return {
        "what": "mean |output| of input, hidden.1, hidden.2, readout (MuReadout's output under μP) on 256 "
        "held-out digits after each of the first 5 updates; digits n=256, batch 64, lr 0.01, torch Adam/AdamW "
        "(SP) or mup's MuAdam/MuAdamW with MuReadout(readout_zero_init=True) and set_base_shapes (base 64); "
        "mean and sample std over the seeds (each seed its own split, init and batch order)",
        "seeds": len(seeds),
        "layers": ["input", "hidden.1", "hidden.2", "readout"],
        "versions": versions(),
        "runs": runs,
    }


# ---------------------------------------------------------------------------------------------
# LoRA


def lora_fixture():
    cases = []
    g = torch.Generator().manual_seed(7)
    for d_in, d_out, r, alpha, rs in [(6, 5, 2, 8.0, False), (6, 5, 2, 8.0, True), (16, 12, 4, 3.0, False), (16, 12, 4, 3.0, True), (9, 7, 1, 16.0, False)]:
        base = nn.Linear(d_in, d_out, bias=True)
        with torch.no_grad():
            base.weight.copy_(torch.randn(d_out, d_in, generator=g))
            base.bias.copy_(torch.randn(d_out, generator=g))
        wrapped = get_peft_model(
            nn.Sequential(base), LoraConfig(r=r, lora_alpha=alpha, use_rslora=rs, target_modules=["0"])
        )
        layer = wrapped.base_model.model[0]
        a = torch.randn(r, d_in, generator=g)
        b = torch.randn(d_out, r, generator=g)
        with torch.no_grad():
            layer.lora_A["default"].weight.copy_(a)
            layer.lora_B["default"].weight.copy_(b)
        x = torch.randn(3, d_in, generator=g)
        with torch.no_grad():
            y = wrapped(x)
            delta = layer.get_delta_weight("default")
            w0 = layer.base_layer.weight.clone()
            layer.merge()
            merged = layer.base_layer.weight.clone()
        cases.append(
            {
                "d_in": d_in,
                "d_out": d_out,
                "r": r,
                "lora_alpha": alpha,
                "use_rslora": rs,
                "scaling": layer.scaling["default"],
                # torch's [out, in] layout: W0 [out, in], lora_A [r, in], lora_B [out, r].
                "w0": w0.tolist(),
                "bias": base.bias.tolist(),
                "lora_a": a.tolist(),
                "lora_b": b.tolist(),
                "x": x.tolist(),
                "y": y.tolist(),
                "delta_weight": delta.tolist(),
                "merged_weight": merged.tolist(),
            }
        )
    inits = []
    for d_in, d_out, r, how in [(256, 64, 64, True), (64, 64, 64, True), (256, 64, 64, "gaussian"), (64, 64, 16, "gaussian")]:
        torch.manual_seed(11)
        m = get_peft_model(
            nn.Sequential(nn.Linear(d_in, d_out)), LoraConfig(r=r, lora_alpha=8, target_modules=["0"], init_lora_weights=how)
        )
        layer = m.base_model.model[0]
        a = layer.lora_A["default"].weight.detach().flatten().numpy().astype(np.float64)
        b = layer.lora_B["default"].weight.detach()
        inits.append(
            {
                "d_in": d_in,
                "r": r,
                "init_lora_weights": "kaiming" if how is True else how,
                "count": int(a.size),
                "max_abs": float(np.abs(a).max()),
                "mean": float(a.mean()),
                "std": float(a.std()),
                "quantiles": {str(q): float(np.quantile(a, q)) for q in [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]},
                "b_all_zero": bool((b == 0).all()),
            }
        )
    return {
        "what": "peft's LoraLayer on given factors: scaling for r, lora_alpha and use_rslora, the output, "
        "ΔW = scaling·B·A and the merged weight (torch's [out, in] layout); and the distribution of A "
        "as peft initialises it (init_lora_weights=True: kaiming_uniform(a=√5); 'gaussian': N(0, 1/r²))",
        "versions": versions(),
        "cases": cases,
        "inits": inits,
    }


# ---------------------------------------------------------------------------------------------
# Minifloats and NF4


def finite_values(dtype):
    """Every finite value of a float8 type, from its 256 bit patterns, ascending, unique."""
    bits = torch.arange(256, dtype=torch.int32).to(torch.uint8).view(dtype).float()
    v = bits[torch.isfinite(bits)].unique()
    return v.double().numpy()


def probe_grid(values):
    """The representable values, every midpoint (an exact tie), and points a quarter and three
    quarters of the way between neighbours: within [−max, max], both signs."""
    v = np.sort(values)
    mids = (v[:-1] + v[1:]) / 2
    q1 = v[:-1] + (v[1:] - v[:-1]) / 4
    q3 = v[:-1] + 3 * (v[1:] - v[:-1]) / 4
    g = np.unique(np.concatenate([v, mids, q1, q3]))
    # Exactly representable in f32, so tinytune receives the very same inputs.
    g = g[g.astype(np.float32).astype(np.float64) == g]
    return g


def minifloat_fixture():
    out = {}
    for name, tdtype, mdtype in [("e4m3", torch.float8_e4m3fn, ml_dtypes.float8_e4m3fn), ("e5m2", torch.float8_e5m2, ml_dtypes.float8_e5m2)]:
        grid = probe_grid(finite_values(tdtype))
        x = torch.tensor(grid, dtype=torch.float32)
        cast = x.to(tdtype).float().double().numpy()
        other = grid.astype(np.float32).astype(mdtype).astype(np.float64)
        assert np.array_equal(cast, other), f"torch and ml_dtypes disagree on {name}"
        out[name] = {"by": f"torch {torch.__version__} .to(torch.{str(tdtype).split('.')[-1]})", "max": float(grid.max()), "x": grid.tolist(), "y": cast.tolist()}
    # torch has no float → float4 cast on the CPU; ml_dtypes (JAX's dtypes) implements OCP E2M1.
    codes = np.arange(16, dtype=np.uint8).view(ml_dtypes.float4_e2m1fn).astype(np.float64)
    grid = probe_grid(np.unique(codes))
    cast = grid.astype(np.float32).astype(ml_dtypes.float4_e2m1fn).astype(np.float64)
    out["e2m1"] = {"by": f"ml_dtypes {ml_dtypes.__version__} .astype(float4_e2m1fn)", "max": float(grid.max()), "x": grid.tolist(), "y": cast.tolist()}
    return {
        "what": "round-to-nearest casts of every representable value, every exact tie and the quarter points "
        "between, in [−max, max]: ties go to the even encoding",
        "versions": versions(),
        "formats": out,
    }


def nf4_fixture():
    table = bnbf.get_4bit_type("nf4", device="cpu").tolist()
    g = torch.Generator().manual_seed(5)
    w = torch.randn(8, 128, generator=g) * torch.linspace(0.1, 3.0, 8).unsqueeze(1)  # [out, in]
    q, state = bnbf.quantize_4bit(w, blocksize=64, quant_type="nf4")
    deq = bnbf.dequantize_4bit(q, state)
    return {
        "what": "bitsandbytes' NF4 table, and quantize_4bit/dequantize_4bit (blocksize 64, absmax per block "
        "of 64 consecutive inputs of one output row) of a seeded weight in torch's [out, in] layout",
        "versions": versions(),
        "table": table,
        "blocksize": 64,
        "w": w.tolist(),
        "dequantized": deq.tolist(),
    }


def write(name, obj):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path) / 1024:.0f} kB)", file=sys.stderr)


def main():
    """`fixtures.py` writes every fixture; `fixtures.py gpt` only the transformer's."""
    import fixtures_gpt

    torch.set_num_threads(2)
    fixtures_gpt.write_all(write, versions())
    if sys.argv[1:] == ["gpt"]:
        return
    write("mup_tables.json", mup_tables())
    write("lora.json", lora_fixture())
    write("minifloat.json", minifloat_fixture())
    write("nf4.json", nf4_fixture())
    write("mup_coord.json", coord_check())


if __name__ == "__main__":
    main()
