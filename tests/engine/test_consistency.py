"""The consistency guard: noise estimation, truth passes, invented content fails, regions agree."""

from __future__ import annotations

import numpy as np
import pytest

from engine.acquisition import Degradation, acquire, complex_noise, named, noise_sigma, window
from engine.consistency import THRESHOLD, ConsistencyGuard, estimate_noise
from engine.geometry import output_size
from tests.conftest import shared_data


def phantom(n: int = 192) -> np.ndarray:
    """A head-like phantom: an ellipse with a ramp, a dark and a bright disc, smooth edges."""
    yy, xx = np.mgrid[:n, :n] / n
    head = 1.0 / (1.0 + np.exp(-(0.38**2 - (yy - 0.5) ** 2 - 0.8 * (xx - 0.5) ** 2) * 300))
    img = head * (0.55 + 0.2 * xx)
    img -= 0.25 * np.exp(-((yy - 0.4) ** 2 + (xx - 0.6) ** 2) / 0.004)
    img += 0.2 * np.exp(-((yy - 0.62) ** 2 + (xx - 0.4) ** 2) / 0.002)
    return img


@pytest.mark.parametrize("filt", ["none", "hamming"])
@pytest.mark.parametrize("sigma", [0.005, 0.02])
def test_noise_estimate_recovers_known_rician_sigma(filt, sigma):
    rng = np.random.default_rng(3)
    img = phantom(256)
    w = window(filt, 256)
    noisy = np.abs(img + complex_noise(img.shape, sigma, rng, (w, w)))
    est = estimate_noise(noisy, Degradation("kspace", filt))
    assert est == pytest.approx(sigma, rel=0.06)


def test_noise_estimate_without_background_uses_flat_tissue():
    rng = np.random.default_rng(4)
    img = phantom(256)
    noisy = np.abs(img + complex_noise(img.shape, 0.01, rng))
    noisy[img < 0.05] = 0.0  # a scanner that zeroes the air
    assert estimate_noise(noisy) == pytest.approx(0.01, rel=0.1)


def _pair(r, d, seed=0, n=192):
    hr = phantom(n)
    m = int(n // r)
    k = output_size(m, r)
    hr = hr[:k, :k]
    return hr, acquire(hr, (m, m), d, np.random.default_rng(seed))


@pytest.mark.parametrize("r", [2, 3.3])
@pytest.mark.parametrize("deg", ["kspace-noise", "kspace-hamming-noise"])
def test_the_truth_is_within_noise_and_invented_texture_is_not(r, deg):
    d = named(deg)
    hr, lr = _pair(r, d)
    g = ConsistencyGuard(lr, r, d)
    assert g.sigma == pytest.approx(noise_sigma(acquire(hr, lr.shape, Degradation("kspace")), d.snr), rel=0.15)
    truth = g.check(hr)
    assert truth.ratio.shape == lr.shape and truth.pixels == lr.size
    assert truth.within >= 0.99  # Gaussian noise alone: 99.73% within 3 sigma
    # texture the scanner would have seen (0.15 cycles per LR pixel, inside the band)
    yy, xx = np.mgrid[: hr.shape[0], : hr.shape[1]]
    fake = hr + 0.1 * np.sin(2 * np.pi * 0.15 * yy / r) * np.sin(2 * np.pi * 0.15 * xx / r) * (hr > 0.1)
    assert g.check(fake).within < 0.9
    # a fake lesion is flagged where it is
    cy, cx = int(0.45 * hr.shape[0]), int(0.5 * hr.shape[1])
    lesion = hr + 0.15 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (2.5 * r) ** 2))
    ratio = g.check(lesion).ratio
    assert ratio[int(cy / r), int(cx / r)] > 2 * THRESHOLD
    assert np.nanmedian(ratio) < 1.0


def test_a_thick_slice_pair_is_judged_with_the_slice_profile():
    d = Degradation("kspace", "hann", 1.2, snr=40.0)
    hr = phantom(192)
    lr = acquire(hr, (48, 128), d, np.random.default_rng(5))  # rows x4 (thick slices), columns x1.5
    g = ConsistencyGuard(lr, (4, 1.5), d)
    assert g.sigma == pytest.approx(noise_sigma(acquire(hr, lr.shape, Degradation("kspace", "hann", 1.2)), 40.0), rel=0.15)
    assert g.check(hr).within >= 0.99
    yy = np.arange(192)[:, None]
    assert g.check(hr + 0.1 * np.sin(2 * np.pi * 0.15 * yy / 4) * (hr > 0.1)).within < 0.9
    # data-consistent rendering brings bicubic closer to the acquired slices
    from engine.render.bicubic import bicubic

    before = np.nanmean(g.check(bicubic(lr, (4, 1.5))).ratio)
    assert np.nanmean(g.check(g.project(bicubic(lr, (4, 1.5)), iterations=5)).ratio) < 0.9 * before
    assert g.check(hr).summary().startswith("consistent: ")


def test_texture_above_the_acquired_band_is_invisible_to_the_guard():
    """What the scanner did not measure cannot disagree with it: the guard's limit."""
    d = named("kspace-noise")
    hr, lr = _pair(2, d)
    g = ConsistencyGuard(lr, 2, d)
    yy, xx = np.mgrid[: hr.shape[0], : hr.shape[1]]
    above = hr + 0.1 * np.cos(np.pi * 0.8 * yy) * np.cos(np.pi * 0.8 * xx)  # 0.4 cycles/HR px > 0.25
    assert g.check(above).within == pytest.approx(g.check(hr).within, abs=0.01)


@pytest.mark.parametrize("deg", ["kspace-hamming-noise", "kspace-noise"])
def test_region_matches_whole_slice_and_exact_operator(deg):
    d = named(deg)
    r = 2.5
    hr, lr = _pair(r, d, n=200)
    g = ConsistencyGuard(lr, r, d)
    whole = g.check(hr)
    a = g.A_y.astype(np.float64) @ hr @ g.A_x.T.astype(np.float64)
    exact = np.abs(np.sqrt(a * a + 2 * g.sigma**2) - lr) / g.sigma
    tol = 0.25 if d.filter != "none" else 0.6  # the operator rows' tails past +-BAND (worst at the slice's corners)
    assert np.nanmax(np.abs(whole.ratio - exact)) < tol
    region = (41, 20, 150, 170)
    part = g.check(hr[41:191, 20:190], region)
    ys, xs = part.lr_window
    assert (ys.start, ys.stop, xs.start, xs.stop) == (17, 76, 8, 76)  # whole LR pixels inside the region
    ok = np.isfinite(part.ratio)
    assert ok.sum() > 0.5 * part.ratio.size and not ok[0].any() and not ok[:, -1].any()
    assert np.max(np.abs(part.ratio[ok] - whole.ratio[ys, xs][ok])) < tol


def test_shipped_weights_on_a_held_out_slice():
    """The fidelity weights on a slice held out from all their training (MR_Gd's last 20
    axial slices), acquired in k-space at SNR 40: the true image passes (>= 99.5%), the
    weights pass the 99% target at x1.5 only (98-94% at x2-x4: numbers per scale in
    docs/RESULTS.md), and invented in-band texture fails."""
    import nibabel as nib

    from engine.upscaler import load_upscaler

    vol = nib.load(str(shared_data("volumes", "MR_Gd.nii.gz"))).get_fdata(dtype=np.float32)
    s = np.clip(vol[:, :, 124] / np.percentile(vol, 99.5), 0, 1)
    up = load_upscaler(device="cpu")
    d = named("kspace-noise")
    within = {}
    for r in (1.5, 2, 3, 4):
        m = (int(s.shape[0] // r), int(s.shape[1] // r))
        hr = s[: output_size(m[0], r), : output_size(m[1], r)]
        lr = acquire(hr, m, d, np.random.default_rng(7))
        sr = up.render(up.encode(lr, intensity_range=(0.0, 1.0)), r)
        g = ConsistencyGuard(lr, r, d)
        yy, xx = np.mgrid[: hr.shape[0], : hr.shape[1]]
        fake = sr + 0.1 * np.sin(2 * np.pi * 0.15 * yy / r) * np.sin(2 * np.pi * 0.15 * xx / r) * (hr > 0.1)
        within[r] = (g.check(hr).within, g.check(sr).within, g.check(fake).within)
    assert all(t >= 0.995 and f < min(0.95, w) for t, w, f in within.values()), within
    assert within[1.5][1] >= 0.99 and min(w for _, w, _ in within.values()) >= 0.9, within
