"""What each pane's corners say (no Qt)."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.model.difference import difference_map
from viewer.model.interaction import Drag, zoom_about
from viewer.model.pane_text import EngineStatus, PaneFacts, engine_line, pane_corners, pane_title, progress_line, slice_line
from viewer.model.sr_policy import AI_LABEL
from viewer.model.viewport import Viewport


def facts(**kw) -> PaneFacts:
    base = dict(zoom=5.0, scale=(5.0, 5.0), sr_scale=(4.0, 4.0), engine="CPU · SR 80 ms", slice="Axial 7/12", window=(40.0, 80.0))
    return PaneFacts(**{**base, **kw})


def test_every_pane_says_what_it_shows():
    f = facts()
    bic, sr, diff = (pane_corners(r, f) for r in ("bicubic", "sr", "difference"))
    assert bic["top_left"] == "BICUBIC" and AI_LABEL not in bic["top_left"]
    assert sr["top_left"].startswith("META-SRGAN<br>") and AI_LABEL in sr["top_left"]
    assert bic["top_right"] == "x5.00"  # a bicubic pane: the zoom only
    assert sr["top_right"] == "x5.00<br>SR at x4 + bicubic<br>CPU · SR 80 ms"
    assert sr["bottom_left"] == bic["bottom_left"] == "Axial 7/12"
    assert sr["bottom_right"] == "W 80  L 40"
    assert diff["bottom_right"] == "|SR − bicubic| scale: …"  # not windowed
    assert pane_corners("difference", facts(difference_top=12.5), "<br>[1, 2] = 3")["bottom_right"] == \
        "|SR − bicubic| 0 to 12.5<br>[1, 2] = 3"


def test_an_sr_pane_showing_bicubic_says_why_and_claims_no_sr_zoom():
    f = facts(bicubic_why="Meta-SRGAN loading", engine=engine_line(EngineStatus(note="loading")))
    sr = pane_corners("sr", f)
    assert "· showing bicubic (Meta-SRGAN loading)" in sr["top_left"]
    assert sr["top_right"] == "x5.00<br>Meta-SRGAN loading…"
    assert "· no SR frame (Meta-SRGAN loading)" in pane_title("difference", f)
    assert "showing bicubic" not in pane_title("bicubic", f)
    assert engine_line(EngineStatus(note="unavailable")) == "Meta-SRGAN unavailable"


def test_titles_flag_untrained_weights_rendering_and_failure_on_sr_panes_only():
    f = facts(untrained=True, rendering=True, failed=True)
    for role in ("sr", "swipe", "difference"):
        t = pane_title(role, f)
        assert "UNTRAINED WEIGHTS" in t and "rendering…" in t and "SR failed" in t
    assert pane_title("bicubic", f) == "BICUBIC"


def test_engine_progress_and_slice_lines():
    up = EngineStatus(device="cuda", backend="PyTorch fp32", sr_ms=12.4, encode_ms=1500.0)
    assert engine_line(up) == "CUDA · PyTorch fp32 · SR 12 ms (+ encode 1.5 s)"
    assert progress_line(87, 120) == "<br>SR ready for 87/120 slices" and progress_line(120, 120) == ""
    assert slice_line("coronal", 4, 20, -3.25) == "Coronal 5/20 · -3.2 mm"
    assert slice_line("axial", 0, 1, None, "colour shown as grey").endswith("<span style='color:#e0a030'>colour shown as grey</span>")


def test_difference_map_and_its_scale():
    bic = np.zeros((100, 100), np.float32)
    sr = bic.copy()
    sr[:10, :10] = 4.0  # 1% of the pixels differ
    d, top = difference_map(sr, bic, window_width=80.0)
    assert d.max() == 4.0 and top == pytest.approx(4.0)
    _, top = difference_map(bic, bic, window_width=80.0)
    assert top == pytest.approx(0.08)  # equal frames: the floor, not noise stretched bright


def test_drags_change_the_view_from_where_they_started():
    vp = Viewport((100, 100), (1.0, 1.0), 2.0, (50.0, 50.0), (400, 300))
    drag = Drag(vp, (40.0, 80.0))
    assert drag.change("pan", 20, -10, 0, 400) == {"center": vp.center_after_pan(20, -10)}
    assert drag.change("window", 200, 0, 0, 400) == {"window": (40.0, 160.0)}  # right widens, x2 per 200 px
    assert drag.change("window", 0, 400, 0, 400) == {"window": (-40.0, 80.0)}  # down lowers the level a width
    assert drag.change("swipe", 0, 0, 100, 400) == {"swipe": 0.25}
    assert drag.change("swipe", 0, 0, 900, 400) == {"swipe": 1.0}
    assert Drag(None, (40.0, 80.0)).change("pan", 5, 5, 0, 400) == {}


def test_zoom_about_keeps_the_point_under_the_cursor():
    vp = Viewport((100, 100), (1.0, 1.0), 2.0, (50.0, 50.0), (400, 300))
    zoom, center = zoom_about(vp, 2.0, 2.0, 300, 150)
    after = Viewport((100, 100), (1.0, 1.0), zoom, center, (400, 300))
    assert zoom == 4.0 and after.to_slice(300, 150) == pytest.approx(vp.to_slice(300, 150), abs=0.3)
    assert zoom_about(vp, 2.0, 2.0) == (4.0, vp.center_after_zoom(4.0, 200, 150))


def test_sr_panes_name_the_model_that_made_them():
    from viewer.model.pane_text import pane_name

    f = facts(model="fidelity")
    assert pane_title("sr", f).startswith("META-SRGAN (fidelity)<br>")
    assert pane_title("swipe", f).startswith("BICUBIC ◂ ▸ META-SRGAN (fidelity)")
    assert pane_title("difference", f).startswith("|SR − BICUBIC| (fidelity)")
    assert pane_title("bicubic", f) == "BICUBIC"
    assert pane_name("sr", None) == "META-SRGAN"  # no engine: no model to name
    assert pane_name("sr", "brain_t1.safetensors") == "META-SRGAN (brain_t1.safetensors)"
