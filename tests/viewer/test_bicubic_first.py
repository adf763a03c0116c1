"""The SR frame is released once every pane that got the bicubic frame has painted it (no Qt)."""

from __future__ import annotations

from viewer.render.bicubic_first import BicubicFirst


def test_released_after_the_last_pane_paints_and_only_once():
    told = []
    first = BicubicFirst(told.append)
    first.handed(3, ["left", "right"])
    first.painted("left")
    first.painted("other")  # a pane that did not get the frame
    assert told == []
    first.painted("right")
    first.painted("right")
    assert told == [3]


def test_a_frame_no_pane_shows_is_released_at_once_and_a_newer_frame_replaces_the_wait():
    told = []
    first = BicubicFirst(told.append)
    first.handed(4, [])
    assert told == [4]
    first.handed(5, ["left"])
    first.handed(6, ["right"])  # the older frame's pane is no longer waited for
    first.painted("left")
    assert told == [4]
    first.painted("right")
    assert told == [4, 6]
