"""``GuardView``: the consistency guard in the panes.

Once a Meta-SRGAN frame and its bicubic frame are on screen, the checker
(``render.consistency``, its own low-priority thread) compares the SR with the acquired
slice; its answer is shown only for the frame it was made for:

- the SR panes' overlay line ``consistent: 99.2% of pixels within noise`` (``checking…``
  until then; a newer frame's line never shows an older frame's number);
- the Difference mode's third pane: the disagreement map in noise sigmas, in its own
  colour scale.  A map stays on a pan (same slice and zoom: its pixels still lie where
  they belong) and is cleared on any other change.

With the data-consistent rendering on, each SR frame is projected onto the acquired
data on the SR worker before it is shown (``ZoomRenderer.project_sr``), and the panes
say so.
"""

from __future__ import annotations

import logging
from functools import partial

from PySide6.QtCore import QObject, Signal

from ..model import data_guard
from ..render.consistency import ConsistencyChecker, ConsistencyResult, GuardCache, project_frame
from ..render.frames import Frame
from .mailbox import Mailbox

log = logging.getLogger(__name__)

LUT = data_guard.disagreement_lut()


class GuardView(QObject):
    #: the guard's answer for the frame on screen is shown: (ConsistencyResult)
    checked = Signal(object)

    def __init__(self, live) -> None:
        super().__init__(live)
        self.live = live
        self.guards = GuardCache()
        self._mailbox = Mailbox(self)
        self.checker = ConsistencyChecker(lambda res: self._mailbox.post(lambda: self._on_result(res)), self.guards)
        #: the newest answer (for the current request or an older one)
        self.result: ConsistencyResult | None = None
        self._submitted = None  # the request whose SR frame went to the checker last
        self._painted = None  # (pane, result) on screen in the map pane
        live.sr_shown.connect(lambda _f: self._submit())
        live.bicubic_shown.connect(lambda _f: self._submit())

    # -- data-consistent rendering ------------------------------------------------------
    @property
    def data_consistent(self) -> bool:
        return self.live.renderer.project_sr is not None

    def set_data_consistent(self, on: bool) -> None:
        """Project every SR frame onto the acquired data (True) or show the network's raw
        frames; the frame on screen is made again the new way."""
        if bool(on) == self.data_consistent:
            return
        self.live.renderer.project_sr = partial(project_frame, self.guards) if on else None
        self.live.refresh()

    # -- checks ---------------------------------------------------------------------------
    def _sr_on_screen(self) -> bool:
        live = self.live
        return live._current(live.sr) and live._current(live.bicubic)

    def _submit(self) -> None:
        live = self.live
        if not self._sr_on_screen() or self._submitted is live.request or not data_guard.checkable(live.request.scale):
            return
        self._submitted = live.request
        self.checker.submit(live.sr, live.bicubic)

    def _on_result(self, res: ConsistencyResult) -> None:
        if res.request is not self.live.request:
            return  # made for a frame no longer on screen
        self.result = res
        pane = self.live.view.pane_with_role("disagreement")
        if pane is not None:
            self.paint(pane)
        self.live._update_overlay()
        self.checked.emit(res)

    def current(self) -> ConsistencyResult | None:
        """The answer for the frame on screen, or None."""
        res = self.result
        return res if res is not None and self._sr_on_screen() and res.request is self.live.request else None

    def settled(self) -> bool:
        """Nothing left to check for the frame on screen (screenshots wait for this)."""
        return not self._sr_on_screen() or self.current() is not None or not data_guard.checkable(self.live.request.scale)

    # -- what the panes show ----------------------------------------------------------------
    def paint(self, pane) -> None:
        """The disagreement map of the frame on screen in ``pane``; on a pan the last map
        stays (it still lies where it belongs) until the new one comes; else nothing."""
        from .live_zoom import frame_rect

        live, res = self.live, self.result
        if res is None or res.display is None or not (res.request is live.request or data_guard.same_view(res.request, live.request)):
            if self._painted is not None and self._painted[0] is pane:
                pane.set_image(None, None, None)
            self._painted = None
            return
        if self._painted is not None and self._painted[0] is pane and self._painted[1] is res and pane.base.isVisible():
            return
        pane.set_image(res.display, frame_rect(Frame(res.request, "guard", None)), (0.0, data_guard.SCALE_TOP), lut=LUT,
                       generation=res.request.generation)
        pane.overlay.scale.set_scale(LUT, 0.0, data_guard.SCALE_TOP, data_guard.UNITS)
        self._painted = (pane, res)

    def overlay_line(self) -> str:
        """For the SR panes' top-right block: a line of its own, or ''."""
        res = self.current()
        on_screen = self._sr_on_screen()
        text = res.text if res is not None else None
        if on_screen and not data_guard.checkable(self.live.request.scale):
            text = data_guard.NOT_CHECKED
        line = data_guard.overlay_line(text, on_screen, on_screen and self.live.sr.data_consistent)
        return f"<br>{line}" if line else ""

    def legend(self) -> str:
        """The map pane's scale, and the disagreement under the mouse."""
        return data_guard.legend_text() + self._hover_value()

    def _hover_value(self) -> str:
        live, res = self.live, self.current()
        if live._hover is None or res is None or res.display is None:
            return ""
        pane, x, y = live._hover
        oy, ox = live.viewport(pane).origin
        top, left, height, width = res.request.region
        r, c = int(oy + y) - top, int(ox + x) - left
        if not (0 <= r < height and 0 <= c < width):
            return ""
        return "<br>" + data_guard.value_text(float(res.display[r, c]))

    def shutdown(self) -> None:
        self.checker.stop()
