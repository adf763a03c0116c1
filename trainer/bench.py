"""Training-speed benchmark: ``python -m trainer.bench [--steps N] [--no-write]``.

Times full generator updates (forward, L1, backward, Adam) at minibatch 8 with the
exact patch sizes of every training scale (HR <= 96x96), for:

* ours: the trunk as training runs it (bf16 autocast where the CPU has native bf16,
  float32 elsewhere: emulated bf16 is ~13x slower) + the numba Meta-Upscale with its
  cheap backward (``fast_upscale``),
* the engine's torch path (stride-Q convolutions + pixel-shuffle, float32 trunk),
* the paper-style path (as Meta-SR's code: the weight network once per *output
  pixel*, the 3x3xC windows gathered per output pixel, then multiplied),

and, for ours, the update with the discriminator (adversarial term) too.  Prints
steps/s and writes the section "train" of ``docs/BENCHMARKS.md``.  Numbers depend on what else the machine
runs; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from engine import networks
from engine.benchdoc import machine, write_section
from engine.geometry import ZoomGrid, coordinates
from engine.render.phase_table import positions
from engine.render.torch_upscale import bicubic_torch, meta_upscale
from engine.upscaler import cpu_has_bf16
from engine.weights import BUNDLED, read_info

from .data.scales import TRAIN_SCALES, exact_sizes
from .discriminator import Discriminator
from .fast_upscale import meta_upscale_cpu
from .losses import adversarial_d_half, adversarial_g



def paper_style_upscale(model, lr: torch.Tensor, scale, feats: torch.Tensor) -> torch.Tensor:
    """Meta-SR's formulation, differentiable: one weight-network row per output pixel,
    one gathered window per output pixel (same engine geometry, so same result)."""
    B, C, h, w = feats.shape
    H, W = ZoomGrid.make((h, w), scale).out_shape
    y, x = coordinates(h, H), coordinates(w, W)
    sy, sx = np.floor(y + 0.5).astype(np.int64), np.floor(x + 0.5).astype(np.int64)
    pos = positions(y - sy, x - sx, H / h, W / w)  # one row per output pixel
    wts = model.weights(pos).reshape(H * W, -1)  # (HW, C*9)
    cols = F.unfold(feats.float(), 3, padding=1)  # (B, C*9, h*w)
    SY, SX = np.meshgrid(sy, sx, indexing="ij")
    rep = cols[:, :, torch.from_numpy((SY * w + SX).ravel())]  # (B, C*9, HW)
    out = torch.einsum("bkn,nk->bn", rep, wts).view(B, 1, H, W)
    return out + bicubic_torch(lr, (H, W)) if model.residual_bicubic else out


def _update_fn(kind: str, model, opt, D=None, opt_d=None):
    bf16 = cpu_has_bf16()  # as training's train.bf16 = "auto"

    def step(lr, hr, r):
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16 and kind.startswith("ours")):
            feats = model.features(lr)
        feats = feats.float()
        if kind.startswith("ours"):
            sr = meta_upscale_cpu(model, lr, r, feats)
        elif kind == "engine":
            sr = meta_upscale(model, lr, r, feats=feats)
        else:
            sr = paper_style_upscale(model, lr, r, feats)
        loss = (sr - hr).abs().mean()
        if D is not None:
            for p in D.parameters():
                p.requires_grad_(False)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = loss + 0.001 * adversarial_g(D(sr).float())
        loss.backward()
        opt.step()
        if D is not None:
            for p in D.parameters():
                p.requires_grad_(True)
            opt_d.zero_grad(set_to_none=True)
            for img, real in ((hr, True), (sr.detach(), False)):
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    adversarial_d_half(D(img).float(), real).backward()
            opt_d.step()

    return step


@functools.cache
def shipped_spec() -> dict:
    """The architecture of the bundled weights (the network a retraining run trains),
    or the paper's with the bicubic start and scale gate where the sidecar is missing."""
    try:
        return read_info(BUNDLED).arch
    except Exception:  # a checkout without resources: still a like-for-like comparison
        return {"name": "meta_srgan", "args": {"residual_bicubic": True, "scale_gate": True}}


def time_path(kind: str, scales, batch: int = 8, repeats: int = 1, adversarial: bool = False) -> dict:
    torch.manual_seed(0)
    model = networks.make(shipped_spec())
    nn_init = torch.nn.init
    nn_init.normal_(model.weights.net[2].weight, std=1e-3)  # non-zero residual, a realistic backward
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    D = opt_d = None
    if adversarial:
        D = Discriminator()
        opt_d = torch.optim.Adam(D.parameters(), 1e-4)
    step = _update_fn(kind, model, opt, D, opt_d)
    per_scale, cpu = {}, {}
    for r in scales:
        m, n = exact_sizes(r, 96)
        lr, hr = torch.randn(batch, 1, m, m), torch.randn(batch, 1, n, n)
        step(lr, hr, r)  # warm-up: oneDNN primitives, numba compilation
        ts, cs = [], []
        for _ in range(repeats):
            t, c = time.perf_counter(), time.process_time()
            step(lr, hr, r)
            ts.append(time.perf_counter() - t)
            cs.append(time.process_time() - c)
        per_scale[r] = statistics.median(ts)
        cpu[r] = statistics.median(cs)
    mean_s = float(np.mean(list(per_scale.values())))
    cpu_s = float(np.mean(list(cpu.values())))
    return {"kind": kind, "per_scale": per_scale, "mean_s": mean_s, "steps_per_s": 1.0 / mean_s, "cpu_s": cpu_s}


def trunk_precision(batch: int = 8, m: int = 48, repeats: int = 3) -> dict:
    """Trunk forward + backward at one LR size, float32 vs bf16 autocast."""
    torch.manual_seed(0)
    model = networks.make(shipped_spec())
    x = torch.randn(batch, 1, m, m)
    out = {"bf16": float("nan")}
    for bf in (False, True) if cpu_has_bf16() else (False,):
        def run():
            model.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf):
                f = model.features(x)
            f.float().square().mean().backward()
        run()
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            run()
            ts.append(time.perf_counter() - t)
        out["bf16" if bf else "fp32"] = statistics.median(ts)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m trainer.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--paper-scales", default="1.1,1.5,2.0,2.3,3.0,3.7,4.0", help="subset for the slow paths")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    load0 = os.getloadavg()[0]
    sub = [float(s) for s in args.paper_scales.split(",")]
    trunk = trunk_precision()
    print(f"trunk fwd+bwd, 8x48x48 LR: fp32 {trunk['fp32'] * 1e3:.0f} ms, bf16 {trunk['bf16'] * 1e3:.0f} ms (nan: not native here)", flush=True)
    rows = []
    for kind, scales, adv in [("ours", TRAIN_SCALES, False), ("ours", sub, False), ("ours+D", sub, True), ("engine", sub, False), ("paper", sub, False)]:
        res = time_path(kind, scales, repeats=args.repeats, adversarial=adv)
        res["label"] = f"{kind} ({'all 30 scales' if scales is TRAIN_SCALES else 'subset'})"
        rows.append(res)
        print(f"{res['label']:<28} {res['steps_per_s']:6.2f} steps/s  (mean {res['mean_s'] * 1e3:.0f} ms/update, {res['cpu_s']:.2f} CPU-s/update)", flush=True)
    load1 = os.getloadavg()[0]
    ours_sub = rows[1]["mean_s"]
    paper = rows[-1]["mean_s"]
    cpu_ratio = rows[-1]["cpu_s"] / rows[1]["cpu_s"]
    print(f"speed-up over the paper-style path (same scales): {paper / ours_sub:.1f}x wall, {cpu_ratio:.1f}x CPU time; load average {load0:.1f} -> {load1:.1f}")
    if not args.no_write:
        lines = [
            "## Training speed (`python -m trainer.bench`: generator updates, minibatch 8, HR patches <= 96x96)",
            "",
            f"Machine: {machine()}; {args.threads} threads; "
            f"load average {load0:.1f} -> {load1:.1f} during the run (the cores are shared, so treat numbers as lower bounds). "
            "Regenerate with `python -m trainer.bench`.",
            "",
            f"Network: the bundled weights' architecture, `{shipped_spec()['args']}` (random weights: speed does not depend on them).",
            "",
            f"Trunk forward+backward, 8 x 48x48 LR: float32 {trunk['fp32'] * 1e3:.0f} ms, "
            + (f"bf16 autocast {trunk['bf16'] * 1e3:.0f} ms." if cpu_has_bf16() else "bf16 not measured (no native bf16 on this CPU).")
            + " The trunk's share of an update is what the Meta-Upscale speed-up cannot touch.",
            "",
            "Per-scale columns: wall ms per update.",
            "",
            "| path | scales | steps/s (wall) | ms/update | CPU-s/update | " + " | ".join(f"x{r:g}" for r in sub) + " |",
            "|---|---|---|---|---|" + "---|" * len(sub),
        ]
        for res in rows:
            cells = " | ".join(f"{res['per_scale'][r] * 1e3:.0f}" if r in res["per_scale"] else "-" for r in sub)
            lines.append(f"| {res['kind']} | {'all 30' if len(res['per_scale']) == 30 else 'subset'} | {res['steps_per_s']:.2f} | {res['mean_s'] * 1e3:.0f} | {res['cpu_s']:.2f} | {cells} |")
        lines += [
            "",
            f"Speed-up of ours over the paper-style path on the same scales: **{paper / ours_sub:.1f}x** in wall time, "
            f"**{cpu_ratio:.1f}x** in CPU time (the fairer number on shared cores).",
            "",
            f"- ours: {'bf16' if cpu_has_bf16() else 'float32 (this CPU has no native bf16)'} trunk, numba Meta-Upscale forward and backward (`trainer/fast_upscale.py`), L1, Adam.",
            "- ours+D: the same plus the adversarial term and the discriminator's update (SRGAN's D, 64 base channels).",
            "- engine: `engine.render.torch_upscale.meta_upscale` (exact stride-Q convolutions; Q_y*Q_x of them), float32 trunk.",
            "- paper: weight network per output pixel, windows gathered per output pixel (Meta-SR's code), float32 trunk.",
        ]
        
        print(f"wrote {write_section('train', chr(10).join(lines))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
