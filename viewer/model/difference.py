"""The difference pane's picture and its scale.  No Qt.

``|SR − bicubic|`` is not windowed: its colour scale runs from 0 to a high percentile
of the differences themselves, so the few largest changes do not wash the rest out.
"""

from __future__ import annotations

import numpy as np

#: The top of the colour scale: this percentile of the differences.
TOP_PERCENTILE = 99.5
#: Differences sampled for the percentile at most (a strided sample: exact enough, fast).
SAMPLE = 65536
#: The scale never goes below this share of the window width: a frame where SR and
#: bicubic agree shows dark, not its rounding noise stretched to full brightness.
FLOOR_SHARE_OF_WINDOW = 1e-3


def difference_map(sr: np.ndarray, bicubic: np.ndarray, window_width: float) -> tuple[np.ndarray, float]:
    """``(|sr − bicubic|, top of its colour scale)``, in the scan's units."""
    d = np.abs(sr - bicubic)
    sample = d.reshape(-1)[:: max(1, d.size // SAMPLE)]
    top = max(float(np.percentile(sample, TOP_PERCENTILE)), FLOOR_SHARE_OF_WINDOW * max(window_width, 1e-6))
    return d, top
