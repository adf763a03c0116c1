"""Screenshots: the in-app one at a chosen resolution, and the headless
``metazoom PATH --screenshot OUT.png`` under Xvfb (a real X server)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from .fakes import synthetic_volume, write_nifti

ROOT = Path(__file__).resolve().parents[2]


def test_save_screenshot_at_twice_the_resolution(window, qtbot, tmp_path):
    import qimage2ndarray
    from PySide6.QtGui import QImage

    from viewer.widgets.screenshot_dialog import ScreenshotDialog

    dlg = ScreenshotDialog(window)
    dlg.factor.setCurrentIndex(1)
    dlg.path.setText(str(tmp_path / "shot.png"))
    dlg.save()
    qtbot.waitUntil(lambda: dlg.saved is not None, timeout=20000)
    img = QImage(str(dlg.saved))
    panes = window.view.visible_panes()
    assert img.width() == 2 * sum(p.size_px[0] for p in panes) + 4
    assert img.height() == 2 * panes[0].size_px[1]
    a = qimage2ndarray.rgb_view(img)
    half = a.shape[1] // 2
    # both halves hold the phantom, and the SR half is the bicubic one + 1 (fake engine)
    assert a[:, :half].std() > 10 and a[:, half:].std() > 10


def test_a_screenshot_of_the_difference_mode_holds_the_guard_map_and_names_the_model(make_window, phantom_scan, qtbot):
    from viewer.model import data_guard
    from viewer.render.snapshot import lut_to_rgb
    from viewer.model.sr_model import model_words
    from viewer.widgets.screenshot_dialog import screenshot_panes

    from .conftest import wait_frames
    from .fakes import RecordingUpscaler

    win = make_window(RecordingUpscaler(offset=300.0), size=(1200, 560))  # SR far from the data everywhere
    win.show_scan(phantom_scan)
    win.state.set_zoom(2.0)
    win.state.set_compare("difference")
    wait_frames(qtbot, win.live)
    shots = screenshot_panes(win.live, 1)
    assert [s.role for s in shots] == ["sr", "difference", "disagreement"]
    sr, diff, guard = shots
    assert sr.guard_text == guard.guard_text == "consistent: 0.0% of pixels within noise"
    # the third pane is the guard's map (all beyond the noise: the scale's top colour), not |SR - bicubic|
    lut = data_guard.disagreement_lut()
    h, w = guard.rgb.shape[:2]
    inner = guard.rgb[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3].reshape(-1, 3)
    assert (inner == lut[-1]).all(axis=1).mean() > 0.9 and guard.diff_range == (0.0, data_guard.SCALE_TOP)
    assert not np.array_equal(guard.rgb, diff.rgb)
    assert model_words(win.live.upscaler) == "Meta-SRGAN fidelity" and model_words(None) is None
    # the data-consistent rendering, as on screen, and the picture says so
    win.live.guard.set_data_consistent(True)
    sr_dc = screenshot_panes(win.live, 1)[0]
    assert sr_dc.guard_text.startswith("data-consistent · consistent: ") and not np.array_equal(sr_dc.rgb, sr.rgb)
    assert lut_to_rgb(np.array([np.nan, 0.0, 7.0]), data_guard.SCALE_TOP, lut).tolist()[0] == [0, 0, 0]


def pane_halves(png: Path):
    from PIL import Image

    a = np.asarray(Image.open(png).convert("L"), dtype=np.float32)
    h, w = a.shape
    body = a[int(h * 0.15) : int(h * 0.9)]  # below menus, toolbar and banner; above the status bar
    return body[:, : w // 2], body[:, w // 2 :]


@pytest.mark.slow
def test_headless_screenshot_under_xvfb(tmp_path):
    xvfb_run = shutil.which("xvfb-run")
    if xvfb_run is None:
        pytest.skip("Xvfb is not installed (make system-deps installs it)")
    scan = write_nifti(tmp_path / "phantom.nii.gz", synthetic_volume(shape=(96, 88, 6)))
    out = tmp_path / "shot.png"
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env["QT_QPA_PLATFORM"] = "xcb"
    cmd = [xvfb_run, "-a", "-s", "-screen 0 1400x900x24", sys.executable, "-m", "viewer", str(scan), "--slice", "2", "--zoom", "3",
           "--size", "1200x700", "--screenshot", str(out), "--settings", str(tmp_path / "s.ini"), "--device", "cpu", "--timeout", "120"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    left, right = pane_halves(out)
    for pane in (left, right):
        assert pane.std() > 15, "a pane is blank"
        assert (pane > 100).mean() > 0.02  # the phantom, not just overlay text
    # same slice, zoom and window: the two panes match closely (untrained weights = bicubic)
    w = min(left.shape[1], right.shape[1])
    assert np.abs(left[:, 60 : w - 60].mean() - right[:, 60 : w - 60].mean()) < 8
