"""The consistency guard in the panes: the SR panes' line for the frame on screen (never
an older frame's), the Difference mode's third pane (the disagreement map in noise
sigmas, its own scale), and the data-consistent rendering (a remembered setting)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.consistency import ConsistencyGuard
from viewer.model import data_guard
from viewer.render.consistency import display_map, one_blas_thread
from viewer.settings import Settings

from .conftest import wait_frames
from .fakes import RecordingUpscaler


def _checked(qtbot, live, timeout=30000):
    wait_frames(qtbot, live)
    qtbot.waitUntil(lambda: live.guard.current() is not None, timeout=timeout)
    return live.guard.current()


def _top_right(pane) -> str:
    return pane.overlay.corners["top_right"].text()


def _want(live):
    """The engine guard's answer for the frame on screen."""
    req = live.request
    with one_blas_thread():
        return ConsistencyGuard(req.pixels, req.scale).check(live.sr.pixels, req.region, bicubic=live.bicubic.pixels)


def test_the_sr_panes_say_how_much_of_the_frame_on_screen_agrees_with_the_data(make_window, phantom_scan, qtbot):
    # SR = bicubic + 1: well within the phantom's noise
    win = make_window(RecordingUpscaler(offset=1.0))
    win.show_scan(phantom_scan)
    win.state.set_zoom(2.0)
    res = _checked(qtbot, win.live)
    want = _want(win.live)
    assert res.map.within == want.within > 0.9 and res.text == want.summary()
    assert res.text == f"consistent: {100 * want.within:.1f}% of pixels within noise"
    qtbot.waitUntil(lambda: res.text in _top_right(win.view.right))
    assert res.text not in _top_right(win.view.left)  # the bicubic pane has no SR to check


def test_an_sr_frame_far_from_the_data_is_flagged(make_window, phantom_scan, qtbot):
    win = make_window(RecordingUpscaler(offset=300.0))  # far above the noise everywhere
    win.show_scan(phantom_scan)
    win.state.set_zoom(2.0)
    res = _checked(qtbot, win.live)
    assert res.map.within == 0.0 and np.nanmin(res.map.ratio) > data_guard.SCALE_TOP
    qtbot.waitUntil(lambda: "consistent: 0.0% of pixels within noise" in _top_right(win.view.right))


def test_an_answer_for_another_frame_is_never_shown(make_window, phantom_scan, qtbot):
    win = make_window(RecordingUpscaler(offset=300.0))
    live = win.live
    win.show_scan(phantom_scan)
    win.state.set_compare("difference")
    win.state.set_zoom(2.0)
    first = _checked(qtbot, live)
    # a late answer for that frame, told apart by its number
    late = replace(first, map=replace(first.map, within=0.123))
    third = win.view.third
    assert third.base.isVisible()
    # a pan: same slice and zoom; the map stays where it lies until the new one comes
    win.state.update(center=live.viewport().center_after_pan(7, 0))
    assert live.request is not first.request and third.base.isVisible()
    live.guard._on_result(late)
    assert live.guard.result is not late and "12.3%" not in _top_right(win.view.right)
    second = _checked(qtbot, live)
    assert second.request is live.request and second.text in _top_right(win.view.right)
    # another slice: the map leaves with the old slice's frames; the number waits for its own answer
    live.upscaler.delay_s = 0.3  # the SR frame comes well after the bicubic one
    win.state.step_slice(1)
    qtbot.waitUntil(lambda: live._current(live.bicubic))
    assert not live._current(live.sr)
    assert not third.base.isVisible() and second.text not in _top_right(win.view.right)
    live.guard._on_result(replace(second, map=replace(second.map, within=0.123)))
    assert "12.3%" not in _top_right(win.view.right)
    third_answer = _checked(qtbot, live)
    assert third_answer.request.key.index == second.request.key.index + 1 and third.base.isVisible()


def test_the_difference_mode_shows_the_disagreement_map_in_its_own_scale(make_window, phantom_scan, qtbot):
    win = make_window(RecordingUpscaler(offset=30.0), size=(1200, 560))
    live = win.live
    win.show_scan(phantom_scan)
    win.state.set_zoom(2.5)
    win.state.set_compare("difference")
    res = _checked(qtbot, live)
    roles = [p.role for p in win.view.visible_panes()]
    assert roles == ["sr", "difference", "disagreement"]
    pane = win.view.third
    qtbot.waitUntil(lambda: pane.base.image is not None and pane.base.isVisible())
    np.testing.assert_array_equal(pane.base.image, display_map(res.map, live.request))
    assert pane.levels() == (0.0, data_guard.SCALE_TOP)
    assert pane.overlay.scale.isVisible() and pane.overlay.scale._units == data_guard.UNITS
    assert "DATA DISAGREEMENT" in pane.overlay.corners["top_left"].text()
    assert pane.overlay.corners["bottom_right"].text().startswith(data_guard.legend_text()) and "W " not in pane.overlay.corners["bottom_right"].text()
    # the mouse over the map reads the disagreement under it
    w, h = pane.size_px
    live._on_hover(pane, w / 2, h / 2)
    oy, ox = live.viewport(pane).origin
    top, left, _, _ = live.request.region
    want = data_guard.value_text(float(res.display[int(oy + h / 2) - top, int(ox + w / 2) - left]))
    assert want in pane.overlay.corners["bottom_right"].text() and "× noise" in want
    live._on_hover(pane, -1, -1)
    # the window does not reach the map (it is not windowed)
    win.state.set_window(100.0, 50.0)
    assert pane.levels() == (0.0, data_guard.SCALE_TOP)
    win.state.set_compare("side_by_side")
    wait_frames(qtbot, live)
    assert win.view.third.isHidden() and len(win.view.visible_panes()) == 2


def test_data_consistent_rendering_is_a_remembered_setting_and_the_panes_say_so(make_window, phantom_scan, qtbot, qsettings):
    win = make_window(RecordingUpscaler(offset=300.0))
    live = win.live
    assert not win.menus.actions["data_consistent"].isChecked() and not live.guard.data_consistent  # off by default
    win.show_scan(phantom_scan)
    win.state.set_zoom(2.0)
    raw = _checked(qtbot, live)
    raw_pixels = live.sr.pixels
    assert not live.sr.data_consistent and data_guard.DATA_CONSISTENT not in _top_right(win.view.right)

    win.menus.actions["data_consistent"].setChecked(True)
    qtbot.waitUntil(lambda: live._current(live.sr) and live.sr.data_consistent, timeout=30000)
    res = _checked(qtbot, live)
    req = live.request
    with one_blas_thread():
        want = ConsistencyGuard(req.pixels, req.scale).project(raw_pixels, req.region)
    np.testing.assert_allclose(live.sr.pixels, want, rtol=1e-5, atol=1e-3)
    assert raw.map.within == 0.0 and res.map.within > 0.95  # projected onto the data: back within noise
    qtbot.waitUntil(lambda: f"{data_guard.DATA_CONSISTENT} · consistent:" in _top_right(win.view.right))
    assert Settings(qsettings).data_consistent

    win.menus.actions["data_consistent"].setChecked(False)
    qtbot.waitUntil(lambda: live._current(live.sr) and not live.sr.data_consistent, timeout=30000)
    assert not Settings(qsettings).data_consistent


def test_a_new_window_starts_with_the_remembered_rendering(make_window, settings):
    settings.data_consistent = True
    win = make_window()
    assert win.live.guard.data_consistent and win.menus.actions["data_consistent"].isChecked()


def test_above_x8_the_guard_says_it_did_not_check_and_projects_nothing(make_window, phantom_scan, qtbot):
    win = make_window(RecordingUpscaler(offset=300.0))
    live = win.live
    win.show_scan(phantom_scan)
    win.live.guard.set_data_consistent(True)
    win.state.set_zoom(10.0)
    wait_frames(qtbot, live)
    assert live.guard.settled() and live.guard.current() is None
    assert not live.sr.data_consistent  # nothing projected, and the panes do not claim it
    qtbot.waitUntil(lambda: data_guard.NOT_CHECKED in _top_right(win.view.right))
    assert data_guard.DATA_CONSISTENT not in _top_right(win.view.right)
