"""Each exported slice enlarged by Meta-SRGAN or bicubic.

Every slice comes out at ``round(r * n)`` pixels per axis (``engine.geometry``),
sampled with the per-axis factor ``n_out / n``, so the field of view is exactly the
source's.  Above Meta-SRGAN's range (x4) the slice is super-resolved at x4 and the
rest is bicubic (as the viewer does, PRODUCT.md), on the same pixel-centre grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import SR_SCALE_MAX, output_size, parse_scale
from ..render.bicubic import bicubic, resample


@dataclass(frozen=True)
class Method:
    """How one output stream enlarges a slice: ``tag`` names it in files ("sr",
    "bicubic"), ``label`` in words."""

    tag: str
    label: str
    sr_scale: float | tuple[float, float] | None  # Meta-SRGAN's part of the zoom (None: bicubic only)


Scale = float | tuple[float, float]


Scale = float | tuple[float, float]


def sr_part(scale: Scale) -> Scale:
    """The zoom Meta-SRGAN runs at: ``scale`` up to x4, x4 above (bicubic does the
    rest), per axis."""
    ry, rx = parse_scale(scale, sr=False)
    ry, rx = min(ry, SR_SCALE_MAX), min(rx, SR_SCALE_MAX)
    return ry if ry == rx else (ry, rx)


def out_shape(shape, scale: Scale) -> tuple[int, int]:
    ry, rx = parse_scale(scale, sr=False)
    return output_size(int(shape[0]), ry), output_size(int(shape[1]), rx)


def zoom_text(scale) -> str:
    """``2.5`` or ``5.49 (rows) x 1.5 (columns)``, for file descriptions."""
    ry, rx = parse_scale(scale, sr=False)
    return f"{ry:g}" if ry == rx else f"{ry:g} (rows) x {rx:g} (columns)"


def enlarge(img: np.ndarray, scale: Scale, upscaler=None, intensity_range=None) -> np.ndarray:
    """``img`` (2D, scan units) at ``round(scale * n)`` pixels per axis, float32
    (``scale`` a number or a pair ``(r_y, r_x)``).

    ``upscaler`` None: bicubic.  Otherwise Meta-SRGAN at ``min(scale, 4)`` with the
    given normalisation, then bicubic from that grid to the final one on an axis
    above x4 (both are pixel-centre grids over the same field of view).
    """
    img = np.asarray(img, dtype=np.float32)
    if upscaler is None:
        return bicubic(img, scale)
    r = sr_part(scale)
    out = upscaler.upscale(img, r, intensity_range)
    if r != scale:
        out = resample(out, out_shape(img.shape, scale))
    return np.asarray(out, dtype=np.float32)


def clean(img: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """NaN/Inf (the readers replace them; this is a guard) -> lo/hi, float32."""
    img = np.asarray(img, dtype=np.float32)
    if not np.all(np.isfinite(img)):
        img = np.nan_to_num(img, nan=lo, posinf=hi, neginf=lo)
    return img


def volume_intensity_range(upscaler, volume) -> tuple[float, float]:
    """Meta-SRGAN's normalisation for a whole volume: the network's percentiles over a
    strided sample (~1M voxels), one range for every slice so slices stay consistent.
    Exports use it unless ``ExportRequest.intensity_range`` says otherwise; the viewer
    can pass it to ``Upscaler.encode`` so the screen shows what an export writes."""
    vox = volume.voxels
    step = max(1, int(round((vox.size / (1 << 20)) ** (1 / 3))))
    return upscaler.intensity_range(np.asarray(vox[::step, ::step, ::step]))
