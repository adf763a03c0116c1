"""Which slices to encode in the background, and in what order.  No Qt.

Once the view has been still for a moment the viewer encodes other slices so that a
scroll finds their features ready.  How many neighbours fit beside the slice on
screen follows from the feature cache's size and what one slice's features take
(``engine.features.whole_slice_nbytes``: the network's feature channels times the
features' element size per padded pixel).  Readers step through a series mostly one
way, so the order leans the way the user last stepped.
"""

from __future__ import annotations

from engine.features import whole_slice_nbytes

#: Neighbours each side kept hot at most: beyond two, a scroll outruns the encoder anyway.
MOST_NEIGHBOURS = 2


def prefetch_radius(shape, channels: int, cache_bytes: int) -> int:
    """Neighbours each side whose whole features fit the cache beside the current slice's
    (``shape``: the slice's (rows, cols); ``channels``: the network's feature channels)."""
    fit = int(cache_bytes) // whole_slice_nbytes(shape, channels)
    return int(max(0, min(MOST_NEIGHBOURS, (fit - 1) // 2)))


class ScrollHeading:
    """The way the user last stepped through the slices: +1 (up, the start) or -1.
    A plane change keeps it (the user's habit, not the slice's)."""

    def __init__(self) -> None:
        self.value = 1

    def stepped(self, old_index: int, new_index: int) -> None:
        if new_index != old_index:
            self.value = 1 if new_index > old_index else -1


def neighbours(index: int, n_slices: int, heading: int, radius: int) -> list[int]:
    """Slices to prefetch, nearest first, ``radius`` each side: the next slice ahead (the
    way of ``heading``), the one behind, then further ahead; at the end of the series,
    further behind instead."""
    if radius <= 0:
        return []
    ahead = [index + heading * d for d in range(1, 2 * radius + 1)]
    behind = [index - heading * d for d in range(1, 2 * radius + 1)]
    order = [ahead[0], behind[0], *ahead[1:], *behind[1:]]
    return [i for i in order if 0 <= i < n_slices][: 2 * radius]


def prefetch_order(index: int, n_slices: int, near: list[int], view) -> list[tuple[int, object]]:
    """``(slice, window)`` pairs in the order the user is likely to need them (``window``:
    the input window to encode, None = the whole slice; ``view``: the window the current
    view reads, None when it reads the whole slice or has no SR frame):
    the part of the nearest two neighbours the view shows (ready for a scroll), the rest
    of this slice (for a pan or a zoom-out), the view's part of the other neighbours,
    then the neighbours whole, then every other slice of the plane, nearest first."""
    order = [(i, view) for i in near[:2]] + [(index, None)] + [(i, view) for i in near[2:]]
    if view is not None:
        order += [(i, None) for i in near]
    rest = sorted((i for i in range(n_slices) if i != index and i not in near), key=lambda i: (abs(i - index), i))
    return order + [(i, None) for i in rest]
