"""Measurements on a slice: a distance ruler and rectangle / ellipse regions.  No Qt.

Coordinates are slice coordinates ``(u, v)`` (column, row; see ``viewport``): pixel
``[row, col]`` covers ``u in [col, col + 1]``, ``v in [row, row + 1]`` and its centre is
``(col + 0.5, row + 0.5)``.  Lengths and areas are in mm from the slice's own spacing
``(row_mm, col_mm)``, so they hold on a reformat (a coronal view of 1.5 mm slices has
1.5 mm rows).  A region's statistics are over the native pixels whose centres lie
inside it; the same region over a zoomed frame (the Meta-SRGAN one) uses that frame's
pixel centres (``engine.geometry``: output pixel ``i`` of ``N`` covering ``n`` input
pixels has its centre at ``(i + 0.5) n / N``).  SD is the population SD (ddof 0), as
OHIF and Horos report it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

SHAPES = ("ruler", "rectangle", "ellipse")


@dataclass(frozen=True)
class Stats:
    mean: float
    sd: float
    min: float
    max: float
    n: int


@dataclass(frozen=True)
class Measurement:
    """One ruler or region, drawn from ``p0`` to ``p1`` (slice coordinates) on the
    slice ``(plane, index)`` as displayed with ``radiological`` and ``cols`` columns."""

    shape: str
    p0: tuple[float, float]
    p1: tuple[float, float]
    plane: str
    index: int
    radiological: bool
    cols: int

    def on(self, plane: str, index: int, radiological: bool):
        """This measurement as drawn on the displayed slice, or None if it belongs to
        another slice.  The neurological view mirrors axial and coronal slices, so the
        points mirror with them (sagittal is never mirrored)."""
        if (plane, index) != (self.plane, self.index):
            return None
        if radiological == self.radiological or plane == "sagittal":
            return self
        m = lambda p: (self.cols - p[0], p[1])  # noqa: E731
        return replace(self, p0=m(self.p0), p1=m(self.p1), radiological=radiological)

    @property
    def box(self) -> tuple[float, float, float, float]:
        """``(u0, v0, u1, v1)`` with ``u0 <= u1``, ``v0 <= v1``."""
        (a, b), (c, d) = self.p0, self.p1
        return (min(a, c), min(b, d), max(a, c), max(b, d))


def distance_mm(p0, p1, spacing) -> float:
    """Length of the segment ``p0 -> p1`` in mm; ``spacing = (row_mm, col_mm)``."""
    row_mm, col_mm = spacing
    return math.hypot((p1[0] - p0[0]) * col_mm, (p1[1] - p0[1]) * row_mm)


def area_mm2(shape: str, box, spacing) -> float:
    """The shape's own area in mm² (not the count of pixels inside it)."""
    u0, v0, u1, v1 = box
    row_mm, col_mm = spacing
    a = (u1 - u0) * col_mm * (v1 - v0) * row_mm
    return a * math.pi / 4 if shape == "ellipse" else a


def inside(shape: str, box, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Which points ``(u, v)`` (broadcast) lie inside the rectangle / ellipse in ``box``
    (its edge included)."""
    u0, v0, u1, v1 = box
    if shape == "rectangle":
        return (u >= u0) & (u <= u1) & (v >= v0) & (v <= v1)
    if shape == "ellipse":
        a, b = (u1 - u0) / 2, (v1 - v0) / 2
        if a <= 0 or b <= 0:
            return np.zeros(np.broadcast(u, v).shape, bool)
        cu, cv = (u0 + u1) / 2, (v0 + v1) / 2
        return ((u - cu) / a) ** 2 + ((v - cv) / b) ** 2 <= 1.0
    raise ValueError(f"not a region shape: {shape!r}")


def stats(values: np.ndarray) -> Stats | None:
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return None
    return Stats(float(values.mean()), float(values.std()), float(values.min()), float(values.max()), int(values.size))


def region_stats(shape: str, box, pixels: np.ndarray) -> Stats | None:
    """Statistics of the native pixels whose centres lie inside the region."""
    u0, v0, u1, v1 = box
    rows, cols = pixels.shape
    r0, r1 = max(int(math.floor(v0 - 0.5)), 0), min(int(math.ceil(v1 - 0.5)) + 1, rows)
    c0, c1 = max(int(math.floor(u0 - 0.5)), 0), min(int(math.ceil(u1 - 0.5)) + 1, cols)
    if r1 <= r0 or c1 <= c0:
        return None
    v = (np.arange(r0, r1) + 0.5)[:, None]
    u = (np.arange(c0, c1) + 0.5)[None, :]
    return stats(pixels[r0:r1, c0:c1][inside(shape, box, u, v)])


@dataclass(frozen=True)
class FrameStats:
    """Statistics over a zoomed frame; ``complete``: the frame covered the whole region."""

    stats: Stats | None
    complete: bool


def frame_region_stats(shape: str, box, frame: np.ndarray, region, grid_shape, native_shape) -> FrameStats:
    """The region's statistics over a zoomed frame: ``frame`` holds ``region = (top,
    left, height, width)`` of a ``grid_shape`` grid covering a ``native_shape`` slice."""
    top, left, height, width = region
    fy, fx = grid_shape[0] / native_shape[0], grid_shape[1] / native_shape[1]
    u0, v0, u1, v1 = box
    # grid pixels whose centres may fall inside: (i + 0.5) / f in [v0, v1]
    i0, i1 = max(int(math.floor(v0 * fy - 0.5)), top), min(int(math.ceil(v1 * fy - 0.5)) + 1, top + height)
    j0, j1 = max(int(math.floor(u0 * fx - 0.5)), left), min(int(math.ceil(u1 * fx - 0.5)) + 1, left + width)
    whole_i = (max(int(math.floor(v0 * fy - 0.5)), 0), min(int(math.ceil(v1 * fy - 0.5)) + 1, grid_shape[0]))
    whole_j = (max(int(math.floor(u0 * fx - 0.5)), 0), min(int(math.ceil(u1 * fx - 0.5)) + 1, grid_shape[1]))
    complete = i0 <= whole_i[0] and i1 >= whole_i[1] and j0 <= whole_j[0] and j1 >= whole_j[1]
    if i1 <= i0 or j1 <= j0:
        return FrameStats(None, False)
    v = ((np.arange(i0, i1) + 0.5) / fy)[:, None]
    u = ((np.arange(j0, j1) + 0.5) / fx)[None, :]
    block = frame[i0 - top : i1 - top, j0 - left : j1 - left]
    return FrameStats(stats(block[inside(shape, box, u, v)]), complete)


def _num(x: float) -> str:
    """Whole numbers from 1000 up, one decimal from 1, three significant digits below
    (ADC maps and the like are in thousandths)."""
    a = abs(x)
    return f"{x:.0f}" if a >= 1000 else f"{x:.1f}" if a >= 1 else f"{x:.3g}"


def stats_text(s: Stats | None, units: str = "") -> str:
    if s is None:
        return "no pixels inside"
    u = f" {units}" if units else ""
    return f"mean {_num(s.mean)}{u} ± {_num(s.sd)} · min {_num(s.min)} max {_num(s.max)}"


def describe(m: Measurement, pixels: np.ndarray, spacing, units: str = "", sr: FrameStats | None = None) -> list[str]:
    """The lines shown beside a measurement: mm first, then the scan's units, then
    the same statistics over the Meta-SRGAN frame."""
    if m.shape == "ruler":
        d = distance_mm(m.p0, m.p1, spacing)
        px = math.hypot(m.p1[0] - m.p0[0], m.p1[1] - m.p0[1])
        return [f"{d:.1f} mm ({px:.1f} px)"]
    box = m.box
    native = region_stats(m.shape, box, pixels)
    lines = [f"area {area_mm2(m.shape, box, spacing):.1f} mm² · {native.n if native else 0} px", stats_text(native, units)]
    if sr is not None:
        if sr.stats is None:
            lines.append("SR: not rendered here")
        else:
            lines.append("SR " + stats_text(sr.stats, units) + ("" if sr.complete else " (visible part)"))
    return lines
