"""Provenance: what made an exported image, written into every file.

DICOM gets a one-line ``DerivationDescription`` (``summary``); PNG, TIFF and NIfTI
get the JSON of ``as_dict`` (PNG text chunk, TIFF ImageDescription, NIfTI header
extension), plus a short line where the format has one (NIfTI ``descrip``).
With ``anonymize`` the source's names, paths and descriptions are left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..geometry import scale_key
from .enlarge import zoom_text

SOFTWARE = "MetaZoom"


def software_version() -> str:
    try:
        from importlib.metadata import version

        return version("metazoom")
    except Exception:  # not installed (a source checkout): the version is unknown, not an error
        return "0+unknown"


def weights_record(upscaler) -> dict | None:
    """What identifies the network: file name, sha256, architecture, trained or not."""
    if upscaler is None:
        return None
    from ..models import model_key

    info = upscaler.info
    return {
        "model": model_key(info.path),
        "file": info.path.name if info.path is not None else None,
        "sha256": info.sha256 or None,
        "arch": info.arch.get("name"),
        "trained": bool(info.trained),
    }


@dataclass
class Provenance:
    """One output stream of one export."""

    tag: str  # "sr" or "bicubic"
    scale: float | tuple[float, float]  # a pair (rows, columns) for non-square pixels
    sr_scale: float | tuple[float, float] | None  # Meta-SRGAN's part (None for bicubic)
    #: (pixels in, pixels out) along the image array's two axes, named by ``axes``
    sizes: tuple[tuple[int, int], tuple[int, int]]
    weights: dict | None = None
    intensity_range: tuple[float, float] | None = None
    created: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    source: dict | None = None  # kind, files, description (None when anonymized)
    extra: dict = field(default_factory=dict)
    #: what the array's two axes are: a picture's rows and columns, a volume's i and j
    axes: tuple[str, str] = ("rows", "columns")

    @property
    def method(self) -> str:
        return "meta-srgan" if self.sr_scale is not None else "bicubic"

    def method_words(self) -> str:
        if self.sr_scale is None:
            return f"bicubic interpolation (Keys a=-0.5) x{zoom_text(self.scale)}"
        if self.sr_scale != self.scale:
            return f"Meta-SRGAN super-resolution x{zoom_text(self.sr_scale)} then bicubic to x{zoom_text(self.scale)}"
        return f"Meta-SRGAN super-resolution x{zoom_text(self.scale)}"

    def model_label(self) -> str | None:
        """The model in a few words for a series' description: ``fidelity``,
        ``perceptual``, ``site NAME`` (a site's weights file, its name cut to 20
        characters); None for a bicubic stream."""
        if self.sr_scale is None or not self.weights:
            return None
        key = self.weights.get("model") or "?"
        if key == "site":
            stem = str(self.weights.get("file") or "").removesuffix(".safetensors")
            return f"site {stem[:20]}".strip()
        return key

    def summary(self, rows_axis: int = 0) -> str:
        """One line for DICOM DerivationDescription (ST, <= 1024 characters);
        ``rows_axis``: the array axis that runs down the DICOM image's rows."""
        (rows_in, rows_out), (cols_in, cols_out) = self.sizes[rows_axis], self.sizes[1 - rows_axis]
        parts = [
            f"{self.method_words()} in the image plane",
            f"rows {rows_in} to {rows_out}, columns {cols_in} to {cols_out} pixels (pixel-centre grid, same field of view)",
        ]
        if self.weights:
            w = self.weights
            parts.append(f"model {w.get('model') or '?'}, weights {w.get('file') or '?'} sha256 {w.get('sha256') or '?'}")
            if not w.get("trained"):
                parts.append("UNTRAINED weights")
        parts.append(f"{SOFTWARE} {software_version()}")
        return "; ".join(parts)[:1024]

    def short(self) -> str:
        """<= 80 characters (NIfTI descrip)."""
        model = (self.weights or {}).get("model") if self.sr_scale is not None else None
        s = f"{SOFTWARE} {self.method}{':' + model if model else ''} x{scale_key(self.scale)}"
        if self.weights and self.weights.get("sha256"):
            s += f" w:{self.weights['sha256'][:12]}"
        return s[:80]

    def as_dict(self) -> dict:
        d = {
            "software": f"{SOFTWARE} {software_version()}",
            "created": self.created.isoformat(timespec="seconds"),
            "method": self.method,
            "description": self.method_words(),
            "scale": list(self.scale) if isinstance(self.scale, tuple) else self.scale,
            "sr_scale": list(self.sr_scale) if isinstance(self.sr_scale, tuple) else self.sr_scale,
            "factors": {name: f"{n_out}/{n_in}" for name, (n_in, n_out) in zip(self.axes, self.sizes)},
            "grid": "output pixel i sits at input coordinate (i + 0.5) * n_in / n_out - 0.5 (pixel centres)",
            "weights": self.weights,
            "intensity_range": list(self.intensity_range) if self.intensity_range else None,
        }
        if self.source is not None:
            d["source"] = self.source
        d.update(self.extra)
        return d

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)
