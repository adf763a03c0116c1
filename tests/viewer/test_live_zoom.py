"""The two panes stay locked, the wheel zooms by the expected factor and the
engine is asked for exactly that factor, stale frames never reach the screen."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent

from engine.windowing import levels
from viewer.model.interaction import ZOOM_PER_NOTCH

from .conftest import wait_frames
from .fakes import RecordingUpscaler


def wheel(pane, delta=120, pos=None, modifiers=Qt.NoModifier):
    vp = pane.viewport()
    pos = QPointF(pos if pos is not None else QPointF(vp.width() / 2, vp.height() / 2))
    ev = QWheelEvent(pos, QPointF(vp.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, delta), Qt.NoButton, modifiers, Qt.NoScrollPhase, False)
    pane.wheelEvent(ev)


def view_rects(win):
    return [tuple(round(v, 6) for v in p.view_rect().getRect()) for p in win.view.visible_panes()]


def image_rects(win):
    return [tuple(round(v, 6) for v in p.base.mapRectToParent(p.base.boundingRect()).getRect()) for p in win.view.visible_panes()]


def assert_locked(win):
    left, right = win.view.left, win.view.right
    assert left.size_px == right.size_px
    assert view_rects(win)[0] == view_rects(win)[1]
    assert image_rects(win)[0] == image_rects(win)[1]
    assert left.levels() is not None and left.levels() == right.levels() == pytest.approx(levels(win.state.window))
    # both panes show frames of the same request (same slice, zoom, region)
    assert left.shown_tag[0] == right.shown_tag[0] == win.live.request.generation


def test_panes_locked_through_zoom_pan_slice_and_window(window, qtbot):
    live, s = window.live, window.state
    assert_locked(window)
    wheel(window.view.right, 240, QPointF(300, 200))
    wait_frames(qtbot, live)
    assert_locked(window)
    live._on_drag_started(window.view.left, "pan", 10, 10)
    live._on_dragged(window.view.left, "pan", 37, -21, 47, -11)
    wait_frames(qtbot, live)
    assert_locked(window)
    s.step_slice(2)
    wait_frames(qtbot, live)
    assert_locked(window)
    assert live.request.key.index == s.index
    s.set_window(250.0, 300.0)
    assert_locked(window)
    assert window.view.left.levels() == (100.0, 400.0)


def test_wheel_zooms_by_the_expected_factor_and_the_engine_renders_it(window, qtbot):
    live, up = window.live, window.live.upscaler
    z0 = window.state.zoom
    pane = window.view.right
    anchor = QPointF(pane.size_px[0] * 0.7, pane.size_px[1] * 0.3)
    before = live.viewport(pane).to_slice(anchor.x(), anchor.y())
    up.renders.clear()
    wheel(pane, 120, anchor)
    assert window.state.zoom == pytest.approx(z0 * ZOOM_PER_NOTCH)
    wait_frames(qtbot, live)
    after = live.viewport(pane).to_slice(anchor.x(), anchor.y())
    assert after == pytest.approx(before, abs=1.0 / window.state.zoom + 1e-9)
    # the phantom has square 0.5 mm pixels: the engine gets (z, z), exactly
    expect = (z0 * ZOOM_PER_NOTCH,) * 2
    assert up.renders[-1][0] == pytest.approx(expect, rel=1e-12)
    assert live.request.scale == pytest.approx(expect, rel=1e-12)
    # zooming out with the wheel
    wheel(pane, -120, anchor)
    assert window.state.zoom == pytest.approx(z0)


def test_ctrl_wheel_moves_slices_and_the_clinical_setting_swaps(window, qtbot):
    s = window.state
    i0, z0 = s.index, s.zoom
    wheel(window.view.left, 120, modifiers=Qt.ControlModifier)
    assert (s.index, s.zoom) == (i0 + 1, z0)
    window.set_wheel_convention("slice")
    wheel(window.view.left, -120)
    assert (s.index, s.zoom) == (i0, z0)
    wheel(window.view.left, 120, modifiers=Qt.ControlModifier)
    assert s.zoom == pytest.approx(z0 * ZOOM_PER_NOTCH)


def test_anisotropic_pixels_get_per_axis_factors(make_window, qtbot):
    from viewer.scan.scan import Scan

    from .fakes import synthetic_volume

    win = make_window()
    win.show_scan(Scan(synthetic_volume(shape=(64, 40, 12), spacing=(0.5, 0.5, 1.0))))
    win.state.set_plane("coronal")  # rows 1 mm, columns 0.5 mm
    win.state.set_zoom(1.5)
    wait_frames(qtbot, win.live)
    assert win.live.request.scale == pytest.approx((3.0, 1.5))
    assert win.live.upscaler.renders[-1][0] == pytest.approx((3.0, 1.5))
    # rows beyond x4: the network runs at x4 there and bicubic does the rest
    win.state.set_zoom(2.5)
    wait_frames(qtbot, win.live)
    assert win.live.request.scale == pytest.approx((5.0, 2.5))
    assert win.live.upscaler.renders[-1][0] == pytest.approx((4.0, 2.5))
    assert "SR at rows x4, cols x2.50 + bicubic" in win.view.right.overlay.corners["top_right"].text()
    # the bicubic pane says nothing about SR
    assert "SR" not in win.view.left.overlay.corners["top_right"].text()


def test_stale_frames_are_dropped(make_window, phantom_scan, qtbot):
    win = make_window(RecordingUpscaler(delay_s=0.03))
    win.show_scan(phantom_scan)
    live = win.live
    for _ in range(8):
        wheel(win.view.right, 60)
    wait_frames(qtbot, live)
    last = live.request
    assert live.sr.request is last and live.bicubic.request is last
    # frames of older requests that arrive now are not shown
    from viewer.render.frames import Frame

    old = Frame(type(last)(last.generation - 1, last.key, last.pixels, last.scale, last.region), "sr", np.zeros((1, 1), np.float32))
    shown_before = win.view.right.shown_tag
    dropped = live.stale_dropped
    live._on_frame(old)
    assert live.stale_dropped == dropped + 1 and win.view.right.shown_tag == shown_before


def test_keys_change_slice_plane_and_reset(window, qtbot):
    s = window.state
    i0 = s.index
    qtbot.keyClick(window.view.right, Qt.Key_Up)
    assert s.index == i0 + 1
    qtbot.keyClick(window.view.right, Qt.Key_Right)  # Right / Left step slices too
    qtbot.keyClick(window.view.right, Qt.Key_Right)
    qtbot.keyClick(window.view.right, Qt.Key_Left)
    assert s.index == i0 + 2
    qtbot.keyClick(window.view.right, Qt.Key_Left)
    qtbot.keyClick(window.view.right, Qt.Key_PageDown)
    assert s.index == i0 + 1 - 5
    qtbot.keyClick(window.view.right, Qt.Key_2)
    assert s.plane == "coronal"
    wait_frames(qtbot, window.live)
    z_fit = s.zoom
    window.live.zoom_by(3.0)
    qtbot.keyClick(window.view.right, Qt.Key_R)
    assert s.zoom == pytest.approx(z_fit)
    qtbot.keyClick(window.view.right, Qt.Key_1)
    assert s.plane == "axial"


def test_compare_modes(window, qtbot):
    live, s = window.live, window.state
    s.set_compare("difference")
    wait_frames(qtbot, live)
    diff = window.view.right
    assert diff.role == "difference" and window.view.left.role == "sr"
    img = diff.base.image
    np.testing.assert_allclose(img, 1.0, atol=1e-3)  # the fake SR is bicubic + 1
    assert diff.base.levels[0] == 0.0
    s.set_compare("swipe")
    wait_frames(qtbot, live)
    assert window.view.left.isHidden() and window.view.right.role == "swipe"
    s.update(swipe=0.45)  # the slice fills the middle of the wide single pane
    top = window.view.right.top
    assert top.isVisible() and top.image.shape[1] < live.sr.pixels.shape[1]
    s.set_compare("single")
    s.update(single_shows="bicubic")
    wait_frames(qtbot, live)
    assert not live.request.want_sr


def test_radiological_toggle_mirrors_the_slice(window, qtbot):
    live = window.live
    rad = live.source.pixels().copy()
    assert live.slice.letters[2:] == ("R", "L")
    window.set_radiological(False)
    wait_frames(qtbot, live)
    np.testing.assert_array_equal(live.source.peek(), rad[:, ::-1])
    assert live.slice.letters[2:] == ("L", "R")
    assert window.view.left.overlay.letters["left"].text() == "L"


def test_overlay_reads_out_the_numbers(window, qtbot):
    live = window.live
    pane = window.view.right
    text = pane.overlay.corners["bottom_left"].text()
    assert f"{window.state.index + 1}/{window.state.n_slices}" in text and "mm" in text
    assert "CPU · Winograd fp32" in pane.overlay.corners["top_right"].text()  # the device and the trunk's backend
    w, h = pane.size_px
    live._on_hover(pane, w / 2, h / 2)
    readout = pane.overlay.corners["bottom_right"].text()
    row, col = live.viewport(pane).pixel_at(w / 2, h / 2)
    assert f"[{row}, {col}]" in readout and "SR" in readout


def test_a_zoom_step_updates_the_overlay_at_once_and_once(window, qtbot, monkeypatch):
    """The zoom factor follows the wheel immediately, and the labels are laid out once
    per step (each changed label is a rich-text layout and a repaint under it)."""
    live, pane = window.live, window.view.right
    calls = []
    real = live._update_overlay
    monkeypatch.setattr(live, "_update_overlay", lambda: (calls.append(1), real()))
    old_zoom = window.state.zoom
    window.state.set_zoom(old_zoom * 1.5)
    assert len(calls) == 1
    text = pane.overlay.corners["top_right"].text()
    assert f"x{old_zoom * 1.5:.2f}" in text and f"x{old_zoom:.2f}" not in text
    wait_frames(qtbot, live)
    # a change that needs no frame (window/level) updates the labels too
    window.state.set_window(123.0, 45.0)
    assert "W 45  L 123" in pane.overlay.corners["bottom_right"].text()


def test_prefetch_order_neighbours_view_first_then_the_rest(window, qtbot, monkeypatch):
    live, s = window.live, window.state
    s.set_zoom(6.0, (72, 80))  # the phantom's slices are 144x160: the view shows a part
    wait_frames(qtbot, live)
    asked = []
    monkeypatch.setattr(live.renderer, "prefetch", lambda items: asked.extend(items))
    live._prefetch()
    view = live.view_window()
    assert view is not None and view[2] * view[3] < 0.8 * live.slice.shape[0] * live.slice.shape[1]
    here = s.index
    near = live.neighbours()
    want = [(i, view) for i in near[:2]] + [(here, None)] + [(i, view) for i in near[2:]] + [(i, None) for i in near]
    # then every other slice of the plane, whole, nearest first
    rest = sorted((i for i in range(s.n_slices) if i != here and i not in near), key=lambda i: (abs(i - here), i))
    want += [(i, None) for i in rest]
    assert [(k.index, w) for k, _, w, _ in asked] == want
    assert asked[0][1]().shape == live.slice.shape


def test_prefetch_leans_the_way_the_user_scrolls(window, qtbot):
    live, s = window.live, window.state
    assert live.prefetch_radius() == 2 and s.n_slices == 12 and s.index == 6
    assert live.neighbours() == [7, 5, 8, 9]  # nothing scrolled yet: up
    s.set_index(5)  # a step down
    assert live.neighbours() == [4, 6, 3, 2]
    s.set_index(6)
    assert live.neighbours() == [7, 5, 8, 9]
    s.set_index(11)  # the last slice, going up: the rest from behind
    assert live.neighbours() == [10, 9, 8, 7]
    s.set_index(0)
    assert live.neighbours() == [1, 2, 3, 4]


def test_the_sr_frame_takes_every_core_once_the_bicubic_frame_is_painted(window, qtbot, monkeypatch):
    live = window.live
    events = []
    monkeypatch.setattr(live.renderer, "bicubic_displayed", lambda g: events.append(("told", g)))
    for pane in window.view.visible_panes():
        paint = pane.paintEvent

        def logged(ev, paint=paint, pane=pane):
            events.append(("paint", pane.shown_tag))  # before Qt paints it
            paint(ev)

        monkeypatch.setattr(pane, "paintEvent", logged)
    live.state.set_zoom(live.state.zoom * 1.5)
    g = live.request.generation
    qtbot.waitUntil(lambda: ("told", g) in events, timeout=5000)
    told = events.index(("told", g))
    painted = [e for e in events[:told] if e[0] == "paint" and e[1] is not None and e[1][0] == g]
    assert len(painted) >= len(window.view.visible_panes())  # every pane painted it first
    assert events.count(("told", g)) == 1
