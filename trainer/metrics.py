"""PSNR and SSIM, as the issue defines them.

Both work on unit-range images (the engine's per-slice 0.5-99.5 percentile scale)
clipped to [0, 1], with **data range 1.0**.  SSIM is Wang et al. 2004: Gaussian
window sigma 1.5 (truncated at 3.5 sigma: 11x11), K1 = 0.01, K2 = 0.03, population
covariances, mean over the valid interior (borders of 5 pixels dropped), which is
``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=1)``.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

DATA_RANGE = 1.0
SIGMA = 1.5
TRUNCATE = 3.5


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = DATA_RANGE) -> float:
    """Peak signal-to-noise ratio in dB; ``inf`` for identical images."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(data_range**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = DATA_RANGE, sigma: float = SIGMA) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"SSIM needs two 2D images of one shape, got {a.shape} and {b.shape}")
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(x):
        return gaussian_filter(x, sigma, mode="reflect", truncate=TRUNCATE)

    mu_a, mu_b = blur(a), blur(b)
    va = blur(a * a) - mu_a**2
    vb = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (va + vb + c2))
    pad = int(TRUNCATE * sigma + 0.5)
    return float(s[pad:-pad, pad:-pad].mean())
