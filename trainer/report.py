"""``metazoom-train eval``: every model given and bicubic on the held-out crops.

Writes into ``--out``: ``results.json`` (per scale, per method: PSNR/SSIM mean, std,
n), ``results.md`` (the per-scale table and a Table-1-style x2 summary with
parameter counts), ``psnr_ssim_vs_scale.png`` and ``samples_x2.png`` (figure-7
style: ground truth, bicubic, each model).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from engine import networks
from engine.geometry import scale_label
from engine.upscaler import Upscaler, cpu_has_bf16
from engine.weights import DEFAULT_NORMALIZATION, WeightsInfo, load_weights

from . import checkpoint as ckpt
from .config import load_config
from .data.dataset import load_crops
from .data.scales import is_pair, parse_scale_key, parse_scales, scale_key
from .evaluate import EnginePredictor, ModelPredictor, bicubic_predict, score, test_pair
from .metrics import DATA_RANGE


def load_model(path):
    """(predictor, parameter count, description) for a weights file or a checkpoint."""
    path = Path(path)
    if path.name.endswith(".ckpt.safetensors"):
        state, meta = ckpt.generator_state(path)
        arch, norm = meta["arch"], meta["normalization"]
        model = networks.make(arch)
        model.load_state_dict(state)
        model.eval()
        info = WeightsInfo(arch=arch, normalization={**DEFAULT_NORMALIZATION, **norm}, training={"trained": True})
        desc = f"checkpoint {path.name} (update {meta['step']})"
    else:
        model, info = load_weights(path, warn_untrained=False)
        desc = f"weights {path.name} ({'trained' if info.trained else 'UNTRAINED'})"
    n_params = sum(p.numel() for p in model.parameters())
    if info.arch["name"] == "meta_srgan":
        return EnginePredictor(Upscaler(model, info, torch.device("cpu"))), n_params, desc
    pred = ModelPredictor(model, info.normalization["mean"], info.normalization["std"], cpu_has_bf16(), float(getattr(model, "scale", 2)))
    return pred, n_params, desc


def _fmt(s: dict | None, key: str, digits: int) -> str:
    if s is None:
        return "-"
    return f"{s[key + '_mean']:.{digits}f} ± {s[key + '_std']:.{digits}f}"


def write_markdown(results: dict, params: dict, descs: dict, n_crops: int) -> str:
    methods = ["bicubic", *params]
    lines = [
        f"Held-out test crops: {n_crops} (128x128 maximal informational crops; HR = centre n x n with n = r*m exact, "
        "LR = antialiased bicubic downscale; for ROWSxCOLS pairs with one factor >= 1.5x the other, slab averaging along the coarser axis). PSNR in dB and SSIM (Gaussian window, sigma 1.5, Wang 2004) on unit-range "
        f"intensities clipped to [0, 1], data range {DATA_RANGE:g}. Mean ± std over crops.",
        "",
        "| scale | " + " | ".join(f"{m} PSNR | {m} SSIM" for m in methods) + " |",
        "|---|" + "---|---|" * len(methods),
    ]
    for r, row in results.items():
        cells = []
        for m in methods:
            cells += [_fmt(row.get(m), "psnr", 2), _fmt(row.get(m), "ssim", 4)]
        gain = ""
        lines.append(f"| {scale_label(r)} | " + " | ".join(cells) + " |" + gain)
    x2 = results.get("2") or results.get("2.0")
    if x2:
        lines += ["", "x2 summary (Table-1 style):", "", "| | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
        lines.append("| PSNR mean (dB) | " + " | ".join(f"{x2[m]['psnr_mean']:.2f}" if m in x2 else "-" for m in methods) + " |")
        lines.append("| PSNR std | " + " | ".join(f"{x2[m]['psnr_std']:.3f}" if m in x2 else "-" for m in methods) + " |")
        lines.append("| SSIM mean | " + " | ".join(f"{x2[m]['ssim_mean']:.4f}" if m in x2 else "-" for m in methods) + " |")
        lines.append("| SSIM std | " + " | ".join(f"{x2[m]['ssim_std']:.4f}" if m in x2 else "-" for m in methods) + " |")
        lines.append("| #parameters | - | " + " | ".join(f"{params[m] / 1e6:.3f}M" for m in params) + " |")
    lines += ["", "Models:"] + [f"- {m}: {d}" for m, d in descs.items()]
    return "\n".join(lines) + "\n"


def plot_vs_scale(results: dict, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    methods = sorted({m for row in results.values() for m in row}, key=lambda m: (m != "bicubic", m))
    square = [r for r in results if not is_pair(parse_scale_key(r))]  # pairs have no place on one scale axis
    for m in methods:
        rs = [float(r) for r in square if m in results[r]]
        for ax, key in zip(axes, ("psnr", "ssim")):
            ys = [results[r][m][f"{key}_mean"] for r in square if m in results[r]]
            ax.plot(rs, ys, "o-" if len(rs) > 1 else "s", label=m)
    axes[0].set_ylabel("PSNR (dB)")
    axes[1].set_ylabel("SSIM")
    for ax in axes:
        ax.set_xlabel("scale")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    path = out / "psnr_ssim_vs_scale.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def sample_grid(crops, preds: dict, out: Path, scale: float = 2.0, n_rows: int = 2) -> Path:
    """Figure-7 style: ground truth, bicubic and each model for a few crops."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .metrics import psnr

    cols = {"ground truth": None, "bicubic": bicubic_predict, **{k: v for k, v in preds.items() if getattr(v, "supports", lambda r: True)(scale)}}
    picks = np.linspace(0, len(crops) - 1, n_rows).round().astype(int) if len(crops) > 1 else [0]
    fig, axes = plt.subplots(len(picks), len(cols), figsize=(2.4 * len(cols), 2.6 * len(picks)), squeeze=False)
    for row, ci in enumerate(picks):
        lr, hr = test_pair(crops[ci], scale)
        for col, (name, fn) in enumerate(cols.items()):
            img = hr if fn is None else np.clip(fn(lr, scale), 0, 1)
            ax = axes[row][col]
            ax.imshow(np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            title = name if fn is None else f"{name}\n{psnr(img, np.clip(hr, 0, 1)):.2f} dB"
            ax.set_title(title, fontsize=8)
    fig.suptitle(f"x{scale:g} on held-out crops", fontsize=9)
    fig.tight_layout()
    path = out / f"samples_x{scale:g}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_eval(args) -> dict:
    cfg = load_config(args.config, args.set)
    models = {}
    for spec in args.model:
        if "=" not in spec:
            raise ValueError(f"--model takes NAME=PATH, got {spec!r}")
        name, path = spec.split("=", 1)
        models[name] = path
    return evaluate(cfg, models, parse_scales(args.scales), Path(args.out))


def evaluate(cfg: dict, models: dict, scales, out: Path, quiet: bool = False) -> dict:
    """Bicubic and every ``models`` entry (name -> weights or checkpoint) on the
    held-out crops of ``cfg``'s ``data.test``, written into ``out`` (see above)."""
    d = cfg["data"]
    if not d["test"]:
        raise ValueError("the config names no held-out data (data.test)")
    crops = load_crops(d["test"], d["root"], d["crop"], d["min_foreground"]).images
    preds, params, descs = {}, {}, {}
    for name, path in models.items():
        preds[name], params[name], descs[name] = load_model(path)
    results: dict = {}
    for name, fn in [("bicubic", bicubic_predict), *preds.items()]:
        for r, sc in score(fn, crops, scales).items():
            results.setdefault(scale_key(r), {})[name] = sc.summary()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"data_range": DATA_RANGE, "n_crops": len(crops), "parameters": params, "models": descs, "results": results}, indent=1))
    md = write_markdown(results, params, descs, len(crops))
    (out / "results.md").write_text(md)
    plot_vs_scale(results, out)
    sample_grid(crops, preds, out, 2.0)
    if not quiet:
        print(md)
    return results
