"""The consistency guard for the viewer's frames, off the GUI thread (no Qt here).

``ConsistencyChecker.submit(sr, bicubic)`` takes a Meta-SRGAN frame and the bicubic frame
of the same request and, on its own worker thread (newest job only), compares the SR with
the acquired slice (``engine.consistency``): one guard per slice and zoom (its set-up, the
whole-slice term and the noise estimate, is the slow part: kept for the last few), then a
few milliseconds per frame.  ``on_result(ConsistencyResult)`` is called on that thread;
the GUI side hands it to its own thread.

``ConsistencyResult.display`` is the disagreement map on the frame's own grid (each SR
pixel shows its LR pixel's ``|disagreement| / noise``; NaN where the guard left pixels out),
for a colour scale of its own beside |SR - bicubic|; ``text`` is the overlay's line.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import numpy as np

from engine.consistency import ConsistencyGuard, ConsistencyMap

from .frames import Frame, FrameRequest
from .latest_worker import LatestOnlyWorker

#: Guards kept (slice x zoom): a few, for going back and forth between slices.
KEEP = 4


@dataclass(frozen=True)
class ConsistencyResult:
    request: FrameRequest
    map: ConsistencyMap
    display: np.ndarray  # float32, the frame's shape

    @property
    def text(self) -> str:
        return self.map.summary()


def display_map(cm: ConsistencyMap, request: FrameRequest) -> np.ndarray:
    """``cm.ratio`` (per LR pixel) spread over the frame's SR pixels (nearest: the LR pixel
    whose footprint holds the SR pixel's centre); NaN outside ``cm.lr_window``."""
    top, left, height, width = request.region
    (m_y, m_x), (n_y, n_x) = request.pixels.shape, request.grid_shape
    ys, xs = cm.lr_window
    jy = ((np.arange(top, top + height) + 0.5) * m_y // n_y).astype(np.int64) - ys.start
    jx = ((np.arange(left, left + width) + 0.5) * m_x // n_x).astype(np.int64) - xs.start
    ok_y = (jy >= 0) & (jy < cm.ratio.shape[0])
    ok_x = (jx >= 0) & (jx < cm.ratio.shape[1])
    out = np.full((height, width), np.nan, np.float32)
    if cm.ratio.size:
        out[np.ix_(ok_y, ok_x)] = cm.ratio[np.ix_(jy[ok_y], jx[ok_x])]
    return out


class ConsistencyChecker:
    def __init__(self, on_result: Callable[[ConsistencyResult], None]) -> None:
        self.on_result = on_result
        self._guards: OrderedDict = OrderedDict()
        self._worker = LatestOnlyWorker("metazoom-consistency", self._run)

    def submit(self, sr: Frame, bicubic: Frame) -> None:
        """Check ``sr`` against the acquired slice; ``bicubic``: that request's bicubic frame."""
        if sr.pixels is None or bicubic.pixels is None or sr.request is not bicubic.request:
            raise ValueError("the guard needs the SR and bicubic frames of one request")
        self._worker.submit((sr, bicubic))

    def guard(self, request: FrameRequest) -> ConsistencyGuard:
        key = (request.key, tuple(request.scale), id(request.pixels))
        g = self._guards.get(key)
        if g is None:
            g = ConsistencyGuard(request.pixels, request.scale)
            self._guards[key] = g
            while len(self._guards) > KEEP:
                self._guards.popitem(last=False)
        else:
            self._guards.move_to_end(key)
        return g

    def _run(self, job) -> None:
        sr, bic = job
        req = sr.request
        cm = self.guard(req).check(sr.pixels, req.region, bicubic=bic.pixels)
        self.on_result(ConsistencyResult(req, cm, display_map(cm, req)))

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self._worker.wait_idle(timeout)

    def stop(self) -> None:
        self._worker.stop()
