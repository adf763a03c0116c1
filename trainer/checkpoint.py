"""Checkpoints: tensors in safetensors, everything else in a JSON sidecar.  No pickle.

``step_000500.ckpt.safetensors`` holds the generator, its running average when the
run keeps one (``E.``, ``trainer.ema``), discriminator and optimiser moments (and the
torch RNG state as a byte tensor); ``step_000500.ckpt.json`` holds
the step, config, normalisation, optimiser hyper-parameters, scheduler state and
metrics.  Loading both gives back exactly the state that was saved, so a resumed run
continues bit for bit.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from engine.errors import PathError


class CheckpointError(PathError):
    """A training checkpoint is unreadable or not one of ours."""


def _optim_split(opt: torch.optim.Optimizer, prefix: str, tensors: dict) -> dict:
    sd = opt.state_dict()
    for idx, st in sd["state"].items():
        for k, v in st.items():
            tensors[f"{prefix}.state.{idx}.{k}"] = v if torch.is_tensor(v) else torch.tensor(v)
    return {"param_groups": sd["param_groups"], "state_keys": {str(i): sorted(st) for i, st in sd["state"].items()}}


def _optim_join(meta: dict, prefix: str, tensors: dict) -> dict:
    state = {int(i): {k: tensors[f"{prefix}.state.{i}.{k}"] for k in keys} for i, keys in meta["state_keys"].items()}
    return {"state": state, "param_groups": meta["param_groups"]}


def _atomic(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path, *, step: int, G, D=None, opt_g=None, opt_d=None, sched_g=None, sched_d=None, meta: dict | None = None,
                    ema=None) -> Path:
    """Write ``path`` (``*.ckpt.safetensors``) and its ``.json`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {f"G.{k}": v.detach().cpu().contiguous() for k, v in G.state_dict().items()}
    info = {"format": "metazoom-checkpoint/1", "step": int(step), **(meta or {})}
    if ema is not None:
        tensors.update({f"E.{k}": v.detach().cpu().contiguous() for k, v in ema.state_dict().items()})
        info["ema"] = {"decay": ema.decay, "updates": ema.updates}
    if D is not None:
        tensors.update({f"D.{k}": v.detach().cpu().contiguous() for k, v in D.state_dict().items()})
    if opt_g is not None:
        info["opt_g"] = _optim_split(opt_g, "opt_g", tensors)
    if opt_d is not None:
        info["opt_d"] = _optim_split(opt_d, "opt_d", tensors)
    if sched_g is not None:
        info["sched_g"] = sched_g.state_dict()
    if sched_d is not None:
        info["sched_d"] = sched_d.state_dict()
    tensors["rng.torch"] = torch.get_rng_state()
    tensors = {k: v.cpu().contiguous() for k, v in tensors.items()}
    _atomic(path, lambda tmp: save_file(tensors, tmp))
    side = sidecar(path)
    _atomic(side, lambda tmp: Path(tmp).write_text(json.dumps(info, indent=1, default=float)))
    return path


def sidecar(path) -> Path:
    path = Path(path)
    return path.with_name(path.name.replace(".safetensors", ".json"))


def last_checkpoint(run_folder) -> Path | None:
    """The checkpoint a run folder's ``checkpoints/last.txt`` names (None: no checkpoint yet)."""
    last = Path(run_folder) / "checkpoints" / "last.txt"
    return last.parent / last.read_text().strip() if last.is_file() else None


def read_meta(path) -> dict:
    side = sidecar(path)
    try:
        meta = json.loads(side.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(side, f"unreadable checkpoint sidecar ({e})") from None
    if meta.get("format") != "metazoom-checkpoint/1":
        raise CheckpointError(side, "not a MetaZoom training checkpoint")
    return meta


def load_checkpoint(path, *, G, D=None, opt_g=None, opt_d=None, sched_g=None, sched_d=None, restore_rng: bool = True,
                    ema=None) -> dict:
    """Restore what is given from ``path``; returns the JSON metadata.  ``ema`` (a
    ``trainer.ema.WeightAverage``) gets the saved average, or starts from the restored
    generator when the checkpoint has none (an average turned on mid-run)."""
    path = Path(path)
    meta = read_meta(path)
    try:
        tensors = load_file(str(path))
    except Exception as e:  # noqa: BLE001  (safetensors raises several kinds)
        raise CheckpointError(path, f"unreadable tensors ({e})") from None

    def part(prefix):
        return {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}

    saved = part("G")
    fitted = fit_generator(G, saved)
    G.load_state_dict(fitted)
    if ema is not None:
        averaged = part("E")
        if averaged:
            ema.load_state_dict(fit_generator(ema.model, averaged), int(meta.get("ema", {}).get("updates", 0)))
        else:
            ema.load_state_dict(G.state_dict(), 0)
    if D is not None and any(k.startswith("D.") for k in tensors):
        D.load_state_dict(part("D"))
    if opt_g is not None and "opt_g" in meta:
        state = _optim_join(meta["opt_g"], "opt_g", tensors)
        opt_g.load_state_dict(state if fitted is saved else _regrow_optimizer(state, G, saved))
    if opt_d is not None and "opt_d" in meta:
        opt_d.load_state_dict(_optim_join(meta["opt_d"], "opt_d", tensors))
    if sched_g is not None and "sched_g" in meta:
        sched_g.load_state_dict(meta["sched_g"])
    if sched_d is not None and "sched_d" in meta:
        sched_d.load_state_dict(meta["sched_d"])
    if restore_rng and "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"])
    return meta


def _grown(G, saved: dict) -> bool:
    target = G.state_dict()
    return set(target) != set(saved) or any(tuple(v.shape) != tuple(saved[k].shape) for k, v in target.items() if k in saved)


def fit_generator(G, saved: dict) -> dict:
    """``saved`` as ``G`` loads it: the same dict, or a grown copy (``engine.networks.meta_srgan.grow_state``)
    when ``G`` is the same Meta-SRGAN with a neck or a fourth weight-network input added."""
    if not _grown(G, saved):
        return saved
    from engine.networks.meta_srgan import MetaSRGAN, grow_state

    if not isinstance(G, MetaSRGAN):
        G.load_state_dict(saved)  # raises torch's own precise mismatch message
    return grow_state(G, saved)


def _regrow_optimizer(state: dict, G, saved: dict) -> dict:
    """The optimiser state of the network before it grew, for the grown one: moments
    follow their parameter by name (new parameters start without any, as Adam's first
    step gives them), and a grown tensor's moments are zero-padded like its weights.
    Resuming a grown run this way keeps what Adam learnt about every old weight."""
    names = [n for n, _ in G.named_parameters()]
    old = [n for n in names if n in saved]  # the order the old optimiser saw them in
    params = dict(G.named_parameters())
    moved = {}
    for i, st in state["state"].items():
        name = old[int(i)]
        p = params[name]
        fitted = {}
        for k, v in st.items():
            if torch.is_tensor(v) and v.dim() and tuple(v.shape) != tuple(p.shape):
                pad = torch.zeros(p.shape, dtype=v.dtype)
                pad[tuple(slice(0, n) for n in v.shape)] = v
                v = pad
            fitted[k] = v
        moved[names.index(name)] = fitted
    groups = [dict(g, params=list(range(len(names)))) for g in state["param_groups"]]
    if len(groups) != 1:
        raise ValueError("a grown network resumes from a single parameter group only")
    return {"state": moved, "param_groups": groups}


def generator_state(path, averaged: bool = True) -> tuple[dict, dict]:
    """Just the generator's tensors and the metadata (for export and evaluation): the
    running average of its weights when the checkpoint holds one (what the run's own
    checks scored) unless ``averaged`` is False, else the trained weights."""
    meta = read_meta(path)
    tensors = load_file(str(path))
    prefix = "E." if averaged and any(k.startswith("E.") for k in tensors) else "G."
    # which of the two the caller got, for the lineage and labels (not saved back)
    meta = {**meta, "weights_taken": "running average" if prefix == "E." else "trained"}
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}, meta


def average_checkpoints(paths, output) -> Path:
    """The generator's weights averaged over ``paths`` (checkpoints of one run, a few
    hundred updates apart), written as a checkpoint that ``export`` and ``eval`` take.

    At a constant learning rate the weights wander around a minimum from one checkpoint
    to the next (the held-out x2 check moves by ~0.1 dB between checks 1000 updates
    apart); their mean sits nearer its centre (Polyak averaging; Izmailov et al. 2018,
    SWA).  BatchNorm's running statistics are averaged like the weights, integer
    counters taken from the last checkpoint.  No optimiser state: this ends a run."""
    paths = [Path(p) for p in paths]
    if len(paths) < 2:
        raise ValueError("averaging needs two checkpoints or more")
    metas = [read_meta(p) for p in paths]
    saved = [load_file(str(p)) for p in paths]
    if any(m["arch"] != metas[-1]["arch"] for m in metas):
        raise ValueError("the checkpoints hold different networks: average only checkpoints of one run")
    # the trained weights, and the running averages where every checkpoint has one
    # (each averaged with its own kind, so export can still offer both)
    prefixes = ["G."] + (["E."] if all(any(k.startswith("E.") for k in t) for t in saved) else [])
    tensors = {}
    for prefix in prefixes:
        states = [{k: v for k, v in t.items() if k.startswith(prefix)} for t in saved]
        if any(set(st) != set(states[-1]) for st in states):
            raise ValueError("the checkpoints hold different networks: average only checkpoints of one run")
        for k, last in states[-1].items():
            tensors[k] = (torch.stack([st[k].double() for st in states]).mean(0).to(last.dtype)
                          if last.is_floating_point() else last).contiguous()
    info = {**metas[-1], "averaged": [p.name for p in paths]}
    for key in ("opt_g", "opt_d", "sched_g", "sched_d"):
        info.pop(key, None)
    if "E." not in prefixes:
        info.pop("ema", None)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    _atomic(output, lambda tmp: save_file(tensors, tmp))
    _atomic(sidecar(output), lambda tmp: Path(tmp).write_text(json.dumps(info, indent=1, default=float)))
    return output
