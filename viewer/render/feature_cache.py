"""Encoded slices (``SliceFeatures``), least recently used first out, bounded in bytes.

One 512x512 slice's features are ~68 MB, so the bound is what keeps the viewer's
memory flat however far the user scrolls.  Two threads asking for the same slice
(the renderer and the prefetcher) share one encode instead of running two.  An entry
may hold only part of a slice (what a zoomed-in view showed); ``encoded`` adds what a
caller needs and is missing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Hashable

from engine.features import BLOCK, checked_window

from ..model import thread_audit
from .compact import CompactStore


def _nbytes(features) -> int:
    return int(getattr(features, "nbytes", 0))


class FeatureCache:
    """Hot entries (float32, ready to render) in an LRU bounded by ``max_bytes``; with a
    ``compact`` store, whole slices leaving it are kept there at half the size and
    come back (converted) when asked for."""

    def __init__(self, max_bytes: int, compact: CompactStore | None = None) -> None:
        self.compact = compact
        self._max = int(max_bytes)
        self._items: OrderedDict = OrderedDict()
        self._sizes: dict = {}  # bytes counted per key when put (an entry can grow in place)
        self._bytes = 0
        self._lock = threading.Lock()
        self._inflight: dict = {}
        self.hits = 0
        self.misses = 0

    # -- plain LRU --------------------------------------------------------------
    @property
    def max_bytes(self) -> int:
        return self._max

    @max_bytes.setter
    def max_bytes(self, value: int) -> None:
        with self._lock:
            self._max = int(value)
            gone = self._evict()
        self._keep_compact(gone)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._items or (self.compact is not None and key in self.compact)

    def complete_keys(self) -> set:
        """Keys of the slices whose features are whole, hot or compact."""
        with self._lock:
            hot = {k for k, v in self._items.items() if getattr(v, "complete", True)}
        return hot | (self.compact.keys() if self.compact is not None else set())

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list:
        with self._lock:
            return list(self._items)

    def peek(self, key):
        """The cached value or None, without counting a hit or refreshing its age
        (a compact entry is not converted: its stand-in says what it covers)."""
        with self._lock:
            v = self._items.get(key)
        if v is None and self.compact is not None:
            return self.compact.peek(key)
        return v

    def get(self, key):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        return self._thaw(key)

    def _thaw(self, key):
        """A compact entry back as a hot one (float32), or None."""
        if self.compact is None:
            return None
        value = self.compact.take(key)
        if value is None:
            return None
        self.put(key, value)
        with self._lock:
            self.hits += 1
        return value

    def put(self, key, features) -> None:
        """Add or refresh an entry (again after it grew in place: it is re-measured)."""
        with self._lock:
            if key in self._items:
                self._items.pop(key)
                self._bytes -= self._sizes.pop(key)
            self._items[key] = features
            self._sizes[key] = _nbytes(features)
            self._bytes += self._sizes[key]
            gone = self._evict()
        self._keep_compact(gone)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._sizes.clear()
            self._bytes = 0
        if self.compact is not None:
            self.compact.clear()

    def _evict(self) -> list:
        """Drop the oldest entries over the bound (under the lock); returns them."""
        gone = []
        # keep at least the newest entry, even when it alone is over the bound
        while self._bytes > self._max and len(self._items) > 1:
            old, value = self._items.popitem(last=False)
            self._bytes -= self._sizes.pop(old)
            gone.append((old, value))
        return gone

    def _keep_compact(self, gone: list) -> None:
        # outside the lock: converting a slice takes tens of ms
        if self.compact is not None:
            for key, value in gone:
                self.compact.put(key, value)  # whole float32 slices only; the rest is dropped

    # -- shared encodes -------------------------------------------------------
    def get_or_compute(self, key: Hashable, compute: Callable[[], object], covers: Callable[[object], bool] | None = None,
                       extend: Callable[[object], object] | None = None, alongside: bool = False):
        """The cached value if it ``covers`` what the caller needs (default: any value
        does); else ``extend(value)`` when part of it is cached and ``extend`` is given,
        else ``compute()``; the result is cached.  Concurrent callers for the same key
        wait for the one computation, then look again; with ``alongside``, a caller
        that can extend a cached part does so at once instead of waiting (an interactive
        frame that needs a strip should not wait for a background encode of the rest)."""
        owner = False
        while True:
            if self.compact is not None and key not in self._items:
                self._thaw(key)
            with self._lock:
                value = self._items.get(key)
                if value is not None and (covers is None or covers(value)):
                    self._items.move_to_end(key)
                    self.hits += 1
                    return value
                event = self._inflight.get(key)
                if event is None:
                    event = self._inflight[key] = threading.Event()
                    self.misses += 1
                    owner = True
                    break
                if alongside and value is not None and extend is not None:
                    break
            event.wait()
            # the other computation finished (or failed): look again
        try:
            value = extend(value) if value is not None and extend is not None else compute()
            self.put(key, value)  # again when extended: its size grew
            return value
        finally:
            if owner:
                with self._lock:
                    self._inflight.pop(key, None)
                event.set()


def encoded(cache: FeatureCache, key: Hashable, upscaler, pixels_fn: Callable, window=None, alongside: bool = False):
    """A slice's features covering ``window`` (input pixels, (top, left, height, width);
    None = the whole slice): from the cache, or by encoding what is missing.  A zoomed-in
    view needs only the part it shows (``sr_window``), a fraction of the slice's encode.
    ``alongside``: see ``FeatureCache.get_or_compute`` (two threads may then encode the
    same blocks: both write the same features, to float rounding)."""
    def compute():
        thread_audit.record("encode")
        return upscaler.encode(pixels_fn(), window=window)

    def extend(f):
        thread_audit.record("encode")
        return upscaler.encode_more(f, window)

    return cache.get_or_compute(key, compute, covers=lambda f: f.covers(window), extend=extend, alongside=alongside)


def row_strips(shape, window, rows: int) -> list:
    """``window`` (None = the whole slice) cut into strips of about ``rows`` rows, at
    coverage-block edges (no block is encoded twice)."""
    top, left, height, width = checked_window(shape, window)
    n = max(1, round(height / rows))
    if n == 1:
        return [window]
    edges = [top] + sorted({min(top + height, max(top, (top + round(i * height / n)) // BLOCK * BLOCK)) for i in range(1, n)}) + [top + height]
    edges = sorted(set(edges))
    return [(a, left, b - a, width) for a, b in zip(edges, edges[1:]) if b > a]


def encoded_in_strips(cache: FeatureCache, key: Hashable, upscaler, pixels_fn: Callable, shape, window=None,
                      strip_rows: int = 256, stop: Callable[[], bool] | None = None, alongside: bool = False):
    """``encoded`` one strip of rows at a time, so that ``stop()`` (checked before
    each strip) can drop an encode nobody wants any more (the user scrolled past the
    slice) after at most one strip.  Returns the features, or None when stopped before
    they covered ``window`` (the strips done so far stay in the cache)."""
    features = None
    for strip in row_strips(shape, window, strip_rows):
        if stop is not None and stop():
            return None
        features = encoded(cache, key, upscaler, pixels_fn, strip, alongside)
    if features is not None and not features.covers(window):  # another thread's partial entry
        features = encoded(cache, key, upscaler, pixels_fn, window, alongside)
    return features
