"""``SlicePane``: one view of the slice, assembled from a ViewBox and ImageItems
(pyqtgraph's ImageView is only these parts wired together).

The pane knows nothing of zoom logic: it reports wheel, drag and hover in its own
pixels, and draws what it is given where it is told (slice coordinates).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QFrame

from engine.windowing import window_to_uint8

from ..theme import ACCENT
from .overlay import PaneOverlay

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

ROLES = ("bicubic", "sr", "difference", "swipe", "disagreement")


class SlicePane(pg.GraphicsView):
    #: (pane, angle delta, ctrl held, x, y)
    wheeled = Signal(object, float, bool, float, float)
    #: (pane, gesture "pan" | "window" | "swipe", x, y) at the press
    drag_started = Signal(object, str, float, float)
    #: (pane, gesture, dx, dy since the press, x, y)
    dragged = Signal(object, str, float, float, float, float)
    drag_finished = Signal(object, str)
    #: (pane, x, y) or (pane, -1, -1) when the mouse leaves
    hovered = Signal(object, float, float)
    resized = Signal(object)
    #: (pane) after Qt painted it
    painted = Signal(object)

    def __init__(self, role: str = "sr", parent=None) -> None:
        super().__init__(parent, background="#000000")
        self.setFrameShape(QFrame.NoFrame)
        self.vb = pg.ViewBox(enableMouse=False, invertY=True, enableMenu=False, defaultPadding=0.0)
        self.vb.setMouseEnabled(False, False)
        self.vb.disableAutoRange()
        self.setCentralItem(self.vb)
        self.base = pg.ImageItem()
        self.top = pg.ImageItem()  # the SR half in swipe mode
        self.vb.addItem(self.base, ignoreBounds=True)
        self.vb.addItem(self.top, ignoreBounds=True)
        self.top.hide()
        self.viewport().setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.overlay = PaneOverlay(self.viewport())
        self.divider = QFrame(self.viewport())
        self.divider.setStyleSheet(f"background: {ACCENT};")
        self.divider.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.divider.hide()
        self.role = role
        self.pan_mode = False
        self._drag = None  # (gesture, x0, y0)
        self.shown_generation = {"base": 0, "top": 0}
        #: per item: (float pixels, (lo, hi)) when it shows them windowed to 8 bits here
        self._windowed = {"base": None, "top": None}
        #: (generation, kind) of the frame in ``base``; None when it holds something else
        self.shown_tag = None

    # -- geometry ---------------------------------------------------------------
    @property
    def size_px(self) -> tuple[int, int]:
        """Drawing area (width, height) in pixels."""
        vp = self.viewport()
        return (max(vp.width(), 1), max(vp.height(), 1))

    def set_view_rect(self, u0: float, v0: float, width: float, height: float) -> None:
        """Show exactly this rectangle of slice coordinates (no padding, no aspect lock:
        the caller made it 1 grid pixel per screen pixel)."""
        self.vb.setRange(QRectF(u0, v0, width, height), padding=0.0, update=True)

    def view_rect(self) -> QRectF:
        return self.vb.viewRect()

    # -- drawing ------------------------------------------------------------------
    def set_image(self, pixels: np.ndarray | None, rect: QRectF | None, levels, lut=None, which: str = "base", generation: int = 0) -> None:
        item = self.base if which == "base" else self.top
        if which == "base":
            self.shown_tag = None
        if pixels is None or rect is None or pixels.size == 0:
            self._windowed[which] = None
            item.clear()
            item.setVisible(False)
            self.shown_generation[which] = 0
            return
        if lut is None and levels is not None:
            # grey frames: windowed to 8 bits here, shown by pyqtgraph as they are
            self._windowed[which] = (pixels, tuple(levels))
            item.setImage(window_to_uint8(pixels, *levels), autoLevels=False, levels=None, lut=None)
        else:
            self._windowed[which] = None
            item.setImage(pixels, autoLevels=False, levels=levels, lut=lut)
        item.setRect(rect)
        item.setVisible(True)
        self.shown_generation[which] = generation

    def set_levels(self, levels, which: str = "base") -> None:
        item = self.base if which == "base" else self.top
        if item.image is None:
            return
        windowed = self._windowed[which]
        if windowed is not None:
            self._windowed[which] = (windowed[0], tuple(levels))
            item.setImage(window_to_uint8(windowed[0], *levels), autoLevels=False, levels=None)
        else:
            item.setLevels(levels)

    def levels(self, which: str = "base"):
        """The display window ``(lo, hi)`` of what the item shows (None if nothing)."""
        windowed = self._windowed[which]
        if windowed is not None:
            return windowed[1]
        item = self.base if which == "base" else self.top
        return None if item.levels is None else tuple(float(v) for v in item.levels)

    def set_divider(self, x: int | None) -> None:
        if x is None:
            self.divider.hide()
            return
        self.divider.setGeometry(int(x) - 1, 0, 2, self.size_px[1])
        self.divider.show()
        self.divider.raise_()

    def paintEvent(self, ev) -> None:
        super().paintEvent(ev)
        self.painted.emit(self)

    # -- input ------------------------------------------------------------------
    def wheelEvent(self, ev) -> None:
        delta = ev.angleDelta().y()
        if delta == 0:  # touchpads without angle deltas: 1 px ~ 1/8 degree like Qt's mice
            delta = ev.pixelDelta().y()
        p = ev.position()
        self.wheeled.emit(self, float(delta), bool(ev.modifiers() & Qt.ControlModifier), p.x(), p.y())
        ev.accept()

    def _gesture(self, button) -> str | None:
        if button == Qt.RightButton:
            return "window"
        if button == Qt.MiddleButton:
            return "pan"
        if button == Qt.LeftButton:
            if self.role == "swipe" and not self.pan_mode:
                return "swipe"
            return "pan" if self.pan_mode else None
        return None

    def mousePressEvent(self, ev) -> None:
        self.setFocus()
        gesture = self._gesture(ev.button())
        if gesture is None:
            ev.ignore()
            return
        p = ev.position()
        self._drag = (gesture, p.x(), p.y())
        self.setCursor(Qt.ClosedHandCursor if gesture == "pan" else Qt.SizeAllCursor if gesture == "window" else Qt.SplitHCursor)
        self.drag_started.emit(self, gesture, p.x(), p.y())
        ev.accept()

    def mouseMoveEvent(self, ev) -> None:
        p = ev.position()
        if self._drag is not None:
            gesture, x0, y0 = self._drag
            self.dragged.emit(self, gesture, p.x() - x0, p.y() - y0, p.x(), p.y())
        self.hovered.emit(self, p.x(), p.y())
        ev.accept()

    def mouseReleaseEvent(self, ev) -> None:
        if self._drag is not None:
            gesture = self._drag[0]
            self._drag = None
            self.unsetCursor()
            self.drag_finished.emit(self, gesture)
        ev.accept()

    def mouseDoubleClickEvent(self, ev) -> None:
        ev.ignore()

    def leaveEvent(self, ev) -> None:
        self.hovered.emit(self, -1.0, -1.0)
        super().leaveEvent(ev)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        if hasattr(self, "overlay"):  # pyqtgraph resizes once inside its own __init__
            self.overlay.layout()
            self.resized.emit(self)
