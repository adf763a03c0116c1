"""``metazoom-train eval --degradations ...``: every model and three baselines under each
way a low-resolution image is made.

For every held-out group (``group`` of a ``[[data.test]]`` source: e.g. a whole volume
never trained on, and the end slices of training volumes), every degradation of
``engine.acquisition.NAMED`` asked for and every scale: PSNR and SSIM of bicubic,
Lanczos-3 (Pillow), zero-fill (sinc, ``engine.acquisition.zero_fill``) and each model,
all on the engine's grid, and a noise measure: the standard deviation of SR - HR over
flat tissue (``flat_tissue``), which a network that sharpens noise raises above
bicubic's.  Writes ``results.json``, ``results.md``, ``gain_vs_scale.png`` (PSNR gain
over bicubic against scale, one line per degradation, one panel per model and group)
and ``crops_x2.png`` (one crop per degradation: HR, LR, baselines, models).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.ndimage import binary_erosion, uniform_filter

from engine.acquisition import NAMED, named, zero_fill
from engine.geometry import ZoomGrid, is_pair, parse_scale_key, scale_key, scale_label

from .data.dataset import Source, load_crops
from .evaluate import bicubic_predict, test_pair
from .fidelity_measures import PerceptualDistance, hf_power_ratio
from .metrics import DATA_RANGE, psnr, ssim

BASELINES = ("bicubic", "lanczos3", "zerofill")
DEFAULT_DEGRADATIONS = ("bicubic", "area", "kspace", "kspace-hamming", "kspace-noise")


def lanczos3_predict(lr: np.ndarray, scale) -> np.ndarray:
    """Lanczos-3 (Pillow's, pixel-centre convention as the engine's grid)."""
    from PIL import Image

    H, W = ZoomGrid.make(lr.shape, scale, sr=False).out_shape
    img = Image.fromarray(np.ascontiguousarray(lr, dtype=np.float32), mode="F")
    return np.asarray(img.resize((W, H), Image.Resampling.LANCZOS), dtype=np.float32)


def zerofill_predict(lr: np.ndarray, scale) -> np.ndarray:
    return zero_fill(lr, scale)


BASELINE_FNS = {"bicubic": bicubic_predict, "lanczos3": lanczos3_predict, "zerofill": zerofill_predict}


def flat_tissue(hr: np.ndarray, border: int = 6) -> np.ndarray:
    """Flat tissue of an HR crop: tissue (unit intensity above 0.15) whose 5x5 local
    standard deviation is in the lowest quarter of the tissue's, away from the border.
    Errors there are noise (or its smoothing), not blur of edges."""
    hr = np.asarray(hr, np.float64)
    m = uniform_filter(hr, 5)
    local = np.sqrt(np.maximum(uniform_filter(hr * hr, 5) - m * m, 0.0))
    tissue = binary_erosion(hr > 0.15, iterations=2)
    tissue[:border], tissue[-border:], tissue[:, :border], tissue[:, -border:] = False, False, False, False
    if tissue.sum() < 20:
        return tissue
    return tissue & (local <= np.percentile(local[tissue], 25))


def _group_crops(cfg: dict):
    """{group: crops} from ``data.test``: a source's ``group``, or its description."""
    d = cfg["data"]
    groups: dict = {}
    for s in d["test"]:
        src = s if isinstance(s, Source) else Source.from_dict(s)
        groups.setdefault(src.group or src.describe(), []).append(src)
    return {g: load_crops(srcs, d["root"], d["crop"], d["min_foreground"]).images for g, srcs in groups.items()}


def score_all(predict, crops, scale, degradation, perceptual: PerceptualDistance | None = None) -> dict:
    p, s, noise, hf, lp = [], [], [], [], []
    for i, crop in enumerate(crops):
        lr, hr = test_pair(crop, scale, degradation, i)
        sr = np.clip(predict(lr, scale), 0.0, 1.0)
        hr = np.clip(hr, 0.0, 1.0)
        p.append(psnr(sr, hr))
        s.append(ssim(sr, hr))
        hf.append(hf_power_ratio(sr, hr, scale))
        if perceptual is not None:
            lp.append(perceptual(sr, hr))
        flat = flat_tissue(hr)
        if flat.sum() >= 20:
            noise.append(float(np.std((sr - hr)[flat])))
    p, s = np.asarray(p), np.asarray(s)
    return {"psnr_mean": float(p.mean()), "psnr_std": float(p.std()), "ssim_mean": float(s.mean()),
            "ssim_std": float(s.std()), "flat_noise": float(np.mean(noise)) if noise else float("nan"), "n": int(p.size),
            "hf_power": float(np.nanmean(hf)) if np.isfinite(hf).any() else float("nan"),
            "perceptual": float(np.mean(lp)) if lp else None}


def evaluate_degradations(cfg: dict, models: dict, scales, degradations, out: Path, quiet: bool = False, vgg=None) -> dict:
    """Every group x degradation x scale x method (see the module's doc); returns the
    results dict written to ``out/results.json``.  ``vgg``: a VGG file for the perceptual
    distance (``trainer.vgg.load_vgg``); None skips it, said so in the tables."""
    from .report import load_model

    if not cfg["data"]["test"]:
        raise ValueError("the config names no held-out data (data.test)")
    for d in degradations:
        named(d)  # unknown names fail before any work
    preds, params, descs = {}, {}, {}
    for name, path in models.items():
        if name in BASELINES:
            raise ValueError(f"model name {name!r} is a baseline's; pick another")
        preds[name], params[name], descs[name] = load_model(path)
    methods = {**BASELINE_FNS, **preds}
    perceptual = None
    if vgg:
        from .vgg import load_vgg

        perceptual = PerceptualDistance(load_vgg(vgg))
    groups = _group_crops(cfg)
    results: dict = {}
    for g, crops in groups.items():
        for deg in degradations:
            for r in scales:
                row = results.setdefault(g, {}).setdefault(deg, {}).setdefault(scale_key(r), {})
                for m, fn in methods.items():
                    if hasattr(fn, "supports") and not fn.supports(r):
                        continue
                    row[m] = score_all(fn, crops, r, deg, perceptual)
                if not quiet:
                    print(f"{g} | {deg} | {scale_label(r)}: " + ", ".join(
                        f"{m} {v['psnr_mean']:.2f}" for m, v in row.items()), flush=True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    doc = {"data_range": DATA_RANGE, "groups": {g: len(c) for g, c in groups.items()}, "parameters": params, "models": descs,
           "vgg": perceptual.vgg.source if perceptual is not None else None,
           "degradations": {d: vars(named(d)) for d in degradations}, "results": results}
    (out / "results.json").write_text(json.dumps(doc, indent=1))
    md = write_markdown(doc)
    (out / "results.md").write_text(md)
    plot_gain(results, list(preds) + ["zerofill"], out)
    crop_figure(groups, preds, degradations, out)
    if not quiet:
        print(md)
    return doc


def write_markdown(doc: dict) -> str:
    res = doc["results"]
    lines = [
        "PSNR (dB) and SSIM on unit-range intensities clipped to [0, 1] (data range 1), mean over crops; "
        "`noise` is the std of SR - HR over flat tissue relative to bicubic's (above 1: noisier than bicubic). "
        "Degradations: " + "; ".join(f"`{d}` = {NAMED[d].label()}" for d in doc["degradations"]) + ".",
        "",
    ]
    for g, per_deg in res.items():
        lines += [f"### {g} ({doc['groups'][g]} crops)", ""]
        for deg, per_scale in per_deg.items():
            methods = list(next(iter(per_scale.values())))
            lines += [f"**{deg}**", "", "| scale | " + " | ".join(methods) + " | " + " | ".join(f"{m} gain" for m in methods if m != "bicubic") + " | "
                      + " | ".join(f"{m} noise" for m in methods if m != "bicubic") + " |",
                      "|---|" + "---|" * (3 * len(methods) - 2)]
            for r, row in per_scale.items():
                b = row["bicubic"]
                cells = [f"{row[m]['psnr_mean']:.2f} / {row[m]['ssim_mean']:.4f}" if m in row else "-" for m in methods]
                gains = [f"{row[m]['psnr_mean'] - b['psnr_mean']:+.2f} / {row[m]['ssim_mean'] - b['ssim_mean']:+.4f}" if m in row else "-"
                         for m in methods if m != "bicubic"]
                noise = [f"{row[m]['flat_noise'] / b['flat_noise']:.2f}" if m in row and b["flat_noise"] > 0 else "-"
                         for m in methods if m != "bicubic"]
                lines.append(f"| {scale_label(parse_scale_key(r))} | " + " | ".join(cells + gains + noise) + " |")
            lines.append("")
            lines += _spectral_table(per_scale, methods, doc.get("vgg"))
    vgg = doc.get("vgg")
    lines += [f"Perceptual distance: LPIPS-style, unweighted, on {vgg}." if vgg else
              "Perceptual distance: skipped (no VGG file given: `--vgg FILE`).", "",
              "Models:"] + [f"- {m}: {d}" + (f" ({doc['parameters'][m]:,} parameters)" if m in doc.get("parameters", {}) else "")
                            for m, d in doc["models"].items()]
    return "\n".join(lines) + "\n"


def _spectral_table(per_scale: dict, methods, vgg) -> list[str]:
    """High-frequency power of SR over HR (1 right, < 1 blur, > 1 invented texture) and,
    with a VGG file, the perceptual distance (lower is closer), per scale and method."""
    head = "| scale | " + " | ".join(f"{m} HF power" for m in methods)
    if vgg:
        head += " | " + " | ".join(f"{m} perceptual" for m in methods)
    lines = [head + " |", "|---|" + "---|" * (len(methods) * (2 if vgg else 1))]
    for r, row in per_scale.items():
        cells = [f"{row[m]['hf_power']:.2f}" if m in row else "-" for m in methods]
        if vgg:
            cells += [f"{row[m]['perceptual']:.4f}" if m in row and row[m].get("perceptual") is not None else "-" for m in methods]
        lines.append(f"| {scale_label(parse_scale_key(r))} | " + " | ".join(cells) + " |")
    return lines + [""]


def plot_gain(results: dict, methods, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(results)
    fig, axes = plt.subplots(len(groups), len(methods), figsize=(4.2 * len(methods), 3.3 * len(groups)), squeeze=False)
    for gi, g in enumerate(groups):
        for mi, m in enumerate(methods):
            ax = axes[gi][mi]
            for deg, per_scale in results[g].items():
                rs = [r for r in per_scale if not is_pair(parse_scale_key(r)) and m in per_scale[r]]
                ax.plot([float(r) for r in rs], [per_scale[r][m]["psnr_mean"] - per_scale[r]["bicubic"]["psnr_mean"] for r in rs],
                        "o-", ms=3, label=deg)
            ax.axhline(0, color="k", lw=0.6)
            ax.set_title(f"{m}: {g}", fontsize=8)
            ax.set_xlabel("scale")
            ax.set_ylabel("PSNR gain over bicubic (dB)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=6)
    fig.tight_layout()
    path = out / "gain_vs_scale.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def crop_figure(groups: dict, preds: dict, degradations, out: Path, scale: float = 2.0) -> Path:
    """One held-out crop per degradation at x``scale``: HR, LR, the baselines, each model
    (a 64x64 detail, nearest-neighbour display, PSNR of the whole crop)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    crops = next(iter(groups.values()))
    crop = crops[len(crops) // 2]
    cols = ["HR", "LR", *BASELINES, *preds]
    fig, axes = plt.subplots(len(degradations), len(cols), figsize=(1.9 * len(cols), 2.1 * len(degradations)), squeeze=False)
    for ri, deg in enumerate(degradations):
        lr, hr = test_pair(crop, scale, deg, len(crops) // 2)
        y0 = max(hr.shape[0] // 2 - 32, 0)
        x0 = max(hr.shape[1] // 2 - 32, 0)
        for ci, name in enumerate(cols):
            ax = axes[ri][ci]
            if name == "HR":
                img, title = hr, "HR"
            elif name == "LR":
                img, title = np.kron(lr, np.ones((2, 2)))[: hr.shape[0], : hr.shape[1]], f"LR ({deg})"
            else:
                fn = BASELINE_FNS.get(name) or preds[name]
                img = np.clip(fn(lr, scale), 0, 1)
                title = f"{name} {psnr(img, np.clip(hr, 0, 1)):.2f}"
            ax.imshow(np.clip(img, 0, 1)[y0 : y0 + 64, x0 : x0 + 64], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title, fontsize=7)
    fig.tight_layout()
    path = out / f"crops_x{scale:g}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
