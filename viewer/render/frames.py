"""What a pane asks for (``FrameRequest``), what it gets back (``Frame``), and how a
Meta-SRGAN frame is made at any zoom, including above the network's x4.  No Qt."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

import numpy as np

from engine import bicubic
from engine.geometry import output_size
from engine.render.bicubic import cubic
from engine.render.cpu_kernel import separable_kernel

from ..model import sr_policy, thread_audit


@dataclass(frozen=True)
class SliceKey:
    """Which slice, as displayed (a mirrored slice encodes to different features)."""

    scan: int
    plane: str
    index: int
    radiological: bool


def features_key(key: SliceKey) -> SliceKey:
    """The key a slice's features are cached under: the stored orientation.  A mirrored
    view (the neurological convention) renders from the same features on the mirrored
    grid (``mirrored``), so flipping the display needs no new encode."""
    return replace(key, radiological=True)


def mirrored(key: SliceKey) -> bool:
    """Whether this display slice is the features' slice mirrored left-right."""
    return not key.radiological and key.plane != "sagittal"


class SliceSource:
    """A slice's pixels, made on first use by whichever worker needs them first (never
    the GUI thread: a display slice of a large volume is a copy, a transpose and flips).
    ``shape`` is known without making them."""

    def __init__(self, shape, make=None, pixels: np.ndarray | None = None) -> None:
        self.shape = (int(shape[0]), int(shape[1]))
        self._make = make
        self._pixels = pixels
        self._lock = threading.Lock()

    @classmethod
    def of(cls, pixels: np.ndarray) -> "SliceSource":
        return cls(pixels.shape, pixels=pixels)

    def pixels(self) -> np.ndarray:
        if self._pixels is None:
            with self._lock:
                if self._pixels is None:
                    thread_audit.record("slice")
                    self._pixels = self._make()
        return self._pixels

    def peek(self) -> np.ndarray | None:
        """The pixels if a worker made them already, else None (for the GUI thread)."""
        return self._pixels


@dataclass(frozen=True, eq=False)
class FrameRequest:
    """Render ``region = (top, left, height, width)`` of the slice zoomed by
    ``scale = (r_y, r_x)``.  ``generation`` orders requests: only the newest counts.
    ``source`` gives the pixels (made on a worker thread); ``slice_changed``: this
    request shows another slice than the one before it (the user is stepping)."""

    generation: int
    key: SliceKey
    source: SliceSource = field(repr=False)
    scale: tuple[float, float]
    region: tuple[int, int, int, int]
    want_sr: bool = True
    slice_changed: bool = False
    #: only the slice differs from the request before (same plane, zoom, pan): a
    #: step through the stack, whose every slice the reader should see
    step: bool = False
    #: a step that came soon after the request before it: the user is scrolling through
    #: the stack, so its SR frame waits until the keys stop (``ZoomRenderer.settle_s``)
    in_burst: bool = False

    @property
    def pixels(self) -> np.ndarray:
        """The slice's pixels (workers only: they may have to be made)."""
        return self.source.pixels()

    @property
    def shape(self) -> tuple[int, int]:
        return self.source.shape

    @property
    def grid_shape(self) -> tuple[int, int]:
        return (output_size(self.shape[0], self.scale[0]), output_size(self.shape[1], self.scale[1]))

    def mirrored_region(self) -> tuple[int, int, int, int]:
        """``region`` on the left-right mirrored grid."""
        top, left, height, width = self.region
        return (top, self.grid_shape[1] - left - width, height, width)


@dataclass(eq=False)
class Frame:
    """A finished frame.  ``kind``: "bicubic" or "sr".  ``ms``: time to make it
    (render only); ``encode_ms``: the slice's encode when this frame paid for it.
    ``sr_scale``: the factor the network ran at (capped at x4); ``error``: why
    there is no picture; ``data_consistent``: the SR frame was projected onto the
    acquired data (the data-consistent rendering), not the network's raw output."""

    request: FrameRequest
    kind: str
    pixels: np.ndarray | None
    ms: float = 0.0
    encode_ms: float = 0.0
    sr_scale: tuple[float, float] | None = None
    error: str | None = None
    data_consistent: bool = False


def sr_scale_for(scale: tuple[float, float]) -> tuple[float, float] | None:
    """The factor pair the network runs at for a requested zoom (``sr_policy``: per
    axis, clamped into (1, 4]); None when no axis is enlarged."""
    return sr_policy.sr_scale_for(scale)


def bicubic_frame(pixels: np.ndarray, scale, region) -> np.ndarray:
    thread_audit.record("bicubic")
    return bicubic(pixels, scale, region)


def _axis_taps(n_in: int, n_target: int, n_sr: int, start: int, count: int):
    """Bicubic taps from the SR grid (``n_sr`` pixels) to target pixels
    ``start .. start+count`` of an ``n_target`` grid of the same field of view
    (fewer pixels than the SR grid above x4, more on an axis at x1 or below)."""
    i = np.arange(start, start + count, dtype=np.float64)
    if n_sr == n_target:  # this axis is not above x4: the SR pixels are the answer
        return i.astype(np.int64)[:, None], np.ones((count, 1), dtype=np.float32)
    y = (i + 0.5) * n_sr / n_target - 0.5  # target pixel centres in SR pixel-centre coordinates
    idx = np.floor(y).astype(np.int64)[:, None] - 1 + np.arange(4)[None, :]
    w = cubic(idx - y[:, None])
    w /= w.sum(axis=1, keepdims=True)
    return np.clip(idx, 0, n_sr - 1), w.astype(np.float32)


def _render_in_bands(upscaler, features, scale, region, band_rows, stale):
    """``upscaler.render`` of ``region``, ``band_rows`` rows at a time, giving up (None)
    as soon as ``stale()`` says nobody wants the frame any more.  A region renders
    exactly as a crop of the whole, so the bands join seamlessly."""
    top, left, height, width = region
    if band_rows is None or height <= band_rows:
        return upscaler.render(features, scale, region)
    out = np.empty((height, width), dtype=np.float32)
    # bands of about ``band_rows``, all the same height (no 2-row straggler paying a
    # whole render call's overhead)
    n = max(1, round(height / band_rows))
    edges = [round(i * height / n) for i in range(n + 1)]
    for r0, r1 in zip(edges, edges[1:]):
        if stale is not None and stale():
            return None
        out[r0:r1] = upscaler.render(features, scale, (top + r0, left, r1 - r0, width))
    return out


def _sr_plan(shape, scale, region):
    """How a Meta-SRGAN frame is made: the network's factor, the region of its grid
    it renders, and (above x4) the bicubic taps from that grid to the frame."""
    sr_scale = sr_scale_for(scale)
    if sr_scale is None:
        raise ValueError(f"no super-resolution at x{max(scale):.2f}: the network works where an axis is enlarged")
    if sr_scale == tuple(scale):
        return sr_scale, tuple(region), None
    top, left, height, width = region
    target = (output_size(shape[0], scale[0]), output_size(shape[1], scale[1]))
    sr_grid = (output_size(shape[0], sr_scale[0]), output_size(shape[1], sr_scale[1]))
    ri, rw = _axis_taps(shape[0], target[0], sr_grid[0], top, height)
    ci, cw = _axis_taps(shape[1], target[1], sr_grid[1], left, width)
    r0, c0 = int(ri.min()), int(ci.min())
    sub_region = (r0, c0, int(ri.max()) + 1 - r0, int(ci.max()) + 1 - c0)
    return sr_scale, sub_region, (ri - r0, rw, ci - c0, cw)


def sr_window(upscaler, shape, scale, region):
    """The input window (top, left, height, width) whose features the Meta-SRGAN frame
    of ``region`` at ``scale`` reads."""
    sr_scale, sub_region, _ = _sr_plan(shape, scale, region)
    return upscaler.needs(shape, sr_scale, sub_region)


def mirror_region(shape, scale, region) -> tuple[int, int, int, int]:
    """``region`` of the ``scale`` zoom of a ``shape`` slice, on the left-right mirrored
    grid.  The grid's pixel centres are symmetric (``engine.geometry``), so a frame
    rendered there and flipped is exactly the mirror of the frame."""
    top, left, height, width = region
    return (top, output_size(shape[1], scale[1]) - left - width, height, width)


def sr_frame_mirrored(upscaler, features, shape, scale, region, mirror: bool, band_rows: int | None = None, stale=None):
    """``sr_frame`` of a display slice that is the features' slice mirrored left-right
    when ``mirror``: rendered on the mirrored grid and flipped, so the radiological /
    neurological switch reuses the features (no encode)."""
    if not mirror:
        return sr_frame(upscaler, features, shape, scale, region, band_rows, stale)
    pixels, sr_scale = sr_frame(upscaler, features, shape, scale, mirror_region(shape, scale, region), band_rows, stale)
    return (None if pixels is None else np.ascontiguousarray(pixels[:, ::-1])), sr_scale


def sr_frame(upscaler, features, shape, scale, region, band_rows: int | None = None, stale=None):
    """The Meta-SRGAN frame of ``region`` at ``scale``; above x4 on an axis the network
    renders at x4 and bicubic takes it the rest of the way (on that axis only).
    With ``band_rows``, rendered in bands, and None when ``stale()`` turns true."""
    thread_audit.record("render")
    sr_scale, sub_region, taps = _sr_plan(shape, scale, region)
    sub = _render_in_bands(upscaler, features, sr_scale, sub_region, band_rows, stale)
    if taps is None or sub is None:
        return sub, sr_scale
    out = np.empty((region[2], region[3]), dtype=np.float32)
    return separable_kernel(sub, *taps, out), sr_scale
