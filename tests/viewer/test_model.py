"""The Qt-free display model: viewport geometry, wheel, state, windowing."""

from __future__ import annotations

import pytest

from engine.geometry import output_size
from viewer.model.interaction import WheelInterpreter
from viewer.model.view_state import ViewState
from viewer.model.viewport import Viewport, axis_scales, fit_zoom
from viewer.model.windowing import drag_window


def test_axis_scales_keep_true_aspect():
    # 0.41 mm columns, 1.5 mm rows (a coronal view of an axial series)
    ry, rx = axis_scales(2.0, (1.5, 0.41))
    assert rx == pytest.approx(2.0)
    assert ry == pytest.approx(2.0 * 1.5 / 0.41)
    assert axis_scales(3.0, (0.5, 0.5)) == (3.0, 3.0)


def test_viewport_grid_is_the_engines_grid():
    vp = Viewport((512, 512), (0.41, 0.41), 2.37, (256.0, 256.0), (1024, 768))
    assert vp.scale == (2.37, 2.37)
    assert vp.grid_shape == (output_size(512, 2.37), output_size(512, 2.37)) == (1213, 1213)
    top, left, h, w = vp.region()
    assert (h, w) == (768, 1024)
    # centred: the pane's middle is the slice's middle
    assert vp.to_slice(512, 384) == pytest.approx((256.0, 256.0), abs=1 / 2.37)


def test_region_is_clipped_to_the_grid():
    vp = Viewport((100, 100), (1, 1), 1.5, (0.0, 0.0), (400, 300))
    top, left, h, w = vp.region()
    assert (top, left) == (0, 0)
    assert (h, w) == (150, 150)
    assert Viewport((100, 100), (1, 1), 1.5, (1000.0, 1000.0), (400, 300)).region() is None


def test_zoom_about_the_cursor_keeps_the_point_under_it():
    vp = Viewport((256, 256), (1, 1), 2.0, (128.0, 100.0), (800, 600))
    x, y = 620.0, 150.0
    before = vp.to_slice(x, y)
    center = vp.center_after_zoom(3.1, x, y)
    after = Viewport(vp.shape, vp.spacing, 3.1, center, vp.size).to_slice(x, y)
    # within one screen pixel of the new zoom (the origin snaps to whole grid pixels)
    assert after[0] == pytest.approx(before[0], abs=1 / 3.1)
    assert after[1] == pytest.approx(before[1], abs=1 / 3.1)


def test_pan_moves_by_screen_pixels():
    vp = Viewport((256, 256), (1, 1), 2.0, (128.0, 128.0), (800, 600))
    assert vp.center_after_pan(40, -20) == pytest.approx((108.0, 138.0))


def test_fit_zoom_fits():
    z = fit_zoom((1024, 768), (512, 512), (0.41, 0.41))
    assert z == pytest.approx(1.5)
    vp = Viewport((512, 512), (0.41, 0.41), z, (256.0, 256.0), (1024, 768))
    assert vp.grid_shape[0] <= 768


def test_wheel_default_and_clinical_conventions():
    w = WheelInterpreter("zoom")
    a = w.interpret(120, ctrl=False)
    assert a.kind == "zoom" and a.zoom_factor == pytest.approx(2**0.25)
    assert w.interpret(-240, ctrl=False).zoom_factor == pytest.approx(2**-0.5)
    assert w.interpret(120, ctrl=True).slice_steps == 1
    w.convention = "slice"
    assert w.interpret(-120, ctrl=False).slice_steps == -1
    assert w.interpret(120, ctrl=True).kind == "zoom"
    # touchpad: fractions of a notch add up to a slice
    steps = [w.interpret(40, ctrl=False).slice_steps for _ in range(3)]
    assert steps == [0, 0, 1]
    with pytest.raises(ValueError):
        w.convention = "scroll"


def test_view_state_slices_and_planes():
    s = ViewState()
    seen = []
    s.connect(seen.append)
    s.reset_scan({"axial": 10, "coronal": 64, "sagittal": 80})
    assert s.index == 5
    s.set_index(99)
    assert s.index == 9
    s.step_slice(-20)
    assert s.index == 0
    s.set_plane("coronal")
    assert (s.plane, s.index) == ("coronal", 32)
    s.set_index(3)
    s.set_plane("axial")
    assert s.index == 0  # remembered
    s.set_plane("coronal")
    assert s.index == 3
    assert all(isinstance(c, frozenset) and c for c in seen)
    with s.blocked():
        s.update(zoom=3.0)
    assert seen[-1] != frozenset({"zoom"})


def test_windowing():
    c, w = drag_window((100.0, 200.0), dx=200, dy=0)
    assert (c, w) == (100.0, 400.0)
    c, w = drag_window((100.0, 200.0), dx=0, dy=-400)
    assert (c, w) == (300.0, 200.0)


def test_wheel_notches_land_exactly_on_round_zooms():
    s = ViewState()
    s.set_zoom(1.0)
    for _ in range(8):
        s.set_zoom(s.zoom * 2**0.25)
    assert s.zoom == 4.0
    s.set_zoom(2.5)
    assert s.zoom == 2.5
    s.set_zoom(1.189207115002721)
    assert s.zoom == 1.189207115002721
