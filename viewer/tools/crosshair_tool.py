"""The crosshair: one point of the volume, marked on every plane, and a plane switch
(1 / 2 / 3) that lands on the slice through it with the point in the middle.

The point is the last one clicked (left click while navigating); with none clicked,
the one under the cursor when the key is pressed.  X hides / shows the mark and
forgets the point.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QLineF, QObject, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsLineItem

from ..model.crosshair import from_voxel, point_text, to_voxel

COLOUR = QColor(80, 220, 120)
#: half the length of the mark's arms, in screen pixels
ARM_PX = 14
GAP_PX = 4
CLICK_PX = 3


class CrosshairTool(QObject):
    #: a line for the status bar when a point is clicked
    pointed = Signal(str)

    def __init__(self, win, measure_tool) -> None:
        super().__init__(win)
        self.win, self.live, self.measure = win, win.live, measure_tool
        #: the point in voxel edge coordinates, or None
        self.point: tuple[float, float, float] | None = None
        self.shown = True
        self._hover = None  # (pane, x, y)
        self._press = None
        self._marks: dict = {p: [] for p in win.view.panes}
        for pane in win.view.panes:
            pane.viewport().installEventFilter(self)
            pane.hovered.connect(self._on_hover)
        win.state.connect(lambda changed: self.redraw() if {"plane", "index", "radiological", "zoom"} & changed else None)

    def _on_hover(self, pane, x: float, y: float) -> None:
        self._hover = None if x < 0 else (pane, x, y)

    # -- the point ------------------------------------------------------------------
    def point_at(self, pane, x: float, y: float):
        """The volume point under pane pixel ``(x, y)`` (None off the slice)."""
        vp = self.live.viewport(pane)
        if vp.pixel_at(x, y) is None:
            return None
        s = self.win.state
        u, v = vp.to_slice(x, y)
        return to_voxel(self.live.scan.volume, s.plane, s.index, u, v, s.radiological)

    def set_point(self, e) -> None:
        self.point = None if e is None else tuple(float(x) for x in e)
        self.redraw()

    def toggle(self) -> None:
        """X: hide the mark and forget the point, or show it again."""
        self.shown = not self.shown
        if not self.shown:
            self.point = None
        self.redraw()

    def eventFilter(self, obj, ev) -> bool:
        if self.measure.mode != "navigate" or self.live.slice is None:
            return False
        t = ev.type()
        if t == QEvent.MouseButtonPress and ev.button() == Qt.LeftButton:
            self._press = (obj, ev.position().x(), ev.position().y())
        elif t == QEvent.MouseButtonRelease and ev.button() == Qt.LeftButton and self._press is not None:
            o, x0, y0 = self._press
            self._press = None
            p = ev.position()
            pane = next((q for q in self.win.view.panes if q.viewport() is obj), None)
            if o is obj and pane is not None and abs(p.x() - x0) + abs(p.y() - y0) < CLICK_PX and self.shown:
                e = self.point_at(pane, p.x(), p.y())
                if e is not None:
                    self.set_point(e)
                    self.pointed.emit(point_text(self.live.scan.volume, e))
        return False  # the panes still see every event (swipe, pan)

    # -- plane switch -------------------------------------------------------------------
    def switch_plane(self, plane: str) -> bool:
        """Go to ``plane`` on the slice through the point, centred on it, at the same
        zoom; False (nothing done) when there is no point to keep."""
        if self.live.scan is None or not self.shown:
            return False
        e = self.point
        if e is None and self._hover is not None:
            e = self.point_at(*self._hover)
        if e is None:
            return False
        s = self.win.state
        zoom = s.zoom
        index, u, v = from_voxel(self.live.scan.volume, plane, e, s.radiological)
        self.point = e
        s.update(plane=plane, index=index)
        s.set_zoom(zoom, (u, v))
        self.redraw()
        return True

    # -- the mark ----------------------------------------------------------------------
    def redraw(self) -> None:
        for pane, items in self._marks.items():
            for it in items:
                pane.vb.removeItem(it)
            items.clear()
        if self.point is None or not self.shown or self.live.slice is None:
            return
        s = self.win.state
        index, u, v = from_voxel(self.live.scan.volume, s.plane, self.point, s.radiological)
        pen = QPen(COLOUR)
        pen.setCosmetic(True)
        pen.setWidthF(1.5)
        if index != s.index:  # the point is on another slice: its projection, dashed
            pen.setStyle(Qt.DashLine)
        for pane in self.win.view.panes:
            fy, fx = self.live.viewport(pane).factors
            ax, ay, gx, gy = ARM_PX / fx, ARM_PX / fy, GAP_PX / fx, GAP_PX / fy
            for line in (QLineF(u - ax, v, u - gx, v), QLineF(u + gx, v, u + ax, v), QLineF(u, v - ay, u, v - gy), QLineF(u, v + gy, u, v + ay)):
                item = QGraphicsLineItem(line)
                item.setPen(pen)
                pane.vb.addItem(item, ignoreBounds=True)
                self._marks[pane].append(item)
