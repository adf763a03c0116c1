"""Which frame each pane shows as frames arrive out of order (no Qt)."""

from __future__ import annotations

import numpy as np

from viewer.render.frames import Frame, FrameRequest, SliceKey, SliceSource
from viewer.render.shown_frames import pane_frames, shown_on_the_way

PIXELS = np.zeros((4, 4), np.float32)


def request(gen, index=0, scale=(2.0, 2.0), region=(0, 0, 8, 8), step=False, plane="axial"):
    return FrameRequest(gen, SliceKey(1, plane, index, True), SliceSource.of(PIXELS), scale, region, True, step, step)


def frame(req, kind="bicubic", pixels=PIXELS):
    return Frame(req, kind, pixels)


def test_slices_stepped_over_are_shown_on_the_way_in_order():
    current = request(5, index=5, step=True)
    on_screen = frame(request(2, index=2, step=True))
    passed = frame(request(3, index=3, step=True))
    assert shown_on_the_way(passed, current, on_screen)
    assert shown_on_the_way(passed, current, None)
    assert not shown_on_the_way(frame(request(1, index=1, step=True)), current, on_screen)  # older than the one shown
    assert not shown_on_the_way(frame(request(3, index=3, step=True), "sr"), current, on_screen)
    assert not shown_on_the_way(frame(request(3, index=3)), current, on_screen)  # a zoom, not a step
    assert not shown_on_the_way(frame(request(3, index=3, step=True, scale=(3.0, 3.0))), current, on_screen)
    assert not shown_on_the_way(frame(request(3, index=3, step=True, plane="coronal")), current, on_screen)
    assert not shown_on_the_way(frame(request(3, index=3, step=True), pixels=None), current, on_screen)
    assert not shown_on_the_way(passed, None, on_screen)


def test_the_sr_pane_shows_the_newest_picture_and_the_swipe_only_a_matching_pair():
    old, new = request(1), request(2)
    bic_new, sr_old, sr_new = frame(new), frame(old, "sr"), frame(new, "sr")
    shown = pane_frames(bic_new, sr_old)
    assert shown.bicubic is bic_new and shown.sr is bic_new and shown.swipe_sr is None  # never the old slice's SR
    shown = pane_frames(bic_new, sr_new)
    assert shown.sr is sr_new and shown.swipe_sr is sr_new
    alone = pane_frames(None, sr_new)
    assert (alone.bicubic, alone.sr, alone.swipe_sr) == (None, sr_new, None)
    failed = frame(new, "sr", pixels=None)
    assert pane_frames(bic_new, failed).sr is bic_new and pane_frames(frame(new, pixels=None), None).bicubic is None
