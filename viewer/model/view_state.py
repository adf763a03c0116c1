"""``ViewState``: everything both panes show, as one plain-Python object.

The panes are locked because there is only one state: both read plane, slice, zoom,
centre and window from here, and every widget that changes them writes here.
"""

from __future__ import annotations

from engine.io.volume import PLANES

from .evented import Evented
from .viewport import clamp_zoom

COMPARE_MODES = ("side_by_side", "single", "swipe", "difference")
COMPARE_LABELS = {
    "side_by_side": "Side by side (bicubic | Meta-SRGAN)",
    "single": "Single pane",
    "swipe": "Swipe (bicubic | Meta-SRGAN split)",
    "difference": "Difference (Meta-SRGAN | |SR - bicubic|)",
}


def snap_zoom(zoom: float) -> float:
    """Float noise off: eight wheel notches from x1 give x4, not 4.000000000000001
    (which would leave the network's range and take the slower above-x4 path)."""
    nice = round(zoom, 6)
    return nice if abs(zoom - nice) <= 1e-9 * zoom else zoom


class ViewState(Evented):
    """Plane, slice, zoom, pan, window and display conventions of the open scan.

    ``center`` is in slice coordinates (see ``viewport``); ``window`` is
    ``(center, width)`` in the scan's units; ``zoom`` is screen pixels per native
    pixel on the finer axis.  ``slice_counts`` maps plane -> number of slices and
    is set when a scan is opened.
    """

    FIELDS = (
        "plane",
        "index",
        "zoom",
        "center",
        "window",
        "radiological",
        "compare",
        "single_shows",
        "swipe",
        "pan_mode",
        "slice_counts",
    )

    def __init__(self) -> None:
        super().__init__()
        self.plane = "axial"
        self.index = 0
        self.zoom = 1.0
        self.center = (0.0, 0.0)
        self.window = (0.5, 1.0)
        self.radiological = True
        self.compare = "side_by_side"
        self.single_shows = "sr"
        self.swipe = 0.5
        self.pan_mode = False
        self.slice_counts: dict = {p: 1 for p in PLANES}
        self._index_by_plane: dict[str, int] = {}

    # -- slices -------------------------------------------------------------
    @property
    def n_slices(self) -> int:
        return int(self.slice_counts.get(self.plane, 1))

    def set_index(self, index: int) -> None:
        self.update(index=min(max(int(index), 0), self.n_slices - 1))

    def step_slice(self, steps: int) -> None:
        self.set_index(self.index + int(steps))

    def set_plane(self, plane: str) -> None:
        """Switch plane, returning to the slice last shown in it (the middle one at first)."""
        if plane not in PLANES:
            raise ValueError(f"plane must be one of {PLANES}, got {plane!r}")
        if plane == self.plane:
            return
        self._index_by_plane[self.plane] = self.index
        n = int(self.slice_counts.get(plane, 1))
        self.update(plane=plane, index=min(self._index_by_plane.get(plane, n // 2), n - 1))

    def reset_scan(self, slice_counts: dict, plane: str = "axial", index: int | None = None) -> None:
        """A new scan: its slice counts, and the middle slice (or ``index``) of ``plane``."""
        self._index_by_plane = {}
        n = int(slice_counts[plane])
        index = n // 2 if index is None else min(max(int(index), 0), n - 1)
        self.update(slice_counts=dict(slice_counts), plane=plane, index=index)

    # -- zoom, pan, window ----------------------------------------------------
    def set_zoom(self, zoom: float, center: tuple[float, float] | None = None) -> None:
        changes = {"zoom": snap_zoom(clamp_zoom(zoom))}
        if center is not None:
            changes["center"] = (float(center[0]), float(center[1]))
        self.update(**changes)

    def set_window(self, center: float, width: float) -> None:
        self.update(window=(float(center), max(float(width), 1e-6)))

    def set_compare(self, mode: str) -> None:
        if mode not in COMPARE_MODES:
            raise ValueError(f"compare mode must be one of {COMPARE_MODES}, got {mode!r}")
        self.update(compare=mode)
