"""Mouse gestures, window presets, drag and drop, and Help > About."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from viewer.model.windowing import STANDARD_PRESETS

from .conftest import wait_frames
from .fakes import RecordingUpscaler, write_nifti


def drag(qtbot, pane, button, start, end):
    vp = pane.viewport()
    qtbot.mousePress(vp, button, pos=QPoint(*start))
    qtbot.mouseMove(vp, QPoint(*end))
    qtbot.mouseRelease(vp, button, pos=QPoint(*end))


def test_middle_drag_pans_both_panes_and_right_drag_windows(window, qtbot):
    s, pane = window.state, window.view.left
    c0, (wc, ww) = s.center, s.window
    z = window.live.viewport(pane).factors[1]
    drag(qtbot, pane, Qt.MiddleButton, (200, 200), (260, 180))
    assert s.center[0] == pytest.approx(c0[0] - 60 / z, abs=1e-6)
    wait_frames(qtbot, window.live)
    assert window.view.left.view_rect() == window.view.right.view_rect()
    drag(qtbot, pane, Qt.RightButton, (200, 200), (400, 200))
    assert s.window == pytest.approx((wc, 2 * ww))
    # left drag does nothing until pan mode is on
    c1 = s.center
    drag(qtbot, pane, Qt.LeftButton, (200, 200), (300, 300))
    assert s.center == c1
    window.menus.actions["pan_mode"].trigger()
    drag(qtbot, pane, Qt.LeftButton, (200, 200), (300, 300))
    assert s.center != c1


def test_window_presets_and_auto(window, qtbot):
    menu = window.menus.window_menu
    labels = [a.text() for a in menu.actions() if a.text()]
    assert labels[0].startswith("header")  # the scan's own window comes first
    brain = next(a for a in menu.actions() if a.text().startswith(STANDARD_PRESETS[0].name))
    brain.trigger()
    assert window.state.window == (40.0, 80.0)
    assert window.view.right.levels() == (0.0, 80.0)
    qtbot.keyClick(window.view.right, Qt.Key_A)
    assert window.state.window == pytest.approx(window.live.scan.auto_window)


def test_drop_a_file_opens_it(make_window, qtbot, tmp_path):
    win = make_window()
    path = write_nifti(tmp_path / "dropped.nii.gz")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    ev = QDropEvent(QPointF(50, 50), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    with qtbot.waitSignal(win.opener.opened, timeout=20000):
        win.dropEvent(ev)
    assert win.live.scan.path == path


def test_about_shows_the_weights_and_warns_when_untrained(make_window, qtbot):
    from viewer.widgets.about_dialog import AboutDialog

    win = make_window(RecordingUpscaler(trained=False))
    assert win.banner.isVisible() and "UNTRAINED" in win.banner.text()
    about = AboutDialog(win)
    html = about.text.toPlainText()
    assert "UNTRAINED WEIGHTS" in html and "meta_srgan" in html and "trained: NO" in html
    assert "Running on: CPU (Winograd fp32)" in html
    win2 = make_window(RecordingUpscaler(trained=True))
    assert not win2.banner.isVisible()
    assert "UNTRAINED" not in AboutDialog(win2).text.toPlainText()


def test_bundled_weights_sidecar_reads_in_about(make_window, qtbot, monkeypatch):
    """Without a loaded engine, About reads the bundled sidecar itself."""
    from viewer.widgets.about_dialog import AboutDialog

    win = make_window()
    monkeypatch.setattr(win.live.renderer, "upscaler", None)
    text = AboutDialog(win).text.toPlainText()
    assert "meta_srgan.safetensors" in text and "Scales" in text
    from engine.weights import BUNDLED, read_info

    info = read_info(BUNDLED)
    assert info.sha256 in text  # the whole digest, not a prefix
    assert f"mean {info.normalization['mean']:.4g}" in text and "Input normalisation" in text


def test_about_tabulates_the_held_out_scores():
    from engine.weights import WeightsInfo
    from viewer.widgets.about_dialog import weights_html

    held = {"4": {"psnr": 22.9, "ssim": 0.70, "bicubic_psnr": 22.1, "bicubic_ssim": 0.69},
            "1.1": {"psnr": 39.81, "ssim": 0.9918, "bicubic_psnr": 38.86, "bicubic_ssim": 0.9913}}
    info = WeightsInfo(arch={"name": "meta_srgan", "args": {}}, training={"trained": True}, metrics={"held_out": held, "crops": 32})
    text = weights_html(info)
    assert text.index("x1.1") < text.index("x4")  # sorted by zoom, not as text
    assert "<b>+0.95</b>" in text and "<b>+0.80</b>" in text and "crops: 32" in text


def test_about_lists_thick_slice_pairs_after_the_square_zooms():
    from engine.weights import WeightsInfo
    from viewer.widgets.about_dialog import weights_html

    row = {"psnr": 24.6, "ssim": 0.81, "bicubic_psnr": 23.1, "bicubic_ssim": 0.76}
    held = {"4x2.2": row, "2": {**row, "psnr": 32.2}, "2.2x4": row, "1.1": row}
    text = weights_html(WeightsInfo(arch={"name": "meta_srgan", "args": {}}, training={"trained": True}, metrics={"held_out": held}))
    assert text.index(">x1.1<") < text.index(">x2<") < text.index("x2.2 rows, x4 cols") < text.index("x4 rows, x2.2 cols")
    assert "+1.50" in text and "slab-averaged" in text


def test_plane_choice_without_a_scan_leaves_the_checkmark_with_the_state(make_window):
    win = make_window()
    assert win.live.scan is None and win.state.plane == "axial"
    win.menus.actions["plane_coronal"].trigger()
    assert win.state.plane == "axial"
    assert win.menus.actions["plane_axial"].isChecked() and not win.menus.actions["plane_coronal"].isChecked()
