"""The readers the viewer calls: ``engine.io``'s when present, else the fallback.

One seam, so swapping in the engine's readers touches nothing else.
"""

from __future__ import annotations

import importlib

from . import fallback_reader

_NAMES = ("open_scan", "load", "display_slice", "n_slices")


def _engine_io():
    try:
        io = importlib.import_module("engine.io")
    except ImportError:
        return None
    return io if all(hasattr(io, n) for n in _NAMES) else None


def backend():
    """The module whose ``open_scan/load/display_slice/n_slices`` the viewer uses."""
    return _engine_io() or fallback_reader


def open_scan(path):
    return backend().open_scan(path)


def load(path_or_series, volume_index: int = 0):
    return backend().load(path_or_series, volume_index=volume_index)


def display_slice(volume, plane, index, radiological=True):
    return backend().display_slice(volume, plane, index, radiological=radiological)


def n_slices(volume, plane):
    return backend().n_slices(volume, plane)
