"""The training-time Meta-Upscale on the CPU: numba kernels with an equally cheap backward.

The engine's ``meta_upscale`` is exact and differentiable, but its stride-Q form runs
Q_y*Q_x small convolutions (100 at x1.1 = 11/10), each forward and twice backward,
which costs ~0.1-0.6 s per minibatch on this CPU, several times the whole trunk.
Here one kernel does the floor (one 576-term dot product per output pixel) forwards,
and one kernel does both gradients backwards:

    out[b, i, j]       = <table[qy(i), qx(j)], window_b(sy(i), sx(j))>
    d window_b(...)   += g[b, i, j] * table[qy(i), qx(j)]          (scatter-add)
    d table[qy, qx]   += g[b, i, j] * window_b(sy(i), sx(j))

The geometry (sources, phases, phase table) is the engine's, so the result equals
``engine.render.torch_upscale.meta_upscale`` to float rounding (tested).  The
backward parallelises over images of the minibatch (each has its own gradient
buffers), so it is deterministic.  On GPUs the engine's torch path is used instead.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from numba import njit, prange

from engine.geometry import ZoomGrid
from engine.render.phase_table import positions
from engine.render.torch_upscale import bicubic_torch, meta_upscale


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def _forward(feats, row_stride, channels, table, src_y, q_y, src_x, q_x, out):
    B, H, W = out.shape
    K = 3 * channels
    for bi in prange(B * H):
        b = bi // H
        i = bi - b * H
        fy = src_y[i] * row_stride
        for j in range(W):
            fb = fy + src_x[j] * channels
            acc = np.float32(0.0)
            for dy in range(3):
                fv = feats[b, fb + dy * row_stride : fb + dy * row_stride + K]
                tv = table[q_y[i], q_x[j], dy]
                for k in range(K):
                    acc += fv[k] * tv[k]
            out[b, i, j] = acc
    return out


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def _backward(gout, feats, row_stride, channels, table, src_y, q_y, src_x, q_x, gfeats, gtable):
    B, H, W = gout.shape
    K = 3 * channels
    for b in prange(B):
        for i in range(H):
            fy = src_y[i] * row_stride
            for j in range(W):
                g = gout[b, i, j]
                fb = fy + src_x[j] * channels
                for dy in range(3):
                    s = fb + dy * row_stride
                    fv = feats[b, s : s + K]
                    gf = gfeats[b, s : s + K]
                    tv = table[q_y[i], q_x[j], dy]
                    gt = gtable[b, q_y[i], q_x[j], dy]
                    for k in range(K):
                        gf[k] += g * tv[k]
                        gt[k] += g * fv[k]
    return gfeats, gtable


class _MetaUpscaleCPU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, feats_p, table_k, channels, row_stride, maps):
        """``feats_p``: (B, (h+2)*(w+2)*C) zero-padded channels-last features;
        ``table_k``: (Py, Px, 3, 3*C) filters; ``maps``: (src_y, q_y, src_x, q_x)."""
        f = feats_p.detach().contiguous().numpy()
        t = table_k.detach().contiguous().numpy()
        src_y, q_y, src_x, q_x = maps
        out = np.empty((f.shape[0], len(src_y), len(src_x)), dtype=np.float32)
        _forward(f, row_stride, channels, t, src_y, q_y, src_x, q_x, out)
        ctx.save_for_backward(feats_p, table_k)
        ctx.channels, ctx.row_stride, ctx.maps = channels, row_stride, maps
        return torch.from_numpy(out)

    @staticmethod
    def backward(ctx, gout):
        feats_p, table_k = ctx.saved_tensors
        f = feats_p.detach().contiguous().numpy()
        t = table_k.detach().contiguous().numpy()
        g = gout.detach().float().contiguous().numpy()
        gf = np.zeros_like(f)
        gt = np.zeros((f.shape[0],) + t.shape, dtype=np.float32)
        _backward(g, f, ctx.row_stride, ctx.channels, t, *ctx.maps, gf, gt)
        return torch.from_numpy(gf), torch.from_numpy(gt.sum(0)), None, None, None


def phase_filters(model, my, mx) -> torch.Tensor:
    """The weight network on every phase pair of the grid: (Py, Px, out, C, 3, 3),
    differentiable (the engine's ``phase_table`` is the no-grad twin)."""
    pos = positions(my.phases, mx.phases, float(my.factor), float(mx.factor)).to(next(model.parameters()).device)
    w = model.weights(pos).float()
    return w.view(len(my.phases), len(mx.phases), *w.shape[1:])


def meta_upscale_cpu(model, lr: torch.Tensor, scale, feats: torch.Tensor | None = None) -> torch.Tensor:
    """Whole-patch Meta-Upscale of a normalised LR batch (B, 1, h, w) -> (B, 1, H, W)."""
    B, _, h, w = lr.shape
    grid = ZoomGrid.make((h, w), scale)
    H, W = grid.out_shape
    my, mx = grid.axis_maps()
    if feats is None:
        feats = model.features(lr)
    C = feats.shape[1]
    table = phase_filters(model, my, mx)
    if table.shape[2] != 1:
        raise ValueError("the CPU training kernel handles one output channel")
    table_k = table[:, :, 0].permute(0, 1, 3, 4, 2).reshape(table.shape[0], table.shape[1], 3, 3 * C)
    fp = F.pad(feats.float(), (1, 1, 1, 1)).permute(0, 2, 3, 1).reshape(B, (h + 2) * (w + 2) * C)
    maps = (my.src, my.phase_index, mx.src, mx.phase_index)
    out = _MetaUpscaleCPU.apply(fp, table_k, C, (w + 2) * C, maps)[:, None]
    if model.residual_bicubic:
        out = out + bicubic_torch(lr.float(), (H, W))
    return out


def upscale(model, lr: torch.Tensor, scale, feats: torch.Tensor | None = None) -> torch.Tensor:
    """Meta-SRGAN forward for training: numba kernels on the CPU, the engine's torch
    path elsewhere.  Baselines (fixed-scale networks) just run forward."""
    if getattr(model, "registry_name", None) != "meta_srgan" and not hasattr(model, "weights"):
        return model(lr)
    if lr.device.type == "cpu" and model.out_channels == 1:
        return meta_upscale_cpu(model, lr, scale, feats)
    return meta_upscale(model, lr, scale, feats=feats)
