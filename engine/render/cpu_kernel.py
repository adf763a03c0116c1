"""Numba kernels for the CPU: the Meta-Upscale dot product and separable bicubic.

No gather, no unfolded features: each output pixel reads its 3x3xC window straight
from the features (stored row-major as (rows, cols*C), so a window row is 3*C
contiguous floats) and its filter from the phase table.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def meta_upscale_kernel(feats, row_stride, channels, table, n_phase_x, src_y, q_y, src_x, q_x, out):
    """out[i, j] = <window(src_y[i], src_x[j]), filter(q_y[i], q_x[j])>, 576 terms.

    ``feats``: the zero-padded features flattened from (h + 2, w + 2, C), so a
    window row is 3*C contiguous floats starting at ``(src_y + dy) * row_stride +
    src_x * C`` (padded row ``src + dy`` is LR row ``src + dy - 1``).
    ``table``: filters flattened from (Py, Px, 3, 3*C).  Neighbouring output
    pixels that share a window (every zoom > 1 has runs of them) are computed as
    a pair, so the window is loaded once for two dot products.
    Slices (not offset arithmetic) index the inner loop: numba then knows the
    indices are non-negative and vectorises it (10x faster than ``a[f0 + k]``).
    """
    h, w = out.shape
    K = 3 * channels
    K3 = 3 * K
    for i in prange(h):
        fy = src_y[i] * row_stride
        tb = q_y[i] * n_phase_x
        j = 0
        while j < w:
            fb = fy + src_x[j] * channels
            ta = (tb + q_x[j]) * K3
            if j + 1 < w and src_x[j + 1] == src_x[j]:
                tc = (tb + q_x[j + 1]) * K3
                a0 = np.float32(0.0)
                a1 = np.float32(0.0)
                for dy in range(3):
                    fv = feats[fb + dy * row_stride : fb + dy * row_stride + K]
                    t0 = table[ta + dy * K : ta + dy * K + K]
                    t1 = table[tc + dy * K : tc + dy * K + K]
                    for k in range(K):
                        f = fv[k]
                        a0 += f * t0[k]
                        a1 += f * t1[k]
                out[i, j] = a0
                out[i, j + 1] = a1
                j += 2
            else:
                a0 = np.float32(0.0)
                for dy in range(3):
                    fv = feats[fb + dy * row_stride : fb + dy * row_stride + K]
                    t0 = table[ta + dy * K : ta + dy * K + K]
                    for k in range(K):
                        a0 += fv[k] * t0[k]
                out[i, j] = a0
                j += 1
    return out


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def separable_kernel(img, rows_idx, rows_w, cols_idx, cols_w, out):
    """out[i, j] = sum_a sum_b rows_w[i, a] cols_w[j, b] img[rows_idx[i, a], cols_idx[j, b]].

    Two passes (columns then rows) with the taps precomputed per output row/col.
    """
    h, w = out.shape
    ta = rows_idx.shape[1]
    tb = cols_idx.shape[1]
    H = img.shape[0]
    tmp = np.empty((H, w), dtype=np.float32)
    # only the input rows some output row reads
    need = np.zeros(H, dtype=np.bool_)
    for i in range(h):
        for a in range(ta):
            need[rows_idx[i, a]] = True
    for y in prange(H):
        if need[y]:
            for j in range(w):
                acc = np.float32(0.0)
                for b in range(tb):
                    acc += cols_w[j, b] * img[y, cols_idx[j, b]]
                tmp[y, j] = acc
    for i in prange(h):
        for j in range(w):
            acc = np.float32(0.0)
            for a in range(ta):
                acc += rows_w[i, a] * tmp[rows_idx[i, a], j]
            out[i, j] = acc
    return out
