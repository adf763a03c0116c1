"""The viewer's consistency checker: frames in, the guard's map on the frame's grid out."""

from __future__ import annotations

import numpy as np

from engine.acquisition import acquire, named
from engine.consistency import ConsistencyGuard
from engine.render.bicubic import bicubic
from viewer.render.consistency import ConsistencyChecker, display_map, one_blas_thread
from viewer.render.frames import Frame, FrameRequest, SliceKey, SliceSource


def _slice():
    yy, xx = np.mgrid[:240, :240] / 240
    hr = 0.6 / (1 + np.exp(-(0.16 - (yy - 0.5) ** 2 - (xx - 0.5) ** 2) * 200)) + 0.1 * np.sin(12 * xx) * np.cos(9 * yy)
    lr = acquire(hr, (96, 96), named("kspace-noise"), np.random.default_rng(2))
    return hr, lr * 1000.0  # scanner units


def test_checker_matches_the_engine_guard_and_maps_onto_the_frame():
    hr, lr = _slice()
    region = (30, 20, 180, 200)  # of the x2.5 grid (240 x 240)
    req = FrameRequest(1, SliceKey(0, "axial", 0, True), SliceSource.of(lr), (2.5, 2.5), region)
    sr = Frame(req, "sr", (hr * 1000.0)[30:210, 20:220].astype(np.float32))
    bic = Frame(req, "bicubic", bicubic(lr, 2.5, region))
    got = []
    checker = ConsistencyChecker(got.append)
    try:
        checker.submit(sr, bic)
        assert checker.wait_idle(60)
    finally:
        checker.stop()
    (res,) = got
    with one_blas_thread():  # the checker's arithmetic (BLAS sums in another order on two threads)
        want = ConsistencyGuard(lr, 2.5).check(sr.pixels, region, bicubic=bic.pixels)  # as the checker is given it
    # equal to float32 rounding: the magnitude step subtracts the acquired value (~600 here)
    # in float32 (an ulp is 6e-5, 5e-6 sigma), and OpenBLAS's blocking may order the band
    # sums differently on another thread (seen: 4e-5 sigma in the full suite); 1e-4 sigma
    # is still ten thousand times finer than the map's colour scale
    np.testing.assert_allclose(res.map.ratio, want.ratio, equal_nan=True, rtol=1e-5, atol=1e-4)
    assert res.map.within >= 0.99 and res.text.startswith("consistent: ") and "% of pixels within noise" in res.text
    assert res.display.shape == (180, 200)
    # an SR pixel shows its LR pixel: SR row 30 + 2.5 j + 1 lies in LR row 12 + j
    ys, xs = res.map.lr_window
    j = 10
    assert res.display[int(2.5 * (ys.start + j)) - 30 + 1, int(2.5 * (xs.start + j)) - 20 + 1] == res.map.ratio[j, j]
    assert np.isnan(res.display[0, 0])  # near the region's edge: left out


def test_display_map_of_the_whole_grid_has_every_pixel():
    hr, lr = _slice()
    req = FrameRequest(1, SliceKey(0, "axial", 0, True), SliceSource.of(lr), (2.5, 2.5), (0, 0, 240, 240))
    cm = ConsistencyGuard(lr, 2.5).check((hr * 1000.0).astype(np.float32))
    d = display_map(cm, req)
    j = np.floor((np.arange(240) + 0.5) * 96 / 240).astype(int)  # the LR pixel under each SR pixel's centre
    assert np.isfinite(d).all()
    np.testing.assert_array_equal(d, cm.ratio[np.ix_(j, j)])
