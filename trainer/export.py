"""Checkpoint -> the engine's weights file (``engine.weights``: safetensors + JSON).

The sidecar carries what the viewer and a reader of the file need: the architecture,
the normalisation the network was trained with (mean/std over the training crops,
after the engine's per-slice 0.5-99.5 percentile scaling), the scale range, the
training data and length (including the stage it started from), the held-out
metrics at the exported update, and ``"trained": true``.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import torch

from engine import networks
from engine.weights import DEFAULT_NORMALIZATION, WeightsInfo, save_weights

from . import checkpoint as ckpt
from .data.dataset import Source


def is_weights_file(path) -> bool:
    """An engine weights file (not a training checkpoint)."""
    p = str(path or "")
    return p.endswith(".safetensors") and not p.endswith(".ckpt.safetensors")


def weights_stages(path) -> dict:
    """One lineage entry for a weights file a run started from, holding that file's own
    stages (newest last), or a note when its sidecar cannot be read."""
    from engine.weights import read_info

    try:
        info = read_info(path)
    except Exception as e:  # the run still exports; the lineage says what is missing
        return {"init": str(path), "note": f"sidecar unreadable ({type(e).__name__})"}
    t = info.training
    return {"init": str(path), "sha256": info.sha256, "updates": int(t.get("total_updates", t.get("updates", 0)) or 0),
            "stages": t.get("stages", [])}


def perceptual_network(loss: dict) -> dict:
    """What a GAN stage's perceptual term compared features with: the VGG file, its
    sha256 and the description stored in it (so a reader knows whose features these are)."""
    import hashlib

    path = Path(str(loss.get("vgg_weights") or ""))
    entry: dict = {"file": str(path), "discriminator_channels": loss.get("d_channels")}
    if not path.is_file():
        return {**entry, "note": "file no longer available"}
    entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            entry["source"] = (f.metadata() or {}).get("source", "")
    return entry


def _lineage(meta: dict) -> list[dict]:
    """This stage and the stages it was initialised from (pretraining first)."""
    stages = []
    cur = meta
    seen = set()
    while cur is not None:
        cfg = cur.get("config", {})
        stages.append({
            "name": cfg.get("name", ""),
            "updates": int(cur.get("step", 0)),
            "data": [Source.from_dict(s).describe() for s in cfg.get("data", {}).get("train", [])],
            "losses": {k: cfg.get("loss", {}).get(k) for k in ("l1", "adversarial", "perceptual")},
            "batch": cfg.get("data", {}).get("batch"),
            # fraction of minibatches zoomed differently per axis (thick-slice reformats)
            "anisotropic": cfg.get("data", {}).get("anisotropic", 0.0),
            "lr": cfg.get("optim", {}).get("lr"),
            **({"ema": cfg["train"]["ema"]} if cfg.get("train", {}).get("ema") else {}),
            **({"perceptual_network": perceptual_network(cfg["loss"])} if cfg.get("loss", {}).get("perceptual") else {}),
            # started from a checkpoint's trained weights or their running average
            **({"started_from_weights": cur["init_weights_taken"]} if cur.get("init_weights_taken") else {}),
        })
        parent = cur.get("resumed_from")  # a run continued from another run's checkpoint
        if parent and parent not in seen:
            seen.add(parent)
            try:
                up = ckpt.read_meta(parent)
            except ckpt.CheckpointError:
                stages[-1]["resumed_from"] = f"{parent} (no longer available)"
                break
            stages[-1]["updates"] -= int(up.get("step", 0))
            stages[-1]["resumed_from"] = str(parent)
            cur = up
            continue
        init = cfg.get("model", {}).get("init", "")
        if is_weights_file(init) and init not in seen:
            # started from an engine weights file (e.g. a site's retraining of the bundled
            # weights): its sidecar holds the stages before it, as recorded when the run
            # started (runs before that record read the file now)
            stages.append(cur.get("init_weights") or weights_stages(init))
            break
        if not init or not str(init).endswith(".ckpt.safetensors") or init in seen:
            break
        seen.add(init)
        try:
            cur = ckpt.read_meta(init)
            cur = {**cur, "step": cur.get("step", 0)}
        except ckpt.CheckpointError:
            stages.append({"init": str(init), "note": "checkpoint no longer available"})
            cur = None
    return stages[::-1]


def metrics_from_eval(results_json, model: str) -> dict:
    """One model's held-out scores from ``metazoom-train eval``'s ``results.json``:
    per scale its PSNR/SSIM and bicubic's, plus how they were measured.  A run with
    ``--degradations`` also gives every group x degradation x scale (with zero-fill's
    PSNR and the flat-tissue noise against bicubic's); its ``held_out`` is the first
    group's paper protocol (bicubic), as a plain run's."""
    data = json.loads(Path(results_json).read_text())
    if data.get("degradations"):
        return _degradation_metrics(results_json, data, model)
    per_scale = _per_scale(data["results"], model)
    if not per_scale:
        raise ValueError(f"{results_json} holds no results for a model named {model!r} (it has {sorted(data.get('models', {}))})")
    return {"held_out": per_scale, "crops": data.get("n_crops"), "data_range": data.get("data_range"),
            "protocol": "metazoom-train eval: maximal informational 128x128 crops of held-out slices, "
                        "LR by antialiased bicubic downscaling (ROWSxCOLS pairs with one factor >= 1.5x the other: "
                        "slab averaging along the coarser axis, as thick-slice reformats), Gaussian-window SSIM"}


def _per_scale(results: dict, model: str, extra: bool = False) -> dict:
    per_scale = {}
    for scale, methods in results.items():
        if model not in methods:
            continue
        m, b = methods[model], methods["bicubic"]
        row = {"psnr": round(m["psnr_mean"], 3), "ssim": round(m["ssim_mean"], 4),
               "bicubic_psnr": round(b["psnr_mean"], 3), "bicubic_ssim": round(b["ssim_mean"], 4)}
        if extra and "zerofill" in methods:
            row["zerofill_psnr"] = round(methods["zerofill"]["psnr_mean"], 3)
        if extra and m.get("flat_noise") and b.get("flat_noise"):
            row["noise_vs_bicubic"] = round(m["flat_noise"] / b["flat_noise"], 3)
        per_scale[scale] = row
    return per_scale


def _degradation_metrics(results_json, data: dict, model: str) -> dict:
    groups = {g: {deg: _per_scale(by_scale, model, extra=True) for deg, by_scale in degs.items()}
              for g, degs in data["results"].items()}
    first = next(iter(groups.values()), {})
    if not any(v for degs in groups.values() for v in degs.values()):
        raise ValueError(f"{results_json} holds no results for a model named {model!r} (it has {sorted(data.get('models', {}))})")
    return {"held_out": first.get("bicubic", {}), "by_degradation": groups, "data_range": data.get("data_range"),
            "degradations": data["degradations"],
            "protocol": "metazoom-train eval --degradations: maximal informational 128x128 crops of held-out slices "
                        "(groups: " + ", ".join(groups) + "); LR by each degradation of engine.acquisition; "
                        "held_out: the first group under the paper's bicubic protocol; Gaussian-window SSIM; "
                        "noise_vs_bicubic: std of SR - HR over flat tissue over bicubic's"}


def export(checkpoint, output, note: str = "", metrics: dict | None = None, averaged: bool = True) -> Path:
    """Write ``output`` (.safetensors) + sidecar from a training checkpoint; ``metrics``
    (e.g. ``metrics_from_eval``) replaces the quick held-out check stored with it.
    A run that keeps a running average of its weights exports the average unless
    ``averaged`` is False."""
    state, meta = ckpt.generator_state(checkpoint, averaged)
    took_average = meta["weights_taken"] == "running average"
    arch = meta["arch"]
    model = networks.make(arch)
    model.load_state_dict(state)
    stages = _lineage(meta)
    info = WeightsInfo(
        arch=arch,
        normalization={**DEFAULT_NORMALIZATION, "mean": float(meta["normalization"]["mean"]), "std": float(meta["normalization"]["std"]),
                       "computed_over": f"{meta.get('train_crops', '?')} training crops (128x128 maximal informational crops)"},
        scale_range=(1.1, 4.0) if arch["name"] == "meta_srgan" else (2.0, 2.0),
        training={
            "trained": True,
            "updates": int(meta["step"]),
            "total_updates": sum(s.get("updates", 0) for s in stages),
            "stages": stages,
            "checkpoint": Path(checkpoint).name,
            **({"weights": f"running average of the weights (decay {meta['ema']['decay']:g})"} if took_average else {}),
            **({"mean_of_checkpoints": meta["averaged"]} if "averaged" in meta else {}),
            "hardware": f"{platform.machine()} CPU, torch {torch.__version__}, {meta.get('world', 1)} process(es)",
            "note": note,
        },
        # the run's own check scored the running average when it kept one: it describes
        # these weights only if they are that (and not a mean of checkpoints)
        metrics=metrics if metrics is not None else (
            (meta.get("best") or {}).get("eval", {})
            if meta.get("best", {}).get("step") == meta["step"] and took_average == ("ema" in meta)
            and "averaged" not in meta else {}),
    )
    return save_weights(model, output, info)
