"""What an export request may ask for, refused before any work: the slices, the
scale, the size of the enlarged slices, the window and Meta-SRGAN's intensity range."""

from __future__ import annotations

import numpy as np

from ..geometry import SR_SCALE_MIN, parse_scale
from ..intensity import checked_range
from .enlarge import Scale, out_shape, zoom_text
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


def check_size(shape, scale: Scale) -> tuple[int, int]:
    out = out_shape(shape, scale)
    if max(out) > MAX_SIDE:
        raise ExportRequestError(None, f"x{zoom_text(scale)} would make {out[0]}x{out[1]} pixel slices, above the {MAX_SIDE} pixel limit")
    return out
