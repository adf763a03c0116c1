"""The intensity range (lo, hi) that maps a slice to [0, 1] before the network sees it.

Torch-free, so the export planner can refuse a bad range before any work, with the same
rule the ``Upscaler`` applies.
"""

from __future__ import annotations

import math


def checked_range(intensity_range) -> tuple[float, float]:
    """``(lo, hi)`` as floats, or ``ValueError``: an empty or non-finite range would
    divide by zero and render NaN/Inf as if it were an image."""
    try:
        lo, hi = (float(v) for v in intensity_range)
    except (TypeError, ValueError):
        lo = hi = math.nan
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise ValueError(f"intensity_range must be finite (lo, hi) with lo < hi, got {intensity_range!r}")
    return lo, hi
