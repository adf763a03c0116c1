"""Encoded slices kept at half the size (float16), so that every slice of the open
plane fits in memory: 34 MB instead of 68 MB for a 512x512 slice, 4 GB for a
120-slice series.  A slice comes back as float32 (the render kernels read float32)
when it is shown again.  Bounded in bytes, least recently used first out.

float16, not bfloat16: the trunk's features are small numbers (|f| well under 65504)
and float16 keeps 3 more bits of mantissa; a slice with a value float16 cannot hold
is not kept here.  The rendered frame changes by well under a grey level (the
test measures it)."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import replace

import numpy as np

#: Default share of the machine's memory for compact features.
RAM_SHARE = 0.25
FLOAT16_MAX = float(np.finfo(np.float16).max)


def physical_memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return 8 * 2**30  # unknown (not POSIX): assume a modest machine


def default_store_bytes() -> int:
    """A safe share of RAM: a quarter of it (the volume, the hot cache and the
    frames need the rest)."""
    return int(physical_memory_bytes() * RAM_SHARE)


def compactable(features) -> bool:
    f = getattr(features, "feats", None)
    return isinstance(f, np.ndarray) and f.dtype == np.float32 and getattr(features, "done", 1) is None


class CompactStore:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict = OrderedDict()  # key -> (SliceFeatures with float16 feats)
        self._bytes = 0
        self._lock = threading.Lock()

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def keys(self) -> set:
        with self._lock:
            return set(self._items)

    def put(self, key, features) -> bool:
        """Keep a whole float32 slice compactly; False when it cannot be (partial,
        on a GPU, or a value beyond float16)."""
        if not compactable(features) or self.max_bytes <= 0:
            return False
        f = features.feats
        with np.errstate(over="ignore"):
            half = f.astype(np.float16)
        if not np.isfinite(half).all() and np.isfinite(f).all():
            return False
        entry = replace(features, feats=half)
        size = half.nbytes + features.lr.nbytes
        with self._lock:
            if key in self._items:
                old = self._items.pop(key)
                self._bytes -= old.feats.nbytes + old.lr.nbytes
            self._items[key] = entry
            self._bytes += size
            while self._bytes > self.max_bytes and self._items:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.feats.nbytes + old.lr.nbytes
        return True

    def peek(self, key):
        """The compact entry (what it covers, its range) without converting it."""
        with self._lock:
            return self._items.get(key)

    def take(self, key):
        """The slice's features as float32 (removed from here: the hot cache has it
        now, and gives it back when it leaves), or None."""
        with self._lock:
            entry = self._items.pop(key, None)
            if entry is not None:
                self._bytes -= entry.feats.nbytes + entry.lr.nbytes
        if entry is None:
            return None
        return replace(entry, feats=entry.feats.astype(np.float32))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
