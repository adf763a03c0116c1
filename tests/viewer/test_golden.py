"""Golden images: the panes as a reader sees them, on the bundled sample scan with the
bundled weights, compared with stored pictures (tests/viewer/golden/*.png) within a
tolerance (``tests/viewer/golden.py`` says which and why: pictures within a bfloat16
trunk's rounding and font differences pass; a wrong zoom, pan, pane or frame fails).

States: ``fit`` (axial, the middle slice, fitted), ``x2.5`` (side by side, SR on),
``difference``, ``swipe`` and ``loupe`` (hold M over the SR pane) at x2.5, and
``coronal`` (fitted).  Each picture is the compare view only (no menus, toolbar or
status bar), 900x440 pixels whatever the window chrome takes, saved at half size.
Everything is pinned: a temporary settings file, the CPU engine, the window size, and
each picture is taken once the current request's bicubic *and* Meta-SRGAN frames are
on screen and the consistency guard has checked the Meta-SRGAN frame.  The overlay's frame and encode times (the only text that changes from run
to run) are blanked before each picture; the rest of the text is held to a looser
tolerance than the image (fonts differ between machines).

Regenerate the references (one command) when the panes change on purpose (a new
label, a new title, another layout, retrained weights)::

    METAZOOM_UPDATE_GOLDEN=1 pytest tests/viewer/test_golden.py

then look at the new PNGs before committing them: a regeneration accepts whatever the
panes show.  Never regenerate to make a failure go away without knowing its cause.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from . import golden

STATES = ("fit", "x2.5", "difference", "swipe", "loupe", "coronal")
UPDATE = os.environ.get("METAZOOM_UPDATE_GOLDEN") == "1"
SR_TIMEOUT_S = 120.0


def _frames_final(live) -> bool:
    return (live.request is not None and live._current(live.bicubic) and not live.sr_pending() and getattr(live, "_pending_views", None) is None
            and live.guard.settled())


def _picture(win) -> np.ndarray:
    live = win.live
    golden.wait_until(lambda: _frames_final(live), SR_TIMEOUT_S, "the Meta-SRGAN frame")
    # frame and encode times change from run to run: blank them (the device stays)
    live.last_sr_ms = live.last_encode_ms = None
    live._update_overlay()
    golden.settle()
    return golden.grab(win.view)


@pytest.fixture(scope="module")
def shots(qapp, tmp_path_factory):
    from engine import load_upscaler

    return capture(load_upscaler(None, device="cpu"), tmp_path_factory.mktemp("golden") / "metazoom.ini")


def capture(upscaler, ini) -> dict[str, np.ndarray]:
    """Every state's picture, plus perturbed ones for the negative checks: one window,
    one encode of the slice, states in an order that reuses it."""
    from PySide6.QtCore import QSettings

    from engine.io import load
    from viewer.resources import SAMPLE_SCAN
    from viewer.scan.scan import Scan
    from viewer.settings import Settings
    from viewer.widgets.background import Background
    from viewer.widgets.live_zoom import frame_rect
    from viewer.widgets.main_window import MainWindow

    settings = Settings(QSettings(str(ini), QSettings.IniFormat))
    win = MainWindow(settings, upscaler=upscaler)
    win.show()
    for _ in range(3):  # the menus and toolbar may take another height at another width
        golden.settle()
        chrome = win.size() - win.view.size()
        win.resize(golden.VIEW_SIZE[0] + chrome.width(), golden.VIEW_SIZE[1] + chrome.height())
        golden.settle()
        if (win.view.width(), win.view.height()) == golden.VIEW_SIZE:
            break
    assert (win.view.width(), win.view.height()) == golden.VIEW_SIZE, f"the panes are {win.view.width()}x{win.view.height()}"
    live, s = win.live, win.state
    out = {}
    try:
        win.show_scan(Scan(load(SAMPLE_SCAN), SAMPLE_SCAN, "sample"))
        out["fit"] = _picture(win)
        fit_zoom, centre = s.zoom, s.center
        # negative checks: a pan by one screen pixel, a zoom 4% off
        s.update(center=live.viewport(win.view.right).center_after_pan(1, 0))
        out["fit panned 1 px"] = _picture(win)
        s.set_zoom(fit_zoom * 1.04, centre)
        out["fit zoomed 4%"] = _picture(win)

        live.reset_view(zoom=2.5)
        out["x2.5"] = _picture(win)
        # bicubic where the Meta-SRGAN frame belongs (as if it never came)
        right = win.view.right
        right.set_image(live.bicubic.pixels, frame_rect(live.bicubic), right.levels())
        golden.settle()
        out["x2.5 bicubic in the SR pane"] = golden.grab(win.view)
        live.refresh()  # a new request puts the right frames back

        for mode in ("difference", "swipe"):
            s.update(compare=mode)
            out[mode] = _picture(win)
        s.update(compare="side_by_side")
        _picture(win)

        loupe = win.tools.loupe
        loupe._on_hover(right, right.size_px[0] / 2, right.size_px[1] / 2)
        loupe.hold(True)
        golden.wait_until(lambda: loupe.last is not None and loupe.last[0] == "sr", SR_TIMEOUT_S, "the loupe's Meta-SRGAN picture")
        out["loupe"] = _picture(win)
        loupe.hold(False)

        s.set_plane("coronal")
        out["coronal"] = _picture(win)
    finally:
        # background jobs (the MR presets) deliver first: one that outlives the window fails
        golden.wait_until(lambda: all(b.busy == 0 for b in win.findChildren(Background)), 30, "the window's background jobs")
        win.close()  # stops the tools' and the renderer's workers
        win.deleteLater()
        golden.settle()
    return out


@pytest.mark.slow
@pytest.mark.parametrize("state", STATES)
def test_panes_match_the_golden_image(shots, state):
    picture = shots[state]
    if UPDATE:
        path = golden.save(state, picture)
        pytest.skip(f"regenerated {path.relative_to(golden.GOLDEN.parent.parent.parent)}")
    reference = golden.load(state)
    assert reference is not None, f"no golden image for {state!r}: METAZOOM_UPDATE_GOLDEN=1 pytest tests/viewer/test_golden.py"
    diff = golden.compare(picture, reference, golden.DIFFERENCE_MEAN_TOL if state == "difference" else golden.MEAN_TOL)
    assert diff.ok, f"{state}: {diff} (regenerate only if the change is meant: see this file's docstring)"


@pytest.mark.slow
@pytest.mark.parametrize("state, perturbed", [
    ("fit", "fit panned 1 px"),
    ("fit", "fit zoomed 4%"),
    ("x2.5", "x2.5 bicubic in the SR pane"),
    ("x2.5", "x2.5 panes swapped"),
    ("x2.5", "x2.5 without the loupe"),
])
def test_the_comparison_fails_on_a_wrong_picture(shots, state, perturbed):
    """The tolerance is tight enough: each of these differs from ``state``'s picture
    (taken in the same run, so this holds right after a regeneration too)."""
    if perturbed == "x2.5 panes swapped":
        a = shots[state]
        half = a.shape[1] // 2
        picture = np.concatenate([a[:, half + 1:], a[:, half:half + 1], a[:, :half]], axis=1)
    elif perturbed == "x2.5 without the loupe":
        state, picture = "loupe", shots["x2.5"]
    else:
        picture = shots[perturbed]
    assert picture.shape == shots[state].shape
    diff = golden.compare(picture, shots[state])
    assert not diff.ok, f"{perturbed} passes as {state}: {diff}"


def test_the_comparison_passes_small_noise_and_a_few_odd_pixels(rng):
    """What the tolerance lets through: a grey level here and there (bf16 against
    float32 trunks, rounding) and text drawn differently (fonts)."""
    a = rng.integers(0, 256, (220, 450, 4), dtype=np.uint8)
    a[..., 3] = 255
    a[:10, :40, 3] = 0  # text
    b = a.copy()
    noisy = rng.random(a.shape[:2]) < 0.05  # 5% of the pixels one level off
    b[noisy, :3] = np.clip(b[noisy, :3].astype(np.int16) + 1, 0, 255).astype(np.uint8)
    b[:10, :40, :3] = 255 - b[:10, :40, :3]  # different text: 400 pixels, 0.4%
    assert golden.compare(a, b).ok
    b[60:80, :40, :3] = 255 - b[60:80, :40, :3]  # the same change in the image fails
    assert not golden.compare(a, b).ok
    assert not golden.compare(a, a[:, ::-1]).ok
    assert not golden.compare(a, a[:-2]).ok
