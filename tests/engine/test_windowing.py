"""The one window rule (values -> 8-bit grey) and the auto window, shared by the panes,
screenshots and PNG export."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.export.value_mapping import pick_window
from engine.io.volume import SeriesMeta, Volume
from engine.windowing import auto_window, levels, window_to_uint8


def test_window_maps_onto_0_255_to_the_nearest_grey_level():
    v = np.array([[-10.0, 100.0, 100.2, 150.0, 199.0, 200.0, 1e9, np.nan]], np.float32)
    g = window_to_uint8(v, 100.0, 200.0)
    assert g.dtype == np.uint8
    # 2.55 grey levels per unit: 0.51 -> 1, 127.5 -> 128 (halves up), 252.45 -> 252
    assert g.tolist() == [[0, 0, 1, 128, 252, 255, 255, 0]]
    # column slices (the swipe's right half) work as they are
    np.testing.assert_array_equal(window_to_uint8(v[:, 2:], 100.0, 200.0), g[:, 2:])
    # never more than half a grey level from the linear map, on a dense ramp
    ramp = np.linspace(90.0, 210.0, 100001, dtype=np.float32)[None, :]
    exact = np.clip((ramp.astype(np.float64) - 100.0) * 2.55, 0, 255)
    assert np.abs(window_to_uint8(ramp, 100.0, 200.0) - exact).max() <= 0.5 + 1e-3


def test_auto_window_spans_the_robust_range():
    assert levels((40, 80)) == (0, 80)
    values = np.concatenate([np.zeros(10), np.linspace(0, 1000, 10000), np.full(10, 1e6)])
    c, w = auto_window(values)
    assert c - w / 2 == pytest.approx(5.0, abs=10) and c + w / 2 == pytest.approx(995.0, abs=10)
    assert math.isfinite(auto_window(np.array([np.nan, np.inf]))[0])


def test_export_without_a_window_takes_the_viewers_auto_window():
    vox = np.random.default_rng(0).gamma(2.0, 100.0, (64, 48, 10)).astype(np.float32)
    vol = Volume(vox, np.eye(4), SeriesMeta())
    w = pick_window(vol)
    assert (w.center, w.width) == auto_window(vox)
