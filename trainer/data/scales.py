"""The training scales and exact patch sizes for each.

The paper trains on r = 1.1, 1.2, ..., 4.0, one scale per minibatch.  For each
r = k/10 = P/Q (lowest terms) we pick an LR patch of m pixels, a multiple of Q,
and an HR patch of n = r*m pixels exactly (n <= 96): the factor the network sees is
then exactly r, every phase of the scale appears, and the whole-patch Meta-Upscale
has a fixed small set of phase pairs (e.g. r=1.1 -> 80 -> 88; r=3.7 -> 20 -> 74;
r=2 -> 48 -> 96).

A scale may also be a pair ``(r_y, r_x)``: coronal and sagittal reformats of
thick-slice scans have rows several times coarser than columns, so the viewer asks
for e.g. x4 down the rows and x2.2 across.  ``ScaleSampler(anisotropic=p)`` draws such
pairs (each axis from the same list) for a fraction ``p`` of minibatches, so the
network learns them rather than extrapolating from square zooms; each axis gets its
own exact sizes, so patches are rectangular (e.g. (4, 2.2) -> LR 24 x 40, HR 96 x 88).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from engine.geometry import is_pair, parse_scale, parse_scale_key, scale_key  # noqa: F401  (re-exported)

#: r = k/10 for k = 11..40: the paper's 30 training scales.
TRAIN_SCALES = tuple(k / 10 for k in range(11, 41))

#: The evaluation scales of the issue (and the viewer's common zooms).
EVAL_SCALES = (1.1, 1.5, 2.0, 2.2, 2.5, 3.0, 3.5, 4.0)


def exact_sizes(scale: float, max_hr: int) -> tuple[int, int]:
    """``(m, n)``: the largest HR size ``n <= max_hr`` with ``n = scale * m`` exactly."""
    r = Fraction(repr(float(scale))).limit_denominator(1000)
    if r <= 1:
        raise ValueError(f"scale must exceed 1, got {scale}")
    p, q = r.numerator, r.denominator
    t = max_hr // p  # n = p*t, m = q*t
    if t < 1:
        raise ValueError(f"no HR patch of at most {max_hr} pixels has an exact LR size at x{scale}")
    return q * t, p * t


#: Held-out anisotropic pairs (rows, cols): reformats of 1.5-6 mm slices zoomed x1.1-x3
#: ask for the row factor at the x4 cap; the transposed pair checks the other axis, and
#: (4, 3), a ratio under 1.5, the near-square case (bicubic on both axes).
EVAL_PAIRS = ((4.0, 1.1), (4.0, 2.2), (4.0, 3.0), (3.0, 1.5), (2.2, 4.0))


def exact_patch(scale, max_hr: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """``((m_y, m_x), (n_y, n_x))``: ``exact_sizes`` per axis of a number or a pair."""
    ry, rx = parse_scale(scale, sr=False)
    (my, ny), (mx, nx) = exact_sizes(ry, max_hr), exact_sizes(rx, max_hr)
    return (my, mx), (ny, nx)


def parse_scales(text) -> list:
    """``"1.1,2,4x2.2"`` (or a list of numbers, pairs and such strings) -> scales;
    a pair of equal factors becomes a plain number."""
    items = str(text).split(",") if isinstance(text, str) else list(text)
    out = []
    for it in items:
        if isinstance(it, (tuple, list)):
            ry, rx = parse_scale(it, sr=False)
            out.append(ry if ry == rx else (ry, rx))
        else:
            out.append(parse_scale_key(it))
    return out


class ScaleSampler:
    """One scale per minibatch, uniform over ``scales``, a pure function of
    (seed, step), so a resumed or multi-process run draws the same scales.

    With ``anisotropic = p > 0`` a fraction ``p`` of minibatches get a pair
    ``(r_y, r_x)`` of two independent draws instead (a plain number when they
    coincide).  ``p = 0`` draws exactly the isotropic sequence of older runs."""

    def __init__(self, scales=TRAIN_SCALES, seed: int = 0, anisotropic: float = 0.0):
        if any(isinstance(s, (tuple, list)) for s in scales):
            raise ValueError("training scales are numbers; pairs come from data.anisotropic")
        self.scales = tuple(float(s) for s in scales)
        if not self.scales:
            raise ValueError("need at least one training scale")
        if not 0.0 <= float(anisotropic) <= 1.0:
            raise ValueError(f"anisotropic is a fraction of minibatches in [0, 1], got {anisotropic}")
        self.seed, self.anisotropic = int(seed), float(anisotropic)

    def __call__(self, step: int):
        rng = np.random.default_rng([self.seed, int(step), 0x5CA1E])
        r = self.scales[int(rng.integers(len(self.scales)))]
        if self.anisotropic > 0 and rng.random() < self.anisotropic:
            r2 = self.scales[int(rng.integers(len(self.scales)))]
            return r if r2 == r else (r, r2)
        return r
