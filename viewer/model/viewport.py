"""Where a pane looks: zoom, centre and size -> the zoomed grid, the region to render,
and the mapping between screen pixels and slice coordinates.  No Qt.

Slice coordinates ``(u, v)`` are (column, row) in native pixels with pixel edges on
integers: pixel ``[row, col]`` covers ``u in [col, col + 1]``, ``v in [row, row + 1]``.

``zoom`` is screen pixels per native pixel along the slice's finer axis; the coarser
axis is stretched by the spacing ratio, so the picture has its true aspect.  The
engine is asked for exactly that per-axis factor ``(r_y, r_x)`` and the grid it
renders on is ``engine.geometry``'s ``round(r * n)`` pixels per axis.  One grid pixel
is one screen pixel: the pane's origin is snapped to whole grid pixels, so frames are
drawn 1:1, never resampled by the GUI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

from engine.geometry import output_size

#: Zoom limits (screen pixels per native pixel): far enough out to see a whole
#: 1024-pixel slice in a small pane, far enough in to count pixels of a 64-pixel one.
MIN_ZOOM = 0.1
MAX_ZOOM = 32.0


def axis_scales(zoom: float, spacing: tuple[float, float]) -> tuple[float, float]:
    """Per-axis zoom ``(r_y, r_x)`` for ``zoom`` on the finer axis, true aspect from
    ``spacing = (row_mm, col_mm)``."""
    row_mm, col_mm = (float(s) for s in spacing)
    finest = min(row_mm, col_mm)
    return (zoom * row_mm / finest, zoom * col_mm / finest)


def clamp_zoom(zoom: float) -> float:
    return min(max(float(zoom), MIN_ZOOM), MAX_ZOOM)


def fit_zoom(size: tuple[int, int], shape: tuple[int, int], spacing: tuple[float, float]) -> float:
    """The largest zoom at which the whole slice fits a pane of ``size = (width, height)``."""
    width, height = size
    ry, rx = axis_scales(1.0, spacing)
    z = min(width / (shape[1] * rx), height / (shape[0] * ry))
    # a hair under, so round(r * n) never exceeds the pane by one pixel
    return clamp_zoom(z * (1 - 1e-9))


@dataclass(frozen=True)
class Viewport:
    """One pane's view of one slice.  ``size = (width, height)`` in screen pixels,
    ``center = (u, v)`` the slice coordinate at the pane's centre."""

    shape: tuple[int, int]
    spacing: tuple[float, float]
    zoom: float
    center: tuple[float, float]
    size: tuple[int, int]

    @cached_property
    def scale(self) -> tuple[float, float]:
        """What the engine is asked for: ``(r_y, r_x)``."""
        return axis_scales(self.zoom, self.spacing)

    @cached_property
    def grid_shape(self) -> tuple[int, int]:
        """The zoomed grid, ``round(r * n)`` output pixels per axis."""
        return (output_size(self.shape[0], self.scale[0]), output_size(self.shape[1], self.scale[1]))

    @cached_property
    def factors(self) -> tuple[float, float]:
        """Exact screen pixels per native pixel, ``grid / native`` per axis."""
        return (self.grid_shape[0] / self.shape[0], self.grid_shape[1] / self.shape[1])

    @cached_property
    def origin(self) -> tuple[int, int]:
        """Grid pixel ``(row, col)`` at the pane's top-left corner (may be negative)."""
        fy, fx = self.factors
        width, height = self.size
        return (math.floor(self.center[1] * fy - height / 2 + 0.5), math.floor(self.center[0] * fx - width / 2 + 0.5))

    def region(self, pad: int = 0):
        """The visible part of the zoomed grid ``(top, left, height, width)``, grown by
        ``pad`` pixels each side and clipped to the grid; None when nothing shows."""
        (oy, ox), (width, height), (gh, gw) = self.origin, self.size, self.grid_shape
        top, left = max(oy - pad, 0), max(ox - pad, 0)
        bottom, right = min(oy + height + pad, gh), min(ox + width + pad, gw)
        if bottom <= top or right <= left:
            return None
        return (top, left, bottom - top, right - left)

    @cached_property
    def view_rect(self) -> tuple[float, float, float, float]:
        """The pane in slice coordinates ``(u0, v0, width, height)``."""
        (oy, ox), (fy, fx), (width, height) = self.origin, self.factors, self.size
        return (ox / fx, oy / fy, width / fx, height / fy)

    def to_slice(self, x: float, y: float) -> tuple[float, float]:
        """Slice coordinates ``(u, v)`` of the pane pixel ``(x, y)``."""
        (oy, ox), (fy, fx) = self.origin, self.factors
        return ((ox + x) / fx, (oy + y) / fy)

    def pixel_at(self, x: float, y: float):
        """Native pixel ``(row, col)`` under pane pixel ``(x, y)``, or None outside the slice."""
        u, v = self.to_slice(x, y)
        row, col = math.floor(v), math.floor(u)
        if 0 <= row < self.shape[0] and 0 <= col < self.shape[1]:
            return (row, col)
        return None

    def center_after_zoom(self, new_zoom: float, x: float, y: float) -> tuple[float, float]:
        """The centre that keeps the slice point under pane pixel ``(x, y)`` in place
        when the zoom becomes ``new_zoom``."""
        u, v = self.to_slice(x, y)
        ry, rx = axis_scales(new_zoom, self.spacing)
        fy = output_size(self.shape[0], ry) / self.shape[0]
        fx = output_size(self.shape[1], rx) / self.shape[1]
        width, height = self.size
        return (u + (width / 2 - x) / fx, v + (height / 2 - y) / fy)

    def center_after_pan(self, dx: float, dy: float) -> tuple[float, float]:
        """The centre after dragging the picture by ``(dx, dy)`` screen pixels."""
        fy, fx = self.factors
        return (self.center[0] - dx / fx, self.center[1] - dy / fy)
