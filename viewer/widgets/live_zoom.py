"""``LiveZoom``: binds the view state, the zoom renderer and the panes.

State change -> the panes' view rectangles move at once (the frames they hold move
with them, so the picture follows the wheel with no wait) -> one frame request ->
the bicubic frame lands in a few ms, the Meta-SRGAN frame replaces it when ready.
Frames of stale requests are dropped on arrival.  Neighbouring slices are encoded
once the view has been still for a moment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QTimer, Signal

from engine import windowing

from ..model.interaction import WheelInterpreter
from ..model.readout import difference_text, engine_text, slice_text, value_text, window_text, zoom_text
from ..model.scan_notes import colour_note, has_geometry, quantitative_reason
from ..model.sr_policy import AI_LABEL, sr_pane_state
from ..model.view_state import ViewState
from ..model.viewport import Viewport, clamp_zoom, fit_zoom
from ..model.windowing import drag_window
from ..render.frames import Frame, SliceKey, mirror_region, mirrored, sr_scale_for
from ..render.zoom_renderer import ZoomRenderer
from .compare_view import MAP_ROLES, CompareView
from .guard_view import GuardView
from .mailbox import Mailbox

TITLES = {"bicubic": "BICUBIC", "sr": "META-SRGAN", "difference": "|SR − BICUBIC|", "swipe": "BICUBIC ◂ ▸ META-SRGAN",
          "disagreement": "DATA DISAGREEMENT"}
#: Geometry fields: a change of any of these needs a new frame.
GEOMETRY = {"plane", "index", "zoom", "center", "radiological", "compare", "single_shows", "slice_counts"}
PREFETCH_DELAY_MS = 300
DIFF_LUT = pg.colormap.get("inferno").getLookupTable(nPts=256)


def frame_rect(frame: Frame) -> QRectF:
    """Where a frame sits in slice coordinates."""
    req = frame.request
    top, left, height, width = req.region
    (gh, gw), (n_rows, n_cols) = req.grid_shape, req.shape
    sy, sx = n_rows / gh, n_cols / gw
    return QRectF(left * sx, top * sy, width * sx, height * sy)


@dataclass(frozen=True)
class ScanNotes:
    """What the panes must say about the open scan (``model.scan_notes``)."""

    quantitative: str | None = None
    geometry: bool = True
    colour: str | None = None


class LiveZoom(QObject):
    #: a frame of the current request is on screen: (Frame)
    bicubic_shown = Signal(object)
    sr_shown = Signal(object)
    message = Signal(str)

    def __init__(self, state: ViewState, view: CompareView, upscaler, cache_bytes: int, wheel_convention: str = "zoom",
                 store_bytes: int | None = None) -> None:
        super().__init__()
        self.state = state
        self.view = view
        self.scan = None
        #: the slice on screen: its geometry (``SliceGeometry``: shape, spacing, letters,
        #: position), not its pixels; ``source`` makes those on a worker thread
        self.slice = None
        self.source = None
        self.interpreter = WheelInterpreter(wheel_convention)
        self._mailbox = Mailbox(self)
        self.renderer = ZoomRenderer(upscaler, lambda frame: self._mailbox.post(lambda: self._on_frame(frame)), cache_bytes,
                                     waits_for_display=True, store_bytes=store_bytes)
        #: the consistency guard: its overlay line, its map, the data-consistent rendering
        self.guard = GuardView(self)
        windowing.warm_up()  # before the first frame: loading it holds the GIL
        self.request = None
        self.bicubic: Frame | None = None
        self.sr: Frame | None = None
        self.stale_dropped = 0
        self.last_sr_ms: float | None = None
        self.last_encode_ms: float | None = None
        #: why there is no engine, for the SR panes' titles: "loading", "unavailable" or None
        self.engine_note: str | None = "loading" if upscaler is None else None
        self.request_time = 0.0
        self.notes = ScanNotes()
        #: Meta-SRGAN on this scan (off by default on a quantitative map: ``sr_blocked`` says why)
        self.sr_on = True
        self.sr_blocked: str | None = None
        #: encode other slices in the background (off for a headless screenshot: one frame, then exit)
        self.background = True
        self._drag_start = None
        self._hover = None  # (pane, x, y)
        self._heading = 1  # +1 / -1: the way the user last stepped through slices
        #: (generation, panes that have yet to paint that request's bicubic frame)
        self._unpainted: tuple[int, set] = (0, set())
        for pane in view.panes:
            pane.painted.connect(self._on_painted)
        self._diff_cache = None
        #: (generation, {pane: view rect}) waiting for that request's first frame
        self._pending_views = None
        self._prefetch_timer = QTimer(self)
        self._prefetch_timer.setSingleShot(True)
        self._prefetch_timer.setInterval(PREFETCH_DELAY_MS)
        self._prefetch_timer.timeout.connect(self._prefetch)
        # the background encodes progress while nothing else changes: keep the count true
        self._shown_progress = ""
        self._progress_timer = QTimer(self)
        self._progress_timer.setInterval(1000)
        self._progress_timer.timeout.connect(self._refresh_progress)
        self._progress_timer.start()
        state.connect(self._on_state)
        for pane in view.panes:
            pane.wheeled.connect(self._on_wheel)
            pane.drag_started.connect(self._on_drag_started)
            pane.dragged.connect(self._on_dragged)
            pane.hovered.connect(self._on_hover)
            pane.resized.connect(lambda _p: self.refresh())
        view.set_mode(state.compare, state.single_shows)

    # -- scan -------------------------------------------------------------------
    @property
    def upscaler(self):
        return self.renderer.upscaler

    def set_scan(self, scan, plane: str = "axial", index: int | None = None, zoom: float | None = None) -> None:
        self.renderer.clear()
        self.scan = scan
        self.request, self.bicubic, self.sr = None, None, None
        meta = scan.volume.meta
        names = [p.name for p in scan.volume.source[:1]]
        self.notes = ScanNotes(quantitative_reason(meta, names), has_geometry(meta, scan.volume.kind), colour_note(meta))
        # a quantitative map: no enhancement until the user asks (it would invent values)
        self.sr_blocked = self.notes.quantitative
        self.sr_on = self.notes.quantitative is None
        with self.state.blocked():
            self.state.reset_scan(scan.slice_counts, plane, index)
            self.state.update(window=tuple(scan.initial_window()))
        self._load_slice()
        self.reset_view(zoom=zoom)

    def _load_slice(self) -> None:
        """The new slice's geometry now, its pixels on the bicubic worker (a slice of a
        large volume is a copy and flips: never on the GUI thread)."""
        s = self.state
        self.slice = self.scan.geometry(s.plane, s.index, s.radiological)
        self.source = self.scan.source(s.plane, s.index, s.radiological)
        letters = self.slice.letters if self.notes.geometry else ("", "", "", "")
        for pane in self.view.panes:
            pane.overlay.set_letters(letters)

    def key(self) -> SliceKey:
        s = self.state
        return SliceKey(self.scan.token, s.plane, s.index, s.radiological)

    # -- view geometry ------------------------------------------------------------
    def viewport(self, pane=None) -> Viewport:
        """The viewport of ``pane`` (None = the largest visible pane)."""
        s, sl = self.state, self.slice
        if pane is None:
            sizes = [p.size_px for p in self.view.visible_panes()]
            size = (max(w for w, _ in sizes), max(h for _, h in sizes))
        else:
            size = pane.size_px
        return Viewport(sl.shape, sl.spacing, s.zoom, s.center, size)

    def reset_view(self, zoom: float | None = None) -> None:
        """Fit the slice to the panes (R / Space), or centre it at ``zoom``."""
        if self.slice is None:
            return
        rows, cols = self.slice.shape
        vp = self.viewport()
        z = fit_zoom(vp.size, (rows, cols), self.slice.spacing) if zoom is None else clamp_zoom(zoom)
        self.state.set_zoom(z, (cols / 2, rows / 2))
        self.refresh()

    def refresh(self) -> None:
        """Move the panes to the state's view now, ask for frames of it, and update
        the overlay (the zoom factor follows the wheel at once; the labels repaint
        while the worker makes the bicubic frame)."""
        if self.scan is None or self.slice is None:
            return
        # The panes move to the new view together with the new request's first frame:
        # moving them now would repaint the old frame scaled (~6 ms a pane on the GUI
        # thread), only to repaint again ~10 ms later when the bicubic frame lands.
        views = {pane: self.viewport(pane).view_rect for pane in self.view.visible_panes()}
        big = self.viewport()
        region = big.region(pad=1)
        self._prefetch_timer.start()
        if region is None:
            self._pending_views = None
            self._move_panes(views)
            self.request = None
            for pane in self.view.panes:
                pane.set_image(None, None, None)
                pane.set_image(None, None, None, which="top")
            self._update_overlay()
            return
        want_sr = self.sr_on and not (self.state.compare == "single" and self.state.single_shows == "bicubic")
        self.request_time = time.perf_counter()
        self.request = self.renderer.request(self.key(), self.source, big.scale, region, want_sr)
        self._pending_views = (self.request.generation, views)
        self._update_overlay()

    def _move_panes(self, views) -> None:
        for pane, rect in views.items():
            pane.set_view_rect(*rect)

    # -- state ------------------------------------------------------------------
    def _on_state(self, changed: frozenset) -> None:
        if self.scan is None:
            return
        s = self.state
        if {"compare", "single_shows"} & changed:
            self.view.set_mode(s.compare, s.single_shows)
        if {"plane", "index", "radiological"} & changed:
            old = self.slice
            if "index" in changed and old is not None and old.index != s.index and "plane" not in changed:
                self._heading = 1 if s.index > old.index else -1
            self._load_slice()
            if "plane" in changed:
                self.reset_view()
                return
            if "radiological" in changed and old is not None and self.slice.plane != "sagittal":
                with s.blocked():  # keep the same anatomy in the middle of the pane
                    s.update(center=(self.slice.shape[1] - s.center[0], s.center[1]))
        if {"zoom", "center"} & changed:
            # background encodes wait while the user zooms or pans (the prefetch timer
            # resumes them once the view is still)
            self.renderer.paused = True
        if "pan_mode" in changed:
            for pane in self.view.panes:
                pane.pan_mode = s.pan_mode
        refreshed = bool(GEOMETRY & changed)
        if refreshed:
            self.refresh()
        if "window" in changed:
            self._apply_levels()
        if "swipe" in changed:
            self._display()
        if not refreshed:  # refresh() updated the overlay already (once per wheel step)
            self._update_overlay()

    # -- frames -------------------------------------------------------------------
    def _between(self, frame: Frame) -> bool:
        """A bicubic frame of a slice the user stepped over, newer than the one on
        screen and of the same view: shown on the way (every slice of a scroll is seen)."""
        req, cur = frame.request, self.request
        return (frame.kind == "bicubic" and frame.pixels is not None and req.step and cur is not None
                and (self.bicubic is None or req.generation > self.bicubic.request.generation)
                and (req.scale, req.region, req.key.scan, req.key.plane) == (cur.scale, cur.region, cur.key.scan, cur.key.plane))

    def _on_frame(self, frame: Frame) -> None:
        if self.request is None or frame.request is not self.request:
            if self._between(frame):
                self.bicubic = frame
                self._display()
                self.bicubic_shown.emit(frame)
                return
            self.stale_dropped += 1
            return
        if self._pending_views is not None and self._pending_views[0] == frame.request.generation:
            self._move_panes(self._pending_views[1])
            self._pending_views = None
        if frame.kind == "bicubic":
            self.bicubic = frame
        else:
            self.sr = frame
            if frame.pixels is not None:
                self.last_sr_ms = frame.ms
                self.last_encode_ms = frame.encode_ms or None
            else:
                self.message.emit(f"Meta-SRGAN frame failed: {frame.error}")
        self._display()
        self._update_overlay()
        (self.bicubic_shown if frame.kind == "bicubic" else self.sr_shown).emit(frame)
        if frame.kind == "bicubic":
            # the SR frame takes every core once the bicubic frame is painted, not merely
            # handed to the panes: Qt paints them after this returns, and a paint that
            # shares the cores with a two-thread render took 3-4x as long
            g = frame.request.generation
            self._unpainted = (g, {p for p in self.view.visible_panes() if p.shown_tag is not None and p.shown_tag[0] == g})
            if not self._unpainted[1]:
                self.renderer.bicubic_displayed(g)

    def _on_painted(self, pane) -> None:
        g, waiting = self._unpainted
        if pane in waiting:
            waiting.discard(pane)
            if not waiting:
                self.renderer.bicubic_displayed(g)

    def _current(self, frame: Frame | None) -> bool:
        return frame is not None and frame.pixels is not None and frame.request is self.request

    def sr_pending(self) -> bool:
        return self.request is not None and self.request.want_sr and not self._current(self.sr)

    def _difference(self):
        if not (self._current(self.sr) and self._current(self.bicubic)):
            return None
        if self._diff_cache is None or self._diff_cache[0] is not self.request:
            d = np.abs(self.sr.pixels - self.bicubic.pixels)
            sample = d.reshape(-1)[:: max(1, d.size // 65536)]
            hi = max(float(np.percentile(sample, 99.5)), 1e-3 * max(self.state.window[1], 1e-6))
            self._diff_cache = (self.request, d, hi)
        return self._diff_cache[1:]

    def _display(self) -> None:
        lv = windowing.levels(self.state.window)
        bic = self.bicubic if self.bicubic is not None and self.bicubic.pixels is not None else None
        sr_ok = self.sr is not None and self.sr.pixels is not None
        # the SR pane shows the newest picture: SR when it is as new as the bicubic one
        newest_sr = self.sr if sr_ok and (bic is None or self.sr.request.generation >= bic.request.generation) else bic
        for pane in self.view.visible_panes():
            if pane.role == "bicubic":
                self._put(pane, bic, lv)
            elif pane.role == "sr":
                self._put(pane, newest_sr, lv)
            elif pane.role == "swipe":
                self._put(pane, bic, lv)
                self._put_swipe(pane, self.sr if sr_ok and bic is not None and self.sr.request is bic.request else None, lv)
            elif pane.role == "difference":
                diff = self._difference()
                if diff is None:
                    if self.request is None or (bic is not None and bic.request.key != self.request.key):
                        pane.set_image(None, None, None)
                    continue
                d, hi = diff
                pane.set_image(d, frame_rect(self.sr), (0.0, hi), lut=DIFF_LUT, generation=self.request.generation)
                pane.overlay.scale.set_scale(DIFF_LUT, 0.0, hi)
            elif pane.role == "disagreement":
                self.guard.paint(pane)

    def _put(self, pane, frame: Frame | None, lv) -> None:
        if frame is None:
            return
        tag = (frame.request.generation, frame.kind)
        if pane.shown_tag != tag:
            pane.set_image(frame.pixels, frame_rect(frame), lv, generation=frame.request.generation)
            pane.shown_tag = tag

    def _put_swipe(self, pane, sr: Frame | None, lv) -> None:
        w, _ = pane.size_px
        x = int(round(self.state.swipe * w))
        pane.set_divider(x)
        if sr is None:
            pane.set_image(None, None, None, which="top")
            return
        vp = self.viewport(pane)
        top, left, height, width = sr.request.region
        cut = min(max(vp.origin[1] + x - left, 0), width)  # first SR column right of the divider
        if cut >= width:
            pane.set_image(None, None, None, which="top")
            return
        rect = frame_rect(sr)
        sx = rect.width() / width
        part = QRectF(rect.left() + cut * sx, rect.top(), (width - cut) * sx, rect.height())
        pane.set_image(sr.pixels[:, cut:], part, lv, which="top", generation=sr.request.generation)

    def _apply_levels(self) -> None:
        lv = windowing.levels(self.state.window)
        for pane in self.view.panes:
            if pane.role not in MAP_ROLES:
                pane.set_levels(lv)
                pane.set_levels(lv, which="top")

    # -- overlay --------------------------------------------------------------------
    def _update_overlay(self) -> None:
        if self.slice is None:
            return
        s, req = self.state, self.request
        scale = req.scale if req is not None else self.viewport().scale
        sr_scale = sr_scale_for(scale)
        # the SR note on a line of its own: one line collided with the pane's title in a
        # half-width pane (a coronal view of thick slices reads rows and columns apart)
        ztext = zoom_text(s.zoom, scale, sr_scale, sep="<br>")
        if self.upscaler is None:  # the SR panes show bicubic then: say so, never pass it off as SR
            etext = {"loading": "Meta-SRGAN loading…"}.get(self.engine_note, "Meta-SRGAN unavailable")
        else:
            etext = engine_text(self.upscaler.device.type if hasattr(self.upscaler, "device") else "cpu",
                                self.last_sr_ms, self.last_encode_ms, getattr(self.upscaler, "backend", None))
        self._shown_progress = self._progress_text()
        etext += self._shown_progress + self.guard.overlay_line()
        notes = self.notes
        stext = slice_text(s.plane, s.index, s.n_slices, self.slice.position_mm if notes.geometry else None)
        if notes.colour:
            stext += f"<br><span style='color:#e0a030'>{notes.colour}</span>"
        wtext = window_text(s.window)
        untrained = self.upscaler is not None and not getattr(getattr(self.upscaler, "info", None), "trained", True)
        # why the SR panes show bicubic, if they do (engine missing, SR off for this
        # scan, the view not enlarged): a pane titled META-SRGAN never silently shows bicubic
        bicubic_why = sr_pane_state(self.engine_note, self.upscaler is not None, sr_scale, self.sr_on,
                                    None if self.sr_on else (self.sr_blocked or "turned off"))
        for pane in self.view.visible_panes():
            title = TITLES[pane.role]
            if untrained and pane.role != "bicubic":
                title += " <span style='color:#ff6b5b'>· UNTRAINED WEIGHTS</span>"
            if bicubic_why and pane.role in ("sr", "swipe"):
                title += f" <span style='color:#e0a030'>· showing bicubic ({bicubic_why})</span>"
            elif bicubic_why and pane.role in MAP_ROLES:
                title += f" <span style='color:#e0a030'>· no SR frame ({bicubic_why})</span>"
            if pane.role in ("sr", "swipe", *MAP_ROLES) and self.sr_pending():
                title += " <span style='color:#e0a030'>· rendering…</span>"
            if pane.role in ("sr", "swipe", *MAP_ROLES) and self.sr is not None and self.sr.error and self.sr.request is req:
                title += " <span style='color:#e74c3c'>· SR failed</span>"
            if pane.role != "bicubic":
                title += f"<br><span style='color:#9aa4ae; font-size:8pt; font-weight:normal'>{AI_LABEL}</span>"
            pane.overlay.set_text("top_left", title)
            if pane.role == "bicubic":
                pane.overlay.set_text("top_right", zoom_text(s.zoom, scale, with_sr=False))
            else:
                pane.overlay.set_text("top_right", f"{ztext if not bicubic_why else zoom_text(s.zoom, scale, with_sr=False)}<br>{etext}")
            pane.overlay.set_text("bottom_left", stext)
            if pane.role == "difference":  # not windowed: its own scale, not W/L
                diff = self._diff_cache[2] if self._diff_cache is not None and self._diff_cache[0] is req else None
                pane.overlay.set_text("bottom_right", difference_text(diff) + self._hover_text(pane))
            elif pane.role == "disagreement":
                pane.overlay.set_text("bottom_right", self.guard.legend() + self._hover_text(pane))
            else:
                pane.overlay.set_text("bottom_right", wtext + self._hover_text(pane))

    def _progress_text(self) -> str:
        """'SR ready for 87/120 slices' while the background encodes fill the plane."""
        if self.scan is None or self.upscaler is None or not self.sr_on or not self.background:
            return ""
        n = self.state.n_slices
        ready = self.renderer.ready_slices(self.scan.token, self.state.plane)
        return "" if ready >= n else f"<br>SR ready for {ready}/{n} slices"

    def _refresh_progress(self) -> None:
        if self.slice is not None and self._progress_text() != self._shown_progress:
            self._update_overlay()

    def set_sr_on(self, on: bool) -> None:
        """Meta-SRGAN on this scan (off by default on quantitative maps)."""
        self.sr_on = bool(on)
        self.refresh()

    def _hover_text(self, pane) -> str:
        if self._hover is None or self.slice is None:
            return ""
        src, x, y = self._hover
        vp = self.viewport(src)
        pixel = vp.pixel_at(x, y)
        if pixel is None:
            return ""
        pixels = self.source.peek() if self.source is not None else None
        if pixels is None:  # not made yet (a worker makes it within a frame)
            return ""
        value = float(pixels[pixel])
        sr_value = None
        if self._current(self.sr):
            top, left, height, width = self.sr.request.region
            oy, ox = vp.origin
            r, c = int(oy + y) - top, int(ox + x) - left
            if 0 <= r < height and 0 <= c < width:
                sr_value = float(self.sr.pixels[r, c])
        return "<br>" + value_text(pixel, value, sr_value)

    # -- interaction --------------------------------------------------------------
    def _on_wheel(self, pane, delta: float, ctrl: bool, x: float, y: float) -> None:
        if self.slice is None:
            return
        action = self.interpreter.interpret(delta, ctrl)
        if action.kind == "zoom":
            self.zoom_by(action.zoom_factor, pane, x, y)
        elif action.slice_steps:
            self.state.step_slice(action.slice_steps)

    def zoom_by(self, factor: float, pane=None, x: float | None = None, y: float | None = None) -> None:
        """Zoom by ``factor`` about pane pixel ``(x, y)`` (None: the pane's centre)."""
        if self.slice is None:
            return
        pane = pane or self.view.visible_panes()[-1]
        vp = self.viewport(pane)
        if x is None:
            x, y = vp.size[0] / 2, vp.size[1] / 2
        new = clamp_zoom(self.state.zoom * factor)
        self.state.set_zoom(new, vp.center_after_zoom(new, x, y))

    def _on_drag_started(self, pane, gesture: str, x: float, y: float) -> None:
        self._drag_start = (self.viewport(pane) if self.slice is not None else None, self.state.window)

    def _on_dragged(self, pane, gesture: str, dx: float, dy: float, x: float, y: float) -> None:
        if self._drag_start is None or self.slice is None:
            return
        vp0, window0 = self._drag_start
        if gesture == "pan":
            self.state.update(center=vp0.center_after_pan(dx, dy))
        elif gesture == "window":
            self.state.set_window(*drag_window(window0, dx, dy))
        elif gesture == "swipe":
            self.state.update(swipe=min(max(x / max(pane.size_px[0], 1), 0.0), 1.0))

    def _on_hover(self, pane, x: float, y: float) -> None:
        self._hover = None if x < 0 else (pane, x, y)
        self._update_overlay()

    # -- background encodes ---------------------------------------------------------
    def prefetch_radius(self) -> int:
        """Neighbours each side that fit the cache beside the current slice."""
        if self.slice is None:
            return 0
        rows, cols = self.slice.shape
        per_slice = (rows + 2) * (cols + 2) * 64 * 4 + rows * cols * 4
        fit = self.renderer.cache.max_bytes // per_slice
        return int(max(0, min(2, (fit - 1) // 2)))

    def view_window(self):
        """The input window (top, left, height, width) of the current slice whose
        features the Meta-SRGAN frame of this view reads (None: no SR frame)."""
        big = self.viewport()
        region = big.region(pad=1)
        if region is None:
            return None
        if mirrored(self.key()):  # features are of the stored orientation
            region = mirror_region(self.slice.shape, big.scale, region)
        return self.renderer.view_window(self.slice.shape, big.scale, region)

    def neighbours(self) -> list[int]:
        """Slices to prefetch, nearest first: as many as the cache holds (``prefetch_radius``
        each side), leaning the way the user is scrolling (readers step through a series
        mostly one way): the next slice ahead, the one behind, then further ahead; at the
        end of the series, further behind instead."""
        s, radius = self.state, self.prefetch_radius()
        if radius == 0:
            return []
        ahead = [s.index + self._heading * d for d in range(1, 2 * radius + 1)]
        behind = [s.index - self._heading * d for d in range(1, 2 * radius + 1)]
        order = [ahead[0], behind[0], *ahead[1:], *behind[1:]]
        return [i for i in order if 0 <= i < s.n_slices][: 2 * radius]

    def _prefetch(self) -> None:
        """Encode in the background, in the order the user is likely to need it: the
        next slices each way (the part the view shows: ready for a scroll), the rest of
        this slice (for a pan or a zoom-out), then the rest of the neighbours."""
        if self.scan is None or self.upscaler is None or self.slice is None or not self.background:
            return
        s, scan = self.state, self.scan
        view = self.view_window()
        shape = self.slice.shape
        self.renderer.paused = False

        def item(i, window):
            # the features' orientation (radiological): no flip to undo
            key = SliceKey(scan.token, s.plane, i, True)
            return (key, lambda i=i, p=s.plane: scan.display_slice(p, i, True).pixels, window, shape)

        near = self.neighbours()
        items = [item(i, view) for i in near[:2]] + [item(s.index, None)] + [item(i, view) for i in near[2:]]
        if view is not None:
            items += [item(i, None) for i in near]
        # then every other slice of the plane, nearest first (features kept compactly)
        rest = sorted((i for i in range(s.n_slices) if i != s.index and i not in near), key=lambda i: (abs(i - s.index), i))
        items += [item(i, None) for i in rest]
        self.renderer.prefetch(items)

    def shutdown(self) -> None:
        self._prefetch_timer.stop()
        self._progress_timer.stop()
        self.guard.shutdown()
        self.renderer.shutdown()
