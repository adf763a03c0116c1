"""Numba kernels for the CPU: the Meta-Upscale dot product and separable bicubic.

No gather, no unfolded features: each output pixel reads its 3x3xC window straight
from the features (stored row-major as (rows, cols*C), so a window row is 3*C
contiguous floats) and its filter from the phase table.
"""

from __future__ import annotations

import threading

import numba
import numpy as np
from numba import njit, prange

_launch_lock = threading.Lock()
_layer_threadsafe = False


def _launch(kernel, *args):
    """Run a ``parallel=True`` kernel, safely from any thread.

    Numba's OpenMP and TBB threading layers accept launches from several threads at
    once; its fallback ``workqueue`` layer (what a machine without either gets, e.g.
    macOS wheels without libomp) aborts the whole process instead ("Concurrent access
    has been detected").  The viewer renders SR, bicubic and prefetch on separate
    threads, so under ``workqueue`` launches are serialised; under OpenMP/TBB no lock.
    """
    global _layer_threadsafe
    if not _layer_threadsafe:
        try:  # known only after the first launch, and fixed from then on
            _layer_threadsafe = numba.threading_layer() in ("omp", "tbb")
        except ValueError:
            pass
    if _layer_threadsafe:
        return kernel(*args)
    with _launch_lock:
        return kernel(*args)


def column_groups(q_x: np.ndarray, n_phase_x: int):
    """Columns ordered by phase index, and where each phase's group starts."""
    order = np.argsort(q_x, kind="stable")
    starts = np.searchsorted(q_x[order], np.arange(n_phase_x + 1))
    return order.astype(np.int64), starts.astype(np.int64)


def meta_upscale_kernel(feats, row_stride, channels, table, n_phase_x, src_y, q_y, order_x, group_start, src_x, q_x, out):
    """out[i, j] = <window(src_y[i], src_x[j]), filter(q_y[i], q_x[j])>: see ``_meta_upscale``."""
    return _launch(_meta_upscale, feats, row_stride, channels, table, n_phase_x, src_y, q_y, order_x, group_start,
                   src_x, q_x, out)


def separable_kernel(img, rows_idx, rows_w, cols_idx, cols_w, out):
    """Separable resampling into ``out``: see ``_separable``."""
    return _launch(_separable, img, rows_idx, rows_w, cols_idx, cols_w, out)


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def _meta_upscale(feats, row_stride, channels, table, n_phase_x, src_y, q_y, order_x, group_start, src_x, q_x, out):
    """out[i, j] = <window(src_y[i], src_x[j]), filter(q_y[i], q_x[j])>, 576 terms.

    ``feats``: the zero-padded features flattened from (h + 2, w + 2, C), so a
    window row is 3*C contiguous floats starting at ``(src_y + dy) * row_stride +
    src_x * C`` (padded row ``src + dy`` is LR row ``src + dy - 1``).
    ``table``: filters flattened from (Py, Px, 3, 3*C).
    ``order_x``/``group_start``: the region's columns grouped by phase
    (``column_groups``), so within an output row each filter is loaded once for
    four output pixels and stays in L1 (1.25 loads per multiply-add instead of 2).
    Slices (not offset arithmetic) index the inner loops: numba then knows the
    indices are non-negative and vectorises them (10x faster than ``a[f0 + k]``).
    """
    h, w = out.shape
    K = 3 * channels
    K3 = 3 * K
    ng = group_start.shape[0] - 1
    for i in prange(h):
        fy = src_y[i] * row_stride
        tb = q_y[i] * n_phase_x
        for g in range(ng):
            a = group_start[g]
            b = group_start[g + 1]
            if a == b:
                continue
            tq = (tb + q_x[order_x[a]]) * K3
            p = a
            while p + 4 <= b:
                j0 = order_x[p]; j1 = order_x[p + 1]; j2 = order_x[p + 2]; j3 = order_x[p + 3]
                f0 = fy + src_x[j0] * channels
                f1 = fy + src_x[j1] * channels
                f2 = fy + src_x[j2] * channels
                f3 = fy + src_x[j3] * channels
                a0 = np.float32(0.0); a1 = np.float32(0.0); a2 = np.float32(0.0); a3 = np.float32(0.0)
                for dy in range(3):
                    o = dy * row_stride
                    t = table[tq + dy * K: tq + dy * K + K]
                    v0 = feats[f0 + o: f0 + o + K]
                    v1 = feats[f1 + o: f1 + o + K]
                    v2 = feats[f2 + o: f2 + o + K]
                    v3 = feats[f3 + o: f3 + o + K]
                    for k in range(K):
                        tk = t[k]
                        a0 += v0[k] * tk
                        a1 += v1[k] * tk
                        a2 += v2[k] * tk
                        a3 += v3[k] * tk
                out[i, j0] = a0; out[i, j1] = a1; out[i, j2] = a2; out[i, j3] = a3
                p += 4
            while p < b:
                j0 = order_x[p]
                f0 = fy + src_x[j0] * channels
                a0 = np.float32(0.0)
                for dy in range(3):
                    o = dy * row_stride
                    t = table[tq + dy * K: tq + dy * K + K]
                    v0 = feats[f0 + o: f0 + o + K]
                    for k in range(K):
                        a0 += v0[k] * t[k]
                out[i, j0] = a0
                p += 1
    return out


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def _separable(img, rows_idx, rows_w, cols_idx, cols_w, out):
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
