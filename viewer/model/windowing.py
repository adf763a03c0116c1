"""Window/level: presets, auto window, and the right-drag gesture.  No Qt."""

from __future__ import annotations

import numpy as np

from engine.io.volume import WindowPreset

#: The usual CT presets (Hounsfield units).  On MR they are only a starting point:
#: MR intensities have no absolute scale, which is why "Auto" exists.
STANDARD_PRESETS = (
    WindowPreset("Brain", 40.0, 80.0),
    WindowPreset("Soft tissue", 40.0, 400.0),
    WindowPreset("Bone", 400.0, 1800.0),
)

#: Percentiles of the finite voxels that auto-window spans.
AUTO_PERCENTILES = (0.5, 99.5)


def auto_window(values: np.ndarray, sample: int = 1 << 20) -> tuple[float, float]:
    """``(center, width)`` spanning the 0.5-99.5 percentiles of ``values`` (a strided
    sample of at most ``sample`` voxels, so a 120-slice series takes milliseconds)."""
    flat = np.asarray(values).reshape(-1)
    if flat.size > sample:
        flat = flat[:: flat.size // sample + 1]
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return 0.5, 1.0
    lo, hi = (float(v) for v in np.percentile(flat, AUTO_PERCENTILES))
    if not hi > lo:
        lo, hi = float(flat.min()), float(flat.max())
    if not hi > lo:
        hi = lo + 1.0
    return (lo + hi) / 2, hi - lo


def drag_window(start: tuple[float, float], dx: float, dy: float) -> tuple[float, float]:
    """Right-drag: right widens, left narrows (x2 per 200 px); up raises the level,
    down lowers it (one full width per 400 px)."""
    center, width = start
    new_width = max(width * 2.0 ** (dx / 200.0), 1e-6)
    return center - dy * width / 400.0, new_width


def levels(window: tuple[float, float]) -> tuple[float, float]:
    """``(low, high)`` display levels of a ``(center, width)`` window."""
    center, width = window
    return center - width / 2, center + width / 2
