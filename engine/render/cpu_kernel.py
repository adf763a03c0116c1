"""Numba kernels for the CPU: the Meta-Upscale dot product and separable bicubic.

No gather, no unfolded features: each output pixel reads its 3x3xC window straight
from the features (stored row-major as (rows, cols*C), so a window row is 3*C
contiguous floats) and its filter from the phase table.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def meta_upscale_kernel(feats, table, src_y, q_y, src_x, q_x, channels, out):
    """out[o, i, j] = sum_{dy, k} feats[src_y[i] + dy, src_x[j]*C + k] * table[q_y[i], q_x[j], o, dy, k].

    ``feats``: (h + 2, (w + 2) * C) zero-padded features, so padded row
    ``src + dy`` is LR row ``src + dy - 1``.  ``table``: (Py, Px, out, 3, 3C).
    """
    n_out, h, w = out.shape
    K = table.shape[4]
    for i in prange(h):
        y0 = src_y[i]
        ty = q_y[i]
        for j in range(w):
            base = src_x[j] * channels
            tx = q_x[j]
            for o in range(n_out):
                acc = np.float32(0.0)
                for dy in range(3):
                    row = feats[y0 + dy]
                    wrow = table[ty, tx, o, dy]
                    for k in range(K):
                        acc += row[base + k] * wrow[k]
                out[o, i, j] = acc
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
