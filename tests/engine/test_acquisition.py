"""The MRI acquisition model: k-space crop on the engine's grid, filters, Rician noise,
slice profiles, zero-fill; at non-integer and per-axis scales."""

from __future__ import annotations

import numpy as np
import pytest

from engine.acquisition import (FILTERS, Degradation, acquire, kspace_matrix, profile_taps, random_filter, tissue_mean,
                                window, zero_fill)
from engine.render.bicubic import downscale


def band_limited(shape, limit, rng, terms=24):
    """A real image of cosines whose frequencies (cycles per image) are below ``limit`` per axis."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    img = np.zeros(shape)
    for _ in range(terms):
        ky, kx = rng.integers(-limit[0] + 1, limit[0]), rng.integers(-limit[1] + 1, limit[1])
        img += rng.normal() * np.cos(2 * np.pi * (ky * yy / shape[0] + kx * xx / shape[1]) + rng.uniform(0, 2 * np.pi))
    return img


@pytest.mark.parametrize("hr_shape, lr_shape", [((96, 96), (48, 48)), ((96, 88), (40, 33)), ((77, 90), (70, 25)), ((74, 96), (20, 32))])
def test_zero_fill_after_a_kspace_crop_reproduces_a_band_limited_image(hr_shape, lr_shape, rng):
    hr = band_limited(hr_shape, ((lr_shape[0] + 1) // 2, (lr_shape[1] + 1) // 2), rng)
    # profile "kspace": a pair's coarse axis is a k-space crop too (else it is a slice profile)
    lr = acquire(hr, lr_shape, Degradation("kspace", profile="kspace"), magnitude=False, boundary="periodic").astype(np.float64)
    assert lr.shape == lr_shape
    up = zero_fill(lr, (hr_shape[0] / lr_shape[0], hr_shape[1] / lr_shape[1]), boundary="periodic")
    assert up.shape == hr_shape
    np.testing.assert_allclose(up, hr, atol=2e-5 * np.abs(hr).max())


@pytest.mark.parametrize("hr_shape, lr_shape", [((96, 96), (48, 48)), ((96, 88), (40, 33)), ((74, 96), (20, 32))])
def test_mirrored_crop_and_zero_fill_reproduce_an_image_band_limited_in_cosines(hr_shape, lr_shape, rng):
    """The default boundary mirrors each axis (a patch's ends do not meet): the crop is a
    DCT-II truncation, exact for images made of the cosines it keeps."""
    i, j = np.arange(hr_shape[0]), np.arange(hr_shape[1])
    hr = sum(rng.normal() * np.outer(np.cos(np.pi * a * (i + 0.5) / hr_shape[0]), np.cos(np.pi * b * (j + 0.5) / hr_shape[1]))
             for a in range(lr_shape[0]) for b in range(0, lr_shape[1], 3))
    lr = acquire(hr, lr_shape, Degradation("kspace", profile="kspace"), magnitude=False).astype(np.float64)
    up = zero_fill(lr, (hr_shape[0] / lr_shape[0], hr_shape[1] / lr_shape[1]))
    np.testing.assert_allclose(up, hr, atol=2e-5 * np.abs(hr).max())
    # a step inside a patch rings only at the step, not at the patch's ends
    step = np.zeros(hr_shape)
    step[:, hr_shape[1] // 2 :] = 1.0
    for boundary, ends_ring in (("mirror", False), ("periodic", True)):
        a = acquire(step, lr_shape, Degradation("kspace", profile="kspace"), magnitude=False, boundary=boundary)
        assert (np.abs(a[:, 0]).max() > 0.03) == ends_ring


@pytest.mark.parametrize("n, m", [(96, 48), (96, 26), (88, 40), (90, 37)])
def test_a_shifted_bump_lands_where_the_geometry_says(n, m):
    """A smooth bump centred at HR coordinate c lands at LR coordinate (c + 0.5) m/n - 0.5
    (pixel centres); an FFT crop without the phase ramp would put it (n/m - 1)/2 HR pixels off."""
    r = n / m
    for c in (31.3, 47.0, 52.75):
        x = np.arange(n)
        img = np.tile(np.exp(-0.5 * ((x - c) / 6.0) ** 2)[:, None], (1, 4))
        j = np.arange(m)
        for boundary in ("mirror", "periodic"):
            lr = acquire(img, (m, 4), Degradation("kspace"), magnitude=False, boundary=boundary)[:, 0].astype(np.float64)
            centroid = (lr * j).sum() / lr.sum()
            assert centroid == pytest.approx((c + 0.5) / r - 0.5, abs=2e-3)
        # the same place as the antialiased bicubic downscale puts it
        bic = downscale(img.astype(np.float32), (m, 4))[:, 0]
        assert centroid == pytest.approx((bic * j).sum() / bic.sum(), abs=0.02)
        # and zero-filling back puts an LR impulse at (j + 0.5) r - 0.5 in HR coordinates
    imp = np.zeros((m, 4))
    imp[m // 2] = 1.0
    for boundary in ("mirror", "periodic"):
        up = zero_fill(imp, (r, 1.0), boundary=boundary)[:, 0].astype(np.float64)
        k = int(np.argmax(up))
        a, b, cc = up[k - 1], up[k], up[k + 1]
        peak = k + 0.5 * (a - cc) / (a - 2 * b + cc)  # parabolic peak of the sinc
        assert peak == pytest.approx((m // 2 + 0.5) * r - 0.5, abs=0.05)


@pytest.mark.parametrize("name", FILTERS)
def test_noise_statistics_match_the_snr_asked_for(name):
    """Flat tissue at SNR 20: the magnitude's std is sigma = mean / 20 (Rician at high SNR),
    whatever the reconstruction filter (the noise is scaled after its colouring); air
    (zero signal) gets Rayleigh noise of mean sigma sqrt(pi/2)."""
    param = {"hamming": 1.2, "hann": 1.0, "tukey": 0.5, "fermi": 0.85}.get(name, 1.0)
    d = Degradation("kspace", name, param, snr=20.0)
    sigma = 0.5 / 20
    flat = acquire(np.full((192, 192), 0.5), (96, 96), d, np.random.default_rng(3)).astype(np.float64)
    assert flat.std() == pytest.approx(sigma, rel=0.03)
    assert flat.mean() == pytest.approx(np.sqrt(0.25 + sigma**2), rel=0.005)
    hr = np.zeros((192, 192))
    hr[:, 96:] = 0.5
    assert tissue_mean(hr) == pytest.approx(0.5)  # the SNR is the tissue's, not the air's
    lr = acquire(hr, (96, 96), d, np.random.default_rng(4)).astype(np.float64)
    air = lr[:, 8:40]  # away from the edges' ringing
    assert air.mean() == pytest.approx(sigma * np.sqrt(np.pi / 2), rel=0.06)


def test_noise_is_added_before_the_magnitude_and_is_reproducible():
    hr = np.full((64, 64), 0.4)
    d = Degradation("kspace", snr=4.0)
    a = acquire(hr, (32, 32), d, np.random.default_rng(9))
    b = acquire(hr, (32, 32), d, np.random.default_rng(9))
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0  # a magnitude image
    # Rician bias at low SNR: mean sqrt(A^2 + 2 sigma^2) approximately, above A
    assert a.mean() > 0.4 * 1.01
    with pytest.raises(ValueError, match="rng"):
        acquire(hr, (32, 32), d)


def test_filters_keep_the_mean_and_soften_the_edge():
    step = np.zeros((96, 96))
    step[:, 48:] = 1.0  # square x2.4: k-space on both axes
    rough = {}
    for name in FILTERS:
        w = window(name, 40, 1.0 if name in ("hamming", "hann") else 0.5 if name == "tukey" else 0.85)
        assert w[0] == pytest.approx(1.0)
        assert np.all(w <= 1 + 1e-12) and np.all(w >= 0)
        lr = acquire(step, (40, 40), Degradation("kspace", name, 1.0 if name in ("hamming", "hann") else 0.5 if name == "tukey" else 0.85))
        assert lr.mean() == pytest.approx(step.mean(), abs=0.02)
        rough[name] = float(np.abs(np.diff(lr[0, 3:17])).sum())  # Gibbs ringing on the flat side
    assert rough["hann"] < rough["none"] and rough["hamming"] < rough["none"]
    # parameters are drawn at random within their ranges
    rng = np.random.default_rng(0)
    drawn = [random_filter(rng) for _ in range(200)]
    assert {d["filter"] for d in drawn} == set(FILTERS)
    tukey = [d["filter_param"] for d in drawn if d["filter"] == "tukey"]
    assert min(tukey) >= 0.2 and max(tukey) <= 0.8 and np.std(tukey) > 0.1


def test_kspace_matrix_is_exact_at_non_integer_per_axis_scales(rng):
    """The cached (periodic) matrix equals the direct FFT crop with the phase ramp, for any n, m."""
    for n, m in ((96, 35), (97, 40), (88, 88)):
        x = rng.normal(size=n)
        X = np.fft.fft(x)
        k = np.fft.fftfreq(m, 1 / m).round().astype(int)
        t = (np.arange(m) + 0.5) * n / m - 0.5  # where the engine puts the LR pixels
        keep = np.abs(k) * 2 < m
        direct = np.real(np.exp(2j * np.pi * np.outer(t, k[keep]) / n) @ X[k[keep] % n]) / n
        if m % 2 == 0:
            direct += 2 * np.real(X[m // 2] * np.exp(1j * np.pi * m * t / n)) / n
        np.testing.assert_allclose(kspace_matrix(n, m, boundary="periodic") @ x, direct, atol=1e-10)


def test_slice_profiles_and_gaps_on_the_coarse_axis_of_a_pair():
    idx, w = profile_taps(12, 3, "box", 1.0)  # slabs of 4 tile the axis
    dense = np.zeros((3, 12))
    np.add.at(dense, (np.repeat(np.arange(3), idx.shape[1]), idx.ravel()), w.ravel())
    np.testing.assert_allclose(dense, np.kron(np.eye(3), np.full(4, 0.25)), atol=1e-7)
    idx, w = profile_taps(12, 3, "box", 0.5)  # 2-pixel slices with 2-pixel gaps
    dense = np.zeros((3, 12))
    np.add.at(dense, (np.repeat(np.arange(3), idx.shape[1]), idx.ravel()), w.ravel())
    np.testing.assert_allclose(dense[0], [0, 0.5, 0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0], atol=1e-7)
    idx, w = profile_taps(40, 10, "gaussian", 1.0)
    assert np.allclose(w.sum(1), 1)
    centre = (w * idx).sum(1)
    np.testing.assert_allclose(centre[2:-2], ((np.arange(10) + 0.5) * 4 - 0.5)[2:-2], atol=1e-3)  # on the geometry's grid
    # a (4, 1.25) pair: rows get the profile (no Gibbs ringing across slices), columns k-space
    hr = np.zeros((96, 40))
    hr[48:, :] = 1.0
    lr = acquire(hr, (24, 32), Degradation("kspace", profile="box", thickness=1.0), magnitude=False)
    np.testing.assert_allclose(lr[:, 5], np.r_[np.zeros(12), np.ones(12)], atol=1e-6)
    thin = acquire(hr, (24, 32), Degradation("kspace", profile="gaussian", thickness=0.7), magnitude=False)
    assert 0 < thin[11, 5] < 0.5 < thin[12, 5] < 1  # partial volume at the boundary


def test_old_degradations_remain_and_scale_per_axis():
    rng = np.random.default_rng(2)
    hr = rng.random((96, 88)).astype(np.float32)
    np.testing.assert_allclose(acquire(hr, (48, 40), Degradation("bicubic")), downscale(hr, (48, 40)), atol=1e-5)
    area = acquire(hr, (48, 44), Degradation("area"))
    np.testing.assert_allclose(area, hr.reshape(48, 2, 44, 2).mean((1, 3)), atol=1e-6)
    with pytest.raises(ValueError):
        Degradation("blur")
    with pytest.raises(ValueError):
        Degradation("kspace", "gauss")
