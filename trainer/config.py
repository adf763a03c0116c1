"""Training configuration: a TOML file, then ``--set key.path=value`` overrides.

Every number of the paper's recipe is here with the paper's value as default.  This
module reads the file into a tree of plain values and refuses unknown keys;
``trainer.run_config.parse_config`` checks the values and types the tree.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

from engine.errors import PathError

DEFAULTS: dict = {
    "name": "meta_srgan",
    "seed": 0,
    "out": "runs/meta_srgan",
    "steps": 1000,
    "model": {"name": "meta_srgan", "args": {"residual_bicubic": True, "scale_gate": True}, "init": ""},
    "data": {
        "root": ".",
        "batch": 8,
        "patches_per_image": 16,
        "max_hr": 96,
        "crop": 128,
        "scales": [],  # empty: the paper's 1.1 .. 4.0 step 0.1
        # fraction of minibatches with a different scale per axis (r_y, r_x), as thick-slice
        # reformats need; 0 = the paper's square zooms only
        "anisotropic": 0.0,
        "min_foreground": 0.1,
        "normalization": "auto",  # "auto" (training crops), "init" (from model.init), or [mean, std]
        "augment": True,
        # how each patch's LR input is made (trainer/data/degrade.py DegradationMix, from
        # engine.acquisition); the default is the paper's: every patch bicubic
        "degrade": {"mix": {"bicubic": 1.0}, "filters": {"none": 1.0, "hamming": 1.0, "hann": 1.0, "tukey": 1.0, "fermi": 1.0},
                    "noise": 0.0, "noise_other": 0.0, "snr": [15.0, 100.0], "profiles": {"box": 1.0, "gaussian": 1.0},
                    "thickness": [0.7, 1.0]},
        "train": [],
        "test": [],
    },
    "optim": {"lr": 1e-4, "lr_d": 1e-4, "betas": [0.9, 0.999], "decay_every": 60000, "decay": 0.8},
    "loss": {"l1": 1.0, "l1_relative": False, "adversarial": 0.001, "perceptual": 0.006, "vgg_weights": "", "d_channels": 64},
    "train": {
        "bf16": "auto",  # "auto": on CPUs with native bf16 (AVX512-BF16/AMX) and on CUDA
        "threads": 0,  # 0: leave torch's default
        "accumulate": 1,  # shards per process (gradient accumulation); N shards == N-process DDP
        "log_every": 10,
        "ckpt_every": 500,
        "eval_every": 500,
        "eval_scales": [1.1, 1.5, 2.0, 2.5, 3.0, 4.0],
        # degradations the run's checks score (engine.acquisition.NAMED); the best
        # checkpoint is the one whose worst gain over bicubic, over all of them, is highest
        "eval_degradations": ["bicubic"],
        "keep": 2,
        "progress": True,
        # decay of a running average of the generator's weights, which the run's checks
        # score and export ships (trainer/ema.py); 0 = off, the paper's recipe
        "ema": 0.0,
        # processes that make minibatches ahead of the step that needs them (0: made in
        # the training process); "auto": on CUDA, whose updates outrun one CPU core making
        # degraded patches, up to 8 (the cores less two); none on the CPU
        "workers": "auto",
    },
}


class ConfigError(PathError, ValueError):
    """A config that cannot be used: an unknown key, a bad value or override.
    ``.path`` is None (the message names the key)."""

    def __init__(self, reason: str):
        super().__init__(None, reason)


#: Tables that a config replaces whole (their keys are names, not settings): a mix of
#: {kspace = 1} must not keep the default's bicubic weight.
WHOLE = ("args", "mix", "filters", "profiles")


def _merge(base: dict, over: dict, where: str = "") -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        key = f"{where}{k}"
        if k not in base:
            raise ConfigError(f"unknown config key {key!r}")
        if isinstance(base[k], dict) and k not in WHOLE and isinstance(v, dict):
            out[k] = _merge(base[k], v, key + ".")
        else:
            out[k] = copy.deepcopy(v)
    return out


def parse_value(text: str):
    """TOML value syntax (numbers, booleans, strings, arrays); bare words are strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(cfg: dict, assignment: str) -> None:
    if "=" not in assignment:
        raise ConfigError(f"overrides look like key.path=value, got {assignment!r}")
    path, text = assignment.split("=", 1)
    keys = path.strip().split(".")
    node = cfg
    for k in keys[:-1]:
        if not isinstance(node.get(k), dict):
            raise ConfigError(f"unknown config key {path!r}")
        node = node[k]
    if keys[-1] not in node and not (keys[-2:-1] and keys[-2] in WHOLE):
        raise ConfigError(f"unknown config key {path!r}")
    node[keys[-1]] = parse_value(text.strip())


def load_config(path=None, overrides=()) -> dict:
    """Defaults <- TOML file <- overrides.  Relative data paths stay relative to
    ``data.root``, which itself is relative to the config file's folder.  A file whose
    top-level ``extends = "other.toml"`` (relative to its folder) starts from that
    file's config instead of the defaults: a stage of a recipe names only what it changes."""
    cfg = _read(Path(path), ()) if path else copy.deepcopy(DEFAULTS)
    for o in overrides:
        apply_override(cfg, o)
    check_choices(cfg)
    return cfg


def _read(path: Path, seen: tuple[Path, ...]) -> dict:
    try:
        user = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: {e}") from None
    base = user.pop("extends", None)
    if base is None:
        cfg = copy.deepcopy(DEFAULTS)
    else:
        base_path = (path.parent / str(base)).resolve()
        if base_path in seen:
            raise ConfigError(f"{path}: extends {base!r}, which extends it back")
        cfg = _read(base_path, (*seen, path.resolve()))
    cfg = _merge(cfg, user)
    root = Path(cfg["data"]["root"])
    if not root.is_absolute():
        cfg["data"]["root"] = str((path.parent / root).resolve())
    return cfg


#: Values a key may take where anything else would silently mean something else.
CHOICES = {("loss", "l1_relative"): (False, True, "scale", "batch")}


def check_choices(cfg: dict) -> None:
    for (section, key), allowed in CHOICES.items():
        value = cfg[section][key]
        # `True in (1,)` is True in Python: compare types too, so 1 or "yes" are refused
        if not any(value == a and type(value) is type(a) for a in allowed):
            names = ", ".join(repr(a).lower() if isinstance(a, bool) else f'"{a}"' for a in allowed)
            raise ConfigError(f"{section}.{key} must be one of {names}; got {value!r}")
