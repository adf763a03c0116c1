"""MR window presets, computed from the series itself.  No Qt.

MR intensities have no absolute scale (a T1 from one scanner may be ten times another's),
so a fixed W/L like CT's "Brain 80/40" means nothing there.  Each preset here is a pair
of percentiles of the series' *foreground*: the voxels above FSL BET's "robust
threshold" (10% of the way from the 2nd to the 98th percentile), i.e. not the air
around the head, which would otherwise pull every percentile toward zero.  The T1 / T2 / FLAIR pairs are starting points a reader adjusts, chosen for
what each contrast is read for:

- T1: the whole foreground range, bright fat and contrast included (1-99.5).
- T2: fluid is the brightest thing in the image; keep it but spend the grey levels on
  tissue, so the top is cut lower (2-99.0).
- FLAIR: fluid is dark and lesions are a little brighter than white matter; a narrower
  window around tissue shows them (5-99.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.io.volume import WindowPreset

#: name -> (low percentile, high percentile) of the foreground
MR_PERCENTILES = {
    "MR auto, foreground 1–99%": (1.0, 99.0),
    "MR T1": (1.0, 99.5),
    "MR T2": (2.0, 99.0),
    "MR FLAIR": (5.0, 99.5),
}
#: voxels sampled (strided) from the series: a 120-slice series takes milliseconds
SAMPLE = 1 << 20


@dataclass(frozen=True)
class Foreground:
    """A sample of the series' foreground voxels, sorted (percentiles are then lookups)."""

    values: np.ndarray
    threshold: float

    def percentile_window(self, lo: float, hi: float) -> tuple[float, float]:
        """``(center, width)`` from percentile ``lo`` to ``hi`` of the foreground."""
        if self.values.size == 0:
            return 0.5, 1.0
        a, b = (float(v) for v in np.percentile(self.values, (lo, hi)))
        if not b > a:
            a, b = float(self.values[0]), float(self.values[-1])
        if not b > a:
            b = a + 1.0
        return (a + b) / 2, b - a


#: BET's robust threshold: this fraction of the way from the 2nd to the 98th percentile
ROBUST_FRACTION = 0.1


def foreground(voxels: np.ndarray, sample: int = SAMPLE) -> Foreground:
    """The voxels of a strided sample above the robust threshold (all finite voxels
    when almost none are, e.g. a constant image)."""
    flat = np.asarray(voxels).reshape(-1)
    if flat.size > sample:
        flat = flat[:: flat.size // sample + 1]
    flat = flat[np.isfinite(flat)].astype(np.float64)
    if flat.size == 0:
        return Foreground(flat, 0.0)
    if float(flat.min()) == float(flat.max()):
        return Foreground(np.sort(flat), float(flat[0]))
    p2, p98 = (float(v) for v in np.percentile(flat, (2, 98)))
    t = p2 + ROBUST_FRACTION * (p98 - p2)
    fg = flat[flat > t]
    if fg.size < 16:  # a few bright specks: not a foreground worth windowing on
        fg = flat
    return Foreground(np.sort(fg), t)


def mr_presets(voxels: np.ndarray) -> list[WindowPreset]:
    """The MR presets of this series, in ``MR_PERCENTILES`` order."""
    fg = foreground(voxels)
    return [WindowPreset(name, *fg.percentile_window(lo, hi)) for name, (lo, hi) in MR_PERCENTILES.items()]
