"""Stepping through the time points (volumes) of a 4D series without reopening it:
. and , load the next / previous volume in the background and show it at the same
plane, slice, zoom, pan and window.  The last few volumes are kept, so stepping back
and forth is immediate."""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, Signal

from engine.io import load
from ..scan.scan import Scan
from ..widgets.background import Background

#: loaded volumes kept (each is the whole 3D volume in float32)
KEEP = 3


def volume_count(scan) -> int:
    return scan.volume.meta.n_volumes if scan is not None else 1


def volume_index(scan) -> int:
    return scan.volume.meta.volume_index if scan is not None else 0


def time_text(scan) -> str:
    """``Volume 3/10`` (counted from 1, like slices) for a 4D series; empty otherwise."""
    n = volume_count(scan)
    return f"Volume {volume_index(scan) + 1}/{n}" if n > 1 else ""


class TimePoints(QObject):
    changed = Signal(str)  # the status line
    failed = Signal(str)

    def __init__(self, win) -> None:
        super().__init__(win)
        self.win = win
        self.tasks = Background(self)
        self._kept: OrderedDict = OrderedDict()  # (series id, volume index) -> Scan
        self._loading: int | None = None
        self._wanted: int | None = None

    def on_scan(self, scan) -> None:
        """A scan is on screen (opened, or a step landed)."""
        if scan is not None:
            key = (id(getattr(scan, "series", None) or scan.path), volume_index(scan))
            self._kept[key] = scan
            self._kept.move_to_end(key)
            while len(self._kept) > KEEP:
                self._kept.popitem(last=False)
        self.changed.emit(time_text(scan))

    def step(self, delta: int) -> None:
        scan = self.win.live.scan
        n = volume_count(scan)
        if n <= 1:
            self.changed.emit("Not a 4D series: one volume only")
            return
        base = self._wanted if self._wanted is not None else volume_index(scan)
        self.go_to(min(max(base + delta, 0), n - 1))

    def go_to(self, index: int) -> None:
        scan = self.win.live.scan
        if scan is None or index == volume_index(scan) and self._wanted is None:
            return
        self._wanted = index
        source = getattr(scan, "series", None) or scan.path
        kept = self._kept.get((id(source), index))
        if kept is not None:
            self._show(kept)
            return
        if self._loading is not None:
            return  # the newest wanted volume loads when this one lands
        self._loading = index
        self.changed.emit(f"Loading volume {index + 1}/{volume_count(scan)}…")
        label = scan.label
        self.tasks.run(lambda: Scan(load(source, volume_index=index), scan.path, label, series=getattr(scan, "series", None)),
                       self._loaded, self._failed, name="metazoom-volume")

    def _loaded(self, scan) -> None:
        self._loading = None
        if self._wanted is not None and self._wanted != volume_index(scan):
            self._kept[(id(getattr(scan, "series", None) or scan.path), volume_index(scan))] = scan
            self.go_to(self._wanted)
            return
        self._show(scan)

    def _failed(self, error: BaseException) -> None:
        self._loading, self._wanted = None, None
        self.failed.emit(f"Could not load that volume: {getattr(error, 'reason', None) or error}")

    def _show(self, scan) -> None:
        """Show ``scan`` where the view is now: same plane, slice, zoom, centre, window."""
        s, live = self.win.state, self.win.live
        self._wanted = None
        plane, index, zoom, center, window = s.plane, s.index, s.zoom, s.center, s.window
        live.set_scan(scan, plane=plane, index=index, zoom=zoom)
        s.update(center=center, window=window)
        self.on_scan(scan)
