"""The one geometry: where every output pixel of a zoomed slice comes from.

Everything that resamples a slice (Meta-SRGAN render, bicubic, the trainer's
downscaling, export, the viewer's viewport) goes through this module, so SR and
bicubic line up to the sub-pixel.

Pixel-centre convention (as bicubic with ``align_corners=False``): output pixel
``i`` of an axis of ``n_in`` input pixels zoomed to ``n_out`` output pixels sits at
input coordinate ``y = (i + 0.5) * n_in / n_out - 0.5``.  Its source pixel is
``s = round(y)`` (half up) and its phase ``p = y - s`` lies in ``[-0.5, 0.5)``.

Everything is computed with integers: ``y = ((2i + 1) n_in - n_out) / (2 n_out)``,
so there is no float drift (float32 ``arange / r`` gives 92 phases instead of 33 at
r = 3.3 and picks the wrong source pixel at r = 3.7).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import gcd

import numpy as np

#: Super-resolution scales the network was trained for.  Above the top the viewer
#: super-resolves at the top scale and interpolates the rest.
SR_SCALE_MIN = 1.0  # exclusive
SR_SCALE_MAX = 4.0  # inclusive

#: An axis with at most this many distinct phases (every factor p/q with p <= 64:
#: x2, x2.5, x3.2 ...) keeps them exact.
EXACT_PHASES = 64
#: Beyond that, phases are rounded to multiples of 1 / PHASE_QUANT of an input pixel
#: (error <= 1/32 pixel, in the learned correction only: the bicubic part keeps exact
#: positions).  With the trained weights the render then differs from the exact
#: paper-style one by 73-87 dB PSNR (engine.bench; the target is 60).  Why not finer:
#: every new zoom computes its table of (Q + 1)^2 filters before its first frame, on
#: the critical path of a wheel step: 1/32 steps (33 x 33 filters) took 7-9 ms on one
#: thread, 1/16 (17 x 17) 2-4 ms, and the render itself is ~5% faster with the smaller
#: table (1024x768 regions, 2-core AVX2 machine); 1/32 gave 81-93 dB.
PHASE_QUANT = 16


def _exact(value: float | int | Fraction) -> Fraction:
    """The decimal the user meant: 2.37 is 237/100, not 2.36999999999999966..."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    return Fraction(repr(float(value)))


def output_size(n_in: int, scale: float | Fraction) -> int:
    """Output pixels of an axis of ``n_in`` pixels zoomed by ``scale``:
    ``round(scale * n_in)`` (halves up), exact for decimal scales
    (200 px at x2.37 gives 474, where ``int(2.37 * 200)`` gives 473)."""
    if n_in <= 0:
        raise ValueError(f"axis length must be positive, got {n_in}")
    r = _exact(scale)
    if r <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    n = int((r * n_in + Fraction(1, 2)) // 1)
    return max(n, 1)


def parse_scale(scale, *, sr: bool = True) -> tuple[float, float]:
    """``scale`` as ``(r_y, r_x)``; a single number means both axes.

    With ``sr=True`` each factor must lie in (1, 4], the range the network was
    trained for; anything else is a ``ValueError``.
    """
    if isinstance(scale, (tuple, list, np.ndarray)):
        if len(scale) != 2:
            raise ValueError(f"scale must be a number or a pair (r_y, r_x), got {scale!r}")
        ry, rx = float(scale[0]), float(scale[1])
    else:
        ry = rx = float(scale)
    for r in (ry, rx):
        if not np.isfinite(r) or r <= 0:
            raise ValueError(f"scale must be a positive finite number, got {scale!r}")
        if sr and not (SR_SCALE_MIN < r <= SR_SCALE_MAX):
            raise ValueError(
                f"super-resolution scale must be in ({SR_SCALE_MIN:g}, {SR_SCALE_MAX:g}], "
                f"got {r:g}; above x{SR_SCALE_MAX:g} super-resolve at x{SR_SCALE_MAX:g} "
                "and interpolate the rest"
            )
    return ry, rx


def is_pair(scale) -> bool:
    """True for ``(r_y, r_x)`` with different factors (an equal pair is a plain zoom)."""
    ry, rx = parse_scale(scale, sr=False)
    return ry != rx


def scale_key(scale) -> str:
    """A zoom as text: ``"2"``, ``"2.37"``, or ``"4x2.2"`` for rows x4, columns x2.2
    (results tables, weights sidecars, logs, command lines)."""
    ry, rx = parse_scale(scale, sr=False)
    return f"{ry:g}" if ry == rx else f"{ry:g}x{rx:g}"


def parse_scale_key(text):
    """``scale_key``'s inverse: ``"2.5"`` -> 2.5, ``"4x2.2"`` (or ``"4X2.2"``) -> (4.0, 2.2);
    an equal pair is a plain number.  Anything else is a ``ValueError``."""
    parts = str(text).strip().lower().split("x")
    try:
        if len(parts) > 2:
            raise ValueError
        ry, rx = parse_scale(tuple(float(p) for p in parts) if len(parts) == 2 else float(parts[0]), sr=False)
    except (TypeError, ValueError):
        raise ValueError(f"a zoom is a number or ROWSxCOLS such as 4x2.2, got {text!r}") from None
    return ry if ry == rx else (ry, rx)


def scale_label(scale) -> str:
    """For people: ``"x2.5"``, or ``"x4 rows, x2.2 cols"``; takes a zoom or its key."""
    ry, rx = parse_scale(parse_scale_key(scale) if isinstance(scale, str) else scale, sr=False)
    return f"x{ry:g}" if ry == rx else f"x{ry:g} rows, x{rx:g} cols"


@dataclass(frozen=True)
class AxisMap:
    """How the output pixels ``start .. start+count`` of one zoomed axis map to input.

    ``src``: source input pixel of each output pixel (int64).
    ``phase``: exact phase ``y - src`` in [-0.5, 0.5) (float64).
    ``phase_index``: index of each output pixel's phase in ``phases``.
    ``phases``: the distinct (possibly quantised) phases this axis uses, sorted.
    """

    n_in: int
    n_out: int
    start: int
    src: np.ndarray
    phase: np.ndarray
    phase_index: np.ndarray
    phases: np.ndarray

    @property
    def factor(self) -> Fraction:
        """The exact per-axis zoom ``n_out / n_in``."""
        return Fraction(self.n_out, self.n_in)

    @property
    def period(self) -> int:
        """Output pixels after which phases repeat (= distinct exact phases)."""
        return self.n_out // gcd(self.n_out, self.n_in)

    @property
    def quantised(self) -> bool:
        return self.period > EXACT_PHASES


def coordinates(n_in: int, n_out: int, start: int = 0, count: int | None = None) -> np.ndarray:
    """Input coordinate (float64, pixel centres) of output pixels ``start..start+count``."""
    i = np.arange(start, start + (n_out - start if count is None else count), dtype=np.int64)
    return ((2 * i + 1) * n_in - n_out) / (2.0 * n_out)


def axis_map(n_in: int, n_out: int, start: int = 0, count: int | None = None) -> AxisMap:
    """Map output pixels ``start .. start+count`` of an ``n_in -> n_out`` axis.

    Phases are exact when the axis has at most ``EXACT_PHASES`` distinct phases
    (every ratio p/q with p <= 64, so x2, x2.5, x3.2 ...), and quantised to
    multiples of ``1/PHASE_QUANT`` of an input pixel otherwise.
    """
    if n_in <= 0 or n_out <= 0:
        raise ValueError(f"axis lengths must be positive, got {n_in} -> {n_out}")
    if count is None:
        count = n_out - start
    if start < 0 or count < 0 or start + count > n_out:
        raise ValueError(f"output pixels {start}..{start + count} lie outside 0..{n_out}")
    i = np.arange(start, start + count, dtype=np.int64)
    num = (2 * i + 1) * n_in  # y + 0.5 = num / (2 n_out)
    den = 2 * n_out
    src = num // den
    # phase = y - src = (num - n_out - den*src) / den, an integer over den: exact
    phase_num = num - n_out - den * src
    phase = phase_num / den
    period = n_out // gcd(n_out, n_in)
    if period <= EXACT_PHASES:
        # exact: the distinct numerators over one period
        all_i = np.arange(period, dtype=np.int64)
        all_num = (2 * all_i + 1) * n_in
        all_pn = all_num - n_out - den * (all_num // den)
        uniq = np.unique(all_pn)
        phases = uniq / den
        phase_index = np.searchsorted(uniq, phase_num)
    else:
        q = np.floor(phase * PHASE_QUANT + 0.5).astype(np.int64)  # -Q/2 .. Q/2
        phases = np.arange(-PHASE_QUANT // 2, PHASE_QUANT // 2 + 1) / PHASE_QUANT
        phase_index = q + PHASE_QUANT // 2
    return AxisMap(n_in, n_out, start, src, phase, phase_index.astype(np.int64), phases)


@dataclass(frozen=True)
class ZoomGrid:
    """The zoomed grid of a slice of ``shape`` (rows, cols) at ``scale``.

    ``out_shape = (round(r_y * rows), round(r_x * cols))`` and the per-axis
    factor actually used is ``out / in``, so the field of view is exactly the
    input's.  Regions are ``(top, left, height, width)`` in output pixels.
    """

    shape: tuple[int, int]
    scale: tuple[float, float]

    @classmethod
    def make(cls, shape, scale, *, sr: bool = True) -> "ZoomGrid":
        ry, rx = parse_scale(scale, sr=sr)
        rows, cols = int(shape[0]), int(shape[1])
        if rows <= 0 or cols <= 0:
            raise ValueError(f"slice shape must be positive, got {shape}")
        return cls((rows, cols), (ry, rx))

    @property
    def out_shape(self) -> tuple[int, int]:
        return (output_size(self.shape[0], self.scale[0]), output_size(self.shape[1], self.scale[1]))

    @property
    def factors(self) -> tuple[float, float]:
        """Exact per-axis factors ``n_out / n_in`` as floats."""
        (h, w), (H, W) = self.shape, self.out_shape
        return (H / h, W / w)

    def region(self, region=None) -> tuple[int, int, int, int]:
        """Validate ``region`` (None = whole grid) and return it as ints."""
        H, W = self.out_shape
        if region is None:
            return (0, 0, H, W)
        if len(region) != 4:
            raise ValueError(f"region must be (top, left, height, width), got {region!r}")
        top, left, height, width = (int(v) for v in region)
        if height <= 0 or width <= 0:
            raise ValueError(f"region must have positive size, got {region!r}")
        if top < 0 or left < 0 or top + height > H or left + width > W:
            raise ValueError(f"region {region!r} lies outside the zoomed grid of {H}x{W} pixels")
        return (top, left, height, width)

    def axis_maps(self, region=None) -> tuple[AxisMap, AxisMap]:
        top, left, height, width = self.region(region)
        H, W = self.out_shape
        return (
            axis_map(self.shape[0], H, top, height),
            axis_map(self.shape[1], W, left, width),
        )

    def source_window(self, region=None, halo: int = 0) -> tuple[slice, slice]:
        """Input rows/cols (clipped) that a region reads, widened by ``halo``."""
        top, left, height, width = source_rect(*self.axis_maps(region), self.shape, halo)
        return slice(top, top + height), slice(left, left + width)


def source_rect(my: AxisMap, mx: AxisMap, shape, halo: int = 0) -> tuple[int, int, int, int]:
    """``(top, left, height, width)`` of the input pixels the axis maps' source pixels
    cover, widened by ``halo`` and clipped to a ``shape`` slice."""
    y0, x0 = max(int(my.src[0]) - halo, 0), max(int(mx.src[0]) - halo, 0)
    y1, x1 = min(int(my.src[-1]) + halo + 1, int(shape[0])), min(int(mx.src[-1]) + halo + 1, int(shape[1]))
    return (y0, x0, y1 - y0, x1 - x0)


def visible_region(grid: ZoomGrid, top: float, left: float, height: float, width: float):
    """Clip a viewport rectangle (output pixels, may be fractional or outside the
    grid) to whole output pixels inside the grid; None when nothing is visible."""
    H, W = grid.out_shape
    t = max(int(np.floor(top)), 0)
    l = max(int(np.floor(left)), 0)
    b = min(int(np.ceil(top + height)), H)
    r = min(int(np.ceil(left + width)), W)
    if b <= t or r <= l:
        return None
    return (t, l, b - t, r - l)
