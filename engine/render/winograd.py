"""The trunk on a CPU without native bf16: Winograd F(4x4, 3x3) in float32.

Why: on an AVX2 CPU oneDNN runs the trunk's eleven 64->64 3x3 convolutions as
direct float32 convolutions (~240 ms each for a 512x512 slice on 2 cores) and its
1->64 9x9 head at ~13 GFLOP/s (~200 ms).  Winograd's F(4x4, 3x3) computes each
4x4 output tile from a 6x6 input tile with 36 multiplies per channel pair instead
of 144, so the convolution becomes 36 independent (tiles x 64) @ (64 x 64) matrix
products that SciPy's BLAS runs near the cores' peak; the tile transforms are cheap numba
passes.  Bias, PReLU and the residual adds are fused into the output transform, and
layers work in bands of tile rows so a band's transformed tiles stay in cache.

Accuracy: F(4x4, 3x3) in float32 matches the direct convolution to ~1e-6 relative
(its transform constants are at most 8 in magnitude); ``engine.bench`` reports the
trunk's features against the folded PyTorch trunk.

Layout: every activation is a zero-bordered channels-last array (Hp, Wp, C), the
image at [1:h+1, 1:w+1], with Hp = 4*ceil(h/4) + 2 (and likewise Wp) so every
6x6 input tile lies inside it; the zero border *is* the convolutions' padding.
"""

from __future__ import annotations

import numpy as np
import torch.nn as nn
import numba
from numba import njit, prange

from .cpu_kernel import _launch

# Lavin & Gray (2016), F(4x4, 3x3): Y = A^T [(G g G^T) * (B^T d B)] A.
_G = np.array(
    [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
     [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
    dtype=np.float64,
)

#: Tiles per work unit: its transformed tiles, in and out (2 x 36 x 64 x 64 floats,
#: 1.2 MB), stay in a core's L2 and L3 (measured: 32 tiles 114 ms, 64 93 ms, 128 95 ms
#: for one 512x512 conv on 2 cores).
CHUNK_TILES = 64


def winograd_filters(weight: np.ndarray) -> np.ndarray:
    """Conv weights (K, C, 3, 3) -> the 36 transformed (C, K) matrices, (36, C, K).

    PyTorch's conv2d is a cross-correlation, which is what the transform computes."""
    g = np.asarray(weight, dtype=np.float64)
    u = np.einsum("ai,kcij,bj->abck", _G, g, _G)  # (6, 6, C, K)
    return np.ascontiguousarray(u.reshape(36, g.shape[1], g.shape[0]), dtype=np.float32)


# float32 constants: a Python int or float times a float32 array element is float64
# in numba, and the conversions keep LLVM from vectorising the loop at all.
_0, _2, _4, _5, _8 = np.float32(0), np.float32(2), np.float32(4), np.float32(5), np.float32(8)


@njit(fastmath=True, cache=True, nogil=True)
def _bt6(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5):  # pragma: no cover - numba
    """o = B^T d along one axis, for C channels at once."""
    for c in range(d0.shape[0]):
        a0, a1, a2, a3, a4, a5 = d0[c], d1[c], d2[c], d3[c], d4[c], d5[c]
        o0[c] = _4 * a0 - _5 * a2 + a4
        o1[c] = a3 + a4 - _4 * (a1 + a2)
        o2[c] = _4 * (a1 - a2) - a3 + a4
        o3[c] = _2 * (a3 - a1) - a2 + a4
        o4[c] = _2 * (a1 - a3) - a2 + a4
        o5[c] = _4 * a1 - _5 * a3 + a5


@njit(fastmath=True, cache=True, nogil=True)
def _at6(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3, bias):  # pragma: no cover - numba
    """o = A^T m (+ bias) along one axis, for C channels at once."""
    for k in range(m0.shape[0]):
        a0, a1, a2, a3, a4, a5, b = m0[k], m1[k], m2[k], m3[k], m4[k], m5[k], bias[k]
        o0[k] = a0 + a1 + a2 + a3 + a4 + b
        o1[k] = a1 - a2 + _2 * (a3 - a4) + b
        o2[k] = a1 + a2 + _4 * (a3 + a4) + b
        o3[k] = a1 - a2 + _8 * (a3 - a4) + a5 + b


@njit(fastmath=True, cache=True, nogil=True)
def _tile_in(P, y0, x0, tmp, V, t):  # pragma: no cover - numba
    """V[a*6+b, t, :] = (B^T d B)[a, b] for the 6x6 tile d at (y0, x0) of P."""
    for i in range(6):  # along x, for each of the tile's six rows
        y = y0 + i
        _bt6(P[y, x0], P[y, x0 + 1], P[y, x0 + 2], P[y, x0 + 3], P[y, x0 + 4], P[y, x0 + 5],
             tmp[i, 0], tmp[i, 1], tmp[i, 2], tmp[i, 3], tmp[i, 4], tmp[i, 5])
    for b in range(6):  # then along y
        _bt6(tmp[0, b], tmp[1, b], tmp[2, b], tmp[3, b], tmp[4, b], tmp[5, b],
             V[b, t], V[6 + b, t], V[12 + b, t], V[18 + b, t], V[24 + b, t], V[30 + b, t])


@njit(fastmath=True, cache=True, nogil=True)
def _tile_out(M, t, oy, ox, ni, nj, bias, alpha, R, use_res, out, tmp, y, zero):  # pragma: no cover
    """The 4x4 tile at padded (oy, ox) = A^T M A + bias, then PReLU with slopes
    ``alpha``, then + R (``use_res``); only its ``ni x nj`` pixels inside the image
    are written."""
    K = M.shape[2]
    for a in range(6):  # along x
        r = 6 * a
        _at6(M[r, t], M[r + 1, t], M[r + 2, t], M[r + 3, t], M[r + 4, t], M[r + 5, t],
             tmp[a, 0], tmp[a, 1], tmp[a, 2], tmp[a, 3], zero)
    for j in range(4):  # then along y, with the bias
        _at6(tmp[0, j], tmp[1, j], tmp[2, j], tmp[3, j], tmp[4, j], tmp[5, j],
             y[0, j], y[1, j], y[2, j], y[3, j], bias)
    for i in range(ni):  # PReLU with slope 1 (no PReLU) is the identity, exactly
        for j in range(nj):
            dst = out[oy + i, ox + j]
            src = y[i, j]
            if use_res:
                res = R[oy + i, ox + j]
                for k in range(K):
                    v = src[k]
                    dst[k] = max(v, _0) + alpha[k] * min(v, _0) + res[k]
            else:
                for k in range(K):
                    v = src[k]
                    dst[k] = max(v, _0) + alpha[k] * min(v, _0)


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def _conv3x3(P, U, bias, alpha, R, use_res, out, h, w, Vs, Ms, Ti, To, Y, zero):  # pragma: no cover
    """One 3x3 convolution of the zero-bordered ``P`` into ``out`` (see ``_tile_out``).

    Work units are runs of up to ``CW`` tiles along a tile row; each thread keeps its
    unit's transformed tiles (``Vs[thread]``, ``Ms[thread]``, 36 x CW x C floats
    each, sized to stay in L2) and multiplies them with single-threaded BLAS, so
    transforms and products never wait on another thread pool."""
    th, tw = (P.shape[0] - 2) // 4, (P.shape[1] - 2) // 4
    CW = Vs.shape[2] - 1  # one spare tile: the 36 planes then don't alias in L1
    nxc = (tw + CW - 1) // CW
    for u in prange(th * nxc):
        me = numba.get_thread_id()
        V, M = Vs[me], Ms[me]
        ty = u // nxc
        tx0 = (u % nxc) * CW
        n = min(CW, tw - tx0)
        for i in range(n):
            _tile_in(P, 4 * ty, 4 * (tx0 + i), Ti[me], V, i)
        for x in range(36):
            np.dot(V[x, :n], U[x], M[x, :n])
        ni = min(4, h - 4 * ty)
        for i in range(n):
            tx = tx0 + i
            _tile_out(M, i, 4 * ty + 1, 4 * tx + 1, ni, min(4, w - 4 * tx), bias, alpha, R, use_res,
                      out, To[me], Y[me], zero)


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def _head(img, wt, bias, alpha, out, h, w, patches, acts):  # pragma: no cover - numba
    """The 1 -> C head convolution (taps x taps, zero padded) + PReLU, one image row
    at a time as a (w x taps^2) @ (taps^2 x C) product (im2col of one row only).

    ``img``: the slice with a zero border of taps//2; ``wt``: (taps*taps, C);
    ``patches``/``acts``: per-thread scratch, (threads, w, taps^2) and (threads, w, C)."""
    taps2, C = wt.shape
    taps = int(round(np.sqrt(taps2)))
    for yy in prange(h):
        me = numba.get_thread_id()
        pt, ac = patches[me, :w], acts[me, :w]
        for xx in range(w):
            p = pt[xx]
            for dy in range(taps):
                p[dy * taps : dy * taps + taps] = img[yy + dy, xx : xx + taps]
        np.dot(pt, wt, ac)
        for xx in range(w):
            dst = out[yy + 1, xx + 1]
            a = ac[xx]
            for k in range(C):
                v = a[k] + bias[k]
                dst[k] = max(v, _0) + alpha[k] * min(v, _0)


def single_threaded_openblas() -> None:
    """Numba's ``np.dot`` calls SciPy's BLAS.  The trunk calls it from every numba
    thread at once, so an OpenBLAS that also spreads each small product over its own
    threads would oversubscribe the cores (and warns that it may hang): the OpenBLAS
    SciPy links is set to one thread, once, for the process.  NumPy's own copy (in
    ``numpy.libs``) is left as it is; MKL and Accelerate are left alone too (they
    detect nested calls themselves)."""
    try:
        import scipy.linalg.cython_blas  # noqa: F401  (loads the library numba will call)
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - declared dependencies
        return
    for lib in ThreadpoolController().lib_controllers:
        if lib.internal_api == "openblas" and "numpy.libs" not in lib.filepath:
            lib.set_num_threads(1)


class _Conv:
    """One folded 3x3 conv ready for Winograd: transformed filters, bias, PReLU slope."""

    def __init__(self, conv: nn.Conv2d, prelu: nn.PReLU | None):
        self.u = winograd_filters(conv.weight.detach().cpu().numpy())
        k = conv.out_channels
        b = conv.bias.detach().cpu().numpy() if conv.bias is not None else np.zeros(k)
        self.bias = np.ascontiguousarray(b, dtype=np.float32)
        a = prelu.weight.detach().cpu().numpy() if prelu is not None else np.ones(1)  # slope 1: no PReLU
        self.alpha = np.ascontiguousarray(np.broadcast_to(a, (k,)), dtype=np.float32)


class WinogradTrunk:
    """A folded ``SRGANTrunk`` (see ``inference_trunk._fold``) run with Winograd convs.

    ``__call__(lr)`` takes the normalised (h, w) float32 slice and returns the
    features as the CPU renderer stores them: a zero-bordered (h + 2, w + 2, C) array.
    """

    def __init__(self, folded_trunk: nn.Module):
        head_conv, head_prelu = folded_trunk.head[0], folded_trunk.head[1]
        self._check(folded_trunk)
        self.taps = head_conv.kernel_size[0]
        self.channels = head_conv.out_channels
        w = head_conv.weight.detach().cpu().numpy()[:, 0]  # (C, taps, taps)
        self.head_w = np.ascontiguousarray(w.reshape(self.channels, -1).T, dtype=np.float32)
        self.head_b = np.ascontiguousarray(head_conv.bias.detach().cpu().numpy(), dtype=np.float32)
        self.head_a = np.ascontiguousarray(
            np.broadcast_to(head_prelu.weight.detach().cpu().numpy(), (self.channels,)), dtype=np.float32)
        self.blocks = []
        for block in folded_trunk.blocks:
            body = list(block.body)  # conv, PReLU, conv after folding
            self.blocks.append((_Conv(body[0], body[1]), _Conv(body[2], None)))
        self.tail = _Conv(folded_trunk.tail[0], None)
        neck = list(getattr(folded_trunk, "neck", None) or [])  # conv, PReLU per layer
        self.neck = [_Conv(neck[i], neck[i + 1]) for i in range(0, len(neck), 2)]
        self.zero = np.zeros(self.channels, np.float32)
        single_threaded_openblas()

    @staticmethod
    def _check(trunk: nn.Module) -> None:
        """The kernels assume SRGAN's trunk exactly (numba does not bounds-check):
        refuse anything else rather than compute wrong features."""
        head = trunk.head[0]
        c = head.out_channels
        k = head.kernel_size
        if head.in_channels != 1 or k[0] != k[1] or k[0] % 2 == 0 or head.padding != (k[0] // 2,) * 2 \
                or head.stride != (1, 1) or head.bias is None or not isinstance(trunk.head[1], nn.PReLU):
            raise ValueError("the Winograd trunk needs a 1-channel, odd square, 'same' head conv with bias + PReLU")
        convs = [m for m in trunk.modules() if isinstance(m, nn.Conv2d) and m is not head]
        for m in convs:
            if (m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, m.groups) != \
                    (c, c, (3, 3), (1, 1), (1, 1), (1, 1), 1):
                raise ValueError(f"the Winograd trunk needs {c}->{c} 3x3 'same' convolutions, got {m}")
        for block in trunk.blocks:
            body = list(block.body)
            if len(body) != 3 or not isinstance(body[1], nn.PReLU):
                raise ValueError("the Winograd trunk needs folded blocks: conv, PReLU, conv")
        if len(trunk.tail) != 1:
            raise ValueError("the Winograd trunk needs a folded tail: one conv")
        neck = getattr(trunk, "neck", None)
        if neck is not None and (len(neck) % 2 or not all(isinstance(m, nn.PReLU) for m in list(neck)[1::2])):
            raise ValueError("the Winograd trunk needs the neck as conv, PReLU layers")

    def __call__(self, lr: np.ndarray) -> np.ndarray:
        h, w = lr.shape
        C, r = self.channels, self.taps // 2
        th, tw = -(-h // 4), -(-w // 4)
        shape = (4 * th + 2, 4 * tw + 2, C)
        head = np.zeros(shape, np.float32)
        cur = np.zeros(shape, np.float32)
        tmp = np.zeros(shape, np.float32)
        img = np.zeros((h + 2 * r, w + 2 * r), np.float32)
        img[r : r + h, r : r + w] = lr
        nt = numba.config.NUMBA_NUM_THREADS
        patches = np.empty((nt, w, self.taps * self.taps), np.float32)
        acts = np.empty((nt, w, C), np.float32)
        _launch(_head, img, self.head_w, self.head_b, self.head_a, head, h, w, patches, acts)

        cw = min(CHUNK_TILES, tw)
        Vs = np.empty((nt, 36, cw + 1, C), np.float32)
        Ms = np.empty((nt, 36, cw + 1, C), np.float32)
        Ti = np.empty((nt, 6, 6, C), np.float32)
        To = np.empty((nt, 6, 4, C), np.float32)
        Y = np.empty((nt, 4, 4, C), np.float32)

        def conv(src, layer: _Conv, res, dst):
            _launch(_conv3x3, src, layer.u, layer.bias, layer.alpha,
                    res if res is not None else dst, res is not None, dst, h, w, Vs, Ms, Ti, To, Y, self.zero)

        x = head
        for c1, c2 in self.blocks:
            conv(x, c1, None, tmp)
            conv(tmp, c2, x, cur)  # cur = x + conv2(...): in place once x is cur
            x = cur
        conv(x, self.tail, head, tmp)
        for layer in self.neck:  # ping-pong: a 3x3 conv cannot run in place
            conv(tmp, layer, None, cur)
            tmp, cur = cur, tmp
        if tmp.shape[:2] == (h + 2, w + 2):  # sides that are multiples of 4: no copy
            return tmp
        out = np.zeros((h + 2, w + 2, C), np.float32)
        out[1:-1, 1:-1] = tmp[1 : h + 1, 1 : w + 1]
        return out
