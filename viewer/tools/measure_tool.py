"""The distance ruler and the rectangle / ellipse regions on the panes.

Drawn as scene items in slice coordinates, so they follow zoom and pan by themselves;
the numbers come from ``model.measure`` (native pixels, mm from the slice's own
spacing) with the same region over the Meta-SRGAN frame on screen beside them.
A measurement belongs to its slice: it shows there only (mirrored with the view).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QLineF, QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsLineItem, QGraphicsRectItem

from ..model import measure

MODES = ("navigate", *measure.SHAPES)
COLOUR = QColor("#ffd54a")
#: a press and release closer than this (screen pixels) is a click, not a measurement
CLICK_PX = 3


def sr_frame_stats(live, shape: str, box):
    """The region over the Meta-SRGAN frame on screen, or None when there is none of
    this view (rendering, or no SR at this zoom)."""
    sr = live.sr
    if sr is None or sr.pixels is None or sr.request is not live.request:
        return None
    req = sr.request
    return measure.frame_region_stats(shape, box, sr.pixels, req.region, req.grid_shape, req.pixels.shape)


class MeasureTool(QObject):
    #: the lines describing the newest measurement (for the status bar and tests)
    measured = Signal(list)
    mode_changed = Signal(str)

    def __init__(self, win) -> None:
        super().__init__(win)
        self.win = win
        self.live = win.live
        self.mode = "navigate"
        self.items: list[measure.Measurement] = []
        self._drawing: tuple | None = None  # (pane, start point, Measurement)
        self._graphics: dict = {}  # pane -> {(measurement, text, flipped): [items]}
        self._texts: dict = {}
        self._metrics = QFontMetrics(QFont())  # the labels use the default font
        for pane in win.view.panes:
            pane.viewport().installEventFilter(self)
            self._graphics[pane] = {}
        win.state.connect(self._on_state)
        self.live.sr_shown.connect(lambda _f: self.redraw())
        self.live.bicubic_shown.connect(lambda _f: self.redraw())

    # -- mode -------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        if self._drawing is not None:  # a switch mid-drag drops the half-drawn one
            self._drawing, self._preview = None, None
            self.redraw()
        cursor = Qt.ArrowCursor if mode == "navigate" else Qt.CrossCursor
        for pane in self.win.view.panes:
            pane.viewport().setCursor(cursor)
        self.mode_changed.emit(mode)

    def clear_slice(self) -> None:
        s = self.win.state
        self.items = [m for m in self.items if (m.plane, m.index) != (s.plane, s.index)]
        self.redraw()

    def clear_all(self) -> None:
        self.items = []
        self.redraw()

    def on_scan(self) -> None:
        """A new scan: the old measurements do not belong to it."""
        self._drawing = None
        self.clear_all()

    # -- measuring ----------------------------------------------------------------
    def add(self, shape: str, p0, p1) -> measure.Measurement:
        """A measurement on the displayed slice from ``p0`` to ``p1`` (slice coordinates)."""
        s, sl = self.win.state, self.live.slice
        m = measure.Measurement(shape, tuple(map(float, p0)), tuple(map(float, p1)), s.plane, s.index, s.radiological,
                                sl.shape[1])
        self.items.append(m)
        self.redraw()
        return m

    def describe(self, m: measure.Measurement) -> list[str]:
        sl = self.live.slice
        units = self.live.scan.volume.meta.units if self.live.scan is not None else ""
        if m.shape == "ruler":
            return measure.describe(m, self.live.source.pixels(), sl.spacing, units)
        sr = sr_frame_stats(self.live, m.shape, m.box)
        lines = measure.describe(m, self.live.source.pixels(), sl.spacing, units, sr)
        if sr is None:
            req = self.live.request
            lines.append("SR: rendering…" if req is not None and req.want_sr else "SR: none at this zoom")
        return lines

    def eventFilter(self, obj, ev) -> bool:
        t = ev.type()
        if self.mode == "navigate" or self.live.slice is None:
            return False
        if t not in (QEvent.MouseButtonPress, QEvent.MouseMove, QEvent.MouseButtonRelease):
            return False
        pane = next((p for p in self.win.view.panes if p.viewport() is obj), None)
        if pane is None:
            return False
        if t == QEvent.MouseButtonPress and ev.button() != Qt.LeftButton:
            return False  # pan and window keep working while measuring
        p = ev.position()
        point = self.live.viewport(pane).to_slice(p.x(), p.y())
        if t == QEvent.MouseButtonPress:
            pane.setFocus()  # as a press that the pane itself takes does
            self._drawing = (pane, (p.x(), p.y()), point)
            return True
        if self._drawing is None or self._drawing[0] is not pane:
            return False
        _, start_px, start = self._drawing
        if t == QEvent.MouseMove:
            self._preview = (self.mode, start, point)
            self.redraw()
            return False  # the cursor readout keeps following
        self._drawing, self._preview = None, None
        if abs(p.x() - start_px[0]) + abs(p.y() - start_px[1]) < CLICK_PX:
            self.redraw()
            return True
        m = self.add(self.mode, start, point)
        self.measured.emit(self.describe(m))
        return True

    _preview = None

    # -- drawing ---------------------------------------------------------------------
    def _on_state(self, changed: frozenset) -> None:
        if {"plane", "index", "radiological"} & changed:
            self._drawing, self._preview = None, None
            self.redraw()

    def visible(self) -> list[measure.Measurement]:
        s = self.win.state
        shown = [m.on(s.plane, s.index, s.radiological) for m in self.items]
        return [m for m in shown if m is not None]

    def _text(self, m: measure.Measurement) -> str:
        """The label, remembered per measurement and SR frame: frames arrive on every
        pan and zoom, and the numbers change only with the frame they are taken over."""
        sr = self.live.sr
        frame = sr if sr is not None and sr.pixels is not None and sr.request is self.live.request else None
        req = self.live.request
        key = (m, id(frame) if frame is not None else ("none", req is not None and req.want_sr), id(self.live.slice))
        text = self._texts.get(key)
        if text is None:
            if len(self._texts) > 64:
                self._texts.clear()
            text = self._texts[key] = "\n".join(self.describe(m))
        return text

    def redraw(self) -> None:
        shown = self.visible() if self.live.slice is not None else []
        if self._preview is not None and self.live.slice is not None:
            shape, a, b = self._preview
            s = self.win.state
            shown.append(measure.Measurement(shape, a, b, s.plane, s.index, s.radiological, self.live.slice.shape[1]))
        if not shown and not any(self._graphics.values()):
            return  # nothing drawn, nothing to draw: the common case, on every frame
        wanted = [(m, self._text(m)) for m in shown]  # once, for both panes
        for pane, drawn in self._graphics.items():
            keep = {}
            for m, text in wanted:
                key = (m, text, self._flipped(pane, m, text))
                items = drawn.pop(key, None)
                keep[key] = items if items is not None else self._draw(pane, m, text, key[2])
            for items in drawn.values():  # no longer wanted
                for item in items:
                    pane.vb.removeItem(item)
            self._graphics[pane] = keep

    def _flipped(self, pane, m: measure.Measurement, text: str) -> bool:
        """Whether the label goes left of the shape: right of it, it would run off the pane."""
        u = m.p1[0] if m.shape == "ruler" else m.box[2]
        vp = self.live.viewport(pane)
        width = max(self._metrics.horizontalAdvance(line) for line in text.split("\n")) + 8
        return u * vp.factors[1] - vp.origin[1] + width > vp.size[0]

    def _draw(self, pane, m: measure.Measurement, text: str, flipped: bool) -> list:
        pen = QPen(COLOUR)
        pen.setCosmetic(True)
        pen.setWidthF(1.5)
        (a, b), (c, d) = m.p0, m.p1
        if m.shape == "ruler":
            shape = QGraphicsLineItem(QLineF(a, b, c, d))
        else:
            u0, v0, u1, v1 = m.box
            cls = QGraphicsRectItem if m.shape == "rectangle" else QGraphicsEllipseItem
            shape = cls(QRectF(u0, v0, u1 - u0, v1 - v0))
        shape.setPen(pen)
        # right of a ruler's end or a region's lower right corner; left of the end or the
        # lower left corner when the text would run off the pane there
        u0, v0, u1, v1 = m.box
        at_u, at_v = (c, d) if m.shape == "ruler" else (u1, v1)
        if flipped and m.shape != "ruler":
            at_u = u0
        label = pg.TextItem(text, color=COLOUR, fill=pg.mkBrush(0, 0, 0, 150), anchor=(1, 0) if flipped else (0, 0))
        label.setPos(at_u, at_v)
        for item in (shape, label):
            pane.vb.addItem(item, ignoreBounds=True)
        return [shape, label]
