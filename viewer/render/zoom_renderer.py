"""``ZoomRenderer``: turns frame requests into bicubic and Meta-SRGAN frames off the
GUI thread.  No Qt: frames go to an ``on_frame`` callback (the Qt side forwards
them to the GUI thread with a queued signal).

Three threads, each with one job:
- bicubic: the instant frame (a few ms), latest request only;
- sr: encode the part of the slice the view shows if its features are not cached,
  then render the visible region in bands of rows; latest request only: a request
  that went stale while the slice was encoding, or between two bands, stops there;
- prefetch: encodes the neighbouring slices (the part the view shows first, the
  rest later) while nothing else is asked for.

The engine's numba kernels release the GIL; their OpenMP teams are sized per thread
(numba's ``set_num_threads`` is thread-local) because on a 2-core machine a
2-thread team that shares its cores with the GUI thread waits on itself: measured
here, bicubic of a 1024x768 region took 2.8 ms on one thread and ~35 ms on two
with the cores busy.  So while the GUI puts the bicubic frame on screen (the GUI
calls ``bicubic_displayed``), the SR frame renders its first bands on one thread,
and switches to every core between bands once the bicubic frame is shown.  The whole
protocol, step by step, with its time bound: ``viewer/render/bicubic_first.py``.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numba
import numpy as np

from engine.features import checked_window

from .compact import CompactStore, default_store_bytes
from .feature_cache import FeatureCache, encoded, encoded_in_strips
from .frames import (Frame, FrameRequest, SliceKey, SliceSource, bicubic_frame, features_key, mirror_region, mirrored,
                     sr_frame_mirrored, sr_scale_for, sr_window)
from .latest_worker import LatestOnlyWorker

log = logging.getLogger(__name__)

#: How long a Meta-SRGAN frame waits for its bicubic frame to be shown first.
BICUBIC_FIRST_S = 0.05
#: Rows per band of a Meta-SRGAN frame: a newer request stops a stale frame
#: between bands (a quarter of a 1024x768 pane) instead of after the whole frame.
SR_BAND_ROWS = 192
#: Default feature cache: eight 512x512 slices (~68 MB each).
DEFAULT_CACHE_BYTES = 600 * 2**20
#: Input pixels encoded around what a view shows, each side: a small pan then needs no
#: new encode.  (The trunk's halo, 16 pixels each side, is paid on every encode anyway.)
PAN_MARGIN = 16
#: A view that reads more than this share of a slice encodes all of it: a window costs
#: 1.2-1.5x more per pixel than the whole slice (its halo, its shape; engine.bench: at
#: 88% of a 512x512 slice it took longer than the whole), and leaves no ring to encode.
WHOLE_SLICE_SHARE = 0.7


#: Rows of the slice encoded at a time: an encode for a slice the user has scrolled
#: past stops after the strip under way (each strip pays the trunk's halo at the cut,
#: 18 rows with the bundled network: two strips of a 512-row slice compute 548 rows, 7%
#: more than one encode).
ENCODE_STRIP_ROWS = 256
#: A slice the user stepped onto waits this long before its encode starts: at key
#: repeat (30 slices/s) no encode starts until the keys stop, so the bicubic frames
#: have the cores; a cached slice renders at once.
SCROLL_SETTLE_S = 0.12
#: A step within this long of the request before it is part of a burst (key repeat, a
#: held wheel) and waits ``SCROLL_SETTLE_S``; a step after a longer pause is a reader
#: going to the next slice, whose encode starts at once.  Above the usual key-repeat
#: delays (250-500 ms), so a held key's first repeat is counted in the burst.
BURST_GAP_S = 0.5

#: Slice steps queued for bicubic frames before the oldest is skipped: at 30 slices/s
#: a 4-frame lag (133 ms) is the most a reader sees before slices drop out.
STEPS_KEPT = 4

#: Niceness of the encode a frame waits for: the GUI thread and the bicubic worker
#: (normal priority) go first when they need a core, so a key press is shown while a
#: slice encodes; on an otherwise idle machine it changes nothing.
ENCODE_NICE = 5

#: Niceness of the background encodes (Linux): they take only what the frames and
#: the GUI leave, so a prefetch in flight barely slows the frame the user waits for.
PREFETCH_NICE = 10


def _lower_priority(nice: int) -> None:
    """Lower this thread's scheduling priority by ``nice`` steps (Linux threads have
    their own; lowering is always allowed)."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        pass


def _worker_setup(n: int, torch_threads: int | None = None, nice: int = 0) -> Callable[[], None]:
    """What a worker thread does first: its priority, its numba (and torch) team size,
    and loading the compiled kernels."""

    def setup() -> None:
        if nice:
            _lower_priority(nice)
        numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
        if torch_threads is not None:  # thread-local, like numba's
            import torch

            torch.set_num_threads(torch_threads)
        # load the compiled kernel now: numba holds the GIL while it loads, which
        # would otherwise freeze the GUI thread at the first zoom
        bicubic_frame(np.ones((4, 4), np.float32), (2.0, 2.0), (0, 0, 8, 8))

    return setup


def warm_up(upscaler) -> None:
    """Run the engine once on a tiny slice (kernel loading, first-call costs)."""
    try:
        features = upscaler.encode(np.linspace(0, 1, 256, dtype=np.float32).reshape(16, 16))
        upscaler.render(features, 2.0)
    except Exception:  # a real failure shows on the first real frame, with its reason
        log.debug("engine warm-up failed", exc_info=True)


def _encode_window(need, shape):
    """What to encode for a frame that reads ``need``: it with ``PAN_MARGIN`` around,
    or None (the whole slice) when that is over ``WHOLE_SLICE_SHARE`` of it."""
    top, left, height, width = need
    window = (top - PAN_MARGIN, left - PAN_MARGIN, height + 2 * PAN_MARGIN, width + 2 * PAN_MARGIN)
    _, _, rows, cols = checked_window(shape, window)
    return None if rows * cols > WHOLE_SLICE_SHARE * shape[0] * shape[1] else window


def default_sr_threads(waits_for_display: bool = True) -> int:
    """All cores when the SR frame waits for the bicubic one to be on screen (the
    GUI thread is idle while it renders); otherwise leave one to the GUI."""
    n = os.cpu_count() or 1
    return n if waits_for_display else max(1, n - 1)


class ZoomRenderer:
    def __init__(self, upscaler, on_frame: Callable[[Frame], None], cache_bytes: int = DEFAULT_CACHE_BYTES, sr_threads: int | None = None,
                 waits_for_display: bool = False, store_bytes: int | None = None) -> None:
        """``waits_for_display``: the GUI calls ``bicubic_displayed`` once a bicubic
        frame is on screen, and the SR frame of the same request starts then (or after
        ``BICUBIC_FIRST_S``); otherwise it starts when the bicubic frame is made."""
        self.upscaler = upscaler
        self.on_frame = on_frame
        # whole slices leaving the float32 cache are kept at half the size (every slice
        # of the plane fits): ``store_bytes`` (default a quarter of RAM; 0 = none)
        store = default_store_bytes() if store_bytes is None else int(store_bytes)
        self.cache = FeatureCache(cache_bytes, CompactStore(max(0, store)))  # 0 keeps nothing
        self._last_key = None
        self._last_request_t = -float("inf")
        self.settle_s = SCROLL_SETTLE_S
        #: while True (the user zooms or pans), background encodes wait
        self.paused = False
        #: the data-consistent rendering, ``(request, sr pixels) -> projected pixels`` (or
        #: None where it does not apply), applied to each Meta-SRGAN frame before it is
        #: delivered; None: raw SR frames
        self.project_sr: Callable[[FrameRequest, np.ndarray], np.ndarray] | None = None
        self._counter = itertools.count(1)
        self._engines: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine -> its cache token
        self._engine_counter = itertools.count(1)
        self._latest = 0
        self._prefetch_version = 0
        self._lock = threading.Lock()
        self.waits_for_display = bool(waits_for_display)
        sr_threads = sr_threads or default_sr_threads(self.waits_for_display)
        self._sr_threads = max(1, min(sr_threads, numba.config.NUMBA_NUM_THREADS))
        # slice steps of one view are kept in order (every slice shown), up to a few
        self._bicubic = LatestOnlyWorker("metazoom-bicubic", self._bicubic_job, _worker_setup(1), keep=STEPS_KEPT,
                                         chain=lambda a, b: b.step)
        self._bicubic_done = 0  # generation of the newest finished bicubic frame
        self._bicubic_shown = 0  # ... and of the newest one the GUI has shown
        self._bicubic_cond = threading.Condition()
        self._sr = LatestOnlyWorker("metazoom-sr", self._sr_job, _worker_setup(sr_threads, torch_threads=sr_threads))
        # the SR frame's encode runs here, at a lower priority than the GUI and the bicubic
        # frames (a thread can lower its own priority, never raise it back)
        self._encoder = ThreadPoolExecutor(1, thread_name_prefix="metazoom-encode",
                                           initializer=_worker_setup(sr_threads, torch_threads=sr_threads, nice=ENCODE_NICE))
        # background encodes take one core, leaving the rest to the GUI and the frames
        self._prefetch = LatestOnlyWorker("metazoom-prefetch", self._prefetch_job, _worker_setup(1, torch_threads=1, nice=PREFETCH_NICE))
        if upscaler is not None:
            self._warm()

    def _warm(self) -> None:
        self._warm_thread = threading.Thread(target=warm_up, args=(self.upscaler,), name="metazoom-warm-up", daemon=True)
        self._warm_thread.start()

    # -- requests ---------------------------------------------------------------
    def request(self, key: SliceKey, pixels, scale, region, want_sr: bool = True) -> FrameRequest:
        """Queue a frame; the bicubic one comes back first, then (if ``want_sr`` and
        the zoom is above x1) the Meta-SRGAN one.  Older requests become stale.
        ``pixels``: the slice (an array), or a ``SliceSource`` that makes it on the
        bicubic worker (the GUI thread never prepares a slice)."""
        source = pixels if isinstance(pixels, SliceSource) else SliceSource.of(np.asarray(pixels))
        with self._lock:
            gen = next(self._counter)
            self._latest = gen
            last = self._last_key
            changed = last is not None and (last[0].scan, last[0].plane, last[0].index) != (key.scan, key.plane, key.index)
            view = (key.scan, key.plane, key.radiological, tuple(scale), tuple(region))
            step = changed and last[1] == view
            now = time.monotonic()
            in_burst = step and now - self._last_request_t < BURST_GAP_S
            self._last_request_t = now
            self._last_key = (key, view)
        want_sr = bool(want_sr and self.upscaler is not None and sr_scale_for(tuple(scale)) is not None)
        req = FrameRequest(gen, key, source, (float(scale[0]), float(scale[1])), tuple(int(v) for v in region), want_sr, changed, step,
                           in_burst)
        with self._bicubic_cond:  # an SR job waiting for the user to settle sees it is stale
            self._bicubic_cond.notify_all()
        self._bicubic.submit(req)
        if want_sr:
            self._sr.submit(req)
        return req

    @property
    def latest_generation(self) -> int:
        return self._latest

    def is_stale(self, req: FrameRequest) -> bool:
        return req.generation != self._latest

    @property
    def dropped(self) -> int:
        """Requests replaced before a worker started them (bicubic + SR)."""
        return self._bicubic.dropped + self._sr.dropped

    def bicubic_displayed(self, generation: int) -> None:
        """The GUI put this request's bicubic frame on screen: its SR frame may start."""
        with self._bicubic_cond:
            self._bicubic_shown = max(self._bicubic_shown, generation)
            self._bicubic_cond.notify_all()

    def prefetch(self, items: list[tuple[SliceKey, Callable, tuple | None]]) -> None:
        """Encode these slices in the background, in this order; ``items`` are
        ``(key, pixels_fn, window)``: the input window to encode (see ``view_window``;
        None = the whole slice).  A newer call replaces an unfinished list."""
        with self._lock:
            self._prefetch_version += 1
            version = self._prefetch_version
        self._prefetch.submit((version, list(items)))

    def cancel_prefetch(self) -> None:
        with self._lock:
            self._prefetch_version += 1

    def set_upscaler(self, upscaler) -> None:
        """Swap the engine (device change).  Jobs in flight finish with the old one;
        cache entries are keyed by engine, so its features are never mixed in."""
        self.upscaler = upscaler
        self.cache.clear()
        if upscaler is not None:
            self._warm()

    def cache_key(self, upscaler, key: SliceKey):
        """Features are per slice and per engine (a device change re-encodes).  Engines
        are told apart by a number given once each, not ``id()``: a job of an old
        engine finishing after the swap must not file its features under an id that a
        new engine (another device, another layout) may have reused."""
        with self._lock:
            token = self._engines.get(upscaler)
            if token is None:
                token = self._engines[upscaler] = next(self._engine_counter)
        return (token, features_key(key))

    def cached(self, key: SliceKey, window=None) -> bool:
        """Whether this slice's features (for the current engine) covering ``window``
        (None = the whole slice; of the stored orientation) are in the cache."""
        f = self.cache.peek(self.cache_key(self.upscaler, key))
        return f is not None and f.covers(window)

    def ready_slices(self, scan: int, plane: str) -> int:
        """How many slices of ``plane`` of this scan have all their features (hot or
        compact) for the current engine: the overlay's "SR ready for n/N slices"."""
        token = self.cache_key(self.upscaler, SliceKey(scan, plane, 0, True))[0]
        return sum(1 for t, k in self.cache.complete_keys() if t == token and k.scan == scan and k.plane == plane)

    def view_window(self, shape, scale, region):
        """What to encode for a Meta-SRGAN frame of ``region`` at ``scale``: the input
        window it reads, with ``PAN_MARGIN``; None for the whole slice (a view that
        reads most of it, or zoom <= x1, where there is no SR frame to size it by)."""
        if self.upscaler is None or sr_scale_for(tuple(scale)) is None:
            return None
        return _encode_window(sr_window(self.upscaler, shape, tuple(scale), region), shape)

    def clear(self) -> None:
        """Forget every cached slice (a new scan was opened)."""
        self.cancel_prefetch()
        self.cache.clear()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        ok = True
        for w in (self._bicubic, self._sr):
            ok &= w.wait_idle(max(0.0, deadline - time.monotonic()))
        return ok

    def shutdown(self, timeout: float = 60.0) -> None:
        """Stop the workers, letting a job in flight finish: an encode cannot be
        interrupted, and a process that exits while a worker is inside torch or numba
        aborts ("terminate called without an active exception").  At most one encode
        per worker is in flight, a few seconds on a slow CPU."""
        self.cancel_prefetch()
        for w in (self._bicubic, self._sr, self._prefetch):
            w.stop(timeout)
        self._encoder.shutdown(wait=True)
        warm = getattr(self, "_warm_thread", None)
        if warm is not None:
            warm.join(timeout)

    # -- jobs (worker threads) -------------------------------------------------
    def _encode(self, upscaler, key: SliceKey, pixels_fn: Callable, window=None, alongside: bool = False):
        """The slice's features covering ``window``, encoding what the cache lacks."""
        return encoded(self.cache, self.cache_key(upscaler, key), upscaler, pixels_fn, window, alongside)

    def _bicubic_job(self, req: FrameRequest) -> None:
        if self.is_stale(req) and not req.step:  # a slice step is shown even when the next key came
            return
        t0 = time.perf_counter()
        try:
            pixels = bicubic_frame(req.pixels, req.scale, req.region)  # (makes the slice first, here)
            frame = Frame(req, "bicubic", pixels, ms=(time.perf_counter() - t0) * 1e3)
        except Exception as e:  # shown in the overlay, the app goes on
            log.exception("bicubic frame failed")
            frame = Frame(req, "bicubic", None, error=f"{type(e).__name__}: {e}")
        with self._bicubic_cond:
            self._bicubic_done = max(self._bicubic_done, req.generation)
            self._bicubic_cond.notify_all()
        self.on_frame(frame)

    def _sr_job(self, req: FrameRequest) -> None:
        upscaler = self.upscaler

        # the instant frame first: on a small machine the two would share the cores
        def bicubic_made() -> bool:
            return self._bicubic_done >= req.generation or self.is_stale(req)

        def bicubic_shown() -> bool:
            return self._bicubic_shown >= req.generation or self.is_stale(req)

        deadline = time.monotonic() + BICUBIC_FIRST_S

        def wait_until_shown() -> None:
            with self._bicubic_cond:
                self._bicubic_cond.wait_for(bicubic_shown, timeout=max(0.0, deadline - time.monotonic()))

        with self._bicubic_cond:
            self._bicubic_cond.wait_for(bicubic_made, timeout=BICUBIC_FIRST_S)
        if self.waits_for_display:
            # the GUI is putting the bicubic frame on screen (one core): meanwhile this
            # thread computes the zoom's filters on the other
            self._prepare(upscaler, req)
        if self.is_stale(req):
            return
        if req.in_burst and not self._settled(req):
            # scrolling through the stack: an SR frame (and the features it may have to
            # thaw or encode) waits until the user pauses on a slice; until then the
            # cores are the bicubic frames'
            return
        mirror = mirrored(req.key)
        at = req.mirrored_region() if mirror else req.region  # where on the features' grid
        try:
            fkey = self.cache_key(upscaler, req.key)
            cached = self.cache.get(fkey)
            encode_ms = 0.0
            need = sr_window(upscaler, req.shape, req.scale, at)
            if cached is None or not cached.covers(need):
                if req.slice_changed and not req.step and not self._settled(req):
                    return  # the user moved on: a newer request has this slice's place
                if self.waits_for_display:  # an encode takes a second: let the bicubic frame show first
                    wait_until_shown()
                t0 = time.perf_counter()
                # only what the view shows (and a margin for small pans): at x3 a third
                # of the slice; the prefetcher encodes the rest once the view is still
                window = _encode_window(need, req.shape)
                pixels_fn = (lambda: np.ascontiguousarray(req.pixels[:, ::-1])) if mirror else (lambda: req.pixels)
                # (a background encode of the rest of this slice may be under way: the
                # strip this frame needs is encoded now, beside it, not after it); in
                # strips, dropped as soon as the user has moved on
                cached = self._encoder.submit(encoded_in_strips, self.cache, fkey, upscaler, pixels_fn, req.shape, window,
                                              ENCODE_STRIP_ROWS, stop=lambda: self.is_stale(req), alongside=True).result()
                encode_ms = (time.perf_counter() - t0) * 1e3
                if cached is None or self.is_stale(req):
                    return  # the features are cached now (or part of them); the newer request renders
            # a head start: the first bands render on one core while the GUI shows the
            # bicubic frame on the other; once it is on screen, every core
            # (a frame of one band has no later band to switch at: it waits instead)
            one_core = self.waits_for_display and not bicubic_shown() and req.region[2] > SR_BAND_ROWS
            if one_core:
                numba.set_num_threads(1)
            elif self.waits_for_display:
                wait_until_shown()

            def stale() -> bool:
                nonlocal one_core
                if one_core and (bicubic_shown() or time.monotonic() > deadline):
                    numba.set_num_threads(self._sr_threads)
                    one_core = False
                return self.is_stale(req)

            t0 = time.perf_counter()
            try:
                pixels, sr_scale = sr_frame_mirrored(upscaler, cached, req.shape, req.scale, req.region, mirror,
                                                     band_rows=SR_BAND_ROWS, stale=stale)
            finally:
                numba.set_num_threads(self._sr_threads)
            if pixels is None:
                return  # a newer request overtook it between bands
            project = self.project_sr
            projected = project(req, pixels) if project is not None else None  # in the frame's time
            if projected is not None:
                pixels = projected
            ms = (time.perf_counter() - t0) * 1e3
            frame = Frame(req, "sr", pixels, ms=ms, encode_ms=encode_ms, sr_scale=sr_scale, data_consistent=projected is not None)
        except Exception as e:
            log.exception("Meta-SRGAN frame failed")
            frame = Frame(req, "sr", None, error=f"{type(e).__name__}: {e}")
        self.on_frame(frame)

    def _prepare(self, upscaler, req: FrameRequest) -> None:
        prepare = getattr(upscaler, "prepare", None)
        if prepare is None or self.is_stale(req) or sr_scale_for(req.scale) != req.scale:
            return
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            prepare(req.shape, req.scale, req.mirrored_region() if mirrored(req.key) else req.region)
        except Exception:  # the render reports it
            log.debug("prepare failed", exc_info=True)
        finally:
            torch.set_num_threads(threads)

    def _settled(self, req: FrameRequest) -> bool:
        """Wait until ``req`` has been the newest request for ``settle_s``;
        False if a newer one came first."""
        with self._bicubic_cond:
            self._bicubic_cond.wait_for(lambda: self.is_stale(req), timeout=self.settle_s)
        return not self.is_stale(req)

    def _prefetch_job(self, job) -> None:
        version, items = job

        def gone() -> bool:
            return version != self._prefetch_version

        def wait_turn() -> bool:
            """Interactive frames first, and nothing while the user zooms or pans:
            wait while the SR worker is busy or the renderer is paused."""
            while not self._sr.idle or self.paused:
                if gone():
                    return False
                time.sleep(0.02)
            return not gone()

        for item in items:
            key, pixels_fn, window = item[:3]
            shape = item[3] if len(item) > 3 else None
            if gone() or self.upscaler is None:
                return
            if not wait_turn():
                return
            upscaler = self.upscaler
            if self.cached(key, window):
                continue
            stored = (lambda f=pixels_fn: np.ascontiguousarray(f()[:, ::-1])) if mirrored(key) else pixels_fn
            try:
                if shape is None:
                    self._encode(upscaler, key, stored, window)
                else:  # in strips: a zoom, a pan or a new request holds it after the strip under way
                    encoded_in_strips(self.cache, self.cache_key(upscaler, key), upscaler, stored, shape, window,
                                      ENCODE_STRIP_ROWS, stop=lambda: not wait_turn())
            except Exception:
                log.exception("prefetch of %s failed", key)
                return
