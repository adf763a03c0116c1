"""The consistency guard for the viewer's frames, off the GUI thread (no Qt here).

``ConsistencyChecker.submit(sr, bicubic)`` takes a Meta-SRGAN frame and the bicubic frame
of the same request and, on its own worker thread (newest job only), compares the SR with
the acquired slice (``engine.consistency``).  ``on_result(ConsistencyResult)`` is called on
that thread; the GUI side hands it to its own thread.

``ConsistencyResult.display`` is the disagreement map on the frame's own grid (each SR
pixel shows its LR pixel's ``|disagreement| / noise``; NaN where the guard left pixels out),
for a colour scale of its own beside |SR - bicubic|; ``text`` is the overlay's line.

``project_frame`` is the data-consistent rendering of an SR frame (``guard.project`` on
the frame's region), for the SR worker.

A guard's set-up (the zoom's operators, the whole-slice term) is the slow part, 0.2-1.4 s
on a small CPU: ``GuardCache`` keeps the last few, shared by the checker and the SR worker,
and the noise level of each slice once (it does not depend on the zoom).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import numpy as np

from engine.consistency import ConsistencyGuard, ConsistencyMap, estimate_noise
from engine.held_setting import HeldSetting

from ..model import data_guard
from .frames import Frame, FrameRequest
from .latest_worker import LatestOnlyWorker
from .zoom_renderer import _lower_priority

log = logging.getLogger(__name__)

#: Guards kept (slice x zoom): a few, for going back and forth between slices.
KEEP = 4
#: Noise levels kept (one per slice).
KEEP_NOISE = 256
#: Back-projection iterations of the data-consistent rendering (``guard.project``).
PROJECT_ITERATIONS = 3
#: Niceness of the checker's thread: it runs after the frame is on screen and must not
#: slow the next one (the frames and the GUI go first when they need a core).
CHECK_NICE = 5


@dataclass(frozen=True, eq=False)
class ConsistencyResult:
    """The guard's answer for one frame: ``map`` and ``display`` (None when the check
    failed: ``error`` says why)."""

    request: FrameRequest
    map: ConsistencyMap | None
    display: np.ndarray | None  # float32, the frame's shape
    #: the checked SR frame was the data-consistent rendering
    data_consistent: bool = False
    error: str | None = None

    @property
    def text(self) -> str:
        return self.map.summary() if self.map is not None else f"consistent: n/a ({self.error})"


def display_map(cm: ConsistencyMap, request: FrameRequest) -> np.ndarray:
    """``cm.ratio`` (per LR pixel) spread over the frame's SR pixels (nearest: the LR pixel
    whose footprint holds the SR pixel's centre); NaN outside ``cm.lr_window``."""
    top, left, height, width = request.region
    (m_y, m_x), (n_y, n_x) = request.pixels.shape, request.grid_shape
    ys, xs = cm.lr_window
    jy = ((np.arange(top, top + height) + 0.5) * m_y // n_y).astype(np.int64) - ys.start
    jx = ((np.arange(left, left + width) + 0.5) * m_x // n_x).astype(np.int64) - xs.start
    rows, cols = cm.ratio.shape
    if not cm.ratio.size:
        return np.full((height, width), np.nan, np.float32)
    # two takes along one axis each: 6x faster than one fancy index over both (a
    # 1024x768 frame: 0.9 ms against 6), then the SR pixels outside the window
    out = np.take(np.take(cm.ratio, np.clip(jy, 0, rows - 1), axis=0), np.clip(jx, 0, cols - 1), axis=1).astype(np.float32, copy=False)
    out[(jy < 0) | (jy >= rows)] = np.nan
    out[:, (jx < 0) | (jx >= cols)] = np.nan
    return out


# -- one BLAS thread while the guard works ---------------------------------------------
# The guard's products are small blocks (16 rows by ~40 columns): a second BLAS thread
# only adds hand-offs, and on a busy 2-core machine it made a 5 ms check take 60-900 ms.
# The limit is process-wide (OpenBLAS has one pool), so it is held while any guard
# works and lifted when the last one is done.
def _one_thread():
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


one_blas_thread = HeldSetting(_one_thread, lambda limit: limit.restore_original_limits()).held


class GuardCache:
    """The guards of the last ``KEEP`` (slice, zoom) pairs, and each slice's noise level;
    thread-safe (the checker and the SR worker share it).  Two threads asking for the
    same new guard at once each build it; the later one is kept."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = int(keep)
        self._lock = threading.Lock()
        self._guards: OrderedDict = OrderedDict()
        self._noise: OrderedDict = OrderedDict()

    def noise(self, request: FrameRequest) -> float:
        """The slice's noise sigma (the viewer's acquisition model has no reconstruction
        filter, so the estimate is the slice's whatever the zoom)."""
        key = request.key
        with self._lock:
            sigma = self._noise.get(key)
        if sigma is None:
            sigma = estimate_noise(request.pixels)
            with self._lock:
                self._noise[key] = sigma
                while len(self._noise) > KEEP_NOISE:
                    self._noise.popitem(last=False)
        return sigma

    def guard(self, request: FrameRequest) -> ConsistencyGuard:
        key = (request.key, tuple(request.scale))
        with self._lock:
            g = self._guards.get(key)
            if g is not None and g.lr.shape == request.shape:
                self._guards.move_to_end(key)
                return g
        g = ConsistencyGuard(request.pixels, request.scale, sigma=self.noise(request))
        with self._lock:
            self._guards[key] = g
            while len(self._guards) > self.keep:
                self._guards.popitem(last=False)
        return g

    def clear(self) -> None:
        with self._lock:
            self._guards.clear()
            self._noise.clear()


def project_frame(guards: GuardCache, request: FrameRequest, sr: np.ndarray, iterations: int = PROJECT_ITERATIONS) -> np.ndarray | None:
    """The data-consistent rendering of the SR frame ``sr`` of ``request``: projected so
    that, re-acquired, it approaches the acquired pixels (``ConsistencyGuard.project``);
    None above the guard's zoom (``data_guard.MAX_ZOOM``): the frame stays as it is."""
    if not data_guard.checkable(request.scale):
        return None
    with one_blas_thread():
        return guards.guard(request).project(sr, request.region, iterations)


class ConsistencyChecker:
    def __init__(self, on_result: Callable[[ConsistencyResult], None], guards: GuardCache | None = None) -> None:
        self.on_result = on_result
        self.guards = guards if guards is not None else GuardCache()
        self._worker = LatestOnlyWorker("metazoom-consistency", self._run, lambda: _lower_priority(CHECK_NICE))

    def submit(self, sr: Frame, bicubic: Frame) -> None:
        """Check ``sr`` against the acquired slice; ``bicubic``: that request's bicubic frame."""
        if sr.pixels is None or bicubic.pixels is None or sr.request is not bicubic.request:
            raise ValueError("the guard needs the SR and bicubic frames of one request")
        self._worker.submit((sr, bicubic))

    def guard(self, request: FrameRequest) -> ConsistencyGuard:
        return self.guards.guard(request)

    def _run(self, job) -> None:
        sr, bic = job
        req = sr.request
        try:
            with one_blas_thread():
                cm = self.guard(req).check(sr.pixels, req.region, bicubic=bic.pixels)
            result = ConsistencyResult(req, cm, display_map(cm, req), sr.data_consistent)
        except Exception as e:  # the overlay says the guard could not check, the frame stays
            log.exception("consistency check failed")
            result = ConsistencyResult(req, None, None, sr.data_consistent, error=f"{type(e).__name__}: {e}")
        self.on_result(result)

    @property
    def idle(self) -> bool:
        return self._worker.idle

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self._worker.wait_idle(timeout)

    def stop(self) -> None:
        self._worker.stop()
