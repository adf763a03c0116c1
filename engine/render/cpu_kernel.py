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


#: Output columns are grouped by phase within stripes this wide, so one stripe's
#: three feature rows (~512/r windows) stay in the core's L2 next to the filters.
STRIPE = 512


def column_groups(q_x: np.ndarray, n_phase_x: int, stripe: int = STRIPE):
    """Columns ordered by phase within each stripe of ``stripe`` columns, and where
    each (stripe, phase) group starts in that order."""
    orders, starts = [], [np.zeros(1, np.int64)]
    for s0 in range(0, len(q_x), stripe):
        q = q_x[s0 : s0 + stripe]
        order = np.argsort(q, kind="stable")
        st = np.searchsorted(q[order], np.arange(n_phase_x + 1))
        orders.append(order + s0)
        starts.append(st[1:] + starts[-1][-1])
    return np.concatenate(orders).astype(np.int64), np.concatenate(starts).astype(np.int64)


@njit(cache=True, nogil=True)
def _pair_rows(src, first, second):  # pragma: no cover - numba
    h = src.shape[0]
    n = 0
    i = 0
    while i < h:
        pair = False
        if i + 1 < h and src[i + 1] == src[i]:
            pair = True
        elif i + 1 < h and src[i + 1] == src[i] + 1:
            j = i + 1  # the next run: take its first row only if the rest then pairs up
            while j + 1 < h and src[j + 1] == src[i + 1]:
                j += 1
            pair = (j - i) % 2 == 1
        first[n] = i
        second[n] = i + 1 if pair else -1
        n += 1
        i += 2 if pair else 1
    return n


def row_pairs(src_y: np.ndarray):
    """Output rows in units of two neighbours (the kernel loads each window row once
    for both) or one row alone.  Returns ``(first, second)``, ``second = -1`` for a
    lone row.

    Two rows that read the same input row share all three window rows (0.75 loads
    per multiply-add); two that read neighbouring input rows share two of four
    (0.92); a lone row pays 1.25.  Rows of the same input row pair up first; the
    row a run leaves over pairs with the next run's first row when the rest of that
    run then pairs up too.  Below x2 most input rows have one output row, so without
    the neighbour pairs a 1024x1024 frame at x1.1 rendered ~1.9x slower than at x2."""
    src = np.ascontiguousarray(src_y, dtype=np.int64)
    first = np.empty(len(src), np.int64)
    second = np.empty(len(src), np.int64)
    n = _pair_rows(src, first, second)
    return first[:n], second[:n]


def meta_upscale_kernel(feats, row_stride, channels, table, n_phase_x, src_y, q_y, src_x, q_x, out):
    """out[i, j] = <window(src_y[i], src_x[j]), filter(q_y[i], q_x[j])>: see ``_meta_upscale``."""
    order, starts = column_groups(q_x, n_phase_x)
    first, second = row_pairs(src_y)
    return _launch(_meta_upscale, feats, row_stride, channels, table, n_phase_x, src_y, q_y, order, starts,
                   src_x, q_x, first, second, out)


def separable_kernel(img, rows_idx, rows_w, cols_idx, cols_w, out):
    """Separable resampling into ``out``: see ``_separable``."""
    return _launch(_separable, img, rows_idx, rows_w, cols_idx, cols_w, out)


@njit(inline="always")
def _four_columns(order_x, src_x, p, fy, channels):
    """The next four columns of a phase group, and where their windows start."""
    j0, j1, j2, j3 = order_x[p], order_x[p + 1], order_x[p + 2], order_x[p + 3]
    return (j0, j1, j2, j3, fy + src_x[j0] * channels, fy + src_x[j1] * channels,
            fy + src_x[j2] * channels, fy + src_x[j3] * channels)


@njit(inline="always")
def _store4(out, i, j0, j1, j2, j3, a0, a1, a2, a3):
    out[i, j0] = a0
    out[i, j1] = a1
    out[i, j2] = a2
    out[i, j3] = a3


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def _meta_upscale(feats, row_stride, channels, table, n_phase_x, src_y, q_y, order_x, group_start, src_x, q_x,
                  first, second, out):
    """out[i, j] = <window(src_y[i], src_x[j]), filter(q_y[i], q_x[j])>, 576 terms.

    ``feats``: the zero-padded features flattened from (h + 2, w + 2, C), so a
    window row is 3*C contiguous floats starting at ``(src_y + dy) * row_stride +
    src_x * C`` (padded row ``src + dy`` is LR row ``src + dy - 1``).
    ``table``: filters flattened from (Py, Px, 3, 3*C).
    ``order_x``/``group_start``: the region's columns grouped by phase
    (``column_groups``), so each filter is loaded once for four output pixels.
    ``first``/``second``: rows two at a time (``row_pairs``), both reading the same
    input row (the four windows then serve two filters, 2x4 pixels per pass, 0.75
    loads per multiply-add instead of 1.25; measured 15-35% faster) or neighbouring
    ones (four window rows, the middle two serving both filters: 0.92).
    Slices (not offset arithmetic) index the inner loops: numba then knows the
    indices are non-negative and vectorises them (10x faster than ``a[f0 + k]``).
    """
    K = 3 * channels
    K3 = 3 * K
    ng = group_start.shape[0] - 1
    for u in prange(first.shape[0]):
        i = first[u]
        i2 = second[u]
        fy = src_y[i] * row_stride
        tb = q_y[i] * n_phase_x
        tb2 = q_y[i2] * n_phase_x if i2 >= 0 else tb
        # 0: both rows read the same input row; 1: the second reads the next one
        step = src_y[i2] - src_y[i] if i2 >= 0 else 0
        for g in range(ng):
            a = group_start[g]
            b = group_start[g + 1]
            if a == b:
                continue
            qx = q_x[order_x[a]]
            tq = (tb + qx) * K3
            tq2 = (tb2 + qx) * K3
            p = a
            if i2 >= 0 and step == 1:
                # four window rows: the top three make row i (filter t), the bottom three row i2 (s)
                while p + 4 <= b:
                    j0, j1, j2, j3, f0, f1, f2, f3 = _four_columns(order_x, src_x, p, fy, channels)
                    a0 = np.float32(0.0); a1 = np.float32(0.0); a2 = np.float32(0.0); a3 = np.float32(0.0)
                    c0 = np.float32(0.0); c1 = np.float32(0.0); c2 = np.float32(0.0); c3 = np.float32(0.0)
                    t = table[tq: tq + K]
                    v0 = feats[f0: f0 + K]
                    v1 = feats[f1: f1 + K]
                    v2 = feats[f2: f2 + K]
                    v3 = feats[f3: f3 + K]
                    for k in range(K):
                        tk = t[k]
                        a0 += v0[k] * tk; a1 += v1[k] * tk; a2 += v2[k] * tk; a3 += v3[k] * tk
                    for dy in range(1, 3):
                        o = dy * row_stride
                        t = table[tq + dy * K: tq + dy * K + K]
                        s = table[tq2 + (dy - 1) * K: tq2 + dy * K]
                        v0 = feats[f0 + o: f0 + o + K]
                        v1 = feats[f1 + o: f1 + o + K]
                        v2 = feats[f2 + o: f2 + o + K]
                        v3 = feats[f3 + o: f3 + o + K]
                        for k in range(K):
                            tk = t[k]
                            sk = s[k]
                            x0 = v0[k]; x1 = v1[k]; x2 = v2[k]; x3 = v3[k]
                            a0 += x0 * tk; a1 += x1 * tk; a2 += x2 * tk; a3 += x3 * tk
                            c0 += x0 * sk; c1 += x1 * sk; c2 += x2 * sk; c3 += x3 * sk
                    o = 3 * row_stride
                    s = table[tq2 + 2 * K: tq2 + 3 * K]
                    v0 = feats[f0 + o: f0 + o + K]
                    v1 = feats[f1 + o: f1 + o + K]
                    v2 = feats[f2 + o: f2 + o + K]
                    v3 = feats[f3 + o: f3 + o + K]
                    for k in range(K):
                        sk = s[k]
                        c0 += v0[k] * sk; c1 += v1[k] * sk; c2 += v2[k] * sk; c3 += v3[k] * sk
                    _store4(out, i, j0, j1, j2, j3, a0, a1, a2, a3)
                    _store4(out, i2, j0, j1, j2, j3, c0, c1, c2, c3)
                    p += 4
                while p < b:
                    j0 = order_x[p]
                    f0 = fy + src_x[j0] * channels
                    a0 = np.float32(0.0)
                    c0 = np.float32(0.0)
                    for dy in range(3):
                        o = dy * row_stride
                        t = table[tq + dy * K: tq + dy * K + K]
                        s = table[tq2 + dy * K: tq2 + dy * K + K]
                        v0 = feats[f0 + o: f0 + o + K]
                        w0 = feats[f0 + o + row_stride: f0 + o + row_stride + K]
                        for k in range(K):
                            a0 += v0[k] * t[k]
                            c0 += w0[k] * s[k]
                    out[i, j0] = a0
                    out[i2, j0] = c0
                    p += 1
            elif i2 >= 0:
                while p + 4 <= b:
                    j0, j1, j2, j3, f0, f1, f2, f3 = _four_columns(order_x, src_x, p, fy, channels)
                    a0 = np.float32(0.0); a1 = np.float32(0.0); a2 = np.float32(0.0); a3 = np.float32(0.0)
                    c0 = np.float32(0.0); c1 = np.float32(0.0); c2 = np.float32(0.0); c3 = np.float32(0.0)
                    for dy in range(3):
                        o = dy * row_stride
                        t = table[tq + dy * K: tq + dy * K + K]
                        s = table[tq2 + dy * K: tq2 + dy * K + K]
                        v0 = feats[f0 + o: f0 + o + K]
                        v1 = feats[f1 + o: f1 + o + K]
                        v2 = feats[f2 + o: f2 + o + K]
                        v3 = feats[f3 + o: f3 + o + K]
                        for k in range(K):
                            tk = t[k]
                            sk = s[k]
                            x0 = v0[k]; x1 = v1[k]; x2 = v2[k]; x3 = v3[k]
                            a0 += x0 * tk; a1 += x1 * tk; a2 += x2 * tk; a3 += x3 * tk
                            c0 += x0 * sk; c1 += x1 * sk; c2 += x2 * sk; c3 += x3 * sk
                    _store4(out, i, j0, j1, j2, j3, a0, a1, a2, a3)
                    _store4(out, i2, j0, j1, j2, j3, c0, c1, c2, c3)
                    p += 4
                while p < b:
                    j0 = order_x[p]
                    f0 = fy + src_x[j0] * channels
                    a0 = np.float32(0.0)
                    c0 = np.float32(0.0)
                    for dy in range(3):
                        o = dy * row_stride
                        t = table[tq + dy * K: tq + dy * K + K]
                        s = table[tq2 + dy * K: tq2 + dy * K + K]
                        v0 = feats[f0 + o: f0 + o + K]
                        for k in range(K):
                            a0 += v0[k] * t[k]
                            c0 += v0[k] * s[k]
                    out[i, j0] = a0
                    out[i2, j0] = c0
                    p += 1
            else:
                while p + 4 <= b:
                    j0, j1, j2, j3, f0, f1, f2, f3 = _four_columns(order_x, src_x, p, fy, channels)
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
                            a0 += v0[k] * tk; a1 += v1[k] * tk; a2 += v2[k] * tk; a3 += v3[k] * tk
                    _store4(out, i, j0, j1, j2, j3, a0, a1, a2, a3)
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
    The row pass runs tap-outer, column-inner, so it is a contiguous multiply-add
    over whole rows that vectorises (3x faster than tap-inner).  The column pass
    gathers, so it takes four input rows at a time: each tap's index and weight is
    loaded once for four rows (half the loads; a 1024x1024 region from a 1024x1024
    slice, whose column pass covers 930 input rows, 1.6x faster).
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
    rows = np.nonzero(need)[0]
    n = rows.shape[0]
    for blk in prange((n + 3) // 4):
        k0 = 4 * blk
        if k0 + 4 <= n:
            s0 = img[rows[k0]]; s1 = img[rows[k0 + 1]]; s2 = img[rows[k0 + 2]]; s3 = img[rows[k0 + 3]]
            d0 = tmp[rows[k0]]; d1 = tmp[rows[k0 + 1]]; d2 = tmp[rows[k0 + 2]]; d3 = tmp[rows[k0 + 3]]
            for j in range(w):
                a0 = np.float32(0.0); a1 = np.float32(0.0); a2 = np.float32(0.0); a3 = np.float32(0.0)
                for b in range(tb):
                    c = cols_idx[j, b]
                    wb = cols_w[j, b]
                    a0 += wb * s0[c]; a1 += wb * s1[c]; a2 += wb * s2[c]; a3 += wb * s3[c]
                d0[j] = a0; d1[j] = a1; d2[j] = a2; d3[j] = a3
        else:
            for k in range(k0, n):
                src = img[rows[k]]
                dst = tmp[rows[k]]
                for j in range(w):
                    acc = np.float32(0.0)
                    for b in range(tb):
                        acc += cols_w[j, b] * src[cols_idx[j, b]]
                    dst[j] = acc
    for i in prange(h):
        o = out[i]
        r = tmp[rows_idx[i, 0]]
        wt = rows_w[i, 0]
        for j in range(w):
            o[j] = wt * r[j]
        for a in range(1, ta):
            r = tmp[rows_idx[i, a]]
            wt = rows_w[i, a]
            for j in range(w):
                o[j] += wt * r[j]
    return out
