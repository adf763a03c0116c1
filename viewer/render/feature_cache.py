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


def _nbytes(features) -> int:
    return int(getattr(features, "nbytes", 0))


class FeatureCache:
    def __init__(self, max_bytes: int) -> None:
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
            self._evict()

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list:
        with self._lock:
            return list(self._items)

    def peek(self, key):
        """The cached value or None, without counting a hit or refreshing its age."""
        with self._lock:
            return self._items.get(key)

    def get(self, key):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            return None

    def put(self, key, features) -> None:
        """Add or refresh an entry (again after it grew in place: it is re-measured)."""
        with self._lock:
            if key in self._items:
                self._items.pop(key)
                self._bytes -= self._sizes.pop(key)
            self._items[key] = features
            self._sizes[key] = _nbytes(features)
            self._bytes += self._sizes[key]
            self._evict()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._sizes.clear()
            self._bytes = 0

    def _evict(self) -> None:
        # keep at least the newest entry, even when it alone is over the bound
        while self._bytes > self._max and len(self._items) > 1:
            old, _ = self._items.popitem(last=False)
            self._bytes -= self._sizes.pop(old)

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
    return cache.get_or_compute(
        key,
        lambda: upscaler.encode(pixels_fn(), window=window),
        covers=lambda f: f.covers(window),
        extend=lambda f: upscaler.encode_more(f, window),
        alongside=alongside,
    )
