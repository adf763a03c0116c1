"""Bicubic resampling on the engine's one geometry (see ``engine.geometry``).

Separable Keys cubic convolution, borders replicated.  ``a = -0.5`` (Keys 1981,
MATLAB's ``imresize``) by default; ``a = -0.75`` reproduces PyTorch's
``interpolate(mode="bicubic", align_corners=False)`` exactly.  Downscaling stretches
the kernel by the factor (antialiasing, as MATLAB and PIL), which is how the trainer
makes its low-resolution inputs.
"""

from __future__ import annotations

import numpy as np

from ..geometry import ZoomGrid, coordinates
from .cpu_kernel import separable_kernel

KEYS_A = -0.5


def cubic(x: np.ndarray, a: float = KEYS_A) -> np.ndarray:
    """Keys' cubic convolution kernel (support [-2, 2])."""
    x = np.abs(x)
    x2, x3 = x * x, x * x * x
    return np.where(
        x <= 1,
        (a + 2) * x3 - (a + 3) * x2 + 1,
        np.where(x < 2, a * x3 - 5 * a * x2 + 8 * a * x - 4 * a, 0.0),
    )


def taps(n_in: int, n_out: int, start: int = 0, count: int | None = None, a: float = KEYS_A, antialias: bool = True):
    """Input indices and weights (float32) for output pixels ``start..start+count``.

    Returns ``(idx, w)`` of shape (count, T); rows of ``w`` sum to 1.
    """
    y = coordinates(n_in, n_out, start, count)
    support = 2.0
    stretch = n_in / n_out if (antialias and n_out < n_in) else 1.0
    reach = support * stretch
    first = np.floor(y - reach).astype(np.int64) + 1
    T = int(np.ceil(2 * reach)) + 1
    idx = first[:, None] + np.arange(T)[None, :]
    w = cubic((idx - y[:, None]) / stretch, a)
    w /= w.sum(axis=1, keepdims=True)
    idx = np.clip(idx, 0, n_in - 1)
    return idx.astype(np.int64), w.astype(np.float32)


def resample(image: np.ndarray, out_shape, region=None, a: float = KEYS_A, antialias: bool = True) -> np.ndarray:
    """Resample a 2D image to ``out_shape`` (any size, up or down) on the
    pixel-centre grid; ``region`` = (top, left, height, width) of that grid."""
    img = np.ascontiguousarray(image, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"expected a 2D slice, got shape {img.shape}")
    H, W = int(out_shape[0]), int(out_shape[1])
    top, left, height, width = (0, 0, H, W) if region is None else region
    ri, rw = taps(img.shape[0], H, top, height, a, antialias)
    ci, cw = taps(img.shape[1], W, left, width, a, antialias)
    out = np.empty((height, width), dtype=np.float32)
    return separable_kernel(img, ri, rw, ci, cw, out)


def bicubic(slice2d: np.ndarray, scale, region=None, *, a: float = KEYS_A) -> np.ndarray:
    """Bicubic zoom of ``slice2d`` by ``scale`` (number or (r_y, r_x), any positive
    factor) on the same grid and region semantics as ``Upscaler.render``."""
    img = np.asarray(slice2d)
    if img.ndim != 2:
        raise ValueError(f"expected a 2D slice, got shape {img.shape}")
    grid = ZoomGrid.make(img.shape, scale, sr=False)
    return resample(img, grid.out_shape, grid.region(region), a=a)


def downscale(image: np.ndarray, out_shape, a: float = KEYS_A) -> np.ndarray:
    """Antialiased bicubic downscale to ``out_shape`` (the trainer's LR maker)."""
    return resample(image, out_shape, None, a=a, antialias=True)
