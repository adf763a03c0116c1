"""Intensities on the way out: the display window (8-bit PNG, grey levels by
``engine.windowing``) and the 16-bit mapping (TIFF, DICOM) of a volume, chosen once per
export so every slice shares them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..io.volume import Volume, WindowPreset
from ..windowing import auto_window

U16_MAX = 65535


def _ds(x: float) -> float:
    """``x`` as DICOM's DS (16 characters) will hold it, so the stored values are
    computed with exactly the slope/intercept a reader sees."""
    return float(f"{x:.10g}")


@dataclass(frozen=True)
class VolumeStats:
    """Finite min/max of the voxels and whether they are all whole numbers."""

    lo: float
    hi: float
    integral: bool


def volume_stats(volume: Volume) -> VolumeStats:
    vox = volume.voxels
    lo, hi, integral = np.inf, -np.inf, True
    for k in range(vox.shape[2]):  # slice by slice: no volume-sized temporaries
        sl = vox[:, :, k]
        fin = sl[np.isfinite(sl)]
        if fin.size:
            lo, hi = min(lo, float(fin.min())), max(hi, float(fin.max()))
            integral = integral and bool(np.array_equal(fin, np.rint(fin)))
    if not np.isfinite(lo):
        lo, hi = 0.0, 0.0
    return VolumeStats(lo, hi, integral)


@dataclass(frozen=True)
class ValueMapping:
    """16-bit storage: ``value = stored * slope + intercept``, stored in 0..65535.

    Values are clipped to ``[lo, hi]`` (the source's range: ringing beyond it is not
    signal) and rounded.  Whole-number scans that fit keep slope 1 (their values
    stay exact, e.g. MR 0..4095 or CT HU with intercept -1024).
    """

    slope: float
    intercept: float
    lo: float
    hi: float

    @classmethod
    def for_stats(cls, stats: VolumeStats, prefer: tuple[float, float] | None = None) -> "ValueMapping":
        """``prefer``: the source's own (slope, intercept) (a DICOM series' rescale), used
        when it covers the range, so the stored values mean what they meant."""
        lo, hi = stats.lo, stats.hi
        if prefer is not None:
            slope, intercept = (_ds(float(v)) for v in prefer)
            if slope > 0 and intercept <= lo and intercept + slope * U16_MAX >= hi:
                return cls(slope, intercept, lo, hi)
        if stats.integral and lo >= 0 and hi <= U16_MAX:
            return cls(1.0, 0.0, lo, hi)
        if stats.integral and hi - lo <= U16_MAX:
            return cls(1.0, _ds(lo), lo, hi)
        intercept = _ds(lo)
        slope = _ds((hi - intercept) / U16_MAX) if hi > intercept else 1.0
        while intercept + slope * U16_MAX < hi:  # DS rounding must not shrink the range
            slope = _ds(slope * (1 + 1e-9))
        return cls(slope, intercept, lo, hi)

    def to_uint16(self, img: np.ndarray) -> np.ndarray:
        v = np.clip(np.nan_to_num(np.asarray(img, dtype=np.float64), nan=self.lo), self.lo, self.hi)
        s = np.rint((v - self.intercept) / self.slope)
        return np.clip(s, 0, U16_MAX).astype(np.uint16)

    def stored(self, value: float) -> float:
        return (value - self.intercept) / self.slope

    def as_dict(self) -> dict:
        return {
            "formula": "value = stored * slope + intercept",
            "slope": self.slope,
            "intercept": self.intercept,
            "clipped_to": [self.lo, self.hi],
        }


def pick_window(volume: Volume, override: WindowPreset | None = None) -> WindowPreset:
    """The export window: ``override``, else the volume's first preset, else the
    viewer's auto window (``engine.windowing.auto_window``: 0.5-99.5 percentiles)."""
    if override is not None:
        return override
    for w in volume.meta.windows:
        if np.isfinite(w.center) and np.isfinite(w.width) and w.width > 0:
            return w
    return WindowPreset("auto (0.5-99.5 percentiles)", *auto_window(volume.voxels))
