"""``Scan``: an opened volume as the viewer uses it (display slices, windows, labels)."""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from pathlib import Path

from engine.io import display_slice, n_slices
from engine.io.planes import slice_geometry
from engine.io.volume import PLANES, DisplaySlice, Volume, WindowPreset
from engine.windowing import auto_window

from ..model import thread_audit

_tokens = itertools.count(1)


class Scan:
    """A loaded volume plus what the viewer derives from it.  ``token`` tells this
    scan's cached features apart from any other's."""

    #: Display slices kept (cheap to remake; the cache saves the copy and flip).
    KEEP = 16

    def __init__(self, volume: Volume, path: Path | None = None, label: str = "", series=None) -> None:
        self.volume = volume
        #: the ``SeriesInfo`` it was loaded from: another volume of a 4D series loads from it
        self.series = series
        self.path = Path(path) if path is not None else (volume.source[0] if volume.source else None)
        self.label = label or volume.meta.description or (self.path.name if self.path else "scan")
        self.token = next(_tokens)
        self.slice_counts = {p: int(n_slices(volume, p)) for p in PLANES}
        self._slices: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._auto = None

    def geometry(self, plane: str, index: int, radiological: bool = True):
        """Shape, spacing, letters and position of a display slice, without its pixels
        (the GUI thread's share: no voxel is read)."""
        return slice_geometry(self.volume, plane, int(index), radiological=bool(radiological))

    def source(self, plane: str, index: int, radiological: bool = True):
        """The slice's pixels, made when a worker first asks (``SliceSource``)."""
        from ..render.frames import SliceSource

        shape = self.geometry(plane, index, radiological).shape
        return SliceSource(shape, lambda: self.display_slice(plane, index, radiological).pixels)

    def display_slice(self, plane: str, index: int, radiological: bool = True) -> DisplaySlice:
        key = (plane, int(index), bool(radiological))
        with self._lock:
            if key in self._slices:
                self._slices.move_to_end(key)
                return self._slices[key]
        thread_audit.record("slice")
        ds = display_slice(self.volume, plane, int(index), radiological=bool(radiological))
        with self._lock:
            self._slices[key] = ds
            while len(self._slices) > self.KEEP:
                self._slices.popitem(last=False)
        return ds

    @property
    def auto_window(self) -> tuple[float, float]:
        if self._auto is None:
            self._auto = auto_window(self.volume.voxels)
        return self._auto

    @property
    def header_windows(self) -> list[WindowPreset]:
        return list(self.volume.meta.windows)

    def initial_window(self) -> tuple[float, float]:
        """The scan's own first window if it has one, else auto."""
        wins = self.header_windows
        if wins:
            return wins[0].center, wins[0].width
        return self.auto_window
