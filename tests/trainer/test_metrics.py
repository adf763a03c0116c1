"""PSNR on known arrays; SSIM against scikit-image's reference implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from trainer.metrics import psnr, ssim


def test_psnr_known_values():
    a = np.zeros((10, 10))
    assert psnr(a, a + 0.1) == pytest.approx(20.0)  # MSE 0.01, data range 1
    assert psnr(a, a + 0.01) == pytest.approx(40.0)
    b = a.copy()
    b[0, 0] = 1.0  # MSE 1/100
    assert psnr(a, b) == pytest.approx(20.0)
    assert psnr(a, a + 10.0, data_range=255.0) == pytest.approx(20 * math.log10(25.5))
    assert psnr(a, a) == math.inf


@pytest.mark.parametrize("noise", [0.02, 0.1, 0.3])
def test_ssim_matches_skimage_gaussian(rng, noise):
    a = rng.random((57, 64))
    b = np.clip(a + noise * rng.standard_normal(a.shape), 0, 1)
    ref = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
    assert ssim(a, b) == pytest.approx(ref, abs=1e-9)


def test_ssim_identity_and_shape_check(rng):
    a = rng.random((32, 32))
    assert ssim(a, a) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        ssim(a, a[:-1])
