"""The panes say what they show: the AI label, SR off on a quantitative map (until
the user turns it on), no letters or mm without geometry, the difference pane's own
scale, and the background encodes' progress."""

from __future__ import annotations

from viewer.model.sr_policy import AI_LABEL
from viewer.scan.scan import Scan

from .conftest import wait_frames
from .fakes import synthetic_volume


def _titles(win):
    return {p.role: p.overlay.corners["top_left"].text() for p in win.view.visible_panes()}


def test_sr_panes_carry_the_ai_label_and_the_difference_pane_its_scale(window, qtbot):
    titles = _titles(window)
    assert AI_LABEL in titles["sr"] and AI_LABEL not in titles["bicubic"]
    window.state.set_compare("difference")
    wait_frames(qtbot, window.live)
    diff = next(p for p in window.view.visible_panes() if p.role == "difference")
    qtbot.waitUntil(lambda: "|SR − bicubic| 0 to" in diff.overlay.corners["bottom_right"].text(), timeout=5000)
    assert "W " not in diff.overlay.corners["bottom_right"].text()


def test_a_quantitative_map_opens_with_sr_off_and_the_user_may_turn_it_on(make_window, qtbot):
    vol = synthetic_volume(shape=(64, 60, 6))
    vol.meta.units = "Hz"
    win = make_window()
    win.show_scan(Scan(vol, label="fieldmap"))
    win.state.set_zoom(2.0)
    wait_frames(qtbot, win.live)
    assert not win.live.request.want_sr and win.live.sr_blocked.startswith("a field map")
    assert "showing bicubic (SR off: a field map in Hz" in _titles(win)["sr"]
    assert "Meta-SRGAN is off" in win.statusBar().currentMessage()
    win.menus.actions["sr_on"].setChecked(True)
    wait_frames(qtbot, win.live)
    assert win.live.request.want_sr and win.live.sr is not None and win.live._current(win.live.sr)
    assert "showing bicubic" not in _titles(win)["sr"]


def test_no_geometry_no_letters_and_no_mm(make_window, qtbot):
    vol = synthetic_volume(shape=(64, 60, 6))
    vol.meta.warnings.append("no ImagePositionPatient/ImageOrientationPatient: shown as axial, slices in InstanceNumber order")
    win = make_window()
    win.show_scan(Scan(vol, label="us"))
    wait_frames(qtbot, win.live)
    pane = win.view.right
    assert all(lab.text() == "" for lab in pane.overlay.letters.values())
    assert "mm" not in pane.overlay.corners["bottom_left"].text()


def test_the_overlay_counts_the_slices_ready_for_sr(window, qtbot):
    live = window.live
    n = window.state.n_slices
    assert f"SR ready for" in window.view.right.overlay.corners["top_right"].text()
    live._prefetch()  # as once the view has been still
    qtbot.waitUntil(lambda: live.renderer.ready_slices(live.scan.token, window.state.plane) == n, timeout=20000)
    qtbot.waitUntil(lambda: "SR ready for" not in window.view.right.overlay.corners["top_right"].text(), timeout=3000)


def test_sr_panes_name_the_model_that_made_them(make_window, phantom_scan, qtbot, tmp_path):
    from .fakes import RecordingUpscaler

    up = RecordingUpscaler()
    up.info.path = tmp_path / "brain_t1.safetensors"  # a site's own weights
    win = make_window(up)
    win.show_scan(phantom_scan)
    wait_frames(qtbot, win.live)
    titles = _titles(win)
    assert titles["sr"].startswith("META-SRGAN (brain_t1.safetensors)") and titles["bicubic"] == "BICUBIC"
    win.state.set_compare("swipe")
    wait_frames(qtbot, win.live)
    assert _titles(win)["swipe"].startswith("BICUBIC ◂ ▸ META-SRGAN (brain_t1.safetensors)")
