"""The training config, typed: one frozen dataclass per TOML table.

``trainer.config`` reads the file (defaults, ``extends``, ``--set`` overrides, unknown
keys refused) into a tree of plain values; ``parse_config`` checks that tree's values
and gives a ``RunConfig``, which is what ``Trainer`` takes.  ``RunConfig.tree()`` gives
the tree back (a checkpoint's sidecar stores it as JSON).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

from .config import ConfigError, check_choices
from .data.dataset import Source
from .data.degrade import DegradationMix
from .data.scales import parse_scales

#: ``data.normalization``: mean/std of the training crops ("auto"), the starting
#: weights' ("init", needs ``model.init``), or given as (mean, std).
Normalization = Literal["auto", "init"] | tuple[float, float]


@dataclass(frozen=True)
class ModelConfig:
    """``[model]``: the generator (``engine.networks`` registry name and keyword
    arguments) and the weights file or checkpoint it starts from ("" = from scratch)."""

    name: str
    args: dict
    init: str = ""

    @property
    def spec(self) -> dict:
        """The architecture as ``engine.networks.make`` and weights sidecars name it."""
        return {"name": self.name, "args": dict(self.args)}


@dataclass(frozen=True)
class DataConfig:
    """``[data]``: where crops come from and how minibatches are cut from them."""

    root: Path
    batch: int
    patches_per_image: int
    max_hr: int
    crop: int
    scales: tuple[float, ...]  # empty: the paper's 1.1 .. 4.0 (or a fixed-scale network's own)
    anisotropic: float
    min_foreground: float
    normalization: Normalization
    augment: bool
    degrade: DegradationMix
    train: tuple[Source, ...]
    test: tuple[Source, ...]


@dataclass(frozen=True)
class LossConfig:
    """``[loss]``: the weight of each term of the generator's loss (0: the term is off)."""

    l1: float
    l1_relative: bool | Literal["scale", "batch"]
    adversarial: float
    perceptual: float
    vgg_weights: str
    d_channels: int


@dataclass(frozen=True)
class OptimConfig:
    """``[optim]``: Adam for both networks, learning rate x ``decay`` every ``decay_every`` updates."""

    lr: float
    lr_d: float
    betas: tuple[float, float]
    decay_every: int
    decay: float


@dataclass(frozen=True)
class TrainConfig:
    """``[train]``: the loop's precision, threads, logging, checks and checkpoints."""

    bf16: bool | Literal["auto"]
    threads: int
    accumulate: int
    log_every: int
    ckpt_every: int
    eval_every: int
    eval_scales: tuple  # numbers and (r_y, r_x) pairs
    eval_degradations: tuple[str, ...]
    keep: int
    progress: bool
    ema: float
    workers: int | Literal["auto"]


@dataclass(frozen=True)
class RunConfig:
    name: str
    seed: int
    out: Path
    steps: int
    model: ModelConfig
    data: DataConfig
    loss: LossConfig
    optim: OptimConfig
    train: TrainConfig

    def tree(self) -> dict:
        """The config as plain values (the TOML file's layout), JSON-ready."""
        return _plain(self)


def _plain(value):
    if isinstance(value, DegradationMix | Source | ModelConfig | DataConfig | LossConfig | OptimConfig | TrainConfig | RunConfig):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def parse_config(tree: dict) -> RunConfig:
    """``tree`` (from ``trainer.config.load_config``, or ``DEFAULTS`` edited) as a
    ``RunConfig``.  Raises ``ConfigError`` naming the key of a value it cannot use."""
    check_choices(tree)
    m, d, lo, o, t = (tree[k] for k in ("model", "data", "loss", "optim", "train"))
    model = ModelConfig(str(m["name"]), dict(m["args"]), str(m.get("init", "") or ""))
    data = DataConfig(
        root=Path(d["root"]),
        **_checked(d, "data", ints=("batch", "patches_per_image", "max_hr", "crop"), floats=("anisotropic", "min_foreground")),
        scales=_numbers(d["scales"], "data.scales"),
        normalization=_normalization(d["normalization"], model.init),
        augment=bool(d["augment"]),
        degrade=_degrade(d["degrade"]),
        train=_sources(d["train"], "data.train"),
        test=_sources(d["test"], "data.test"),
    )
    loss = LossConfig(
        **_checked(lo, "loss", ints=("d_channels",), floats=("l1", "adversarial", "perceptual")),
        l1_relative=lo["l1_relative"],
        vgg_weights=str(lo["vgg_weights"]),
    )
    betas = _numbers(o["betas"], "optim.betas")
    if len(betas) != 2:
        raise ConfigError(f"optim.betas is [beta1, beta2], got {o['betas']!r}")
    optim = OptimConfig(**_checked(o, "optim", ints=("decay_every",), floats=("lr", "lr_d", "decay")), betas=betas)
    try:
        eval_scales = tuple(parse_scales(t["eval_scales"]))
    except (ValueError, TypeError) as e:
        raise ConfigError(f"train.eval_scales: {e}") from None
    train = TrainConfig(
        **_checked(t, "train", ints=("threads", "accumulate", "log_every", "ckpt_every", "eval_every", "keep"), floats=("ema",)),
        bf16=_bf16(t["bf16"]),
        eval_scales=eval_scales,
        eval_degradations=tuple(str(x) for x in t["eval_degradations"]),
        progress=bool(t["progress"]),
        workers=_workers(t["workers"]),
    )
    return RunConfig(name=str(tree["name"]), seed=_int(tree, "seed", "seed"), out=Path(tree["out"]),
                     steps=_int(tree, "steps", "steps"), model=model, data=data, loss=loss, optim=optim, train=train)


def _checked(table: dict, section: str, ints=(), floats=()) -> dict:
    """The table's whole numbers and numbers by name, each checked (``ConfigError`` names
    ``section.name``)."""
    return {**{n: _int(table, f"{section}.{n}", n) for n in ints}, **{n: _float(table, f"{section}.{n}", n) for n in floats}}


def _int(table: dict, key: str, name: str) -> int:
    v = table[name]
    if isinstance(v, bool) or not isinstance(v, int | float) or int(v) != v:
        raise ConfigError(f"{key} is a whole number, got {v!r}")
    return int(v)


def _float(table: dict, key: str, name: str) -> float:
    v = table[name]
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConfigError(f"{key} is a number, got {v!r}")
    return float(v)


def _numbers(values, key: str) -> tuple[float, ...]:
    if not isinstance(values, list | tuple) or any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
        raise ConfigError(f"{key} is a list of numbers, got {values!r}")
    return tuple(float(v) for v in values)


def _normalization(value, init: str) -> Normalization:
    if value in ("auto", "init"):
        if value == "init" and not init:
            raise ConfigError("data.normalization = 'init' needs model.init")
        return value
    mean_std = _numbers(value, "data.normalization") if not isinstance(value, str) else ()
    if len(mean_std) != 2:
        raise ConfigError(f"data.normalization is 'auto', 'init' or [mean, std], got {value!r}")
    return mean_std


def _degrade(table: dict) -> DegradationMix:
    try:
        return DegradationMix.from_config(table)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def _sources(entries, key: str) -> tuple[Source, ...]:
    try:
        return tuple(e if isinstance(e, Source) else Source.from_dict(e) for e in entries)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{key}: {e}") from None


def _bf16(value) -> bool | Literal["auto"]:
    if isinstance(value, bool):
        return value
    if str(value).lower() != "auto":
        raise ConfigError(f"train.bf16 must be true, false or 'auto', got {value!r}")
    return "auto"


def _workers(value) -> int | Literal["auto"]:
    if value == "auto":
        return "auto"
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"train.workers must be 'auto' or a count >= 0, got {value!r}")
    return value
