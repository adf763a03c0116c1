"""What the panes say and show about the consistency guard (``engine.consistency``).  No Qt.

The guard's map is the SR frame's disagreement with the acquired pixels in units of the
scan's noise sigma.  Its colour scale is fixed (0 to ``SCALE_TOP`` x noise), not
stretched per frame like |SR - bicubic|: a reader learns one scale, and the colours turn
from cool to warm where a pixel leaves the noise (``THRESHOLD``).
"""

from __future__ import annotations

import numpy as np

from engine.consistency import THRESHOLD

#: Top of the disagreement map's colour scale, in noise sigmas: twice the threshold, so
#: the pixels within noise take the lower half.
SCALE_TOP = 2.0 * THRESHOLD
#: The legend's units, drawn over the colour bar.
UNITS = "× noise"
#: Shown while the guard checks the frame on screen.
CHECKING = "consistent: checking…"
#: The guard runs up to this zoom (on the finer axis).  Its set-up grows with the zoomed
#: grid (operators of LR x zoomed pixels: at x8 on a 512-pixel slice 4096 columns, ~1 s
#: of CPU and 8 MB each axis; at x32 four times that, per wheel step); above x4 the SR
#: frame is the network's x4 frame enlarged by bicubic, which adds nothing to check.
MAX_ZOOM = 8.0
NOT_CHECKED = f"consistent: not checked above x{MAX_ZOOM:g}"
DATA_CONSISTENT = "data-consistent"


def disagreement_lut(n: int = 256) -> np.ndarray:
    """(n, 3) uint8: black to slate blue up to the threshold (within noise), then amber
    to red up to ``SCALE_TOP`` (beyond it: what the network changed in the data)."""
    t = np.linspace(0.0, SCALE_TOP, n)
    within = t <= THRESHOLD
    out = np.empty((n, 3), np.float64)
    a = (t[within] / THRESHOLD)[:, None]
    out[within] = a * np.array([70.0, 95.0, 140.0])
    b = ((t[~within] - THRESHOLD) / (SCALE_TOP - THRESHOLD))[:, None]
    out[~within] = (1 - b) * np.array([235.0, 175.0, 40.0]) + b * np.array([255.0, 40.0, 30.0])
    return np.round(out).astype(np.uint8)


def legend_text(threshold: float = THRESHOLD) -> str:
    """The disagreement pane's scale in words (it is not windowed: W/L does not apply)."""
    return f"0 to {SCALE_TOP:g}× noise · warm: beyond {threshold:g}×"


def value_text(ratio: float) -> str:
    """One pixel's disagreement, as the mouse reads it off the map."""
    if ratio != ratio:  # NaN: an LR pixel the guard left out (its band crosses the region's edge)
        return "disagreement: not checked here (edge of the view)"
    return f"disagreement {ratio:.1f}× noise" + (" · beyond noise" if ratio > THRESHOLD else "")


def checkable(scale) -> bool:
    """Whether the guard checks (and can project) a frame at this zoom ``(r_y, r_x)``."""
    return max(float(scale[0]), float(scale[1])) <= MAX_ZOOM + 1e-9


def overlay_line(result_text: str | None, sr_on_screen: bool, data_consistent: bool) -> str:
    """The SR panes' line about the guard: ``consistent: 99.2% of pixels within noise``
    for the frame on screen (``result_text``: the guard's answer for that very frame,
    None while it checks), ``data-consistent · …`` when that frame is the projected
    rendering; nothing without a Meta-SRGAN frame on screen."""
    if not sr_on_screen:
        return ""
    text = result_text if result_text is not None else CHECKING
    return f"{DATA_CONSISTENT} · {text}" if data_consistent else text


def same_view(a, b) -> bool:
    """Whether two frame requests show the same slice at the same zoom (a pan apart):
    a map made for one still belongs, pixel for pixel, where it lies in the other."""
    return a is not None and b is not None and a.key == b.key and tuple(a.scale) == tuple(b.scale) and a.shape == b.shape
