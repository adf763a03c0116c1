"""The magnifier loupe: hold M and a circle under the cursor shows Meta-SRGAN at twice
the view's zoom, while the view itself stays put.

The circle's picture is the engine's region render (``Upscaler.render`` of just the
pixels the circle shows, at 2x the view's per-axis zoom, above x4 through x4 and
bicubic like the panes) on a worker thread of its own, from the slice's features in
the shared cache; bicubic at the same zoom fills it first, in a few ms.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QWidget

from engine.geometry import output_size
from engine.windowing import levels, window_to_uint8

from ..model.viewport import axis_scales
from ..render.feature_cache import encoded
from ..render.frames import bicubic_frame, sr_frame, sr_scale_for, sr_window
from ..render.latest_worker import LatestOnlyWorker
from ..theme import ACCENT, OVERLAY_TEXT
from ..widgets.mailbox import Mailbox

#: the circle's diameter in screen pixels
DIAMETER = 260
#: magnification over the view's zoom
MAGNIFY = 2.0
KEY = Qt.Key_M
#: a release followed by a press within this time is the key's autorepeat, not the
#: user letting go: X servers without detectable autorepeat (Xvfb, some remote desktops)
#: send a held key as press/release pairs that Qt cannot tell from real ones
RELEASE_MS = 120


def loupe_region(shape, spacing, zoom: float, point, diameter: int = DIAMETER):
    """What the loupe renders for slice point ``point = (u, v)`` at ``zoom`` (the loupe's):
    ``(scale, region, offset)``: the per-axis factor, the grid region (top, left,
    height, width) clipped to the grid, and where its top-left corner sits in the
    circle's square; None when the circle shows nothing of the slice."""
    scale = axis_scales(zoom, spacing)
    gh, gw = output_size(shape[0], scale[0]), output_size(shape[1], scale[1])
    fy, fx = gh / shape[0], gw / shape[1]
    top = math.floor(point[1] * fy - diameter / 2)
    left = math.floor(point[0] * fx - diameter / 2)
    t0, l0 = max(top, 0), max(left, 0)
    b, r = min(top + diameter, gh), min(left + diameter, gw)
    if b <= t0 or r <= l0:
        return None
    return scale, (t0, l0, b - t0, r - l0), (t0 - top, l0 - left)


class LoupeWidget(QWidget):
    """The circle: a picture clipped round, a ring, and what it shows."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.setFixedSize(DIAMETER, DIAMETER)
        self.image: QImage | None = None
        self.offset = (0, 0)
        self.caption = ""
        self.hide()

    def set_picture(self, pixels, lv, offset, caption: str) -> None:
        img8 = np.ascontiguousarray(window_to_uint8(pixels, *lv))
        h, w = img8.shape
        self.image = QImage(img8.data, w, h, w, QImage.Format_Grayscale8).copy()
        self.offset, self.caption = offset, caption
        self.update()

    def caption_rect(self) -> QRectF:
        """Where the caption sits: two short lines where the circle is still wide enough."""
        n = len(self.caption.split("\n"))
        return QRectF(DIAMETER * 0.18, DIAMETER - 34 - 15 * n, DIAMETER * 0.64, 15 * n + 4)

    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        path = QPainterPath()
        path.addEllipse(QRectF(1, 1, DIAMETER - 2, DIAMETER - 2))
        p.setClipPath(path)
        p.fillRect(self.rect(), QColor("black"))
        if self.image is not None:
            p.drawImage(QPointF(self.offset[1], self.offset[0]), self.image)
        f = p.font()
        f.setPointSize(8)
        p.setFont(f)
        text_rect = self.caption_rect()
        p.fillRect(text_rect, QColor(0, 0, 0, 160))
        p.setPen(QColor(OVERLAY_TEXT))
        p.drawText(text_rect, Qt.AlignCenter, self.caption)
        p.setClipping(False)
        p.setPen(QPen(QColor(ACCENT), 2))
        p.drawEllipse(QRectF(1, 1, DIAMETER - 2, DIAMETER - 2))
        p.end()


class LoupeTool(QObject):
    #: (kind "bicubic" | "sr", scale) once a picture is in the circle (tests, screenshots)
    shown = Signal(str, object)

    def __init__(self, win) -> None:
        super().__init__(win)
        self.win, self.live = win, win.live
        self.active = False
        self._hover = None  # (pane, x, y)
        self._gen = 0
        self._mailbox = Mailbox(self)
        self.widgets = {pane: LoupeWidget(pane.viewport()) for pane in win.view.panes}
        self.last = None  # (kind, scale, region) of the newest picture shown
        self._worker = LatestOnlyWorker("metazoom-loupe", self._job, self._setup)
        self._release = QTimer(self, singleShot=True, interval=RELEASE_MS)
        self._release.timeout.connect(lambda: self.hold(False))
        for pane in win.view.panes:
            pane.hovered.connect(self._on_hover)
        win.state.connect(lambda changed: self._request() if self.active else None)
        # the panes (which take the focus on a click) and the window (keys nobody took
        # reach it): not the whole application, whose every event would pass through here
        for w in (win, *win.view.panes):
            w.installEventFilter(self)

    @staticmethod
    def _setup() -> None:
        # two cores at most: the panes' own frames may be rendering beside it
        numba.set_num_threads(max(1, min(2, numba.config.NUMBA_NUM_THREADS)))

    # -- input -----------------------------------------------------------------------
    def eventFilter(self, obj, ev) -> bool:
        t = ev.type()
        if t in (QEvent.KeyPress, QEvent.KeyRelease) and ev.key() == KEY and not ev.modifiers() & ~Qt.KeypadModifier:
            if ev.isAutoRepeat():
                return True
            if t == QEvent.KeyRelease:
                self._release.start()
            elif self._release.isActive():  # the key is still held: a repeat
                self._release.stop()
            else:
                self.hold(True)
            return True
        return False

    def hold(self, on: bool) -> None:
        """M pressed (True) or released (False)."""
        self.active = bool(on) and self.live.slice is not None
        if self.active:
            self._request()
        else:
            self._gen += 1
            for w in self.widgets.values():
                w.hide()

    def _on_hover(self, pane, x: float, y: float) -> None:
        self._hover = None if x < 0 else (pane, x, y)
        if self.active:
            self._request()

    # -- rendering ------------------------------------------------------------------------
    def _request(self) -> None:
        if self.live.slice is None or self._hover is None:
            for w in self.widgets.values():
                w.hide()
            return
        pane, x, y = self._hover
        for p, w in self.widgets.items():
            if p is not pane:
                w.hide()
        w = self.widgets[pane]
        w.move(int(x - DIAMETER / 2), int(y - DIAMETER / 2))
        w.show()
        w.raise_()
        sl, s = self.live.slice, self.win.state
        u, v = self.live.viewport(pane).to_slice(x, y)
        zoom = s.zoom * MAGNIFY
        plan = loupe_region(sl.shape, sl.spacing, zoom, (u, v))
        self._gen += 1
        if plan is None:
            w.image = None
            w.update()
            return
        scale, region, offset = plan
        self._worker.submit((self._gen, pane, self.live.key(), self.live.source, scale, region, offset, zoom))

    def _job(self, job) -> None:
        gen, pane, key, source, scale, region, offset, zoom = job
        pixels = source.pixels()  # on this worker: the slice may still have to be cut
        if gen != self._gen:
            return
        bic = bicubic_frame(pixels, scale, region)
        self._mailbox.post(lambda: self._show(gen, pane, "bicubic", bic, scale, region, offset, zoom))
        up = self.live.upscaler
        sr_scale = sr_scale_for(scale)
        if up is None or sr_scale is None or gen != self._gen:
            return
        renderer = self.live.renderer
        need = sr_window(up, pixels.shape, scale, region)
        feats = encoded(renderer.cache, renderer.cache_key(up, key), up, lambda: pixels, need, alongside=True)
        if gen != self._gen:
            return
        sr, ran_at = sr_frame(up, feats, pixels.shape, scale, region)
        self._mailbox.post(lambda: self._show(gen, pane, "sr", sr, scale, region, offset, zoom, ran_at))

    def _show(self, gen, pane, kind, pixels, scale, region, offset, zoom, ran_at=None) -> None:
        if gen != self._gen or not self.active:
            return
        if kind == "bicubic":
            caption = f"bicubic x{zoom:.2f}" + ("\nMeta-SRGAN rendering…" if sr_scale_for(scale) and self.live.upscaler else "")
        else:
            caption = f"Meta-SRGAN x{zoom:.2f}"
            if tuple(ran_at) != tuple(scale):
                caption += "\n(SR at x4 + bicubic)"
        self.widgets[pane].set_picture(pixels, levels(self.win.state.window), offset, caption)
        self.last = (kind, scale, region)
        self.shown.emit(kind, scale)

    def shutdown(self) -> None:
        self._release.stop()
        self._gen += 1
        self._worker.stop(30.0)
