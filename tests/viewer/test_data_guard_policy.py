"""The guard's words and colours, without Qt."""

from __future__ import annotations

import numpy as np

from engine.consistency import THRESHOLD
from viewer.model import data_guard
from viewer.render.frames import FrameRequest, SliceKey, SliceSource


def test_the_line_is_for_the_frame_on_screen_only():
    text = "consistent: 99.2% of pixels within noise"
    assert data_guard.overlay_line(text, True, False) == text
    assert data_guard.overlay_line(None, True, False) == "consistent: checking…"
    assert data_guard.overlay_line(text, True, True) == "data-consistent · " + text
    assert data_guard.overlay_line(text, False, False) == "" and data_guard.overlay_line(None, False, True) == ""


def test_the_colour_scale_turns_warm_beyond_the_noise():
    lut = data_guard.disagreement_lut()
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    t = np.linspace(0, data_guard.SCALE_TOP, 256)
    within, beyond = lut[t <= THRESHOLD], lut[t > THRESHOLD]
    assert (lut[0] == 0).all() and np.all(np.diff(within.astype(int).sum(axis=1)) >= 0)  # dark to brighter
    assert (within[:, 2] >= within[:, 0]).all() and (beyond[:, 0] > beyond[:, 2]).all()  # cool, then warm
    assert tuple(lut[-1]) == (255, 40, 30) and data_guard.SCALE_TOP == 2 * THRESHOLD
    assert data_guard.legend_text() == "0 to 6× noise · warm: beyond 3×"


def test_a_map_belongs_to_its_slice_and_zoom():
    px = np.zeros((8, 8), np.float32)
    src = SliceSource.of(px)
    key = SliceKey(1, "axial", 3, True)
    a = FrameRequest(1, key, src, (2.0, 2.0), (0, 0, 16, 16))
    panned = FrameRequest(2, key, src, (2.0, 2.0), (2, 3, 12, 12))
    zoomed = FrameRequest(3, key, src, (2.5, 2.5), (0, 0, 16, 16))
    other = FrameRequest(4, SliceKey(1, "axial", 4, True), src, (2.0, 2.0), (0, 0, 16, 16))
    assert data_guard.same_view(a, panned) and not data_guard.same_view(a, zoomed) and not data_guard.same_view(a, other)
    assert not data_guard.same_view(a, None)


def test_the_guard_runs_up_to_x8():
    assert data_guard.checkable((8.0, 2.0)) and not data_guard.checkable((2.0, 8.5))
    assert data_guard.NOT_CHECKED == "consistent: not checked above x8"


def test_the_mouse_reads_one_pixel_off_the_map():
    assert data_guard.value_text(1.24) == "disagreement 1.2× noise"
    assert data_guard.value_text(4.0) == "disagreement 4.0× noise · beyond noise"
    assert "not checked" in data_guard.value_text(float("nan"))
