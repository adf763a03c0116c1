"""The Meta-Upscale dot product for low zooms: columns in their own order, one input row at a time.

``cpu_kernel`` groups a row's columns by phase so each filter is loaded once for
four output pixels.  Below about x1.85 that stops paying: the four columns of a
group then read windows ~1/(r - 1) input columns apart, which share nothing, so
every window comes from L2 or beyond, and a 1024x1024 frame at x1.1 took ~3x as
long as at x2 (the multiply-adds are the same).  Here neighbouring output columns
are computed together instead: their windows overlap, so the features stream
through the cache once, in order, and the filters a row needs (one per phase, one
window row at a time: 17 x 768 bytes) stay in L1.  Each output pixel is the same
576-term sum, taken one window row per pass.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numba import njit, prange

from ..geometry import AxisMap
from .cpu_kernel import _launch, row_pairs

#: Column factors below this take the column-order kernel.  One thread, 1024x1024
#: regions, CPU ms phase groups -> column order (2-core AVX2 machine): x1.1 64 -> 43,
#: x1.6 42 -> 37, x1.75 38 -> 34, x1.8 35 -> 34, x1.85 34 -> 35, x1.9 32 -> 36;
#: x1.25 50 -> 39; x1.5 (exact 3/2, below) 35 -> 37.
LOW_ZOOM_BELOW = Fraction(37, 20)


def low_zoom(mx: AxisMap) -> bool:
    """True where the column-order kernel is the faster one for a region's columns:
    zooms below ``LOW_ZOOM_BELOW``, except exact factors p/2 (x1.5), whose phase
    groups read windows one input column apart and so keep theirs in cache."""
    r = mx.factor
    return r < LOW_ZOOM_BELOW and (mx.quantised or r.denominator > 2)


def low_zoom_kernel(feats, row_stride, channels, table, n_phase_x, src_y, q_y, src_x, q_x, out):
    """out[i, j] = <window(src_y[i], src_x[j]), filter(q_y[i], q_x[j])>, as
    ``cpu_kernel.meta_upscale_kernel`` computes it: see ``_by_rows``."""
    first, second = row_pairs(src_y)
    return _launch(_by_rows, feats, row_stride, channels, table, n_phase_x, src_y, q_y, src_x, q_x, first, second, out)


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def _by_rows(feats, row_stride, channels, table, n_phase_x, src_y, q_y, src_x, q_x, first, second, out):  # pragma: no cover - numba
    """Output rows two at a time (``row_pairs``), each pair one input row per pass.

    Input row ``r`` is window row ``r - src_y[i]`` of row ``i`` and ``r - src_y[i2]``
    of row ``i2``: a pass adds, for two neighbouring output columns at once, those
    window rows' 3*C terms to both output rows (two feature loads, overlapping,
    and four filter loads from L1 for four multiply-adds).  Two columns, not four:
    7% faster at x1.1 (fewer registers spilled); one column is 8% slower.  Layouts
    as in ``cpu_kernel._meta_upscale``.
    """
    K = 3 * channels
    K3 = 3 * K
    w = out.shape[1]
    w2 = w - w % 2
    for u in prange(first.shape[0]):
        i = first[u]
        i2 = second[u]
        s = src_y[i]
        s2 = src_y[i2] if i2 >= 0 else s
        tb = q_y[i] * n_phase_x
        tb2 = q_y[i2] * n_phase_x if i2 >= 0 else tb
        for j in range(w):
            out[i, j] = 0.0
            if i2 >= 0:
                out[i2, j] = 0.0
        for r in range(s, s2 + 3):
            d1 = r - s
            d2 = r - s2
            fr = r * row_stride
            top = d1 <= 2  # a window row of row i
            bottom = i2 >= 0 and d2 >= 0  # and of row i2
            if top and bottom:
                for j in range(0, w2, 2):
                    f0 = fr + src_x[j] * channels
                    f1 = fr + src_x[j + 1] * channels
                    t0 = (tb + q_x[j]) * K3 + d1 * K
                    t1 = (tb + q_x[j + 1]) * K3 + d1 * K
                    e0 = (tb2 + q_x[j]) * K3 + d2 * K
                    e1 = (tb2 + q_x[j + 1]) * K3 + d2 * K
                    v0 = feats[f0: f0 + K]; v1 = feats[f1: f1 + K]
                    x0 = table[t0: t0 + K]; x1 = table[t1: t1 + K]
                    y0 = table[e0: e0 + K]; y1 = table[e1: e1 + K]
                    a0 = np.float32(0.0); a1 = np.float32(0.0)
                    c0 = np.float32(0.0); c1 = np.float32(0.0)
                    for k in range(K):
                        a0 += v0[k] * x0[k]; a1 += v1[k] * x1[k]
                        c0 += v0[k] * y0[k]; c1 += v1[k] * y1[k]
                    out[i, j] += a0; out[i, j + 1] += a1
                    out[i2, j] += c0; out[i2, j + 1] += c1
                for j in range(w2, w):
                    f0 = fr + src_x[j] * channels
                    t0 = (tb + q_x[j]) * K3 + d1 * K
                    e0 = (tb2 + q_x[j]) * K3 + d2 * K
                    v0 = feats[f0: f0 + K]; x0 = table[t0: t0 + K]; y0 = table[e0: e0 + K]
                    a0 = np.float32(0.0); c0 = np.float32(0.0)
                    for k in range(K):
                        a0 += v0[k] * x0[k]; c0 += v0[k] * y0[k]
                    out[i, j] += a0; out[i2, j] += c0
            else:
                ii = i if top else i2
                bb = tb if top else tb2
                d = d1 if top else d2
                for j in range(0, w2, 2):
                    f0 = fr + src_x[j] * channels
                    f1 = fr + src_x[j + 1] * channels
                    t0 = (bb + q_x[j]) * K3 + d * K
                    t1 = (bb + q_x[j + 1]) * K3 + d * K
                    v0 = feats[f0: f0 + K]; v1 = feats[f1: f1 + K]
                    x0 = table[t0: t0 + K]; x1 = table[t1: t1 + K]
                    a0 = np.float32(0.0); a1 = np.float32(0.0)
                    for k in range(K):
                        a0 += v0[k] * x0[k]; a1 += v1[k] * x1[k]
                    out[ii, j] += a0; out[ii, j + 1] += a1
                for j in range(w2, w):
                    f0 = fr + src_x[j] * channels
                    t0 = (bb + q_x[j]) * K3 + d * K
                    v0 = feats[f0: f0 + K]; x0 = table[t0: t0 + K]
                    a0 = np.float32(0.0)
                    for k in range(K):
                        a0 += v0[k] * x0[k]
                    out[ii, j] += a0
    return out
