"""Which frame each pane shows.  No Qt.

Frames arrive out of order from two workers.  The bicubic pane shows the newest
bicubic frame; the Meta-SRGAN pane the newest picture (its SR frame when that is as
new as the bicubic one, else the bicubic frame, so a slice step never leaves the old
slice's SR on screen); the swipe pane's SR half only an SR frame of the very request
its bicubic half shows.  While the user steps through a stack, bicubic frames of the
slices stepped over are shown on the way (every slice of a scroll is seen).
"""

from __future__ import annotations

from dataclasses import dataclass

from .frames import Frame, FrameRequest


def shown_on_the_way(frame: Frame, current: FrameRequest | None, shown: Frame | None) -> bool:
    """Whether ``frame``, of an older request than ``current``, is still shown: a bicubic
    frame of a slice the user stepped over, newer than ``shown`` (the bicubic frame on
    screen) and of the same view (scan, plane, zoom and region)."""
    req = frame.request
    return (frame.kind == "bicubic" and frame.pixels is not None and req.step and current is not None
            and (shown is None or req.generation > shown.request.generation)
            and (req.scale, req.region, req.key.scan, req.key.plane)
            == (current.scale, current.region, current.key.scan, current.key.plane))


@dataclass(frozen=True)
class PaneFrames:
    """The frame for each kind of pane (None: keep what it shows)."""

    bicubic: Frame | None
    sr: Frame | None
    swipe_sr: Frame | None


def pane_frames(bicubic: Frame | None, sr: Frame | None) -> PaneFrames:
    """What the panes show, given the newest bicubic and SR frames received."""
    bic = bicubic if bicubic is not None and bicubic.pixels is not None else None
    sr_ok = sr is not None and sr.pixels is not None
    newest = sr if sr_ok and (bic is None or sr.request.generation >= bic.request.generation) else bic
    return PaneFrames(bic, newest, sr if sr_ok and bic is not None and sr.request is bic.request else None)
