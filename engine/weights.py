"""Weights files: ``NAME.safetensors`` + ``NAME.json`` sidecar.  Never pickle.

The sidecar says what the tensors are, so loading needs no config:

```json
{"format": "metazoom-weights/1",
 "arch": {"name": "meta_srgan", "args": {...}},
 "normalization": {"mean": 0.37, "std": 0.117, "intensity": "..."},
 "scale_range": [1.1, 4.0],
 "training": {"trained": true, "data": [...], "steps": 1234, ...},
 "metrics": {...},
 "sha256": "<sha256 of the .safetensors file>"}
```
Loading checks the hash (corrupt or truncated files), the format, that the
architecture is known, and that the tensors fit it exactly (foreign or mismatched files).
Nothing in a sidecar is trusted before it is checked: its size and nesting are bounded
before it is parsed, every architecture argument is checked against ``ARCH_BOUNDS``
before anything is built, the network is first built on PyTorch's ``meta`` device
(no memory) and compared with the file's tensors, and ``scale_range`` must be a sane
pair of zooms.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from . import networks
from .errors import UntrainedWeightsWarning, WeightsError

FORMAT = "metazoom-weights/1"
BUNDLED = Path(__file__).resolve().parent.parent / "resources" / "weights" / "meta_srgan.safetensors"

#: Default intensity normalisation (the paper's BraTS mean/std of [0, 1] images).
DEFAULT_NORMALIZATION = {
    "mean": 0.370,
    "std": 0.117,
    "intensity": "per-slice robust range: (x - p0.5) / (p99.5 - p0.5), then (v - mean) / std",
    "low_percentile": 0.5,
    "high_percentile": 99.5,
}


#: A sidecar is a few kB; parsing is bounded in size and in nesting.
MAX_SIDECAR_BYTES = 1 << 20
MAX_SIDECAR_DEPTH = 32
#: Accepted values of the architecture arguments (integers: inclusive ranges); any
#: other argument is refused.  Generous for a 2D grey-value network, far from what
#: would exhaust memory or run for hours while the network is built.
ARCH_BOUNDS: dict[str, tuple] = {
    "channels": (1, 512),
    "blocks": (0, 64),
    "in_channels": (1, 4),
    "out_channels": (1, 4),
    "hidden": (1, 4096),
    "neck": (0, 16),  # True/False count as 1/0
    "scale": (1, 8),
    "res_scale": (0.0, 10.0),
}
_FLAGS = {"residual_bicubic", "scale_gate", "aspect_input", "zero_init"}
#: The zooms a sidecar may claim its network was trained for.
SCALE_LIMITS = (1.0, 32.0)


def _json_depth_ok(text: str, limit: int) -> bool:
    """True when brackets nest at most ``limit`` deep (strings skipped), checked without recursion."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def check_arch(side: Path, arch: dict) -> None:
    """Every architecture argument known and within ``ARCH_BOUNDS``; raises ``WeightsError``."""
    args = arch.get("args", {})
    if not isinstance(args, dict):
        raise WeightsError(side, f"arch.args must be a JSON object, got {type(args).__name__}")
    for key, value in args.items():
        if key in _FLAGS:
            if not isinstance(value, bool):
                raise WeightsError(side, f"arch.args.{key} must be true or false, got {value!r}")
            continue
        if key not in ARCH_BOUNDS:
            raise WeightsError(side, f"arch.args.{key} is not an argument MetaZoom knows ({', '.join(sorted(ARCH_BOUNDS) + sorted(_FLAGS))})")
        lo, hi = ARCH_BOUNDS[key]
        if isinstance(lo, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and lo <= value <= hi
        else:
            ok = isinstance(value, int) and (key == "neck" or not isinstance(value, bool)) and lo <= int(value) <= hi
        if not ok:
            raise WeightsError(side, f"arch.args.{key} = {value!r} is outside {lo}..{hi}")


@dataclass
class WeightsInfo:
    """The sidecar, parsed."""

    arch: dict
    normalization: dict = field(default_factory=lambda: dict(DEFAULT_NORMALIZATION))
    scale_range: tuple[float, float] = (1.1, 4.0)
    training: dict = field(default_factory=lambda: {"trained": False})
    metrics: dict = field(default_factory=dict)
    sha256: str = ""
    path: Path | None = None

    @property
    def trained(self) -> bool:
        return bool(self.training.get("trained", False))

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "arch": self.arch,
            "normalization": self.normalization,
            "scale_range": list(self.scale_range),
            "training": self.training,
            "metrics": self.metrics,
            "sha256": self.sha256,
        }


def sidecar_path(path) -> Path:
    return Path(path).with_suffix(".json")


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; weights are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_weights(model: torch.nn.Module, path, info: WeightsInfo) -> Path:
    """Write ``path`` (.safetensors) and its JSON sidecar atomically; returns the path."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"weights files end in .safetensors, got {path}")
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    blob = st_save(tensors, metadata={"format": FORMAT, "arch": info.arch["name"]})
    info.sha256 = hashlib.sha256(blob).hexdigest()
    _atomic_write(path, blob)
    _atomic_write(sidecar_path(path), json.dumps(info.to_json(), indent=2).encode())
    info.path = path
    return path


def read_info(path) -> WeightsInfo:
    """Parse and validate the sidecar of ``path`` (no tensors are read)."""
    path = Path(path)
    side = sidecar_path(path)
    if not path.is_file():
        raise WeightsError(path, "weights file not found")
    if not side.is_file():
        raise WeightsError(path, f"its sidecar {side.name} is missing; a weights file needs both")
    try:
        size = side.stat().st_size
        if size > MAX_SIDECAR_BYTES:
            raise WeightsError(side, f"sidecar is {size} bytes; a weights sidecar is a few kB (limit {MAX_SIDECAR_BYTES})")
        text = side.read_text()
        if not _json_depth_ok(text, MAX_SIDECAR_DEPTH):
            raise WeightsError(side, f"sidecar nests deeper than {MAX_SIDECAR_DEPTH} levels; not a MetaZoom sidecar")
        meta = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise WeightsError(side, f"sidecar is not valid JSON ({type(e).__name__}: {e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise WeightsError(side, f"not a MetaZoom weights sidecar (format {meta.get('format') if isinstance(meta, dict) else None!r}, expected {FORMAT!r})")
    arch = meta.get("arch")
    if not isinstance(arch, dict) or arch.get("name") not in networks.names():
        raise WeightsError(side, f"unknown architecture {str(arch)[:200]}; known: {networks.names()}")
    check_arch(side, arch)
    try:
        lo, hi = (float(v) for v in meta.get("scale_range", (1.1, 4.0)))
    except (TypeError, ValueError):
        raise WeightsError(side, "scale_range must be two numbers") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and SCALE_LIMITS[0] <= lo <= hi <= SCALE_LIMITS[1]):
        # low == high: a fixed-scale network (the x2 baselines)
        raise WeightsError(side, f"scale_range [{lo}, {hi}] is not two zooms low <= high within {SCALE_LIMITS[0]:g}..{SCALE_LIMITS[1]:g}")
    for key in ("normalization", "training", "metrics"):
        if not isinstance(meta.get(key) or {}, dict):
            raise WeightsError(side, f"{key} must be a JSON object, got {type(meta[key]).__name__}")
    normalization = {**DEFAULT_NORMALIZATION, **(meta.get("normalization") or {})}
    try:  # the Upscaler divides by std and scales every slice with these
        numbers = [float(normalization[k]) for k in ("mean", "std", "low_percentile", "high_percentile")]
    except (TypeError, ValueError):
        numbers = [math.nan]
    if not all(math.isfinite(v) for v in numbers) or numbers[1] <= 0:
        raise WeightsError(side, "normalization needs finite numbers mean, std > 0 and the percentiles")
    return WeightsInfo(
        arch=arch,
        normalization=normalization,
        scale_range=(lo, hi),
        training=meta.get("training") or {"trained": False},
        metrics=meta.get("metrics") or {},
        sha256=str(meta.get("sha256", "")),
        path=path,
    )


def load_weights(path=None, *, expect: str | None = None, warn_untrained: bool = True) -> tuple[torch.nn.Module, WeightsInfo]:
    """Build the network a weights file describes and load its tensors (CPU, eval mode).

    ``expect`` names the architecture the caller needs (e.g. "meta_srgan").
    Raises ``WeightsError`` on any problem; warns loudly on untrained weights.
    """
    path = Path(path) if path is not None else BUNDLED
    info = read_info(path)
    if expect is not None and info.arch["name"] != expect:
        raise WeightsError(path, f"holds a {info.arch['name']!r} network, but a {expect!r} network is needed")
    try:
        blob = path.read_bytes()
    except OSError as e:
        raise WeightsError(path, f"cannot read it ({e.strerror or e})") from None
    digest = hashlib.sha256(blob).hexdigest()
    if digest != info.sha256:
        raise WeightsError(path, f"sha256 mismatch: file is corrupt or truncated (got {digest[:12]}..., sidecar says {info.sha256[:12]}...)")
    try:
        tensors = st_load(blob)
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise WeightsError(path, f"not a readable safetensors file ({e})") from None
    try:  # on the meta device first: shapes without memory, so a mismatch costs nothing
        with torch.device("meta"):
            want = networks.make(info.arch).state_dict()
    except (TypeError, ValueError, RuntimeError) as e:
        raise WeightsError(path, f"architecture arguments do not build a network ({e})") from None
    missing = sorted(set(want) - set(tensors))
    extra = sorted(set(tensors) - set(want))
    if missing or extra:
        raise WeightsError(path, f"tensors do not match the {info.arch['name']} architecture (missing {missing[:3]}, unexpected {extra[:3]})")
    for k, v in tensors.items():
        if tuple(v.shape) != tuple(want[k].shape):
            raise WeightsError(path, f"tensor {k} has shape {tuple(v.shape)}, the architecture needs {tuple(want[k].shape)}")
        if not torch.isfinite(v.float()).all():
            raise WeightsError(path, f"tensor {k} holds NaN or Inf")
    try:
        model = networks.make(info.arch)
    except (TypeError, ValueError, RuntimeError) as e:
        raise WeightsError(path, f"architecture arguments do not build a network ({e})") from None
    model.load_state_dict(tensors)
    model.eval()
    if warn_untrained and not info.trained:
        warnings.warn(
            f"UNTRAINED WEIGHTS: {path.name} was never trained; its 'super-resolution' is the "
            "network's initial state and must not be read as enhancement.",
            UntrainedWeightsWarning,
            stacklevel=2,
        )
    return model, info
