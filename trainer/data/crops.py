"""Intensity normalisation and the paper's crops (Fig. 6).

* ``unit_range``: the engine's per-slice normalisation (``Upscaler._normalise``):
  ``(x - p0.5) / (p99.5 - p0.5)``, not clipped.  Training MUST use the same, so the
  shipped mean/std mean the same thing at inference.
* ``max_info_crop``: the 128x128 crop holding the most non-background signal.
* ``random_patch`` / ``centre_crop``: training patches and test crops.
"""

from __future__ import annotations

import numpy as np

#: Unit intensities at or below this are background (air, skull-stripped zeros).
BACKGROUND = 0.05


def intensity_range(slice2d: np.ndarray, low: float = 0.5, high: float = 99.5) -> tuple[float, float]:
    """Exactly ``engine.upscaler.Upscaler.intensity_range``."""
    finite = slice2d[np.isfinite(slice2d)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(finite, [low, high])
    if not hi > lo:
        lo, hi = float(finite.min()), float(finite.max())
    if not hi > lo:
        hi = lo + 1.0
    return float(lo), float(hi)


def unit_range(slice2d: np.ndarray, low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """A slice mapped to ~[0, 1] the way the engine maps it before ``(v - mean) / std``."""
    x = np.asarray(slice2d, dtype=np.float32)
    lo, hi = intensity_range(x, low, high)
    x = np.nan_to_num(x, nan=lo, posinf=hi, neginf=lo)
    return ((x - lo) / (hi - lo)).astype(np.float32)


def signal(unit: np.ndarray) -> np.ndarray:
    """Non-background signal per pixel: the intensity where above background."""
    u = np.clip(unit, 0.0, 1.0)
    return np.where(u > BACKGROUND, u, 0.0)


def max_info_crop(unit: np.ndarray, size: int = 128) -> tuple[np.ndarray, float]:
    """The ``size`` x ``size`` crop with the most non-background signal, and the
    fraction of its pixels that are foreground.  Ties go to the first position."""
    h, w = unit.shape
    if h < size or w < size:
        raise ValueError(f"slice {unit.shape} is smaller than the {size}x{size} crop")
    s = signal(unit).astype(np.float64)
    ii = np.zeros((h + 1, w + 1))
    ii[1:, 1:] = s.cumsum(0).cumsum(1)
    tot = ii[size:, size:] - ii[:-size, size:] - ii[size:, :-size] + ii[:-size, :-size]
    y, x = np.unravel_index(int(np.argmax(tot)), tot.shape)
    crop = unit[y : y + size, x : x + size]
    return np.ascontiguousarray(crop), float((crop > BACKGROUND).mean())


def tiles(unit: np.ndarray, size: int = 128) -> list[np.ndarray]:
    """Non-overlapping ``size`` crops covering a photograph (used for pretraining
    images, which have no background to avoid)."""
    h, w = unit.shape
    return [np.ascontiguousarray(unit[y : y + size, x : x + size]) for y in range(0, h - size + 1, size) for x in range(0, w - size + 1, size)]


def centre_crop(img: np.ndarray, n) -> np.ndarray:
    """The centre ``n x n`` (or ``(n_y, n_x)``) of ``img``."""
    ny, nx = (n, n) if np.isscalar(n) else n
    h, w = img.shape
    if ny > h or nx > w:
        raise ValueError(f"centre crop {n} exceeds image {img.shape}")
    y, x = (h - ny) // 2, (w - nx) // 2
    return np.ascontiguousarray(img[y : y + ny, x : x + nx])


def augment(patch: np.ndarray, code: int) -> np.ndarray:
    """One of the 8 flips/rotations (``code`` in 0..7)."""
    p = np.rot90(patch, code % 4)
    if code >= 4:
        p = p[:, ::-1]
    return np.ascontiguousarray(p)


def random_patch(crop: np.ndarray, n, rng: np.random.Generator) -> np.ndarray:
    """A random ``n x n`` (or ``(n_y, n_x)``) patch of ``crop``."""
    ny, nx = (n, n) if np.isscalar(n) else n
    h, w = crop.shape
    y = int(rng.integers(0, h - ny + 1))
    x = int(rng.integers(0, w - nx + 1))
    return crop[y : y + ny, x : x + nx]
