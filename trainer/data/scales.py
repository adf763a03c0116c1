"""The training scales and exact patch sizes for each.

The paper trains on r = 1.1, 1.2, ..., 4.0, one scale per minibatch.  For each
r = k/10 = P/Q (lowest terms) we pick an LR patch of m pixels, a multiple of Q,
and an HR patch of n = r*m pixels exactly (n <= 96): the factor the network sees is
then exactly r, every phase of the scale appears, and the whole-patch Meta-Upscale
has a fixed small set of phase pairs (e.g. r=1.1 -> 80 -> 88; r=3.7 -> 20 -> 74;
r=2 -> 48 -> 96).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

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


class ScaleSampler:
    """One scale per minibatch, uniform over ``scales``, a pure function of
    (seed, step), so a resumed or multi-process run draws the same scales."""

    def __init__(self, scales=TRAIN_SCALES, seed: int = 0):
        self.scales = tuple(float(s) for s in scales)
        if not self.scales:
            raise ValueError("need at least one training scale")
        self.seed = int(seed)

    def __call__(self, step: int) -> float:
        rng = np.random.default_rng([self.seed, int(step), 0x5CA1E])
        return self.scales[int(rng.integers(len(self.scales)))]
