"""``LiveZoom``: binds the view state, the zoom renderer and the panes.

State change -> the panes' view rectangles move at once (the frames they hold move
with them, so the picture follows the wheel with no wait) -> one frame request ->
the bicubic frame lands in a few ms, the Meta-SRGAN frame replaces it when ready (it
waits for the bicubic frame's paint: ``render.bicubic_first``).  Frames of stale requests are dropped on arrival.  Neighbouring slices are encoded
once the view has been still for a moment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QTimer, Signal

from engine import windowing
from engine.models import model_label

from ..model.difference import difference_map
from ..model.interaction import Drag, WheelInterpreter, zoom_about
from ..model.pane_text import MAP_ROLES, EngineStatus, PaneFacts, engine_line, pane_corners, progress_line, slice_line
from ..model.prefetch import ScrollHeading, neighbours, prefetch_order, prefetch_radius
from ..model.readout import value_text
from ..model.scan_notes import colour_note, has_geometry, quantitative_reason
from ..model.sr_policy import sr_pane_state
from ..model.view_state import ViewState
from ..model.viewport import Viewport, clamp_zoom, fit_zoom
from ..render.bicubic_first import BicubicFirst
from ..render.frames import Frame, SliceKey, mirror_region, mirrored, sr_scale_for
from ..render.shown_frames import pane_frames, shown_on_the_way
from ..render.zoom_renderer import ZoomRenderer
from .compare_view import CompareView
from .guard_view import GuardView
from .mailbox import Mailbox

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
        self.heading = ScrollHeading()
        # the SR frame waits for the bicubic one to be painted (``render.bicubic_first``)
        self._bicubic_first = BicubicFirst(lambda g: self.renderer.bicubic_displayed(g))
        for pane in view.panes:
            pane.painted.connect(self._bicubic_first.painted)
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
            if "index" in changed and old is not None and "plane" not in changed:
                self.heading.stepped(old.index, s.index)
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
    def _on_frame(self, frame: Frame) -> None:
        if self.request is None or frame.request is not self.request:
            if shown_on_the_way(frame, self.request, self.bicubic):
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
            g = frame.request.generation
            self._bicubic_first.handed(g, [p for p in self.view.visible_panes() if p.shown_tag is not None and p.shown_tag[0] == g])

    def _current(self, frame: Frame | None) -> bool:
        return frame is not None and frame.pixels is not None and frame.request is self.request

    def sr_pending(self) -> bool:
        return self.request is not None and self.request.want_sr and not self._current(self.sr)

    def _difference(self):
        if not (self._current(self.sr) and self._current(self.bicubic)):
            return None
        if self._diff_cache is None or self._diff_cache[0] is not self.request:
            self._diff_cache = (self.request, *difference_map(self.sr.pixels, self.bicubic.pixels, self.state.window[1]))
        return self._diff_cache[1:]

    def _display(self) -> None:
        lv = windowing.levels(self.state.window)
        shown = pane_frames(self.bicubic, self.sr)
        bic = shown.bicubic
        for pane in self.view.visible_panes():
            if pane.role == "bicubic":
                self._put(pane, bic, lv)
            elif pane.role == "sr":
                self._put(pane, shown.sr, lv)
            elif pane.role == "swipe":
                self._put(pane, bic, lv)
                self._put_swipe(pane, shown.swipe_sr, lv)
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
        engine = self.engine_status()
        self._shown_progress = self._progress_text()
        # why the SR panes show bicubic, if they do (engine missing, SR off for this
        # scan, the view not enlarged)
        bicubic_why = sr_pane_state(self.engine_note, self.upscaler is not None, sr_scale, self.sr_on,
                                    None if self.sr_on else (self.sr_blocked or "turned off"))
        notes = self.notes
        facts = PaneFacts(
            zoom=s.zoom, scale=scale, sr_scale=sr_scale, engine=engine_line(engine) + self._shown_progress + self.guard.overlay_line(),
            slice=slice_line(s.plane, s.index, s.n_slices, self.slice.position_mm if notes.geometry else None, notes.colour),
            window=s.window, bicubic_why=bicubic_why, untrained=engine.present and not engine.trained,
            rendering=self.sr_pending(), failed=bool(self.sr is not None and self.sr.error and self.sr.request is req),
            difference_top=self._diff_cache[2] if self._diff_cache is not None and self._diff_cache[0] is req else None,
            model=engine.model)
        for pane in self.view.visible_panes():
            hover = self.guard.legend() if pane.role == "disagreement" else self._hover_text(pane)
            for corner, text in pane_corners(pane.role, facts, hover).items():
                pane.overlay.set_text(corner, text)

    def engine_status(self) -> EngineStatus:
        up = self.upscaler
        if up is None:
            return EngineStatus(note="loading" if self.engine_note == "loading" else "unavailable")
        return EngineStatus(device=up.device.type if hasattr(up, "device") else "cpu", backend=getattr(up, "backend", None),
                            sr_ms=self.last_sr_ms, encode_ms=self.last_encode_ms,
                            trained=getattr(getattr(up, "info", None), "trained", True),
                            model=model_label(getattr(getattr(up, "info", None), "path", None)))

    def _progress_text(self) -> str:
        """'SR ready for 87/120 slices' while the background encodes fill the plane."""
        if self.scan is None or self.upscaler is None or not self.sr_on or not self.background:
            return ""
        return progress_line(self.renderer.ready_slices(self.scan.token, self.state.plane), self.state.n_slices)

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
        self.state.set_zoom(*zoom_about(self.viewport(pane), self.state.zoom, factor, x, y))

    def _on_drag_started(self, pane, gesture: str, x: float, y: float) -> None:
        self._drag_start = Drag(self.viewport(pane) if self.slice is not None else None, self.state.window)

    def _on_dragged(self, pane, gesture: str, dx: float, dy: float, x: float, y: float) -> None:
        if self._drag_start is None or self.slice is None:
            return
        change = self._drag_start.change(gesture, dx, dy, x, pane.size_px[0])
        if change:
            self.state.update(**change)

    def _on_hover(self, pane, x: float, y: float) -> None:
        self._hover = None if x < 0 else (pane, x, y)
        self._update_overlay()

    # -- background encodes ---------------------------------------------------------
    def prefetch_radius(self) -> int:
        """Neighbours each side whose features fit the cache beside the current slice."""
        if self.slice is None or self.upscaler is None:
            return 0
        return prefetch_radius(self.slice.shape, self.upscaler.channels, self.renderer.cache.max_bytes)

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
        """Slices to prefetch, nearest first, leaning the way the user is scrolling."""
        return neighbours(self.state.index, self.state.n_slices, self.heading.value, self.prefetch_radius())

    def _prefetch(self) -> None:
        """Encode other slices in the background, in ``prefetch_order``."""
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

        self.renderer.prefetch([item(i, w) for i, w in prefetch_order(s.index, s.n_slices, self.neighbours(), view)])

    def shutdown(self) -> None:
        self._prefetch_timer.stop()
        self._progress_timer.stop()
        self.guard.shutdown()
        self.renderer.shutdown()
