"""What gets exported: which slices, and each one enlarged by Meta-SRGAN or bicubic.

Every slice comes out at ``round(r * n)`` pixels per axis (``engine.geometry``),
sampled with the per-axis factor ``n_out / n``, so the field of view is exactly the
source's.  Above Meta-SRGAN's range (x4) the slice is super-resolved at x4 and the
rest is bicubic (as the viewer does, PRODUCT.md), on the same pixel-centre grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import SR_SCALE_MAX, SR_SCALE_MIN, output_size, parse_scale
from ..intensity import checked_range
from ..render.bicubic import bicubic, resample
from .errors import ExportRequestError

#: Largest output slice side we will allocate (pixels).
MAX_SIDE = 16384


def parse_slices(text: str):
    """``"7"`` -> 7; ``"A:B"`` -> (A, B) half-open with either end optional (None)."""
    text = str(text).strip()
    try:
        if ":" not in text:
            return int(text)
        a, b = text.split(":", 1)
        return (int(a) if a.strip() else None, int(b) if b.strip() else None)
    except ValueError:
        raise ValueError(f"slices must be N or A:B (0-based, B excluded), got {text!r}") from None


def slice_indices(slices, n: int) -> range:
    """The slice indices of ``slices`` (None, an index, or (start, stop)) among ``n``."""
    if slices is None:
        return range(n)
    if isinstance(slices, (int, np.integer)):
        start, stop = int(slices), int(slices) + 1
    else:
        start, stop = slices
        start = 0 if start is None else int(start)
        stop = n if stop is None else int(stop)
    if not (0 <= start < stop <= n):
        raise ExportRequestError(None, f"slices {start}:{stop} are not inside the {n} slices available (0..{n - 1})")
    return range(start, stop)


@dataclass(frozen=True)
class Method:
    """How one output stream enlarges a slice: ``tag`` names it in files ("sr",
    "bicubic"), ``label`` in words."""

    tag: str
    label: str
    sr_scale: float | tuple[float, float] | None  # Meta-SRGAN's part of the zoom (None: bicubic only)


Scale = float | tuple[float, float]


def check_scale(scale, sr: bool) -> Scale:
    """A number, or a pair ``(r_y, r_x)`` for a slice whose pixels are not square (a
    reformatted plane of a thick-slice scan, exported at its true aspect as the viewer
    shows it).  Returns a float when both axes agree, else the pair."""
    try:
        ry, rx = parse_scale(scale, sr=False)
    except (TypeError, ValueError):
        raise ExportRequestError(None, f"scale must be a positive number or a pair (rows, columns), got {scale!r}") from None
    if not (np.isfinite(ry) and np.isfinite(rx)) or min(ry, rx) <= 0:
        raise ExportRequestError(None, f"scale must be positive, got {scale!r}")
    if sr and min(ry, rx) <= SR_SCALE_MIN:
        raise ExportRequestError(
            None, f"Meta-SRGAN enlarges (scale above {SR_SCALE_MIN:g} on both axes); x{zoom_text(scale)} needs the bicubic method"
        )
    return ry if ry == rx else (ry, rx)


def zoom_text(scale) -> str:
    """``2.5`` or ``5.49 (rows) x 1.5 (columns)``, for file descriptions."""
    ry, rx = parse_scale(scale, sr=False)
    return f"{ry:g}" if ry == rx else f"{ry:g} (rows) x {rx:g} (columns)"


def check_values(window, intensity_range) -> None:
    """Refuse a window or a Meta-SRGAN intensity range that would divide by zero."""
    if window is not None:
        try:
            ok = np.isfinite(float(window.center)) and np.isfinite(float(window.width)) and float(window.width) > 0
        except (AttributeError, TypeError, ValueError):
            ok = False
        if not ok:
            raise ExportRequestError(None, f"the window needs a finite center and a positive width, got {window!r}")
    if intensity_range is not None:
        try:
            checked_range(intensity_range)  # the Upscaler's own rule, checked before any work
        except ValueError as e:
            raise ExportRequestError(None, str(e)) from None


def sr_part(scale: Scale) -> Scale:
    """The zoom Meta-SRGAN runs at: ``scale`` up to x4, x4 above (bicubic does the
    rest), per axis."""
    ry, rx = parse_scale(scale, sr=False)
    ry, rx = min(ry, SR_SCALE_MAX), min(rx, SR_SCALE_MAX)
    return ry if ry == rx else (ry, rx)


def out_shape(shape, scale: Scale) -> tuple[int, int]:
    ry, rx = parse_scale(scale, sr=False)
    return output_size(int(shape[0]), ry), output_size(int(shape[1]), rx)


def check_size(shape, scale: Scale) -> tuple[int, int]:
    out = out_shape(shape, scale)
    if max(out) > MAX_SIDE:
        raise ExportRequestError(None, f"x{zoom_text(scale)} would make {out[0]}x{out[1]} pixel slices, above the {MAX_SIDE} pixel limit")
    return out


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


def stored_index(volume, plane: str, index: int) -> int | None:
    """The stored slice ``k`` that display slice ``index`` of ``plane`` shows, when the
    plane cuts along the stored slices (so a NIfTI/DICOM export of "the current slice"
    is possible); None when the plane is another (PNG/TIFF only)."""
    from nibabel.orientations import io_orientation

    normal_world = {"axial": 2, "coronal": 1, "sagittal": 0}[plane]
    ornt = io_orientation(volume.affine)  # per voxel axis: (world axis, +1/-1)
    if int(ornt[2, 0]) != normal_world:
        return None
    n = volume.shape[2]
    return int(index) if ornt[2, 1] > 0 else n - 1 - int(index)


def volume_intensity_range(upscaler, volume) -> tuple[float, float]:
    """Meta-SRGAN's normalisation for a whole volume: the network's percentiles over a
    strided sample (~1M voxels), one range for every slice so slices stay consistent.
    Exports use it unless ``ExportRequest.intensity_range`` says otherwise; the viewer
    can pass it to ``Upscaler.encode`` so the screen shows what an export writes."""
    vox = volume.voxels
    step = max(1, int(round((vox.size / (1 << 20)) ** (1 / 3))))
    return upscaler.intensity_range(np.asarray(vox[::step, ::step, ::step]))
